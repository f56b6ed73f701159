"""The data moments of the fit window, their weights, and the weighted distance to them."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.empirical.calibration.config import CalibrationConfig
from sim.empirical.validation import observed_panel, panel_statistics

__all__ = ["data_moments", "objective_value"]


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
