"""Figures of the report: which monthly metrics are drawn, and drawing one scenario's set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import plotting
from sim.analysis.compare import RunTables
from sim.analysis.report.sections import COST_METRIC, LOSS_METRIC, STRESS_METRIC
from sim.outputs import files as io

__all__ = ["FAN_METRICS", "TIMESERIES_METRICS"]

FAN_METRICS: tuple[str, ...] = (
    "ead_cny",
    "expected_loss_cny",
    "default_rate",
    "dpd90_share",
    "effective_apr",
    "mean_utilisation",
    "limit_cuts",
    "unmet_credit_need_cny",
    "high_cost_channel_share",
    "lenders_per_borrower",
    "median_cash_buffer_days",
    "share_buffer_under_15d",
    "closure_rate",
)
"""Monthly metrics drawn as fan charts (those present with any finite value)."""

TIMESERIES_METRICS: tuple[str, ...] = ("ead_cny", "default_rate", "effective_apr", "limit_cuts")
"""Monthly metrics of the single-seed illustration."""


def _save(fig: Figure, figures_dir: Path, stem: str, formats: Sequence[str], out_dir: Path) -> str:
    """Save a figure and return the relative link of the file to embed."""
    paths = io.save_figure(fig, figures_dir / stem, formats=tuple(formats))
    by_format = {p.suffix.lstrip("."): p for p in paths}
    chosen = next((by_format[f] for f in ("png", "svg") if f in by_format), paths[0])
    return chosen.relative_to(out_dir).as_posix()


def _finite_columns(df: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    out = []
    for c in candidates:
        if c in df.columns and np.isfinite(df[c].to_numpy(dtype=float)).any():
            out.append(c)
    return out


def _forest_metrics(paired_df: pd.DataFrame, metrics: list[str]) -> tuple[list[str], list[str]]:
    """Metrics worth a forest panel, and those where every policy equals the baseline."""
    shown, unchanged = [], []
    for metric in metrics:
        rows = paired_df[paired_df["metric"] == metric]
        diffs = rows[["mean_diff", "ci_low", "ci_high"]].to_numpy(dtype=float)
        if not np.isfinite(rows["mean_diff"].to_numpy(dtype=float)).any():
            continue
        if np.all(diffs == 0.0):
            unchanged.append(metric)
        else:
            shown.append(metric)
    return shown, unchanged


def _scenario_figures(
    tables: RunTables,
    scenario: str,
    s_stats: pd.DataFrame,
    s_paired: pd.DataFrame,
    metrics: list[str],
    baseline: str,
    conf_text: str,
    suffix: str,
    formats: Sequence[str],
    out: Path,
    aliases: dict[str, str] | None = None,
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Draw and save the figures of one scenario, in the order the report shows them.

    Args:
        tables: collected runs (all scenarios; each table is filtered to ``scenario``).
        scenario: the scenario drawn.
        s_stats: :func:`~sim.analysis.compare.summarise` rows of the scenario.
        s_paired: :func:`~sim.analysis.compare.paired_differences` rows of the scenario.
        metrics: headline metrics present in the runs.
        baseline: the baseline policy (forest plot caption).
        conf_text: the confidence level as text, e.g. ``"95%"``.
        suffix: file-name suffix of the scenario (empty with one scenario).
        formats: figure formats passed to :func:`sim.outputs.files.save_figure`.
        out: report folder; figures go to ``out/figures/``.
        aliases: display names of policies with identical decisions (``"a = b"``).

    Returns:
        ``(figures, unavailable, unchanged)``: (caption, link relative to ``out``) of each
        saved figure; descriptions of the figures not drawn (no input); metrics identical
        to the baseline on every paired seed (left out of the forest plot).
    """
    figures_dir = out / "figures"

    def of_scenario(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["scenario"] == scenario] if "scenario" in df.columns else df

    figures: list[tuple[str, str]] = []
    unavailable: list[str] = []
    monthly = of_scenario(tables.monthly)
    fan_metrics = _finite_columns(monthly, FAN_METRICS) if not monthly.empty else []
    if fan_metrics:
        fig = plotting.fan_charts(monthly, fan_metrics, ncols=3)
        caption = "Monthly metrics: median over seeds with 5–95 % band"
        figures.append((caption, _save(fig, figures_dir, f"fan_charts{suffix}", formats, out)))
    else:
        unavailable.append("fan charts (no monthly metrics)")
    if {LOSS_METRIC, COST_METRIC} <= set(metrics) and not s_paired.empty:
        stress = STRESS_METRIC if STRESS_METRIC in metrics else "share_buffer_under_15d"
        fig = plotting.tradeoff_three_way(
            s_paired, LOSS_METRIC, COST_METRIC, stress, baseline=baseline, aliases=aliases
        )
        caption = (
            f"Three-way trade-off vs {baseline}: Δ realised loss × Δ effective APR × "
            f"Δ {plotting.metric_label(stress).lower()} (paired {conf_text} CIs, Pareto set)"
        )
        figures.append((caption, _save(fig, figures_dir, f"tradeoff{suffix}", formats, out)))
    else:
        unavailable.append("three-way trade-off (realised loss, APR or other policies missing)")
    forest_metrics, unchanged = _forest_metrics(s_paired, metrics)
    if forest_metrics:
        fig = plotting.forest_plot(s_paired, metrics=forest_metrics)
        caption = f"Paired differences vs {baseline} with {conf_text} CIs"
        figures.append((caption, _save(fig, figures_dir, f"forest{suffix}", formats, out)))
    else:
        unavailable.append("forest plot (no paired differences)")
    segments = of_scenario(tables.by_segment)
    deciles = (
        segments[segments["group"] == "income_decile"]
        if "group" in segments.columns
        else segments.iloc[0:0]
    )
    for value in ("limit_cuts", "effective_apr"):
        if not deciles.empty and value in deciles.columns:
            fig = plotting.decile_bars(deciles, value=value, group="income_decile")
            caption = f"{plotting.metric_label(value)} by income decile (mean over seeds)"
            stem = f"deciles_{value}{suffix}"
            figures.append((caption, _save(fig, figures_dir, stem, formats, out)))
        else:
            unavailable.append(f"income-decile bars of {value}")
    vintage = of_scenario(tables.vintage)
    if not vintage.empty and "months_on_book" in vintage.columns:
        fig = plotting.vintage_plot(vintage)
        caption = "Vintage default curves (runs pooled by accounts)"
        figures.append((caption, _save(fig, figures_dir, f"vintage{suffix}", formats, out)))
    else:
        unavailable.append("vintage curves (no vintage table)")
    transitions = of_scenario(tables.transitions)
    if not transitions.empty and "from_bucket" in transitions.columns:
        fig = plotting.roll_rate_heatmaps(transitions)
        caption = "DPD roll-rate matrices (all months and seeds pooled)"
        stem = f"roll_rates{suffix}"
        figures.append((caption, _save(fig, figures_dir, stem, formats, out)))
    else:
        unavailable.append("roll-rate matrices (no transitions table)")
    firms = of_scenario(tables.firms)
    if not firms.empty and "buffer_days_p50" in firms.columns:
        fig = plotting.buffer_days_distribution(firms)
        caption = "Cash buffer days of firms by sector (quantiles, mean over months and seeds)"
        stem = f"buffer_days{suffix}"
        figures.append((caption, _save(fig, figures_dir, stem, formats, out)))
    else:
        unavailable.append("cash buffer-day distributions (no firms table)")
    ts_metrics = _finite_columns(monthly, TIMESERIES_METRICS) if not monthly.empty else []
    if ts_metrics:
        seed = int(monthly["seed"].min())
        fig = plotting.policy_timeseries(monthly[monthly["seed"] == seed], ts_metrics)
        caption = f"Single-seed illustration (seed {seed})"
        stem = f"timeseries_seed{seed}{suffix}"
        figures.append((caption, _save(fig, figures_dir, stem, formats, out)))
    return figures, unavailable, unchanged
