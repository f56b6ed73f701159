import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.delinquency import (
    BUCKETS,
    TO_BUCKETS,
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
    # step 1: 100 current accounts: 90 stay, 10 miss (-> 30-59)
    #         20 in 30-59: 5 cure, 15 roll to 60-89
    #         10 in 60-89: 2 cure, 8 roll to 90+
    # step 2: 50 current: 50 stay; 4 at 90+: all charged off (closed)
    rows = [
        (1, "current", "current", 90),
        (1, "current", "30-59", 10),
        (1, "30-59", "current", 5),
        (1, "30-59", "60-89", 15),
        (1, "60-89", "current", 2),
        (1, "60-89", "90+", 8),
        (2, "current", "current", 50),
        (2, "90+", "closed", 4),
        (2, "closed", "closed", 7),  # absorbing: ignored
    ]
    return pd.DataFrame(rows, columns=["step", "from_bucket", "to_bucket", "count"])


def test_roll_rate_matrix_known_answer(transitions):
    m = roll_rate_matrix(transitions)
    assert list(m.index) == list(BUCKETS)
    assert list(m.columns) == list(TO_BUCKETS)
    assert m.loc["current", "current"] == pytest.approx(140 / 150)
    assert m.loc["current", "30-59"] == pytest.approx(10 / 150)
    assert m.loc["30-59", "60-89"] == pytest.approx(0.75)
    assert m.loc["30-59", "current"] == pytest.approx(0.25)
    assert m.loc["60-89", "90+"] == pytest.approx(0.8)
    assert m.loc["90+", "closed"] == pytest.approx(1.0)
    assert m.loc["1-29"].isna().all()  # no account was ever in 1-29


def test_roll_rate_matrix_rows_sum_to_one(transitions):
    m = roll_rate_matrix(transitions)
    sums = m.sum(axis=1, min_count=1)
    assert sums.drop("1-29").to_numpy() == pytest.approx(np.ones(4))
    assert math.isnan(sums["1-29"])
    assert ((m.fillna(0) >= 0) & (m.fillna(0) <= 1)).all().all()


def test_roll_rate_matrix_step_filter(transitions):
    m = roll_rate_matrix(transitions, steps=[2])
    assert m.loc["current", "current"] == 1.0
    assert m.loc["30-59"].isna().all()


def test_roll_rates_and_cure_rate(transitions):
    r = roll_rates(transitions)
    assert r["30-59->60-89"] == pytest.approx(0.75)
    assert r["60-89->90+"] == pytest.approx(0.8)
    assert r["current->1-29"] == 0.0
    assert r["current->delinquent"] == pytest.approx(10 / 150)
    assert math.isnan(r["1-29->30-59"])
    assert cure_rate(transitions, "30-59") == pytest.approx(0.25)
    assert cure_rate(transitions, "60-89") == pytest.approx(0.2)
    assert cure_rate(transitions, "90+") == 0.0
    with pytest.raises(ValueError, match="delinquent"):
        cure_rate(transitions, "current")


def test_roll_rate_matrix_rejects_unknown_bucket(transitions):
    bad = pd.concat(
        [transitions, pd.DataFrame([(1, "120+", "closed", 1)], columns=transitions.columns)]
    )
    with pytest.raises(ValueError, match="120\\+"):
        roll_rate_matrix(bad)


def _accounts(rows):
    return pd.DataFrame(
        rows, columns=["vintage", "origination_step", "default_step", "last_observed_step"]
    )


def test_vintage_curve_hand_case_with_censoring():
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
        "cumulative_default_rate",
    ]
    a = out[out.vintage == "A"]
    assert a.months_on_book.tolist() == [1, 2, 3, 4]
    assert a.n_accounts.tolist() == [4, 4, 4, 4]
    assert a.cumulative_default_rate.tolist() == pytest.approx([0, 0, 0.25, 0.5])
    b = out[out.vintage == "B"]
    assert b.months_on_book.tolist() == [1, 2]  # censored: B is observed only 2 months
    assert b.cumulative_default_rate.tolist() == pytest.approx([0, 0.5])


def test_vintage_curve_mixed_origination_censors_defaulters_alike():
    nan = np.nan
    # one quarter-vintage: two accounts opened at step 0, two at step 2; window ends at 4
    accounts = _accounts(
        [
            ("Q0", 0, nan, 4),
            ("Q0", 0, 4.0, 4),  # defaults at mob 4
            ("Q0", 2, 4.0, 4),  # defaults at mob 2, observed only to mob 2
            ("Q0", 2, nan, 4),
        ]
    )
    out = vintage_curves(accounts)
    assert out.months_on_book.tolist() == [1, 2, 3, 4]
    assert out.n_accounts.tolist() == [4, 4, 2, 2]
    # mob 3: only the step-0 accounts are observed; the step-2 defaulter is censored
    # like its performing neighbour, so the rate is 0/2, not 1/3
    assert out.cumulative_default_rate.tolist() == pytest.approx([0, 0.25, 0, 0.5])
    capped = vintage_curves(accounts, max_mob=2)
    assert capped.months_on_book.tolist() == [1, 2]


def test_vintage_curve_ordered_by_origination():
    accounts = _accounts([("late", 5, np.nan, 6), ("early", 2, np.nan, 6)])
    out = vintage_curves(accounts)
    assert out.vintage.unique().tolist() == ["early", "late"]


def test_vintage_curve_rejects_inconsistent_steps():
    with pytest.raises(ValueError, match="default_step"):
        vintage_curves(_accounts([("V", 3, 2.0, 5)]))
    with pytest.raises(ValueError, match="observation window"):
        vintage_curves(_accounts([("V", 3, 7.0, 5)]))
