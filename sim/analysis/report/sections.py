"""Sections of the report for one scenario: key findings, comparison and paired tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis import plotting
from sim.analysis.compare import HIGHER_IS_WORSE, comparison_table, format_estimate
from sim.analysis.report.text import _display, _unit_text

LOSS_METRIC = "realised_loss_cny"
COST_METRIC = "effective_apr"
STRESS_METRIC = "median_cash_buffer_days"


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
    three = [m for m in (LOSS_METRIC, COST_METRIC, STRESS_METRIC) if m in set(paired_df["metric"])]
    if {LOSS_METRIC, COST_METRIC} <= set(three):
        rows = paired_df[paired_df["metric"].isin(three)]
        wide = {
            stat: rows.pivot_table(index="policy", columns="metric", values=stat)
            .reindex(columns=three)
            .pipe(lambda df: pd.concat([pd.DataFrame(0.0, index=[baseline], columns=three), df]))
            for stat in ("mean_diff", "ci_low", "ci_high")
        }
        lows = wide["ci_low"].fillna(wide["mean_diff"])
        highs = wide["ci_high"].fillna(wide["mean_diff"])
        worse = {m: HIGHER_IS_WORSE.get(m, True) for m in three}
        front = plotting.pareto_set_ci(wide["mean_diff"], lows, highs, worse)
        names = ", ".join(f"**{p}**" for p in front) if front else "none (no finite values)"
        lines.append(
            f"- **Trade-off:** on the Pareto front of {', '.join(three)} (paired "
            f"differences vs {baseline}; no other policy is clearly better on one and "
            f"clearly worse on none, intervals not overlapping): {names}."
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
