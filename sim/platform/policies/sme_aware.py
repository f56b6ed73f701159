"""The ``sme_aware`` policy: protect sole traders' working capital before their peak season.

Micro-enterprises and sole traders fund seasonal working capital (stock before Chinese
New Year or the November shopping festivals) from the owner's personal line, so a cut
landing just before the peak hurts most (mechanism M8); the seed article calls for
flexible, SME-aware risk control. This policy wraps ``behaviour_rules`` (run with the
nested ``base`` options) and protects a borrower who

- owns a firm whose sector has a peak ahead (``owns_firm & firm_peak_ahead``; peaks are
  relative to each sector's own seasonality),
- pays the firm's bills from the personal line (``firm_uses_personal_credit``: the raise
  is for the firm's stock, so owners who never use the line for the business get none),
- whose firm holds at least ``min_buffer_days`` of cash buffer (a viable firm, not one
  already out of cash; NaN never qualifies),
- is current (``dpd == 0``) with ``pd_12m < max_pd``, on an open line,

during the first ``protect_months`` consecutive months in which the view flags the
peak ahead (the look-ahead window itself is the model's; the policy only counts the
flagged months). A protected borrower is never cut by the behaviour rules, and at the
first protected month of an episode gets a support target (:meth:`SMEAwarePolicy.support_target`):
the limit plus what the line lacks for the firm's projected stock build
(``firm_peak_need_cny - headroom``), capped at ``peak_raise_fraction`` of the limit (so
the raise is what the stock needs and goes where the line binds; ``(1 +
peak_raise_fraction) x limit`` when the view has no projection). The limit is raised to
at least that target while protected (reason ``PEAK_SEASON_SUPPORT``; a larger
behaviour-rules raise keeps its own reason).

**The raise is temporary.** At the first review after the protected months (the peak
month, once its sales have repaid the stock), or when the episode ends earlier, the
limit goes back to the episode's base limit, or to the behaviour-rules decision if that
is lower (reason ``PEAK_SUPPORT_ENDED``; the clip keeps it at or above the drawn
balance). Limits never compound across peaks. Everyone else gets the behaviour-rules
decision, so with no firm owners the policy is exactly ``behaviour_rules``.
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
            The default 0.03 is about the median PD of firm owners in the default
            population (owners' PD quartiles 2.6 / 2.9 / 3.5 %, book mean 3 %): the
            better half qualifies, the same cut-off as the bank SME lender's
            ``max_pd_12m``. The old 0.05 excluded 1.5 % of owners.
        protect_months: protected months at the start of a peak-ahead episode, >= 0.
        peak_raise_fraction: the raise at the start of the episode is at most this share
            of the limit (all of it without a projected need in the view), in [0, 10]
            (0: protect from cuts only).

    Defaults are assumptions. For scale: half of US small businesses hold fewer than
    15 cash buffer days and the median is 27 (JPMorgan Chase Institute 2016, 2019;
    JPMorgan Chase Institute 2016; JPMorgan Chase Institute 2019).
    """

    name: str = "sme_aware"
    base: dict[str, Any] = field(default_factory=dict)
    min_buffer_days: float = 5.0
    max_pd: float = 0.03
    protect_months: int = 4
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
        self._base_cny = np.zeros(0)

    def reset(self, n_borrowers: int) -> None:
        """Size the memory: flagged-month counters, support targets, wrapped policy."""
        self.base.reset(n_borrowers)
        self._n = n_borrowers
        self._peak_months = np.zeros(n_borrowers, dtype=np.int32)
        self._support_cny = np.zeros(n_borrowers)
        self._base_cny = np.zeros(n_borrowers)

    def grow(self, n_borrowers: int) -> None:
        """Extend the memory (and the wrapped policy's) to ``n_borrowers`` rows."""
        self.base.grow(n_borrowers)
        self._n = n_borrowers
        self._peak_months = pad_rows(self._peak_months, n_borrowers, 0)
        self._support_cny = pad_rows(self._support_cny, n_borrowers, 0.0)
        self._base_cny = pad_rows(self._base_cny, n_borrowers, 0.0)

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
        personal = (
            np.ones(view.n_borrowers, dtype=bool)
            if view.firm_uses_personal_credit is None
            else view.firm_uses_personal_credit
        )
        return (
            view.is_open
            & view.owns_firm
            & view.firm_peak_ahead
            & personal
            & buffer_ok
            & (view.dpd == 0)
            & (view.pd_12m < c.max_pd)
        )

    def support_target(self, view: PortfolioView) -> np.ndarray:
        """The limit a protected borrower is raised to at the start of an episode.

        With the firm's projected stock-build shortfall in the view
        (``firm_peak_need_cny``), the raise is what the line lacks for it: ``need -
        (limit - balance)``, at least 0 and at most ``peak_raise_fraction x limit``, so
        the raise goes where the line binds and is the size of the stock it funds.
        Without it, ``(1 + peak_raise_fraction) x limit``.

        Returns:
            ``(n_borrowers,)`` float64 CNY.
        """
        c = self.config
        limit = view.limit_cny
        if view.firm_peak_need_cny is None:
            return limit * (1.0 + c.peak_raise_fraction)
        headroom = np.maximum(limit - view.balance_cny, 0.0)
        lack = np.maximum(view.firm_peak_need_cny - headroom, 0.0)
        return limit + np.minimum(lack, c.peak_raise_fraction * limit)

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
        window = episode & (self._peak_months <= c.protect_months)
        protect = self.protected(view) & window
        start = protect & (self._support_cny == 0.0)
        self._base_cny[start] = limit[start]
        self._support_cny[start] = self.support_target(view)[start]

        # The support ends at the first review after the protected window (or when the
        # episode or the protection ends): back to the base limit, or lower if the
        # behaviour rules cut.
        ending = (self._support_cny > 0.0) & ~protect
        back = np.minimum(new, self._base_cny)
        restore = ending & (back < limit)
        own_cut = (inner.new_limit_cny < self._base_cny) & (inner.reason != ReasonCode.NONE)
        new[restore] = back[restore]
        reason[restore] = np.where(
            own_cut[restore], inner.reason[restore], ReasonCode.PEAK_SUPPORT_ENDED
        )
        self._support_cny[ending] = 0.0
        self._base_cny[ending] = 0.0

        held = protect & (new < limit)
        new[held] = limit[held]
        reason[held] = ReasonCode.NONE
        lift = protect & (self._support_cny > new)
        new[lift] = self._support_cny[lift]
        reason[lift] = ReasonCode.PEAK_SEASON_SUPPORT

        decision = finish(self, new, reason, view)
        memory.sync(self.base, limit, inner.new_limit_cny, decision.new_limit_cny)
        return decision
