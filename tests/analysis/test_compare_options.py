"""``python -m experiments.compare``: options checked before a run is read or a file written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.compare import main
from tests.analysis.test_report import _make_sweep

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    return _make_sweep(tmp_path / "sweep")


def refused(capsys, argv: list[str]) -> str:
    """The one error line of ``main(argv)``, which must exit 2."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == "" and "Traceback" not in captured.err
    return lines[0]


def test_bad_options_are_refused_before_any_run_is_read(sweep: Path, tmp_path: Path, capsys):
    before = snapshot(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    cases = {
        (
            "--out",
            str(readme),
        ): f"error: --out {readme} is a file, not a folder: give another --out",
        ("--out", str(readme / "sub")): f"error: --out {readme}/sub is inside {readme}, a file",
        ("--out", "/proc/nope"): "error: --out /proc/nope: cannot write in /proc (No such file",
        ("--formats", "xlsx"): (
            "error: --formats 'xlsx': output.formats has ['xlsx']; allowed: png, svg, pdf"
        ),
        ("--formats", ","): "error: --formats must name at least one format (png, svg, pdf)",
        ("--confidence", "1.5"): "error: --confidence 1.5 is outside the allowed range (0, 1)",
        ("--confidence", "0"): "error: --confidence 0 is outside the allowed range (0, 1)",
        # A missing baseline no longer hides a bad option: the option comes first.
        ("--baseline", "nosuch", "--confidence", "nan"): "error: --confidence nan is outside",
    }
    for options, expected in cases.items():
        line = refused(capsys, [str(sweep), *options])
        assert line.startswith(expected), line
        assert "reading the runs" not in line
    # Nothing written: no report folder, no CSV, no figures/.
    assert snapshot(tmp_path) == before | {"README.md": b"# notes\n"}
    assert not (sweep / "report").exists()


def test_a_sweep_folder_that_is_a_file_is_said_to_be_a_file(tmp_path: Path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    line = refused(capsys, [str(readme)])
    assert line == f"error: sweep folder {readme} is a file, not a folder: give the sweep's folder"
    assert refused(capsys, [str(tmp_path / "absent")]).startswith("error: sweep folder not found")


def test_a_baseline_not_run_is_named_before_anything_is_written(sweep: Path, capsys):
    assert main([str(sweep), "--baseline", "nosuch", "--formats", "png"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        f"error: --baseline 'nosuch': that policy was not run in {sweep}; the policies run: "
        "early_repay_penalty, pd_threshold, static"
    )
    assert captured.out == "" and not (sweep / "report").exists()


def test_usage_errors_are_one_line_like_the_other_tools(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.compare", str(tmp_path), "--method", "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: argument --method: invalid choice: 'x' (choose from 't', 'bootstrap') "
        "(see python -m experiments.compare --help)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_report_is_moved_in_over_an_earlier_one_file_by_file(tmp_path: Path):
    from sim.outputs.folders import move_entries

    out, draft = tmp_path / "report", tmp_path / "draft"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "old.png").write_bytes(b"old")
    (out / "report.md").write_text("old\n")
    (out / "notes.txt").write_text("mine\n")
    (draft / "figures").mkdir(parents=True)
    (draft / "figures" / "new.png").write_bytes(b"new")
    (draft / "report.md").write_text("new\n")
    assert move_entries(draft, out) == ["figures", "report.md"]
    # The report's files are replaced; a file it does not write stays, in a subfolder too
    # (a figure of one's own in --out's figures/ was deleted when the folder was replaced
    # whole); the draft is gone, and nothing else is left.
    assert snapshot(out) == {
        "figures/new.png": b"new",
        "figures/old.png": b"old",
        "report.md": b"new\n",
        "notes.txt": b"mine\n",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert sorted(p.name for p in out.iterdir()) == ["figures", "notes.txt", "report.md"]


def test_ctrl_c_while_the_report_is_written_leaves_the_earlier_one(
    sweep: Path, capsys, monkeypatch
):
    import experiments.compare as compare

    out = sweep / "report"
    out.mkdir()
    (out / "report.md").write_text("an earlier report\n")
    (out / "report.html").write_text("<p>an earlier report</p>\n")
    before = snapshot(sweep)

    def interrupted(tables, folder, **_):  # noqa: ANN001, ANN202
        (Path(folder) / "comparison_summary.csv").write_text("half\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "write_report", interrupted)
    assert compare.main([str(sweep), "--serial"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"interrupted: the report was not written ({out} is as it was); run the command "
        "again to write it"
    )
    assert "Traceback" not in "\n".join(err)
    assert snapshot(sweep) == before  # the draft beside it is gone too
    assert sorted(p.name for p in sweep.iterdir() if p.name.startswith(".tmp")) == []


@pytest.mark.slow
def test_a_terminals_ctrl_c_on_the_report_is_one_line_and_leaves_no_draft(sweep: Path):
    import os
    import signal

    out = sweep / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.compare", str(sweep), "--formats", "png"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # a process group, as a terminal's: the figure process too
    )  # fmt: skip
    assert proc.stderr is not None
    line = ""
    while "pairing every policy" not in line:
        line = proc.stderr.readline()
        assert line, "compare ended before writing the report"
    time.sleep(1.0)  # the figure process is drawing
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == (
        f"interrupted: the report was not written ({out} is as it was); run the command "
        "again to write it\n"
    )
    assert not out.exists() and not list(sweep.glob(".tmp-*"))
