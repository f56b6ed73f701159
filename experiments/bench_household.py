"""Benchmark of the household stage alone: compiled kernel, NumPy blocks, per-borrower reference.

    python -m experiments.bench_household                    # 1 M rows; reference at 10 k
    python -m experiments.bench_household --rows 100000 --reference-rows 100000
    NUMBA_CACHE_DIR=$(mktemp -d) python -m experiments.bench_household --compile

Each implementation runs :func:`sim.world.households.household_month` on copies of the
same random book (mixed types, a fifth behind, other lenders' dues) with the same draws;
the time of a month is the minimum over ``--months`` months after a first (compiling)
call. ``--compile`` times only the first call of the compiled stage on a 1,000-row book
(run it with an empty ``NUMBA_CACHE_DIR`` for a cold compile, again for a warm cache).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sim import BorrowerState
from sim.compiled import set_threads, using
from sim.config import BehaviourConfig
from sim.world.draws import draw_world
from sim.world.households import household_month
from sim.world.scenarios import MacroState

MACRO = MacroState(1, 3, "baseline", 1.0, 1.0, 1.0, 1.0)
CONFIG = BehaviourConfig(current_miss_prob=0.05, arrears_seasoned_log_odds=-1.266)


def book(n: int, seed: int = 0) -> BorrowerState:
    """A random book of ``n`` borrowers (all types, a fifth behind)."""
    rng = np.random.default_rng(seed)
    limit = np.round(rng.uniform(0, 20_000, n), 2)
    return BorrowerState.blank(
        n,
        behaviour_type=rng.integers(0, 5, n),
        employed=rng.random(n) < 0.95,
        savvy=rng.random(n) < 0.2,
        full_payer=rng.random(n) < 0.4,
        income_base_cny=np.round(rng.lognormal(9.0, 0.5, n), 2),
        savings_cny=np.round(rng.lognormal(9.5, 1.0, n), 2),
        savings_target_cny=np.round(rng.lognormal(9.5, 1.0, n), 2),
        limit_cny=limit,
        initial_limit_cny=limit,
        balance_cny=np.round(limit * rng.random(n), 2),
        statement_cny=np.round(limit * rng.random(n), 2),
        min_due_cny=np.round(rng.uniform(0, 800, n), 2),
        arrears_cny=np.round(rng.uniform(0, 300, n), 2) * (rng.random(n) < 0.2),
        missed=(rng.random(n) < 0.2) * rng.integers(1, 3, n),
        target_utilisation=rng.random(n),
        delinquent_recent=rng.random((6, n)) < 0.1,
    )


def time_months(impl: str, n: int, months: int) -> float:
    """Minimum seconds of one household month of ``n`` rows under ``impl``."""
    state = book(n)
    rng = np.random.default_rng(1)
    due = np.round(rng.uniform(0, 500, n), 2) * (rng.random(n) < 0.3)
    debt = np.round(rng.uniform(0, 5_000, n), 2)
    times = []
    with using(impl):
        for step in range(1, months + 2):
            draws = draw_world(rng, n, CONFIG, habit_rng=rng)
            t0 = time.perf_counter()
            household_month(
                state, draws, MACRO, CONFIG, step, other_due_cny=due, other_debt_cny=debt
            )
            times.append(time.perf_counter() - t0)
    return min(times[1:])


def main() -> None:
    """Print the figures (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reference-rows", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="time the first compiled call only")
    args = ap.parse_args()
    if args.compile:
        state, draws = book(1_000), draw_world(np.random.default_rng(1), 1_000, CONFIG)
        t0 = time.perf_counter()
        household_month(state, draws, MACRO, CONFIG, 1)
        print(f"first compiled call (1,000 rows): {time.perf_counter() - t0:.2f} s")
        return
    for impl, n in (("compiled", args.rows), ("numpy", args.rows)):
        print(f"{impl:9s} {n:>9,d} rows: {time_months(impl, n, args.months) * 1e3:8.1f} ms/month")
    set_threads(1)
    t = time_months("compiled", args.rows, args.months)
    print(f"compiled  {args.rows:>9,d} rows, 1 thread: {t * 1e3:8.1f} ms/month")
    n = args.reference_rows
    t = time_months("reference", n, 1)
    print(f"reference {n:>9,d} rows: {t * 1e3:8.1f} ms/month")


if __name__ == "__main__":
    main()
