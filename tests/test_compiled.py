"""The compiled-kernel helpers: rounding to the cent as NumPy does, and thread control."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from sim.compiled import (
    implementation,
    round_cny_scalar,
    set_implementation,
    set_threads,
    threads,
    using,
)
from sim.units import round_cny, sum_in_order


@numba.njit
def _round_all(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    for i in range(values.size):
        out[i] = round_cny_scalar(values[i])
    return out


def test_round_cny_scalar_matches_numpy_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.normal(0.0, 1e4, 200_000),
            np.round(rng.normal(0.0, 1e3, 50_000), 3),  # many exact half cents
            np.arange(-2_000, 2_001) * 0.005,
            [-0.004, -0.0049, 0.0049, -0.0, 0.005, -0.005, 0.015, 0.025],
        ]
    )
    expected = round_cny(values)
    got = _round_all(values)
    np.testing.assert_array_equal(got, expected)
    # No -0.0 anywhere (the sign bit of a zero is cleared, as round_cny does).
    assert not np.signbit(got[got == 0.0]).any()
    # Half cents go to the even cent: 1.5 and 2.5 cents both give 2 cents.
    assert round_cny_scalar(0.015) == 0.02
    assert round_cny_scalar(0.025) == 0.02


def test_set_threads_bounds_and_effect() -> None:
    before = threads()
    try:
        set_threads(1)
        assert threads() == 1
    finally:
        set_threads(before)
    top = int(numba.config.NUMBA_NUM_THREADS)
    with pytest.raises(ValueError, match=rf"threads must be in \[1, {top}\], got 0"):
        set_threads(0)
    with pytest.raises(ValueError, match="got"):
        set_threads(top + 1)
    # Only an int: not a string, a float or a bool (True is not one thread).
    for bad in ("2", 2.0, True, None):
        with pytest.raises(
            TypeError, match=rf"threads must be a whole number \(int\) in \[1, {top}\], got"
        ):
            set_threads(bad)
    assert threads() == before


def test_implementation_switch_restores_and_refuses_unknown_names() -> None:
    assert implementation() == "compiled"
    with using("reference"):
        assert implementation() == "reference"
        with using("numpy"):
            assert implementation() == "numpy"
        assert implementation() == "reference"
    assert implementation() == "compiled"
    with pytest.raises(
        ValueError, match=r"one of \['compiled', 'numpy', 'reference'\], got 'fast'"
    ):
        set_implementation("fast")
    assert implementation() == "compiled"


def test_sum_in_order_adds_left_to_right_like_numpy() -> None:
    # (1e16 + 1) rounds back to 1e16 (the spacing there is 2), so left to right the 1 is
    # lost: 0.0. A compensated sum (the built-in from Python 3.12, math.fsum) keeps it.
    values = [1e16, 1.0, -1e16]
    assert sum_in_order(values) == 0.0
    assert math.fsum(values) == 1.0
    column = np.array([[1e16], [1.0], [-1e16]])
    assert sum_in_order(values) == column.sum(axis=0)[0]
    rng = np.random.default_rng(3)
    hist = rng.uniform(0.0, 1e6, (3, 500)).round(2)
    by_hand = [sum_in_order(hist[:, i]) / 3 for i in range(500)]
    assert np.array_equal(np.array(by_hand), hist.mean(axis=0))
    with pytest.raises(ValueError, match="at least one"):
        sum_in_order([])
