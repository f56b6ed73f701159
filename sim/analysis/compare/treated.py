"""Effects on the treated: what a policy did to the borrowers and firms it acted on.

Under common random numbers row ``i`` of a run is the same borrower under every policy of
one ``(scenario, seed)`` (and row ``j`` of the firm table the same firm), so joining the
per-agent tables (:mod:`sim.outputs.agents`) on ``(scenario, seed, borrower_id)`` pairs
each borrower with itself under the baseline policy. The join is by id, never by row
order.

*Treated* by a policy are the borrowers whose limit decisions it made differently from the
baseline's (first cut month, number of cuts or of raises differ). They are split into

* ``cut``: cut by the policy earlier than by the baseline, or more often;
* ``raised``: not ``cut``, raised more often than by the baseline;
* ``treated``: every treated borrower (``cut``, ``raised`` and the few otherwise changed).

Treated firms are the firms whose owner is in ``cut``. For each group the outcomes under
the policy and under the baseline are aggregated over the group within each seed (ratios
as ratios of sums, as in the run summary), their difference is taken per seed, and the
seed-level differences are averaged with a Student-t interval over seeds: agents are
clustered within seeds, so the seed is the unit of replication.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.compare.statistics import _check_confidence

__all__ = [
    "BORROWER_OUTCOMES",
    "EVENT_OUTCOMES",
    "FIRM_OUTCOMES",
    "event_study",
    "treated_effects",
    "treatment_groups",
]

#: Borrower outcomes of :func:`treated_effects`: name -> (numerator, denominator, scale);
#: the seed-level value is ``scale * sum(numerator) / sum(denominator)`` over the group
#: (denominator ``None``: per agent).
BORROWER_OUTCOMES: dict[str, tuple[str, str | None, float]] = {
    "effective_apr": ("interest_fees_cny", "balance_months_cny", 12.0),
    "interest_fees_share_of_income": ("interest_fees_cny", "income_cny", 1.0),
    "unmet_need_cny": ("unmet_need_cny", None, 1.0),
    "lenders": ("lenders_mean", None, 1.0),
    "default_probability": ("defaulted_in_window", None, 1.0),
}

#: Firm outcomes: per-firm means of these columns over the treated firms.
FIRM_OUTCOMES: dict[str, tuple[str, str | None, float]] = {
    "shortfall_months": ("shortfall_months", None, 1.0),
    "late_payments_cny": ("late_payments_cny", None, 1.0),
    "months_under_15d": ("months_under_15d", None, 1.0),
    "closure_probability": ("closed_in_window", None, 1.0),
}

#: Monthly panel columns of the event study.
EVENT_OUTCOMES: tuple[str, ...] = (
    "limit_cny",
    "debt_cny",
    "interest_fees_cny",
    "unmet_need_cny",
    "lenders",
    "dpd30",
    "defaulted",
)

_KEYS = ["scenario", "seed", "borrower_id"]
_DECISIONS = ["first_cut_step", "n_cuts", "n_raises"]
_ATTRIBUTES = ["income_decile", "behaviour_type", "sole_trader"]


def _check(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}")


def treatment_groups(borrowers: pd.DataFrame, baseline: str = "static") -> pd.DataFrame:
    """Pair every borrower of every policy with itself under the baseline.

    Args:
        borrowers: per-borrower rows of many runs (``policy``, ``scenario``, ``seed``,
            ``borrower_id`` and the columns of ``borrowers.parquet``), in any order.
        baseline: the baseline policy.

    Returns:
        One row per (policy other than the baseline, scenario, seed, borrower_id) with
        a pair in the baseline: the policy's columns, the baseline's outcome and
        decision columns suffixed ``_base``, and ``group`` ("cut", "raised", "other" or
        "untreated"), sorted by policy, scenario, seed, borrower_id.

    Raises:
        ValueError: a column is missing, the baseline is absent, or a
            ``(policy, scenario, seed, borrower_id)`` occurs twice.
    """
    _check(borrowers, ["policy", *_KEYS, *_DECISIONS], "borrowers")
    if baseline not in set(borrowers["policy"].astype(str)):
        raise ValueError(f"baseline policy {baseline!r} has no per-agent table")
    if borrowers.duplicated(["policy", *_KEYS]).any():
        raise ValueError("a (policy, scenario, seed, borrower_id) occurs more than once")
    policy = borrowers["policy"].astype(str)
    outcome_cols = sorted(
        {c for v in BORROWER_OUTCOMES.values() for c in v[:2] if c} & set(borrowers.columns)
    )
    base = borrowers.loc[policy == baseline, [*_KEYS, *_DECISIONS, *outcome_cols]]
    others = borrowers[policy != baseline].assign(policy=policy[policy != baseline])
    m = others.merge(base, on=_KEYS, how="inner", suffixes=("", "_base"))
    first = m["first_cut_step"].to_numpy()
    first_b = m["first_cut_step_base"].to_numpy()
    earlier = (first > 0) & ((first_b == 0) | (first < first_b))
    cut = earlier | (m["n_cuts"].to_numpy() > m["n_cuts_base"].to_numpy())
    raised = ~cut & (m["n_raises"].to_numpy() > m["n_raises_base"].to_numpy())
    changed = np.zeros(len(m), dtype=bool)
    for c in _DECISIONS:
        changed |= m[c].to_numpy() != m[f"{c}_base"].to_numpy()
    group = np.where(cut, "cut", np.where(raised, "raised", np.where(changed, "other", "")))
    m["group"] = np.where(group == "", "untreated", group)
    return m.sort_values(["policy", *_KEYS], kind="stable").reset_index(drop=True)


def _seed_values(
    df: pd.DataFrame, keys: list[str], outcomes: dict[str, tuple[str, str | None, float]]
) -> pd.DataFrame:
    """Seed-level outcome values under the policy and the baseline, and their difference."""
    cols: dict[str, pd.Series] = {}
    for suffix in ("", "_base"):
        for num, den, _ in outcomes.values():
            for c in (num, den):
                if c and f"{c}{suffix}" in df.columns:
                    cols[f"{c}{suffix}"] = df[f"{c}{suffix}"].astype(np.float64)
    work = pd.DataFrame(cols).assign(**{k: df[k] for k in keys}, _n=1.0)
    sums = work.groupby(keys, observed=True, sort=True).sum()
    out = pd.DataFrame(index=sums.index)
    out["n"] = sums["_n"]
    for name, (num, den, scale) in outcomes.items():
        for suffix, label in (("", "policy"), ("_base", "baseline")):
            if f"{num}{suffix}" not in sums.columns:
                continue
            denom = sums[f"{den}{suffix}"] if den else sums["_n"]
            with np.errstate(invalid="ignore", divide="ignore"):
                value = scale * sums[f"{num}{suffix}"] / denom.where(denom > 0)
            out[f"{name}__{label}"] = value
    return out.reset_index()


def _over_seeds(
    seed_df: pd.DataFrame, keys: list[str], outcomes: Sequence[str], confidence: float
) -> pd.DataFrame:
    """Mean over seeds of the paired differences, with Student-t intervals.

    For each key and outcome the finite seed-level differences ``d_1..d_n`` give
    ``mean(d) ± t_{(1+confidence)/2, n-1} · sd(d) / sqrt(n)`` (NaN interval for n < 2;
    ``[d, d]`` when all are equal).
    """
    frames = []
    for name in outcomes:
        if f"{name}__policy" not in seed_df.columns:
            continue
        p = seed_df[f"{name}__policy"].astype(float)
        b = seed_df[f"{name}__baseline"].astype(float)
        ok = np.isfinite(p) & np.isfinite(b)
        work = seed_df.loc[ok, keys].assign(
            d=(p - b)[ok],
            p=p[ok],
            b=b[ok],
            n=seed_df.loc[ok, "n"],
            share=seed_df.loc[ok, "share"] if "share" in seed_df.columns else np.nan,
        )
        g = work.groupby(keys, observed=True, sort=True)
        agg = g.agg(
            n_seeds=("d", "size"),
            n_treated=("n", "mean"),
            treated_share=("share", "mean"),
            policy_mean=("p", "mean"),
            baseline_mean=("b", "mean"),
            mean_diff=("d", "mean"),
            _sd=("d", "std"),
            _min=("d", "min"),
            _max=("d", "max"),
        ).reset_index()
        k = agg["n_seeds"].to_numpy()
        sd = np.where(agg["_min"] == agg["_max"], 0.0, agg["_sd"].to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            t = stats.t.ppf(0.5 + confidence / 2.0, df=np.maximum(k - 1, 1))
            half = np.where(k >= 2, t * sd / np.sqrt(k), np.nan)
        agg["ci_low"] = agg["mean_diff"] - half
        agg["ci_high"] = agg["mean_diff"] + half
        agg.insert(len(keys), "outcome", name)
        frames.append(agg.drop(columns=["_sd", "_min", "_max"]))
    columns = [
        *keys,
        "outcome",
        "n_seeds",
        "n_treated",
        "treated_share",
        "policy_mean",
        "baseline_mean",
        "mean_diff",
        "ci_low",
        "ci_high",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    return out.sort_values([*keys, "outcome"], kind="stable").reset_index(drop=True)


def _sector_of_owner(firms: pd.DataFrame | None) -> pd.DataFrame | None:
    """Sector of each firm owner's firm (a world attribute: the same under every policy)."""
    if firms is None or firms.empty or "owner_id" not in firms.columns:
        return None
    base = firms.drop_duplicates(["scenario", "seed", "owner_id"])
    return base[["scenario", "seed", "owner_id", "sector"]].rename(
        columns={"owner_id": "borrower_id"}
    )


def treated_effects(
    borrowers: pd.DataFrame,
    firms: pd.DataFrame | None = None,
    baseline: str = "static",
    confidence: float = 0.95,
    pairs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired outcome differences of the treated borrowers and firms, by subgroup.

    Args:
        borrowers: per-borrower rows of many runs (see :func:`treatment_groups`).
        firms: per-firm rows (``policy, scenario, seed, firm_id, owner_id, sector`` and
            the :data:`FIRM_OUTCOMES` columns); ``None`` or empty for no firm effects.
        baseline: the baseline policy.
        confidence: two-sided level of the Student-t intervals over seeds.
        pairs: :func:`treatment_groups` of ``borrowers`` if already computed.

    Returns:
        ``(borrower_effects, firm_effects)``, long tables with columns ``policy,
        scenario, group`` ("cut", "raised", "treated"; firms: "owner_cut"), ``by``
        ("all", "income_decile", "behaviour_type", "sector", and for "cut" only
        "first_cut_reason": the policy's reason for its first cut), ``level`` (str),
        ``outcome``, ``n_seeds``, ``n_treated`` (mean per seed), ``treated_share``
        (of the paired agents of the same level, of all for "first_cut_reason"; mean
        over seeds), ``policy_mean``,
        ``baseline_mean`` (mean over seeds of the group's value), ``mean_diff``,
        ``ci_low``, ``ci_high`` (of policy - baseline). Units: APR and shares as
        fractions, CNY, counts per agent, probabilities as fractions.
    """
    _check_confidence(confidence)
    pairs = treatment_groups(borrowers, baseline) if pairs is None else pairs
    owner_sector = _sector_of_owner(firms)
    if owner_sector is not None:
        pairs = pairs.merge(owner_sector, on=_KEYS, how="left")
    if "sector" not in pairs.columns:
        pairs["sector"] = np.nan
    frames = []
    for by in ("all", "income_decile", "behaviour_type", "sector", "first_cut_reason"):
        if by not in pairs.columns and by != "all":
            continue
        labelled = pairs.assign(by=by, level=_levels(pairs, by))
        labelled = labelled[labelled["level"] != ""]
        if labelled.empty:
            continue
        treated = labelled[labelled["group"] != "untreated"]
        df = pd.concat(
            [treated[treated["group"].isin(["cut", "raised"])], treated.assign(group="treated")],
            ignore_index=True,
        )
        if by == "first_cut_reason":
            # the policy's reason of its first cut: the cut only, shares of every borrower
            df = df[df["group"] == "cut"]
            labelled = labelled.assign(level="")
        frames.append(_effects(labelled, df, BORROWER_OUTCOMES, confidence))
    borrower_effects = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    firm_effects = _firm_effects(pairs, firms, baseline, confidence)
    return borrower_effects, firm_effects


def _levels(df: pd.DataFrame, by: str) -> pd.Series:
    """Subgroup labels of ``by`` ("all" for every row; "" where the attribute is missing)."""
    if by == "all":
        return pd.Series("all", index=df.index)
    return df[by].astype(str).where(df[by].notna(), "")


def _effects(
    everyone: pd.DataFrame,
    treated: pd.DataFrame,
    outcomes: dict[str, tuple[str, str | None, float]],
    confidence: float,
) -> pd.DataFrame:
    """Seed-level values of the treated rows, their share of their level, and the means."""
    keys = ["policy", "scenario", "group", "by", "level", "seed"]
    if treated.empty:
        return pd.DataFrame()
    totals = (
        everyone.groupby(["policy", "scenario", "by", "level", "seed"], observed=True)
        .size()
        .rename("_all")
    )
    seed_df = _seed_values(treated, keys, outcomes)
    if (everyone["level"] == "").all():  # shares of every agent, not of the level
        totals = totals.droplevel("level")
        seed_df = seed_df.join(totals, on=["policy", "scenario", "by", "seed"])
    else:
        seed_df = seed_df.join(totals, on=["policy", "scenario", "by", "level", "seed"])
    seed_df["share"] = seed_df["n"] / seed_df["_all"]
    return _over_seeds(seed_df, keys[:-1], list(outcomes), confidence)


def _firm_effects(
    pairs: pd.DataFrame, firms: pd.DataFrame | None, baseline: str, confidence: float
) -> pd.DataFrame:
    if firms is None or firms.empty or "firm_id" not in firms.columns:
        return pd.DataFrame()
    policy = firms["policy"].astype(str)
    fkeys = ["scenario", "seed", "firm_id"]
    cols = [c for v in FIRM_OUTCOMES.values() for c in v[:1] if c in firms.columns]
    base = firms.loc[policy == baseline, [*fkeys, *cols]]
    others = firms[policy != baseline].assign(policy=policy[policy != baseline])
    m = others.merge(base, on=fkeys, suffixes=("", "_base"))
    cut_owners = pairs.loc[pairs["group"] == "cut", ["policy", *_KEYS]].rename(
        columns={"borrower_id": "owner_id"}
    )
    m = m.merge(
        cut_owners.assign(_cut=True), on=["policy", "scenario", "seed", "owner_id"], how="left"
    )
    m["_cut"] = m["_cut"].astype("boolean").fillna(False).astype(bool)
    frames = []
    for by in ("all", "sector"):
        labelled = m.assign(group="owner_cut", by=by, level=_levels(m, by))
        frames.append(_effects(labelled, labelled[labelled["_cut"]], FIRM_OUTCOMES, confidence))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def event_study(
    borrowers: pd.DataFrame,
    panel: pd.DataFrame,
    baseline: str = "static",
    window: tuple[int, int] = (-6, 12),
    confidence: float = 0.95,
    pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Outcomes of the cut borrowers around their first cut, vs the same under the baseline.

    Uses the borrowers of the ``cut`` group (:func:`treatment_groups`) that are in the
    monthly panel of both runs (the panel is an id-based sample, the same rows under
    every policy, so the sampled cut borrowers are a random sample of the cut ones).
    Event time is ``step - first_cut_step`` under the policy.

    Args:
        borrowers: per-borrower rows of many runs.
        panel: monthly panel rows of the same runs (``policy, scenario, seed,
            borrower_id, step`` and :data:`EVENT_OUTCOMES`).
        baseline: the baseline policy.
        window: first and last event month, inclusive.
        confidence: level of the Student-t intervals over seeds.
        pairs: :func:`treatment_groups` of ``borrowers`` if already computed.

    Returns:
        Long table ``policy, scenario, event_month, outcome, n_seeds, n_treated`` (mean
        per seed), ``policy_mean, baseline_mean, mean_diff, ci_low, ci_high``; empty when
        no panel was written.
    """
    if panel is None or panel.empty:
        return pd.DataFrame()
    pairs = treatment_groups(borrowers, baseline) if pairs is None else pairs
    cut = pairs.loc[pairs["group"] == "cut", ["policy", *_KEYS, "first_cut_step"]]
    outcomes = [c for c in EVENT_OUTCOMES if c in panel.columns]
    ppol = panel["policy"].astype(str)
    base = panel.loc[ppol == baseline, [*_KEYS, "step", *outcomes]]
    own = panel[ppol != baseline].assign(policy=ppol[ppol != baseline])
    own = own.merge(cut, on=["policy", *_KEYS])
    own["event_month"] = own["step"].astype(int) - own["first_cut_step"].astype(int)
    own = own[own["event_month"].between(window[0], window[1])]
    m = own.merge(base, on=[*_KEYS, "step"], suffixes=("", "_base"))
    if m.empty:
        return pd.DataFrame()
    spec = {c: (c, None, 1.0) for c in outcomes}
    keys = ["policy", "scenario", "event_month", "seed"]
    seed_df = _seed_values(m, keys, spec)
    out = _over_seeds(seed_df, keys[:-1], outcomes, confidence)
    return out.drop(columns=["treated_share"])
