"""Shared style of the figures: labels and units of metrics, policy colours, layout helpers.

Money columns (``*_cny``) are labelled "CNY" with compact ticks (12.5k, 3.2M); rates and
shares (fractions in the data, including APR) are shown in percent; paired differences of
fractions are in percentage points (pp). Each policy keeps the same colour in every
figure (:func:`policy_colours`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

__all__ = ["is_fraction", "metric_label", "metric_unit", "policy_colours"]

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
_FRACTION_TOKENS = {"rate", "share", "apr", "utilisation", "ratio", "probability"}
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
        ``utilisation``, ``ratio`` or ``probability`` (and not ending in ``_cny``).
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


def _error(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n), NaN -> 0, never negative."""
    err = np.vstack([mean - low, high - mean])
    return np.clip(np.nan_to_num(err, nan=0.0), 0.0, None)
