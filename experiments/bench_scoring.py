"""Time the re-scoring and the behaviour_rules review: compiled, NumPy and reference.

    python -m experiments.bench_scoring --n 1000000 --reference-n 10000

Builds a book of ``--n`` borrowers (2 simulated months), then times ``Platform.rescore``
and ``BehaviourRulesPolicy.review`` on it under each implementation (best of
``--repeat``; the reference on the first ``--reference-n`` rows only), with 1 and 2
threads for the compiled kernels. The first compiled call of the process (load from the
numba cache, or compile when the cache is cold) is reported separately.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from sim.compiled import set_threads, using
from sim.model import CreditMarketModel
from sim.platform.policies.behaviour_rules import BehaviourRulesPolicy
from sim.runtime.compose import load_run_config


def _best(work, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        work()
        out.append(time.perf_counter() - t)
    return min(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--reference-n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    run = load_run_config(
        [f"population.n_borrowers={args.n}", "n_months=2", "burn_in_months=0",
         "policy=behaviour_rules", "output.plots=false"]
    )  # fmt: skip
    with using("numpy"):
        model = CreditMarketModel(run).run()
    world = model.world
    platform, s = world.platform, world.borrowers
    view = platform.portfolio_view(world, model.month)
    policy: BehaviourRulesPolicy = platform.policy
    rng = np.random.default_rng(0)

    def rescore(how: str, book=s):
        with using(how):
            copy.copy(platform).rescore(copy.copy(book))

    def review(how: str, v=view):
        p = copy.deepcopy(policy)  # the memory's first rows serve a smaller view
        with using(how):
            p.review(v, rng)

    t = time.perf_counter()
    rescore("compiled")
    print(f"first compiled rescore (cache load or compile): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    review("compiled")
    print(f"first compiled review (cache load or compile): {time.perf_counter() - t:.2f} s")
    for th in (1, 2):
        set_threads(th)
        r = _best(lambda: rescore("compiled"), args.repeat) * 1e3
        v = _best(lambda: review("compiled"), args.repeat) * 1e3
        print(f"compiled {th} thread(s): rescore {r:8.1f} ms, review {v:8.1f} ms (with a copy)")
    print(f"rescore numpy: {_best(lambda: rescore('numpy'), args.repeat) * 1e3:8.1f} ms")
    print(f"review  numpy: {_best(lambda: review('numpy'), args.repeat) * 1e3:8.1f} ms")
    m = args.reference_n
    small = copy.copy(s)
    for name in s.__dataclass_fields__:
        setattr(small, name, getattr(s, name)[..., :m])
    sub = view.subset(np.arange(view.n_borrowers) < m)
    for how in ("reference", "numpy", "compiled"):
        r = _best(lambda how=how: rescore(how, small), 2) * 1e3
        v = _best(lambda how=how: review(how, sub), 2) * 1e3
        print(f"{m:,d} rows {how:9s}: rescore {r:8.1f} ms, review {v:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
