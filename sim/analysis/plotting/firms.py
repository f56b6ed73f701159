"""Firm figures: distributions of small businesses' cash buffer days by sector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.plotting.style import (
    _NEUTRAL,
    _new_figure,
    _one_scenario,
    _require,
    _scenario_suffix,
    policy_colours,
)

__all__ = ["buffer_days_distribution"]


def buffer_days_distribution(
    firms_df: pd.DataFrame,
    by: str = "policy",
    sectors: Sequence[str] | None = None,
    threshold_days: float = 15.0,
) -> Figure:
    """Distributions of firms' cash buffer days per policy: one panel per sector.

    Each box summarises the monthly quantiles of the ``firms`` table averaged over
    months and seeds: whiskers at the 10th and 90th percentiles, the box from the 25th
    to the 75th, the line at the median. A dashed line marks ``threshold_days``; dotted
    lines mark the JPMorgan Chase Institute (2016) medians for comparison (27 days
    overall; 16 restaurants, 19 retail, 23 personal services; JPMorgan Chase Institute 2016).

    Args:
        firms_df: the ``firms`` table of one scenario (:attr:`RunTables.firms`) with
            columns ``by``, ``sector``, ``buffer_days_p10`` .. ``buffer_days_p90``.
        by: column that names the boxes (``"policy"``).
        sectors: panels to draw, in order (default ``"all"`` first, then the others
            alphabetically).
        threshold_days: the stress threshold marked on each panel, days.

    Returns:
        Figure with one axes per sector.

    Raises:
        ValueError: if a column is missing, the table is empty or mixes scenarios.
    """
    quantiles = [f"buffer_days_p{p}" for p in (10, 25, 50, 75, 90)]
    _require(firms_df, [by, "sector", *quantiles], "firms_df")
    if firms_df.empty:
        raise ValueError("firms_df has no rows")
    scenario = _one_scenario(firms_df, "firms_df")
    present = sorted(firms_df["sector"].astype(str).unique().tolist())
    if sectors is None:
        sectors = (["all"] if "all" in present else []) + [x for x in present if x != "all"]
    groups = sorted(firms_df[by].astype(str).unique().tolist())
    colours = policy_colours(groups) if by == "policy" else {g: "C0" for g in groups}
    reference = {"all": 27.0, "restaurants": 16.0, "retail": 19.0, "services": 23.0}
    fig, axes = _new_figure(len(sectors), ncols=min(len(sectors), 3), height=3.6)
    for ax, sector in zip(axes, sectors, strict=True):
        rows = firms_df[firms_df["sector"].astype(str) == sector]
        stats, names = [], []
        for g in groups:
            q = rows.loc[rows[by].astype(str) == g, quantiles].mean(numeric_only=True)
            if not np.isfinite(q.to_numpy(dtype=float)).all():
                continue
            stats.append(
                {
                    "whislo": q["buffer_days_p10"],
                    "q1": q["buffer_days_p25"],
                    "med": q["buffer_days_p50"],
                    "q3": q["buffer_days_p75"],
                    "whishi": q["buffer_days_p90"],
                    "fliers": [],
                    "label": g,
                }
            )
            names.append(g)
        if stats:
            boxes = ax.bxp(
                stats, orientation="horizontal", patch_artist=True, showfliers=False, widths=0.6
            )
            for patch, g in zip(boxes["boxes"], names, strict=True):
                patch.set_facecolor(colours[g])
                patch.set_alpha(0.6)
            for line in boxes["medians"]:
                line.set_color("black")
        ax.axvline(threshold_days, color=_NEUTRAL, linestyle="--", linewidth=1)
        if sector in reference:
            ax.axvline(reference[sector], color="black", linestyle=":", linewidth=1)
        ax.set_title(sector.replace("_", " "), fontsize=9)
        ax.set_xlabel("Cash buffer days")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(
        "Cash buffer days: 10-25-50-75-90th percentiles (mean over months and seeds); "
        f"dashed {threshold_days:g} days, dotted JPMCI 2016 median" + _scenario_suffix(scenario),
        fontsize=9,
    )
    return fig
