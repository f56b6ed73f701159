"""Tests for sim.platform.scorecard: features, fit, AUC, calibration, re-levelling."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from sim.platform.scorecard import (
    DEFAULT_SEED,
    FEATURE_NAMES,
    TARGET_COLUMN,
    Scorecard,
    auc,
    calibration_table,
    features_from_state,
    fit_default_scorecard,
    fit_scorecard,
    holdout_mask,
    shift_to_mean_pd,
    uci_features,
)
from sim.world.data import load_uci

# --------------------------------------------------------------------------- features


def _two_rows() -> pd.DataFrame:
    """Row A: 5 months late (clipped to 3). Row B: no balance last month, over limit."""
    return pd.DataFrame(
        {
            "LIMIT_BAL": [20_000, 10_000],
            "AGE": [24, 30],
            "PAY_0": [5, -2],
            "PAY_2": [4, 3],
            "PAY_3": [3, 1],
            "PAY_4": [2, 0],
            "PAY_5": [-1, -1],
            "PAY_6": [0, 2],
            "BILL_AMT1": [5_000, 20_000],
            "BILL_AMT2": [4_000, 0],
            "PAY_AMT1": [1_000, 500],
        }
    )


# months_late, paid_in_full, utilisation, payment_ratio, delinquent_months_6m, age_years
_TWO_ROWS_EXPECTED = np.array(
    [
        [3.0, 0.0, 0.25, 0.25, 4.0, 24.0],  # 5000/20000; 1000/4000; PAY >= 1 in 4 months
        [0.0, 1.0, 1.5, 1.0, 3.0, 30.0],  # 20000/10000 -> 1.5; no bill -> 1.0
    ]
)


def test_feature_names_in_order():
    assert FEATURE_NAMES == (
        "months_late",
        "paid_in_full",
        "utilisation",
        "payment_ratio",
        "delinquent_months_6m",
        "age_years",
    )


def test_uci_features_on_hand_made_rows():
    X = uci_features(_two_rows())
    assert X.shape == (2, 6)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, _TWO_ROWS_EXPECTED)


def test_features_from_state_equals_uci_features():
    X_state = features_from_state(
        months_late=np.array([5, 0]),
        paid_in_full=np.array([False, True]),
        utilisation=np.array([0.25, 2.0]),
        payment_ratio=np.array([0.25, 1.0]),
        delinquent_months_6m=np.array([4, 3]),
        age_years=np.array([24.0, 30.0]),
    )
    assert X_state.dtype == np.float64
    np.testing.assert_array_equal(X_state, uci_features(_two_rows()))


def test_clipping_at_the_lower_ends():
    frame = _two_rows()
    frame.loc[0, "BILL_AMT1"] = -300  # credit balance -> utilisation 0
    frame.loc[0, "PAY_AMT1"] = 10_000  # paid 2.5x the bill -> ratio 1
    frame.loc[1, "BILL_AMT2"] = -50  # negative bill -> ratio 1
    X = uci_features(frame)
    assert X[0, 2] == 0.0
    assert X[0, 3] == 1.0
    assert X[1, 3] == 1.0
    X_state = features_from_state([-1], [0], [-0.2], [-0.5], [9], [18])
    np.testing.assert_array_equal(X_state, [[0.0, 0.0, 0.0, 0.0, 6.0, 18.0]])


def test_features_from_state_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        features_from_state([0, 1], [0, 1], [0.1, 0.2], [1.0, 1.0], [0, 0], [40])
    with pytest.raises(ValueError, match="utilisation contains NaN"):
        features_from_state([0], [0], [np.nan], [1.0], [0], [40])
    with pytest.raises(ValueError, match="age_years must be 1-D"):
        features_from_state([0], [0], [0.1], [1.0], [0], [[40]])


def test_uci_features_names_missing_columns():
    with pytest.raises(KeyError, match="PAY_AMT1"):
        uci_features(_two_rows().drop(columns=["PAY_AMT1"]))


# --------------------------------------------------------------------------- helpers


def test_auc_hand_example():
    # Pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4.
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)


def test_auc_ties_count_half_and_perfect_ranking():
    assert auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert auc([0, 0, 1], [0.1, 0.2, 0.9]) == pytest.approx(1.0)
    assert auc([1, 0], [0.1, 0.9]) == pytest.approx(0.0)


def test_auc_rejects_one_class_and_bad_labels():
    with pytest.raises(ValueError, match="both classes"):
        auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="only 0 and 1"):
        auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="differ in shape"):
        auc([0, 1], [0.2, 0.3, 0.4])


def test_shift_to_mean_pd_hand_example():
    # mean(expit(0 + s)) = 0.2  <=>  s = logit(0.2) = log(0.2 / 0.8) = log(0.25).
    shift = shift_to_mean_pd(np.zeros(4), 0.2)
    assert shift == pytest.approx(math.log(0.25), abs=1e-9)
    assert np.mean(expit(np.zeros(4) + shift)) == pytest.approx(0.2, abs=1e-9)


def test_shift_to_mean_pd_symmetric_example():
    # expit(-1 + s) + expit(1 + s) = 1 at s = 0, by symmetry of the logistic function.
    assert shift_to_mean_pd(np.array([-1.0, 1.0]), 0.5) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_shift_to_mean_pd_rejects_target_outside_unit_interval(target):
    with pytest.raises(ValueError, match="target_mean_pd"):
        shift_to_mean_pd(np.zeros(3), target)


def test_shift_to_mean_pd_unreachable_target():
    with pytest.raises(ValueError, match="cannot be reached"):
        shift_to_mean_pd(np.full(3, 60.0), 0.01)


def test_calibration_table_hand_example():
    table = calibration_table(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4]), n_bins=2)
    assert list(table.columns) == ["decile", "n", "mean_predicted_pd", "observed_default_rate"]
    assert table["decile"].tolist() == [1, 2]
    assert table["n"].tolist() == [2, 2]
    assert table["mean_predicted_pd"].tolist() == pytest.approx([0.15, 0.35])
    assert table["observed_default_rate"].tolist() == [0.0, 1.0]


def test_calibration_table_drops_duplicate_edges():
    table = calibration_table(np.array([0, 1, 0, 1, 1]), np.full(5, 0.3), n_bins=10)
    assert len(table) == 1
    assert table.loc[0, "n"] == 5
    assert table.loc[0, "observed_default_rate"] == pytest.approx(0.6)


def test_holdout_mask_is_stratified():
    y = load_uci()[TARGET_COLUMN].to_numpy()
    mask = holdout_mask(y, 0.3, DEFAULT_SEED)
    # round(0.3 * 6636) = 1991 defaulters and round(0.3 * 23364) = 7009 others.
    assert int(y[mask].sum()) == 1_991
    assert int(mask.sum()) == 9_000
    np.testing.assert_array_equal(mask, holdout_mask(y, 0.3, DEFAULT_SEED))
    assert not np.array_equal(mask, holdout_mask(y, 0.3, DEFAULT_SEED + 1))


# --------------------------------------------------------------------------- the card


def test_binned_card_by_hand():
    # Two features: x0 in bins (-inf, 1), [1, 3), [3, inf) worth -0.5, 0.2, 1.0 log-odds;
    # x1 in (-inf, 0.5), [0.5, inf) worth 0.0, 0.4. Intercept -2.
    card = Scorecard(
        coef=[1.0, 1.0],
        intercept=-2.0,
        feature_names=("x0", "x1"),
        feature_mean=[0.0, 0.0],
        feature_std=[1.0, 1.0],
        bin_edges=([1.0, 3.0], [0.5]),
        bin_points=([-0.5, 0.2, 1.0], [0.0, 0.4]),
    )
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.9, 0.49], [3.0, 0.5], [100.0, -5.0]])
    # A value on an edge falls in the bin above it (lower <= x < upper).
    expected = np.array([-2.5, -1.4, -1.8, -0.6, -1.0])
    np.testing.assert_allclose(card.log_odds(X), expected, atol=1e-12)
    np.testing.assert_allclose(card.log_odds_columns((X[:, 0], X[:, 1])), expected, atol=1e-12)
    table = card.points_table()
    assert table["feature"].tolist() == ["x0", "x0", "x0", "x1", "x1"]
    assert table.loc[1, ["lower", "upper", "points"]].tolist() == [1.0, 3.0, 0.2]
    again = Scorecard.from_dict(card.to_dict())
    np.testing.assert_array_equal(again.log_odds(X), card.log_odds(X))


def test_binned_card_rejects_inconsistent_bins():
    with pytest.raises(ValueError, match="one point per bin"):
        Scorecard(
            coef=[1.0],
            intercept=0.0,
            feature_names=("x",),
            feature_mean=[0.0],
            feature_std=[1.0],
            bin_edges=([1.0, 2.0],),
            bin_points=([0.0, 1.0],),
        )
    with pytest.raises(ValueError, match="both bin_edges and bin_points"):
        Scorecard(
            coef=[1.0],
            intercept=0.0,
            feature_names=("x",),
            feature_mean=[0.0],
            feature_std=[1.0],
            bin_edges=([1.0],),
        )


# --------------------------------------------------------------------------- the fitted model


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return fit_default_scorecard()


@pytest.fixture(scope="module")
def holdout() -> tuple[np.ndarray, np.ndarray]:
    df = load_uci()
    y = df[TARGET_COLUMN].to_numpy()
    mask = holdout_mask(y, 0.3, DEFAULT_SEED)
    return uci_features(df)[mask], y[mask]


def test_scorecard_shape_and_rows(card):
    assert card.feature_names == FEATURE_NAMES
    assert card.is_binned
    assert card.coef.shape == (6,)
    assert card.coef.dtype == np.float64
    assert (card.train_rows, card.holdout_rows) == (21_000, 9_000)
    # ~28 % of accounts had PAY_0 in (-2, -1) (8,445 of 30,000 overall).
    assert card.feature_mean[1] == pytest.approx(8_445 / 30_000, abs=0.01)


def test_holdout_auc_reference_value(card, holdout):
    # The six behavioural features give 0.750 on this split (0.745 with the earlier linear
    # card on standardised features). Monotone WoE logistic regression on all 23 UCI
    # columns gives 0.758 on it, a gradient-boosted classifier 0.773.
    assert card.holdout_auc == pytest.approx(0.7503, abs=0.001)  # reference value, seed fixed
    X, y = holdout
    assert auc(y, card.predict_pd(X)) == pytest.approx(card.holdout_auc, abs=1e-12)


def _points(card: Scorecard, name: str) -> np.ndarray:
    assert card.bin_points is not None
    return card.bin_points[FEATURE_NAMES.index(name)]


def test_points_are_monotone_in_the_expected_direction(card):
    # Risk rises with months late, delinquent months and utilisation, falls with age.
    for name in ("months_late", "delinquent_months_6m", "utilisation"):
        assert np.all(np.diff(_points(card, name)) > 0), name
    assert np.all(np.diff(_points(card, "age_years")) < 0)
    assert _points(card, "months_late")[-1] - _points(card, "months_late")[0] > 1.0
    # Paying in full (or having no balance, PAY_0 in -2, -1) *raises* the risk relative to
    # revolvers who pay the minimum (PAY_0 = 0): next-month default is 13.2 % (-2) and
    # 16.8 % (-1) against 12.8 % (0). These accounts are mostly idle or transactors, and the
    # revolvers with a serviced balance are the safer group in this book. (This is the data
    # side of mechanism M2: a score fitted on it penalises pay-in-full behaviour.)
    assert np.diff(_points(card, "paid_in_full"))[0] > 0.4
    # Once the others are known, the share of the bill paid carries almost no weight.
    assert np.ptp(_points(card, "payment_ratio")) < 0.02


def test_stored_default_card_equals_a_fresh_fit(card):
    fresh = fit_scorecard(load_uci())
    assert fresh.holdout_auc == pytest.approx(card.holdout_auc, abs=1e-9)
    assert fresh.intercept == pytest.approx(card.intercept, abs=1e-6)
    for e_new, e_old, p_new, p_old in zip(
        fresh.bin_edges, card.bin_edges, fresh.bin_points, card.bin_points, strict=True
    ):
        np.testing.assert_allclose(e_new, e_old, atol=1e-9)
        np.testing.assert_allclose(p_new, p_old, atol=1e-6)


def test_predict_pd_holdout_calibration(card, holdout):
    X, y = holdout
    pd_pred = card.predict_pd(X)
    assert pd_pred.shape == (9_000,)
    assert ((pd_pred > 0) & (pd_pred < 1)).all()
    # Calibration in the large: mean PD against 22.1 % observed.
    assert pd_pred.mean() == pytest.approx(y.mean(), abs=0.005)
    table = calibration_table(y, pd_pred)
    # The binned card gives tied scores: 9 distinct deciles (one holds 2,004 rows).
    assert len(table) == 9
    assert table["n"].sum() == 9_000
    assert table["observed_default_rate"].iloc[0] < table["observed_default_rate"].iloc[-1]
    assert table["observed_default_rate"].iloc[0] < 0.10
    assert table["observed_default_rate"].iloc[-1] > 0.60
    gap = (table["mean_predicted_pd"] - table["observed_default_rate"]).abs()
    assert gap.max() < 0.06
    assert np.average(gap, weights=table["n"]) < 0.03


def test_intercept_shift_relevels_without_reordering(card, holdout):
    X, y = holdout
    log_odds = card.log_odds(X)
    shift = shift_to_mean_pd(log_odds, 0.01)
    assert shift < 0
    relevelled = card.predict_pd(X, intercept_shift=shift)
    assert relevelled.mean() == pytest.approx(0.01, abs=1e-9)
    assert auc(y, relevelled) == pytest.approx(card.holdout_auc, abs=1e-12)


def test_log_odds_rejects_wrong_shape(card):
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        card.log_odds(np.zeros((3, 5)))


def test_default_scorecard_is_cached_and_read_only(card):
    assert fit_default_scorecard() is card
    with pytest.raises(ValueError, match="read-only"):
        card.coef[0] = 0.0


def test_fit_is_reproducible_and_seed_dependent():
    df = load_uci()
    first = fit_scorecard(df, seed=7)
    again = fit_scorecard(df, seed=7)
    other = fit_scorecard(df, seed=8)
    np.testing.assert_array_equal(first.coef, again.coef)
    assert first.holdout_auc == again.holdout_auc
    assert not np.array_equal(first.coef, other.coef)
    assert 0.70 < other.holdout_auc < 0.80


def test_fit_rejects_bad_arguments():
    df = load_uci().head(200)
    with pytest.raises(ValueError, match="holdout_share"):
        fit_scorecard(df, holdout_share=1.0)
    with pytest.raises(ValueError, match="l2"):
        fit_scorecard(df, l2=0.0)
