"""Writing the validation report: Markdown, CSV tables and figures of a validation result."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.empirical.validation.config import ValidationConfig
from sim.empirical.validation.flag import flag_lines
from sim.empirical.validation.panel import months_after
from sim.empirical.validation.pd_check import pd_calibration_lines
from sim.empirical.validation.run import ValidationResult

__all__ = ["bars_input", "display_table", "write_validation_report"]


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def _pp(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.2f}"


def _markdown(df: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The results table formatted for reading (percentages, pp, pass/fail).

    Returns:
        Columns ``statistic``, ``observed``, ``observed (code 1 as R)``, ``simulated mean``,
        ``interval over seeds``, ``error (pp)``, ``target (pp)``, ``result``.
    """

    def verdict(p: object) -> str:
        return "–" if p is None else ("pass" if p else "**MISS**")

    return pd.DataFrame(
        {
            "statistic": table["stat"],
            "observed": [_pct(v) for v in table["observed"]],
            "observed (code 1 as R)": [
                _pct(v) if np.isfinite(v) else "" for v in table["observed_alt"]
            ],
            "simulated mean": [_pct(v) for v in table["sim_mean"]],
            "interval over seeds": [
                f"{_pct(lo)} – {_pct(hi)}"
                for lo, hi in zip(table["sim_low"], table["sim_high"], strict=True)
            ],
            "error (pp)": [_pp(v) for v in table["error_pp"]],
            "target (pp)": ["" if not np.isfinite(t) else f"±{t:g}" for t in table["tolerance_pp"]],
            "result": [verdict(p) for p in table["passed"]],
        }
    )


def bars_input(table: pd.DataFrame, prefix: str, strip: str = "") -> pd.DataFrame:
    """Rows of a validation table whose ``stat`` starts with ``prefix``, for bar charts.

    Shaped for :func:`sim.analysis.plotting.observed_vs_simulated_bars`; ``label`` is the
    rest of the statistic's name.
    """
    rows = table[table["stat"].str.startswith(prefix)]
    return pd.DataFrame(
        {
            "label": rows["stat"].str.removeprefix(strip or prefix).str.strip(),
            "observed": rows["observed"].to_numpy(),
            "observed_alt": rows["observed_alt"].to_numpy(),
            "sim_mean": rows["sim_mean"].to_numpy(),
            "sim_low": rows["sim_low"].to_numpy(),
            "sim_high": rows["sim_high"].to_numpy(),
        }
    )


def _verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def _summary_line(result: ValidationResult, size_note: str = "") -> str:
    sc, acc, table = result.scorecard, result.accounts, result.table
    targets = table[table["passed"].notna()]
    parts = [
        f"{len(targets) - len(result.missed)} of {len(targets)} statistic targets met",
        f"scorecard hold-out AUC {sc['auc']:.3f} (target >= {sc['spec'].min_auc:g}: "
        f"{_verdict(sc['auc_passed'])})",
        f"scorecard calibration max error {sc['max_error_pp']:.1f} pp (target <= "
        f"{sc['spec'].calibration_tolerance_pp:g} pp: {_verdict(sc['calibration_passed'])})",
    ]
    if sc.get("cv_auc_passed") is not None:
        parts.append(
            f"scorecard {len(sc['cv_auc'])}-fold CV AUC {sc['cv_auc'].mean():.3f} (target >= "
            f"{sc['spec'].min_cv_auc:g}: {_verdict(sc['cv_auc_passed'])})"
        )
    if result.pd_calibration:
        missed = result.pd_calibration["failed"]
        parts.append(
            "simulator PD checks " + ("all met" if not missed else "MISSED: " + ", ".join(missed))
        )
    if acc and acc.get("min_auc") is not None:
        parts.append(
            f"account-level {acc['outcome']} AUC {acc['checked_auc']:.3f} "
            f"(target >= {acc['min_auc']:g}: "
            f"{_verdict(bool(acc.get('passed')))})"
        )
    head = "all targets met" if result.passed else "TARGETS MISSED"
    note = f" **{size_note}**" if size_note else ""
    return f"**Result: {head}** — " + "; ".join(parts) + "." + note


def _method_lines(cfg: ValidationConfig, extra_notes: Sequence[str]) -> list[str]:
    overrides = ", ".join(f"`{o}`" for o in cfg.overrides) or "none"
    simulated = ", ".join(months_after(cfg.as_of, cfg.n_months))
    return [
        f"- Population `{cfg.population}` started **as of {cfg.as_of}** "
        f"(`population.start_state=uci_{cfg.as_of}`): each borrower is a UCI row resampled "
        f"with replacement, with that row's {cfg.as_of} bill, payment and repayment status as "
        f"its state and behaviour types from the {cfg.behaviour_window} months up to "
        f"{cfg.as_of}; nothing later is used.",
        f"- Policy `{cfg.policy}` (limits did not change in the data window); months simulated: "
        f"{simulated}; {cfg.n_borrowers:,} borrowers per seed, {cfg.seeds} seeds "
        f"({cfg.first_seed}..{cfg.seed_list[-1]}). Further overrides: {overrides}.",
        f"- Intervals: central {100 * cfg.interval:.0f} % of the per-seed values (a book of the "
        "data's size: resampling plus simulation noise). Errors: simulated mean minus observed, "
        "percentage points (pp).",
        "- Status groups: P = code -2/-1 or nothing owed (bill <= 0); R = code 0 with a bill; "
        "D = code >= 1 with a bill. Simulator: P = not behind and the last statement paid in "
        "full or nothing due; R = not behind, a balance carried; D = 1+ missed payments or "
        "defaulted. September's code 1 with a bill is ambiguous (partial cures from 2: no account "
        "goes from 2 to 0 in September, about 21 % do in the other months): the column "
        "`observed (code 1 as R)` gives the other reading, and checks of those rows pass within "
        "the two readings widened by the tolerance.",
        "- October default: a missed October minimum payment, or a line already in default "
        "(90+ DPD, closed), which pays nothing.",
        *[f"- {note}" for note in extra_notes],
    ]


def _missed_lines(result: ValidationResult) -> list[str]:
    missed, sc, cfg = result.missed, result.scorecard, result.config
    lines = ["## Targets missed", ""]
    if missed.empty:
        lines.append("None of the statistic targets was missed.")
    else:
        lines.append(_markdown(display_table(missed)))
    lines += [
        "",
        "Targets (first matching pattern wins; a pattern marked `reported` takes its rows "
        "out of the checks; a check of a row with two readings of September's code 1 passes "
        "within both readings widened by the tolerance):",
        "",
        _markdown(
            pd.DataFrame(
                {
                    "statistic pattern": [t.stat for t in cfg.targets],
                    "tolerance (pp)": [
                        "reported" if t.tolerance_pp is None else f"±{t.tolerance_pp:g}"
                        for t in cfg.targets
                    ],
                    "why": [t.why for t in cfg.targets],
                }
            )
        ),
    ]
    failed = list(missed["stat"])
    if not sc["auc_passed"]:
        failed.append("scorecard auc")
    if sc.get("cv_auc_passed") is False:
        failed.append("scorecard cv auc")
    failed += result.pd_calibration.get("failed", [])
    if not sc["calibration_passed"]:
        failed.append("scorecard calibration")
    if result.accounts.get("passed") is False:
        failed.append(f"account {result.accounts['outcome']} auc")
    if not failed:
        return lines
    lines += ["", "## What is missed and why", ""]
    explained: set[str] = set()
    for note in cfg.explanations:
        hits = [f for f in failed if any(fnmatch.fnmatchcase(f, s) for s in note.stats)]
        if hits:
            explained.update(hits)
            lines += [f"- **{', '.join(hits)}.** {note.text.strip()}", ""]
    rest = [f for f in failed if f not in explained]
    if rest:
        lines += [f"- **Not explained yet:** {', '.join(rest)}.", ""]
    return lines


def _account_lines(result: ValidationResult) -> list[str]:
    acc, sc = result.accounts, result.scorecard
    if not acc:
        return []
    last = result.months[-1]
    confusion = acc["confusion"].map(_pct).reset_index(names="observed")
    return [
        "## Account level (the same accounts)",
        "",
        f"- AUC of each UCI row's simulated October default frequency (over its resampled "
        f"copies) against its observed default: **{acc['default_auc']:.3f}** over "
        f"{acc['rows']:,} rows (scorecard: {sc['auc']:.3f}).",
        f"- AUC of each row's simulated frequency of being behind (group D) in {last} against "
        f'its observed group: **{acc["behind_auc"]:.3f}** (naive forecast "behind at the '
        f'end if behind at the start": {acc["persistence_behind_auc"]:.3f}).',
        f"- Checked: the {acc['outcome']} AUC"
        + (f" (target >= {acc['min_auc']:g})." if acc.get("min_auc") is not None else "."),
        f"- Group in {last}: the simulated account is in its row's observed group for "
        f'{_pct(acc["group_agreement"])} of accounts (naive forecast "same group as at the '
        f'start": {_pct(acc["persistence_agreement"])}).',
        "",
        f"Observed (rows) x simulated (columns) group in {last}, share of all accounts:",
        "",
        _markdown(confusion),
        "",
    ]


def _scorecard_lines(sc: dict[str, Any]) -> list[str]:
    cal = sc["calibration"]
    table = pd.DataFrame(
        {
            "decile of predicted PD": cal["decile"],
            "accounts": cal["n"],
            "mean predicted PD": [_pct(v) for v in cal["mean_predicted_pd"]],
            "observed default": [_pct(v) for v in cal["observed_default_rate"]],
            "error (pp)": [_pp(v) for v in cal["error_pp"]],
        }
    )
    spec = sc["spec"]
    return [
        "## Platform scorecard (hold-out)",
        "",
        f"Fitted on {100 * (1 - spec.holdout_share):.0f} % of the UCI rows (stratified split, "
        f"seed {spec.seed}), scored on the {sc['holdout_rows']:,} held-out rows (next-month "
        f"default, no re-levelling): AUC **{sc['auc']:.3f}**"
        + (
            f"; {len(sc['cv_auc'])}-fold stratified cross-validation "
            f"{sc['cv_auc'].mean():.3f} (folds {', '.join(f'{a:.3f}' for a in sc['cv_auc'])})."
            if len(sc.get("cv_auc", ())) > 0
            else "."
        ),
        "",
        _markdown(table),
        "",
    ]


def write_validation_report(
    result: ValidationResult,
    out_dir: str | Path,
    *,
    formats: Sequence[str] = ("png",),
    extra_notes: Sequence[str] = (),
    extra_sections: Sequence[str] = (),
    size_note: str = "",
) -> Path:
    """Write the validation report: ``report.md``, CSV tables and figures.

    Layout::

        out_dir/
          report.md                 the report; the closing table lists every statistic
          results.csv               the results table (fractions; errors in pp)
          per_seed.csv              every statistic of every seed
          transitions.csv           observed / simulated group transition matrices
          scorecard_calibration.csv the scorecard's hold-out calibration by decile
          <figure>.<fmt>            observed vs simulated bars, heat maps, calibration plot

    Args:
        result: the validation result.
        out_dir: output folder (created).
        formats: figure formats (the report links the first).
        extra_notes: lines appended to the "How it was run" section (e.g. the command).
        extra_sections: Markdown sections inserted before the figures, e.g. the virtual
            experiments' ``sim.empirical.replication.replication_section(result)``.
        size_note: appended to the result line, e.g. a run below the configured size
            (:func:`sim.empirical.validation.config.reduced_size_note`).

    Returns:
        The path of ``report.md``.
    """
    from sim.analysis import plotting
    from sim.outputs import files as io

    out = Path(out_dir)
    cfg, table, sc = result.config, result.table, result.scorecard
    io.write_csv_atomic(table, out / "results.csv")
    io.write_csv_atomic(result.per_seed, out / "per_seed.csv")
    trans_rows = [
        (pair, kind, g0, g1, float(mat.loc[g0, g1]))
        for pair, mats in result.transitions.items()
        for kind, mat in mats.items()
        for g0 in mat.index
        for g1 in mat.columns
    ]
    io.write_csv_atomic(
        pd.DataFrame(trans_rows, columns=["months", "kind", "from_group", "to_group", "share"]),
        out / "transitions.csv",
    )
    io.write_csv_atomic(sc["calibration"], out / "scorecard_calibration.csv")

    figures: list[tuple[str, str]] = []

    def save(fig: Any, stem: str, caption: str) -> None:
        io.save_figure(fig, out / stem, formats=tuple(formats))
        figures.append((f"{stem}.{formats[0]}", caption))

    last = result.months[-1]
    bar_panels = [
        ("share ", "Status-group shares (P paid / no balance, R revolving, D behind)", "shares"),
        (
            "default by sep_group",
            "October default rate by September status group",
            "default_by_status",
        ),
        ("default by limit_decile", "October default rate by LIMIT_BAL decile", "default_by_limit"),
        ("default by age_band", "October default rate by age band", "default_by_age"),
        (
            f"behind {last} by limit_decile",
            f"Share behind in {last} by LIMIT_BAL decile",
            "behind_by_limit",
        ),
        (f"behind {last} by age_band", f"Share behind in {last} by age band", "behind_by_age"),
        (f"utilisation {last} ", f"Utilisation in {last} (balance / limit)", "utilisation"),
    ]
    for prefix, title, stem in bar_panels:
        data = bars_input(table, prefix)
        if stem == "shares":  # the start month equals the data by construction
            data = data[~data["label"].str.startswith(cfg.as_of)]
        if not data.empty:
            save(plotting.observed_vs_simulated_bars(data, title=title), stem, title)
    for pair, mats in result.transitions.items():
        title = f"Group transitions {pair} (share of the row's accounts)"
        shown = {"observed": mats["observed"]}
        if not mats["observed_alt"].equals(mats["observed"]):
            shown["observed, code 1 read as R"] = mats["observed_alt"]
        shown["simulated (pooled over seeds)"] = mats["simulated"]
        stem = "transitions_" + pair.replace("->", "_to_")
        save(plotting.transition_heatmaps(shown, title=title), stem, title)
    save(
        plotting.scorecard_calibration_plot(sc["calibration"], auc=sc["auc"]),
        "scorecard_calibration",
        "Scorecard calibration on the hold-out rows",
    )

    lines = [
        f"# Validation of `{cfg.name}` against the UCI data, out of sample "
        f"({cfg.as_of.capitalize()} -> October 2005)",
        "",
        _summary_line(result, size_note),
        "",
        "## How it was run",
        "",
        *_method_lines(cfg, extra_notes),
        "",
        *_missed_lines(result),
        "",
        *flag_lines(result.flag, result.new_delinquency, _markdown),
        *_account_lines(result),
        *_scorecard_lines(sc),
        *(pd_calibration_lines(result.pd_calibration, _markdown) if result.pd_calibration else []),
        *[line for section in extra_sections for line in (section, "")],
        "## Figures",
        "",
    ]
    for name, caption in figures:
        lines += [f"![{caption}]({name})", ""]
    lines += [
        "## Closing note: observed vs simulated, every statistic",
        "",
        _markdown(display_table(table)),
        "",
    ]
    return io.write_text_atomic("\n".join(lines), out / "report.md")
