"""The month's servicing record keeps the rare flows at their rows: the same arrays when read."""

from __future__ import annotations

import numpy as np
import pytest

from sim.lending.accounts import ServicingFlows
from sim.lending.servicing import MonthServicing


def _flows(n: int, rng: np.random.Generator) -> ServicingFlows:
    dense = {name: np.zeros(n) for name in MonthServicing.RARE}
    for name in MonthServicing.RARE:
        rows = rng.choice(n, 7, replace=False)
        dense[name][rows] = np.round(rng.uniform(1, 5_000, 7), 2)
    dense["write_off_cny"][3] = -0.0  # a negative zero keeps its sign
    return ServicingFlows(
        missed_now=rng.random(n) < 0.1,
        new_default=rng.random(n) < 0.01,
        interest_cny=np.round(rng.uniform(0, 50, n), 2),
        **dense,
    )


def test_rare_flows_read_back_bit_for_bit_and_sum_the_same():
    flows = _flows(10_000, np.random.default_rng(11))
    record = MonthServicing.of(flows)
    assert record.rare_cny.shape == (5, record.rare_rows.size) and record.rare_rows.size <= 36
    for name in MonthServicing.RARE:
        got, want = getattr(record, name), getattr(flows, name)
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
        assert got.sum().view(np.int64) == want.sum().view(np.int64)
    assert np.signbit(record.write_off_cny[3])
    assert record.interest_cny is flows.interest_cny and record.new_default is flows.new_default
    with pytest.raises(ValueError, match="'interest_cny' is not one of"):
        record.dense("interest_cny")


def test_a_month_without_defaults_keeps_no_rare_rows():
    n = 100
    zeros = {name: np.zeros(n) for name in MonthServicing.RARE}
    flows = ServicingFlows(
        missed_now=np.zeros(n, bool),
        new_default=np.zeros(n, bool),
        interest_cny=np.ones(n),
        **zeros,
    )
    record = MonthServicing.of(flows)
    assert record.rare_rows.size == 0 and record.rare_cny.shape == (5, 0)
    assert record.write_off_cny.tolist() == [0.0] * n
