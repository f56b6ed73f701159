"""Fail fast, leave nothing behind: user errors are one line, exit code 2 and no folder.

The command-line cases run ``python -m experiments.run`` (about 4 s each: one per case of
the issue); their variants call :func:`sim.runtime.preflight.preflight` in-process.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

import sim.world.data as data
from sim.interrupts import interrupt_behind
from sim.outputs.files import COMPLETE_MARKER, write_parquet_atomic
from sim.runtime.compose import compose_config, load_run_config
from sim.runtime.errors import (
    USER_ERROR_EXIT,
    UserError,
    as_user_error,
    exit_with,
    remove_unused_job_folder,
    user_errors,
)
from sim.runtime.preflight import preflight
from sim.runtime.resources import (
    BORROWER_BYTES,
    BORROWER_MONTH_BYTES,
    FIRM_BYTES,
    FIXED_BYTES,
    InsufficientMemoryError,
    available_memory_bytes,
    check_memory,
    end_sizes,
    estimate_peak_bytes,
)
from sim.runtime.runner import config_hash, run_to_folder
from tests.conftest import make_run, raised

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "sim" / "data" / data.PACKAGED_UCI_FILE


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


def checkout_with_data(folder: Path, damage: str) -> Path:
    """A checkout in ``folder`` (links to the real one) whose bundled data file is damaged."""
    (folder / "sim" / "data").mkdir(parents=True)
    for entry in (ROOT / "sim").iterdir():
        if entry.name != "data":
            (folder / "sim" / entry.name).symlink_to(entry)
    for name in ("conf", "experiments"):
        (folder / name).symlink_to(ROOT / name)
    target = folder / "sim" / "data" / data.PACKAGED_UCI_FILE
    if damage == "truncated":
        target.write_bytes(BUNDLED.read_bytes()[:100_000])
    elif damage == "implausible":
        lines = gzip.decompress(BUNDLED.read_bytes()).decode().splitlines(keepends=True)
        cells = lines[2].split(",")
        cells[5] = "200"  # AGE of the second card holder (file line 3)
        lines[2] = ",".join(cells)
        target.write_bytes(gzip.compress("".join(lines).encode()))
    return folder


CLI_CASES = {
    # 1. A range-check failure of a single run.
    "range": (["n_months=0"], "n_months = 0 is outside the allowed range [1, 100000]"),
    # 2. An implausible row in the bundled data (checked in a linked checkout).
    "data": ([], "column 'AGE' has 1 value(s) outside its domain"),
    # 3. A size the machine cannot hold.
    "memory": (["population.n_borrowers=50000000"], "population.n_borrowers=50000000"),
    # 4. A bad value in the second job of a sweep: nothing runs.
    "sweep": (
        ["-m", "population.n_borrowers=300,-5", "n_months=1"],
        "population.n_borrowers = -5 is outside the allowed range [1, 50000000]",
    ),
    # 5. A policy option beside a policy sweep: the policy lacking it is named.
    "policy": (
        ["-m", "policy=static,pd_threshold", "policy.cut_above_pd=0.08"],
        "policy.cut_above_pd=0.08 is not an option of policy static",
    ),
}


@pytest.mark.parametrize(
    "case",
    # The data and memory cases are also checked in-process below (message and cause).
    [
        c if c in ("range", "sweep", "policy") else pytest.param(c, marks=pytest.mark.slow)
        for c in CLI_CASES
    ],
)
def test_user_errors_are_one_line_exit_2_and_leave_no_folder(tmp_path: Path, case: str):
    args, expected = CLI_CASES[case]
    cwd = checkout_with_data(tmp_path / "checkout", "implausible") if case == "data" else tmp_path
    before = sorted(p.name for p in cwd.iterdir())
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == USER_ERROR_EXIT, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # Nothing written: no outputs/, no multirun/, no .hydra.
    assert sorted(p.name for p in cwd.iterdir()) == before


def test_every_message_names_its_field_value_and_range():
    with pytest.raises(UserError, match=r"^invalid config: n_months = 0 is outside the allowed"):
        preflight(["n_months=0"])
    with pytest.raises(UserError) as err:
        preflight(["population.limit_scale=1e300"])
    assert str(err.value) == (
        "invalid config: population.limit_scale = 1e+300 is outside the allowed range "
        "[1e-09, 1000.0]"
    )
    for key in ("policy.max_limit_cny", "channels.lenders.informal.max_limit_cny"):
        with pytest.raises(UserError, match=rf"{key} = 1e\+300 is outside the allowed range"):
            preflight([f"{key}=1e300"])
    with pytest.raises(UserError, match=r"population.cny_per_twd = 1e\+200 is outside"):
        preflight(["population.cny_per_twd=1e200"])
    with pytest.raises(UserError, match=r"population.no_such_key does not exist; the keys of "):
        preflight(["population.no_such_key=1"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        # A value of the wrong type: the field, the value, the type and the allowed range.
        (
            "platform.over_limit_tolerance=abc",
            "platform.over_limit_tolerance = 'abc': expected a number (float) in the allowed "
            "range [0.0, 1.0]",
        ),
        (
            "population.n_borrowers=1.5",
            "population.n_borrowers = 1.5: expected a whole number (int) in the allowed "
            "range [1, 50000000]",
        ),
        (
            "channels.lenders.informal.apr=high",
            "channels.lenders.informal.apr = 'high': expected a number (float) in the allowed "
            "range [0.0, 10.0]",
        ),
        ("output.plots=maybe", "output.plots = 'maybe': expected true or false (bool)"),
        # A mistyped key: said not to exist, with the closest key (no '+' append advice).
        (
            "population.n_borrower=10",
            "population.n_borrower does not exist; did you mean population.n_borrowers?",
        ),
        ("populaton.n_borrowers=10", "populaton does not exist; did you mean population?"),
        (
            "policy.raise_stp=0.1",
            "policy.raise_stp=0.1 is not an option of policy behaviour_rules (policies with "
            "it: none); did you mean policy.raise_step?",
        ),
        # Another letter case: the same suggestions (were none).
        (
            "policy.RAISE_STEP=0.1",
            "policy.RAISE_STEP=0.1 is not an option of policy behaviour_rules (policies with "
            "it: none); did you mean policy.raise_step?",
        ),
        (
            "hydra/LAUNCHER=joblib",
            "hydra/LAUNCHER does not exist; did you mean the config group hydra/launcher?",
        ),
        # The closest key is a label the command line refuses: the group's options instead.
        (
            "scenario.NAME=downturn",
            "scenario.NAME does not exist; to run another scenario, choose it: "
            "scenario=<option>, one of apr_cap, baseline, covid_shock, downturn, "
            "funding_squeeze, peak_season_stress",
        ),
    ],
)
def test_wrong_types_and_mistyped_keys_name_the_field_and_the_fix(override, message):
    with pytest.raises(UserError) as err:
        preflight([override])
    assert str(err.value) == f"invalid config: {message}"
    assert "+" not in str(err.value) and "could not be converted" not in str(err.value)


@pytest.mark.parametrize(
    ("argv", "again"),
    [
        (["-m", "seed=0,1", "seed=5"], "seed is given twice (seed=0,1 and seed=5), once swept"),
        (["-m", "seed=0,1", "seed=2,3"], "seed is given twice (seed=0,1 and seed=2,3), swept"),
        (["-m", "seed=5", "seed=0,1"], "seed is given twice (seed=5 and seed=0,1), once swept"),
        (["-m", "policy=static,pd_threshold", "policy=static"],
         "policy is given twice (policy=static,pd_threshold and policy=static), once swept"),
    ],
)  # fmt: skip
def test_a_key_given_twice_once_swept_is_refused_naming_both(tmp_path: Path, argv, again):
    # Hydra would keep the last: the sweep "seed=0,1 seed=5" would run one job, silently.
    key = again.split()[0]
    with pytest.raises(UserError) as err:
        preflight([*argv, f"hydra.sweep.dir={tmp_path}/s"])
    assert str(err.value) == (
        f"invalid sweep: {again}, and only the last would count: give it once "
        f"(a sweep lists its values in one override: {key}=a,b)"
    )
    assert list(tmp_path.iterdir()) == []
    # A value given twice is Hydra's "the last counts" (a base list and a tweak); a group
    # beside its own keys is no repeat.
    (run,) = preflight(["seed=1", "n_months=1", "seed=2"])
    assert run.seed == 2
    (run,) = preflight(["policy=pd_threshold", "policy.cut_above_pd=0.2", "n_months=1"])
    assert run.policy["name"] == "pd_threshold" and run.policy["cut_above_pd"] == 0.2


def test_a_sweep_is_checked_whole_before_any_job():
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", "population.n_borrowers=300,-5"])
    assert "population.n_borrowers = -5" in str(err.value)
    # Jobs (seed, n_borrowers): (0, 300), (0, -5), ...: the bad one is the second.
    assert "(sweep job #2 of 4: seed=0 population.n_borrowers=-5)" in str(err.value)
    with pytest.raises(UserError, match=r"\(sweep job #2 of 2: platform.over_limit_tolerance=2\)"):
        preflight(["-m", "platform.over_limit_tolerance=0.05,2"])
    with pytest.raises(UserError, match=r"^invalid sweep: seed=range\(0,0\) gives no values"):
        preflight(["-m", "seed=range(0,0)"])
    # Jobs are expanded as Hydra's basic sweeper does (cartesian product, duplicates once).
    runs = preflight(["-m", "policy=static,behaviour_rules", "seed=range(0,2)", "n_months=2"])
    assert sorted((r.policy["name"], r.seed) for r in runs) == [
        ("behaviour_rules", 0),
        ("behaviour_rules", 1),
        ("static", 0),
        ("static", 1),
    ]
    # hydra.mode=MULTIRUN makes a sweep as -m does (Hydra reads both).
    runs = preflight(["hydra.mode=MULTIRUN", "seed=0,1", "n_months=2"])
    assert sorted(r.seed for r in runs) == [0, 1]
    with pytest.raises(UserError, match=r"sweep job #1 of 2: seed=0 population.n_borrowers=-5\)$"):
        preflight(["hydra.mode=MULTIRUN", "seed=0,1", "population.n_borrowers=-5"])


def test_policy_options_beside_a_policy_sweep_name_the_policies_lacking_them():
    for prefix in ("", "++"):
        with pytest.raises(UserError) as err:
            preflight(
                [
                    "-m",
                    "policy=static,pd_threshold,utilisation_cli",
                    f"{prefix}policy.cut_above_pd=0.08",
                ]
            )
        assert str(err.value) == (
            f"invalid sweep: {prefix}policy.cut_above_pd=0.08 is not an option of policy "
            "static, utilisation_cli (of the policies swept, pd_threshold has it); an option "
            "set beside a sweep over policies must belong to every policy swept: sweep those "
            "policies separately"
        )
    # A single run of the default policy (behaviour_rules) names it.
    with pytest.raises(UserError, match="not an option of policy behaviour_rules"):
        preflight(["policy.cut_above_pd=0.08"])
    # Every policy swept has it: fine.
    assert len(preflight(["-m", "policy=pd_threshold", "policy.cut_above_pd=0.08"])) == 1


@pytest.fixture
def bundled_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the bundled-data loader at ``tmp_path/data/`` (the real file is untouched)."""
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(data, "resources", types.SimpleNamespace(files=lambda _: tmp_path))
    data._load_packaged_uci.cache_clear()
    yield tmp_path / "data" / data.PACKAGED_UCI_FILE
    data._load_packaged_uci.cache_clear()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("missing", "file not found"),
        ("truncated", "not a readable CSV file (Compressed file ended"),
        ("implausible", "column 'AGE' has 1 value(s) outside its domain"),
    ],
)
def test_data_errors_name_the_file_the_problem_and_the_fix(
    bundled_data: Path, tmp_path: Path, damage: str, expected: str
):
    if damage != "missing":
        damaged = checkout_with_data(tmp_path / "co", damage) / "sim" / "data"
        bundled_data.write_bytes((damaged / data.PACKAGED_UCI_FILE).read_bytes())
    with pytest.raises(UserError) as err:
        preflight(["n_months=1"])
    line = str(err.value)
    assert line.startswith(f"data error: bundled file sim/data/{data.PACKAGED_UCI_FILE}: ")
    assert expected in line and line.endswith(data.RESTORE_HINT) and "\n" not in line
    assert isinstance(err.value.__cause__, data.DataFileError)


def test_memory_estimate_and_refusal(tmp_path: Path):
    run = make_run(
        "population.n_borrowers=100000",
        "n_months=120",
        "book.applicants_per_month_share=0",
        "book.firm_entry_per_month_share=0",
    )
    # A closed book, no burn-in: 100 k borrowers, 10 k firms, 100 k x 120 borrower-months.
    assert end_sizes(run) == (100_000, 10_000, 120)
    closed = FIXED_BYTES + BORROWER_BYTES * 100_000 + FIRM_BYTES * 10_000
    closed += BORROWER_MONTH_BYTES * 100_000 * 120
    assert estimate_peak_bytes(run) == closed
    # An open book ends with 100 k x (1 + 0.01 x 120) borrowers after 120 months.
    grown = make_run(
        "population.n_borrowers=100000",
        "n_months=120",
        "book.applicants_per_month_share=0.01",
        "book.firm_entry_per_month_share=0",
    )
    assert end_sizes(grown) == (220_000, 10_000, 120)
    assert estimate_peak_bytes(grown) == closed + BORROWER_BYTES * 120_000 + (
        BORROWER_MONTH_BYTES * 120_000 * 120
    )
    assert check_memory(run, available=10**12) == estimate_peak_bytes(run)
    with pytest.raises(InsufficientMemoryError) as refused:
        check_memory(run, available=500 * 10**6)
    message = str(refused.value)
    assert f"needs about {closed / 1e9:.1f} GB at peak, but this machine has 0.5 GB" in message
    # The message spells the figures used.
    assert (
        f"estimate: {FIXED_BYTES // 10**6} MB + {BORROWER_BYTES} bytes per borrower + "
        f"{FIRM_BYTES} per firm + {BORROWER_MONTH_BYTES} per borrower-month"
    ) in message
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  2048 kB\nMemFree:  512 kB\nMemAvailable:   1024 kB\n")
    assert available_memory_bytes(meminfo) == 1024 * 1024
    assert available_memory_bytes(tmp_path / "none") is None


def test_in_job_errors_remove_only_the_folder_hydra_made(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    fresh = tmp_path / "fresh"
    (fresh / ".hydra").mkdir(parents=True)
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (fresh / ".hydra" / name).write_text("{}")
    (fresh / "run.log").write_text("")
    with pytest.raises(SystemExit) as done, user_errors(fresh):
        raise data.DataFileError("bundled file x: file not found")
    assert done.value.code == USER_ERROR_EXIT and not fresh.exists()
    assert capsys.readouterr().err == "data error: bundled file x: file not found\n"
    # A folder holding anything else (a previous run, the user's files) stays.
    kept = tmp_path / "kept"
    (kept / ".hydra").mkdir(parents=True)
    (kept / "summary.parquet").write_text("")
    assert not remove_unused_job_folder(kept) and kept.exists()
    # Other errors are bugs: they pass through with their traceback.
    with pytest.raises(ZeroDivisionError), user_errors(kept):
        _ = 1 / 0


def test_an_error_raised_from_or_during_ctrl_c_is_the_interrupt(tmp_path: Path):
    ctrl_c = KeyboardInterrupt()
    during = raised(lambda: RuntimeError("cannot release un-acquired lock"), ctrl_c)
    assert during.__context__ is ctrl_c and interrupt_behind(during) is ctrl_c
    caused = SystemError("returned a result with an exception set")
    caused.__cause__ = ctrl_c
    assert interrupt_behind(caused) is ctrl_c
    # Two links away; the interrupt itself; none behind; a cycle of contexts ends.
    deeper = raised(lambda: ValueError("cleanup"), during)
    assert interrupt_behind(deeper) is ctrl_c and interrupt_behind(ctrl_c) is ctrl_c
    assert interrupt_behind(raised(lambda: ValueError("v"), TypeError("t"))) is None
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert interrupt_behind(first) is None
    # A job's such error is raised as the interrupt (the run's "interrupted" line
    # follows), and the job's folder is not removed as a user error's would be.
    folder = tmp_path / "job"
    (folder / ".hydra").mkdir(parents=True)
    with pytest.raises(KeyboardInterrupt) as got, user_errors(folder):
        raise during
    assert got.value is ctrl_c and folder.exists()


def test_preflight_refusing_a_config_composed_during_ctrl_c_is_the_interrupt(monkeypatch, capsys):
    # Ctrl-C while preflight composes can come back as a bad config (a UserError with
    # the interrupt behind it): the command stops as interrupted, not as a user error.
    import experiments.run as run_cli

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    ctrl_c = KeyboardInterrupt()
    during = raised(lambda: ValueError("'NoneType' object has no attribute 'x'"), ctrl_c)
    for cause, expected in ((during, KeyboardInterrupt), (ValueError("bad"), SystemExit)):

        def refused(argv, cause=cause):
            raise UserError("config error: seed: bad") from cause

        monkeypatch.setattr(run_cli, "preflight", refused)
        with pytest.raises(expected) as got:
            run_cli._checked_jobs(["seed=1"])
        if expected is SystemExit:
            assert got.value.code == USER_ERROR_EXIT
            assert capsys.readouterr().err == "config error: seed: bad\n"
        else:
            assert got.value is ctrl_c and capsys.readouterr().err == ""


def test_a_full_disk_is_one_line_exit_2_naming_the_file_and_leaves_no_partial_file(
    tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    written: list[Path] = []

    def disk_full_at_the_second(self, path, *args, **kwargs):
        written.append(Path(path))
        Path(path).write_bytes(b"PAR1 partial")
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return original(self, path, *args, **kwargs)

    original = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full_at_the_second)
    out = tmp_path / "run"
    run = make_run("population.n_borrowers=200", "n_months=2", "burn_in_months=0")
    with pytest.raises(SystemExit) as done, user_errors(None):
        run_to_folder(run, out, resolved={"seed": 0}, resolved_yaml="", run_id="r")
    assert done.value.code == USER_ERROR_EXIT
    target = written[1].name.split("-", 2)[2]  # the table, without the temporary prefix
    assert capsys.readouterr().err == (
        f"disk full: [Errno 28] No space left on device: '{out / target}'; free some space "
        "and run the command again (a sweep keeps its finished runs: add resume=true)\n"
    )
    # The table written before stays whole; the one being written left nothing; no
    # completion marker, so the run is incomplete and runs again.
    names = sorted(p.name for p in out.iterdir())
    assert written[0].name.split("-", 2)[2] in names and target not in names
    assert not [n for n in names if n.startswith(".tmp-")] and COMPLETE_MARKER not in names

    # pyarrow's own error says it only in its text: the writer names the file and errno.
    def arrow_full(self, path, *args, **kwargs):
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", arrow_full)
    with pytest.raises(OSError) as full:
        write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert (full.value.errno, full.value.filename) == (errno.ENOSPC, str(tmp_path / "t.parquet"))
    assert str(as_user_error(full.value)).startswith(
        f"disk full: [Errno 28] No space left on device: '{tmp_path / 't.parquet'}'; free"
    )
    # An unrelated OSError stays a bug (its traceback).
    assert as_user_error(OSError(errno.EACCES, "Permission denied")) is None
    # A writer killed before its clean-up (a joblib worker after Ctrl-C) leaves its
    # temporary file: the run folder's next attempt removes it, and only such files.
    (out / ".tmp-0123456789ab-portfolio.png").write_bytes(b"")
    (out / ".tmp-notmine").write_bytes(b"")
    monkeypatch.setattr(pd.DataFrame, "to_parquet", original)
    run_to_folder(run, out, resolved={"seed": 0}, resolved_yaml="", run_id="r")
    names = sorted(p.name for p in out.iterdir())
    assert COMPLETE_MARKER in names and ".tmp-notmine" in names
    assert [n for n in names if n.startswith(".tmp-") and n != ".tmp-notmine"] == []


def test_full_error_keeps_the_traceback(capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    try:
        raise data.DataFileError("inner")
    except data.DataFileError as inner:
        err = UserError("data error: inner")
        err.__cause__ = inner
    with pytest.raises(SystemExit):
        exit_with(err)
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and "DataFileError: inner" in stderr
    assert stderr.splitlines()[-1] == "data error: inner"


def finished_run(folder: Path, digest: str = "0" * 16) -> dict[str, bytes]:
    """A folder holding a finished run (its marker, a summary); its files' bytes."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    (folder / COMPLETE_MARKER).write_text(json.dumps({"config_hash": digest}))
    (folder / "summary.csv").write_text("policy,seed\nstatic,0\n")
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_finished_run_folder_is_never_overwritten(tmp_path: Path):
    run_dir = tmp_path / "done"
    before = finished_run(run_dir)
    done = run_cli("n_months=1", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert done.returncode == USER_ERROR_EXIT, done.stderr
    assert done.stderr == (
        f"run folder {run_dir} already holds a finished run, which this run would "
        "overwrite: choose a new folder (hydra.run.dir=...), or add resume=true to keep it "
        "(a finished run of the same config is then not run again)\n"
    )
    assert done.stdout == "" and snapshot(run_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]


def test_resume_into_a_finished_run_folder_needs_the_same_config(tmp_path: Path):
    job = ["n_months=1", "resume=true", f"hydra.run.dir={tmp_path}"]
    resolved = OmegaConf.to_container(compose_config(job), resolve=True)
    assert isinstance(resolved, dict)
    finished_run(tmp_path, config_hash(resolved))
    # The same config: the job will skip the complete run, so preflight lets it through.
    assert len(preflight(job)) == 1
    # Another config (seed) or no resume: refused before anything runs.
    with pytest.raises(UserError, match=r"finished run of another config, .*hydra\.run\.dir"):
        preflight(["seed=5", *job])
    with pytest.raises(UserError, match=r"already holds a finished run, which"):
        preflight(job[:1] + job[2:])
    # The job itself refuses too (invocations preflight leaves to Hydra), before running.
    run = make_run("n_months=1")
    for resume, config in ((False, resolved), (True, {"seed": 5})):
        with pytest.raises(UserError, match=f"run folder {tmp_path} already holds"):
            run_to_folder(
                run, tmp_path, resolved=config, resolved_yaml="", run_id="r", resume=resume
            )
    assert (tmp_path / "summary.csv").read_text() == "policy,seed\nstatic,0\n"


def test_a_sweep_keeps_its_finished_runs_unless_resumed(tmp_path: Path):
    before = finished_run(tmp_path / "run_seed=0")
    sweep = ["-m", "seed=0,1", "n_months=1", f"hydra.sweep.dir={tmp_path}"]
    with pytest.raises(UserError) as err:
        preflight(sweep)
    assert str(err.value) == (
        f"sweep folder {tmp_path} already holds 1 finished run(s) of an earlier sweep: "
        "choose a new folder (hydra.sweep.dir=...), or add resume=true with that sweep's "
        "overrides to keep them and run the rest"
    )
    assert len(preflight([*sweep, "resume=true"])) == 2
    assert snapshot(tmp_path / "run_seed=0") == before


@pytest.mark.parametrize("multirun", [False, True])
def test_resume_into_a_folder_that_does_not_exist_says_so(
    tmp_path: Path, multirun: bool, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "typo"
    option = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    sweep = ["-m", "seed=0,1"] if multirun else []
    job = [*sweep, "n_months=1", f"{option}={folder}"]
    assert len(preflight([*job, "resume=true"])) == (2 if multirun else 1)
    what, starts = ("sweep", "every run starts") if multirun else ("run", "the run starts")
    assert capsys.readouterr().err == (
        f"note: resume=true, but {folder} does not exist yet: nothing to resume, {starts} "
        f"(check {option}= if you meant an earlier {what})\n"
    )
    assert not folder.exists()
    # Without resume, or into a folder that exists: no note.
    preflight(job)
    folder.mkdir()
    preflight([*job, "resume=true"])
    assert capsys.readouterr().err == ""


def test_resume_into_a_new_dated_folder_says_how_to_name_the_earlier_one(capsys):
    assert len(preflight(["n_months=1", "resume=true"])) == 1
    assert capsys.readouterr().err == (
        "note: resume=true, but the output folder is a new dated one (hydra.run.dir not "
        "given): nothing to resume, the run starts (give hydra.run.dir=<its folder> to "
        "resume an earlier run)\n"
    )


# The sweep's variant composes the sweep's base config for each folder: slow.
@pytest.mark.parametrize("multirun", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_an_empty_or_unresolvable_output_folder_is_refused(
    tmp_path: Path, multirun: bool, monkeypatch: pytest.MonkeyPatch
):
    option = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    sweep = ["-m", "seed=0,1"] if multirun else []
    monkeypatch.chdir(tmp_path)  # an empty folder would write the run's files here
    with pytest.raises(UserError) as err:
        preflight([*sweep, "n_months=1", f"{option}="])
    assert str(err.value) == (
        f"output folder {option} is empty: it would write the run's files loose in the "
        f"current folder; give a folder ({option}=...)"
    )
    with pytest.raises(UserError) as err:
        preflight([*sweep, "n_months=1", f"{option}={tmp_path}/${{oops}}"])
    assert str(err.value) == (
        f"output folder {option}={tmp_path}/${{oops}}: Interpolation key 'oops' not found: "
        f"choose another folder ({option}=...)"
    )
    # The current folder itself: the same files loose in it.
    for here in (".", "./", str(tmp_path)):
        with pytest.raises(UserError) as err:
            preflight([*sweep, "n_months=1", f"{option}={here}"])
        assert str(err.value) == (
            f"output folder {option} ({here}) is the current folder: it would write the "
            f"run's files loose in the current folder; give a folder ({option}=...)"
        )
    # A missing environment variable, or a missing key whose name holds "hydra".
    monkeypatch.delenv("LIMITLAB_NOT_SET", raising=False)
    for folder, reason in (
        ("${oc.env:LIMITLAB_NOT_SET}", "KeyError raised while resolving interpolation: "
         "\"Environment variable 'LIMITLAB_NOT_SET' not found\""),
        ("${oops.hydra}", "Interpolation key 'oops.hydra' not found"),
    ):  # fmt: skip
        with pytest.raises(UserError) as err:
            preflight([*sweep, "n_months=1", f"{option}={tmp_path}/{folder}"])
        assert str(err.value) == (
            f"output folder {option}={tmp_path}/{folder}: {reason}: choose another folder "
            f"({option}=...)"
        )
    # Hydra's own values are resolved by the job (hydra.job.name is not known here).
    assert preflight([*sweep, "n_months=1", f"{option}={tmp_path}/${{hydra.job.name}}"])
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_that_hydra_cannot_expand_is_one_line():
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=range(0,2),5", "n_months=1"])
    assert str(err.value).startswith("invalid sweep: Hydra cannot expand the swept values (")
    assert str(err.value).endswith(
        "): give each swept key one list (seed=0,1,5) or one range (seed=range(0,3))"
    )


def test_resuming_a_sweep_in_a_folder_of_another_config_is_refused(tmp_path: Path):
    def finished(name: str, *overrides: str) -> None:
        finished_run(tmp_path / name)
        config = OmegaConf.to_yaml(compose_config(list(overrides)), resolve=True)
        (tmp_path / name / "resolved_config.yaml").write_text(config)

    sweep = ["-m", "seed=0,1", "n_months=1", f"hydra.sweep.dir={tmp_path}", "resume=true"]
    # Runs of the same study (another policy or seed): resumed beside them.
    finished("run_seed=0", "seed=0", "n_months=1")
    finished("run_policy=pd_threshold,seed=7", "seed=7", "n_months=1", "policy=pd_threshold")
    assert len(preflight(sweep)) == 2
    # A run of another config (another window) in the folder: refused, nothing written.
    finished("run_seed=3", "seed=3", "n_months=2")
    before = snapshot(tmp_path)
    with pytest.raises(UserError) as err:
        preflight(sweep)
    assert str(err.value) == (
        f"sweep folder {tmp_path} holds finished runs of another config (run_seed=3 differs "
        "from this sweep in n_months): resume it with that sweep's overrides, or choose a "
        "new folder (hydra.sweep.dir=...)"
    )
    assert snapshot(tmp_path) == before


def test_resuming_a_sweep_with_other_folder_names_is_refused(tmp_path: Path):
    # Its finished runs were not found where the jobs looked: each ran again into a new
    # folder, the [done/total] counter passed its total and compare refused the duplicates.
    def started_with(subdir: str, exclude: list[str]) -> None:
        naming = {"kv_sep": "=", "item_sep": ",", "exclude_keys": exclude}
        hydra = {"sweep": {"subdir": subdir}, "job": {"config": {"override_dirname": naming}}}
        (tmp_path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra}))

    def refusal(argv: list[str]) -> str:
        before = snapshot(tmp_path)
        with pytest.raises(UserError) as err:
            preflight(argv)
        assert snapshot(tmp_path) == before  # nothing written
        return str(err.value)

    finished_run(tmp_path / "0")
    sweep = ["-m", "seed=0,1", "n_months=1", f"hydra.sweep.dir={tmp_path}", "resume=true"]
    numbered = "hydra.sweep.subdir=${hydra.job.num}"
    started_with("${hydra.job.num}", ["seed"])  # exclude_keys: not in these folder names
    assert len(preflight([*sweep, numbered])) == 2
    assert refusal(sweep) == (
        f"sweep folder {tmp_path} was run with hydra.sweep.subdir=${{hydra.job.num}} (its "
        "multirun.yaml), and is resumed with hydra.sweep.subdir=run_${hydra.job.override_dirname}"
        ": the finished runs would not be found, and would run again into new folders; "
        "resume with 'hydra.sweep.subdir=${hydra.job.num}'"
    )
    started_with("run_${hydra.job.override_dirname}", ["resume", "n_months"])
    mine = "hydra.job.config.override_dirname.exclude_keys=[n_months,resume]"
    assert len(preflight([*sweep, mine])) == 2  # the same list in another order
    assert refusal(sweep).endswith(
        "resume with 'hydra.job.config.override_dirname.exclude_keys=[resume,n_months]'"
    )
    # A key no job sets left out or not: the same folder names, accepted.
    mine = "hydra.job.config.override_dirname.exclude_keys=[n_months,resume,output.formats]"
    assert len(preflight([*sweep, mine])) == 2
    # Without multirun.yaml, a finished run's own record says how the folders were named.
    (tmp_path / "multirun.yaml").unlink()
    hydra = {"sweep": {"subdir": "${hydra.job.num}"}}
    (tmp_path / "0" / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": hydra}))
    assert refusal(sweep).startswith(
        f"sweep folder {tmp_path} was run with hydra.sweep.subdir=${{hydra.job.num}} "
        "(0/.hydra/hydra.yaml), and is resumed with "
    )


def test_an_option_no_policy_has_is_mistyped_also_in_a_policy_sweep():
    # Was "sweep those policies separately", which cannot help; and no suggestion of an
    # option only some of the policies swept have (it would be refused in turn).
    with pytest.raises(UserError) as err:
        preflight(["-m", "policy=static,pd_threshold", "policy.cut_abov_pd=0.1"])
    assert str(err.value) == (
        "invalid sweep: policy.cut_abov_pd=0.1 is not an option of policy pd_threshold, "
        "static (policies with it: none)"
    )
    with pytest.raises(UserError, match=r"sweep those policies separately$"):
        preflight(["-m", "policy=static,pd_threshold", "policy.cut_above_pd=0.1"])
    # An option every policy swept has is suggested.
    with pytest.raises(UserError, match=r"; did you mean policy.max_limit_cny\?$"):
        preflight(["-m", "policy=pd_threshold,counter_cyclical", "policy.max_limt_cny=1"])
    # The label in another case: the policies to choose from.
    with pytest.raises(UserError) as err:
        preflight(["policy.Name=static"])
    assert str(err.value).endswith(
        "(policies with it: none); to run another policy, choose it: policy=<option>, one "
        "of behaviour_rules, champion_challenger, counter_cyclical, exposure_cap, "
        "parametric, pd_threshold, sme_aware, static, utilisation_cli"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("~Seed", "~Seed: Seed does not exist; did you mean seed? (only hydra settings"),
        (
            "~population.N_BORROWERS",
            "~population.N_BORROWERS: population.N_BORROWERS does not exist; did you mean "
            "population.n_borrowers?",
        ),
        (
            "~policy.CUT_ABOVE_PD",
            "~policy.CUT_ABOVE_PD: policy.CUT_ABOVE_PD does not exist; did you mean "
            "policy.cut_above_pd?",
        ),
        ("~foo", "~foo: foo does not exist (and only hydra settings may be deleted)"),
        # A key that exists: as before.
        ("~seed", "~seed would delete seed, which every run needs"),
    ],
)
def test_deleting_a_key_in_another_case_names_the_key(override, message):
    # Was "~Seed would delete Seed ...: set a value instead (Seed=...)", which is refused.
    with pytest.raises(UserError) as err:
        preflight([override])
    assert str(err.value).startswith(f"invalid config: {message}")


def test_two_spellings_of_one_value_are_one_run_twice_and_refused(tmp_path: Path):
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=1,01", "n_months=1", f"hydra.sweep.dir={tmp_path}/s"])
    # The jobs' own lines, as in every folder refusal (was with hydra.sweep.dir=...), and
    # the key named (was "drop the repeated value").
    assert str(err.value) == (
        "invalid sweep: sweep jobs #1 (seed=1 n_months=1) and #2 (seed=01 n_months=1) of 2 "
        "are the same run (the same config, in two folders): seed repeats one value; drop one"
    )
    # Whatever names the folders (here their numbers, as typed; was $\{hydra.job.num\}).
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=1,01", "n_months=1", "hydra.sweep.subdir=${hydra.job.num}"])
    assert str(err.value).startswith(
        "invalid sweep: sweep jobs #1 (seed=1 n_months=1) and #2 (seed=01 n_months=1) of 2 "
        "are the same run"
    )
    # Where the jobs left would still share a folder, the same line says so: one step.
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=1,01,2", "n_months=1", "hydra.sweep.subdir=p${policy.name}"])
    assert str(err.value) == (
        "invalid sweep: sweep jobs #1 (seed=1 n_months=1) and #2 (seed=01 n_months=1) of 3 "
        "are the same run (the same config, in two folders): seed repeats one value; drop "
        "one; then sweep jobs #1 (seed=1 n_months=1) and #3 (seed=2 n_months=1) of 3 would "
        "write the same run folder pbehaviour_rules: hydra.sweep.subdir must name each job's "
        "own folder (with ${hydra.job.override_dirname} or ${hydra.job.num})"
    )
    # A job's bad value shows the job's own lines too (was with hydra.sweep.dir=...).
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,abc", "n_months=1", f"hydra.sweep.dir={tmp_path}/s"])
    assert str(err.value).endswith("(sweep job #2 of 2: seed=abc n_months=1)")
    # A key that does not change the run, named in the folders: two runs of one config.
    with pytest.raises(UserError) as err:
        preflight(
            ["-m", "experiment_name=a,b", "n_months=1", "hydra.sweep.subdir=${experiment_name}"]
        )
    assert str(err.value) == (
        "invalid sweep: sweep jobs #1 (experiment_name=a n_months=1) and #2 "
        "(experiment_name=b n_months=1) of 2 are the same run (the same config, in two "
        "folders): experiment_name does not change the run; drop one of them"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("multirun", [False, True])
def test_an_output_folder_that_is_a_file_is_one_line_exit_2(tmp_path: Path, multirun: bool):
    target = tmp_path / "somefile"
    target.write_text("keep me\n")
    option = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    sweep = ["-m", "seed=0,1"] if multirun else []
    done = run_cli(*sweep, "n_months=1", f"{option}={target}", cwd=tmp_path)
    assert done.returncode == USER_ERROR_EXIT, done.stderr
    assert done.stderr == (
        f"output folder {target} is a file, not a folder: choose another folder ({option}=...)\n"
    )
    assert done.stdout == "" and target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile"]
    # A folder below a file: the file is named.
    with pytest.raises(UserError, match=rf"{target}/sub is inside {target}, a file"):
        preflight([*sweep, f"{option}={target / 'sub'}"])


def test_a_parallel_sweep_must_fit_its_jobs_at_once(monkeypatch):
    """joblib's n_jobs jobs run side by side: their estimates are added, so a sweep whose
    jobs each fit but not together is refused before anything runs (basic launcher: one
    at a time, accepted)."""
    from sim.runtime import resources
    from sim.runtime.errors import UserError
    from sim.runtime.resources import check_sweep_memory, estimate_peak_bytes

    small, large = make_run("population.n_borrowers=1000"), make_run("population.n_borrowers=3000")
    pair = estimate_peak_bytes(small) + estimate_peak_bytes(large)
    assert check_sweep_memory([small, large], 2, available=pair) == pair
    assert check_sweep_memory([small, large, small], 1, available=1) == estimate_peak_bytes(large)
    with pytest.raises(InsufficientMemoryError, match=r"runs 2 of the sweep's 3 jobs at once"):
        check_sweep_memory([small, large, small], 2, available=pair - 1)
    # Through the command line's preflight, with the machine's memory between one job and two.
    sweep = ["-m", "population.n_borrowers=1000,3000", "n_months=2", "burn_in_months=0"]
    runs = preflight([*sweep, "hydra/launcher=basic"])
    both = sum(estimate_peak_bytes(run) for run in runs)
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: both - 1)
    assert len(preflight([*sweep, "hydra/launcher=basic"])) == 2
    with pytest.raises(UserError, match=r"lower hydra.launcher.n_jobs"):
        preflight([*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert len(preflight([*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=1"])) == 2


def test_workers_beyond_the_jobs_count_idle(monkeypatch):
    """joblib starts all n_jobs workers at once, even for fewer jobs (1,000 of them once
    filled this machine's 24 GiB): each idle one counts IDLE_WORKER_BYTES."""
    from sim.runtime import resources
    from sim.runtime.resources import IDLE_WORKER_BYTES, check_sweep_memory, estimate_peak_bytes

    small = make_run("population.n_borrowers=1000")
    one = estimate_peak_bytes(small)
    # Two jobs on 5 workers: both jobs and 3 idle workers, by hand.
    need = 2 * one + 3 * IDLE_WORKER_BYTES
    assert check_sweep_memory([small, small], 5, available=need) == need
    with pytest.raises(InsufficientMemoryError) as err:
        check_sweep_memory([small, small], 5, available=need - 1)
    assert str(err.value).startswith(
        "hydra.launcher.n_jobs starts 5 worker processes at once, for the sweep's 2 job(s): "
        "the jobs and 3 idle workers need about "
    )
    assert str(err.value).endswith("lower hydra.launcher.n_jobs (no more than 2 are used)")
    # One job on many workers is checked too; one worker is never refused here.
    with pytest.raises(InsufficientMemoryError, match="999 idle workers"):
        check_sweep_memory([small], 1000, available=one + 998 * IDLE_WORKER_BYTES)
    assert check_sweep_memory([small], 1, available=1) == one
    # Through the command line's preflight, before anything is written.
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 8 * 2**30)
    sweep = ["-m", "seed=0,1", "n_months=2", "hydra/launcher=joblib"]
    with pytest.raises(UserError, match=r"starts 1000 worker processes at once, for the sweep"):
        preflight([*sweep, "hydra.launcher.n_jobs=1000"])
    assert len(preflight([*sweep, "hydra.launcher.n_jobs=4"])) == 2
    # No worker at all: joblib's own refusal was a traceback after multirun.yaml.
    with pytest.raises(UserError) as err:
        preflight([*sweep, "hydra.launcher.n_jobs=0"])
    assert str(err.value) == (
        "invalid config: hydra.launcher.n_jobs = 0: joblib needs at least one worker (a "
        "positive number of workers, or a negative one counted from the cores: -1 is every "
        "core)"
    )


@pytest.mark.parametrize(
    "value",
    # One value OmegaConf reads as true and one as false in `make test`; the rest are slow.
    ["2", "off", *(pytest.param(v, marks=pytest.mark.slow) for v in ("-1", "yes", "on", "Y", "0"))],
)
def test_a_true_false_field_takes_only_true_or_false(value: str):
    # OmegaConf would read these as true or false; the message says "expected true or false".
    expected = f"output.plots = '{value}': expected true or false (bool)"
    with pytest.raises(UserError) as err:
        preflight(["n_months=1", f"output.plots={value}"])
    assert str(err.value) == f"invalid config: {expected}"
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", "n_months=1", f"resume={value}"])
    assert str(err.value) == (
        f"invalid config: resume = '{value}': expected true or false (bool) (sweep job #1 of "
        f"2: seed=0 n_months=1 resume={value})"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_run_config([f"output.plots={value}"])
    # Any case of true and false is taken.
    assert load_run_config(["output.plots=FALSE"]).output.plots is False
    assert load_run_config(["output.plots=True"]).output.plots is True
    # A quoted true is a string; an interpolation is left to the config.
    with pytest.raises(ValueError, match=re.escape("expected true or false (unquoted) (bool)")):
        load_run_config(["output.plots='true'"])
    assert load_run_config(["share_burn_in=false", "resume=${share_burn_in}"])
