"""Benchmark: wall time, throughput and peak memory of the monthly loop.

    python -m experiments.bench                       # 10k, 100k, 1M borrowers x 120 months
    python -m experiments.bench --sizes 10000 --months 24
    python -m experiments.bench --sizes 100000 --firm-share 0.1   # + 10k firms (the default)
    python -m experiments.bench --sizes 100000 --agents           # also make the Mesa agent views
    python -m experiments.bench --sizes 1000000 --repeat 3        # min / median of 3 runs

Each size runs in a fresh process so that its peak resident memory is its own. Reports
set-up time (population, agents, scorecard), run time, borrower-months per second and
peak RSS; results also go to ``outputs/bench/bench-<timestamp>.csv``. Firms are simulated
too: ``--firm-share`` is the share of borrowers owning a firm (``firms.owner_share``; 0.1
gives 100 k firms per 1 M borrowers). ``--agents`` lists the model's Mesa agents before the
run, so set-up includes making one view per borrower and firm (the monthly loop never
needs them). Measured figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from sim.outputs.files import write_csv_atomic


def _one(n: int, months: int, agents: bool, policy: str, firm_share: float) -> dict[str, float]:
    import resource

    from sim.model import CreditMarketModel
    from sim.runtime.compose import load_run_config

    run = load_run_config(
        [
            f"population.n_borrowers={n}",
            f"n_months={months}",
            # The months benchmarked are all simulated (no burn-in on top), over an open
            # book (arrivals, attrition and firm entry at their defaults).
            "burn_in_months=0",
            f"policy={policy}",
            f"firms.owner_share={firm_share}",
            "output.plots=false",
        ]
    )
    t0 = time.perf_counter()
    model = CreditMarketModel(run)
    if agents:
        len(model.agents)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n_borrowers": n,
        "n_firms": int(model.firms.n),
        "n_months": months,
        "policy": policy,
        "mesa_agents": agents,
        "setup_s": round(t1 - t0, 2),
        "run_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "borrower_months_per_s": round(n * months / (t2 - t1)),
        "peak_rss_gb": round(peak_kib / 1024**2, 3),
        "final_balance_cny": float(model.borrowers.balance_cny.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated borrower counts"
    )
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--policy", default="behaviour_rules")
    parser.add_argument(
        "--firm-share",
        type=float,
        default=0.1,
        help="share of borrowers owning a firm (firms.owner_share)",
    )
    parser.add_argument(
        "--agents", action="store_true", help="make the Mesa agent views before the run"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per size (fresh process each); the summary gives min, median and max total",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated whole numbers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error(f"--sizes needs at least one borrower count, each >= 1, got {args.sizes!r}")
    if args.months < 1:
        parser.error(f"--months must be >= 1, got {args.months}")
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    if args.child:
        print(json.dumps(_one(sizes[0], args.months, args.agents, args.policy, args.firm_share)))
        return 0
    rows = []
    for n in sizes:
        cmd = [
            sys.executable,
            "-m",
            "experiments.bench",
            "--child",
            "--sizes",
            str(n),
            "--months",
            str(args.months),
            "--policy",
            args.policy,
            "--firm-share",
            str(args.firm_share),
        ]
        if args.agents:
            cmd.append("--agents")
        for repeat in range(args.repeat):
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                lines = out.stderr.strip().splitlines() or ["(no message)"]
                # The exception line, not the traceback or a library's detail lines after it.
                errors = [
                    line for line in lines if line.split(":")[0].endswith(("Error", "Exception"))
                ]
                reason = (errors or lines)[-1].strip()
                print(f"bench.py: the run of {n:,d} borrowers failed: {reason}", file=sys.stderr)
                return 1
            row = json.loads(out.stdout.strip().splitlines()[-1]) | {"repeat": repeat}
            rows.append(row)
            print(
                f"{n:>9,d} borrowers + {row['n_firms']:,d} firms x {args.months} months: "
                f"setup {row['setup_s']:6.2f} s, run {row['run_s']:6.2f} s, "
                f"{row['borrower_months_per_s'] / 1e6:5.2f} M borrower-months/s, "
                f"peak {row['peak_rss_gb']:.2f} GB",
                flush=True,
            )
    table = pd.DataFrame(rows)
    if args.repeat > 1:
        # Noise on a shared machine only ever adds time: the minimum is the best estimate
        # of the code's speed, the median of what a user will typically see.
        spread = table.groupby("n_borrowers")["total_s"].agg(["min", "median", "max"])
        print("total seconds over repeats:")
        print(spread.to_string())
    if len(sizes) > 1:
        base = table["borrower_months_per_s"].iloc[0]
        table["throughput_vs_smallest"] = (table["borrower_months_per_s"] / base).round(2)
        print(
            table[["n_borrowers", "total_s", "throughput_vs_smallest", "peak_rss_gb"]].to_string(
                index=False
            )
        )
    path = Path("outputs/bench") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    write_csv_atomic(table, path)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
