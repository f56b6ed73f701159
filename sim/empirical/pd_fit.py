"""The isotonic map from the platform's log-odds to the 12-month PD (estimation).

Estimated on a :func:`sim.empirical.pd_calibration.pd_panel` of development seeds: for the
application map (``platform.pd_calibration_*``) of the log-odds ``z``, and for the
behavioural map (``platform.behaviour_calibration_*``) of ``z`` plus the behavioural
terms (:mod:`sim.empirical.behaviour_score`).

References:
    Zadrozny, B., & Elkan, C. (2002). Transforming classifier scores into accurate
    multiclass probability estimates. *Proc. KDD*, 694-699 (isotonic calibration).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ISOTONIC_QUANTILES", "PD_FLOOR", "fit_isotonic"]

#: Quantiles of the log-odds that bound the groups :func:`fit_isotonic` pools: twentieths,
#: then finer in the riskiest 5 % where the default rate climbs steeply.
ISOTONIC_QUANTILES = (*np.linspace(0.0, 0.95, 20).tolist(), 0.975, 0.99, 0.995, 1.0)

PD_FLOOR = 0.0003
"""Smallest PD the map gives: 0.03 %, the regulatory PD floor (EU CRR Art. 160(1), 163(1))."""


def fit_isotonic(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the monotone map log-odds -> 12-month PD on realised defaults.

    The lines are grouped by quantiles of their log-odds (:data:`ISOTONIC_QUANTILES`;
    tied log-odds stay in one group, empty groups are skipped); each group gives a knot
    at its mean log-odds with its realised default rate; scikit-learn's
    ``IsotonicRegression`` (pool adjacent violators, weighted by group size, bounded below
    by :data:`PD_FLOOR`) makes the rates non-decreasing. The platform interpolates linearly
    between knots and is flat beyond them (``platform.pd_calibration: isotonic``).
    Deterministic for a given panel.

    Args:
        panel: rows of :func:`pd_panel` (``log_odds``, ``default``), one or several seeds.

    Returns:
        ``(log_odds, pd)``: ``platform.pd_calibration_log_odds`` (strictly increasing) and
        ``platform.pd_calibration_pd`` (non-decreasing), float64 arrays of equal length.

    Raises:
        ValueError: fewer than two distinct log-odds groups, or no default in the panel.
    """
    from sklearn.isotonic import IsotonicRegression

    z = panel["log_odds"].to_numpy(dtype=float)
    y = panel["default"].to_numpy().astype(float)
    if y.sum() == 0:
        raise ValueError("fit_isotonic: the panel holds no default")
    # Group k holds the lines whose empirical CDF position (ties share the highest) lies in
    # (q_k, q_{k+1}] of ISOTONIC_QUANTILES, so a block of tied log-odds is never split.
    position = np.searchsorted(np.sort(z), z, side="right") / z.size
    group = np.searchsorted(np.asarray(ISOTONIC_QUANTILES[1:-1]), position, side="left")
    frame = pd.DataFrame({"group": group, "z": z, "y": y})
    groups = frame.groupby("group").agg(z=("z", "mean"), y=("y", "mean"), n=("y", "size"))
    if len(groups) < 2:
        raise ValueError("fit_isotonic: the log-odds take fewer than two distinct groups")
    iso = IsotonicRegression(y_min=PD_FLOOR, y_max=1.0)
    knot_pd = iso.fit_transform(groups["z"], groups["y"], sample_weight=groups["n"])
    return groups["z"].to_numpy(), np.asarray(knot_pd, dtype=float)
