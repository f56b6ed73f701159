"""The replication report: targets, the side-by-side table with the papers, Markdown and files.

For the validation report: :func:`replication_section` returns the Markdown section of a
:class:`ReplicationResult` (its headline table and target checks), ready to append.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.empirical.replication.config import ReplicationConfig
from sim.empirical.replication.run import ReplicationResult

__all__ = [
    "PUBLISHED",
    "check_targets",
    "headline_table",
    "household_cut_table",
    "replication_section",
    "write_replication_report",
]

#: Published values shown beside the model's (CALIBRATION.md rows).
PUBLISHED: dict[str, str] = {
    "F1": "Gross & Souleles (2002): Δdebt/Δlimit 0.10-0.14 overall, larger near the limit",
    "F2": "Agarwal et al. (2018): ~0.59 over 12 months for FICO <= 660, ~0 above 740",
    "I1": "2008-09 cuts: about 1/3 of US consumers had a card limit cut",
    "I2": "CFPB: median cut 75 % of the line; utilisation on the cut card -> 94 %; "
    "prime replace the line with other cards, subprime do not",
}

_MPB = "Δdebt/Δlimit platform"


def _pick(summary: pd.DataFrame, **where: object) -> pd.Series | None:
    m = np.ones(len(summary), dtype=bool)
    for k, v in where.items():
        m &= (summary[k] == v).to_numpy()
    rows = summary[m]
    return None if rows.empty else rows.iloc[0]


def _fmt(row: pd.Series | None, digits: int = 3) -> str:
    if row is None or not np.isfinite(row["effect"]):
        return "–"
    if np.isfinite(row["low"]):
        return f"{row['effect']:.{digits}f} [{row['low']:.{digits}f}, {row['high']:.{digits}f}]"
    return f"{row['effect']:.{digits}f}"


def check_targets(summary: pd.DataFrame, cfg: ReplicationConfig) -> pd.DataFrame:
    """The issue-17 targets on the increase experiment (within-run design).

    All are read on one arm of the increase (``targets.raise_fraction``, +20 % in the
    shipped config) at ``targets.horizon`` months. The PD-gradient target is met when the
    weakest PD quantile's Δdebt/Δlimit is positive and at least ``weak_to_strong_min``
    times the strongest's (with the strongest <= 0, a positive weakest meets it); its
    ``model`` cell gives the ratio only where the strongest is > 0, and both values
    otherwise (a ratio to a value <= 0 means nothing).

    Returns:
        Columns ``target``, ``arm``, ``published``, ``model``, ``value`` (the ratio, NaN
        where the strongest is <= 0), ``met`` (bool, or None when the increase experiment
        did not run).
    """
    tc = cfg.targets
    arm = f"+{tc.raise_fraction:.0%}"
    base = dict(experiment="increase", arm=arm, design="within", horizon=tc.horizon, statistic=_MPB)
    overall = _pick(summary, **base, group_kind="all", group="all")
    top_band = f">= {cfg.utilisation_edges[-1]:.0%}" if cfg.utilisation_edges else ""
    near = _pick(summary, **base, group_kind="utilisation", group=top_band)
    strong = _pick(summary, **base, group_kind="pd_quantile", group="Q1")
    weak = _pick(summary, **base, group_kind="pd_quantile", group=f"Q{cfg.pd_quantiles}")

    def val(r: pd.Series | None) -> float:
        return float(r["effect"]) if r is not None else np.nan

    def ok(cond: bool, *rows: pd.Series | None) -> bool | None:
        return None if any(r is None for r in rows) else bool(cond)

    k = tc.weak_to_strong_min
    ratio = val(weak) / val(strong) if val(strong) > 0 else np.nan
    both = f"weakest {_fmt(weak)}, strongest {_fmt(strong)}"
    gradient = (
        f"{ratio:.2f} x ({both})" if np.isfinite(ratio) else f"{both}: no ratio (strongest <= 0)"
    )
    lo = (
        float(overall["low"])
        if overall is not None and np.isfinite(overall["low"])
        else val(overall)
    )
    hi = (
        float(overall["high"])
        if overall is not None and np.isfinite(overall["high"])
        else val(overall)
    )
    rows = [
        (f"{tc.horizon}-month Δdebt/Δlimit overall, seed interval overlaps "
         f"{tc.mpb_low:.2f}-{tc.mpb_high:.2f}", "F1: 0.10-0.14", _fmt(overall), val(overall),
         ok(lo <= tc.mpb_high and hi >= tc.mpb_low, overall)),
        ("near the limit larger than overall", "F1: much larger near the limit", _fmt(near),
         val(near), ok(val(near) > val(overall), near, overall)),
        (f"weakest PD quantile > 0 and >= {k:g} x strongest", "F2: ~0.59 vs ~0", gradient,
         ratio, ok(val(weak) > 0 and val(weak) >= k * val(strong), weak, strong)),
        (f"strongest PD quantile < {tc.strongest_max:.2f}", "F2: ~0 above FICO 740",
         _fmt(strong), val(strong), ok(val(strong) < tc.strongest_max, strong)),
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=["target", "published", "model", "value", "met"])
    table.insert(1, "arm", f"increase {arm}, {tc.horizon} months")
    return table


def headline_table(result: ReplicationResult) -> pd.DataFrame:
    """Δdebt/Δlimit of the platform line by arm, design, horizon and group (formatted).

    Returns:
        Columns ``experiment``, ``arm``, ``design``, ``group``, then one per horizon.
    """
    s = result.summary
    s = s[(s["statistic"] == _MPB)]
    if s.empty:
        return pd.DataFrame()
    s = s.assign(cell=[_fmt(r) for _, r in s.iterrows()], grp=s["group_kind"] + ": " + s["group"])
    wide = s.pivot_table(index=["experiment", "arm", "design", "grp"], columns="horizon",
                         values="cell", aggfunc="first", sort=False)  # fmt: skip
    wide.columns = [f"{h} months" for h in wide.columns]
    return wide.reset_index().rename(columns={"grp": "group"})


def _effects_table(summary: pd.DataFrame, experiment: str, horizon: int) -> pd.DataFrame:
    s = summary[(summary["experiment"] == experiment) & (summary["horizon"] == horizon)]
    s = s[~s["statistic"].str.startswith("Δdebt/Δlimit") & (s["statistic"] != "limit change (CNY)")]
    if s.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "arm": s["arm"],
            "group": s["group"],
            "statistic": s["statistic"],
            "treated": s["treated"].map(lambda v: f"{v:,.4g}" if np.isfinite(v) else "–"),
            "static": s["control"].map(lambda v: f"{v:,.4g}" if np.isfinite(v) else "–"),
            "effect [seed interval]": [_fmt(r, 4) for _, r in s.iterrows()],
        }
    )


def household_cut_table(summary: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The household cut beside CALIBRATION.md I2, prime and subprime (formatted).

    Returns:
        Columns ``quantity``, ``published (I2)``, ``prime``, ``subprime``; model cells are
        the treated value (``static`` value) at ``horizon`` months.
    """
    s = summary[(summary["experiment"] == "household_cut") & (summary["horizon"] == horizon)]
    if s.empty:
        return pd.DataFrame()

    def cell(group: str, stat: str, pct: bool = True) -> str:
        r = _pick(s, group=group, statistic=stat)
        if r is None:
            return "–"
        if stat.startswith("substitution"):
            return _fmt(r, 2)
        f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:,.0f}")
        return f"{f(r['treated'])} ({f(r['control'])} under static)"

    rows = [
        ("utilisation of the cut line", "94 % (deep subprime to prime); super-prime 37 -> 78 %",
         "platform utilisation", True),
        ("other lenders' balance replacing the cut line (Δother / -Δplatform)",
         "prime: replaced with other or new cards; subprime: not recovered",
         "substitution (Δother / -Δplatform)", True),
        ("all-lender APR in the window", "–", "all-lender APR in window", True),
        ("unmet need in the window (CNY)", "–", "unmet need in window (CNY)", False),
        ("defaulted by the horizon", "–", "defaulted", True),
    ]  # fmt: skip
    return pd.DataFrame(
        [(q, pub, cell("prime", st, p), cell("subprime", st, p)) for q, pub, st, p in rows],
        columns=["quantity", "published (I2)", "prime", "subprime"],
    )


def _markdown(df: pd.DataFrame) -> str:
    if df.empty:
        return "(not run)"
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |"
            for r in df.itertuples(index=False)]  # fmt: skip
    return "\n".join([head, rule, *body])


def _verdict(met: object) -> str:
    return "–" if met is None else ("met" if met else "**missed**")


def replication_section(result: ReplicationResult, level: int = 2) -> str:
    """The report section for the validation report: targets and Δdebt/Δlimit overall/by PD.

    Args:
        result: from :func:`sim.empirical.replication.run.run_replication`.
        level: Markdown heading level of the section.
    """
    cfg = result.config
    h = "#" * level
    tg = result.targets.assign(result=result.targets["met"].map(_verdict)).drop(
        columns=["value", "met"]
    )
    return "\n".join(
        [
            f"{h} Virtual experiments: response to limit changes",
            "",
            f"{cfg.seeds} seeds x {cfg.n_borrowers:,} borrowers; a random "
            f"{cfg.treated_share:.0%} of open lines changed at the review of window month "
            f"{cfg.treatment_month} (after the run's burn-in under `static`); mean over "
            f"seeds [{cfg.interval:.0%} t interval].",
            "",
            _markdown(tg),
            "",
        ]
    )


def write_replication_report(result: ReplicationResult, out_dir: str | Path) -> Path:
    """Write ``report.md``, ``per_seed`` and ``summary`` (Parquet and CSV), ``targets.csv``.

    Returns:
        The path of ``report.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (("per_seed", result.per_seed), ("summary", result.summary)):
        df.to_csv(out / f"{name}.csv", index=False)
        df.to_parquet(out / f"{name}.parquet", index=False)
    result.targets.to_csv(out / "targets.csv", index=False)
    cfg = result.config
    h12 = cfg.targets.horizon
    lines = [
        "# Virtual experiments that replicate published limit-change designs",
        "",
        replication_section(result),
        "## Published values",
        "",
        *[f"- **{k}** {v}" for k, v in PUBLISHED.items()],
        "",
        "## (a, b) Δdebt/Δlimit of the platform line",
        "",
        "`within`: treated against untreated accounts of the same run (the published "
        "design); `paired`: each treated account against itself under `static` with the "
        "same seed (common random numbers: identical up to the treatment month, so the "
        "difference is the treatment's effect on that account). Debt is the drawn balance "
        "(0 after a charge-off). Groups at treatment: utilisation bands, PD quantiles "
        "(Q1 = lowest PD), behaviour types (the initial segments).",
        "",
        _markdown(headline_table(result)),
        "",
        f"## (b) What the decrease did to the cut borrowers ({h12} months, paired with `static`)",
        "",
        _markdown(_effects_table(result.summary, "decrease", h12)),
        "",
        f"## (c) Household cut by credit quality ({h12} months, paired with `static`)",
        "",
        f"Subprime: PD at treatment at or above its {cfg.subprime_pd_quantile:.0%} "
        "quantile. Beside I1-I2: the cut card's utilisation (CFPB: 94 %), and whether prime "
        "borrowers substitute other lenders and subprime do not.",
        "",
        _markdown(household_cut_table(result.summary, h12)),
        "",
        _markdown(_effects_table(result.summary, "household_cut", h12)),
        "",
        "## (d) Pre-peak cut of sole traders (treated firms and owners, paired with `static`)",
        "",
        "Treated firms: open at the treatment month, owned by a borrower cut at least once "
        "(zero headroom from the review that sees the sector's peak within the look-ahead "
        "until the flag clears, then restored). Window: the treatment month to the last "
        "horizon. To see the role of instant-approval substitutes, rerun with other "
        "lenders barred (e.g. `--override 'channels.order=[own_cash,platform]'`).",
        "",
        _markdown(_effects_table(result.summary, "prepeak", max(cfg.horizons))),
        "",
        "## (e) `sme_aware`: what the peak-season tranche buys and costs",
        "",
        "`sme_aware` (conf/policy/sme_aware.yaml) from the window's first month, against "
        "`static` and against `behaviour_rules` (the rules it wraps on the general line), "
        "paired under the same seed over the whole window. Treated firms: open at the "
        "window's start, owner granted a tranche at least once. The `static` column holds "
        "the control run's value (`static` or `behaviour_rules`, see the arm).",
        "",
        _markdown(_effects_table(result.summary, "sme_aware", cfg.n_months)),
        "",
        "Files: `summary.csv`/`.parquet` (every statistic, mean and interval over seeds), "
        "`per_seed.csv`/`.parquet`, `targets.csv`.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
