"""Hydra's joblib launcher options joblib takes but cannot use, and its time limit.

Each option was taken without a word (``pre_dispatch=0`` ran no job and ended as if done,
``pre_dispatch=abc`` and a zero ``timeout`` were tracebacks once the sweep had started):
now one line before anything is written, exit code 2 (:mod:`sim.runtime.launcher_options`).
A job over a legal ``timeout`` was joblib's ``TimeoutError`` traceback: now one line
saying the finished runs are kept and how to run the rest. The command-line cases run
``python -m experiments.run`` (about 3 s each; the timed-out sweep about 4 s, resumed
about 9 s more).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sim.outputs.files import COMPLETE_MARKER
from sim.runtime.errors import USER_ERROR_EXIT, UserError
from sim.runtime.launcher_options import joblib_option_problem, timeout_error
from tests.runtime.test_fail_fast import run_cli

SWEEP = [
    "-m",
    "seed=0,1",
    "n_months=1",
    "population.n_borrowers=200",
    "burn_in_months=0",
    "hydra/launcher=joblib",
    "hydra.launcher.n_jobs=2",
]

#: Hydra's joblib launcher's options as preflight passes them (its defaults, 2 workers).
DEFAULTS = {
    "n_jobs": 2,
    "backend": None,
    "prefer": "processes",
    "require": None,
    "verbose": 0,
    "timeout": None,
    "pre_dispatch": "2*n_jobs",
    "batch_size": "auto",
    "temp_folder": None,
    "max_nbytes": None,
    "mmap_mode": "r",
}

PRE_DISPATCH = (
    "(allowed: 'all', a positive whole number, or an expression in n_jobs such as "
    "'2*n_jobs' that gives one)"
)
TIMEOUT = (
    "not a time limit (allowed: a positive number of seconds each job may take, or null "
    "for no limit)"
)
SIZE = (
    "not a size (allowed: null for no memory mapping, a whole number of bytes >= 0, or a "
    "size such as '1M', '500K', '2G')"
)
OPTIONS = (
    "n_jobs, backend, prefer, require, verbose, timeout, pre_dispatch, batch_size, "
    "temp_folder, max_nbytes, mmap_mode"
)

#: (override, the option as preflight passes it, the line after "invalid config: ").
CASES = [
    (
        "hydra.launcher.pre_dispatch=0",
        {"pre_dispatch": 0},
        f"hydra.launcher.pre_dispatch = 0: gives 0 jobs to send at first, so no job would "
        f"run {PRE_DISPATCH}",
    ),
    (
        "hydra.launcher.pre_dispatch=abc",
        {"pre_dispatch": "abc"},
        f"hydra.launcher.pre_dispatch = 'abc': not a number of jobs joblib can read {PRE_DISPATCH}",
    ),
    (
        "hydra.launcher.pre_dispatch=n_jobs-2",
        {"pre_dispatch": "n_jobs-2"},
        "hydra.launcher.pre_dispatch = 'n_jobs-2': gives 0 jobs to send at first with "
        f"n_jobs = 2 workers, so no job would run {PRE_DISPATCH}",
    ),
    ("hydra.launcher.timeout=0", {"timeout": 0.0}, f"hydra.launcher.timeout = 0.0: {TIMEOUT}"),
    (
        "hydra.launcher.timeout=-5",
        {"timeout": -5.0},
        f"hydra.launcher.timeout = -5.0: {TIMEOUT}",
    ),
    (
        "hydra.launcher.timeout=nan",
        {"timeout": float("nan")},
        f"hydra.launcher.timeout = nan: {TIMEOUT}",
    ),
    (
        "hydra.launcher.backend=threading",
        {"backend": "threading"},
        "hydra.launcher.backend = 'threading': Hydra's joblib launcher ignores it and always "
        "runs joblib's 'loky' backend (worker processes: each job sets process-wide state, "
        "Hydra's job config among it, so jobs cannot run side by side as threads) (allowed: "
        "null or 'loky')",
    ),
    (
        "hydra.launcher.backend=multiprocessing",
        {"backend": "multiprocessing"},
        "hydra.launcher.backend = 'multiprocessing': Hydra's joblib launcher ignores it and "
        "always runs joblib's 'loky' backend, its own choice of worker processes (allowed: "
        "null or 'loky')",
    ),
    (
        "hydra.launcher.prefer=threads",
        {"prefer": "threads"},
        "hydra.launcher.prefer = 'threads': Hydra's joblib launcher ignores it: it always runs "
        "joblib's 'loky' backend, whose workers are processes (allowed: 'processes' or null)",
    ),
    (
        "hydra.launcher.prefer=fibres",
        {"prefer": "fibres"},
        "hydra.launcher.prefer = 'fibres': not a joblib backend hint (allowed: 'processes' or "
        "null)",
    ),
    (
        "hydra.launcher.backend=fast",
        {"backend": "fast"},
        "hydra.launcher.backend = 'fast': not a joblib backend (joblib's: loky, "
        "multiprocessing, sequential, threading), and Hydra's joblib launcher always runs "
        "'loky' (allowed: null or 'loky')",
    ),
    (
        "hydra.launcher.mmap_mode=rw",
        {"mmap_mode": "rw"},
        "hydra.launcher.mmap_mode = 'rw': not a memory-mapping mode (allowed: 'r+', 'r', "
        "'w+', 'c')",
    ),
    ("hydra.launcher.max_nbytes=-5", {"max_nbytes": -5}, f"hydra.launcher.max_nbytes = -5: {SIZE}"),
    (
        "hydra.launcher.max_nbytes=-1M",
        {"max_nbytes": "-1M"},
        f"hydra.launcher.max_nbytes = '-1M': {SIZE}",
    ),
    (
        "+hydra.launcher.foo=1",
        {"foo": 1},
        f"hydra.launcher.foo = 1: not an option of Hydra's joblib launcher (its options: "
        f"{OPTIONS})",
    ),
    (
        "hydra.launcher.require=sharedmem",
        {"require": "sharedmem"},
        "hydra.launcher.require = 'sharedmem': Hydra's joblib launcher runs joblib's 'loky' "
        "backend (worker processes), which shares no memory (allowed: null)",
    ),
]

#: The command-line cases run in `make test` (the others in `make test-slow`).
#: Through the command line in the fast suite (each case is a process start); the others,
#: whose messages the case above checks, in the slow one.
FAST = {"hydra.launcher.pre_dispatch=0"}


@pytest.mark.parametrize(("override", "option", "message"), CASES, ids=[c[0] for c in CASES])
def test_options_joblib_cannot_use_are_named(override: str, option: dict, message: str):
    assert joblib_option_problem({**DEFAULTS, **option}) == message


@pytest.mark.parametrize(
    "option",
    [
        {},
        {"pre_dispatch": "all"},
        {"pre_dispatch": 3},
        {"pre_dispatch": "1.5*n_jobs"},
        {"pre_dispatch": "0.5*n_jobs"},  # 1 job with 2 workers (joblib truncates)
        {"timeout": 0.5},
        {"timeout": float("inf")},  # no limit, as null
        {"backend": "loky"},
        {"prefer": None},
        {"mmap_mode": "r+"},
        {"max_nbytes": 0},
        {"max_nbytes": "1M"},
        {"max_nbytes": "1.5K"},
    ],
)
def test_options_joblib_uses_are_taken(option: dict):
    assert joblib_option_problem({**DEFAULTS, **option}) is None


@pytest.mark.parametrize(
    ("override", "message"),
    [pytest.param(o, m, id=o, marks=() if o in FAST else pytest.mark.slow) for o, _, m in CASES],
)
def test_the_command_line_refuses_them_before_writing_anything(
    tmp_path: Path, override: str, message: str
):
    sweep_dir = tmp_path / "sweep"
    done = run_cli(*SWEEP, override, f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert done.returncode == USER_ERROR_EXIT
    assert done.stderr == f"invalid config: {message}\n"
    assert done.stdout == ""
    assert not sweep_dir.exists() and list(tmp_path.iterdir()) == []


def timed_out_sweep(tmp_path: Path) -> tuple[list[str], Path]:
    """A sweep stopped by a timeout of half a second: its command and its folder."""
    # A worker's start-up alone (its imports) takes longer than half a second.
    sweep_dir = tmp_path / "sweep"
    command = [*SWEEP, f"hydra.sweep.dir={sweep_dir}"]
    done = run_cli(*command, "hydra.launcher.timeout=0.5", cwd=tmp_path)
    assert done.returncode == USER_ERROR_EXIT, done.stderr
    assert done.stderr == (
        "sweep stopped: a job took longer than hydra.launcher.timeout = 0.5 seconds (joblib "
        f"stopped the workers); no run in {sweep_dir} had finished; to run them, run the same "
        f"command with resume=true hydra.sweep.dir={sweep_dir} and a larger "
        "hydra.launcher.timeout (or null for no limit)\n"
    )
    assert not list(sweep_dir.rglob(COMPLETE_MARKER))
    return command, sweep_dir


def test_a_job_over_the_timeout_stops_the_sweep_with_one_line(tmp_path: Path):
    timed_out_sweep(tmp_path)  # was joblib's TimeoutError traceback, exit code 1


@pytest.mark.slow
def test_a_sweep_stopped_by_its_timeout_resumes(tmp_path: Path):
    # The advice works: resumed with a larger limit, the sweep runs its two jobs.
    command, sweep_dir = timed_out_sweep(tmp_path)
    done = run_cli(*command, "hydra.launcher.timeout=120", "resume=true", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(list(sweep_dir.rglob(COMPLETE_MARKER))) == 2


def test_the_timeout_line_says_which_runs_are_kept(tmp_path: Path):
    joblib = OmegaConf.create(
        {"_target_": "hydra_plugins.hydra_joblib_launcher.X", "timeout": 60.0}
    )
    (tmp_path / "run_seed=0").mkdir()
    (tmp_path / "run_seed=0" / COMPLETE_MARKER).write_text("{}")
    timed_out = multiprocessing.TimeoutError()
    user = timeout_error(timed_out, joblib, tmp_path / "my sweep")
    assert isinstance(user, UserError)
    assert "no run in" in str(user) and "'hydra.sweep.dir=" in str(user)  # quoted: a space
    assert str(timeout_error(timed_out, joblib, tmp_path)) == (
        "sweep stopped: a job took longer than hydra.launcher.timeout = 60.0 seconds (joblib "
        f"stopped the workers); the finished runs in {tmp_path} are kept; to run the rest, "
        f"run the same command with resume=true hydra.sweep.dir={tmp_path} and a larger "
        "hydra.launcher.timeout (or null for no limit)"
    )
    # Other errors, other launchers and no limit: not this line.
    assert timeout_error(ValueError("x"), joblib, tmp_path) is None
    basic = OmegaConf.create({"_target_": "hydra._internal.BasicLauncher"})
    assert timeout_error(timed_out, basic, tmp_path) is None
    no_limit = OmegaConf.create(
        {"_target_": "hydra_plugins.hydra_joblib_launcher.X", "timeout": None}
    )
    assert timeout_error(timed_out, no_limit, tmp_path) is None


def test_an_option_given_to_the_basic_launcher_is_named(tmp_path: Path):
    # +hydra.launcher.n_jobs=2 without hydra/launcher=joblib: Hydra's TypeError
    # (BasicLauncher.__init__() got an unexpected keyword argument 'n_jobs'), exit 1.
    from sim.runtime.preflight import preflight

    sweep = ["-m", "seed=0,1", "n_months=1", f"hydra.sweep.dir={tmp_path / 's'}"]
    with pytest.raises(UserError) as err:
        preflight([*sweep, "+hydra.launcher.n_jobs=2"])
    assert str(err.value) == (
        "invalid config: hydra.launcher.n_jobs: Hydra's basic launcher, the default, takes no "
        "options and runs the jobs one after another; for jobs side by side choose "
        "hydra/launcher=joblib"
    )
    # Without the +: the key does not exist in the basic launcher's config.
    with pytest.raises(UserError) as err:
        preflight([*sweep, "hydra.launcher.n_jobs=2"])
    assert str(err.value) == (
        "invalid config: hydra.launcher.n_jobs does not exist; the keys of hydra.launcher "
        "are: _target_ (Hydra's basic launcher, the default, takes no options and runs the "
        "jobs one after another; for jobs side by side choose hydra/launcher=joblib)"
    )
    with pytest.raises(UserError, match=r"hydra.launcher.n_jobz does not exist; did you mean "):
        preflight([*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobz=2"])
    assert not (tmp_path / "s").exists()
    assert len(preflight(sweep)) == 2
