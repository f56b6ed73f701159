"""Will a run's results fit on the disk? A lower bound of the bytes it writes, from its sizes.

:func:`check_disk` is called by :func:`sim.runtime.preflight.preflight` before anything is
written: a sweep whose results cannot fit in the free space of its folder's file system
is refused in one line, rather than stopping at the run that fills the disk (hours in, for
a large sweep; a single run's ``.hydra/`` record written by Hydra on a full disk is a
traceback).

The estimate is a lower bound, so that a run that would fit is never refused. The terms
are the smallest of the measured runs' (``du -sb`` of the run folder and its files,
``python -m experiments.run population.n_borrowers=N n_months=M output.plots=false``,
default config, ``behaviour_rules``: N x M = 2 k x 12, 20 k x 36, 100 k x 36, 20 k x 120,
300 k x 12, firm share 0.1 and 0.5; 2.9 MB at 20 k x 36, 14.1 MB at 100 k x 36, 20.5 MB at
300 k x 12; and 20 k x 36 under ``static``, ``pd_threshold`` and ``exposure_cap``: 1.8,
2.8 and 2.1 MB), each file's bytes divided by the size it grows with:

==========================  =========================================  =====  ==========
file                        grows with                                 used   measured
==========================  =========================================  =====  ==========
``borrowers.parquet``       borrower rows at the end                   26     29-34
``events.parquet``          borrower-months of the window              0.05   0.05-1.4
``agent_panel.parquet``     panel borrowers x months of the window     8      8.7-17
``firm_outcomes.parquet``   starting firms (one row per firm)          40     43-73
a shared burn-in's state    borrower rows at the burn-in's end         450    479-590
the other files             fixed (bytes)                              150 k  190-290 k
==========================  =========================================  =====  ==========

The events are the limit changes: ``static`` changes none (0.05 bytes a borrower-month),
``behaviour_rules`` the most (1.2-1.4). Under ``static`` the estimate is 84 % of what a
20 k x 36 run writes, under ``behaviour_rules`` 52 % (41-74 % over the sizes above, and
a 10 k x 120 run with 90 % sole traders). A
sweep with ``share_burn_in`` keeps one burn-in state per seed under
``<sweep dir>/.burn_in`` (67 MB at 100 k borrowers). The record's temporary files
(``TMPDIR``) are not counted: they are on another file system as often as not.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from sim.runtime.errors import UserError

if TYPE_CHECKING:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.config import RunConfig

__all__ = [
    "check_disk",
    "check_output_disk",
    "estimate_burn_in_bytes",
    "estimate_output_bytes",
    "free_bytes",
]

#: Bytes per borrower row at the end (``borrowers.parquet``).
ROW_BYTES = 26
#: Bytes per borrower-month of the window (``events.parquet``, the limit events).
EVENT_BYTES = 0.05
#: Bytes per panel borrower and month of the window (``agent_panel.parquet``).
PANEL_BYTES = 8
#: Bytes per starting firm (``firm_outcomes.parquet``: one row per firm, entrants too).
FIRM_BYTES = 40
#: Bytes of the other tables and files of a run folder.
RUN_FIXED_BYTES = 150_000
#: Bytes per borrower row at the burn-in's end, in a shared burn-in's state file.
BURN_IN_ROW_BYTES = 450


def estimate_output_bytes(run: RunConfig) -> int:
    """A lower bound of the bytes ``run`` writes to its folder (see the module's table)."""
    n0 = run.population.n_borrowers
    months = run.n_months
    rows_end = n0 * (1.0 + run.book.applicants_per_month_share * (run.burn_in_months + months))
    out = run.output
    total = RUN_FIXED_BYTES + EVENT_BYTES * n0 * months * bool(out.events)
    if out.agent_tables:
        panel = min(out.agent_panel_share * n0, out.agent_panel_max)
        firms = run.firms.owner_share * n0
        total += ROW_BYTES * rows_end + PANEL_BYTES * panel * months
        total += FIRM_BYTES * firms
    return int(total)


def estimate_burn_in_bytes(run: RunConfig) -> int:
    """A lower bound of the bytes of ``run``'s shared burn-in state (0 without a burn-in)."""
    if run.burn_in_months <= 0:
        return 0
    n0 = run.population.n_borrowers
    rows = n0 * (1.0 + run.book.applicants_per_month_share * run.burn_in_months)
    return int(BURN_IN_ROW_BYTES * rows)


def free_bytes(folder: str | Path) -> int | None:
    """Free bytes of the file system ``folder`` is (or would be made) on; None if unknown."""
    path = Path(os.path.abspath(folder))
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def check_disk(
    runs: Sequence[RunConfig],
    folder: str | Path,
    *,
    option: str,
    shared_burn_ins: bool = False,
    free: int | None = None,
) -> int:
    """Refuse runs whose results cannot fit in the free space of ``folder``'s file system.

    Args:
        runs: the runs to be written (a sweep's distinct runs; a resumed one's unfinished).
        folder: the output folder (``hydra.run.dir``, or the sweep's ``hydra.sweep.dir``).
        option: the setting that names the folder, for the message.
        shared_burn_ins: a sweep keeping one burn-in state per distinct burn-in.
        free: free bytes (default: :func:`free_bytes` of ``folder``; unknown: no check).

    Returns:
        The bytes needed, as estimated.

    Raises:
        UserError: naming the folder, the bytes needed and free, and what to change.
    """
    tables = sum(estimate_output_bytes(run) for run in runs)
    states = 0
    if shared_burn_ins:
        seen: dict[str, int] = {}
        for run in runs:
            key = repr({k: v for k, v in dataclasses.asdict(run).items() if k != "policy"})
            seen.setdefault(key, estimate_burn_in_bytes(run))
        states = sum(seen.values())
    needed = tables + states
    free = free_bytes(folder) if free is None else free
    if free is None or needed <= free:
        return needed
    what = f"{_gb(tables)} of tables" + (
        f" and {_gb(states)} of shared burn-in states" if states else ""
    )
    raise UserError(
        f"disk: the run{'s' if len(runs) > 1 else ''} would write at least "
        f"{what} to {folder}, "
        f"but its file system has {_gb(free)} free: free some space, choose another folder "
        f"({option}=...), or write less (output.events=false, output.agent_tables=false"
        + (", share_burn_in=false" if states else "")
        + ")"
    )


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.2f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


def check_output_disk(
    runs: Sequence[RunConfig],
    base: DictConfig,
    parser: OverridesParser,
    jobs: list[list[str]],
    *,
    multirun: bool,
    job_config: Callable[[list[str]], DictConfig] | None = None,
) -> None:
    """:func:`check_disk` for the command line's runs, in the folder ``base`` names.

    A resumed sweep counts only its unfinished jobs (a finished one's folder holds a
    completion marker, :func:`sim.runtime.run_folders.finished_job_folder`) and no burn-in
    states if it holds some already; a resumed single run already finished writes
    nothing. A folder named by a job's own values (``${hydra...}``) is not checked.

    Args:
        runs: the distinct runs' configs.
        base: the command line's config with its ``hydra`` node (a sweep's fixed overrides).
        parser: Hydra's override parser.
        jobs: the jobs' override lines (one for a single run).
        multirun: a sweep (``-m``).
        job_config: a job's composed config (for a run folder named by keys the jobs set:
            :func:`sim.runtime.run_folders.finished_job_folder`).

    Raises:
        UserError: see :func:`check_disk`.
    """
    from sim.outputs.files import COMPLETE_MARKER
    from sim.runtime.burn_in import BURN_IN_FOLDER
    from sim.runtime.run_folders import finished_job_folder

    setting = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        folder = Path(str(OmegaConf.select(base, setting, throw_on_resolution_failure=True)))
    except Exception:  # noqa: BLE001 - resolved by the job; the folder check names the rest
        return
    if not runs or base is None:
        return
    resume = bool(base.get("resume", False))
    # The distinct jobs in order are the runs (preflight keeps one run per distinct job).
    run_of = dict(zip(dict.fromkeys(tuple(job) for job in jobs), runs, strict=True))
    if resume and multirun:
        left = {
            tuple(job): run_of[tuple(job)]
            for i, job in enumerate(jobs)
            if finished_job_folder(base, parser, job, i, job_config) is None
        }
        runs = list(left.values())
    elif resume and (folder / COMPLETE_MARKER).is_file():
        return
    if not runs:
        return
    shared = multirun and bool(base.get("share_burn_in", True))
    if resume and (folder / BURN_IN_FOLDER).is_dir():
        shared = False
    check_disk(runs, folder, option=setting, shared_burn_ins=shared)
