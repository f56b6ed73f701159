"""Human-readable comparison tables: estimates as ``"mean [low, high]"``, one row per policy."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis.compare.headline import HEADLINE_METRICS
from sim.analysis.compare.statistics import summarise

__all__ = ["comparison_table", "format_estimate"]


def format_estimate(mean: float, low: float = math.nan, high: float = math.nan) -> str:
    """Format an estimate as ``"mean [low, high]"`` for humans.

    Numbers of magnitude >= 1000 get thousands separators and no decimals; smaller ones
    four significant digits. A NaN interval is left out; a NaN mean gives ``"n/a"``.

    Args:
        mean: point estimate.
        low: lower interval bound (NaN for none).
        high: upper interval bound (NaN for none).

    Returns:
        The formatted text, e.g. ``"1,234 [1,100, 1,368]"`` or ``"0.1235"``.
    """

    def fmt(x: float) -> str:
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.4g}"

    if not np.isfinite(mean):
        return "n/a"
    if np.isfinite(low) and np.isfinite(high):
        return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"
    return fmt(mean)


def comparison_table(
    summary_df: pd.DataFrame,
    baseline: str | None = "static",
    metrics: Sequence[str] = HEADLINE_METRICS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Wide, human-readable table: one row per (scenario, policy), one column per metric.

    Each cell is ``"mean [ci_low, ci_high]"`` over seeds (see :func:`summarise` and
    :func:`format_estimate`), in the metric's own unit (fractions stay fractions).

    Args:
        summary_df: one row per run (as for :func:`summarise`).
        baseline: policy listed first within each scenario (if present); ``None`` keeps
            alphabetical order.
        metrics: metric columns, in the order of the output columns.
        confidence: two-sided confidence level in (0, 1).

    Returns:
        DataFrame with columns ``scenario``, ``policy``, ``n_seeds`` (int, largest
        number of finite values over the metrics) and one str column per metric, rows
        sorted by scenario then policy (baseline first).

    Raises:
        ValueError: as :func:`summarise`.
    """
    stats_df = summarise(summary_df, metrics=metrics, confidence=confidence)
    metrics = list(metrics)
    rows = []
    for (scenario, policy), group in stats_df.groupby(["scenario", "policy"], sort=True):
        cells = {r.metric: format_estimate(r.mean, r.ci_low, r.ci_high) for r in group.itertuples()}
        n_seeds = int(group["n_seeds"].max()) if len(group) else 0
        rows.append(
            {"scenario": scenario, "policy": policy, "n_seeds": n_seeds}
            | {m: cells[m] for m in metrics}
        )
    out = pd.DataFrame(rows, columns=["scenario", "policy", "n_seeds", *metrics])
    if baseline is not None:
        order = out["policy"].ne(baseline).astype(int)
        out = (
            out.assign(_order=order)
            .sort_values(["scenario", "_order", "policy"], kind="stable")
            .drop(columns="_order")
        )
    return out.reset_index(drop=True)
