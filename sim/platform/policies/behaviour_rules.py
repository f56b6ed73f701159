"""The ``behaviour_rules`` policy: the seed article's heuristic (mechanisms M1-M4).

Cuts on delinquency, on frequent draws and on early/immediate repayment (fast turnover
the platform reads as low value or cash-out risk), lowers the target for thin history
and low spending diversity, cuts temporarily after a high-risk transaction (restored
after ``restore_after_clean_months`` clean months), and raises limits after stable
on-time use. One reason per change, in this priority order: delinquency, high-risk
transaction, early repayment, frequent draws, thin history, low spending diversity,
restoration, stable-use increase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.blocks import in_blocks
from sim.compiled import implementation
from sim.platform.policies.base import (
    LimitDecision,
    LimitPolicy,
    PolicyConfig,
    PortfolioView,
    check_range,
)
from sim.platform.policies.reasons import ReasonCode
from sim.platform.policies.registry import register_policy
from sim.rows import pad_rows


@dataclass
class BehaviourRulesConfig(PolicyConfig):
    """Thresholds and step sizes of the behaviour-rules heuristic.

    All cuts and raises are fractions of the current limit. Thresholds are counts over
    the last 3 months (the view's ``draws_3m`` and ``early_repayments_3m``).
    The defaults are assumptions chosen to reproduce the behaviour the seed article
    describes, not estimates: no platform publishes its rule book.
    """

    name: str = "behaviour_rules"
    delinquency_dpd: int = 30
    delinquency_cut: float = 0.5
    frequent_draws_threshold: int = 6
    frequent_draws_cut: float = 0.2
    early_repayment_threshold: int = 2
    early_repayment_cut: float = 0.2
    thin_history_months: int = 12
    thin_history_cut: float = 0.1
    low_diversity_threshold: float = 0.3
    low_diversity_cut: float = 0.1
    high_risk_cut: float = 0.5
    restore_after_clean_months: int = 3
    stable_on_time_months: int = 6
    stable_min_utilisation: float = 0.1
    stable_max_utilisation: float = 0.9
    raise_step: float = 0.1
    raise_cooldown_months: int = 6
    cut_cooldown_months: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in (
            "delinquency_cut",
            "frequent_draws_cut",
            "early_repayment_cut",
            "thin_history_cut",
            "low_diversity_cut",
            "high_risk_cut",
            "low_diversity_threshold",
            "stable_min_utilisation",
        ):
            check_range(self, field, 0.0, 1.0)
        check_range(self, "stable_max_utilisation", self.stable_min_utilisation, None)
        check_range(self, "raise_step", 0.0, 10.0)
        for field in (
            "delinquency_dpd",
            "frequent_draws_threshold",
            "early_repayment_threshold",
            "thin_history_months",
            "restore_after_clean_months",
            "stable_on_time_months",
            "raise_cooldown_months",
            "cut_cooldown_months",
        ):
            check_range(self, field, 0, 10_000)


@register_policy
class BehaviourRulesPolicy(LimitPolicy):
    """Rule-based limit management from observed behaviour (mechanisms M1-M4).

    State kept per borrower: months since the last change of each direction, and the
    limit to restore after a temporary (high-risk transaction) cut.
    """

    name = "behaviour_rules"
    config_class = BehaviourRulesConfig
    config: BehaviourRulesConfig

    def reset(self, n_borrowers: int) -> None:
        """Size the per-borrower memory."""
        big = np.iinfo(np.int16).max // 2
        self._months_since_raise = np.full(n_borrowers, big, dtype=np.int32)
        self._months_since_cut = np.full(n_borrowers, big, dtype=np.int32)
        self._restore_limit_cny = np.zeros(n_borrowers)
        self._clean_months = np.zeros(n_borrowers, dtype=np.int32)

    def grow(self, n_borrowers: int) -> None:
        """Extend the per-borrower memory to ``n_borrowers`` rows (new rows as at reset)."""
        big = np.iinfo(np.int16).max // 2
        self._months_since_raise = pad_rows(self._months_since_raise, n_borrowers, big)
        self._months_since_cut = pad_rows(self._months_since_cut, n_borrowers, big)
        self._restore_limit_cny = pad_rows(self._restore_limit_cny, n_borrowers, 0.0)
        self._clean_months = pad_rows(self._clean_months, n_borrowers, 0)

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Apply the rules in priority order; see the module docstring.

        Every rule reads and writes only the borrower's own row, so the book is reviewed
        in row blocks (:func:`sim.blocks.in_blocks`; the result does not depend on the block
        size).
        """
        n = view.n_borrowers
        new = np.empty(n)
        reason = np.empty(n, dtype=np.int8)
        # Compiled kernel, per-account reference or NumPy (sim.compiled.implementation()).
        how = implementation()
        if how == "compiled":
            from sim.platform.policies.behaviour_rules_kernel import review_compiled

            review_compiled(self, view, new, reason)
        elif how == "reference":
            from sim.platform.policies.behaviour_rules_reference import review_reference

            review_reference(self, view, new, reason)
        else:
            in_blocks(n, lambda rows: self._review_rows(view, rows, new, reason))
        return LimitDecision(new, reason)

    def _review_rows(
        self, view: PortfolioView, rows: slice, new_out: np.ndarray, reason_out: np.ndarray
    ) -> None:
        """Review the block ``rows``.

        Writes ``new_out[rows]``, ``reason_out[rows]`` and the policy's memory of those rows.
        """
        c = self.config
        limit = view.limit_cny[rows]
        is_open = view.is_open[rows]
        dpd = view.dpd[rows]
        high_risk_flag = view.high_risk_flag[rows]
        early_3m = view.early_repayments_3m[rows]
        # The policy's memory of these rows, updated in place.
        months_since_cut = self._months_since_cut[rows]
        months_since_raise = self._months_since_raise[rows]
        restore_limit = self._restore_limit_cny[rows]
        clean_months = self._clean_months[rows]

        new = limit.copy()
        reason = np.zeros(limit.shape[0], dtype=np.int8)
        undecided = is_open.copy()
        can_cut = months_since_cut >= c.cut_cooldown_months

        def cut(mask: np.ndarray, fraction: float, code: ReasonCode) -> None:
            nonlocal undecided
            hit = undecided & mask
            new[hit] = limit[hit] * (1.0 - fraction)
            reason[hit] = code
            undecided &= ~mask

        # Temporary cut memory: a high-risk transaction restarts the clean-month clock.
        temp_active = restore_limit > 0
        clean = is_open & (dpd == 0) & ~high_risk_flag
        # "x where mask, else 0" is x * mask (np.where on a near-random mask costs 6-16x an
        # arithmetic pass); the values are integers or >= 0, so the results are the same.
        clean_months[...] = (clean_months + 1) * clean

        cut(dpd >= c.delinquency_dpd, c.delinquency_cut, ReasonCode.DELINQUENCY)
        high_risk = high_risk_flag & undecided
        # Remember the pre-cut limit once (a second flag does not overwrite it).
        restore_limit += limit * (high_risk & ~temp_active)  # it is 0.0 where not active
        cut(high_risk_flag, c.high_risk_cut, ReasonCode.HIGH_RISK_TRANSACTION)
        cut(
            can_cut & (early_3m >= c.early_repayment_threshold),
            c.early_repayment_cut,
            ReasonCode.EARLY_REPAYMENT,
        )
        cut(
            can_cut & (view.draws_3m[rows] >= c.frequent_draws_threshold),
            c.frequent_draws_cut,
            ReasonCode.FREQUENT_DRAWS,
        )
        # M3/M4 lower the target limit (not a repeated cut): thin history and low spending
        # diversity each take a fixed share off the initial limit while they last.
        thin = view.history_months[rows] < c.thin_history_months
        low_div = view.spending_diversity[rows] < c.low_diversity_threshold
        target = (
            view.initial_limit_cny[rows]
            * (1.0 - c.thin_history_cut * thin)
            * (1.0 - c.low_diversity_cut * low_div)
        )
        above = undecided & (limit > target + 0.005)
        for mask, code in (
            (thin, ReasonCode.THIN_HISTORY),
            (low_div, ReasonCode.LOW_SPENDING_DIVERSITY),
        ):
            hit = above & mask & undecided
            new[hit] = target[hit]
            reason[hit] = code
            undecided &= ~hit

        restore = undecided & (restore_limit > 0) & (clean_months >= c.restore_after_clean_months)
        new[restore] = np.maximum(restore_limit[restore], limit[restore])
        reason[restore] = ReasonCode.RESTORED_AFTER_TEMPORARY_CUT
        restore_limit[restore] = 0.0
        undecided &= ~restore

        utilisation = view.utilisation[rows]
        stable = (
            undecided
            & (restore_limit == 0)
            & (view.on_time_months[rows] >= c.stable_on_time_months)
            & (utilisation >= c.stable_min_utilisation)
            & (utilisation <= c.stable_max_utilisation)
            & (early_3m == 0)
            & (months_since_raise >= c.raise_cooldown_months)
        )
        new[stable] = limit[stable] * (1.0 + c.raise_step)
        reason[stable] = ReasonCode.STABLE_USE_INCREASE

        new = self.clip(new, view, rows)
        changed = new != limit
        new_out[rows] = new
        reason_out[rows] = reason * changed
        # A restoration that the clip leaves equal to the current limit still clears memory.
        months_since_cut[...] = (months_since_cut + 1) * ~(changed & (new < limit))
        months_since_raise[...] = (months_since_raise + 1) * ~(changed & (new > limit))
        # A line closed at default forgets any pending restoration.
        restore_limit *= is_open
