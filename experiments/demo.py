"""The demo: every registered policy x the baseline scenario x 5 seeds, then the comparison.

    python -m experiments.demo                 # what `make demo` runs
    python -m experiments.demo --seeds 10 --borrowers 50000 --months 60

Prints its expected duration (estimated from the sizes:
:func:`sim.runtime.resources.estimate_sweep_seconds` and :func:`estimate_compare_seconds`),
runs the Hydra entry point as a multirun (joblib launcher: local parallel jobs) on the
shipped default config and the bundled UCI data, printing one line per finished run
(``[done/total] ...``), then ``experiments.compare`` on the sweep folder (which says what
it is doing), and prints where the outputs and the report are.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from experiments import compare
from sim.platform.policies import policy_names
from sim.runtime.compose import load_run_config
from sim.runtime.resources import estimate_sweep_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds per policy (common random numbers)"
    )
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs (joblib launcher)")
    parser.add_argument(
        "--policies", default=",".join(policy_names()), help="comma-separated policy names"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="sweep folder (default: a new one under multirun/demo)",
    )
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    sweep_dir = args.out or Path("multirun") / "demo" / f"{stamp}-{time.time_ns() % 10**6:06d}"
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        f"policy={args.policies}",
        f"seed=range(0,{args.seeds})",
        f"population.n_borrowers={args.borrowers}",
        f"n_months={args.months}",
        "output.plots=false",
        "experiment_name=demo",
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={args.jobs}",
        f"hydra.sweep.dir={sweep_dir}",
        "resume=true",
    ]
    policies = [p for p in args.policies.split(",") if p]
    n_runs = len(policies) * args.seeds
    run = load_run_config([f"population.n_borrowers={args.borrowers}", f"n_months={args.months}"])
    sweep_s = estimate_sweep_seconds([run] * n_runs, args.jobs)
    compare_s = estimate_compare_seconds(n_runs, len(policies))
    print(
        f"demo: {n_runs} runs ({len(policies)} policies x {args.seeds} seeds, "
        f"{args.borrowers:,} borrowers x {args.months} months) on {args.jobs} parallel "
        f"job(s), then the comparison; expected duration about "
        f"{_minutes(sweep_s + compare_s)} ({_minutes(sweep_s)} of runs + "
        f"{_minutes(compare_s)} of comparison; more on a busy machine)",
        flush=True,
    )
    busy = _busy_note()
    if busy:
        print(busy, flush=True)
    print("running:", " ".join(cmd), flush=True)
    t0 = time.time()
    # Each job prints one "[done/total] ..." line when it finishes (experiments.run);
    # Hydra's own launch log is left out.
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1) as sweep:
        assert sweep.stdout is not None
        for line in sweep.stdout:
            if _JOB_LINE.match(line):
                print(f"{line.rstrip()} ({time.time() - t0:.0f} s)", flush=True)
    if sweep.returncode != 0:
        print(f"the sweep failed (exit {sweep.returncode}); finished runs are kept in {sweep_dir}")
        return sweep.returncode
    print(f"sweep finished in {time.time() - t0:.0f} s: {sweep_dir}", flush=True)
    return compare.main([str(sweep_dir), "--baseline", "static", "--formats", "png,svg"])


#: Seconds of ``experiments.compare`` besides its runs (imports, figures of one policy).
COMPARE_FIXED_SECONDS = 8.0
#: Seconds per run collected (reading its tables) and per policy (its figure panels).
COMPARE_RUN_SECONDS = 0.4
COMPARE_POLICY_SECONDS = 3.0


def estimate_compare_seconds(n_runs: int, n_policies: int) -> float:
    """Rough wall time of ``experiments.compare`` on a sweep, seconds.

    ``COMPARE_FIXED_SECONDS + COMPARE_RUN_SECONDS x runs + COMPARE_POLICY_SECONDS x
    policies``, from the demo (45 runs of 9 policies: about 50 s on the shared 2-core
    machine of ``docs/performance.md``).
    """
    return (
        COMPARE_FIXED_SECONDS + COMPARE_RUN_SECONDS * n_runs + COMPARE_POLICY_SECONDS * n_policies
    )


_JOB_LINE = re.compile(r"^\[\d+/(\d+|\?)\] ")


def _busy_note() -> str:
    """A warning when other processes already keep every core busy, else ""."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return ""
    if load <= cores:
        return ""
    return (
        f"demo: this machine is busy (load average {load:.1f} on {cores} cores): "
        f"expect it to take up to {load / cores:.0f}x as long"
    )


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    raise SystemExit(main())
