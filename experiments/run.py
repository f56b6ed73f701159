"""Hydra entry point: one simulation run per job.

    python -m experiments.run                                  # default config
    python -m experiments.run policy=static seed=3             # overrides
    python -m experiments.run -m policy=static,behaviour_rules seed='range(0,20)'
    python -m experiments.run -m ... hydra/launcher=joblib     # local parallel jobs
    python -m experiments.run -m ... hydra.sweep.dir=multirun/study resume=true

Each job writes its tables under Hydra's job output folder (never the current
directory); see ``sim.outputs.files.write_run_outputs``. A single run in a terminal shows a
progress bar over months (none in a non-interactive log); a sweep prints one line per
finished job, ``[done/total] policy | scenario | seed S: wrote FOLDER``.

Before Hydra starts, ``sim.runtime.preflight.preflight`` checks every job (a sweep's too),
the machine's memory and the bundled data: a user error is one line on stderr, exit code 2,
and no folder (``HYDRA_FULL_ERROR=1`` adds the traceback). An output folder that is a
file, or that holds a finished run (a sweep's: without ``resume=true``), is refused so.
Ctrl-C ends with one line (exit code 130): for a sweep, that its finished runs are kept
and how to run the rest (``resume=true`` with the same ``hydra.sweep.dir``).
"""

from __future__ import annotations

import signal
import sys

from experiments.cli import exit_not_started

if __name__ == "__main__":
    # Ctrl-C while the libraries below are imported (a second or two): the same one line
    # as later, not an import's traceback; the default handler is back before any work.
    # `kill` (SIGTERM) too: it stops the command as Ctrl-C does, here as later.
    signal.signal(signal.SIGINT, exit_not_started)
    signal.signal(signal.SIGTERM, exit_not_started)
    # Started by the demo, Ctrl-C is held (blocked) until here: one that came while this
    # interpreter started (when it could be lost) is delivered now, to the handler above.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

import gc
import logging
import os
import shlex
import threading
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments.cli import INTERRUPTED_EXIT, NOT_STARTED_LINE, RESUME_COMMAND_ENV
from sim.config import RunConfig, register_configs
from sim.interrupts import (
    HELD_SIGNALS,
    exit_if_stuck,
    interrupt_behind,
    interrupt_handler,
    let_held_signals_in,
    raise_if_interrupted,
)
from sim.outputs.files import COMPLETE_MARKER
from sim.runtime.burn_in import BURN_IN_FOLDER, BurnInStore
from sim.runtime.errors import UserError, exit_with, user_errors
from sim.runtime.preflight import checked_run_config, preflight
from sim.runtime.runner import run_to_folder
from sim.runtime.validated_jobs import sweep_folder, sweeper_override

#: Seconds the clean-up after Ctrl-C may take before the command ends regardless.
STUCK_EXIT_S = 30.0

#: The warnings filter (``PYTHONWARNINGS``) that quiets joblib's resource tracker process.
LOKY_TRACKER_FILTER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"

#: Environment variable holding the number of jobs of the sweep being run.
SWEEP_JOBS_ENV = "LIMITLAB_SWEEP_JOBS"

log = logging.getLogger(__name__)

#: The last job started: whether in a sweep, and its sweep folder (run folder if not).
_STARTED: dict[str, Any] = {}
register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> str:
    """Validate the config, run the simulation, write outputs; returns the output folder."""
    if gc.get_freeze_count() == 0:
        # A launcher's worker process (joblib's, Ray's, Submitit's) did not start here: its
        # first job freezes what the imports made, as this command does before Hydra
        # starts, so that the full collection after each run walks only what a run made.
        import sim.model  # noqa: F401 - the model's libraries, frozen with the rest

        gc.freeze()
        if threading.current_thread() is threading.main_thread():
            # Ctrl-C in the worker is noted, so one that a library turned into another
            # error (pandas reading the data) is not reported as that error.
            signal.signal(signal.SIGINT, interrupt_handler)
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    multirun = hc.mode == RunMode.MULTIRUN
    _STARTED.update(multirun=multirun, folder=str(hc.sweep.dir if multirun else out_dir))
    let_held_signals_in()  # held while Hydra composed the config (see __main__)
    raise_if_interrupted()
    # A user error (config, data, memory) is one line and exit code 2; the folder Hydra
    # made for a single run is removed if it holds nothing else. preflight() checked all
    # this before Hydra started, except for the invocations it leaves to Hydra.
    with user_errors(out_dir if hc.mode == RunMode.RUN else None):
        return _run(cfg, hc, out_dir)


def _run(cfg: DictConfig, hc: Any, out_dir: str) -> str:
    run = checked_run_config(cfg)
    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    progress = run.output.progress and hc.mode == RunMode.RUN and interactive
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    run_id = hc.job.override_dirname or "default"
    out, ran = run_to_folder(
        run,
        out_dir,
        resolved=resolved,
        resolved_yaml=OmegaConf.to_yaml(cfg, resolve=True),
        run_id=f"{run.policy['name']}|{run.scenario.name}|seed={run.seed}|{run_id}",
        resume=bool(cfg.get("resume", False)),
        progress=progress,
        # The sweep's runs of one config but their policy share one burn-in.
        burn_in=BurnInStore(Path(hc.sweep.dir) / BURN_IN_FOLDER)
        if hc.mode == RunMode.MULTIRUN and cfg.get("share_burn_in", True)
        else None,
    )
    log.info("%s run: %s", "finished" if ran else "skipped (complete)", out)
    if hc.mode == RunMode.MULTIRUN:
        print(_sweep_line(Path(hc.sweep.dir), run, ran, Path(out)), flush=True)
    else:
        print(f"{'wrote' if ran else 'skipped, already complete:'} {out}")
    return str(out)


def _sweep_line(sweep_dir: Path, run: Any, ran: bool, out: Path) -> str:
    """One line per finished sweep job: runs complete so far / jobs, what ran, where.

    The count is of the complete run folders in the sweep folder whose completion marker
    is no newer than this run's: parallel jobs that finish together still count 1, 2, ...
    in the order they finished (a resumed sweep counts the runs it skipped); the total is
    the number of jobs :func:`sim.runtime.preflight.preflight` expanded (``?`` if
    unknown).
    """
    own = (out / COMPLETE_MARKER).stat().st_mtime_ns
    done = sum(1 for m in sweep_dir.rglob(COMPLETE_MARKER) if m.stat().st_mtime_ns <= own)
    total = os.environ.get(SWEEP_JOBS_ENV, "?")
    what = f"{run.policy['name']} | {run.scenario.name} | seed {run.seed}"
    return f"[{done}/{total}] {what}: {'wrote' if ran else 'skipped, already complete:'} {out}"


def interrupted_line() -> str:
    """One line after Ctrl-C: what is kept and how to go on (instead of the traceback).

    A sweep keeps its finished runs (each folder with ``_COMPLETE.json``): running the same
    command with ``resume=true`` and the same sweep folder skips them and runs the rest.
    The line says so only when a run had finished, else that none had; when every job of
    the sweep (:data:`SWEEP_JOBS_ENV`) had finished, that all are kept.
    """
    folder = _STARTED.get("folder")
    multirun = _STARTED.get("multirun", False)
    if folder is None and sweep_folder() is not None:
        # A launcher running the jobs in other processes: the sweeper's folder.
        folder, multirun = sweep_folder(), True
    if folder is None:
        return NOT_STARTED_LINE
    if multirun:
        finished = sum(1 for _ in Path(folder).rglob(COMPLETE_MARKER))
        if finished and finished >= int(os.environ.get(SWEEP_JOBS_ENV, "0") or 0) > 0:
            return f"interrupted after every run of the sweep had finished: they are in {folder}"
        if finished:
            kept = f"interrupted: the finished runs in {folder} are kept; to run the rest"
        else:
            kept = f"interrupted: no run in {folder} had finished; to run them"
        command = os.environ.get(RESUME_COMMAND_ENV)  # a tool's own command (the demo)
        if command:
            return f"{kept}: {command}"
        folder_override = shlex.quote(f"hydra.sweep.dir={folder}")  # a path with spaces
        return f"{kept}, run the same command with resume=true {folder_override}"
    return (
        f"interrupted: the run in {folder} did not finish (no {COMPLETE_MARKER}); run the "
        "command again to start it over"
    )


def _checked_jobs(argv: list[str]) -> list[RunConfig]:
    """:func:`preflight`'s jobs; a user error exits with its line, Ctrl-C is raised."""
    try:
        return preflight(argv)
    except Exception as err:
        interrupt = interrupt_behind(err)  # Ctrl-C while composing, seen as another error
        if interrupt is not None:
            raise interrupt from None
        if not isinstance(err, UserError):
            raise
        exit_with(err)


if __name__ == "__main__":
    try:
        # The imports are done. Inside the try: a Ctrl-C that came during the last import
        # is handled by the handler set when Python gets to it, which may be this one.
        # The handler notes the interrupt too: one a library swallowed is raised again.
        signal.signal(signal.SIGINT, interrupt_handler)
        # `kill` (SIGTERM, as a scheduler sends at a time limit) stops it as Ctrl-C does:
        # its one line, the same clean-up (a sweep's workers, a half-written file).
        signal.signal(signal.SIGTERM, interrupt_handler)
        # A clean-up after Ctrl-C that hangs (joblib's abort once did) ends the command.
        exit_if_stuck(STUCK_EXIT_S, interrupted_line)
        jobs = _checked_jobs(sys.argv[1:])
        raise_if_interrupted()  # one that preflight's config checks took for a bad config
        if jobs:
            # The sweep's size, for each job's "[done/total]" line (jobs inherit it).
            os.environ[SWEEP_JOBS_ENV] = str(len(jobs))
        # joblib's resource tracker (a process of its own) may warn on stderr, after a
        # Ctrl-C, that a semaphore it tracked was already gone: the interrupt stays one line.
        os.environ["PYTHONWARNINGS"] = ",".join(
            filter(None, (os.environ.get("PYTHONWARNINGS"), LOKY_TRACKER_FILTER))
        )
        # A sweep preflight validated: Hydra's sweeper need not compose its jobs again.
        ours = sweeper_override(sys.argv[1:])
        multirun = any(a in ("-m", "--multirun") for a in sys.argv[1:])
        sys.argv += ours
        if jobs and (ours or not multirun):
            # Hydra composes the config once more before the job (a single run) or the
            # sweeper starts, and a Ctrl-C then can be lost: OmegaConf wraps it in its own
            # error, which Hydra's check of the run mode swallows. Held (blocked) until the
            # job or the sweeper lets it in (let_held_signals_in), it arrives there.
            signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        # The model's libraries (Mesa, the kernels), imported once the command is checked:
        # a refusal comes without them, about 0.7 s sooner.
        import sim.model  # noqa: F401

        # What the imports made (modules, libraries) is never garbage: frozen out of the
        # collector's view, the full collection after each run (sim.runtime.runner) only
        # walks what that run made (0.2 s -> under 1 ms here with the libraries loaded).
        gc.freeze()
        main()
        # Done: a Ctrl-C or kill from here on is ignored. The interpreter's shutdown
        # restores the default action of a handled signal, and the kernels' threads do
        # not hold it: `kill` then exited 143 without a word.
        for signum in HELD_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        print(interrupted_line(), file=sys.stderr, flush=True)
        raise SystemExit(INTERRUPTED_EXIT) from None
