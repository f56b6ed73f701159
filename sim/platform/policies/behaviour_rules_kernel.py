"""Compiled review of the ``behaviour_rules`` policy: one loop over the book's rows.

The same rules as :meth:`BehaviourRulesPolicy._review_rows` (NumPy, in row blocks) and
:mod:`sim.platform.policies.behaviour_rules_reference` (per account), in the same order
with the same arithmetic, so the limits, reasons and the policy's memory are the NumPy
path's to the bit. Each row reads and writes only its own entries (``prange``).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import kernel
from sim.platform.policies.reasons import ReasonCode

_DELINQUENCY = int(ReasonCode.DELINQUENCY)
_HIGH_RISK = int(ReasonCode.HIGH_RISK_TRANSACTION)
_EARLY = int(ReasonCode.EARLY_REPAYMENT)
_DRAWS = int(ReasonCode.FREQUENT_DRAWS)
_THIN = int(ReasonCode.THIN_HISTORY)
_LOW_DIVERSITY = int(ReasonCode.LOW_SPENDING_DIVERSITY)
_RESTORED = int(ReasonCode.RESTORED_AFTER_TEMPORARY_CUT)
_STABLE = int(ReasonCode.STABLE_USE_INCREASE)


@numba.njit(cache=True, inline="always")
def clip_scalar(
    proposed: float, limit: float, balance: float, is_open: bool, min_limit: float, max_limit: float
) -> float:
    """:meth:`LimitPolicy.clip` of one row, operation for operation."""
    final = limit
    if proposed != limit:
        floor = max(min_limit, np.ceil(balance * 100.0 - 1e-6) / 100.0 + 0.0)
        if proposed < limit:
            out = min(limit, max(proposed, floor))
        elif proposed > limit:
            out = max(limit, min(proposed, max_limit))
        else:
            out = limit
        out = np.rint(out * 100.0) / 100.0  # np.round(out, 2)
        final = limit if abs(out - limit) < 0.005 else out
    return final if is_open else 0.0


@kernel(parallel=True)
def review_kernel(
    limit, is_open, dpd, high_risk_flag, early_3m, draws_3m, history_months,
    spending_diversity, initial_limit, utilisation, on_time_months, balance,
    months_since_cut, months_since_raise, restore_limit, clean_months, p, new_out, reason_out,
):  # fmt: skip
    """Review every row; memory arrays (``(n,)``) are updated in place.

    ``p`` is the config as float64: ``delinquency_dpd, delinquency_cut,
    frequent_draws_threshold, frequent_draws_cut, early_repayment_threshold,
    early_repayment_cut, thin_history_months, thin_history_cut, low_diversity_threshold,
    low_diversity_cut, high_risk_cut, restore_after_clean_months, stable_on_time_months,
    stable_min_utilisation, stable_max_utilisation, raise_step, raise_cooldown_months,
    cut_cooldown_months, min_limit_cny, max_limit_cny``.
    """
    for i in numba.prange(limit.shape[0]):
        lim = limit[i]
        opened = is_open[i]
        new = lim
        reason = 0
        undecided = opened
        can_cut = months_since_cut[i] >= p[17]
        temp_active = restore_limit[i] > 0
        hrf = high_risk_flag[i]
        clean = opened and dpd[i] == 0 and not hrf
        clean_months[i] = (clean_months[i] + 1) * clean
        restore = restore_limit[i]
        if dpd[i] >= p[0]:
            if undecided:
                new, reason = lim * (1.0 - p[1]), _DELINQUENCY
            undecided = False
        restore += lim * (1.0 if (hrf and undecided and not temp_active) else 0.0)
        if hrf:
            if undecided:
                new, reason = lim * (1.0 - p[10]), _HIGH_RISK
            undecided = False
        if can_cut and early_3m[i] >= p[4]:
            if undecided:
                new, reason = lim * (1.0 - p[5]), _EARLY
            undecided = False
        if can_cut and draws_3m[i] >= p[2]:
            if undecided:
                new, reason = lim * (1.0 - p[3]), _DRAWS
            undecided = False
        thin = history_months[i] < p[6]
        low_div = spending_diversity[i] < p[8]
        target = (
            initial_limit[i]
            * (1.0 - p[7] * (1.0 if thin else 0.0))
            * (1.0 - p[9] * (1.0 if low_div else 0.0))
        )
        if undecided and lim > target + 0.005:
            if thin:
                new, reason, undecided = target, _THIN, False
            elif low_div:
                new, reason, undecided = target, _LOW_DIVERSITY, False
        if undecided and restore > 0 and clean_months[i] >= p[11]:
            new, reason, undecided = max(restore, lim), _RESTORED, False
            restore = 0.0
        u = utilisation[i]
        if (
            undecided
            and restore == 0
            and on_time_months[i] >= p[12]
            and u >= p[13]
            and u <= p[14]
            and early_3m[i] == 0
            and months_since_raise[i] >= p[16]
        ):
            new, reason = lim * (1.0 + p[15]), _STABLE
        new = clip_scalar(new, lim, balance[i], opened, p[18], p[19])
        changed = new != lim
        new_out[i] = new
        reason_out[i] = reason if changed else 0
        months_since_cut[i] = 0 if (changed and new < lim) else months_since_cut[i] + 1
        months_since_raise[i] = 0 if (changed and new > lim) else months_since_raise[i] + 1
        restore_limit[i] = restore * (1.0 if opened else 0.0)


def config_vector(c) -> np.ndarray:  # noqa: ANN001 - a BehaviourRulesConfig
    """The config's parameters in :func:`review_kernel`'s order, float64."""
    names = (
        "delinquency_dpd", "delinquency_cut", "frequent_draws_threshold", "frequent_draws_cut",
        "early_repayment_threshold", "early_repayment_cut", "thin_history_months",
        "thin_history_cut", "low_diversity_threshold", "low_diversity_cut", "high_risk_cut",
        "restore_after_clean_months", "stable_on_time_months", "stable_min_utilisation",
        "stable_max_utilisation", "raise_step", "raise_cooldown_months", "cut_cooldown_months",
        "min_limit_cny", "max_limit_cny",
    )  # fmt: skip
    return np.array([float(getattr(c, name)) for name in names])


def review_compiled(policy, view, new: np.ndarray, reason: np.ndarray) -> None:  # noqa: ANN001
    """Review every row of ``view`` with :func:`review_kernel` into ``new``, ``reason``.

    Args:
        policy: the ``BehaviourRulesPolicy`` (its config and per-borrower memory).
        view: the ``PortfolioView``.
        new: ``(n,)`` float64 output limits, CNY.
        reason: ``(n,)`` int8 output reason codes.
    """
    review_kernel(
        view.limit_cny, view.is_open, view.dpd, view.high_risk_flag, view.early_repayments_3m,
        view.draws_3m, view.history_months, view.spending_diversity, view.initial_limit_cny,
        view.utilisation, view.on_time_months, view.balance_cny,
        policy._months_since_cut, policy._months_since_raise, policy._restore_limit_cny,
        policy._clean_months, config_vector(policy.config), new, reason,
    )  # fmt: skip
