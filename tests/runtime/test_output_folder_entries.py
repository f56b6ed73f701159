"""Output folders holding other files, and joblib options joblib refuses: one line, before any run.

A run (``hydra.run.dir``) or a sweep (``hydra.sweep.dir``) pointed at an existing folder
that holds entries it does not write (``/``, a folder of documents) would write its results
among them, replacing any file of the same name; an interrupted run's or sweep's own folder
is taken again. Checked through :func:`sim.runtime.preflight.preflight`, which the command
line runs before Hydra writes anything (``tests/runtime/test_fail_fast.py`` shows its
refusals reach the user as one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.runtime.errors import UserError
from sim.runtime.preflight import preflight

RUN = ["n_months=1", "population.n_borrowers=200"]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_folder_holding_other_files_is_refused_and_left_as_it_was(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "summary.csv").write_text("not a run's\n")  # a name a run writes
    before = files(tmp_path)
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])
    assert str(err.value) == (
        f"output folder {tmp_path} already holds entries that are not a run's (notes.txt): "
        "the results would be written among them; choose a new or empty folder "
        "(hydra.run.dir=...)"
    )
    assert files(tmp_path) == before
    # Many: three are named.
    for name in ("a.csv", "b", "c.txt", "d.parquet"):
        (tmp_path / name).mkdir() if name == "b" else (tmp_path / name).write_text("x")
    with pytest.raises(UserError, match=r"not a run's \(a\.csv, b, c\.txt, \.\.\.\)"):
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])


def test_an_interrupted_runs_own_folder_is_taken_again(tmp_path: Path):
    # What a run killed while writing leaves: Hydra's folder and log, some tables, its
    # figure and an atomic write's temporary file; a new folder and an empty one pass too.
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- n_months=1\n")
    for name in (
        "run.log",
        "monthly.parquet",
        "portfolio.png",
        ".tmp-0123456789ab-vintage.parquet",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path.parent / "empty").mkdir()
    for folder in (tmp_path, tmp_path.parent / "new", tmp_path.parent / "empty"):
        assert len(preflight([*RUN, f"hydra.run.dir={folder}"])) == 1
    # A folder named like a table is not a table.
    (tmp_path / "events.parquet").mkdir()
    with pytest.raises(UserError, match=r"not a run's \(events\.parquet\)"):
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])


def test_a_sweep_folder_takes_its_own_entries_and_refuses_others(tmp_path: Path):
    sweep = ["-m", "seed=0,1", *RUN, f"hydra.sweep.dir={tmp_path}", "resume=true"]
    # An interrupted sweep's folder: Hydra's record, the burn-ins, a report, runs' folders
    # (one nested, as a hydra.sweep.subdir with '/' makes) and a folder Hydra made empty.
    (tmp_path / "multirun.yaml").write_text("x: 1\n")
    for folder in (".burn_in", "report/figures", "run_seed=0/.hydra", "by/seed=1/.hydra", "e"):
        (tmp_path / folder).mkdir(parents=True)
    assert len(preflight(sweep)) == 2
    for stray, kind in (("data.csv", "file"), ("photos", "folder")):
        path = tmp_path / stray
        path.mkdir() if kind == "folder" else path.write_text("x")
        if kind == "folder":
            (path / "x.jpg").write_bytes(b"x")  # a folder that holds no run
        with pytest.raises(UserError) as err:
            preflight(sweep)
        assert str(err.value) == (
            f"output folder {tmp_path} already holds entries that are not a sweep's "
            f"({stray}): the results would be written among them; choose a new or empty "
            "folder (hydra.sweep.dir=...)"
        )
        (path / "x.jpg").unlink() if kind == "folder" else path.unlink()
        if kind == "folder":
            path.rmdir()
    assert len(preflight(sweep)) == 2


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "batch_size=0",
            "invalid config: hydra.launcher.batch_size = 0: joblib refuses it (batch_size "
            "must be 'auto' or a positive integer, got: 0)",
        ),
        (
            "prefer=cores",
            "invalid config: hydra.launcher.prefer = 'cores': joblib refuses it (prefer=cores "
            "is not a valid backend hint, expected one of ('processes', 'threads', None))",
        ),
    ],
)
def test_joblib_options_joblib_refuses_are_named(option: str, message: str):
    # Both were joblib's traceback, exit 1, after Hydra had written multirun.yaml.
    sweep = ["-m", "seed=0,1", *RUN, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.launcher.{option}"])
    assert str(err.value) == message
    assert len(preflight([*sweep, "hydra.launcher.batch_size=2"])) == 2
