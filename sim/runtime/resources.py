"""Will a run fit in memory, and how long will it take? Estimates from its sizes alone.

Memory (:func:`estimate_peak_bytes`, :func:`check_memory`) and wall time
(:func:`estimate_run_seconds`, :func:`estimate_sweep_seconds`, and the one-time compilation
of the numba kernels, :func:`estimate_compile_seconds`) are estimated before anything is
allocated.

A run's peak resident memory grows with its borrowers, its firms and its borrower-months.
The record's limit events and panel are spilled to a temporary file a 32 MiB block at a
time and the events table is written a row group at a time, so a borrower-month now costs
little (3 bytes, against 18 when the events were held in memory). The figures are a
least-squares fit of the peak RSS of 9 runs (``/usr/bin/time -f %M python -m
experiments.run population.n_borrowers=N n_months=M firms.owner_share=S``, default config:
24 burn-in months, ``behaviour_rules``, among the policies with the most limit events,
about 0.1-0.15 per borrower-month; plots on; compiled kernels, warm numba cache) at N = 2 k,
10 k, 100 k, 300 k and 1 M borrowers, M = 12 and 120 months, S = 0.1 and 0.5, on Python
3.11 / NumPy 2 / numba 0.68 (x86-64 Linux), rounded up; the fixed part is that of a first
run with an empty numba cache (0.72 GB measured at 2 k x 12: compiling the kernels holds
about 0.3 GB more than loading them from the cache):

==========================  ============  =========
term                        fit           used here
==========================  ============  =========
fixed (interpreter, libs)   530 MB        750 MB
per borrower                840 bytes     850 bytes
per firm                    1,088 bytes   1100 bytes
per borrower-month          1.1 bytes     3 bytes
==========================  ============  =========

The peaks are not linear in borrower-months (300 k x 120 is 0.29 GB above the fit, 1 M x
120 0.10 GB below it), so the borrower-month term is rounded up to cover 300 k x 120. The
estimate is above every warm measurement, by 6-32 % from 0.8 GB up and by up to 83 % for
the smallest runs, whose peak is mostly the fixed part. A first run of a larger book with
an empty cache holds the compilation's 0.23-0.3 GB on top of its warm peak too: the
estimate is 19 % above such a 1 M x 120 run (2.92 GB) but 8 % below a 300 k x 120 one
(1.71 GB).
``docs/performance.md`` ("Memory estimate") lists the measurements.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config import RunConfig

#: Bytes of a run besides its agents: the interpreter, NumPy, pandas, Mesa, numba and its
#: compiled kernels (compiling them on a first run), the UCI table.
FIXED_BYTES = 750 * 10**6
#: Bytes of a launcher's worker process waiting for a job: joblib (loky) starts all
#: ``n_jobs`` workers at once, even when the sweep has fewer jobs (measured: 40-41 MB
#: resident each, Python 3.11, before its first job).
IDLE_WORKER_BYTES = 45 * 10**6
#: Bytes per borrower: state arrays, the other lenders' books, the month's record and
#: work arrays, the per-borrower tables at the end.
BORROWER_BYTES = 850
#: Bytes per firm: firm state, the supply network, the firms' month.
FIRM_BYTES = 1100
#: Bytes per borrower and month: the tables made at the end, the month's batch of limit
#: events (the record keeps one 32 MiB block per store in memory, the rest on disk).
BORROWER_MONTH_BYTES = 3

#: Seconds of a run besides its months: set-up, the output tables and their files.
RUN_FIXED_SECONDS = 0.3
#: Seconds per borrower-month of the monthly loop, burn-in months included (firms at the
#: default share).
BORROWER_MONTH_SECONDS = 0.9e-6
#: Seconds a sweep job adds to its run: Hydra composing the job in the worker, launching
#: and logging it (0.75 while Hydra's sweeper also composed every job first, serially,
#: 0.15 s each: ``hydra/sweeper=limitlab`` skips the jobs preflight composed).
JOB_OVERHEAD_SECONDS = 0.45
#: Seconds a sweep takes before its first job: imports, the command line's check of every
#: job, the workers' start.
SWEEP_START_SECONDS = 6.0

#: Seconds the numba kernels take to compile on their first call when none is cached: a
#: 500-borrower x 3-month run with ``NUMBA_CACHE_DIR`` set to a new folder took 74.8 s
#: (74.3 s of CPU) against 2.8 s with the cache warm, with 19 kernel modules, on the 2-core
#: machine at load average 1.4 (43.9 s against 3.2 s with 11 modules, earlier). Compiled
#: once, then loaded from the cache (``__pycache__``) by later processes.
KERNEL_COMPILE_SECONDS = 72.0

MEMINFO = Path("/proc/meminfo")
SIM_ROOT = Path(__file__).resolve().parents[1]


class InsufficientMemoryError(MemoryError):
    """A run's estimated peak memory exceeds the memory available on this machine."""


def estimate_peak_bytes(run: RunConfig) -> int:
    """Estimated peak resident memory of ``run``, in bytes (see the module's figures).

    The book grows: the borrower and firm counts are those expected at the end of the
    burn-in and the window (the starting counts plus the expected arrivals and entries).
    """
    n, firms, months = end_sizes(run)
    return FIXED_BYTES + BORROWER_BYTES * n + FIRM_BYTES * firms + BORROWER_MONTH_BYTES * n * months


def end_sizes(run: RunConfig) -> tuple[int, int, int]:
    """Borrowers, firms and months of ``run`` as :func:`estimate_peak_bytes` counts them.

    Months are the burn-in's plus the window's; borrowers and firms are the starting counts
    (firms: ``firms.owner_share`` x borrowers) plus the book's expected arrivals and
    entries over those months.
    """
    months = run.burn_in_months + run.n_months
    n0 = run.population.n_borrowers
    firms0 = int(round(run.firms.owner_share * n0))
    n = int(n0 * (1.0 + run.book.applicants_per_month_share * months))
    firms = int(firms0 * (1.0 + run.book.firm_entry_per_month_share * months))
    return n, firms, months


def available_memory_bytes(meminfo: Path = MEMINFO) -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or None where there is none."""
    try:
        text = meminfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) > 1 and parts[1].isdigit() else None
    return None


def check_memory(run: RunConfig, available: int | None = None) -> int:
    """Refuse a run whose estimated peak memory exceeds the available memory.

    Args:
        run: validated run config.
        available: bytes available; ``MemAvailable`` from ``/proc/meminfo`` if None (no
            check where the system does not report it).

    Returns:
        The estimate, in bytes.

    Raises:
        InsufficientMemoryError: the estimate exceeds ``available`` (the message names the
            sizes, the estimate and the available memory).
    """
    need = estimate_peak_bytes(run)
    if available is None:
        available = available_memory_bytes()
    if available is not None and need > available:
        n = run.population.n_borrowers
        firms = int(round(run.firms.owner_share * n))
        raise InsufficientMemoryError(
            f"population.n_borrowers={n} ({firms} firms) over burn_in_months="
            f"{run.burn_in_months} + n_months={run.n_months} needs about {_gb(need)} at "
            f"peak, but this machine has {_gb(available)} "
            "available (MemAvailable in /proc/meminfo); lower population.n_borrowers, "
            f"burn_in_months or n_months (estimate: {FIXED_BYTES // 10**6} MB + "
            f"{BORROWER_BYTES} bytes per borrower + {FIRM_BYTES} per firm + "
            f"{BORROWER_MONTH_BYTES} per borrower-month, counting the book's expected "
            "growth over burn-in + window; docs/performance.md)"
        )
    return need


def check_sweep_memory(runs: list[RunConfig], at_once: int, available: int | None = None) -> int:
    """Refuse a sweep whose jobs that run at the same time cannot fit in memory together.

    Each job alone is checked by :func:`check_memory`; a launcher that runs ``at_once``
    jobs side by side on this machine (joblib's ``n_jobs``) needs, in the worst case, the
    ``at_once`` largest estimates at the same time. joblib starts all ``at_once`` worker
    processes at once, so workers beyond the sweep's jobs count too, idle
    (:data:`IDLE_WORKER_BYTES` each).

    Args:
        runs: the sweep's validated run configs.
        at_once: jobs the launcher runs at the same time on this machine (>= 1), which is
            also the worker processes it starts.
        available: bytes available; ``MemAvailable`` from ``/proc/meminfo`` if None (no
            check where the system does not report it).

    Returns:
        The estimate of the ``at_once`` largest jobs and the idle workers together, in
        bytes.

    Raises:
        InsufficientMemoryError: that estimate exceeds ``available`` while more than one
            worker runs.
    """
    needs = sorted((estimate_peak_bytes(run) for run in runs), reverse=True)
    workers = max(1, int(at_once))
    k = min(workers, len(needs))
    idle = workers - k
    need = sum(needs[:k]) + idle * IDLE_WORKER_BYTES
    if available is None:
        available = available_memory_bytes()
    if workers > 1 and available is not None and need > available:
        if idle:
            raise InsufficientMemoryError(
                f"hydra.launcher.n_jobs starts {workers} worker processes at once, for the "
                f"sweep's {len(needs)} job(s): the jobs and {idle} idle workers need about "
                f"{_gb(need)} together, but this machine has {_gb(available)} available "
                f"(MemAvailable in /proc/meminfo); lower hydra.launcher.n_jobs (no more "
                f"than {len(needs)} are used)"
            )
        raise InsufficientMemoryError(
            f"hydra.launcher.n_jobs runs {k} of the sweep's {len(needs)} jobs at once: the "
            f"{k} largest need about {_gb(need)} at peak together, but this machine has "
            f"{_gb(available)} available (MemAvailable in /proc/meminfo); lower "
            "hydra.launcher.n_jobs or the jobs' sizes (each job's estimate: "
            'docs/performance.md, "Memory estimate")'
        )
    return need


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB"


def estimate_run_seconds(run: RunConfig) -> float:
    """Estimated wall time of one run (set-up, months, tables and files), in seconds.

    ``RUN_FIXED_SECONDS + BORROWER_MONTH_SECONDS x n_borrowers x (burn_in_months +
    n_months)``: a fit of ``python -m experiments.run`` at 5 k and 20 k borrowers x 12 and
    36 months after a 24-month burn-in (2.8-3.7 s each, of which 2.4 s is the command's
    start, measured by a 500-borrower x 1-month run) on the 2-core machine of
    ``docs/performance.md`` at load average 0.5-0.8; a busy machine is slower. A rough
    guide for telling a user what to expect, not a benchmark.

    Args:
        run: validated run config.

    Returns:
        Seconds (float, > 0).
    """
    borrower_months = run.population.n_borrowers * (run.burn_in_months + run.n_months)
    return RUN_FIXED_SECONDS + BORROWER_MONTH_SECONDS * borrower_months


def estimate_sweep_seconds(
    runs: Sequence[RunConfig],
    n_jobs: int = 1,
    burn_ins: int | None = None,
    cores: int | None = None,
) -> float:
    """Estimated wall time of a sweep of ``runs`` on ``n_jobs`` parallel workers, seconds.

    The sweep's start (:data:`SWEEP_START_SECONDS`) plus each run's
    :func:`estimate_run_seconds` and :data:`JOB_OVERHEAD_SECONDS`, shared evenly among
    ``min(n_jobs, len(runs), cores)`` workers (a sweep's runs are of similar sizes; workers
    beyond the cores share them). The start
    and the job overhead are a fit of two sweeps of 500-borrower x 1-month runs on 2 jobs
    (9 jobs: 9.4 s, 45 jobs: 23.1 s). For the demo (45 runs of 20 k borrowers x 24 + 36
    months on 2 jobs, 5 shared burn-ins) it gives 39 s; the sweep took 39-42 s at load
    average 1.3-1.9 on the 2-core machine (47 s without the sharing; measured 53 s when
    every run simulated its burn-in).

    With ``burn_ins`` (the sweep's distinct burn-ins, :mod:`sim.runtime.burn_in`: e.g. its
    seeds, for a sweep over policies and seeds), only that many runs simulate their
    burn-in; the others' burn-in months cost nothing.

    Args:
        runs: validated run configs of the sweep's jobs.
        n_jobs: parallel workers, >= 1.
        burn_ins: distinct burn-ins among ``runs`` when they are shared; None: each run
            simulates its own.
        cores: the cores the workers share; None: those this process may run on.

    Returns:
        Seconds (float); 0 for no run.

    Raises:
        ValueError: if ``n_jobs`` < 1.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    if not runs:
        return 0.0
    work = sum(estimate_run_seconds(r) + JOB_OVERHEAD_SECONDS for r in runs)
    if burn_ins is not None:
        # The runs after the first of each burn-in continue from its saved state.
        reused = runs[min(max(burn_ins, 1), len(runs)) :]
        work -= sum(
            BORROWER_MONTH_SECONDS * r.population.n_borrowers * r.burn_in_months for r in reused
        )
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cores = cores or os.cpu_count() or 1
    return SWEEP_START_SECONDS + work / min(n_jobs, len(runs), max(cores, 1))


def kernel_sources(sim_root: Path = SIM_ROOT) -> list[Path]:
    """The modules holding the stages' numba kernels: each ``sim/**/*_kernel.py`` with one.

    A kernel is a function under ``@kernel(...)`` (:func:`sim.compiled.kernel`) or
    ``@numba.njit(cache=True...)``; a ``*_kernel.py`` of plain Python that calls other
    modules' kernels has no cache of its own (it would count as cold forever), and
    ``sim/compiled.py``'s helpers are inlined into the kernels, not compiled on their own.
    """
    decorated = re.compile(r"^@(kernel\(|numba\.njit\(cache=True)", re.MULTILINE)
    return sorted(p for p in sim_root.rglob("*_kernel.py") if decorated.search(p.read_text()))


def cold_kernel_sources(
    sim_root: Path = SIM_ROOT, cache_dir: str | Path | None = None
) -> list[Path]:
    """The kernel modules with no numba cache of their current source.

    A module is cold when no numba index file (``<module>.<function>-<line>.py<ver>.nbi``)
    of it exists, or every one is older than the source (numba recompiles an edited
    module). The index files are looked for in the module's ``__pycache__``, or under
    ``cache_dir`` (default: ``NUMBA_CACHE_DIR`` if set, where numba then keeps them).

    Args:
        sim_root: the ``sim`` package folder.
        cache_dir: numba's cache folder, if not the modules' ``__pycache__``.

    Returns:
        The cold modules' paths (empty when every kernel is cached).
    """
    cache_dir = cache_dir or os.environ.get("NUMBA_CACHE_DIR") or None
    cold = []
    for source in kernel_sources(sim_root):
        pattern = f"{source.stem}.*.nbi"
        if cache_dir:
            index = list(Path(cache_dir).rglob(pattern))
        else:
            index = list((source.parent / "__pycache__").glob(pattern))
        mtime = source.stat().st_mtime
        if not any(p.stat().st_mtime >= mtime for p in index):
            cold.append(source)
    return cold


def estimate_compile_seconds(sim_root: Path = SIM_ROOT) -> float:
    """Seconds the next run will spend compiling numba kernels, from the cache's state.

    :data:`KERNEL_COMPILE_SECONDS` x the share of kernel modules without a cache
    (:func:`cold_kernel_sources`): the whole of it on a fresh clone, 0 once cached. A
    sweep's workers compile at the same time, so a sweep pays it once in wall time.
    """
    sources = kernel_sources(sim_root)
    if not sources:
        return 0.0
    return KERNEL_COMPILE_SECONDS * len(cold_kernel_sources(sim_root)) / len(sources)
