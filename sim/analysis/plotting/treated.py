"""Who bears the cuts: effects on the treated by subgroup, and the event study."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.plotting.style import (
    _format_axis,
    _natural_key,
    _new_figure,
    _require,
    metric_label,
    metric_unit,
    policy_colours,
)

__all__ = ["event_study_plot", "who_bears_cuts"]

_GROUP_TITLES = {
    "income_decile": "Income decile",
    "behaviour_type": "Behaviour type",
    "sector": "Sector of the owner's firm",
}
_EVENT_LABELS = {
    "limit_cny": ("Platform limit", "limit_cny"),
    "debt_cny": ("Debt, all lenders", "debt_cny"),
    "interest_fees_cny": ("Interest and fees in the month", "interest_fees_cny"),
    "unmet_need_cny": ("Unmet credit need in the month", "unmet_need_cny"),
    "lenders": ("Lenders", "lenders"),
    "dpd30": ("30+ DPD share", "dpd30_share"),
    "defaulted": ("Defaulted share", "defaulted_share"),
}


def who_bears_cuts(
    effects: pd.DataFrame,
    outcome: str = "default_probability",
    group: str = "cut",
    by: Sequence[str] = ("income_decile", "behaviour_type", "sector"),
) -> Figure:
    """Share cut and the effect on the cut, by income decile, behaviour type and sector.

    Top row: share of each subgroup's borrowers in ``group`` under each policy. Bottom
    row: the paired difference (policy - baseline, same borrowers) of ``outcome`` over
    that group, with its interval over seeds. Policies are dodged side by side.

    Args:
        effects: borrower effects of :func:`sim.analysis.compare.treated_effects` for one
            scenario (``policy, group, by, level, outcome, treated_share, mean_diff,
            ci_low, ci_high``).
        outcome: the outcome of the bottom row.
        group: treatment group ("cut", "raised" or "treated").
        by: subgroup kinds, one column each (kinds without rows are skipped).

    Returns:
        Figure with two rows of panels.

    Raises:
        ValueError: a column is missing or no row matches ``group`` and ``outcome``.
    """
    _require(effects, ["policy", "group", "by", "level", "outcome", "mean_diff"], "effects")
    rows = effects[(effects["group"] == group) & (effects["outcome"] == outcome)]
    kinds = [k for k in by if (rows["by"] == k).any()]
    if not kinds:
        raise ValueError(f"no {group!r} rows of {outcome!r} by {list(by)}")
    policies = sorted(rows["policy"].astype(str).unique())
    colours = policy_colours(policies)
    fig = Figure(figsize=(4.4 * len(kinds), 6.4), layout="constrained")
    axes = fig.subplots(2, len(kinds), squeeze=False)
    width = 0.8 / max(len(policies), 1)
    for col, kind in enumerate(kinds):
        part = rows[rows["by"] == kind]
        levels = sorted(part["level"].astype(str).unique(), key=_natural_key)
        xs = np.arange(len(levels))
        for k, policy in enumerate(policies):
            p = part[part["policy"] == policy].set_index("level").reindex(levels)
            offset = xs - 0.4 + width * (k + 0.5)
            axes[0, col].bar(offset, p["treated_share"], width, color=colours[policy], label=policy)
            mean = p["mean_diff"].to_numpy(dtype=float)
            err = np.vstack([mean - p["ci_low"], p["ci_high"] - mean])
            axes[1, col].errorbar(
                offset,
                mean,
                yerr=np.clip(np.nan_to_num(err), 0, None),
                fmt="o",
                color=colours[policy],
                capsize=2,
                markersize=4,
            )
        for ax in axes[:, col]:
            ax.set_xticks(xs, levels, rotation=30 if kind != "income_decile" else 0, fontsize=8)
            ax.grid(alpha=0.3, axis="y")
        axes[1, col].axhline(0.0, color="0.4", linestyle="--", linewidth=1)
        axes[0, col].set_title(_GROUP_TITLES.get(kind, kind), fontsize=10)
        axes[0, col].set_ylabel(f"Share {group} (%)")
        _format_axis(axes[0, col].yaxis, "share")
        axes[1, col].set_ylabel(metric_label(outcome, difference=True))
        _format_axis(axes[1, col].yaxis, outcome)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=8)
    return fig


def event_study_plot(
    events: pd.DataFrame, outcomes: Sequence[str] | None = None, baseline: str = "static"
) -> Figure:
    """Paired differences around the first cut: cut borrowers vs themselves under the baseline.

    One panel per outcome; one line per policy of the mean difference by event month
    (0 = month of the first cut) with its interval over seeds as a band.

    Args:
        events: :func:`sim.analysis.compare.event_study` rows of one scenario.
        outcomes: panel outcomes; default every one present.
        baseline: the baseline's name (axis labels).

    Returns:
        The figure.

    Raises:
        ValueError: if ``events`` is empty or lacks a column.
    """
    _require(
        events, ["policy", "event_month", "outcome", "mean_diff", "ci_low", "ci_high"], "events"
    )
    if events.empty:
        raise ValueError("event_study_plot: no rows")
    present = list(dict.fromkeys(events["outcome"].astype(str)))
    outcomes = [o for o in (outcomes or present) if o in present]
    fig, axes = _new_figure(len(outcomes), ncols=3, height=2.8)
    colours = policy_colours(events["policy"].astype(str).unique())
    for ax, outcome in zip(axes, outcomes, strict=True):
        part = events[events["outcome"] == outcome]
        for policy, g in part.groupby("policy", sort=True):
            g = g.sort_values("event_month")
            t = g["event_month"].to_numpy()
            ax.plot(t, g["mean_diff"], color=colours[str(policy)], label=str(policy), lw=1.4)
            ax.fill_between(t, g["ci_low"], g["ci_high"], color=colours[str(policy)], alpha=0.18)
        ax.axhline(0.0, color="0.4", linestyle="--", linewidth=1)
        ax.axvline(0.0, color="0.4", linestyle=":", linewidth=1)
        title, unit_name = _EVENT_LABELS.get(outcome, (outcome, outcome))
        ax.set_title(title, fontsize=9)
        unit = metric_unit(unit_name)
        ax.set_ylabel(f"Δ ({'pp' if unit == '%' else unit or 'count'})", fontsize=8)
        _format_axis(ax.yaxis, unit_name)
        ax.set_xlabel("Months since the first cut")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=8)
    fig.suptitle(f"Cut borrowers: policy − same borrowers under {baseline}", fontsize=10)
    return fig
