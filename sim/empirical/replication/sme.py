"""What ``sme_aware``'s peak-season tranche buys the firms and costs the platform.

The experiment runs ``sme_aware`` (conf/policy/sme_aware.yaml) from the window's first
month against ``static`` and against ``behaviour_rules`` (the rules it wraps on the
general line) under the same seed (common random numbers). Treated firms: open at the
window's start, owned by a borrower granted a tranche at least once
(:attr:`sim.platform.policies.sme_aware.SMEAwarePolicy.tranche_ever`). Each is paired
with itself in the control run over the whole window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.empirical.replication.trace import Trace
from sim.platform.policies.sme_aware import SMEAwarePolicy
from sim.world.firms.state import ClosureCause

__all__ = ["CONTROLS", "sme_rows"]

#: The control runs of the experiment (each is an ``arm`` label of the rows).
CONTROLS: tuple[str, ...] = ("static", "behaviour_rules")

_DISTRESS = (int(ClosureCause.SHORTFALL), int(ClosureCause.DISTRESS))


def _row(**values: Any) -> dict[str, Any]:
    base = {"treated": np.nan, "control": np.nan, "effect": np.nan}
    return base | values


def sme_rows(seed: int, control_name: str, control: Trace, treated: Trace) -> list[dict]:
    """Effects of ``sme_aware`` on its treated firms and owners, and on the platform's loss.

    Both traces start at window month 0 (the end of the burn-in) and end at their one
    horizon (the window's last month). Per treated firm, each run: months in shortfall,
    late supplier payments (CNY), unmet gap (CNY), liquidity buffer days and cash buffer
    days (means over the months with a measure), closed by the end, closed for distress
    (shortfall or distress exit) by the end; per treated owner: defaulted by the end and
    the platform's loss at default (CNY); for the whole book: the platform's loss at
    default in the window (CNY, every row, new ones included).

    Args:
        seed: the seed of both runs.
        control_name: the control policy's name (the ``arm`` of the rows).
        control: the control run.
        treated: the ``sme_aware`` run (its policy holds who got a tranche).

    Returns:
        Long rows with the columns of :data:`sim.empirical.replication.estimates.COLUMNS`.
    """
    policy = treated.policy
    assert isinstance(policy, SMEAwarePolicy)
    end = max(treated.firms)
    f0, fe_c, fe_t = control.firms[0], control.firms[end], treated.firms[end]
    owner = f0.owner
    ever = policy.tranche_ever
    got = np.zeros(owner.shape[0], dtype=bool)
    inside = owner < min(treated.n_rows, ever.shape[0])
    got[inside] = ever[owner[inside]]
    g = f0.is_open & got
    common = dict(seed=seed, experiment="sme_aware", arm=f"vs {control_name}",
                  design="paired", horizon=end, group_kind="firms", group="treated firms",
                  n=int(g.sum()))  # fmt: skip
    if not g.any():
        return [_row(**common, statistic="treated firms", effect=0.0)]
    o = owner[g]
    values: dict[str, dict[str, float]] = {}
    for run, tr, fe in (("treated", treated, fe_t), ("control", control, fe_c)):
        fb, se = tr.firms[0], tr.snapshots[end]
        lm = tr.liquidity_months[g]
        cm = (fe.open_months - fb.open_months)[g]
        values[run] = {
            "shortfall months per firm": tr.shortfall_months[g].mean(),
            "late supplier payments per firm (CNY)":
                (fe.late_payments_total_cny - fb.late_payments_total_cny)[g].mean(),
            "unmet gap per firm (CNY)":
                (fe.unmet_gap_total_cny - fb.unmet_gap_total_cny)[g].mean(),
            "liquidity buffer days (mean over months open)":
                (tr.liquidity_days_sum[g][lm > 0] / lm[lm > 0]).mean(),
            "cash buffer days (mean over months open)":
                ((fe.buffer_days_sum - fb.buffer_days_sum)[g][cm > 0] / cm[cm > 0]).mean(),
            "closed by end": (~fe.is_open[g]).mean(),
            "closed for distress by end": np.isin(fe.closure_cause[g], _DISTRESS).mean(),
            "owner defaulted by end": se.defaulted[o].mean(),
            "platform loss on treated owners per owner (CNY)": tr.platform_loss_cny[o].mean(),
        }  # fmt: skip
    out = []
    for stat, tv in values["treated"].items():
        cv = values["control"][stat]
        out.append(_row(**common, statistic=stat, treated=tv, control=cv, effect=tv - cv))
    late_t = values["treated"]["late supplier payments per firm (CNY)"]
    late_c = values["control"]["late supplier payments per firm (CNY)"]
    out.append(_row(**common, statistic="late supplier payments, relative change",
                    effect=late_t / late_c - 1.0 if late_c > 0 else np.nan))  # fmt: skip
    book = common | dict(group_kind="book", group="all rows", n=int(treated.n_rows))
    tl, cl = treated.platform_loss_total_cny, control.platform_loss_total_cny
    out.append(_row(**book, statistic="platform loss in window (CNY)", treated=tl, control=cl,
                    effect=tl - cl))  # fmt: skip
    out.append(_row(**book, statistic="tranches granted", treated=float(policy.tranches_granted),
                    effect=float(policy.tranches_granted)))  # fmt: skip
    return out
