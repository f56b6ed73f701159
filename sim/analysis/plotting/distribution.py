"""Distribution figures: a metric by income decile (or another segment) per policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.compare.statistics import _t_interval
from sim.analysis.plotting.style import (
    _format_axis,
    _natural_key,
    _new_figure,
    _one_scenario,
    _require,
    _scenario_suffix,
    metric_label,
    policy_colours,
)

__all__ = ["decile_bars"]


def decile_bars(
    by_segment_df: pd.DataFrame,
    value: str = "limit_cuts",
    group: str = "income_decile",
    confidence: float = 0.95,
) -> Figure:
    """Grouped bars of a distribution metric by level (e.g. income decile) per policy.

    Bars are means over seeds (runs) of ``value`` at each level; error bars are
    Student-t confidence intervals over seeds (none with one seed).

    Args:
        by_segment_df: distribution table of one scenario (e.g.
            :attr:`RunTables.by_segment`) with columns ``policy``, ``group``,
            ``level`` and ``value``.
        value: column to show, e.g. ``"limit_cuts"`` (count) or ``"cut_share"``
            (fraction).
        group: which rows to use (``"income_decile"``, ``"segment"``,
            ``"behaviour_type"``).
        confidence: confidence level of the error bars.

    Returns:
        Figure with one axes; one bar container per policy labelled with its name.

    Raises:
        ValueError: if a column is missing, the table has no rows for ``group``, or it
            mixes scenarios.
    """
    _require(by_segment_df, ["policy", "group", "level", value], "by_segment_df")
    df = by_segment_df[by_segment_df["group"] == group]
    if df.empty:
        raise ValueError(f"by_segment_df has no rows with group == {group!r}")
    scenario = _one_scenario(df, "by_segment_df")
    levels = sorted(df["level"].astype(str).unique().tolist(), key=_natural_key)
    policies = sorted(df["policy"].astype(str).unique().tolist())
    colours = policy_colours(policies)
    fig, (ax,) = _new_figure(1, height=4.0)
    positions = np.arange(len(levels), dtype=float)
    width = 0.8 / len(policies)
    for k, policy in enumerate(policies):
        rows = df[df["policy"].astype(str) == policy]
        means, errors = [], []
        for level in levels:
            values = rows.loc[rows["level"].astype(str) == level, value].to_numpy(dtype=float)
            mean, _std, low, high = _t_interval(values[np.isfinite(values)], confidence)
            means.append(mean)
            errors.append(0.0 if not np.isfinite(high) else high - mean)
        ax.bar(
            positions - 0.4 + width * (k + 0.5),
            np.nan_to_num(np.array(means), nan=0.0),
            width,
            yerr=np.array(errors),
            capsize=2,
            color=colours[policy],
            label=policy,
        )
    ax.set_xticks(positions, levels)
    ax.set_xlabel(
        "Income decile (1 = lowest income)"
        if group == "income_decile"
        else group.replace("_", " ").capitalize()
    )
    ax.set_ylabel(metric_label(value) + " — mean over seeds")
    _format_axis(ax.yaxis, value)
    ax.set_title(
        f"{metric_label(value).split(' (')[0]} by {group.replace('_', ' ')}"
        + _scenario_suffix(scenario),
        fontsize=10,
    )
    ax.legend(title="policy", fontsize=7, title_fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return fig
