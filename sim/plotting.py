"""Figures for comparing limit policies. Every function returns a Matplotlib ``Figure``.

Figures are built with :class:`matplotlib.figure.Figure` directly, not through
:mod:`matplotlib.pyplot`, so they are never registered with pyplot, need no display
and leave no open pyplot figures behind. Nothing here writes files: save a figure with
:func:`sim.outputs.files.save_figure`.

Units on axes: money columns (``*_cny``) are labelled "CNY" with compact ticks (12.5k, 3.2M);
rates and shares (fractions in the data, including APR) are shown in percent; paired
differences of fractions are in percentage points (pp). Each policy keeps the same
colour in every figure (:func:`policy_colours`).

Tables read here are those of :class:`sim.analysis.compare.RunTables` (columns
``policy``, ``scenario``, ``seed`` plus the table's own). Functions that pool over seeds
refuse tables mixing several scenarios (filter to one first), because pooling scenarios
would mix different exogenous worlds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.analysis.compare import HIGHER_IS_WORSE, _t_interval, summarise
from sim.analysis.delinquency import roll_rate_matrix

__all__ = [
    "buffer_days_distribution",
    "decile_bars",
    "fan_chart",
    "fan_charts",
    "forest_plot",
    "is_fraction",
    "metric_label",
    "metric_unit",
    "observed_vs_simulated_bars",
    "pareto_front",
    "policy_colours",
    "policy_timeseries",
    "roll_rate_heatmap",
    "roll_rate_heatmaps",
    "scorecard_calibration_plot",
    "tradeoff_frontier",
    "transition_heatmaps",
    "vintage_plot",
]

_PRETTY: dict[str, str] = {
    "cumulative_default_rate": "Cumulative default rate",
    "peak_ead_cny": "Peak EAD",
    "mean_ead_cny": "Mean EAD",
    "ead_cny": "EAD",
    "expected_loss_cny": "Expected loss",
    "realised_loss_cny": "Realised loss",
    "dpd90_share": "90+ DPD share",
    "dpd30_share": "30+ DPD share",
    "effective_apr": "Effective APR",
    "interest_fees_share_of_income": "Interest and fees share of income",
    "high_cost_channel_share": "High-cost channel share",
    "unmet_credit_need_cny": "Unmet credit need",
    "median_cash_buffer_days": "Median cash buffer",
    "share_buffer_under_15d": "Firms with cash buffer < 15 days",
    "closure_rate": "Firm closure rate",
    "late_supplier_payments_cny": "Late supplier payments",
    "platform_net_interest_income_cny": "Platform net interest income",
    "drawn_balance_cny": "Drawn balance",
    "default_rate": "Default rate (monthly)",
    "mean_utilisation": "Mean utilisation",
    "limit_cuts": "Limit cuts",
    "limit_raises": "Limit raises",
    "cut_share": "Borrowers with at least one cut",
}
_ACRONYMS = {"ead": "EAD", "apr": "APR", "el": "EL", "pd": "PD", "lgd": "LGD", "dpd": "DPD"}
_FRACTION_TOKENS = {"rate", "share", "apr", "utilisation", "ratio"}
_COUNT_NAMES = {"limit_cuts", "limit_raises", "n_borrowers", "n_accounts"}
_NEUTRAL = "0.6"
_FIG_WIDTH = 6.4
_PANEL_HEIGHT = 3.4


# --------------------------------------------------------------------------- labels


def is_fraction(metric: str) -> bool:
    """Whether a metric is a rate or share stored as a fraction (shown in percent).

    Args:
        metric: column name, e.g. ``"effective_apr"``.

    Returns:
        True for names containing the token ``rate``, ``share``, ``apr``,
        ``utilisation`` or ``ratio`` (and not ending in ``_cny``).
    """
    if metric.endswith("_cny"):
        return False
    return bool(set(metric.split("_")) & _FRACTION_TOKENS)


def metric_unit(metric: str) -> str:
    """Display unit of a metric: ``"CNY"``, ``"%"``, ``"days"``, ``"count"`` or ``""``.

    Args:
        metric: column name.

    Returns:
        The unit shown in axis labels.
    """
    if metric.endswith("_cny"):
        return "CNY"
    if is_fraction(metric):
        return "%"
    if metric.endswith("_days"):
        return "days"
    if metric in _COUNT_NAMES:
        return "count"
    return ""


def metric_label(metric: str, difference: bool = False) -> str:
    """Readable axis label with unit, e.g. ``"Effective APR (%)"``, ``"EAD (CNY)"``.

    Args:
        metric: column name.
        difference: label a difference (fractions in percentage points, ``"pp"``).

    Returns:
        The label text.
    """
    if metric in _PRETTY:
        name = _PRETTY[metric]
    else:
        words = metric.removesuffix("_cny").split("_")
        words = [_ACRONYMS.get(w, w) for w in words]
        name = " ".join(words)
        name = name[:1].upper() + name[1:]
    unit = metric_unit(metric)
    if difference:
        name = f"Δ {name}"
        unit = "pp" if unit == "%" else unit
    return f"{name} ({unit})" if unit else name


def _money(value: float, _pos: object = None) -> str:
    """Compact CNY tick label: 950, 12.5k, 3.2M (the axis label carries the unit)."""
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.3g}B"
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    if value == 0 or size >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _format_axis(axis: object, metric: str) -> None:
    """Percent formatter for fractions, compact k/M/B ticks for CNY."""
    if is_fraction(metric):
        axis.set_major_formatter(PercentFormatter(xmax=1.0))  # type: ignore[attr-defined]
    elif metric.endswith("_cny"):
        axis.set_major_formatter(FuncFormatter(_money))  # type: ignore[attr-defined]


def policy_colours(policies: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """A stable colour per policy (tab10 in sorted-name order, tab20 beyond 10).

    Args:
        policies: policy names (any order, duplicates allowed).

    Returns:
        Mapping policy name -> RGBA colour.
    """
    names = sorted(set(map(str, policies)))
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


# --------------------------------------------------------------------------- helpers


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}")


def _one_scenario(df: pd.DataFrame, what: str) -> str | None:
    """The single scenario of ``df`` (None if no column); raise if several are mixed."""
    if "scenario" not in df.columns:
        return None
    scenarios = sorted(df["scenario"].dropna().astype(str).unique().tolist())
    if len(scenarios) > 1:
        raise ValueError(f"{what} mixes scenarios {scenarios}: filter to one scenario first")
    return scenarios[0] if scenarios else None


def _new_figure(
    n_panels: int, ncols: int = 2, height: float = _PANEL_HEIGHT, sharey: bool = False
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout Figure with ``n_panels`` axes in a grid (unused cells removed)."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    width = _FIG_WIDTH if ncols == 1 else 4.6 * ncols
    fig = Figure(figsize=(width, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n_panels:]:
        ax.remove()
    return fig, list(axes[:n_panels])


def _label_points(
    ax: Axes, names: list[str], x: np.ndarray, y: np.ndarray, min_gap_pt: float = 11.0
) -> None:
    """Name each finite point; points closer than ``min_gap_pt`` share one label.

    Policies that land on (almost) the same spot, e.g. a wrapper policy whose condition
    never fires, get one label listing them top to bottom instead of overprinted text.
    """
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not ok.size:
        return
    ax.autoscale_view()
    xy_pt = ax.transData.transform(np.column_stack([x[ok], y[ok]])) * 72.0 / ax.figure.dpi
    order = ok[np.argsort(-xy_pt[:, 1], kind="stable")]
    pos = {int(i): xy_pt[j] for j, i in enumerate(ok)}
    placed: list[list[int]] = []
    for i in order:
        for group in placed:
            if np.hypot(*(pos[int(i)] - pos[group[0]])) < min_gap_pt:
                group.append(int(i))
                break
        else:
            placed.append([int(i)])
    for group in placed:
        head = group[0]
        ax.annotate(
            "\n".join(names[i] for i in group),
            (x[head], y[head]),
            xytext=(7, 5) if len(group) == 1 else (11, 0),
            textcoords="offset points",
            fontsize=8,
            va="bottom" if len(group) == 1 else "center",
        )


def _natural_key(label: str) -> list[object]:
    """Sort key treating digit runs as numbers ("m2" < "m10")."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(label))]


def _scenario_suffix(scenario: str | None) -> str:
    return f" — scenario {scenario}" if scenario else ""


def _month_axis(ax: Axes, label: str = "Month (step)") -> None:
    """Integer ticks on a month axis."""
    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _figure_legend(fig: Figure, ax: Axes, title: str) -> None:
    """One legend for the whole figure, below the panels, from ``ax``'s labelled artists."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 5),
            title=title,
            fontsize=8,
            title_fontsize=8,
        )


# --------------------------------------------------------------------------- time series


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


# --------------------------------------------------------------------------- trade-off


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


def _error(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n), NaN -> 0, never negative."""
    err = np.vstack([mean - low, high - mean])
    return np.clip(np.nan_to_num(err, nan=0.0), 0.0, None)


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


# --------------------------------------------------------------------------- paired


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


# --------------------------------------------------------------------------- distribution


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


# --------------------------------------------------------------------------- delinquency


def vintage_plot(vintage_df: pd.DataFrame, by: str = "policy", max_legend: int = 12) -> Figure:
    """Cumulative default rate by months on book, one line per vintage.

    With a ``by`` column (e.g. from :attr:`RunTables.vintage`) there is one panel per
    value (policy); seeds are pooled by weighting each run's rate with its
    ``n_accounts``: ``sum(rate * n) / sum(n)``. Vintages keep the order of their first
    appearance in the table (:func:`sim.analysis.delinquency.vintage_curves` lists the
    earliest first); lines go from dark (first) to light (last).

    Args:
        vintage_df: columns ``vintage`` (str), ``months_on_book`` (int),
            ``n_accounts`` (int), ``cumulative_default_rate`` (fraction), optionally
            ``by``; a single scenario.
        by: panel column, default ``"policy"`` (ignored if absent).
        max_legend: largest number of vintages listed in a legend.

    Returns:
        Figure with one axes per ``by`` value (one if the column is absent); lines
        labelled with the vintage labels.

    Raises:
        ValueError: if a column is missing, the table is empty, or it mixes scenarios.
    """
    _require(
        vintage_df,
        ["vintage", "months_on_book", "n_accounts", "cumulative_default_rate"],
        "vintage_df",
    )
    if vintage_df.empty:
        raise ValueError("vintage_df is empty")
    scenario = _one_scenario(vintage_df, "vintage_df")
    df = vintage_df.assign(
        vintage=vintage_df["vintage"].astype(str),
        _n=vintage_df["n_accounts"].astype(float),
        _defaults=vintage_df["cumulative_default_rate"].astype(float)
        * vintage_df["n_accounts"].astype(float),
    )
    panels = sorted(df[by].astype(str).unique().tolist()) if by in df.columns else [None]
    vintages = list(dict.fromkeys(df["vintage"].tolist()))  # order as given (earliest first)
    cmap = colormaps["viridis"]
    shades = {v: cmap(0.85 * i / max(1, len(vintages) - 1)) for i, v in enumerate(vintages)}
    fig, axes = _new_figure(len(panels), ncols=min(3, len(panels)), sharey=True)
    for ax, panel in zip(axes, panels, strict=True):
        rows = df if panel is None else df[df[by].astype(str) == panel]
        pooled = rows.groupby(["vintage", "months_on_book"])[["_defaults", "_n"]].sum()
        for v in vintages:
            if v not in pooled.index.get_level_values("vintage"):
                continue
            curve = pooled.loc[v]
            rate = curve["_defaults"] / curve["_n"].where(curve["_n"] > 0)
            ax.plot(
                curve.index.to_numpy(dtype=float),
                rate.to_numpy(dtype=float),
                color=shades[v],
                marker="o" if len(curve) < 3 else None,
                label=v,
            )
        _month_axis(ax, "Months on book")
        ax.set_ylabel("Cumulative default rate (%)")
        _format_axis(ax.yaxis, "cumulative_default_rate")
        ax.set_title(f"{by} {panel}" if panel is not None else "Vintage curves", fontsize=10)
        ax.grid(alpha=0.3)
    if len(vintages) <= max_legend:
        axes[0].legend(title="vintage", fontsize=7, title_fontsize=7)
    else:
        axes[0].text(
            0.02,
            0.98,
            f"{len(vintages)} vintages, dark = earliest, light = latest",
            transform=axes[0].transAxes,
            va="top",
            fontsize=7,
        )
    fig.suptitle("Vintage default curves" + _scenario_suffix(scenario), fontsize=10)
    return fig


def roll_rate_heatmap(matrix_df: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Figure:
    """Annotated heat map of a roll-rate matrix (share of accounts, in percent).

    Args:
        matrix_df: output of :func:`sim.analysis.delinquency.roll_rate_matrix` (rows
            from-bucket, columns to-bucket, fractions; NaN rows shown blank with "–").
        ax: axes to draw on; ``None`` creates a figure with one axes.
        title: axes title; default "DPD roll-rate matrix".

    Returns:
        The figure (``ax.figure`` if ``ax`` was given).
    """
    if ax is None:
        fig, (ax,) = _new_figure(1, height=4.2)
    else:
        fig = ax.figure  # type: ignore[assignment]
    values = matrix_df.to_numpy(dtype=float)
    ax.imshow(np.ma.masked_invalid(values), cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "–" if not np.isfinite(v) else f"{100 * v:.1f}%"
            colour = "white" if np.isfinite(v) and v > 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix_df.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix_df.index])
    ax.set_xlabel("To DPD bucket (one month later)")
    ax.set_ylabel("From DPD bucket")
    ax.set_title(title or "DPD roll-rate matrix (share of accounts)", fontsize=10)
    return fig  # type: ignore[return-value]


def roll_rate_heatmaps(transitions_df: pd.DataFrame, by: str = "policy") -> Figure:
    """One :func:`roll_rate_heatmap` per policy, from pooled transition counts.

    Args:
        transitions_df: transition counts of one scenario (e.g.
            :attr:`RunTables.transitions`) with ``by``, ``from_bucket``, ``to_bucket``,
            ``count``; counts are summed over seeds and steps.
        by: panel column, default ``"policy"``.

    Returns:
        Figure with one axes per ``by`` value, titled with it.

    Raises:
        ValueError: if a column is missing, the table is empty or mixes scenarios, or
            as :func:`sim.analysis.delinquency.roll_rate_matrix`.
    """
    _require(transitions_df, [by, "from_bucket", "to_bucket", "count"], "transitions_df")
    if transitions_df.empty:
        raise ValueError("transitions_df is empty")
    scenario = _one_scenario(transitions_df, "transitions_df")
    panels = sorted(transitions_df[by].astype(str).unique().tolist())
    fig, axes = _new_figure(len(panels), ncols=min(2, len(panels)), height=3.8)
    for ax, panel in zip(axes, panels, strict=True):
        matrix = roll_rate_matrix(transitions_df[transitions_df[by].astype(str) == panel])
        roll_rate_heatmap(matrix, ax=ax, title=f"{by} {panel}")
    fig.suptitle(
        "DPD roll-rate matrices (share of accounts moving in one month)"
        + _scenario_suffix(scenario),
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- validation


def observed_vs_simulated_bars(
    data: pd.DataFrame, title: str = "", ax: Axes | None = None
) -> Figure:
    """Observed values beside simulated means with their interval over seeds, per label.

    Used by the validation report (:mod:`sim.validation`). Values are fractions, shown
    in percent. Where an alternative observed reading is given (``observed_alt``, e.g.
    September's ambiguous 1-month code), it is drawn as a hollow marker on the observed bar.

    Args:
        data: one row per bar pair with columns ``label`` (str), ``observed``,
            ``sim_mean``, ``sim_low``, ``sim_high`` (fractions) and optionally
            ``observed_alt`` (fraction or NaN).
        title: axes title.
        ax: axes to draw on; a new figure if None.

    Returns:
        The Figure.

    Raises:
        ValueError: a column is missing or the table is empty.
    """
    _require(data, ["label", "observed", "sim_mean", "sim_low", "sim_high"], "data")
    if data.empty:
        raise ValueError("data is empty")
    if ax is None:
        width = max(_FIG_WIDTH, 0.55 * len(data) + 2.0)
        fig = Figure(figsize=(width, _PANEL_HEIGHT + 0.6), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    x = np.arange(len(data))
    observed = data["observed"].to_numpy(float)
    mean = data["sim_mean"].to_numpy(float)
    err = np.vstack(
        [
            np.clip(mean - data["sim_low"].to_numpy(float), 0, None),
            np.clip(data["sim_high"].to_numpy(float) - mean, 0, None),
        ]
    )
    ax.bar(x - 0.2, observed, width=0.4, color="0.55", label="observed (UCI)")
    ax.bar(x + 0.2, mean, width=0.4, color="tab:blue", label="simulated mean")
    ax.errorbar(
        x + 0.2,
        mean,
        yerr=err,
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
        label="interval over seeds",
    )
    if "observed_alt" in data.columns:
        alt = data["observed_alt"].to_numpy(float)
        has = np.isfinite(alt)
        if has.any():
            ax.scatter(
                x[has] - 0.2,
                alt[has],
                marker="D",
                facecolors="none",
                edgecolors="black",
                zorder=3,
                label="observed, code 1 read as R",
            )
    ax.set_xticks(
        x,
        data["label"].astype(str).tolist(),
        rotation=30 if len(data) > 5 else 0,
        ha="right" if len(data) > 5 else "center",
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return fig  # type: ignore[return-value]


def transition_heatmaps(matrices: dict[str, pd.DataFrame], title: str = "") -> Figure:
    """Side-by-side heat maps of status-group transition matrices (observed, simulated ...).

    Args:
        matrices: panel title -> row-normalised matrix (from-group rows, to-group
            columns, fractions), drawn left to right in the given order.
        title: figure title.

    Returns:
        The Figure, one panel per matrix with the share printed in each cell.

    Raises:
        ValueError: no matrix.
    """
    if not matrices:
        raise ValueError("matrices is empty")
    fig, axes = _new_figure(len(matrices), ncols=len(matrices), height=3.4)
    cmap = colormaps["Blues"]
    for ax, (name, matrix) in zip(axes, matrices.items(), strict=True):
        values = matrix.to_numpy(dtype=float)
        ax.imshow(np.nan_to_num(values), cmap=cmap, vmin=0.0, vmax=1.0)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                text = "–" if not np.isfinite(v) else f"{100 * v:.1f}%"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if np.isfinite(v) and v > 0.6 else "black",
                )
        ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix.columns])
        ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index])
        ax.set_xlabel("to group")
        ax.set_ylabel("from group")
        ax.set_title(str(name).replace("_", " "), fontsize=9)
    fig.colorbar(
        ScalarMappable(Normalize(0, 1), cmap=cmap),
        ax=axes,
        format=PercentFormatter(xmax=1.0),
        shrink=0.8,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def scorecard_calibration_plot(calibration_df: pd.DataFrame, auc: float | None = None) -> Figure:
    """Mean predicted PD against the observed default rate by decile, with the diagonal.

    Args:
        calibration_df: :func:`sim.platform.scorecard.calibration_table` output (columns
            ``decile``, ``mean_predicted_pd``, ``observed_default_rate``, ``n``).
        auc: hold-out AUC shown in the title, if given.

    Returns:
        The Figure.

    Raises:
        ValueError: a column is missing or the table is empty.
    """
    _require(
        calibration_df,
        ["decile", "mean_predicted_pd", "observed_default_rate", "n"],
        "calibration_df",
    )
    if calibration_df.empty:
        raise ValueError("calibration_df is empty")
    fig = Figure(figsize=(4.8, 4.4), layout="constrained")
    ax = fig.subplots()
    pred = calibration_df["mean_predicted_pd"].to_numpy(float)
    obs = calibration_df["observed_default_rate"].to_numpy(float)
    n = calibration_df["n"].to_numpy(float)
    se = np.sqrt(np.clip(obs * (1 - obs), 0, None) / np.maximum(n, 1))
    top = float(max(pred.max(), obs.max()) * 1.1)
    ax.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="perfect calibration")
    ax.errorbar(
        pred,
        obs,
        yerr=1.96 * se,
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="decile (95 % binomial CI)",
    )
    for d, xv, yv in zip(calibration_df["decile"], pred, obs, strict=True):
        ax.annotate(str(d), (xv, yv), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("Mean predicted PD (next month)")
    ax.set_ylabel("Observed default rate")
    ax.set_title(
        "Scorecard calibration, hold-out" + (f" (AUC {auc:.3f})" if auc is not None else ""),
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper left")
    return fig


# --------------------------------------------------------------------------- firms


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
