"""Monthly figures: fan charts of the median and quantile band over seeds, single-seed lines."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.plotting.style import (
    _figure_legend,
    _format_axis,
    _month_axis,
    _new_figure,
    _one_scenario,
    _require,
    _scenario_suffix,
    metric_label,
    policy_colours,
)

__all__ = ["fan_chart", "fan_charts", "policy_timeseries"]


def fan_chart(
    monthly_df: pd.DataFrame,
    metric: str,
    by: str = "policy",
    band: tuple[float, float] = (0.05, 0.95),
    ax: Axes | None = None,
) -> Figure:
    """Median over seeds of a monthly metric per policy, with an across-seed quantile band.

    Args:
        monthly_df: monthly table of one scenario (e.g. :attr:`RunTables.monthly`
            filtered to a scenario) with columns ``step`` (int, month 1..n),
            ``by`` and ``metric``; one row per run and step.
        metric: monthly metric column, e.g. ``"ead_cny"``.
        by: grouping column (one line per value), default ``"policy"``.
        band: lower and upper quantiles of the shaded band, 0 <= low < high <= 1.
        ax: axes to draw on; ``None`` creates a new figure with one axes.

    Returns:
        The figure (``ax.figure`` if ``ax`` was given). The median lines are labelled
        with the group values (policy names); the bands carry no legend label.

    Raises:
        ValueError: if a column is missing, ``band`` is invalid, or the table mixes
            scenarios.
    """
    _require(monthly_df, ["step", by, metric], "monthly_df")
    low_q, high_q = band
    if not 0.0 <= low_q < high_q <= 1.0:
        raise ValueError(f"band must satisfy 0 <= low < high <= 1, got {band}")
    scenario = _one_scenario(monthly_df, "monthly_df")
    if ax is None:
        fig, (ax,) = _new_figure(1)
    else:
        fig = ax.figure  # type: ignore[assignment]
    _draw_fan(ax, monthly_df, metric, by, band)
    ax.set_title(metric_label(metric).split(" (")[0] + _scenario_suffix(scenario), fontsize=10)
    ax.legend(title=_fan_legend_title(by, band), fontsize=7, title_fontsize=7)
    return fig  # type: ignore[return-value]


def _fan_legend_title(by: str, band: tuple[float, float]) -> str:
    return f"{by} (line: median over seeds; band: {band[0]:.0%}–{band[1]:.0%} quantiles)"


def _draw_fan(
    ax: Axes, monthly_df: pd.DataFrame, metric: str, by: str, band: tuple[float, float]
) -> None:
    """Median line and quantile band per group on ``ax`` (no title, no legend)."""
    low_q, high_q = band
    groups = sorted(monthly_df[by].astype(str).unique().tolist())
    colours = policy_colours(groups)
    for name in groups:
        rows = monthly_df[monthly_df[by].astype(str) == name]
        values = rows[["step", metric]].astype({metric: float})
        quantiles = values.groupby("step")[metric].quantile([low_q, 0.5, high_q]).unstack()
        steps = quantiles.index.to_numpy(dtype=float)
        ax.fill_between(
            steps,
            quantiles[low_q].to_numpy(dtype=float),
            quantiles[high_q].to_numpy(dtype=float),
            color=colours[name],
            alpha=0.2,
            linewidth=0,
            label="_nolegend_",
        )
        ax.plot(steps, quantiles[0.5].to_numpy(dtype=float), color=colours[name], label=name)
    _month_axis(ax)
    ax.set_ylabel(metric_label(metric))
    _format_axis(ax.yaxis, metric)
    ax.grid(alpha=0.3)


def fan_charts(
    monthly_df: pd.DataFrame,
    metrics: Sequence[str],
    by: str = "policy",
    band: tuple[float, float] = (0.05, 0.95),
    ncols: int = 2,
) -> Figure:
    """Grid of :func:`fan_chart` panels, one per metric.

    Args:
        monthly_df: monthly table of one scenario (see :func:`fan_chart`).
        metrics: monthly metric columns, one panel each (at least one).
        by: grouping column, default ``"policy"``.
        band: quantiles of the across-seed band.
        ncols: panels per row.

    Returns:
        Figure with ``len(metrics)`` axes (median lines labelled with the group values)
        and one figure legend below the panels.

    Raises:
        ValueError: if ``metrics`` is empty, or as :func:`fan_chart`.
    """
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one column")
    _require(monthly_df, ["step", by, *metrics], "monthly_df")
    low_q, high_q = band
    if not 0.0 <= low_q < high_q <= 1.0:
        raise ValueError(f"band must satisfy 0 <= low < high <= 1, got {band}")
    scenario = _one_scenario(monthly_df, "monthly_df")
    fig, axes = _new_figure(len(metrics), ncols=ncols)
    for ax, metric in zip(axes, metrics, strict=True):
        _draw_fan(ax, monthly_df, metric, by, band)
        ax.set_title(metric_label(metric).split(" (")[0], fontsize=10)
    _figure_legend(fig, axes[0], _fan_legend_title(by, band))
    fig.suptitle("Monthly metrics over seeds" + _scenario_suffix(scenario), fontsize=11)
    return fig


def policy_timeseries(
    monthly_df: pd.DataFrame,
    metrics: Sequence[str],
    by: str = "policy",
    seed: int | None = None,
) -> Figure:
    """Plain monthly lines per policy for a single-seed comparison (one panel per metric).

    Args:
        monthly_df: monthly table with columns ``step``, ``by`` and the ``metrics``;
            one row per (policy, step) after selecting ``seed``.
        metrics: monthly metric columns, one panel each.
        by: grouping column, default ``"policy"``.
        seed: seed to show when the table has a ``seed`` column with several seeds.

    Returns:
        Figure with ``len(metrics)`` axes; lines labelled with the policy names.

    Raises:
        ValueError: if ``metrics`` is empty, a column is missing, several seeds are
            present and ``seed`` is not given (or absent), scenarios are mixed, or a
            (policy, step) occurs more than once.
    """
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one column")
    _require(monthly_df, ["step", by, *metrics], "monthly_df")
    df = monthly_df
    if "seed" in df.columns:
        seeds = sorted(df["seed"].unique().tolist())
        if seed is not None:
            if seed not in seeds:
                raise ValueError(f"seed {seed} not in monthly_df (seeds {seeds})")
            df = df[df["seed"] == seed]
        elif len(seeds) > 1:
            raise ValueError(f"monthly_df holds seeds {seeds}: pass seed= to pick one")
    scenario = _one_scenario(df, "monthly_df")
    if df.duplicated([by, "step"]).any():
        raise ValueError(f"monthly_df has more than one row per ({by}, step)")
    groups = sorted(df[by].astype(str).unique().tolist())
    colours = policy_colours(groups)
    fig, axes = _new_figure(len(metrics))
    for ax, metric in zip(axes, metrics, strict=True):
        for name in groups:
            rows = df[df[by].astype(str) == name].sort_values("step")
            ax.plot(
                rows["step"].to_numpy(dtype=float),
                rows[metric].to_numpy(dtype=float),
                color=colours[name],
                label=name,
            )
        _month_axis(ax)
        ax.set_ylabel(metric_label(metric))
        _format_axis(ax.yaxis, metric)
        ax.set_title(metric_label(metric).split(" (")[0], fontsize=10)
        ax.grid(alpha=0.3)
    _figure_legend(fig, axes[0], by)
    seed_text = f"seed {int(df['seed'].iloc[0])}" if "seed" in df.columns and len(df) else ""
    fig.suptitle(f"Policies over time ({seed_text or 'single run'}){_scenario_suffix(scenario)}")
    return fig
