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
    SEGMENT_NAMES,
    TARGET_COLUMN,
    Scorecard,
    SegmentedScorecard,
    auc,
    calibration_table,
    cross_validated_auc,
    features_from_state,
    fit_default_scorecard,
    fit_scorecard,
    holdout_mask,
    segment_of,
    shift_to_mean_pd,
    uci_features,
)
from sim.world.data import load_uci

# --------------------------------------------------------------------------- features


def _two_rows() -> pd.DataFrame:
    """Row A: 5 months late (clipped to 3), bills over the limit. Row B: current, no bills."""
    return pd.DataFrame(
        {
            "LIMIT_BAL": [20_000, 10_000],
            "PAY_0": [5, -2],
            "PAY_2": [4, 3],
            "PAY_3": [3, 1],
            "PAY_4": [2, 0],
            "PAY_5": [-1, -1],
            "PAY_6": [0, 2],
            "BILL_AMT1": [30_000, 0],
            "BILL_AMT2": [4_000, 0],
            "BILL_AMT3": [2_000, -500],
            "BILL_AMT4": [1_000, 0],
            "PAY_AMT1": [1_000, 0],
            "PAY_AMT2": [1_000, 100],
            "PAY_AMT3": [0, 0],
            "PAY_AMT4": [500, 0],
            "PAY_AMT5": [0, 400],
        }
    )


# Row A: payment ratios 1000/4000, 1000/2000, 0/1000 -> min 0; mean bill (30000 + 4000 +
# 2000) / 3 = 12000, utilisation 0.6; headroom max(20000 - 30000, 0) = 0 and 20000 - 12000
# = 8000; mean payment 2500 / 5 = 500. Row B: no bill anywhere (-500 counts as 0): ratios
# 1, utilisation 0, headroom 10000 twice, mean payment 500 / 5 = 100.
_TWO_ROWS_EXPECTED = np.array(
    [
        [3.0, 4.0, 0.0, 0.6, 0.0, np.log1p(8_000), np.log1p(500)],
        [0.0, 3.0, 1.0, 0.0, np.log1p(10_000), np.log1p(10_000), np.log1p(100)],
    ]
)


def test_feature_names_in_order():
    assert FEATURE_NAMES == (
        "months_late",
        "delinquent_months_6m",
        "payment_ratio_min_3m",
        "utilisation_3m",
        "log_headroom_twd",
        "log_headroom_3m_twd",
        "log_payment_5m_twd",
    )


def test_uci_features_on_hand_made_rows():
    X = uci_features(_two_rows())
    assert X.shape == (2, 7)
    assert X.dtype == np.float64
    np.testing.assert_allclose(X, _TWO_ROWS_EXPECTED, rtol=0, atol=1e-12)


def test_features_from_state_equals_uci_features():
    X_state = features_from_state(
        months_late=np.array([5, 0]),
        delinquent_months_6m=np.array([4, 3]),
        payment_ratio_min_3m=np.array([0.0, 1.0]),
        statement_twd=np.array([30_000.0, 0.0]),
        limit_twd=np.array([20_000.0, 10_000.0]),
        statement_mean_3m_twd=np.array([12_000.0, 0.0]),
        payment_mean_5m_twd=np.array([500.0, 100.0]),
    )
    assert X_state.dtype == np.float64
    np.testing.assert_allclose(X_state, uci_features(_two_rows()), rtol=0, atol=1e-12)


def test_clipping_at_the_ends():
    # A negative count and ratio clip to 0, nine delinquent months to 6; a zero limit is
    # fully over-used (1.5) with no headroom; a negative payment counts as none.
    X_state = features_from_state([-1], [9], [-0.5], [100.0], [0.0], [50.0], [-3.0])
    np.testing.assert_array_equal(X_state, [[0.0, 6.0, 0.0, 1.5, 0.0, 0.0, 0.0]])
    X_state = features_from_state([7], [2], [2.0], [0.0], [100.0], [1_000.0], [0.0])
    np.testing.assert_array_equal(X_state, [[3.0, 2.0, 1.0, 1.5, np.log1p(100.0), 0.0, 0.0]])


def test_features_from_state_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        features_from_state([0, 1], [0, 1], [0.1, 0.2], [1.0, 1.0], [1.0, 1.0], [0, 0], [4])
    with pytest.raises(ValueError, match="limit_twd contains NaN"):
        features_from_state([0], [0], [0.1], [1.0], [np.nan], [0.0], [4])
    with pytest.raises(ValueError, match="payment_mean_5m_twd must be 1-D"):
        features_from_state([0], [0], [0.1], [1.0], [1.0], [0.0], [[4]])


def test_uci_features_names_missing_columns():
    with pytest.raises(KeyError, match="PAY_AMT5"):
        uci_features(_two_rows().drop(columns=["PAY_AMT5"]))


def test_segments_by_hand():
    # 60+ DPD now -> 2 whatever the history; a missed month in 6 -> 1; clean -> 0.
    segment = segment_of(np.array([0, 0, 1, 2, 3]), np.array([0, 1, 1, 2, 6]))
    assert segment.dtype == np.int8
    assert segment.tolist() == [0, 1, 1, 2, 2]
    assert SEGMENT_NAMES == ("clean_6m", "delinquent_6m", "dpd_60_plus")


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
def card() -> SegmentedScorecard:
    return fit_default_scorecard()


@pytest.fixture(scope="module")
def holdout() -> tuple[np.ndarray, np.ndarray]:
    df = load_uci()
    y = df[TARGET_COLUMN].to_numpy()
    mask = holdout_mask(y, 0.3, DEFAULT_SEED)
    return uci_features(df)[mask], y[mask]


def test_scorecard_shape_and_rows(card):
    assert card.feature_names == FEATURE_NAMES
    assert card.segment_names == SEGMENT_NAMES
    assert card.is_binned
    assert all(seg.coef.shape == (7,) for seg in card.segments)
    assert (card.train_rows, card.holdout_rows) == (21_000, 9_000)
    # Training rows by segment: clean 6 months, delinquent in 6 months, 60+ DPD now (of
    # 19,931 / 6,939 / 3,130 rows overall).
    assert [seg.train_rows for seg in card.segments] == [13_916, 4_930, 2_154]


def test_holdout_auc_meets_the_target(card, holdout):
    # Issue 17: hold-out AUC >= 0.77 on the fixed stratified split (seed DEFAULT_SEED).
    # The earlier single card on six features gave 0.750 on it; a gradient-boosted
    # classifier on all 23 UCI columns 0.773.
    assert card.holdout_auc >= 0.77
    assert card.holdout_auc == pytest.approx(0.7707, abs=0.001)  # reference value
    X, y = holdout
    assert auc(y, card.predict_pd(X)) == pytest.approx(card.holdout_auc, abs=1e-12)


@pytest.mark.slow
def test_cross_validated_auc_is_not_a_lucky_split():
    folds = cross_validated_auc(load_uci())
    assert folds.shape == (5,)
    # 0.7777 on average (folds 0.768-0.786): the fixed hold-out is on the low side.
    assert folds.mean() >= 0.77
    assert folds.min() > 0.76


def _points(card: SegmentedScorecard, segment: str, name: str) -> np.ndarray:
    seg = card.segments[SEGMENT_NAMES.index(segment)]
    assert seg.bin_points is not None
    return seg.bin_points[FEATURE_NAMES.index(name)]


def test_points_are_monotone_and_follow_each_features_trend(card):
    # Every feature's points are monotone in it (optimal monotone binning) and no
    # coefficient is positive (a sign flip is dropped in the fit), so the points follow
    # the feature's own default-rate trend.
    for seg in card.segments:
        assert np.all(seg.coef <= 0)
        for points in seg.bin_points:
            steps = np.diff(points)
            assert np.all(steps >= 0) or np.all(steps <= 0)
    # Risk rises with the number of delinquent months and falls with the mean payment
    # and the 3-month headroom, in every segment that uses them.
    for segment in ("delinquent_6m", "dpd_60_plus"):
        assert np.all(np.diff(_points(card, segment, "delinquent_months_6m")) > 0)
    for segment in SEGMENT_NAMES:
        assert np.all(np.diff(_points(card, segment, "log_payment_5m_twd")) < 0)
    assert np.all(np.diff(_points(card, "clean_6m", "log_headroom_3m_twd")) < 0)
    # In the clean segment a nearly idle line (3-month utilisation under 0.2 %) scores
    # 0.87 log-odds above one used above 1.6 %: the UCI book's idle accounts default more
    # often than its revolvers (the data side of mechanism M2).
    util = _points(card, "clean_6m", "utilisation_3m")
    assert np.all(np.diff(util) < 0)
    assert util[0] - util[-1] == pytest.approx(0.871, abs=0.01)
    # The segments' base log-odds rise with delinquency.
    assert np.all(np.diff([seg.intercept for seg in card.segments]) > 1.0)


def test_segments_score_by_their_own_card(card):
    X = np.array(
        [
            [0.0, 0.0, 1.0, 0.3, 10.0, 10.0, 8.0],  # clean
            [1.0, 2.0, 1.0, 0.3, 10.0, 10.0, 8.0],  # delinquent, 30 DPD
            [2.0, 2.0, 1.0, 0.3, 10.0, 10.0, 8.0],  # 60 DPD
        ]
    )
    z = card.log_odds(X)
    for row, seg in enumerate(card.segments):
        assert z[row] == pytest.approx(seg.log_odds(X[row : row + 1])[0], abs=1e-12)
    assert z[0] < z[1] < z[2]


def test_points_table_lists_every_segment(card):
    table = card.points_table()
    assert table["segment"].unique().tolist() == list(SEGMENT_NAMES)
    n_bins = sum(len(p) for seg in card.segments for p in seg.bin_points)
    assert len(table) == n_bins
    first = table[table["segment"] == "clean_6m"]
    assert first["intercept"].unique().tolist() == [card.segments[0].intercept]


def test_stored_default_card_equals_a_fresh_fit(card):
    fresh = fit_scorecard(load_uci())
    assert fresh.holdout_auc == pytest.approx(card.holdout_auc, abs=1e-9)
    for new, old in zip(fresh.segments, card.segments, strict=True):
        assert new.intercept == pytest.approx(old.intercept, abs=1e-6)
        for e_new, e_old, p_new, p_old in zip(
            new.bin_edges, old.bin_edges, new.bin_points, old.bin_points, strict=True
        ):
            np.testing.assert_allclose(e_new, e_old, atol=1e-9)
            np.testing.assert_allclose(p_new, p_old, atol=1e-6)
    again = SegmentedScorecard.from_dict(card.to_dict())
    X = uci_features(load_uci().head(500))
    np.testing.assert_array_equal(again.log_odds(X), card.log_odds(X))


def test_predict_pd_holdout_calibration(card, holdout):
    X, y = holdout
    pd_pred = card.predict_pd(X)
    assert pd_pred.shape == (9_000,)
    assert ((pd_pred > 0) & (pd_pred < 1)).all()
    # Calibration in the large: mean PD 22.09 % against 22.12 % observed.
    assert pd_pred.mean() == pytest.approx(y.mean(), abs=0.005)
    table = calibration_table(y, pd_pred)
    assert len(table) == 10
    assert table["observed_default_rate"].iloc[0] < 0.08
    assert table["observed_default_rate"].iloc[-1] > 0.65
    gap = (table["mean_predicted_pd"] - table["observed_default_rate"]).abs()
    assert gap.max() < 0.025


def test_intercept_shift_relevels_without_reordering(card, holdout):
    X, y = holdout
    log_odds = card.log_odds(X)
    shift = shift_to_mean_pd(log_odds, 0.01)
    assert shift < 0
    relevelled = card.predict_pd(X, intercept_shift=shift)
    assert relevelled.mean() == pytest.approx(0.01, abs=1e-9)
    assert auc(y, relevelled) == pytest.approx(card.holdout_auc, abs=1e-12)


def test_log_odds_rejects_wrong_shape(card):
    with pytest.raises(ValueError, match=r"shape \(n, 7\)"):
        card.log_odds(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="expected 7 columns"):
        card.log_odds_columns((np.zeros(3),))


def test_segmented_card_rejects_mismatched_segments(card):
    with pytest.raises(ValueError, match="3 cards for 2 segment names"):
        SegmentedScorecard(segments=card.segments, segment_names=("a", "b"))
    other = Scorecard(
        coef=[0.0],
        intercept=0.0,
        feature_names=("months_late",),
        feature_mean=[0.0],
        feature_std=[1.0],
    )
    with pytest.raises(ValueError, match="differ in feature_names"):
        SegmentedScorecard(segments=(card.segments[0], other), segment_names=("a", "b"))


def test_default_scorecard_is_cached_and_read_only(card):
    assert fit_default_scorecard() is card
    with pytest.raises(ValueError, match="read-only"):
        card.segments[0].coef[0] = 0.0


def test_fit_is_reproducible_and_seed_dependent():
    df = load_uci()
    first = fit_scorecard(df, seed=7)
    again = fit_scorecard(df, seed=7)
    other = fit_scorecard(df, seed=8)
    np.testing.assert_array_equal(first.segments[0].coef, again.segments[0].coef)
    assert first.holdout_auc == again.holdout_auc
    assert not np.array_equal(first.segments[0].coef, other.segments[0].coef)
    assert 0.75 < other.holdout_auc < 0.80


def test_fit_rejects_bad_arguments():
    df = load_uci().head(200)
    with pytest.raises(ValueError, match="holdout_share"):
        fit_scorecard(df, holdout_share=1.0)
    with pytest.raises(ValueError, match="l2"):
        fit_scorecard(df, l2=0.0)
