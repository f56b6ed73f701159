"""Validation of the scorecard and its re-levelling: AUC, calibration, intercept shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special


def _binary_target(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be 1-D, got shape {y.shape}")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError(f"{where}: y must contain only 0 and 1")
    return y.astype(bool)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve, from the Mann-Whitney U statistic.

    AUC = U / (n_pos * n_neg), where U counts the (default, non-default) pairs in which
    the defaulter has the higher score, ties counting one half. 0.5 is a random
    ranking, 1.0 a perfect one.

    Args:
        y: outcomes, shape ``(n,)``, 0/1 (1 = default).
        score: risk scores (PD, log-odds, any increasing transform), shape ``(n,)``.

    Returns:
        AUC, float in [0, 1].

    Raises:
        ValueError: if the shapes differ, ``y`` is not 0/1, either class is absent,
            or a score is NaN or infinite.
    """
    pos = _binary_target(y, "auc")
    score = np.asarray(score, dtype=float)
    if score.shape != pos.shape:
        raise ValueError(f"auc: y and score differ in shape: {pos.shape} vs {score.shape}")
    if not np.all(np.isfinite(score)):
        raise ValueError("auc: score contains NaN or infinite values")
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auc: y must contain both classes (0 and 1)")
    from scipy import stats  # here: a model process needs no scipy.stats (~45 MB resident)

    u_stat = stats.mannwhitneyu(score[pos], score[~pos], method="asymptotic").statistic
    return float(u_stat) / (n_pos * n_neg)


def calibration_table(y: np.ndarray, pd_pred: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted PD against the observed default rate, by quantile bin of predicted PD.

    Bins are quantiles of ``pd_pred`` (``pandas.qcut`` with ``duplicates="drop"``, so
    tied predictions can yield fewer than ``n_bins`` bins; if all predictions are
    equal there is one bin).

    Args:
        y: outcomes, shape ``(n,)``, 0/1.
        pd_pred: predicted PD, shape ``(n,)``, fractions in [0, 1].
        n_bins: number of quantile bins requested (10 = deciles), >= 1.

    Returns:
        One row per bin, lowest predicted PD first, with columns ``decile`` (bin number,
        int, from 1), ``n`` (rows in the bin, int), ``mean_predicted_pd`` and
        ``observed_default_rate`` (fractions, float64).

    Raises:
        ValueError: if the shapes differ, ``y`` is not 0/1, ``pd_pred`` is outside
            [0, 1] or not finite, the inputs are empty, or ``n_bins`` < 1.
    """
    y_bool = _binary_target(y, "calibration_table")
    pd_pred = np.asarray(pd_pred, dtype=float)
    if pd_pred.shape != y_bool.shape:
        raise ValueError(
            f"calibration_table: y and pd_pred differ in shape: {y_bool.shape} vs {pd_pred.shape}"
        )
    if not np.all(np.isfinite(pd_pred)) or np.any((pd_pred < 0) | (pd_pred > 1)):
        raise ValueError("calibration_table: pd_pred must be finite and in [0, 1]")
    if n_bins < 1:
        raise ValueError(f"calibration_table: n_bins must be >= 1, got {n_bins}")
    if pd_pred.size == 0:
        raise ValueError("calibration_table: y and pd_pred are empty")
    if np.ptp(pd_pred) == 0:  # qcut would drop every edge: one bin holds all rows
        bins = np.zeros(pd_pred.size, dtype=np.int64)
    else:
        bins = pd.qcut(pd_pred, n_bins, labels=False, duplicates="drop")
    frame = pd.DataFrame({"bin": bins, "pd": pd_pred, "y": y_bool.astype(float)})
    table = frame.groupby("bin", sort=True).agg(
        n=("y", "size"), mean_predicted_pd=("pd", "mean"), observed_default_rate=("y", "mean")
    )
    table.insert(0, "decile", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True).astype({"n": np.int64, "decile": np.int64})


def shift_to_mean_pd(log_odds: np.ndarray, target_mean_pd: float) -> float:
    """Intercept shift that re-levels scores to a target mean PD (calibration to central tendency).

    Finds ``s`` with ``mean(expit(log_odds + s)) == target_mean_pd`` by Brent's method
    on [-30, 30]. The ranking of borrowers is unchanged; only the level moves. The
    platform uses it to turn the UCI next-month log-odds into a 12-month PD whose mean
    over its own book equals the book's central tendency.

    Args:
        log_odds: log-odds of the borrowers of the target book, shape ``(n,)``, float64.
        target_mean_pd: desired mean PD over those borrowers, fraction in (0, 1).

    Returns:
        The shift ``s`` to pass as ``intercept_shift`` to :meth:`Scorecard.predict_pd`.

    Raises:
        ValueError: if ``target_mean_pd`` is not in (0, 1); if ``log_odds`` is empty,
            not 1-D or not finite; or if no shift within [-30, 30] reaches the target.
    """
    if not 0.0 < target_mean_pd < 1.0:
        raise ValueError(f"target_mean_pd must be in (0, 1), got {target_mean_pd}")
    log_odds = np.asarray(log_odds, dtype=float)
    if log_odds.ndim != 1 or log_odds.size == 0:
        raise ValueError(f"log_odds must be a non-empty 1-D array, got shape {log_odds.shape}")
    if not np.all(np.isfinite(log_odds)):
        raise ValueError("log_odds contains NaN or infinite values")

    def gap(shift: float) -> float:
        return float(np.mean(special.expit(log_odds + shift))) - target_mean_pd

    lo, hi = -30.0, 30.0
    if gap(lo) > 0 or gap(hi) < 0:
        raise ValueError(
            f"target_mean_pd={target_mean_pd} cannot be reached with an intercept shift "
            f"in [{lo}, {hi}] (mean PD ranges over [{gap(lo) + target_mean_pd:.3g}, "
            f"{gap(hi) + target_mean_pd:.3g}])"
        )
    return float(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))
