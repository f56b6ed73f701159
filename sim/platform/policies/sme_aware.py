"""The ``sme_aware`` policy: protect sole traders' working capital before their peak season.

Micro-enterprises and sole traders fund seasonal working capital (stock before Chinese
New Year or the November shopping festivals) from the owner's personal line, so a cut
landing just before the peak hurts most (mechanism M8); the seed article calls for
flexible, SME-aware risk control. This policy wraps ``behaviour_rules`` (run with the
nested ``base`` options) and protects a borrower who

- owns a firm whose sector has a peak ahead (``owns_firm & firm_peak_ahead``),
- whose firm holds at least ``min_buffer_days`` of cash buffer (a viable firm, not one
  already out of cash; NaN never qualifies),
- is current (``dpd == 0``) with ``pd_12m < max_pd``, on an open line,

during the first ``protect_months`` consecutive months in which the view flags the
peak ahead (the look-ahead window itself is the model's; the policy only counts the
flagged months). A protected borrower is never cut by the behaviour rules, and at the
first protected month of an episode gets a support target of ``1 + peak_raise_fraction``
times the current limit: the limit is raised to at least that target while protected
(reason ``PEAK_SEASON_SUPPORT``; a larger behaviour-rules raise keeps its own reason).
The raise is not undone after the peak. Everyone else gets the behaviour-rules decision,
so with no firm owners the policy is exactly ``behaviour_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.platform.policies.base import (
    LimitDecision,
    LimitPolicy,
    PolicyConfig,
    PortfolioView,
    check_range,
)
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig, BehaviourRulesPolicy
from sim.platform.policies.common import BehaviourMemory, behaviour_config, check_size, finish
from sim.platform.policies.reasons import ReasonCode
from sim.platform.policies.registry import register_policy
from sim.rows import pad_rows


@dataclass
class SMEAwareConfig(PolicyConfig):
    """Who is protected before a seasonal peak, for how long, and by how much.

    Attributes:
        base: options of the wrapped ``behaviour_rules`` policy (any
            :class:`BehaviourRulesConfig` field except ``name``, ``min_limit_cny`` and
            ``max_limit_cny``, which come from this config); empty for its defaults.
        min_buffer_days: the owned firm's cash buffer days must be at least this, >= 0.
        max_pd: the owner's ``pd_12m`` must be strictly below this, fraction in [0, 1].
        protect_months: protected months at the start of a peak-ahead episode, >= 0.
        peak_raise_fraction: the support target is this share above the limit at the
            start of the episode, in [0, 10] (0: protect from cuts only).

    Defaults are assumptions. For scale: half of US small businesses hold fewer than
    15 cash buffer days and the median is 27 (JPMorgan Chase Institute 2016, 2019;
    JPMorgan Chase Institute 2016; JPMorgan Chase Institute 2019).
    """

    name: str = "sme_aware"
    base: dict[str, Any] = field(default_factory=dict)
    min_buffer_days: float = 5.0
    max_pd: float = 0.05
    protect_months: int = 2
    peak_raise_fraction: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        behaviour_config(self.base, self, "base")  # fail now, naming the nested field
        check_range(self, "min_buffer_days", 0.0, 10_000.0)
        check_range(self, "max_pd", 0.0, 1.0)
        check_range(self, "protect_months", 0, 10_000)
        check_range(self, "peak_raise_fraction", 0.0, 10.0)

    @property
    def base_config(self) -> BehaviourRulesConfig:
        """The wrapped policy's validated config (built from ``base``)."""
        return behaviour_config(self.base, self, "base")


@register_policy
class SMEAwarePolicy(LimitPolicy):
    """Behaviour rules with peak-season protection for sole traders.

    Attributes:
        base: the wrapped :class:`BehaviourRulesPolicy`.
    """

    name = "sme_aware"
    config_class = SMEAwareConfig
    config: SMEAwareConfig

    def __init__(self, config: SMEAwareConfig) -> None:
        super().__init__(config)
        self.base = BehaviourRulesPolicy(config.base_config)
        self._n: int | None = None
        self._peak_months = np.zeros(0, dtype=np.int32)
        self._support_cny = np.zeros(0)

    def reset(self, n_borrowers: int) -> None:
        """Size the memory: flagged-month counters, support targets, wrapped policy."""
        self.base.reset(n_borrowers)
        self._n = n_borrowers
        self._peak_months = np.zeros(n_borrowers, dtype=np.int32)
        self._support_cny = np.zeros(n_borrowers)

    def grow(self, n_borrowers: int) -> None:
        """Extend the memory (and the wrapped policy's) to ``n_borrowers`` rows."""
        self.base.grow(n_borrowers)
        self._n = n_borrowers
        self._peak_months = pad_rows(self._peak_months, n_borrowers, 0)
        self._support_cny = pad_rows(self._support_cny, n_borrowers, 0.0)

    def protected(self, view: PortfolioView) -> np.ndarray:
        """Borrowers who qualify for protection this month, before counting months.

        Returns:
            ``(n_borrowers,)`` bool.
        """
        c = self.config
        buffer = view.firm_cash_buffer_days
        buffer_ok = np.isfinite(buffer) & (
            np.where(np.isfinite(buffer), buffer, 0.0) >= c.min_buffer_days
        )
        return (
            view.is_open
            & view.owns_firm
            & view.firm_peak_ahead
            & buffer_ok
            & (view.dpd == 0)
            & (view.pd_12m < c.max_pd)
        )

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Run the behaviour rules, then protect and support qualifying sole traders.

        Args:
            view: the portfolio view; reads the firm fields (``owns_firm``,
                ``firm_peak_ahead``, ``firm_cash_buffer_days``), ``dpd``, ``pd_12m`` and
                everything ``behaviour_rules`` reads.
            rng: passed to the wrapped policy.

        Returns:
            The behaviour-rules decision with protected rows held or raised.
        """
        if self._n is None:  # reviewed without reset: size the memory from the view
            self.reset(view.n_borrowers)
        check_size(self.name, int(self._n or 0), view.n_borrowers)
        c = self.config
        limit = view.limit_cny
        memory = BehaviourMemory.take(self.base)
        inner = self.base.review(view, rng)
        new = inner.new_limit_cny.copy()
        reason = inner.reason.copy()

        episode = view.owns_firm & view.firm_peak_ahead
        self._peak_months = np.where(episode, self._peak_months + 1, 0).astype(np.int32)
        protect = self.protected(view) & (self._peak_months <= c.protect_months)
        start = protect & (self._support_cny == 0.0)
        self._support_cny[start] = limit[start] * (1.0 + c.peak_raise_fraction)
        self._support_cny = np.where(episode, self._support_cny, 0.0)

        held = protect & (new < limit)
        new[held] = limit[held]
        reason[held] = ReasonCode.NONE
        lift = protect & (self._support_cny > new)
        new[lift] = self._support_cny[lift]
        reason[lift] = ReasonCode.PEAK_SEASON_SUPPORT

        decision = finish(self, new, reason, view)
        memory.sync(self.base, limit, inner.new_limit_cny, decision.new_limit_cny)
        return decision
