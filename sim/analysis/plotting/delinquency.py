"""Delinquency figures: vintage default curves and DPD roll-rate heat maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.delinquency import NO_EXPOSURE, roll_rate_matrix
from sim.analysis.plotting.style import (
    _format_axis,
    _month_axis,
    _new_figure,
    _one_scenario,
    _require,
    _scenario_suffix,
)

__all__ = ["roll_rate_heatmap", "roll_rate_heatmaps", "vintage_plot"]


def vintage_plot(vintage_df: pd.DataFrame, by: str = "policy", max_legend: int = 12) -> Figure:
    """Cumulative default rate by months on book, one line per vintage.

    With a ``by`` column (e.g. from :attr:`RunTables.vintage`) there is one panel per
    value (policy); seeds are pooled by weighting each run's rate with its
    ``n_accounts``: ``sum(rate * n) / sum(n)``, and (with a ``run_id`` column) only as
    far as every run observed the vintage, so pooled curves never decrease. The
    starting book's curve counts months since the start of the run. Vintages keep the
    order of their first appearance in the table
    (:func:`sim.analysis.delinquency.vintage_curves` lists the earliest first); lines go
    from dark (first) to light (last).

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
    if "run_id" in df.columns:
        # Pool each vintage only as far as every run observed it (a later member in one
        # run shortens its curve there): pooled curves then never decrease either.
        keys = [c for c in (by, "vintage") if c in df.columns]
        reach = df.groupby([*keys, "run_id"])["months_on_book"].transform("max")
        common = reach.groupby([df[k] for k in keys]).transform("min")
        df = df[df["months_on_book"] <= common]
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
                label=f"{v} (months since start)" if v == "starting_book" else v,
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

    Rows of states without exposure (``matrix_df.attrs["no_exposure"]``, see
    :func:`sim.analysis.delinquency.roll_rate_matrix`) are greyed and read
    "no exposure" instead of their placeholder values; NaN cells (a matrix from
    elsewhere) read "–".

    Args:
        matrix_df: output of :func:`sim.analysis.delinquency.roll_rate_matrix` (rows
            from-state, columns to-state, fractions).
        ax: axes to draw on; ``None`` creates a figure with one axes.
        title: axes title; default "DPD roll-rate matrix".

    Returns:
        The figure (``ax.figure`` if ``ax`` was given).
    """
    if ax is None:
        fig, (ax,) = _new_figure(1, height=4.2)
    else:
        fig = ax.figure  # type: ignore[assignment]
    values = matrix_df.to_numpy(dtype=float).copy()
    no_exposure = [
        i for i, s in enumerate(matrix_df.index) if s in matrix_df.attrs.get("no_exposure", [])
    ]
    values[no_exposure, :] = np.nan
    ax.imshow(np.ma.masked_invalid(values), cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(values.shape[0]):
        if i in no_exposure:
            ax.axhspan(i - 0.5, i + 0.5, color="0.88")
            ax.text((values.shape[1] - 1) / 2, i, NO_EXPOSURE, ha="center", va="center", fontsize=7)
            continue
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "–" if not np.isfinite(v) else f"{100 * v:.1f}%"
            colour = "white" if np.isfinite(v) and v > 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix_df.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix_df.index])
    ax.set_xlabel("To state (one month later)")
    ax.set_ylabel("From state")
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
