"""The data moments of the fit window, their weights, and the weighted distance to them."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.empirical.calibration.config import CalibrationConfig
from sim.empirical.validation import observed_panel, panel_statistics

__all__ = ["data_moments", "msm_standard_errors", "objective_value"]


def _select(stats: pd.DataFrame, patterns: Sequence[str]) -> pd.DataFrame:
    keep = [any(fnmatch.fnmatchcase(s, p) for p in patterns) for s in stats["stat"]]
    return stats[keep]


def data_moments(uci: pd.DataFrame, config: CalibrationConfig) -> pd.DataFrame:
    """The observed moments of the fit window and their weights.

    Returns:
        One row per moment (fitted first, then reported): ``stat``, ``family``,
        ``observed``, ``n``, ``variance``, ``weight`` (1 / variance for fitted moments,
        0 for reported ones) and ``fitted`` (bool).

    Raises:
        ValueError: a pattern matches nothing, or a fitted moment has no positive variance.
    """
    panel = observed_panel(uci, config.months, behaviour_window=config.behaviour_window)
    stats = panel_statistics(panel, uci)
    for pattern in [*config.moments, *config.reported]:
        if not any(fnmatch.fnmatchcase(s, pattern) for s in stats["stat"]):
            raise ValueError(f"calibration: moment pattern {pattern!r} matches no statistic")
    fitted = _select(stats, config.moments).assign(fitted=True)
    reported = _select(stats, config.reported)
    reported = reported[~reported["stat"].isin(fitted["stat"])].assign(fitted=False)
    out = pd.concat([fitted, reported], ignore_index=True).rename(columns={"value": "observed"})
    bad = out["fitted"] & ~(out["variance"] > 0)
    if bad.any():
        names = out.loc[bad, "stat"].tolist()
        raise ValueError(f"calibration: fitted moment(s) without a positive variance: {names}")
    out["weight"] = np.where(
        out["fitted"], 1.0 / out["variance"].where(out["variance"] > 0, 1.0), 0.0
    )
    return out[["stat", "family", "observed", "n", "variance", "weight", "fitted"]]


def objective_value(simulated: pd.Series, moments: pd.DataFrame) -> float:
    """``sum_k w_k (m_k^sim - m_k^data)^2`` over the fitted moments.

    Args:
        simulated: simulated values indexed by ``stat``.
        moments: :func:`data_moments` output.

    Returns:
        The objective (``inf`` if a fitted simulated moment is NaN).
    """
    fitted = moments[moments["fitted"]]
    sim = simulated.reindex(fitted["stat"]).to_numpy(float)
    if not np.all(np.isfinite(sim)):
        return float("inf")
    return float(np.sum(fitted["weight"].to_numpy() * (sim - fitted["observed"].to_numpy()) ** 2))


def msm_standard_errors(
    jacobian: np.ndarray,
    weights: np.ndarray,
    variances: np.ndarray,
    simulation_ratio: float,
) -> np.ndarray:
    """Asymptotic standard errors of method-of-simulated-moments estimates.

    The sandwich ``V = (G'WG)^-1 G'W S W G (G'WG)^-1`` with ``S = (1 + r) diag(var)``:
    the data moments' sampling variances, inflated by the simulation noise of a simulated
    book ``1 / r`` times the data's size (McFadden 1989; Gourieroux & Monfort 1996). The
    moments are treated as independent (a diagonal ``S``), as the objective's weights are.

    Args:
        jacobian: ``(n_moments, n_parameters)`` derivatives of the simulated moments.
        weights: ``(n_moments,)`` the objective's weights.
        variances: ``(n_moments,)`` sampling variances of the data moments.
        simulation_ratio: ``r = n_data / n_simulated`` (1.0 for a book of the data's size).

    Returns:
        ``(n_parameters,)`` standard errors; NaN for every parameter if ``G'WG`` is
        singular (a parameter no fitted moment moves).

    Raises:
        ValueError: shapes disagree, or a weight, variance or the ratio is negative.
    """
    g = np.asarray(jacobian, dtype=float)
    w = np.asarray(weights, dtype=float)
    v = np.asarray(variances, dtype=float)
    if g.ndim != 2 or w.shape != (g.shape[0],) or v.shape != (g.shape[0],):
        raise ValueError("msm_standard_errors: jacobian (k, p), weights and variances (k,)")
    if (w < 0).any() or (v < 0).any() or simulation_ratio < 0:
        raise ValueError("msm_standard_errors: weights, variances and the ratio must be >= 0")
    bread = g.T @ (w[:, None] * g)
    meat = g.T @ ((w * w * v * (1.0 + simulation_ratio))[:, None] * g)
    try:
        inverse = np.linalg.inv(bread)
    except np.linalg.LinAlgError:
        return np.full(g.shape[1], np.nan)
    cov = inverse @ meat @ inverse
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))
