"""Trade-off frontier: platform loss against borrower cost, coloured by business stress."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from sim.analysis.compare import HIGHER_IS_WORSE, summarise
from sim.analysis.plotting.style import (
    _NEUTRAL,
    _error,
    _format_axis,
    _label_points,
    _new_figure,
    _one_scenario,
    _require,
    _scenario_suffix,
    metric_label,
)

__all__ = ["pareto_front", "tradeoff_frontier"]


def pareto_front(df: pd.DataFrame, x: str, y: str) -> list[str]:
    """Policies not dominated on two metrics where lower is better on both.

    A policy is dominated if another is at least as good on both metrics and strictly
    better on one. Rows with NaN in ``x`` or ``y`` are ignored; identical points are
    all kept.

    Args:
        df: one row per policy with columns ``x`` and ``y`` and a ``policy`` column
            (otherwise the index gives the names).
        x: first metric column (lower is better).
        y: second metric column (lower is better).

    Returns:
        Names of the non-dominated policies, sorted by ``x`` then ``y`` then name.

    Raises:
        ValueError: if ``x`` or ``y`` is missing.
    """
    _require(df, [x, y], "df")
    names = df["policy"] if "policy" in df.columns else pd.Series(df.index, index=df.index)
    points = pd.DataFrame(
        {
            "name": names.astype(str).to_numpy(),
            "x": df[x].to_numpy(dtype=float),
            "y": df[y].to_numpy(dtype=float),
        }
    )
    points = points[np.isfinite(points["x"]) & np.isfinite(points["y"])]
    xs, ys = points["x"].to_numpy(), points["y"].to_numpy()
    keep = []
    for i in range(len(points)):
        dominated = (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        if not dominated.any():
            keep.append(i)
    front = points.iloc[keep].sort_values(["x", "y", "name"], kind="stable")
    return front["name"].tolist()


def _stats_wide(data: pd.DataFrame, metrics: list[str], scenario: str | None) -> pd.DataFrame:
    """Per-policy mean, ci_low, ci_high for ``metrics`` (wide, columns ``metric:stat``)."""
    if {"metric", "mean", "ci_low", "ci_high"} <= set(data.columns):
        stats_df = data
    else:
        present = [m for m in metrics if m in data.columns]
        stats_df = summarise(data, metrics=present)
    if scenario is not None:
        stats_df = stats_df[stats_df["scenario"] == scenario]
        if stats_df.empty:
            raise ValueError(f"scenario {scenario!r} not in the data")
    _one_scenario(stats_df, "the data")
    stats_df = stats_df[stats_df["metric"].isin(metrics)]
    wide = stats_df.pivot_table(
        index="policy",
        columns="metric",
        values=["mean", "ci_low", "ci_high"],
        aggfunc="first",
        dropna=False,
    )
    out = pd.DataFrame(index=wide.index.astype(str))
    for metric in metrics:
        for stat in ("mean", "ci_low", "ci_high"):
            key = (stat, metric)
            out[f"{metric}:{stat}"] = (
                wide[key].to_numpy(dtype=float) if key in wide.columns else np.nan
            )
    return out


def tradeoff_frontier(
    summary_stats_or_summary_df: pd.DataFrame,
    loss_metric: str = "realised_loss_cny",
    cost_metric: str = "effective_apr",
    stress_metric: str = "median_cash_buffer_days",
    scenario: str | None = None,
) -> Figure:
    """Policy means of platform loss against borrower cost, coloured by business stress.

    One point per policy at (mean ``cost_metric``, mean ``loss_metric``) with
    confidence-interval error bars in both directions, coloured by the mean
    ``stress_metric`` (green = less stress, using :data:`HIGHER_IS_WORSE`; grey where
    it is NaN, and no colour bar if it is NaN for every policy). The Pareto front of
    policies with lower loss *and* lower cost (:func:`pareto_front`) is joined by a
    dashed line and ringed.

    Args:
        summary_stats_or_summary_df: either the long output of
            :func:`sim.analysis.compare.summarise` (``policy, scenario, metric, mean,
            ci_low, ci_high``) or a per-run summary table (``policy, scenario, seed``
            and the metric columns), which is summarised first.
        loss_metric: y-axis metric (lower is better), default realised loss (CNY).
        cost_metric: x-axis metric (lower is better), default effective APR.
        stress_metric: colour metric; may be missing or all NaN.
        scenario: scenario to show; required if the data hold several.

    Returns:
        Figure with one axes, plus a colour-bar axes when any stress value is finite.
        Each policy's point is a scatter collection labelled with the policy name.

    Raises:
        ValueError: if the loss or cost metric is absent, or several scenarios are
            present and ``scenario`` is not given.
    """
    data = summary_stats_or_summary_df
    long_form = "metric" in data.columns
    available = set(data["metric"]) if long_form else set(data.columns)
    for metric in (loss_metric, cost_metric):
        if metric not in available:
            raise ValueError(f"metric {metric!r} not in the data")
    wide = _stats_wide(data, [loss_metric, cost_metric, stress_metric], scenario)
    if scenario is None and "scenario" in data.columns and data["scenario"].nunique() == 1:
        scenario = str(data["scenario"].iloc[0])

    policies = wide.index.tolist()
    x = wide[f"{cost_metric}:mean"].to_numpy(dtype=float)
    y = wide[f"{loss_metric}:mean"].to_numpy(dtype=float)
    stress = wide[f"{stress_metric}:mean"].to_numpy(dtype=float)
    xerr = _error(
        x,
        wide[f"{cost_metric}:ci_low"].to_numpy(dtype=float),
        wide[f"{cost_metric}:ci_high"].to_numpy(dtype=float),
    )
    yerr = _error(
        y,
        wide[f"{loss_metric}:ci_low"].to_numpy(dtype=float),
        wide[f"{loss_metric}:ci_high"].to_numpy(dtype=float),
    )

    fig, (ax,) = _new_figure(1, height=4.6)
    finite = np.isfinite(stress)
    cmap = colormaps["RdYlGn_r" if HIGHER_IS_WORSE.get(stress_metric, True) else "RdYlGn"]
    norm = None
    if finite.any():
        vmin, vmax = float(stress[finite].min()), float(stress[finite].max())
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5
        norm = Normalize(vmin=vmin, vmax=vmax)
    for i, name in enumerate(policies):
        ax.errorbar(
            x[i : i + 1],
            y[i : i + 1],
            xerr=xerr[:, i : i + 1],
            yerr=yerr[:, i : i + 1],
            fmt="none",
            ecolor="0.45",
            elinewidth=1,
            capsize=3,
            zorder=1,
        )
        colour = cmap(norm(stress[i])) if norm is not None and finite[i] else _NEUTRAL
        ax.scatter([x[i]], [y[i]], color=colour, s=70, edgecolors="black", zorder=3, label=name)
    _label_points(ax, list(policies), x, y)

    means = pd.DataFrame({"policy": policies, "x": x, "y": y})
    front = pareto_front(means, "x", "y")
    handles = []
    if front:
        on_front = means.set_index("policy").loc[front]
        (line,) = ax.plot(
            on_front["x"],
            on_front["y"],
            linestyle="--",
            color="black",
            linewidth=1,
            zorder=2,
            label="Pareto front (lower cost and loss)",
        )
        ax.scatter(
            on_front["x"],
            on_front["y"],
            s=220,
            facecolors="none",
            edgecolors="black",
            linewidths=1.2,
            zorder=2,
            label="_nolegend_",
        )
        handles.append(line)
    if norm is not None:
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=metric_label(stress_metric))
    else:
        ax.text(
            0.99,
            0.01,
            f"{metric_label(stress_metric)}: not available (grey)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.4",
        )
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_xlabel(metric_label(cost_metric))
    ax.set_ylabel(metric_label(loss_metric))
    _format_axis(ax.xaxis, cost_metric)
    _format_axis(ax.yaxis, loss_metric)
    ax.set_title(
        "Platform loss vs borrowing cost" + _scenario_suffix(scenario) + "\n(policy means over "
        "seeds with confidence intervals)",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    return fig
