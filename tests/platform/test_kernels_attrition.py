"""Attrition closures: compiled pass, per-account reference and NumPy give the same state."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import BorrowerState, Month
from sim.compiled import set_threads, using
from sim.config.book import BookConfig
from sim.platform.policies.reasons import ReasonCode
from sim.platform.underwriting import close_for_attrition

FIELDS = ("limit_cny", "closing", "closed", "closed_step", "closure_reason", "min_due_cny")


def random_book(seed: int, n: int) -> BorrowerState:
    rng = np.random.default_rng(seed)
    return BorrowerState.blank(
        n,
        defaulted=rng.random(n) < 0.1,
        closed=rng.random(n) < 0.1,
        closing=rng.random(n) < 0.2,
        missed=rng.integers(0, 3, n) * (rng.random(n) < 0.3),
        limit_cny=np.where(rng.random(n) < 0.2, 0.0, np.round(rng.uniform(0, 9e3, n), 2)),
        balance_cny=np.where(rng.random(n) < 0.5, 0.0, rng.uniform(-5.0, 5e3, n)),
        min_due_cny=rng.uniform(0, 300, n),
        months_since_draw=rng.integers(0, 30, n),
    )


def closed_with(how: str, s: BorrowerState, book: BookConfig, seed: int):
    s = copy.deepcopy(s)
    world = SimpleNamespace(
        borrowers=s,
        config=SimpleNamespace(book=book),
        rngs={"arrivals": np.random.default_rng(seed)},
    )
    month = Month(step=5)
    with using(how):
        counts = close_for_attrition(world, month)
    parts = ("rows", "old_limit_cny", "new_limit_cny", "reason")
    events = [tuple(getattr(e, p).tolist() for p in parts) for e in month.limit_events]
    return counts, events, s


def assert_same(a, b) -> None:
    assert a[0] == b[0]
    assert a[1] == b[1]
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a[2], name), getattr(b[2], name), err_msg=name)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 80),
    p_voluntary=st.sampled_from([0.0, 0.3, 1.0]),
    months=st.sampled_from([0, 1, 12]),
    p_inactivity=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_compiled_and_reference_equal_numpy(seed, n, p_voluntary, months, p_inactivity) -> None:
    book = BookConfig(
        voluntary_close_prob_monthly=p_voluntary,
        inactivity_close_months=months,
        inactivity_close_prob_monthly=p_inactivity,
    )
    s = random_book(seed, n)
    want = closed_with("numpy", s, book, seed)
    for how in ("compiled", "reference"):
        assert_same(closed_with(how, s, book, seed), want)


def test_one_and_two_threads_identical() -> None:
    s, book = random_book(3, 5000), BookConfig(voluntary_close_prob_monthly=0.2)
    set_threads(1)
    try:
        one = closed_with("compiled", s, book, 9)
    finally:
        set_threads(2)
    assert_same(closed_with("compiled", s, book, 9), one)


def test_by_hand() -> None:
    """Row 0 asks to close (owes, keeps closing), row 1 asks and has paid (closes), row 2 is
    dormant (closed by the platform), row 3 is late (no decision), row 4 defaulted."""
    s = BorrowerState.blank(
        5,
        limit_cny=[100.0, 200.0, 300.0, 400.0, 500.0],
        balance_cny=[50.0, 0.0, 0.0, 0.0, 0.0],
        missed=[0, 0, 0, 1, 0],
        months_since_draw=[0, 0, 12, 12, 12],
        defaulted=[False, False, False, False, True],
    )
    book = BookConfig(voluntary_close_prob_monthly=1.0, inactivity_close_prob_monthly=1.0)
    s.months_since_draw[:2] = 0  # rows 0 and 1 decide; row 2 would too (p = 1) ...
    s.closing[2] = False
    s.missed[2] = 1  # ... unless late: row 2 cannot decide, so it is dormant
    s.missed[3] = 1
    s.months_since_draw[3] = 3  # row 3: late and not dormant long enough
    for how in ("compiled", "reference"):
        counts, events, out = closed_with(how, s, book, 0)
        assert counts == (2, 1, 1)
        assert events == [
            ([0, 1], [100.0, 200.0], [0.0, 0.0], [int(ReasonCode.CLOSED_VOLUNTARY)] * 2),
            ([2], [300.0], [0.0], [int(ReasonCode.CLOSED_INACTIVITY)]),
        ]
        assert out.closing.tolist() == [True, False, False, False, False]
        assert out.closed.tolist() == [False, True, True, False, False]
        assert out.closed_step.tolist() == [-1, 5, 5, -1, -1]
        assert out.limit_cny.tolist() == [0.0, 0.0, 0.0, 400.0, 500.0]
