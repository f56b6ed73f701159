"""Per-seed estimates of the experiments: Δdebt/Δlimit, effects of cuts, firm effects.

Every function returns long rows (dicts with the columns of :data:`COLUMNS`) for one seed
and one arm. Two designs estimate Δdebt/Δlimit:

- ``within``: the published design (Gross & Souleles 2002; Agarwal et al. 2018): in the
  treated run, the treated half against the untreated half of the same eligible accounts,
  a difference in differences of debt since the treatment month over the difference in
  the limit change (the control half's is 0 by construction);
- ``paired``: each treated account against itself in the ``static`` run under the same
  seed (common random numbers): the world up to the treatment month is identical, so the
  difference is the treatment's effect on that account, with no sampling noise from
  comparing different people. It also carries spill-overs (e.g. through firms) that the
  within-run design shares between both halves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.empirical.replication.config import ReplicationConfig
from sim.empirical.replication.policies import OneTimeLimitChange, PrePeakCut
from sim.empirical.replication.trace import Trace
from sim.world.borrowers import BehaviourType
from sim.world.firms.state import ClosureCause

__all__ = ["COLUMNS", "cut_effect_rows", "firm_rows", "groups_at_treatment", "mpb", "mpb_rows"]

#: Columns of the per-seed table.
COLUMNS = (
    "seed", "experiment", "arm", "design", "horizon", "group_kind", "group",
    "statistic", "treated", "control", "effect", "n",
)  # fmt: skip


def mpb(
    debt_change_treated: np.ndarray,
    limit_change_treated: np.ndarray,
    debt_change_control: np.ndarray | None = None,
    limit_change_control: np.ndarray | None = None,
) -> float:
    """Δdebt/Δlimit: the debt response per unit of limit change (NaN if no limit change).

    With a control group: ``(mean ΔD_T - mean ΔD_C) / (mean ΔL_T - mean ΔL_C)``; without:
    ``sum ΔD_T / sum ΔL_T`` (each treated row is its own control, as in a paired run).

    Args:
        debt_change_treated: ``(m,)`` debt change of the treated rows, CNY.
        limit_change_treated: ``(m,)`` limit change of the treated rows, CNY.
        debt_change_control: ``(k,)`` debt change of the control rows, CNY (or None).
        limit_change_control: ``(k,)`` limit change of the control rows, CNY (or None).
    """
    if debt_change_control is None or limit_change_control is None:
        dl = float(np.sum(limit_change_treated))
        return float(np.sum(debt_change_treated)) / dl if dl != 0 and dl == dl else float("nan")
    if not len(debt_change_treated) or not len(debt_change_control):
        return float("nan")
    dl = float(np.mean(limit_change_treated) - np.mean(limit_change_control))
    dd = float(np.mean(debt_change_treated) - np.mean(debt_change_control))
    return dd / dl if dl != 0 else float("nan")


def groups_at_treatment(
    policy: OneTimeLimitChange, cfg: ReplicationConfig, behaviour_type: np.ndarray | None = None
) -> list[tuple[str, str, np.ndarray]]:
    """The reporting groups of the eligible rows: all, utilisation bands, PD quantiles, ...

    Also prime/subprime and, given ``behaviour_type`` (``(n,)`` at treatment), the
    behaviour types (group kind ``behaviour_type``).

    PD groups are quantiles of ``pd_12m`` over the eligible rows at treatment (ties split
    by row order); ``Q1`` is the lowest PD (strongest credit). Subprime/prime split at
    ``cfg.subprime_pd_quantile``.

    Returns:
        ``[(group_kind, group, (n,) bool mask)]`` for ``n`` rows at treatment.
    """
    elig = policy.eligible
    assert elig is not None and policy.utilisation is not None and policy.pd_12m is not None
    out: list[tuple[str, str, np.ndarray]] = [("all", "all", elig)]
    edges = [0.0, *cfg.utilisation_edges, np.inf]
    util = policy.utilisation
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        label = f">= {lo:.0%}" if hi == np.inf else f"{lo:.0%}-{hi:.0%}"
        out.append(("utilisation", label, elig & (util >= lo) & (util < hi)))
    pd12 = policy.pd_12m
    rows = np.flatnonzero(elig)
    q = np.full(elig.shape[0], -1)
    if rows.size:
        ranks = pd.Series(pd12[rows]).rank(method="first").to_numpy()
        q[rows] = np.minimum((ranks - 1) * cfg.pd_quantiles // rows.size, cfg.pd_quantiles - 1)
    for k in range(cfg.pd_quantiles):
        out.append(("pd_quantile", f"Q{k + 1}", q == k))
    cut = np.quantile(pd12[rows], cfg.subprime_pd_quantile) if rows.size else np.inf
    out.append(("credit", "prime", elig & (pd12 < cut)))
    out.append(("credit", "subprime", elig & (pd12 >= cut)))
    if behaviour_type is not None:
        for bt in BehaviourType:
            out.append(("behaviour_type", bt.name.lower(), elig & (behaviour_type == bt)))
    return out


def _row(**values: Any) -> dict[str, Any]:
    base = dict.fromkeys(COLUMNS, np.nan)
    base.update(values)
    return base


def mpb_rows(
    seed: int,
    experiment: str,
    arm: str,
    control: Trace,
    treated: Trace,
    cfg: ReplicationConfig,
    kinds: tuple[str, ...] = ("all", "utilisation", "pd_quantile", "behaviour_type"),
) -> list[dict[str, Any]]:
    """Δdebt/Δlimit of the platform line and of all lenders, both designs, every horizon.

    Args:
        seed: the seed (a label).
        experiment: the experiment's name (a label).
        arm: the arm's name (a label).
        control: the ``static`` run.
        treated: the arm's run (policy :class:`OneTimeLimitChange`).
        cfg: the design.
        kinds: group kinds reported.
    """
    policy = treated.policy
    assert isinstance(policy, OneTimeLimitChange) and policy.assigned is not None
    t = cfg.treatment_month
    assigned = policy.assigned
    t0, s0 = treated.snapshots[t], control.snapshots[t]
    d_limit = t0.limit_cny - policy.limit_before_cny
    d_limit_paired = t0.limit_cny - s0.limit_cny
    out = []
    for kind, group, mask in groups_at_treatment(policy, cfg, t0.behaviour_type):
        if kind not in kinds:
            continue
        g1, g0 = mask & assigned, mask & ~assigned
        common = dict(seed=seed, experiment=experiment, arm=arm, group_kind=kind, group=group)
        out.append(_row(**common, design="within", horizon=0, statistic="limit change (CNY)",
                        treated=d_limit[g1].mean() if g1.any() else np.nan,
                        control=d_limit[g0].mean() if g0.any() else np.nan,
                        n=int(g1.sum())))  # fmt: skip
        for h in cfg.horizons:
            th, sh = treated.snapshots[t + h], control.snapshots[t + h]
            for label, now, base, ctl in (
                ("Δdebt/Δlimit platform", th.balance_cny, t0.balance_cny, sh.balance_cny),
                ("Δdebt/Δlimit all lenders", th.all_balance_cny, t0.all_balance_cny,
                 sh.all_balance_cny),
            ):  # fmt: skip
                dd = now - base
                out.append(_row(**common, design="within", horizon=h, statistic=label,
                                effect=mpb(dd[g1], d_limit[g1], dd[g0], d_limit[g0]),
                                n=int(g1.sum())))  # fmt: skip
                out.append(_row(**common, design="paired", horizon=h, statistic=label,
                                effect=mpb((now - ctl)[g1], d_limit_paired[g1]),
                                n=int(g1.sum())))  # fmt: skip
    return out


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _window(later: Any, earlier: Any, name: str) -> np.ndarray:
    return getattr(later, name) - getattr(earlier, name)


def cut_effect_rows(
    seed: int,
    experiment: str,
    arm: str,
    control: Trace,
    treated: Trace,
    cfg: ReplicationConfig,
    kinds: tuple[str, ...] = ("all",),
) -> list[dict[str, Any]]:
    """What a limit change did to the changed borrowers, each paired with itself under ``static``.

    Per horizon ``h`` (window: the ``h`` months after treatment), mean per treated
    borrower: platform, other-lender and all-lender balance at ``t + h``; interest and
    fees paid in the window; the all-lender APR of the window (12 x interest and fees /
    balance-months); unmet need (CNY, and as a share of the window's income); defaulted by
    ``t + h``; utilisation of the platform line at ``t + h`` (lines with a positive limit).
    """
    policy = treated.policy
    assert isinstance(policy, OneTimeLimitChange) and policy.assigned is not None
    t = cfg.treatment_month
    t0, s0 = treated.snapshots[t], control.snapshots[t]
    out = []
    for kind, group, mask in groups_at_treatment(policy, cfg):
        if kind not in kinds:
            continue
        g = mask & policy.assigned
        if not g.any():
            continue
        common = dict(seed=seed, experiment=experiment, arm=arm, design="paired",
                      group_kind=kind, group=group, n=int(g.sum()))  # fmt: skip
        for h in cfg.horizons:
            th, sh = treated.snapshots[t + h], control.snapshots[t + h]
            pairs = {}
            for run, now, base in (("treated", th, t0), ("control", sh, s0)):
                cost = _window(now, base, "cost_total_cny")[g]
                bm = _window(now, base, "balance_months_cny")[g]
                unmet = _window(now, base, "unmet_need_total_cny")[g]
                income = _window(now, base, "income_total_cny")[g]
                live = now.limit_cny[g] > 0
                util = now.balance_cny[g][live] / now.limit_cny[g][live]
                pairs[run] = {
                    "platform balance (CNY)": now.balance_cny[g].mean(),
                    "other-lender balance (CNY)": now.other_balance_cny[g].mean(),
                    "all-lender balance (CNY)": now.all_balance_cny[g].mean(),
                    "interest and fees in window (CNY)": cost.mean(),
                    "all-lender APR in window": _ratio(12.0 * cost.sum(), bm.sum()),
                    "unmet need in window (CNY)": unmet.mean(),
                    "unmet need / income": _ratio(unmet.sum(), income.sum()),
                    "defaulted": now.defaulted[g].mean(),
                    "platform utilisation": util.mean() if util.size else np.nan,
                }  # fmt: skip
            for stat, tv in pairs["treated"].items():
                cv = pairs["control"][stat]
                out.append(_row(**common, horizon=h, statistic=stat, treated=tv, control=cv,
                                effect=tv - cv))  # fmt: skip
            diff = {k: pairs["treated"][k] - pairs["control"][k] for k in pairs["treated"]}
            d_plat = diff["platform balance (CNY)"]
            d_other = diff["other-lender balance (CNY)"]
            out.append(_row(**common, horizon=h, statistic="substitution (Δother / -Δplatform)",
                            effect=d_other / -d_plat if d_plat != 0 else np.nan))  # fmt: skip
    return out


def firm_rows(
    seed: int, arm: str, control: Trace, treated: Trace, cfg: ReplicationConfig
) -> list[dict[str, Any]]:
    """Effects of the pre-peak cut on the treated firms and their owners over the whole window.

    Treated firms: open at the treatment month, owned by a borrower the policy cut at
    least once (:attr:`PrePeakCut.flagged_ever`). Window: from the treatment month to the
    last snapshot (``treatment_month + max(horizons)``). Per treated firm, each run: mean
    cash buffer days over the months open in the window (firms open at least one month
    in both runs), liquidity buffer days (cash and usable undrawn credit, mean over the
    months open after treatment to the run's end), months in shortfall, late payments to
    suppliers (CNY), unmet gap (CNY),
    closed by the end (and closed for shortfall); owners: defaulted by the end, mean
    platform and other-lender balance over the window, unmet need in the window.
    """
    policy = treated.policy
    assert isinstance(policy, PrePeakCut)
    t = cfg.treatment_month
    end = t + max(cfg.horizons)
    f0 = control.firms[t]
    owner = f0.owner
    n = treated.n_rows
    flagged = np.zeros(owner.shape[0], dtype=bool)
    in_rows = owner < min(n, policy.flagged_ever.shape[0])
    flagged[in_rows] = policy.flagged_ever[owner[in_rows]]
    g = f0.is_open & flagged
    common = dict(seed=seed, experiment="prepeak", arm=arm, design="paired", horizon=end - t,
                  group_kind="firms", group="treated firms", n=int(g.sum()))  # fmt: skip
    if not g.any():
        return [_row(**common, statistic="treated firms", effect=0.0)]
    months = end - t
    runs = {}
    om_ok = np.ones(int(g.sum()), dtype=bool)
    for run, tr in (("treated", treated), ("control", control)):
        fe, fb = tr.firms[end], tr.firms[t]
        om = _window(fe, fb, "open_months")[g]
        om_ok &= om > 0
        runs[run] = (tr, fe, fb, om)
    values: dict[str, dict[str, float]] = {}
    for run, (tr, fe, fb, om) in runs.items():
        bd = _window(fe, fb, "buffer_days_sum")[g][om_ok] / om[om_ok]
        se, sb = tr.snapshots[end], tr.snapshots[t]
        o = owner[g]
        late = _window(fe, fb, "late_payments_total_cny")
        lm = tr.liquidity_months[g]
        values[run] = {
            "cash buffer days (mean over open months)": bd.mean() if bd.size else np.nan,
            "liquidity buffer days (mean over months open after treatment)":
                (tr.liquidity_days_sum[g][lm > 0] / lm[lm > 0]).mean(),
            "shortfall months per firm": tr.shortfall_months[g].mean(),
            "late supplier payments per firm (CNY)": late[g].mean(),
            "unmet gap per firm (CNY)": _window(fe, fb, "unmet_gap_total_cny")[g].mean(),
            "closed by end": (~fe.is_open[g]).mean(),
            "closed for shortfall by end": (fe.closure_cause[g] == ClosureCause.SHORTFALL).mean(),
            "owner defaulted by end": se.defaulted[o].mean(),
            "owner platform balance, window mean (CNY)":
                _window(se, sb, "platform_balance_months_cny")[o].mean() / months,
            "owner other-lender balance, window mean (CNY)":
                _window(se, sb, "other_balance_months_cny")[o].mean() / months,
            "owner unmet need in window (CNY)": _window(se, sb, "unmet_need_total_cny")[o].mean(),
        }  # fmt: skip
    out = []
    for stat, tv in values["treated"].items():
        cv = values["control"][stat]
        out.append(_row(**common, statistic=stat, treated=tv, control=cv, effect=tv - cv))
    late_t = values["treated"]["late supplier payments per firm (CNY)"]
    late_c = values["control"]["late supplier payments per firm (CNY)"]
    out.append(_row(**common, statistic="late supplier payments, relative change",
                    effect=late_t / late_c - 1.0 if late_c > 0 else np.nan))  # fmt: skip
    return out
