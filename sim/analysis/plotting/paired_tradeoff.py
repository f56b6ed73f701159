"""Three-way trade-off: platform loss x borrower cost x SME stress, as paired differences.

Every quantity is a paired difference against the baseline policy (the same scenario and
seeds under common random numbers), with its paired confidence interval, so the origin
is the baseline and a colour is "better" or "worse" only by the sign of a difference: the
colour scale is diverging and centred at zero, and its limits cover the intervals, so a
difference smaller than its uncertainty stays pale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from sim.analysis.compare import HIGHER_IS_WORSE
from sim.analysis.plotting.style import _error, _format_axis, _label_points, metric_label

__all__ = ["pareto_set", "pareto_set_ci", "tradeoff_three_way"]


def pareto_set(points: pd.DataFrame, worse: dict[str, bool]) -> list[str]:
    """Policies not dominated on several outcomes.

    A policy is dominated if another is at least as good on every outcome and strictly
    better on one. Rows with a NaN outcome are ignored.

    Args:
        points: one row per policy (index = names), one column per outcome.
        worse: for each outcome column, True when a larger value is worse.

    Returns:
        Names of the non-dominated policies, in the order of ``points``.
    """
    cols = list(worse)
    values = points[cols].to_numpy(dtype=float) * np.array(
        [1.0 if worse[c] else -1.0 for c in cols]
    )
    ok = np.isfinite(values).all(axis=1)
    names = points.index.astype(str).to_numpy()
    keep = []
    for i in np.flatnonzero(ok):
        other = values[ok]
        dominated = (other <= values[i]).all(axis=1) & (other < values[i]).any(axis=1)
        if not dominated.any():
            keep.append(names[i])
    return keep


def pareto_set_ci(
    means: pd.DataFrame, lows: pd.DataFrame, highs: pd.DataFrame, worse: dict[str, bool]
) -> list[str]:
    """Policies not *clearly* dominated: the Pareto set with confidence intervals.

    Policy ``a`` clearly dominates ``b`` when ``b`` is nowhere clearly better than ``a``
    and ``a`` is clearly better on at least one outcome, "clearly better" meaning the two
    intervals do not overlap (``a``'s interval entirely on the better side of ``b``'s).
    Non-overlap of intervals is a conservative test of a difference, so the set keeps
    every policy that the data cannot rule out; rows with a NaN are ignored.

    Args:
        means: one row per policy (index = names), one column per outcome: estimates.
        lows: lower interval bounds, same shape.
        highs: upper interval bounds, same shape.
        worse: for each outcome column, True when a larger value is worse.

    Returns:
        Names of the policies not clearly dominated, in the order of ``means``.
    """
    cols = list(worse)
    sign = np.array([1.0 if worse[c] else -1.0 for c in cols])
    lo = lows[cols].to_numpy(dtype=float)
    hi = highs[cols].to_numpy(dtype=float)
    # oriented so that lower is better: the interval [best, worst] of each outcome
    best = np.where(sign > 0, lo, -hi)
    worst = np.where(sign > 0, hi, -lo)
    ok = np.isfinite(best).all(axis=1) & np.isfinite(worst).all(axis=1)
    names = means.index.astype(str).to_numpy()
    keep = []
    for i in np.flatnonzero(ok):
        a_better = worst[ok] < best[i]  # (candidates, outcomes): a clearly better than i
        i_better = worst[i] < best[ok]
        dominated = (~i_better).all(axis=1) & a_better.any(axis=1)
        if not dominated.any():
            keep.append(names[i])
    return keep


def _wide(paired: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    rows = paired[paired["metric"].isin(metrics)]
    wide = rows.pivot_table(
        index="policy", columns="metric", values=["mean_diff", "ci_low", "ci_high"]
    )
    out = pd.DataFrame(index=wide.index.astype(str))
    for m in metrics:
        for stat in ("mean_diff", "ci_low", "ci_high"):
            out[f"{m}:{stat}"] = wide[(stat, m)] if (stat, m) in wide.columns else np.nan
    return out


def tradeoff_three_way(
    paired_df: pd.DataFrame,
    loss_metric: str = "realised_loss_cny",
    cost_metric: str = "effective_apr",
    stress_metric: str = "share_buffer_under_15d",
    baseline: str = "static",
    aliases: dict[str, str] | None = None,
) -> Figure:
    """Paired differences vs the baseline on three outcomes, with the Pareto set.

    Left panel: one point per policy at (Δ ``cost_metric``, Δ ``loss_metric``) with the
    paired confidence intervals as error bars; the baseline is the origin (dotted lines).
    The point's colour is Δ ``stress_metric`` on a diverging scale centred at 0 (red =
    more stress, blue = less), symmetric and wide enough to hold every interval. Right
    panel: Δ ``stress_metric`` with its interval per policy, in the same colours.
    Policies in the CI-aware Pareto set over the three outcomes (:func:`pareto_set_ci`:
    not clearly dominated by another policy or the baseline, at 0, 0, 0) are ringed and
    starred; a policy whose three intervals all include 0 has a
    grey dashed edge and is labelled "= baseline within CIs".

    Args:
        paired_df: :func:`sim.analysis.compare.paired_differences` rows of one scenario.
        loss_metric: platform loss (y axis), e.g. realised loss.
        cost_metric: borrower cost (x axis), e.g. effective APR.
        stress_metric: SME stress (colour and right panel); directions of all three
            from :data:`HIGHER_IS_WORSE`.
        baseline: the baseline's name (drawn at the origin).
        aliases: display names (e.g. ``"a = b"`` for policies with identical decisions);
            policies mapped to the same name are drawn once.

    Returns:
        The figure (two axes and a colour bar).

    Raises:
        ValueError: if ``paired_df`` has no row of the loss or cost metric, or several
            scenarios.
    """
    if "scenario" in paired_df.columns and paired_df["scenario"].nunique() > 1:
        raise ValueError("tradeoff_three_way: filter paired_df to one scenario first")
    metrics = [loss_metric, cost_metric, stress_metric]
    for m in metrics[:2]:
        if m not in set(paired_df["metric"]):
            raise ValueError(f"metric {m!r} not in paired_df")
    wide = _wide(paired_df, metrics)
    base_row = pd.DataFrame(0.0, index=[baseline], columns=wide.columns)
    wide = pd.concat([base_row, wide])
    if aliases:
        wide.index = [aliases.get(p, p) for p in wide.index]
        wide = wide[~wide.index.duplicated()]
    names = wide.index.astype(str).tolist()
    means = wide[[f"{m}:mean_diff" for m in metrics]].set_axis(metrics, axis=1)
    worse = {m: HIGHER_IS_WORSE.get(m, True) for m in metrics}
    bound = {
        stat: wide[[f"{m}:{stat}" for m in metrics]].set_axis(metrics, axis=1).fillna(means)
        for stat in ("ci_low", "ci_high")
    }
    front = set(pareto_set_ci(means, bound["ci_low"], bound["ci_high"], worse))

    x, y, c = (
        wide[f"{m}:mean_diff"].to_numpy(dtype=float)
        for m in (cost_metric, loss_metric, stress_metric)
    )
    lows = {m: wide[f"{m}:ci_low"].to_numpy(dtype=float) for m in metrics}
    highs = {m: wide[f"{m}:ci_high"].to_numpy(dtype=float) for m in metrics}
    span = np.nanmax(np.abs(np.concatenate([c, lows[stress_metric], highs[stress_metric]])))
    span = float(span) if np.isfinite(span) and span > 0 else 1.0
    cmap = colormaps["RdBu_r" if worse[stress_metric] else "RdBu"]
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)

    fig = Figure(figsize=(10.5, 4.8), layout="constrained")
    ax, side = fig.subplots(1, 2, width_ratios=[2.2, 1])
    ax.axhline(0.0, color="0.5", linestyle=":", linewidth=1)
    ax.axvline(0.0, color="0.5", linestyle=":", linewidth=1)
    ax.errorbar(
        x,
        y,
        xerr=_error(x, lows[cost_metric], highs[cost_metric]),
        yerr=_error(y, lows[loss_metric], highs[loss_metric]),
        fmt="none",
        ecolor="0.45",
        elinewidth=1,
        capsize=3,
        zorder=1,
    )
    nulls = []
    for i, name in enumerate(names):
        null = name != baseline and all(
            not (np.isfinite(lows[m][i]) and (lows[m][i] > 0 or highs[m][i] < 0)) for m in metrics
        )
        nulls.append(null)
        colour = cmap(norm(c[i])) if np.isfinite(c[i]) else "0.6"
        ax.scatter(
            [x[i]],
            [y[i]],
            s=80,
            color=colour,
            edgecolors="0.55" if null else "black",
            linewidths=1.2,
            linestyle="--" if null else "-",
            marker="s" if name == baseline else "o",
            zorder=3,
        )
        if name in front:
            ax.scatter([x[i]], [y[i]], s=260, facecolors="none", edgecolors="black", zorder=2)
    labels = [
        f"{n}{' *' if n in front else ''}{' (= baseline within CIs)' if nulls[i] else ''}"
        for i, n in enumerate(names)
    ]
    _label_points(ax, labels, x, y)
    ax.set_xlabel(metric_label(cost_metric, difference=True))
    ax.set_ylabel(metric_label(loss_metric, difference=True))
    _format_axis(ax.xaxis, cost_metric)
    _format_axis(ax.yaxis, loss_metric)
    ax.grid(alpha=0.3)
    ax.set_title(
        f"Paired differences vs {baseline} (origin) with CIs\n"
        "* ringed: not clearly dominated on all three (CI-aware Pareto set); colour: Δ SME stress",
        fontsize=9,
    )
    order = np.argsort(c)
    ys = np.arange(len(names))
    for row, i in enumerate(order):
        side.errorbar(
            [c[i]],
            [row],
            xerr=_error(
                c[i : i + 1], lows[stress_metric][i : i + 1], highs[stress_metric][i : i + 1]
            ),
            fmt="o",
            color=cmap(norm(c[i])) if np.isfinite(c[i]) else "0.6",
            mec="black",
            ecolor="0.45",
            capsize=3,
        )
    side.axvline(0.0, color="0.5", linestyle=":", linewidth=1)
    side.set_yticks(ys, [labels[i] for i in order], fontsize=8)
    side.set_xlabel(metric_label(stress_metric, difference=True))
    _format_axis(side.xaxis, stress_metric)
    side.grid(alpha=0.3, axis="x")
    side.set_title("SME stress (colour of the left panel)", fontsize=9)
    bar = fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=side,
        label=metric_label(stress_metric, difference=True) + ", red = more stress",
    )
    _format_axis(bar.ax.yaxis, stress_metric)
    return fig
