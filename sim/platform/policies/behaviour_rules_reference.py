"""The ``behaviour_rules`` review written one account at a time: the readable reference.

The rules of :mod:`sim.platform.policies.behaviour_rules` in plain Python, in priority
order (delinquency, high-risk transaction, early repayment, frequent draws, thin history,
low spending diversity, restoration, stable-use increase), then the platform's clip. The
oracle of the tests of the compiled review and the per-agent baseline of the benchmark.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.platform.policies.reasons import ReasonCode

if TYPE_CHECKING:
    import numpy as np

    from sim.platform.policies.base import PortfolioView
    from sim.platform.policies.behaviour_rules import BehaviourRulesPolicy


def clip_account(policy, proposed: float, limit: float, balance: float, is_open: bool) -> float:  # noqa: ANN001
    """The platform's clip of one proposal (:meth:`LimitPolicy.clip`)."""
    if not is_open:
        return 0.0
    if proposed == limit:
        return limit
    c = policy.config
    floor = max(c.min_limit_cny, math.ceil(balance * 100.0 - 1e-6) / 100.0 + 0.0)
    if proposed < limit:
        out = min(limit, max(proposed, floor))
    else:
        out = max(limit, min(proposed, c.max_limit_cny))
    out = round(out * 100.0) / 100.0  # half to even, as np.round(out, 2)
    return limit if abs(out - limit) < 0.005 else out


def review_account(policy: BehaviourRulesPolicy, view: PortfolioView, i: int) -> tuple[float, int]:
    """Review account ``i``: ``(new limit, reason)``; updates the policy's memory of ``i``."""
    c = policy.config
    limit = float(view.limit_cny[i])
    is_open = bool(view.is_open[i])
    dpd = int(view.dpd[i])
    flagged = bool(view.high_risk_flag[i])
    early = int(view.early_repayments_3m[i])
    restore = float(policy._restore_limit_cny[i])
    was_restoring = restore > 0
    can_cut = policy._months_since_cut[i] >= c.cut_cooldown_months
    clean = is_open and dpd == 0 and not flagged
    policy._clean_months[i] = policy._clean_months[i] + 1 if clean else 0

    new, reason = limit, ReasonCode.NONE
    if is_open:
        cuts = (
            (dpd >= c.delinquency_dpd, c.delinquency_cut, ReasonCode.DELINQUENCY),
            (flagged, c.high_risk_cut, ReasonCode.HIGH_RISK_TRANSACTION),
            (can_cut and early >= c.early_repayment_threshold, c.early_repayment_cut,
             ReasonCode.EARLY_REPAYMENT),
            (can_cut and view.draws_3m[i] >= c.frequent_draws_threshold, c.frequent_draws_cut,
             ReasonCode.FREQUENT_DRAWS),
        )  # fmt: skip
        for applies, fraction, code in cuts:
            if applies:
                if code == ReasonCode.HIGH_RISK_TRANSACTION and not was_restoring:
                    restore += limit  # remember the limit before the temporary cut
                new, reason = limit * (1.0 - fraction), code
                break
    if is_open and reason == ReasonCode.NONE:
        thin = view.history_months[i] < c.thin_history_months
        low_diversity = view.spending_diversity[i] < c.low_diversity_threshold
        target = float(view.initial_limit_cny[i])
        target *= 1.0 - (c.thin_history_cut if thin else 0.0)
        target *= 1.0 - (c.low_diversity_cut if low_diversity else 0.0)
        utilisation = float(view.utilisation[i])
        if limit > target + 0.005 and (thin or low_diversity):
            code = ReasonCode.THIN_HISTORY if thin else ReasonCode.LOW_SPENDING_DIVERSITY
            new, reason = target, code
        elif restore > 0 and policy._clean_months[i] >= c.restore_after_clean_months:
            new, reason = max(restore, limit), ReasonCode.RESTORED_AFTER_TEMPORARY_CUT
            restore = 0.0
        elif (
            restore == 0
            and view.on_time_months[i] >= c.stable_on_time_months
            and c.stable_min_utilisation <= utilisation <= c.stable_max_utilisation
            and early == 0
            and policy._months_since_raise[i] >= c.raise_cooldown_months
        ):
            new, reason = limit * (1.0 + c.raise_step), ReasonCode.STABLE_USE_INCREASE
    new = clip_account(policy, new, limit, float(view.balance_cny[i]), is_open)
    changed = new != limit
    policy._months_since_cut[i] = 0 if changed and new < limit else policy._months_since_cut[i] + 1
    policy._months_since_raise[i] = (
        0 if changed and new > limit else policy._months_since_raise[i] + 1
    )
    policy._restore_limit_cny[i] = restore if is_open else 0.0
    return new, int(reason) if changed else 0


def review_reference(
    policy: BehaviourRulesPolicy, view: PortfolioView, new: np.ndarray, reason: np.ndarray
) -> None:
    """Review every account of ``view`` into ``new`` and ``reason`` (``(n,)`` each)."""
    for i in range(view.n_borrowers):
        new[i], reason[i] = review_account(policy, view, i)
