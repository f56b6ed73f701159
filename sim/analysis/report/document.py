"""The report document: what was run, each scenario's sections and figures, conventions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare import (
    HEADLINE_METRICS,
    HIGHER_IS_WORSE,
    RunTables,
    paired_differences,
    summarise,
)
from sim.analysis.compare.seeds import seed_note
from sim.analysis.report.figure_worker import FigureWorker
from sim.analysis.report.figures import _save, _scenario_figures
from sim.analysis.report.html import write_html
from sim.analysis.report.sections import (
    COST_METRIC,
    LOSS_METRIC,
    STRESS_METRIC,
    _findings,
    _paired_markdown,
    _transposed_comparison,
)
from sim.analysis.report.text import _markdown_table, _seed_text, _slug, _values_text
from sim.analysis.report.treated import (
    aliases_of,
    compute_treated,
    identical_decisions,
    treated_section,
    write_treated_csv,
)
from sim.outputs import files as io
from sim.outputs.tables import SUMMARY_EXTRA_METRICS

__all__ = ["SUPPLEMENTARY_METRICS", "write_report"]

#: Summary values of the runs not in the report's second table (counts and segment shares
#: that the report shows elsewhere).
_NOT_SUPPLEMENTARY = frozenset(
    {"channel_default_count", "firm_closures", "dpd90_share_sole_trader", "dpd90_share_household"}
)
SUPPLEMENTARY_METRICS: tuple[str, ...] = tuple(
    m for m in SUMMARY_EXTRA_METRICS if m not in _NOT_SUPPLEMENTARY
)
"""Further summary values shown in a second table when the runs wrote them."""


def _suffix(scenarios: Sequence[str], scenario: str) -> str:
    """File-name suffix of a scenario's figures (empty with one scenario)."""
    return "" if len(scenarios) == 1 else f"_{_slug(scenario)}"


def write_report(
    tables: RunTables,
    out_dir: str | os.PathLike[str],
    baseline: str = "static",
    formats: Sequence[str] = ("png", "svg"),
    method: str = "t",
    confidence: float = 0.95,
    figure_worker: FigureWorker | None = None,
) -> Path:
    """Write the comparison report (Markdown, CSV tables and figures) for a sweep.

    Computes :func:`~sim.analysis.compare.summarise` and
    :func:`~sim.analysis.compare.paired_differences` over the headline metrics present
    in ``tables.summary``; draws, per scenario, fan charts of the monthly metrics
    (:data:`FAN_METRICS`), the three-way paired trade-off (loss, cost, stress) with its
    Pareto set, a forest plot of paired differences, bars of limit cuts and effective
    APR by income decile, vintage curves, roll-rate heat maps and a single-seed
    time-series illustration (the smallest seed); and writes ``report.md`` (and its
    self-contained ``report.html``) with what was run, who bears the cuts (effects on
    the treated: :mod:`sim.analysis.report.treated`), the comparison table (metrics as
    rows, policies as columns; cells ``mean [ci_low, ci_high]`` in the metric's unit,
    fractions as fractions), the paired-difference table, one sentence per outcome
    family and the figures.

    Args:
        tables: collected runs (:func:`sim.analysis.compare.collect_runs`).
        out_dir: output folder (created if needed; existing files are replaced).
        baseline: policy that the others are paired against; default ``"static"``.
        formats: figure formats passed to :func:`sim.outputs.files.save_figure`; the report embeds
            the PNG if written, else the SVG, else the first format.
        method: ``"t"`` (paired t) or ``"bootstrap"`` for the paired intervals.
        confidence: two-sided confidence level of all intervals.
        figure_worker: an entered :class:`~sim.analysis.report.figure_worker.FigureWorker`
            drawing the scenario figures while the effects on the treated are computed
            (``experiments.compare`` passes a second process); default: drawn here.

    Returns:
        Path of ``report.md``.

    Raises:
        ValueError: if ``baseline`` is not among the policies, ``formats`` is empty,
            ``method`` is unknown, or the summary table has no headline metric.
    """
    formats = tuple(formats)
    if not formats:
        raise ValueError("formats must name at least one figure format")
    if figure_worker is None:
        figure_worker = FigureWorker(process=False)
    out = Path(out_dir)
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
    # The scenario figures need the small tables only: drawn (by the worker) while the
    # effects on the treated are computed from the per-borrower ones.
    identical = identical_decisions(tables, baseline)
    figure_tables = replace(
        tables,
        events=tables.events.iloc[0:0],
        borrowers=tables.borrowers.iloc[0:0],
        firm_outcomes=tables.firm_outcomes.iloc[0:0],
        agent_panel=tables.agent_panel.iloc[0:0],
    )
    scenario_figures = {
        scenario: figure_worker.submit(
            _scenario_figures,
            figure_tables,
            scenario,
            stats_df[stats_df["scenario"] == scenario],
            paired_df[paired_df["scenario"] == scenario],
            metrics,
            baseline,
            f"{confidence:.0%}",
            _suffix(tables.scenarios, scenario),
            formats,
            out,
            aliases=aliases_of(identical, scenario),
        )
        for scenario in tables.scenarios
    }
    treated = compute_treated(tables, baseline, confidence, identical=identical)
    treated_csv = write_treated_csv(treated, out, io.write_csv_atomic)

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
        f"- Borrowers per run (at the end): "
        f"{_values_text(summary.get('n_borrowers', pd.Series()))}; months compared per run: "
        f"{_values_text(summary.get('n_months', pd.Series()))}, after a burn-in of "
        f"{_values_text(summary.get('burn_in_months', pd.Series([0])))} months under `static` "
        "that every policy shares (left out of every table, figure and test here)",
        f"- Complete runs: {len(summary)}; incomplete run folders skipped: "
        f"{len(tables.incomplete)}",
        f"- Intervals: {conf_text} Student-t over seeds; paired differences "
        f"({'paired t-test' if method == 't' else 'BCa bootstrap'}) are policy − {baseline} "
        "on the same (scenario, seed)"
        + (
            " (one seed here: no interval can be given, so the tables show the value alone; "
            "run two seeds or more for intervals)"
            if len(tables.seeds) == 1
            else ""
        ),
        "- Tables: "
        + ", ".join(
            f"`{n}`" for n in ["comparison_summary.csv", "paired_differences.csv", *treated_csv]
        )
        + " (long format)",
    ]
    if missing_metrics:
        lines.append(f"- Headline metrics absent from the runs: {', '.join(missing_metrics)}")
    lines += seed_note(tables)
    lines.append("")

    key_numbers: list[str] = []
    for scenario in scenarios:
        identical_seen: set[str] = set()
        in_scenario = summary["scenario"] == scenario
        s_summary = summary[in_scenario]
        s_stats = stats_df[stats_df["scenario"] == scenario]
        s_paired = paired_df[paired_df["scenario"] == scenario]
        suffix = _suffix(scenarios, scenario)
        heading = "" if len(scenarios) == 1 else f" — scenario `{scenario}`"

        def save(fig, stem, suffix=suffix):
            return _save(fig, out / "figures", f"{stem}{suffix}", formats, out)

        lines += [f"## Who bears the cuts{heading}", ""]
        section, key = treated_section(treated, scenario, s_paired, baseline, conf_text, save)
        lines += section
        key_numbers += [f"[{scenario}] {k}" for k in key]
        lines += [f"## Key findings (portfolio){heading}", ""]
        for names in aliases_of(treated.identical, scenario).values():
            if names not in identical_seen:
                identical_seen.add(names)
                lines.append(f"- **Identical decisions:** {names} (reported once).")
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

        figures, unavailable, unchanged = scenario_figures[scenario].result()
        if unchanged:
            lines += [
                f"Identical to `{baseline}` on every paired seed (left out of the forest "
                f"plot): {', '.join(unchanged)}.",
                "",
            ]

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
    io.write_text_atomic("\n".join(key_numbers) + "\n", out / "key_numbers.txt")
    write_html(report, out / "report.html")
    return report
