"""The portfolio view's derived features: compiled, reference and NumPy agree to the bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import BorrowerState
from sim.compiled import set_threads, using
from sim.platform.view_kernel import NAMES, view_rows


def random_book(seed: int, n: int) -> BorrowerState:
    rng = np.random.default_rng(seed)
    limit = np.round(rng.uniform(0.0, 5e3, n), 2) * (rng.random(n) < 0.8)
    low_income = rng.random(n) < 0.2
    return BorrowerState.blank(
        n,
        limit_cny=limit,
        balance_cny=np.round(rng.uniform(0.0, 6e3, n), 2) * (rng.random(n) < 0.7),
        debt_service_cny=rng.uniform(0.0, 800.0, n),
        income_cny=np.where(low_income, rng.uniform(0.0, 1.5, n), rng.uniform(0, 9e3, n)),
        draws_recent=rng.integers(0, 9, (3, n)),
        early_recent=rng.integers(0, 3, (3, n)),
        defaulted=rng.random(n) < 0.1,
        closed=rng.random(n) < 0.1,
        closing=rng.random(n) < 0.1,
    )


def rows_with(how: str, s: BorrowerState) -> dict[str, np.ndarray]:
    with using(how):
        return view_rows(s)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 70))
def test_compiled_and_reference_equal_numpy(seed, n) -> None:
    s = random_book(seed, n)
    want = rows_with("numpy", s)
    for how in ("compiled", "reference"):
        got = rows_with(how, s)
        for name in NAMES:
            assert got[name].dtype == want[name].dtype, (how, name)
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{how} {name}")


def test_one_and_two_threads_identical() -> None:
    s = random_book(2, 30_000)
    set_threads(1)
    try:
        one = rows_with("compiled", s)
    finally:
        set_threads(2)
    two = rows_with("compiled", s)
    for name in NAMES:
        np.testing.assert_array_equal(two[name], one[name])


def test_by_hand() -> None:
    s = BorrowerState.blank(
        3,
        limit_cny=[1000.0, 0.0, 400.0],
        balance_cny=[250.0, 30.0, 500.0],
        debt_service_cny=[100.0, 50.0, 0.0],
        income_cny=[4000.0, 0.5, 1000.0],
        draws_recent=[[1, 0, 2], [0, 0, 3], [2, 0, 1]],
        early_recent=[[0, 1, 0], [0, 1, 0], [0, 0, 0]],
        closing=[False, True, False],
    )
    for how in ("numpy", "compiled", "reference"):
        got = rows_with(how, s)
        assert got["utilisation"].tolist() == [0.25, 0.0, 1.25], how
        assert got["debt_service_ratio"].tolist() == [0.025, 50.0, 0.0], how
        assert got["draws_3m"].tolist() == [3, 0, 6], how
        assert got["early_repayments_3m"].tolist() == [0, 2, 0], how
        assert got["is_open"].tolist() == [True, False, True], how
