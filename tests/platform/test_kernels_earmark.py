"""The earmark update: compiled pass, per-account reference and NumPy agree to the bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import BorrowerState
from sim.compiled import set_threads, using
from sim.platform.earmark_kernel import earmark_within_headroom


def random_case(seed: int, n: int, bad: str):
    rng = np.random.default_rng(seed)
    limit = np.round(rng.uniform(0.0, 5e3, n), 2) * (rng.random(n) < 0.9)
    s = BorrowerState.blank(
        n,
        limit_cny=limit,
        balance_cny=np.round(np.where(rng.random(n) < 0.3, limit, rng.uniform(-1.0, 6e3, n)), 2),
        defaulted=rng.random(n) < 0.1,
        closed=rng.random(n) < 0.1,
        closing=rng.random(n) < 0.1,
    )
    earmark = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.0, 4e3, n))
    if n and bad != "none":
        earmark[rng.integers(n)] = {"nan": np.nan, "inf": np.inf, "neg": -0.01}[bad]
    return s, earmark


def all_ways(s, earmark):
    out = {}
    for how in ("numpy", "compiled", "reference"):
        with using(how):
            out[how] = earmark_within_headroom(s, earmark)
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 70),
    bad=st.sampled_from(["none", "none", "nan", "inf", "neg"]),
)
def test_compiled_and_reference_equal_numpy(seed, n, bad) -> None:
    s, earmark = random_case(seed, n, bad)
    out = all_ways(s, earmark)
    if out["numpy"] is None:
        assert out["compiled"] is None and out["reference"] is None
        return
    for how in ("compiled", "reference"):
        np.testing.assert_array_equal(out[how], out["numpy"], err_msg=how)
        assert not np.signbit(out[how]).any()


def test_one_and_two_threads_identical() -> None:
    s, earmark = random_case(5, 20_000, "none")
    set_threads(1)
    try:
        one = earmark_within_headroom(s, earmark)
    finally:
        set_threads(2)
    np.testing.assert_array_equal(earmark_within_headroom(s, earmark), one)


def test_by_hand() -> None:
    s = BorrowerState.blank(
        4,
        limit_cny=[1000.0, 1000.0, 1000.0, 1000.0],
        balance_cny=[400.0, 1200.0, 0.0, 0.0],
        closing=[False, False, True, False],
    )
    earmark = np.array([800.0, 50.0, 100.0, 123.456])
    for how in ("numpy", "compiled", "reference"):
        with using(how):
            got = earmark_within_headroom(s, earmark)
        # headroom 600, none (over the limit), none (closing), 1000: kept and rounded
        assert got.tolist() == [600.0, 0.0, 0.0, 123.46], how
        with using(how):
            assert earmark_within_headroom(s, np.array([1.0, -0.5, 0.0, 0.0])) is None
