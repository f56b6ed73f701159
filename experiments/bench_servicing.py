"""Benchmark of the servicing stage's parts: compiled vs NumPy vs the per-account reference.

    python -m experiments.bench_servicing                     # 1 M rows; reference at 10 k
    python -m experiments.bench_servicing --rows 100000 --reference-rows 100000 --threads 1

Times :func:`sim.lending.accounts.service_accounts` on a book of ``--rows`` platform lines
and :meth:`sim.lending.channels.Channels.service` on ``--rows`` borrowers of whom about a
third hold accounts with three other lenders (random books as in
``tests/test_kernels_servicing.py``): the first call (numba's compile or cache load) and
the best of ``--repeat`` later calls per implementation, wall and CPU time (on a shared
machine the CPU time of one thread is the steadier figure).
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from sim import compiled
from sim.lending.accounts import service_accounts
from tests.test_kernels_servicing import random_channels, random_lines

TERMS = {"lgd": 0.8, "min_payment_rate": 0.1, "min_payment_floor_cny": 50.0, "charge_off_dpd": 180}


def _time(make, run, repeat: int) -> tuple[float, float, float]:
    """(first call, best of ``repeat`` later calls, best CPU time of those) in seconds.

    ``make`` builds fresh input (not timed). CPU time is the process's, all threads.
    """
    times, cpu = [], []
    for _ in range(repeat + 1):
        x = make()
        t0, c0 = time.perf_counter(), time.process_time()
        run(x)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times[0], min(times[1:]), min(cpu[1:])


def bench(n: int, how: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Seconds per call of the platform's and the other lenders' servicing at ``n`` rows."""
    rng = np.random.default_rng(0)
    lines, paid = random_lines(rng, n)
    ch = random_channels(rng, n, 0.01)
    # Keep only a fifth of the borrowers on the other lenders' books (as at 1 M, 10 years).
    kept = np.flatnonzero(ch._mark)[::3]
    ch._mark[:] = False
    ch._mark[kept] = True
    ch._rows = None
    with compiled.using(how):
        return {
            "platform": _time(
                lambda: copy.deepcopy(lines),
                lambda s: service_accounts(s, paid, step=5, **TERMS),
                repeat,
            ),
            "channels": _time(lambda: copy.deepcopy(ch), lambda c: c.service(5), repeat),
        }


def main() -> None:
    """Print seconds per call for every implementation."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--reference-rows", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="numba threads (0: all)")
    a = p.parse_args()
    if a.threads:
        compiled.set_threads(a.threads)
    print(f"numba threads: {compiled.threads()}")
    for how, n in (("compiled", a.rows), ("numpy", a.rows), ("reference", a.reference_rows)):
        repeat = a.repeat if how != "reference" else 1
        for part, (first, best, cpu) in bench(n, how, repeat).items():
            print(
                f"{how:9s} {part:8s} rows={n:>9,d} first={first:8.4f}s best={best:8.4f}s "
                f"cpu={cpu:8.4f}s"
            )


if __name__ == "__main__":
    main()
