"""One-page Markdown report comparing limit policies over a collected sweep.

:func:`write_report` summarises a :class:`~sim.analysis.compare.RunTables` (means and
confidence intervals over seeds, paired differences against a baseline policy under
common random numbers), draws the figures of :mod:`sim.plotting` and writes, all through
:mod:`sim.outputs.files` (atomic writes)::

    out_dir/
      report.md                  the report (figures linked relatively)
      comparison_summary.csv     summarise() output, long format
      paired_differences.csv     paired_differences() output, long format
      figures/<name>[_<scenario>].<fmt>

With several scenarios every per-scenario figure is drawn once per scenario (file names
get the scenario as suffix), because pooling different exogenous worlds would be
misleading. Figures whose input table is empty (e.g. no vintage table written) are
skipped and listed as not available.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim import plotting
from sim.analysis.compare import (
    HEADLINE_METRICS,
    HIGHER_IS_WORSE,
    RunTables,
    comparison_table,
    format_estimate,
    paired_differences,
    summarise,
)
from sim.outputs import files as io

__all__ = ["FAN_METRICS", "SUPPLEMENTARY_METRICS", "TIMESERIES_METRICS", "write_report"]

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

SUPPLEMENTARY_METRICS: tuple[str, ...] = (
    "platform_effective_apr",
    "lenders_per_borrower",
    "multi_lender_share",
    "channel_draws_cny",
    "share_buffer_under_7d",
    "unmet_financing_gap_cny",
    "supplier_bad_debt_cny",
    "closures_shortfall",
    "closures_exit",
    "cumulative_closure_rate",
    "default_rate_sole_trader",
    "default_rate_household",
)
"""Further summary values shown in a second table when the runs wrote them."""

TIMESERIES_METRICS: tuple[str, ...] = ("ead_cny", "default_rate", "effective_apr", "limit_cuts")
"""Monthly metrics of the single-seed illustration."""

LOSS_METRIC = "realised_loss_cny"
COST_METRIC = "effective_apr"
STRESS_METRIC = "median_cash_buffer_days"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"


def _cell(value: object) -> str:
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (index not shown)."""
    header = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _unit_text(metric: str) -> str:
    unit = plotting.metric_unit(metric)
    return {"%": "fraction", "": "-"}.get(unit, unit)


def _seed_text(seeds: list[int]) -> str:
    if not seeds:
        return "none"
    if len(seeds) <= 12:
        return ", ".join(str(s) for s in seeds)
    return f"{len(seeds)} seeds ({seeds[0]} … {seeds[-1]})"


def _values_text(values: pd.Series) -> str:
    unique = sorted({int(v) for v in values.dropna()})
    return ", ".join(f"{v:,}" for v in unique) if unique else "n/a"


def _display(metric: str, mean: float) -> str:
    """A mean for a sentence: percent for fractions, CNY with separators, else 4 digits."""
    if not np.isfinite(mean):
        return "n/a"
    if plotting.is_fraction(metric):
        return f"{100 * mean:.2f} %"
    if metric.endswith("_cny"):
        return f"{mean:,.0f} CNY"
    unit = plotting.metric_unit(metric)
    return f"{mean:.4g} {unit}".strip()


def _best(stats_df: pd.DataFrame, metric: str, lowest: bool) -> tuple[str, float] | None:
    """The best policy on ``metric``; tied policies are joined with " = " (no false winner)."""
    rows = stats_df[(stats_df["metric"] == metric) & np.isfinite(stats_df["mean"])]
    if rows.empty:
        return None
    ordered = rows.sort_values(["mean", "policy"], ascending=[lowest, True], kind="stable")
    best = float(ordered["mean"].iloc[0])
    tied = ordered[np.isclose(ordered["mean"], best, rtol=1e-12, atol=1e-12)]
    return " = ".join(str(p) for p in tied["policy"]), best


def _findings(stats_df: pd.DataFrame, paired_df: pd.DataFrame, baseline: str) -> list[str]:
    """Auto-generated sentences for one scenario."""
    lines = []
    items = [
        ("Default exposure", LOSS_METRIC, True, "lowest realised loss"),
        ("Borrowing cost", COST_METRIC, True, "lowest effective APR"),
        ("Cash-flow stress", STRESS_METRIC, False, "highest median cash buffer"),
    ]
    for family, metric, lowest, phrase in items:
        best = _best(stats_df, metric, lowest)
        if best is None:
            lines.append(f"- **{family}:** {metric} is not available in these runs.")
            continue
        policy, mean = best
        if " = " in policy:
            lines.append(
                f"- **{family}:** no single {phrase}: **{policy}** tie "
                f"({_display(metric, mean)} mean over seeds)"
            )
            continue
        text = f"- **{family}:** {phrase}: **{policy}** ({_display(metric, mean)} mean over seeds)"
        if policy != baseline:
            row = paired_df[(paired_df["policy"] == policy) & (paired_df["metric"] == metric)]
            if not row.empty and np.isfinite(row["ci_low"].iloc[0]):
                r = row.iloc[0]
                excludes = r["ci_low"] > 0 or r["ci_high"] < 0
                text += (
                    f"; paired difference vs {baseline} "
                    f"{format_estimate(r['mean_diff'], r['ci_low'], r['ci_high'])}"
                    f" ({'CI excludes 0' if excludes else 'CI includes 0'})"
                )
        lines.append(text + ".")
    wide = stats_df[stats_df["metric"].isin([LOSS_METRIC, COST_METRIC])].pivot_table(
        index="policy", columns="metric", values="mean", aggfunc="first"
    )
    if {LOSS_METRIC, COST_METRIC} <= set(wide.columns):
        front = plotting.pareto_front(wide, COST_METRIC, LOSS_METRIC)
        names = ", ".join(f"**{p}**" for p in front) if front else "none (no finite means)"
        lines.append(
            f"- **Trade-off:** on the Pareto front of realised loss vs effective APR "
            f"(no policy is lower on both): {names}."
        )
    return lines


def _transposed_comparison(summary: pd.DataFrame, baseline: str, metrics: list[str], conf: float):
    """Comparison table of one scenario with metrics as rows and policies as columns."""
    wide = comparison_table(summary, baseline, metrics=metrics, confidence=conf)
    table = wide.set_index("policy")[metrics].T
    table.insert(0, "unit", [_unit_text(m) for m in metrics])
    table.insert(0, "metric", metrics)
    seeds_row = {"metric": "n_seeds", "unit": "runs"} | {
        p: str(n) for p, n in zip(wide["policy"], wide["n_seeds"], strict=True)
    }
    return pd.concat([pd.DataFrame([seeds_row]), table.reset_index(drop=True)], ignore_index=True)


def _paired_markdown(paired_df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Paired differences of one scenario: metrics as rows, policies as columns."""
    policies = sorted(paired_df["policy"].unique().tolist())
    rows = []
    for metric in metrics:
        row = {"metric": metric, "unit": _unit_text(metric)}
        for policy in policies:
            hit = paired_df[(paired_df["policy"] == policy) & (paired_df["metric"] == metric)]
            if hit.empty:
                row[policy] = "n/a"
                continue
            r = hit.iloc[0]
            text = format_estimate(r["mean_diff"], r["ci_low"], r["ci_high"])
            if np.isfinite(r["p_value"]):
                p = float(r["p_value"])
                text += " (p<0.001)" if p < 0.001 else f" (p={p:.3f})"
            row[policy] = text
        rows.append(row)
    pairs = {
        p: str(int(paired_df.loc[paired_df["policy"] == p, "n_pairs"].max())) for p in policies
    }
    unpaired = {
        p: int(paired_df.loc[paired_df["policy"] == p, "n_unpaired"].max()) for p in policies
    }
    first = {"metric": "n_pairs", "unit": "seeds"} | {
        p: pairs[p] + (f" ({unpaired[p]} unpaired)" if unpaired[p] else "") for p in policies
    }
    return pd.DataFrame([first, *rows])


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


def write_report(
    tables: RunTables,
    out_dir: str | os.PathLike[str],
    baseline: str = "static",
    formats: Sequence[str] = ("png", "svg"),
    method: str = "t",
    confidence: float = 0.95,
) -> Path:
    """Write the comparison report (Markdown, CSV tables and figures) for a sweep.

    Computes :func:`~sim.analysis.compare.summarise` and
    :func:`~sim.analysis.compare.paired_differences` over the headline metrics present
    in ``tables.summary``; draws, per scenario, fan charts of the monthly metrics
    (:data:`FAN_METRICS`), the loss/cost/stress trade-off with its Pareto front, a
    forest plot of paired differences, bars of limit cuts and effective APR by income
    decile, vintage curves, roll-rate heat maps and a single-seed time-series
    illustration (the smallest seed); and writes ``report.md`` with what was run, the
    comparison table (metrics as rows, policies as columns; cells ``mean [ci_low,
    ci_high]`` in the metric's unit, fractions as fractions), the paired-difference table,
    one sentence per outcome family and the figures.

    Args:
        tables: collected runs (:func:`sim.analysis.compare.collect_runs`).
        out_dir: output folder (created if needed; existing files are replaced).
        baseline: policy that the others are paired against; default ``"static"``.
        formats: figure formats passed to :func:`sim.outputs.files.save_figure`; the report embeds
            the PNG if written, else the SVG, else the first format.
        method: ``"t"`` (paired t) or ``"bootstrap"`` for the paired intervals.
        confidence: two-sided confidence level of all intervals.

    Returns:
        Path of ``report.md``.

    Raises:
        ValueError: if ``baseline`` is not among the policies, ``formats`` is empty,
            ``method`` is unknown, or the summary table has no headline metric.
    """
    out = Path(out_dir)
    figures_dir = out / "figures"
    formats = tuple(formats)
    if not formats:
        raise ValueError("formats must name at least one figure format")
    summary = tables.summary
    metrics = [m for m in HEADLINE_METRICS if m in summary.columns]
    if not metrics:
        raise ValueError("the summary table has none of the headline metrics")
    missing_metrics = [m for m in HEADLINE_METRICS if m not in summary.columns]

    stats_df = summarise(summary, metrics=metrics, confidence=confidence)
    paired_df = paired_differences(
        summary, baseline=baseline, metrics=metrics, confidence=confidence, method=method
    )
    io.write_csv_atomic(stats_df, out / "comparison_summary.csv")
    io.write_csv_atomic(paired_df, out / "paired_differences.csv")

    policies = tables.policies
    scenarios = tables.scenarios
    conf_text = f"{confidence:.0%}"
    lines = [
        "# Credit-limit policy comparison",
        "",
        "## What was run",
        "",
        f"- Policies: {', '.join(f'`{p}`' for p in policies)} (baseline `{baseline}`)",
        f"- Scenarios: {', '.join(f'`{s}`' for s in scenarios)}",
        f"- Seeds: {_seed_text(tables.seeds)} (common random numbers: the same seed gives "
        "every policy the same exogenous shocks)",
        f"- Borrowers per run: {_values_text(summary.get('n_borrowers', pd.Series()))}; "
        f"months per run: {_values_text(summary.get('n_months', pd.Series()))}",
        f"- Complete runs: {len(summary)}; incomplete run folders skipped: "
        f"{len(tables.incomplete)}",
        f"- Intervals: {conf_text} Student-t over seeds; paired differences "
        f"({'paired t-test' if method == 't' else 'BCa bootstrap'}) are policy − {baseline} "
        "on the same (scenario, seed)",
        "- Tables: `comparison_summary.csv`, `paired_differences.csv` (long format)",
    ]
    if missing_metrics:
        lines.append(f"- Headline metrics absent from the runs: {', '.join(missing_metrics)}")
    lines.append("")

    for scenario in scenarios:
        in_scenario = summary["scenario"] == scenario
        s_summary = summary[in_scenario]
        s_stats = stats_df[stats_df["scenario"] == scenario]
        s_paired = paired_df[paired_df["scenario"] == scenario]
        suffix = "" if len(scenarios) == 1 else f"_{_slug(scenario)}"
        heading = "" if len(scenarios) == 1 else f" — scenario `{scenario}`"

        def of_scenario(df: pd.DataFrame, scenario: str = scenario) -> pd.DataFrame:
            return df[df["scenario"] == scenario] if "scenario" in df.columns else df

        lines += [f"## Key findings{heading}", ""]
        lines += _findings(s_stats, s_paired, baseline)
        lines += [
            "",
            f"## Comparison table{heading}",
            "",
            f"Mean over seeds [{conf_text} CI]; rates and shares are fractions.",
            "",
            _markdown_table(_transposed_comparison(s_summary, baseline, metrics, confidence)),
            "",
            f"## Paired differences vs `{baseline}`{heading}",
            "",
            f"Mean of (policy − {baseline}) over paired seeds [{conf_text} CI]"
            + (" (p-value of the paired t-test)." if method == "t" else "."),
            "",
        ]
        if s_paired.empty:
            lines += [f"No policy other than `{baseline}` was run in this scenario.", ""]
        else:
            lines += [_markdown_table(_paired_markdown(s_paired, metrics)), ""]
        extra = [m for m in SUPPLEMENTARY_METRICS if m in s_summary.columns]
        extra = [m for m in extra if np.isfinite(s_summary[m].to_numpy(dtype=float)).any()]
        if extra:
            lines += [
                f"## More borrowing-cost, exposure and small-business measures{heading}",
                "",
                "Mean over seeds [CI]: platform-only APR, lenders per indebted borrower and "
                "the share with two or more, cash lent by other lenders, firms under 7 "
                "buffer days, unmet financing gaps, suppliers' bad debts, closures by cause "
                "(counts over the run) and the share of firms closed, default rates of sole "
                "traders and other households.",
                "",
                _markdown_table(_transposed_comparison(s_summary, baseline, extra, confidence)),
                "",
            ]

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
        if {LOSS_METRIC, COST_METRIC} <= set(metrics):
            fig = plotting.tradeoff_frontier(s_stats, LOSS_METRIC, COST_METRIC, STRESS_METRIC)
            caption = "Trade-off: realised loss vs effective APR, colour = median cash buffer"
            figures.append((caption, _save(fig, figures_dir, f"tradeoff{suffix}", formats, out)))
        else:
            unavailable.append("trade-off frontier (realised loss or effective APR missing)")
        forest_metrics, unchanged = _forest_metrics(s_paired, metrics)
        if unchanged:
            lines += [
                f"Identical to `{baseline}` on every paired seed (left out of the forest "
                f"plot): {', '.join(unchanged)}.",
                "",
            ]
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

        lines += [f"## Figures{heading}", ""]
        for caption, link in figures:
            lines += [f"### {caption}", "", f"![{caption}]({link})", ""]
        if unavailable:
            lines += [f"Not available: {'; '.join(unavailable)}.", ""]

    if tables.incomplete:
        shown = [str(p) for p in tables.incomplete[:10]]
        more = len(tables.incomplete) - len(shown)
        lines += ["## Incomplete runs (skipped)", ""]
        lines += [f"- `{p}`" for p in shown]
        if more > 0:
            lines.append(f"- … and {more} more")
        lines.append("")

    direction = ", ".join(
        f"{m} ({'lower' if HIGHER_IS_WORSE.get(m, True) else 'higher'} is better)"
        for m in (LOSS_METRIC, COST_METRIC, STRESS_METRIC)
    )
    lines += ["---", "", f"Direction conventions: {direction}.", ""]
    report = out / "report.md"
    io.write_text_atomic("\n".join(lines) + "\n", report)
    return report
