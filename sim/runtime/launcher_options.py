"""Hydra's joblib launcher options that joblib takes but cannot use, and its time limit.

``hydra/launcher=joblib`` hands its options (``hydra.launcher.*``) to ``joblib.Parallel``,
which checks only some of them when it is made: ``pre_dispatch=0`` dispatched no job (the
sweep ended as if done), ``pre_dispatch=abc`` failed with a traceback once the sweep had
started, a zero or negative ``timeout`` stopped every job, ``backend``, ``prefer``,
``mmap_mode``, ``max_nbytes=-5`` and keys the launcher does not have were taken without a word.
:func:`joblib_option_problem` names such an option in one line, which
:func:`sim.runtime.preflight.preflight` raises before anything is written.

The launcher always runs joblib's ``loky`` backend (worker processes) whatever
``backend`` says: each job sets process-wide state (Hydra's job config, which names its
output folder, is one object per process), so jobs cannot share a process as threads.

A legal ``timeout`` (seconds, counted from when joblib starts waiting for a job: a
worker's start-up counts) that a job exceeds stops the sweep: joblib stops its workers
and raises ``multiprocessing.TimeoutError`` out of the launcher.
:func:`timeout_error` turns it into one line saying what is kept and how to go on, which
the sweeper (``hydra/sweeper=limitlab``) shows with exit code 2.
"""

from __future__ import annotations

import multiprocessing
import shlex
from pathlib import Path
from typing import Any

from sim.outputs.files import COMPLETE_MARKER
from sim.runtime.errors import UserError

__all__ = ["joblib_option_problem", "timeout_error"]

#: ``mmap_mode`` values joblib takes (its None is no string: the launcher's schema takes
#: only strings).
MMAP_MODES = ("r+", "r", "w+", "c")

#: The backend the launcher runs, whatever ``hydra.launcher.backend`` says.
LAUNCHER_BACKEND = "loky"


def _launcher_options() -> list[str]:
    """The options of Hydra's joblib launcher (its schema's fields), in its order."""
    import dataclasses

    from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf

    return [f.name for f in dataclasses.fields(JobLibLauncherConf) if f.name != "_target_"]


def joblib_option_problem(options: dict[str, Any]) -> str | None:
    """What is wrong with the first joblib launcher option joblib takes but cannot use.

    Args:
        options: ``hydra.launcher`` without ``_target_``, resolved, with ``pre_dispatch``,
            ``batch_size`` and ``max_nbytes`` read as whole numbers where they are (as the
            launcher reads them).

    Returns:
        ``hydra.launcher.<key> = <value>: <what is wrong> (allowed ...)``, or None. The
        options ``joblib.Parallel`` itself refuses are left to it.
    """
    known = _launcher_options()
    for key, value in options.items():
        if key not in known:
            return (
                f"hydra.launcher.{key} = {value!r}: not an option of Hydra's joblib launcher "
                f"(its options: {', '.join(known)})"
            )
    for key, check in (
        ("backend", _backend_problem),
        ("prefer", _prefer_problem),
        ("timeout", _timeout_problem),
        ("pre_dispatch", _pre_dispatch_problem),
        ("mmap_mode", _mmap_mode_problem),
        ("max_nbytes", _max_nbytes_problem),
        ("require", _require_problem),
    ):
        if key in options:
            problem = check(options[key], options)
            if problem:
                return f"hydra.launcher.{key} = {options[key]!r}: {problem}"
    return None


def _backend_problem(value: Any, options: dict[str, Any]) -> str | None:
    from joblib.parallel import BACKENDS

    if value is None or value == LAUNCHER_BACKEND:
        return None
    allowed = f"(allowed: null or '{LAUNCHER_BACKEND}')"
    if value not in BACKENDS:
        return (
            f"not a joblib backend (joblib's: {', '.join(sorted(BACKENDS))}), and Hydra's "
            f"joblib launcher always runs '{LAUNCHER_BACKEND}' {allowed}"
        )
    if value == "threading":
        return (
            f"Hydra's joblib launcher ignores it and always runs joblib's '{LAUNCHER_BACKEND}' "
            "backend (worker processes: each job sets process-wide state, Hydra's job config "
            f"among it, so jobs cannot run side by side as threads) {allowed}"
        )
    return (
        f"Hydra's joblib launcher ignores it and always runs joblib's '{LAUNCHER_BACKEND}' "
        f"backend, its own choice of worker processes {allowed}"
    )


def _prefer_problem(value: Any, options: dict[str, Any]) -> str | None:
    if value is None or value == "processes":
        return None
    if value == "threads":
        return (
            f"Hydra's joblib launcher ignores it: it always runs joblib's '{LAUNCHER_BACKEND}' "
            "backend, whose workers are processes (allowed: 'processes' or null)"
        )
    return "not a joblib backend hint (allowed: 'processes' or null)"


def _timeout_problem(value: Any, options: dict[str, Any]) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return None  # inf: no limit, as null
    return (
        "not a time limit (allowed: a positive number of seconds each job may take, or null "
        "for no limit)"
    )


def _pre_dispatch_problem(value: Any, options: dict[str, Any]) -> str | None:
    """As ``joblib.Parallel.__call__`` reads it: 'all', or a number of jobs sent at first.

    A string is an arithmetic expression in ``n_jobs`` (joblib's own evaluator, with the
    number of workers joblib will start on this machine), truncated to a whole number.
    """
    import joblib
    from joblib._utils import eval_expr  # joblib's evaluator (private, stable since 1.2)

    allowed = (
        "(allowed: 'all', a positive whole number, or an expression in n_jobs such as "
        "'2*n_jobs' that gives one)"
    )
    if value == "all":
        return None
    n_jobs = options.get("n_jobs")
    workers = joblib.effective_n_jobs(n_jobs if isinstance(n_jobs, int) and n_jobs else -1)
    amount: Any = value
    if isinstance(value, str):
        try:
            amount = eval_expr(value.replace("n_jobs", str(workers)))
        except ValueError:
            return f"not a number of jobs joblib can read {allowed}"
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not amount >= 1:
        where = f" with n_jobs = {workers} workers" if "n_jobs" in str(value) else ""
        return f"gives {amount!r} jobs to send at first{where}, so no job would run {allowed}"
    return None


def _mmap_mode_problem(value: Any, options: dict[str, Any]) -> str | None:
    if value is None or value in MMAP_MODES:
        return None
    return f"not a memory-mapping mode (allowed: {', '.join(map(repr, MMAP_MODES))})"


def _max_nbytes_problem(value: Any, options: dict[str, Any]) -> str | None:
    from joblib.disk import memstr_to_bytes

    size = value
    if isinstance(value, str):
        try:
            size = memstr_to_bytes(value)
        except (ValueError, IndexError):  # IndexError: joblib's reading of ''
            size = -1
    elif isinstance(value, bool) or not (value is None or isinstance(value, int)):
        size = -1
    if size is None or size >= 0:
        return None
    return (
        "not a size (allowed: null for no memory mapping, a whole number of bytes >= 0, or a "
        "size such as '1M', '500K', '2G')"
    )


def _require_problem(value: Any, options: dict[str, Any]) -> str | None:
    if value is None:
        return None
    # joblib's own refusal names its backend object by address: reworded, always the same.
    return (
        f"Hydra's joblib launcher runs joblib's '{LAUNCHER_BACKEND}' backend (worker "
        "processes), which shares no memory (allowed: null)"
    )


def timeout_error(err: BaseException, launcher: Any, folder: str | Path) -> UserError | None:
    """The one line for a sweep stopped by joblib's ``hydra.launcher.timeout``, or None.

    Args:
        err: what the launcher raised.
        launcher: the sweep's ``hydra.launcher`` node.
        folder: the sweep folder (``hydra.sweep.dir``).

    Returns:
        A user error (``str()`` is the line) if ``err`` is joblib's time-out of a joblib
        launcher with a ``timeout``; None for anything else.
    """
    if not isinstance(err, multiprocessing.TimeoutError | TimeoutError):
        return None
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return None
    limit = launcher.get("timeout")
    if limit is None:
        return None
    if any(Path(folder).rglob(COMPLETE_MARKER)):
        kept = f"the finished runs in {folder} are kept; to run the rest"
    else:
        kept = f"no run in {folder} had finished; to run them"
    folder_override = shlex.quote(f"hydra.sweep.dir={folder}")
    return UserError(
        f"sweep stopped: a job took longer than hydra.launcher.timeout = {limit!r} seconds "
        f"(joblib stopped the workers); {kept}, run the same command with resume=true "
        f"{folder_override} and a larger hydra.launcher.timeout (or null for no limit)"
    )
