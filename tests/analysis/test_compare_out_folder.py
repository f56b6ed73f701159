"""``experiments.compare``: the report folder it refuses, paths the system cannot take,
an unreadable sweep folder, and Ctrl-C once the report is in place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import experiments.compare as compare
from sim.outputs.folders import name_max, path_max
from tests.analysis.test_report import _make_sweep

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def refused(capsys, argv: list[str]) -> str:
    """The one line of ``compare.main(argv)``, which must exit 2 having read no run."""
    assert compare.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    return _make_sweep(tmp_path / "sweep")


def test_an_out_holding_entries_a_report_does_not_write_is_refused(
    sweep: Path, tmp_path: Path, capsys, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.md").write_text("my own report\n")
    (docs / "key_numbers.txt").write_text("my numbers\n")
    (docs / "thesis.tex").write_text("\\begin{document}\n")
    figures_file = tmp_path / "flat"
    figures_file.mkdir()
    (figures_file / "figures").write_text("not a folder\n")  # the report's figures/ must be one
    (sweep / "report").mkdir()
    (sweep / "report" / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    tail = "the report would be written among them; choose a new or empty folder (--out)"
    cases = {
        # No earlier report (report.html missing): its report.md is one's own, named too.
        str(docs): f"error: --out {docs} already holds entries that are not a report's "
        f"(key_numbers.txt, report.md, thesis.tex): {tail}",
        str(sweep): f"error: --out {sweep} already holds entries that are not a report's "
        f"(0, 1, 2, ...): {tail}",
        str(sweep / "0"): f"error: --out {sweep / '0'} already holds entries that are not a "
        f"report's (_COMPLETE.json, by_segment.parquet, events.parquet, ...): {tail}",
        str(figures_file): f"error: --out {figures_file} already holds entries that are not a "
        f"report's (figures): {tail}",
        str(tmp_path): f"error: --out {tmp_path} already holds entries that are not a "
        f"report's (docs, flat, sweep): {tail}",
    }
    for out, expected in cases.items():
        assert refused(capsys, [str(sweep), "--out", out]) == expected
    # The default folder, SWEEP/report, is checked as --out is.
    assert refused(capsys, [str(sweep)]) == (
        f"error: the report folder (--out) {sweep / 'report'} already holds entries that are "
        f"not a report's (notes.txt): {tail}"
    )
    # --out . (here tmp_path) and --out / too.
    monkeypatch.chdir(tmp_path)
    assert refused(capsys, [str(sweep), "--out", "."]) == (
        f"error: --out . already holds entries that are not a report's (docs, flat, sweep): {tail}"
    )
    line = refused(capsys, [str(sweep), "--out", "/"])
    assert line.startswith("error: --out / already holds entries that are not a report's")
    assert line.endswith(tail)
    assert snapshot(tmp_path) == before
    assert not list(tmp_path.rglob(".tmp-report-*"))


def _fake_report(tables, folder, **_):  # noqa: ANN001, ANN202 - write_report's signature
    (Path(folder) / "report.md").write_text("new\n")
    (Path(folder) / "figures").mkdir()
    (Path(folder) / "figures" / "fan_charts.png").write_bytes(b"new")
    return Path(folder) / "report.md"


def test_an_empty_missing_or_earlier_reports_folder_is_accepted(
    sweep: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(compare, "write_report", _fake_report)
    empty, missing, earlier = tmp_path / "empty", tmp_path / "a" / "b", tmp_path / "earlier"
    empty.mkdir()
    (earlier / "figures").mkdir(parents=True)
    for name in compare.REPORT_FILES:
        (earlier / name).write_text("old\n")
    (earlier / "figures" / "fan_charts.png").write_bytes(b"old")
    (earlier / "figures" / "my_sketch.png").write_bytes(b"mine")  # never deleted
    (earlier / f".tmp-{'0' * 12}-report.md").write_text("left by a killed write\n")
    for out in (empty, missing, earlier):
        assert compare.main([str(sweep), "--out", str(out), "--serial"]) == 0
        assert (out / "report.md").read_text() == "new\n"
        assert (out / "figures" / "fan_charts.png").read_bytes() == b"new"
    assert (earlier / "figures" / "my_sketch.png").read_bytes() == b"mine"
    assert (earlier / "key_numbers.txt").read_text() == "old\n"  # not written this time
    # A report.md of one's own, no report beside it: refused, kept (it was replaced).
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes\n")
    assert compare.main([str(sweep), "--out", str(mine), "--serial"]) == 2
    assert (mine / "report.md").read_text() == "my notes\n"


def test_names_and_paths_longer_than_the_system_takes_are_one_line(
    sweep: Path, tmp_path: Path, capsys
):
    limit = name_max(tmp_path)
    long_name = "a" * 300
    deep = tmp_path / ("abcdefgh/" * 500)
    size = len(os.fsencode(str(deep)))
    most = path_max(tmp_path)
    before = snapshot(tmp_path)
    assert refused(capsys, [str(sweep), "--out", str(tmp_path / long_name)]) == (
        f"error: --out: a name of 300 bytes ({'a' * 40}...), more than the {limit} this file "
        "system allows: give another --out"
    )
    assert refused(capsys, [str(sweep), "--out", str(deep)]) == (
        f"error: --out: a path of {size} bytes ({str(deep)[:40]}...), more than the "
        f"{most - compare.REPORT_PATH_ROOM} this file system allows, "
        f"{compare.REPORT_PATH_ROOM} kept for the files written in it: give another --out"
    )
    assert refused(capsys, [str(tmp_path / long_name)]) == (
        f"error: sweep folder: a name of 300 bytes ({'a' * 40}...), more than the {limit} "
        "this file system allows: give the sweep's folder"
    )
    assert refused(capsys, [str(deep)]) == (
        f"error: sweep folder: a path of {size} bytes ({str(deep)[:40]}...), more than the "
        f"{most} this file system allows: give the sweep's folder"
    )
    assert snapshot(tmp_path) == before


def test_a_sweep_folder_that_cannot_be_read_is_one_line_naming_it(
    sweep: Path, tmp_path: Path, capsys, monkeypatch
):
    def unreadable(root, **_):  # noqa: ANN001, ANN202 - as collect_runs walking /proc
        raise PermissionError(13, "Permission denied", str(Path(root) / "proc" / "1" / "cwd"))

    monkeypatch.setattr(compare, "collect_runs", unreadable)
    assert compare.main([str(sweep), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        f"error: sweep folder {sweep}: cannot read {sweep}/proc/1/cwd (Permission denied): "
        "give a sweep folder that can be read"
    )
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "out").exists()


def _proc_is_guarded() -> bool:
    try:
        os.stat("/proc/1/cwd")
    except PermissionError:
        return True
    except OSError:
        return False
    return False


@pytest.mark.skipif(not _proc_is_guarded(), reason="/proc/1/cwd can be read here")
def test_compare_on_the_root_folder_is_one_line(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.compare", "/", "--out", str(tmp_path / "r")],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "error: sweep folder /: cannot read /proc/1/cwd (Permission denied): give a sweep "
        "folder that can be read"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def fake_report(monkeypatch):
    monkeypatch.setattr(compare, "write_report", _fake_report)


@pytest.mark.usefixtures("fake_report")
@pytest.mark.parametrize("raise_interrupt", [False, True])
def test_ctrl_c_after_the_report_is_moved_in_says_it_was_written(
    sweep: Path, capsys, monkeypatch, raise_interrupt: bool
):
    out = sweep / "report"
    said = compare._say

    def interrupted_after(message: str) -> None:  # "report written in ... s"
        said(message)
        if message.startswith("report written"):
            raise KeyboardInterrupt

    monkeypatch.setattr(compare, "_say", interrupted_after)
    try:
        code = compare.main([str(sweep), "--serial"], raise_interrupt=raise_interrupt)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C was raised on, as if the report had not been written")
    assert code == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"interrupted: the report was written to {out / 'report.md'}"
    assert (out / "report.md").read_text() == "new\n"
    assert not list(sweep.glob(".tmp-report-*"))


@pytest.mark.usefixtures("fake_report")
def test_ctrl_c_during_the_move_arrives_after_it_and_says_it_was_written(
    sweep: Path, capsys, monkeypatch
):
    out = sweep / "report"
    move = compare.move_entries

    def ctrl_c_while_moving(source, target):  # noqa: ANN001, ANN202
        moved = move(source, target)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # held: arrives later
        return moved

    monkeypatch.setattr(compare, "move_entries", ctrl_c_while_moving)
    assert compare.main([str(sweep), "--serial"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"interrupted: the report was written to {out / 'report.md'}"
    assert (out / "report.md").read_text() == "new\n"
