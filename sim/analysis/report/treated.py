"""The report's lead section: who bears the cuts (effects on the treated), per scenario."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import plotting
from sim.analysis.compare import (
    RunTables,
    event_study,
    format_estimate,
    identical_policies,
    treated_effects,
    treatment_groups,
)
from sim.analysis.report.text import _markdown_table

#: Borrower outcomes of the lead table: column title, unit text, scale for display.
_BORROWER_COLUMNS = {
    "effective_apr": ("Δ all-lender APR", "pp", 100.0),
    "interest_fees_share_of_income": ("Δ interest+fees / income", "pp", 100.0),
    "unmet_need_cny": ("Δ unmet need", "CNY per borrower", 1.0),
    "lenders": ("Δ lenders", "per borrower", 1.0),
    "default_probability": ("Δ default probability", "pp", 100.0),
}
_FIRM_COLUMNS = {
    "shortfall_months": ("Δ shortfall months", "per firm", 1.0),
    "late_payments_cny": ("Δ late supplier payments", "CNY per firm", 1.0),
    "months_under_15d": ("Δ months under 15 buffer days", "per firm", 1.0),
    "closure_probability": ("Δ closure probability", "pp", 100.0),
}
#: Portfolio (run-level) paired differences shown beside the effect on the treated.
_PORTFOLIO_COLUMNS = {
    "effective_apr": ("portfolio Δ APR", "pp", 100.0),
    "cumulative_default_rate": ("portfolio Δ default rate", "pp", 100.0),
    "unmet_credit_need_cny": ("portfolio Δ unmet need", "CNY", 1.0),
}


@dataclass
class TreatedResults:
    """Effects on the treated of a sweep (every scenario), computed once for the report."""

    borrowers: pd.DataFrame = field(default_factory=pd.DataFrame)
    firms: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    identical: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def available(self) -> bool:
        """Whether any effect on the treated was computed."""
        return not self.borrowers.empty


def _treated_borrowers(tables: RunTables, baseline: str) -> pd.DataFrame | None:
    """The borrower table, or None if the runs allow no effects on the treated.

    None when no per-agent tables were written or the baseline has none.
    """
    b = tables.borrowers
    if b.empty or "borrower_id" not in b.columns:
        return None
    if baseline not in set(b["policy"].astype(str)):
        return None
    return b


def identical_decisions(tables: RunTables, baseline: str) -> pd.DataFrame:
    """Sets of policies with identical decisions, as :func:`compute_treated` reports them.

    :func:`~sim.analysis.compare.identical_policies` of the borrower table; empty when
    :func:`compute_treated` computes nothing.
    """
    b = _treated_borrowers(tables, baseline)
    return pd.DataFrame() if b is None else identical_policies(b)


def compute_treated(
    tables: RunTables,
    baseline: str,
    confidence: float,
    identical: pd.DataFrame | None = None,
) -> TreatedResults:
    """Effects on the treated, the event study and identical-decision sets of a sweep.

    Empty results when the runs wrote no per-agent tables or the baseline has none.
    ``identical``: :func:`identical_decisions` of the same runs, if already computed.
    """
    b = _treated_borrowers(tables, baseline)
    if b is None:
        return TreatedResults()
    pairs = treatment_groups(b, baseline)
    effects, firm_effects = treated_effects(
        b, tables.firm_outcomes, baseline=baseline, confidence=confidence, pairs=pairs
    )
    events = event_study(
        b, tables.agent_panel, baseline=baseline, confidence=confidence, pairs=pairs
    )
    if identical is None:
        identical = identical_policies(b)
    return TreatedResults(effects, firm_effects, events, identical)


def _fmt(row: pd.Series | None, scale: float) -> str:
    if row is None:
        return "n/a"
    return format_estimate(
        scale * float(row["mean_diff"]), scale * float(row["ci_low"]), scale * float(row["ci_high"])
    )


def _pick(df: pd.DataFrame, **where: object) -> pd.Series | None:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    hit = df[mask]
    return None if hit.empty else hit.iloc[0]


def aliases_of(identical: pd.DataFrame, scenario: str) -> dict[str, str]:
    """Display name of each policy: ``"a = b"`` for policies with identical decisions."""
    out: dict[str, str] = {}
    if identical.empty:
        return out
    for names in identical.loc[identical["scenario"] == scenario, "policies"]:
        label = " = ".join(names)
        out |= dict.fromkeys(names, label)
    return out


def treated_section(
    results: TreatedResults,
    scenario: str,
    paired: pd.DataFrame,
    baseline: str,
    conf_text: str,
    save: callable,
) -> tuple[list[str], list[str]]:
    """Markdown lines of "Who bears the cuts" for one scenario, and its key sentences.

    Args:
        results: :func:`compute_treated` output.
        scenario: the scenario.
        paired: run-level paired differences of the scenario (portfolio effects).
        baseline: the baseline policy.
        conf_text: confidence level as text.
        save: ``save(fig, stem) -> link`` saving a figure of the report.

    Returns:
        ``(lines, key_sentences)``.
    """
    lines = [
        "Borrowers a policy cut (earlier or more often than the baseline), paired with "
        f"themselves under `{baseline}` (same scenario and seed): mean over seeds of the "
        f"group's difference [{conf_text} CI over seeds; borrowers are clustered within "
        "seeds]. Outcomes cover every lender and the post-burn-in window.",
        "",
    ]
    if not results.available:
        return lines + ["Not available: the runs wrote no per-agent tables.", ""], []
    eff = results.borrowers[results.borrowers["scenario"] == scenario]
    firm = results.firms
    if not firm.empty:
        firm = firm[firm["scenario"] == scenario]
    aliases = aliases_of(results.identical, scenario)
    shown: list[str] = []
    seen: set[str] = set()
    for policy in sorted(eff["policy"].astype(str).unique()):
        label = aliases.get(policy, policy)
        if label not in seen:
            seen.add(label)
            shown.append(policy)
    for names in {v for v in aliases.values()}:
        same_as_base = baseline in names.split(" = ")
        lines.append(
            f"- Identical decisions on every borrower and seed: **{names}**"
            + (f" (no effect: the same as `{baseline}`)." if same_as_base else " (one row below).")
        )
    rows, firm_rows, key = [], [], []
    for policy in shown:
        label = aliases.get(policy, policy)
        if baseline in label.split(" = "):
            continue
        all_ = eff[(eff["policy"] == policy) & (eff["by"] == "all")]
        cut = _pick(all_, group="cut", outcome="default_probability")
        raised = _pick(all_, group="raised", outcome="default_probability")
        row = {
            "policy": label,
            "cut (share)": f"{100 * cut['treated_share']:.1f} %" if cut is not None else "0 %",
            "raised (share)": (
                f"{100 * raised['treated_share']:.1f} %" if raised is not None else "0 %"
            ),
        }
        for outcome, (title, unit, scale) in _BORROWER_COLUMNS.items():
            row[f"{title} ({unit})"] = _fmt(_pick(all_, group="cut", outcome=outcome), scale)
        for metric, (title, unit, scale) in _PORTFOLIO_COLUMNS.items():
            p = _pick(paired, policy=policy, metric=metric)
            row[f"{title} ({unit})"] = _fmt(p, scale)
        rows.append(row)
        if cut is not None:
            apr = _pick(all_, group="cut", outcome="effective_apr")
            unmet = _pick(all_, group="cut", outcome="unmet_need_cny")
            port = _pick(paired, policy=policy, metric="cumulative_default_rate")
            text = (
                f"`{label}` cut {100 * cut['treated_share']:.1f} % of borrowers; their default "
                f"probability {100 * cut['baseline_mean']:.1f} % → "
                f"{100 * cut['policy_mean']:.1f} % ({_fmt(cut, 100.0)} pp)"
            )
            if apr is not None:
                text += f", all-lender APR {_fmt(apr, 100.0)} pp"
            if unmet is not None:
                text += f", unmet need {_fmt(unmet, 1.0)} CNY each"
            if port is not None:
                text += f"; portfolio default rate {_fmt(port, 100.0)} pp"
            key.append(text + "." + _reason_text(eff, policy))
        if not firm.empty:
            f_all = firm[(firm["policy"] == policy) & (firm["by"] == "all")]
            if not f_all.empty:
                first = f_all.iloc[0]
                frow = {
                    "policy": label,
                    "firms with owner cut": f"{100 * first['treated_share']:.1f} %",
                }
                for outcome, (title, unit, scale) in _FIRM_COLUMNS.items():
                    frow[f"{title} ({unit})"] = _fmt(_pick(f_all, outcome=outcome), scale)
                firm_rows.append(frow)
    if rows:
        lines += ["", "### Borrowers cut: effect on them, and on the portfolio", ""]
        lines += [_markdown_table(pd.DataFrame(rows)), ""]
    else:
        lines += ["", f"No policy other than `{baseline}` changed any decision.", ""]
    if firm_rows:
        lines += ["### Firms whose owner was cut", ""]
        lines += [_markdown_table(pd.DataFrame(firm_rows)), ""]
    lines += ["### Key numbers", ""] + [f"- {k}" for k in key] + [""]
    lines += _by_group_table(eff, shown, aliases, baseline)
    keep = [p for p in shown if baseline not in aliases.get(p, p).split(" = ")]
    cut_rows = eff[eff["policy"].isin(keep) & (eff["group"] == "cut")]
    if not cut_rows.empty:
        fig = plotting.who_bears_cuts(cut_rows, outcome="default_probability")
        link = save(fig, "who_bears_cuts")
        caption = (
            "Who bears the cuts: share cut, and Δ default probability of the cut "
            f"(vs themselves under {baseline}), by income decile, behaviour type and sector"
        )
        lines += [f"### {caption}", "", f"![{caption}]({link})", ""]
    events = results.events
    if not events.empty:
        events = events[(events["scenario"] == scenario) & events["policy"].isin(keep)]
    if not events.empty:
        fig = plotting.event_study_plot(events, baseline=baseline)
        link = save(fig, "event_study")
        caption = (
            "Event study around the first cut (months −6 … +12): cut borrowers in the "
            f"id-sampled panel vs themselves under {baseline}; the set of borrowers "
            "observed changes with the event month (cuts near the run's ends)"
        )
        lines += [f"### {caption}", "", f"![{caption}]({link})", ""]
    return lines, key


def _reason_text(eff: pd.DataFrame, policy: str) -> str:
    """The most frequent first-cut reason of a policy and the one moving default most."""
    rows = eff[
        (eff["policy"] == policy)
        & (eff["by"] == "first_cut_reason")
        & (eff["outcome"] == "default_probability")
    ]
    if rows.empty:
        return ""
    largest = rows.sort_values("n_treated", ascending=False).index[0]
    hardest = rows["mean_diff"].abs().idxmax()
    parts = [
        f"{r['level']} ({100 * r['treated_share']:.1f} % of borrowers): default "
        f"{100 * r['baseline_mean']:.1f} % → {100 * r['policy_mean']:.1f} % "
        f"({_fmt(r, 100.0)} pp)"
        for _, r in rows.loc[list(dict.fromkeys([largest, hardest]))].iterrows()
    ]
    return f" By first-cut reason: {'; '.join(parts)}."


def _by_group_table(
    eff: pd.DataFrame, shown: Sequence[str], aliases: dict[str, str], baseline: str
) -> list[str]:
    """Share cut and Δ default probability of the cut, by subgroup (rows) and policy."""
    out = []
    keep = [p for p in shown if baseline not in aliases.get(p, p).split(" = ")]
    part = eff[
        eff["policy"].isin(keep)
        & (eff["group"] == "cut")
        & (eff["outcome"] == "default_probability")
        & (eff["by"] != "all")
    ]
    if part.empty:
        return out
    rows = []
    for (by, level), g in part.groupby(["by", "level"], sort=False):
        row = {"group": by, "level": level}
        for policy in keep:
            r = _pick(g, policy=policy)
            row[aliases.get(policy, policy)] = (
                "–" if r is None else f"{100 * r['treated_share']:.0f} % cut; {_fmt(r, 100.0)} pp"
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    order = {"income_decile": 0, "behaviour_type": 1, "sector": 2, "first_cut_reason": 3}
    table["_o"] = table["group"].map(order).fillna(3)
    table["_l"] = pd.to_numeric(table["level"], errors="coerce")
    table = table.sort_values(["_o", "_l", "level"]).drop(columns=["_o", "_l"])
    out += [
        "### By income decile, behaviour type, sector and reason of the first cut",
        "",
        "Share of the subgroup cut (by reason: share of all borrowers whose first cut "
        "had that reason); Δ default probability of those cut (pp) [CI].",
        "",
        _markdown_table(table),
        "",
    ]
    return out


def write_treated_csv(results: TreatedResults, out: Path, write_csv: callable) -> list[str]:
    """Write the long tables of the effects on the treated; return their file names."""
    names = []
    for name, df in (
        ("treated_effects.csv", results.borrowers),
        ("treated_firm_effects.csv", results.firms),
        ("event_study.csv", results.events),
    ):
        if not df.empty:
            write_csv(df, out / name)
            names.append(name)
    return names
