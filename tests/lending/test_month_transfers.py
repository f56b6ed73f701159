"""The month's transfers make their per-borrower flows when first used (memory, not numbers)."""

from __future__ import annotations

import numpy as np

from sim.lending.funding import MonthTransfers
from sim.lending.servicing import open_books_stage
from sim.month import Month
from tests.test_stages import tiny_world


def test_household_flows_are_zeros_made_on_first_use():
    t = MonthTransfers.zeros(5, 2)
    assert not any(t.is_made(name) for name in MonthTransfers.HOUSEHOLD_FIELDS)
    assert t.owner_draw_cny.tolist() == [0.0, 0.0]
    t.household_prepay_cny[[1, 3]] = [2.5, 4.0]  # the first use makes it, then writes
    assert t.is_made("household_prepay_cny")
    assert t.household_prepay_cny.tolist() == [0.0, 2.5, 0.0, 4.0, 0.0]
    assert not t.is_made("household_channel_draws_cny")
    assert t.household_channel_draws_cny.tolist() == [0.0] * 5  # reading makes zeros
    t.household_channel_fees_cny = np.full(5, 1.5)  # or a stage sets its own array
    assert t.household_channel_fees_cny.tolist() == [1.5] * 5
    t.firm_channel_repaid_cny[:] = [7.0, 8.0]
    assert t.per_borrower("firm_channel_repaid_cny", np.array([4, 0])).tolist() == [
        8.0,
        0.0,
        0.0,
        0.0,
        7.0,
    ]


def test_open_books_leaves_the_household_flows_unmade_until_used():
    world = tiny_world()
    month = Month(step=1)
    open_books_stage(world, month)
    t = month.transfers
    assert not any(t.is_made(name) for name in MonthTransfers.HOUSEHOLD_FIELDS)
    assert t.n_borrowers == world.borrowers.n and t.owner_draw_cny.shape == (world.firms.n,)
    assert t.household_channel_draws_cny.shape == (world.borrowers.n,)
