"""The demo: every registered policy x the baseline scenario x 5 seeds, then the comparison.

    python -m experiments.demo                 # what `make demo` runs
    python -m experiments.demo --seeds 10 --borrowers 50000 --months 60

Runs the Hydra entry point as a multirun (joblib launcher: local parallel jobs) on the
shipped default config and the bundled UCI data, then ``experiments.compare`` on the
sweep folder, and prints where the outputs and the report are.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from experiments import compare
from sim.platform.policies import policy_names


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
    print("running:", " ".join(cmd), flush=True)
    t0 = time.time()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        print(f"the sweep failed (exit {done.returncode}); finished runs are kept in {sweep_dir}")
        return done.returncode
    print(f"sweep finished in {time.time() - t0:.0f} s: {sweep_dir}", flush=True)
    return compare.main([str(sweep_dir), "--baseline", "static", "--formats", "png,svg"])


if __name__ == "__main__":
    raise SystemExit(main())
