"""The treatment arms as limit policies: ``static`` except for the experiment's change.

Both classes are plain :class:`sim.LimitPolicy` subclasses handed to the model
(``CreditMarketModel(config, policy=...)``); they are not registered (no YAML of their
own). Neither draws from the platform stream: assignment is a fixed hash of the borrower
row and the seed (:func:`assignment_draw`), so every arm under one seed treats the same
rows and the world (which has its own streams) is the same as under ``static``.

The platform has no reason code for an experiment: raises are recorded as
``STABLE_USE_INCREASE``, cuts as ``PORTFOLIO_EXPOSURE_CAP`` and restores as
``RESTORED_AFTER_TEMPORARY_CUT``; the experiment tables never read reasons.
"""

from __future__ import annotations

import numpy as np

from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.common import finish
from sim.platform.policies.reasons import ReasonCode

__all__ = ["OneTimeLimitChange", "PrePeakCut", "assignment_draw"]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def assignment_draw(n: int, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, a fixed hash (SplitMix64) of ``(seed, row)``.

    Args:
        n: number of rows.
        seed: the run's seed (so assignments differ between seeds, not between arms).

    Returns:
        ``(n,)`` float64; row ``i`` gets the same value whatever ``n`` is.
    """
    with np.errstate(over="ignore"):
        x = np.arange(n, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


class OneTimeLimitChange(LimitPolicy):
    """Change the limit of a random share of open lines once, at one review; else ``static``.

    Args:
        step: the review (``view.step``: the 1-based window month, after the burn-in) at
            which the change is made.
        fraction: the change as a fraction of the current limit (+0.2: +20 %, -0.75: -75 %).
        seed: the run's seed (for :func:`assignment_draw`).
        treated_share: share of eligible lines assigned, in (0, 1).

    Eligible: open lines with a positive limit at the review. The usual invariants apply
    (a cut stops at the drawn balance, a raise at ``max_limit_cny``).

    Attributes (set at the treatment review; ``None`` before):
        n_at_treatment: number of borrower rows at treatment.
        eligible, assigned: ``(n_at_treatment,)`` bool (assigned implies eligible).
        limit_before_cny, limit_after_cny: ``(n_at_treatment,)`` limits around the change.
        utilisation, pd_12m: ``(n_at_treatment,)`` at the treatment review.
    """

    name = "replication_one_time_change"

    def __init__(
        self,
        step: int,
        fraction: float,
        seed: int,
        treated_share: float = 0.5,
        config: PolicyConfig | None = None,
    ) -> None:
        super().__init__(config or PolicyConfig())
        if not -1.0 <= fraction <= 10.0:
            raise ValueError(f"fraction = {fraction} must be in [-1, 10]")
        self.step, self.fraction, self.seed = step, fraction, seed
        self.treated_share = treated_share
        self.n_at_treatment: int | None = None
        self.eligible: np.ndarray | None = None
        self.assigned: np.ndarray | None = None
        self.limit_before_cny: np.ndarray | None = None
        self.limit_after_cny: np.ndarray | None = None
        self.utilisation: np.ndarray | None = None
        self.pd_12m: np.ndarray | None = None

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Unchanged limits, except at ``step``: the assigned lines get ``x (1 + fraction)``."""
        if view.step != self.step:
            return LimitDecision.unchanged(view)
        n = view.n_borrowers
        eligible = view.is_open & (view.limit_cny > 0)
        assigned = eligible & (assignment_draw(n, self.seed) < self.treated_share)
        limit = view.limit_cny
        new = np.where(assigned, np.round(limit * (1.0 + self.fraction), 2), limit)
        code = (
            ReasonCode.STABLE_USE_INCREASE
            if self.fraction > 0
            else ReasonCode.PORTFOLIO_EXPOSURE_CAP
        )
        reason = np.where(assigned, code, ReasonCode.NONE).astype(np.int8)
        decision = finish(self, new, reason, view)
        self.n_at_treatment = n
        self.eligible, self.assigned = eligible.copy(), assigned
        self.limit_before_cny = limit.copy()
        self.limit_after_cny = decision.new_limit_cny.copy()
        self.utilisation = view.utilisation.copy()
        self.pd_12m = view.pd_12m.copy()
        return decision


class PrePeakCut(LimitPolicy):
    """Cut every sole trader's line while their sector's peak is ahead; restore it after.

    From review ``start_step`` on (``view.step``, a window month), a borrower whose firm's
    sector has a peak within the platform's look-ahead (``view.owns_firm &
    view.firm_peak_ahead``, two months by default) gets zero headroom (``fraction =
    None``: the limit falls to the drawn balance) or ``(1 - fraction)`` times the limit
    held when the episode began. When the flag clears the pre-episode limit is restored.
    Everyone else: ``static``.

    Attributes:
        flagged_ever: ``(n,)`` bool, rows cut at least once (the treated owners); the
            memory grows with the book (:meth:`grow`).
    """

    name = "replication_prepeak_cut"

    def __init__(
        self, start_step: int, fraction: float | None = None, config: PolicyConfig | None = None
    ) -> None:
        super().__init__(config or PolicyConfig())
        if fraction is not None and not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction = {fraction} must be in (0, 1] or None (zero headroom)")
        self.start_step, self.fraction = start_step, fraction
        self.reference_cny = np.zeros(0)
        self.flagged_ever = np.zeros(0, dtype=bool)

    def reset(self, n_borrowers: int) -> None:
        """Size the memory: pre-episode limits (0: not in an episode), rows ever cut."""
        self.reference_cny = np.zeros(n_borrowers)
        self.flagged_ever = np.zeros(n_borrowers, dtype=bool)

    def grow(self, n_borrowers: int) -> None:
        """Extend the memory to ``n_borrowers`` rows: new accounts start outside any episode."""
        extra = n_borrowers - self.reference_cny.shape[0]
        if extra > 0:
            self.reference_cny = np.concatenate([self.reference_cny, np.zeros(extra)])
            self.flagged_ever = np.concatenate([self.flagged_ever, np.zeros(extra, dtype=bool)])

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Cut flagged sole traders, restore those whose episode ended."""
        if view.step < self.start_step:
            return LimitDecision.unchanged(view)
        self.grow(view.n_borrowers)
        limit = view.limit_cny
        flag = view.is_open & view.owns_firm & view.firm_peak_ahead
        ref = self.reference_cny
        start = flag & (ref == 0.0)
        ref[start] = limit[start]
        self.flagged_ever |= flag
        target = (
            np.zeros(view.n_borrowers) if self.fraction is None else ref * (1.0 - self.fraction)
        )
        new = np.where(flag, np.minimum(limit, np.round(target, 2)), limit)
        ended = ~flag & (ref > 0.0)
        new = np.where(ended, ref, new)
        reason = np.where(
            ended,
            ReasonCode.RESTORED_AFTER_TEMPORARY_CUT,
            np.where(flag, ReasonCode.PORTFOLIO_EXPOSURE_CAP, ReasonCode.NONE),
        ).astype(np.int8)
        ref[ended] = 0.0
        return finish(self, new, reason, view)
