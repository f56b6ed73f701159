"""Forest plot of paired differences against the baseline policy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.plotting.style import (
    _error,
    _format_axis,
    _new_figure,
    _require,
    metric_label,
    policy_colours,
)

__all__ = ["forest_plot"]


def forest_plot(
    paired_df: pd.DataFrame, metrics: Sequence[str] | None = None, ncols: int | None = None
) -> Figure:
    """Paired differences against the baseline with confidence intervals (forest plot).

    One panel per metric (stacked), one row per policy (and scenario, if several), the
    point at ``mean_diff`` with its ``[ci_low, ci_high]`` interval and a dashed line at
    zero (no difference from the baseline).

    Args:
        paired_df: output of :func:`sim.analysis.compare.paired_differences`
            (``policy, scenario, metric, baseline, n_pairs, mean_diff, ci_low,
            ci_high``).
        metrics: metrics to show, in panel order; ``None`` for all in ``paired_df``.
        ncols: panels per row; ``None`` for one column up to four metrics, else three.

    Returns:
        Figure with one axes per metric; each policy's interval is an error-bar
        container labelled with the policy name.

    Raises:
        ValueError: if a column is missing, or there is nothing to plot (no rows for
            the metrics).
    """
    _require(
        paired_df, ["policy", "scenario", "metric", "mean_diff", "ci_low", "ci_high"], "paired_df"
    )
    if metrics is None:
        metrics = list(dict.fromkeys(paired_df["metric"].tolist()))
    metrics = list(metrics)
    df = paired_df[paired_df["metric"].isin(metrics)]
    if df.empty or not metrics:
        raise ValueError("paired_df has no rows for the requested metrics")
    baseline = str(df["baseline"].iloc[0]) if "baseline" in df.columns else "baseline"
    several = df["scenario"].nunique() > 1
    keys = df[["policy", "scenario"]].drop_duplicates().sort_values(["scenario", "policy"])
    labels = [f"{p} ({s})" if several else str(p) for p, s in keys.itertuples(index=False)]
    colours = policy_colours(keys["policy"].tolist())
    height = max(1.6, 0.35 * len(keys) + 1.1)
    if ncols is None:
        ncols = 1 if len(metrics) <= 4 else 3
    fig, axes = _new_figure(len(metrics), ncols=ncols, height=height)
    for ax, metric in zip(axes, metrics, strict=True):
        rows = df[df["metric"] == metric].set_index(["policy", "scenario"])
        for pos, (policy, scenario) in enumerate(keys.itertuples(index=False)):
            if (policy, scenario) not in rows.index:
                continue
            r = rows.loc[(policy, scenario)]
            mean = np.array([float(r["mean_diff"])])
            err = _error(mean, np.array([float(r["ci_low"])]), np.array([float(r["ci_high"])]))
            ax.errorbar(
                mean,
                [pos],
                xerr=err,
                fmt="o",
                color=colours[str(policy)],
                capsize=3,
                label=str(policy),
            )
        ax.axvline(0.0, color="black", linestyle="--", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.set_yticks(range(len(keys)), labels)
        ax.set_ylim(-0.6, len(keys) - 0.4)
        ax.invert_yaxis()
        ax.set_xlabel(metric_label(metric, difference=True))
        _format_axis(ax.xaxis, metric)
        ax.set_title(metric_label(metric).split(" (")[0], fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Paired differences, policy − {baseline} (mean and CI over seeds)", fontsize=10)
    return fig
