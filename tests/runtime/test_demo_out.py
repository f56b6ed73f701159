"""``experiments.demo``: ``--policies`` naming none, and ``--out`` checked before the sweep
starts, its errors naming ``--out`` (not the sweep's ``hydra.sweep.dir``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from experiments import demo
from sim.config.paths import CONF_DIR
from sim.outputs.folders import name_max, path_max
from sim.runtime.errors import UserError

HELP = "(see python -m experiments.demo --help)"
KNOWN = ", ".join(sorted(p.stem for p in (CONF_DIR / "policy").glob("*.yaml")))
SMALL = ["--seeds", "1", "--policies", "static", "--borrowers", "300", "--months", "3"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class FakeSweep:
    """A sweep that ran its one run at once; records its command."""

    started: list[list[str]] = []
    returncode = 0

    def __init__(self, cmd, **kwargs):  # noqa: ANN001
        FakeSweep.started.append(cmd)
        self.stdout = io.StringIO("[1/1] static | baseline | seed 0: wrote x\n")

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc):  # noqa: ANN002, ANN204
        return False


@pytest.fixture
def sweep_started(monkeypatch) -> list[list[str]]:
    FakeSweep.started = []
    monkeypatch.setattr(demo.subprocess, "Popen", FakeSweep)
    monkeypatch.setattr("experiments.compare.main", lambda argv, **_: 0)
    monkeypatch.setattr(demo, "estimate_compile_seconds", lambda: 0.0)
    return FakeSweep.started


def refused(capsys, argv: list[str]) -> str:
    """The one error line of ``demo.main(argv)``, which must exit 2."""
    with pytest.raises(SystemExit) as exit_:
        demo.main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("policies", [",", " , ", ""])
def test_policies_naming_no_policy_are_said_so(tmp_path, capsys, sweep_started, policies):
    line = refused(capsys, ["--policies", policies, "--out", str(tmp_path / "s")])
    assert line == f"error: --policies {policies!r}: names no policy; the policies: {KNOWN} {HELP}"
    assert sweep_started == [] and list(tmp_path.iterdir()) == []


def test_policies_without_the_baseline_are_refused_before_the_sweep(
    tmp_path, capsys, sweep_started
):
    # The sweep ran, then the comparison failed on --baseline, which the demo has not.
    line = refused(capsys, ["--policies", "pd_threshold", "--out", str(tmp_path / "s")])
    assert line == (
        "error: --policies 'pd_threshold': the comparison pairs every policy with 'static', "
        f"so it must be among them {HELP}"
    )
    assert sweep_started == [] and list(tmp_path.iterdir()) == []


def test_an_empty_name_between_commas_is_left_out(tmp_path, capsys, sweep_started):
    argv = [*SMALL[:2], "--policies", "static, ", "--out", str(tmp_path / "s")]
    assert demo.main(argv) == 0
    assert "policy=static" in sweep_started[0]


def test_out_is_checked_before_the_sweep_and_named(tmp_path, capsys, sweep_started, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("mine\n")
    deep = tmp_path / ("abcdefgh/" * 500)
    size, most = len(os.fsencode(str(deep))), path_max(tmp_path) - demo.SWEEP_PATH_ROOM
    before = snapshot(tmp_path)
    cases = {
        str(tmp_path / ("a" * 300)): f"error: --out: a name of 300 bytes ({'a' * 40}...), more "
        f"than the {name_max(tmp_path)} this file system allows: choose a shorter one {HELP}",
        str(deep): f"error: --out: a path of {size} bytes ({str(deep)[:40]}...), more than "
        f"the {most} this file system allows, {demo.SWEEP_PATH_ROOM} kept for the files "
        f"written in it: choose a shorter one {HELP}",
        str(readme): f"error: --out {readme} is a file, not a folder: choose another folder {HELP}",
        str(readme / "s"): f"error: --out {readme / 's'} is inside {readme}, a file, not a "
        f"folder: choose another folder {HELP}",
        "/proc/nope": "error: --out /proc/nope: cannot write in /proc (No such file or "
        f"directory): choose another folder {HELP}",
    }
    for out, expected in cases.items():
        assert refused(capsys, [*SMALL, "--out", out]) == expected
    # An existing folder is checked as the sweep checks it; its message names --out.
    line = refused(capsys, [*SMALL, "--out", str(docs)])
    assert "already holds entries that are not a sweep's (notes.txt)" in line
    assert line.endswith(f"choose a new or empty folder (--out=...) {HELP}")
    monkeypatch.chdir(docs)
    line = refused(capsys, [*SMALL, "--out", "."])
    assert line.startswith("error: output folder --out (.) is the current folder")
    assert not any("hydra.sweep.dir" in line for line in [line, *cases.values()])
    assert sweep_started == [] and snapshot(tmp_path) == before


def test_an_earlier_demos_folder_is_resumed_and_any_name_reaches_the_sweep(
    tmp_path, capsys, sweep_started
):
    earlier = tmp_path / "earlier"
    (earlier / "report").mkdir(parents=True)
    (earlier / "multirun.yaml").write_text("hydra: {}\n")
    odd = tmp_path / "my runs, v2's"  # a comma was a sweep over two folders, a quote an error
    for out in (earlier, odd):
        assert demo.main([*SMALL, "--out", str(out)]) == 0
    parser = OverridesParser.create()
    folders = []
    for cmd in sweep_started:
        line = next(a for a in cmd if a.startswith("hydra.sweep.dir="))
        folders.append(parser.parse_override(line).value())
    assert folders == [str(earlier), str(odd)]
    assert "resume=true" in sweep_started[0] and "resume=true" not in sweep_started[1]


def test_the_sweeps_message_about_its_folder_names_out(tmp_path, monkeypatch):
    import sim.runtime.output_folder as output_folder

    folder = tmp_path / "s"
    folder.mkdir()

    def another_config(name, job, *, multirun, named):  # noqa: ANN001, ANN202
        # The check's own wording (sim.runtime.output_folder._check_same_study).
        raise UserError(
            f"sweep folder {folder} holds finished runs of another config (run_a differs "
            "from this sweep in n_months): resume it with that sweep's overrides, or choose a "
            f"new folder ({named}=...)"
        )

    monkeypatch.setattr(output_folder, "check_output_folder", another_config)
    assert demo._out_problem(folder, ["seed=0"]) == (
        f"sweep folder {folder} holds finished runs of another config (run_a differs from "
        "this sweep in n_months): resume it with the demo options it was started with, or "
        "choose a new folder (--out=...)"
    )
