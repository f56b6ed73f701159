"""Vintage tables: cohorts by run quarter with own months on book, a starting-book cohort,
a fixed denominator and curves that never decrease (hand-built books and a real run)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.model import CreditMarketModel
from sim.month import World
from sim.outputs.vintage import (
    STARTING_BOOK,
    vintage_categories,
    vintage_curves,
    vintage_labels,
    vintage_table,
)
from sim.world.borrowers import BorrowerState
from tests.conftest import make_run


def _never_decreasing(table) -> bool:
    steps = table.groupby("vintage")["cumulative_default_rate"].diff().dropna()
    return bool((steps >= 0).all())


def test_vintage_labels_by_run_quarter_and_starting_book():
    labels = vintage_labels(np.array([-30, 0, 1, 3, 4, 7, 12]))
    assert labels.tolist() == [STARTING_BOOK, STARTING_BOOK, "Q1", "Q1", "Q2", "Q3", "Q4"]


def test_vintage_table_hand_built_book():
    # Starting book: 4 lines (one defaults in month 2); Q1: 2 lines opened in month 1
    # and 2 in month 3 (one of each defaults 3 months after opening); Q2: 1 line opened
    # in month 5. The run lasted 8 months.
    s = BorrowerState.blank(
        9,
        origination_step=[-24, -3, 0, -1, 1, 1, 3, 3, 5],
        default_step=[-1, 2, -1, -1, 4, -1, 6, -1, -1],
    )
    world = SimpleNamespace(borrowers=s, burn_in_months=0, window_start=1)
    world.exposed_in_window = lambda: World.exposed_in_window(world)
    out = vintage_table(world, SimpleNamespace(steps=8))
    book = out[out.vintage == STARTING_BOOK]
    assert book.months_on_book.tolist() == list(range(1, 9))  # months since the start
    assert (book.n_accounts == 4).all()
    assert book.cumulative_default_rate.tolist() == pytest.approx([0] + [0.25] * 7)
    q1 = out[out.vintage == "Q1"]
    # every Q1 member is observed for 5 months (those opened in month 3); both defaults
    # happen in month 3 on book of their own account
    assert q1.months_on_book.tolist() == [1, 2, 3, 4, 5]
    assert (q1.n_accounts == 4).all()
    assert q1.n_defaulted.tolist() == [0, 0, 2, 2, 2]
    q2 = out[out.vintage == "Q2"]
    assert q2.months_on_book.tolist() == [1, 2, 3] and (q2.n_defaulted == 0).all()
    assert out.vintage.unique().tolist() == [STARTING_BOOK, "Q1", "Q2"]
    assert _never_decreasing(out)


def test_vintage_curves_never_decrease_on_a_real_run():
    with CreditMarketModel(make_run("population.n_borrowers=3000", "n_months=12")) as model:
        model.run()
        s = model.borrowers
        table = vintage_table(model.world, model.record)
        # The open book: the starting book, then a cohort per quarter of originations
        # (Q4's last members opened in month 12: not yet observed for a month, no rows).
        assert table.vintage.unique().tolist() == [STARTING_BOOK, "Q1", "Q2", "Q3"]
        book = table[table.vintage == STARTING_BOOK]
        start = s.origination_step <= 0
        assert start.sum() == 3000
        assert book.months_on_book.tolist() == list(range(1, 13))
        assert (book.n_accounts == start.sum()).all()
        rate = (s.default_step[start] > 0).mean()
        assert book.cumulative_default_rate.iloc[-1] == pytest.approx(rate)
        assert rate > 0
        for q, (first, last) in {"Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9)}.items():
            cohort = table[table.vintage == q]
            opened = (s.origination_step >= first) & (s.origination_step <= last)
            assert (cohort.n_accounts == opened.sum()).all() and opened.sum() > 0
            assert cohort.months_on_book.max() == 12 - last  # its youngest members' months
        assert _never_decreasing(table)
        # The same run's lines relabelled as opened during the run (each in a month
        # before any default of its own), spread over four quarters: still never falls.
        rng = np.random.default_rng(0)
        latest = np.where(s.default_step > 0, np.minimum(s.default_step, 10), 10)
        s.origination_step[:] = rng.integers(0, latest + 1)
        mixed = vintage_table(model.world, model.record)
    assert set(mixed.vintage) >= {STARTING_BOOK, "Q1", "Q2", "Q3", "Q4"}
    assert _never_decreasing(mixed)
    assert (mixed.groupby("vintage")["n_accounts"].nunique() == 1).all()
    # Q4 holds months 10-12 but its members opened by month 10: observed 2 months
    assert mixed[mixed.vintage == "Q4"].months_on_book.max() == 2


@pytest.mark.parametrize("seed", range(6))
def test_categorical_vintages_give_the_curves_of_string_ones(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    origin = rng.integers(-3, 30, n)
    start = np.maximum(origin, 0)
    default = np.where(rng.random(n) < 0.3, start + rng.integers(0, 8, n), np.nan)
    last = np.full(n, 40)
    default = np.where(default > last, np.nan, default)
    frame = pd.DataFrame({"origination_step": np.maximum(origin, 0), "default_step": default,
                          "last_observed_step": last})  # fmt: skip
    as_str = vintage_curves(frame.assign(vintage=vintage_labels(origin)))
    as_cat = vintage_curves(frame.assign(vintage=vintage_categories(origin)))
    pd.testing.assert_frame_equal(as_cat, as_str)
    assert vintage_categories(origin).astype(str).tolist() == vintage_labels(origin).tolist()
    # unused categories and a category order that is not the sorted one change nothing
    shuffled = pd.Categorical(vintage_labels(origin), categories=["Q9", "starting_book",
                              *[f"Q{q}" for q in range(12, 0, -1) if q != 9], "Q99"])  # fmt: skip
    pd.testing.assert_frame_equal(vintage_curves(frame.assign(vintage=shuffled)), as_str)
