import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.delinquency import (
    BUCKETS,
    ROLL_STATES,
    chain_roll_rates,
    cure_rate,
    dpd_bucket,
    roll_rate_matrix,
    roll_rates,
    vintage_curves,
)


def test_dpd_bucket_edges():
    dpd = np.array([0, 1, 29, 30, 59, 60, 89, 90, 200])
    out = dpd_bucket(dpd)
    assert out.dtype == np.int8
    assert out.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [BUCKETS[i] for i in out] == [
        "current",
        "1-29",
        "1-29",
        "30-59",
        "30-59",
        "60-89",
        "60-89",
        "90+",
        "90+",
    ]


def test_dpd_bucket_float_and_shape():
    out = dpd_bucket(np.array([[0.0, 0.5], [29.9, 30.0]]))
    assert out.shape == (2, 2)
    assert out.tolist() == [[0, 0], [1, 2]]


@pytest.mark.parametrize("bad", [[-1.0], [np.nan]])
def test_dpd_bucket_rejects_negative_and_nan(bad):
    with pytest.raises(ValueError):
        dpd_bucket(np.array(bad))


@pytest.fixture
def transitions():
    # step 1: 100 current accounts: 88 stay, 10 miss (-> 30-59), 2 close for attrition
    #         20 in 30-59: 5 cure, 15 roll to 60-89
    #         10 in 60-89: 2 cure, 8 roll to 90+ (default)
    # step 2: 50 current: 50 stay; 4 at 90+: all charged off; 7 charged off stay so;
    #         2 closed stay closed
    rows = [
        (1, "current", "current", 88),
        (1, "current", "30-59", 10),
        (1, "current", "closed", 2),
        (1, "30-59", "current", 5),
        (1, "30-59", "60-89", 15),
        (1, "60-89", "current", 2),
        (1, "60-89", "90+", 8),
        (2, "current", "current", 50),
        (2, "90+", "charged_off", 4),
        (2, "charged_off", "charged_off", 7),
        (2, "closed", "closed", 2),
    ]
    return pd.DataFrame(rows, columns=["step", "from_bucket", "to_bucket", "count"])


def test_roll_rate_matrix_known_answer(transitions):
    m = roll_rate_matrix(transitions)
    assert list(m.index) == list(ROLL_STATES) == list(m.columns)  # square
    assert list(ROLL_STATES) == ["current", "1-29", "30-59", "60-89", "default", "closed"]
    assert m.loc["current", "current"] == pytest.approx(138 / 150)
    assert m.loc["current", "30-59"] == pytest.approx(10 / 150)
    assert m.loc["current", "closed"] == pytest.approx(2 / 150)  # attrition, not default
    assert m.loc["current", "default"] == 0.0
    assert m.loc["30-59", "60-89"] == pytest.approx(0.75)
    assert m.loc["30-59", "current"] == pytest.approx(0.25)
    assert m.loc["60-89", "default"] == pytest.approx(0.8)
    # absorbing: 90+ -> charged_off and charged_off -> charged_off are default -> default
    assert m.loc["default"].tolist() == [0, 0, 0, 0, 1, 0]
    assert m.loc["closed"].tolist() == [0, 0, 0, 0, 0, 1]
    assert m.attrs["exposure"]["default"] == 11 and m.attrs["exposure"]["closed"] == 2
    # no account was ever in 1-29: an explicit placeholder row, not NaN
    assert m.attrs["no_exposure"] == ["1-29"]
    assert m.loc["1-29"].tolist() == [0, 1, 0, 0, 0, 0]


def test_roll_rate_matrix_rows_sum_to_one_without_nan(transitions):
    for steps in (None, [1], [2]):
        m = roll_rate_matrix(transitions, steps=steps)
        assert not m.isna().any().any()
        assert m.sum(axis=1).to_numpy() == pytest.approx(np.ones(len(ROLL_STATES)))
        assert ((m >= 0) & (m <= 1)).all().all()


def test_roll_rate_matrix_step_filter(transitions):
    m = roll_rate_matrix(transitions, steps=[2])
    assert m.loc["current", "current"] == 1.0
    assert m.attrs["no_exposure"] == ["1-29", "30-59", "60-89"]


def test_roll_rate_matrix_chains_as_a_markov_chain(transitions):
    m = roll_rate_matrix(transitions, steps=[1])
    two = chain_roll_rates(m, 2)
    p = m.to_numpy()
    assert two.to_numpy() == pytest.approx(p @ p)
    # by hand: 30-59 -> 60-89 (0.75) -> default (0.8); current -> 30-59 (0.1) -> 60-89
    assert two.loc["30-59", "default"] == pytest.approx(0.75 * 0.8)
    assert two.loc["current", "60-89"] == pytest.approx(10 / 100 * 0.75)
    assert two.sum(axis=1).to_numpy() == pytest.approx(np.ones(6))
    # 1-29 has no exposure but no exposed state reaches it: long horizons are fine
    year = chain_roll_rates(m, 12)
    assert year.loc["current", "default"] > two.loc["current", "default"]
    with pytest.raises(ValueError, match="months must be >= 1"):
        chain_roll_rates(m, 0)


def test_chain_refuses_to_run_through_a_state_without_exposure(transitions):
    # month 2 alone: 30-59 has no exposure but nothing reaches it, so chaining is fine
    m = roll_rate_matrix(transitions, steps=[2])
    assert chain_roll_rates(m, 6).loc["current", "current"] == 1.0
    # month-1-like table: current accounts reach 30-59, which had no accounts yet
    first = pd.DataFrame(
        [(1, "current", "current", 9), (1, "current", "30-59", 1)],
        columns=["step", "from_bucket", "to_bucket", "count"],
    )
    m1 = roll_rate_matrix(first)
    assert chain_roll_rates(m1, 1).loc["current", "30-59"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="30-59.*no exposure"):
        chain_roll_rates(m1, 2)


def test_roll_rates_and_cure_rate(transitions):
    r = roll_rates(transitions)
    assert r["30-59->60-89"] == pytest.approx(0.75)
    assert r["60-89->default"] == pytest.approx(0.8)
    assert r["current->1-29"] == 0.0
    assert r["current->delinquent"] == pytest.approx(10 / 150)  # attrition excluded
    assert math.isnan(r["1-29->30-59"])  # no exposure
    assert r.attrs["no_exposure"] == ["1-29"]
    assert cure_rate(transitions, "30-59") == pytest.approx(0.25)
    assert cure_rate(transitions, "60-89") == pytest.approx(0.2)
    assert math.isnan(cure_rate(transitions, "1-29"))
    for bad in ("current", "90+"):
        with pytest.raises(ValueError, match="delinquent"):
            cure_rate(transitions, bad)


def test_roll_rate_matrix_rejects_unknown_state_and_leaving_an_absorbing_one(transitions):
    bad = pd.concat(
        [transitions, pd.DataFrame([(1, "120+", "closed", 1)], columns=transitions.columns)]
    )
    with pytest.raises(ValueError, match="120\\+"):
        roll_rate_matrix(bad)
    cured = pd.concat(
        [transitions, pd.DataFrame([(3, "90+", "current", 1)], columns=transitions.columns)]
    )
    with pytest.raises(ValueError, match="absorbing state 'default'"):
        roll_rate_matrix(cured)


def test_legacy_table_with_closed_for_charge_off_reads_as_default():
    # Before attrition, "closed" meant charged off: 90+ -> closed.
    old = pd.DataFrame(
        [(1, "current", "current", 9), (1, "90+", "closed", 1), (2, "closed", "closed", 1)],
        columns=["step", "from_bucket", "to_bucket", "count"],
    )
    m = roll_rate_matrix(old)
    assert m.attrs["exposure"]["default"] == 2 and m.attrs["exposure"]["closed"] == 0


def test_roll_rate_matrix_on_a_real_run_is_a_markov_chain():
    from sim.model import CreditMarketModel
    from tests.conftest import make_run

    with CreditMarketModel(make_run("population.n_borrowers=3000", "n_months=12")) as model:
        model.run()
        table = model.transitions_table()
        opened = model.borrowers.origination_step.copy()
    # the book is open: every account opened by a month (that month's originations
    # included, defaulted and closed rows kept) is counted once in it
    per_step = table.groupby("step")["count"].sum()
    assert list(per_step.index) == list(range(1, 13))
    expected = [int((opened <= step).sum()) for step in per_step.index]
    assert per_step.tolist() == expected
    assert expected[0] > 3000 and expected[-1] > expected[0]  # originations act
    for steps in (None, [1], range(6, 13)):
        m = roll_rate_matrix(table, steps=steps)
        assert list(m.index) == list(m.columns) == list(ROLL_STATES)
        assert not m.isna().any().any()
        assert m.sum(axis=1).to_numpy() == pytest.approx(np.ones(6))
        assert "1-29" in m.attrs["no_exposure"]  # 30 DPD per miss: never populated
    m1 = roll_rate_matrix(table, steps=[1])
    assert {"30-59", "60-89"} <= set(m1.attrs["no_exposure"])  # a clean book at start
    pooled = roll_rate_matrix(table)
    assert pooled.attrs["no_exposure"] == ["1-29"]
    assert 0 < pooled.loc["current", "30-59"] < 0.1
    assert 0 < pooled.loc["60-89", "default"] <= 1
    # chained 12 months from current = a default rate of the right order
    assert 0 < chain_roll_rates(pooled, 12).loc["current", "default"] < 0.2


def _accounts(rows):
    return pd.DataFrame(
        rows, columns=["vintage", "origination_step", "default_step", "last_observed_step"]
    )


def test_vintage_curve_hand_case():
    nan = np.nan
    accounts = _accounts(
        [
            # vintage A: 4 accounts opened at step 1, observed to step 5 (mob 1..4)
            ("A", 1, 4.0, 5),  # defaults at mob 3 (stays a default until the window ends)
            ("A", 1, nan, 5),
            ("A", 1, nan, 5),
            ("A", 1, 5.0, 5),  # defaults at mob 4
            # vintage B: 2 accounts opened at step 3, observed to step 5 (mob 1..2)
            ("B", 3, 5.0, 5),  # defaults at mob 2
            ("B", 3, nan, 5),
        ]
    )
    out = vintage_curves(accounts)
    assert list(out.columns) == [
        "vintage",
        "months_on_book",
        "n_accounts",
        "n_defaulted",
        "cumulative_default_rate",
    ]
    a = out[out.vintage == "A"]
    assert a.months_on_book.tolist() == [1, 2, 3, 4]
    assert a.n_accounts.tolist() == [4, 4, 4, 4]
    assert a.n_defaulted.tolist() == [0, 0, 1, 2]
    assert a.cumulative_default_rate.tolist() == pytest.approx([0, 0, 0.25, 0.5])
    b = out[out.vintage == "B"]
    assert b.months_on_book.tolist() == [1, 2]  # B is observed only 2 months
    assert b.cumulative_default_rate.tolist() == pytest.approx([0, 0.5])


def test_vintage_curve_of_the_issue_never_falls():
    # Two accounts of one vintage, both observed to step 3: one opened at step 1 that
    # defaults at step 2 (its month 1 on book), one opened at step 0 that never defaults.
    out = vintage_curves(_accounts([("V", 1, 2.0, 3), ("V", 0, np.nan, 3)]))
    # own months on book; the denominator stays 2; the curve stops where the younger
    # account's observation ends (month 2), instead of falling to 0 at month 3
    assert out.months_on_book.tolist() == [1, 2]
    assert out.n_accounts.tolist() == [2, 2]
    assert out.cumulative_default_rate.tolist() == pytest.approx([0.5, 0.5])


def test_vintage_curve_mixed_origination_uses_each_members_own_months():
    nan = np.nan
    # one quarter-vintage: two accounts opened at step 0, two at step 2; window ends at 4
    accounts = _accounts(
        [
            ("Q0", 0, nan, 4),
            ("Q0", 0, 4.0, 4),  # defaults at mob 4: beyond the youngest members' window
            ("Q0", 2, 4.0, 4),  # defaults at mob 2
            ("Q0", 2, nan, 4),
        ]
    )
    out = vintage_curves(accounts)
    assert out.months_on_book.tolist() == [1, 2]  # every member observed 2 months
    assert out.n_accounts.tolist() == [4, 4]
    assert out.cumulative_default_rate.tolist() == pytest.approx([0, 0.25])
    capped = vintage_curves(accounts, max_mob=1)
    assert capped.months_on_book.tolist() == [1]
    assert vintage_curves(accounts, max_mob=10).months_on_book.tolist() == [1, 2]


def test_vintage_curve_default_in_origination_month_counts_from_month_one():
    out = vintage_curves(_accounts([("V", 2, 2.0, 4), ("V", 2, np.nan, 4)]))
    assert out.cumulative_default_rate.tolist() == pytest.approx([0.5, 0.5])


def test_vintage_curve_ordered_by_origination_and_unobserved_vintage_dropped():
    accounts = _accounts(
        [("late", 5, np.nan, 6), ("early", 2, np.nan, 6), ("newest", 6, np.nan, 6)]
    )
    out = vintage_curves(accounts)
    assert out.vintage.unique().tolist() == ["early", "late"]
    assert vintage_curves(accounts.iloc[0:0]).empty


def test_vintage_curve_rejects_inconsistent_steps():
    with pytest.raises(ValueError, match="default_step"):
        vintage_curves(_accounts([("V", 3, 2.0, 5)]))
    with pytest.raises(ValueError, match="observation window"):
        vintage_curves(_accounts([("V", 3, 7.0, 5)]))
