"""The ``sme_aware`` policy: an earmarked peak-season tranche for sole traders' stock.

Micro-enterprises and sole traders fund seasonal working capital (stock before Chinese
New Year or the November shopping festivals) from the owner's personal line, so a cut
landing just before the peak hurts most (mechanism M8); the seed article calls for
flexible, SME-aware risk control. This policy wraps ``behaviour_rules`` (run with the
nested ``base`` options) on the owner's general line and adds, ahead of the firm's peak,
a **peak-season tranche**: a temporary, non-revolving part of the limit earmarked for the
firm's working capital, as a platform's merchant working-capital offer would be.

Who gets a tranche, at the first review of a peak-ahead episode (``owns_firm &
firm_peak_ahead``; peaks are relative to each sector's own seasonality; the first
``protect_months`` flagged months of an episode count):

- the firm is forecast to have a gap: ``firm_peak_need_cny > 0`` (the projected stock
  build, fixed costs less cash and a normal month's sales, from the merchant's flows);
- the owner is current (``dpd == 0``) with ``pd_12m < max_pd`` on an open line (the
  credit screen: an owner at or above the cut gets nothing);
- the firm has traded at least ``min_firm_age_months`` (a new firm has no trading
  history to lend on, and young firms exit most);
- the firm's cash buffer days are at least ``min_buffer_days`` (0 by default: a low
  buffer is what the tranche is for, so it screens nothing but firms without a measure);
- the owner funds the firm on the personal line (``firm_uses_personal_credit``), or
  ``offer_non_users``: the tranche is a business facility, so owners who keep the
  personal line for the household may take it too (the funding waterfall lets a
  non-user's firm draw only the earmarked amount).

The tranche is ``tranche_need_share x firm_peak_need_cny``, at most
``max_tranche_income_months x income_cny`` (without a projection in the view: the cap).
It is added to the general line's limit and, with ``earmark`` (default), earmarked
(:attr:`LimitDecision.earmarked_cny`): the household cannot draw it and the firm's gap
draws it first (:func:`sim.lending.funding.fund_firms`). ``earmark=false`` makes it a
plain raise, the design that failed (the household drew it for consumption).

While the tranche is live the general line is never cut by the behaviour rules. **The
tranche is temporary**: at the first review after the protected months (the peak month,
once its sales repay the stock), or when the episode or the screen ends, its undrawn part
lapses and the limit goes back to the general line; a drawn part not yet repaid stays as
limit only as far as the balance needs it and shrinks as it is repaid (reason
``PEAK_SUPPORT_ENDED``), so limits never compound across peaks. The general line follows
the behaviour rules throughout (they review it without the tranche), so with no firm
owners the policy is exactly ``behaviour_rules``.
"""

from __future__ import annotations

import dataclasses
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
from sim.platform.policies.reasons import RAISE_REASONS, ReasonCode
from sim.platform.policies.registry import register_policy
from sim.rows import pad_rows
from sim.units import round_cny


@dataclass
class SMEAwareConfig(PolicyConfig):
    """Who gets a peak-season tranche, for how long, how large, and how it may be used.

    Attributes:
        base: options of the wrapped ``behaviour_rules`` policy (any
            :class:`BehaviourRulesConfig` field except ``name``, ``min_limit_cny`` and
            ``max_limit_cny``, which come from this config); empty for its defaults.
        min_buffer_days: the owned firm's cash buffer days must be at least this, >= 0
            (0: only firms without a measure are screened out).
        max_pd: the owner's ``pd_12m`` must be strictly below this, fraction in [0, 1].
            The default 0.03 is about the median PD of firm owners in the default
            population (owners' PD quartiles 2.6 / 2.9 / 3.5 %): the better half
            qualifies, the same cut-off as the bank SME lender's ``max_pd_12m``.
        min_firm_age_months: the owned firm's age (``firm_age_months``; not checked when
            the view has none) must be at least this, in [0, 1200].
        protect_months: months of a peak-ahead episode the tranche lives, >= 0.
        tranche_need_share: the tranche as a share of the forecast gap, in [0, 10].
        max_tranche_income_months: the tranche's cap in months of the owner's income,
            in [0, 1000].
        earmark: the tranche is earmarked for the firm (the household cannot draw it).
        offer_non_users: owners who do not fund the firm on the personal line are offered
            the tranche too.

    Defaults are assumptions (conf/PROVENANCE.md).
    """

    name: str = "sme_aware"
    base: dict[str, Any] = field(default_factory=dict)
    min_buffer_days: float = 0.0
    max_pd: float = 0.03
    min_firm_age_months: int = 12
    protect_months: int = 4
    tranche_need_share: float = 1.0
    max_tranche_income_months: float = 6.0
    earmark: bool = True
    offer_non_users: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        behaviour_config(self.base, self, "base")  # fail now, naming the nested field
        check_range(self, "min_buffer_days", 0.0, 10_000.0)
        check_range(self, "max_pd", 0.0, 1.0)
        check_range(self, "min_firm_age_months", 0, 1_200)
        check_range(self, "protect_months", 0, 10_000)
        check_range(self, "tranche_need_share", 0.0, 10.0)
        check_range(self, "max_tranche_income_months", 0.0, 1_000.0)
        for name in ("earmark", "offer_non_users"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"policy.{name} = {getattr(self, name)!r} must be true or false")

    @property
    def base_config(self) -> BehaviourRulesConfig:
        """The wrapped policy's validated config (built from ``base``)."""
        return behaviour_config(self.base, self, "base")


@register_policy
class SMEAwarePolicy(LimitPolicy):
    """Behaviour rules on the general line plus an earmarked peak-season tranche.

    Attributes:
        base: the wrapped :class:`BehaviourRulesPolicy` (it reviews the general line).
    """

    name = "sme_aware"
    config_class = SMEAwareConfig
    config: SMEAwareConfig

    def __init__(self, config: SMEAwareConfig) -> None:
        super().__init__(config)
        self.base = BehaviourRulesPolicy(config.base_config)
        self._n: int | None = None
        self._peak_months = np.zeros(0, dtype=np.int32)
        self._tranche_cny = np.zeros(0)
        self._live = np.zeros(0, dtype=bool)
        self._ever = np.zeros(0, dtype=bool)
        self.tranches_granted = 0

    def reset(self, n_borrowers: int) -> None:
        """Size the memory: flagged-month counters, tranches, the wrapped policy."""
        self.base.reset(n_borrowers)
        self._n = n_borrowers
        self._peak_months = np.zeros(n_borrowers, dtype=np.int32)
        self._tranche_cny = np.zeros(n_borrowers)
        self._live = np.zeros(n_borrowers, dtype=bool)
        self._ever = np.zeros(n_borrowers, dtype=bool)

    def grow(self, n_borrowers: int) -> None:
        """Extend the memory (and the wrapped policy's) to ``n_borrowers`` rows."""
        self.base.grow(n_borrowers)
        self._n = n_borrowers
        self._peak_months = pad_rows(self._peak_months, n_borrowers, 0)
        self._tranche_cny = pad_rows(self._tranche_cny, n_borrowers, 0.0)
        self._live = pad_rows(self._live, n_borrowers, False)
        self._ever = pad_rows(self._ever, n_borrowers, False)

    @property
    def tranche_ever(self) -> np.ndarray:
        """``(n_borrowers,)`` bool: the borrower was granted a tranche at least once."""
        return self._ever

    @property
    def tranche_cny(self) -> np.ndarray:
        """``(n_borrowers,)`` the part of each limit that is the tranche (drawn or not), CNY."""
        return self._tranche_cny

    def eligible(self, view: PortfolioView) -> np.ndarray:
        """Owners the screen lets hold a tranche this month, before counting months.

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
        age_ok = (
            True if view.firm_age_months is None else view.firm_age_months >= c.min_firm_age_months
        )
        return (
            view.is_open
            & age_ok
            & view.owns_firm
            & view.firm_peak_ahead
            & (personal | c.offer_non_users)
            & buffer_ok
            & (view.dpd == 0)
            & (view.pd_12m < c.max_pd)
        )

    def tranche_size(self, view: PortfolioView) -> np.ndarray:
        """The tranche an eligible owner is offered: the forecast gap, capped.

        ``tranche_need_share x firm_peak_need_cny``, at most ``max_tranche_income_months
        x income_cny`` (the cap alone when the view has no projection); 0 where no gap is
        forecast.

        Returns:
            ``(n_borrowers,)`` float64 CNY, whole cents.
        """
        c = self.config
        cap = c.max_tranche_income_months * view.income_cny
        if view.firm_peak_need_cny is None:
            return round_cny(cap)
        return round_cny(np.minimum(c.tranche_need_share * view.firm_peak_need_cny, cap))

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Review the general line with the behaviour rules; open, hold or end tranches.

        Args:
            view: the portfolio view; reads the firm fields (``owns_firm``,
                ``firm_peak_ahead``, ``firm_cash_buffer_days``, ``firm_peak_need_cny``,
                ``firm_uses_personal_credit``), ``earmarked_cny``, ``dpd``, ``pd_12m``,
                ``income_cny`` and everything ``behaviour_rules`` reads.
            rng: passed to the wrapped policy.

        Returns:
            The decision: general line plus tranche, and the earmarks.
        """
        if self._n is None:  # reviewed without reset: size the memory from the view
            self.reset(view.n_borrowers)
        check_size(self.name, int(self._n or 0), view.n_borrowers)
        c = self.config
        limit, balance = view.limit_cny, view.balance_cny
        earmarked = np.zeros_like(limit) if view.earmarked_cny is None else view.earmarked_cny
        tranche = np.where(view.is_open, np.minimum(self._tranche_cny, limit), 0.0)
        # The general line: the limit without the tranche; its balance without what the
        # firm drew on the tranche (repayments are counted against the general part first).
        general = limit - tranche
        drawn = np.maximum(tranche - earmarked, 0.0)
        inner_view = _general_view(view, general, np.maximum(balance - drawn, 0.0), tranche)
        memory = BehaviourMemory.take(self.base)
        inner = self.base.review(inner_view, rng)
        general_new = inner.new_limit_cny.copy()
        reason = inner.reason.copy()

        episode = view.owns_firm & view.firm_peak_ahead
        self._peak_months = np.where(episode, self._peak_months + 1, 0).astype(np.int32)
        keep = self.eligible(view) & (self._peak_months <= c.protect_months)
        size = self.tranche_size(view)
        start = keep & ~self._live & (tranche == 0.0) & (size > 0.0)
        live = (self._live & keep) | start

        # A live tranche's general line is never cut.
        held = live & (general_new < general)
        general_new[held] = general[held]
        reason[held] = ReasonCode.NONE
        # Tranche: opened at its size; kept while live; once ended, only the drawn part
        # the balance still needs stays, shrinking as it is repaid.
        needed = np.maximum(np.ceil(balance * 100.0 - 1e-6) / 100.0 - general_new, 0.0)
        new_tranche = np.where(live, tranche, np.minimum(tranche, needed))
        new_tranche[start] = size[start]
        new_tranche = np.where(view.is_open, round_cny(new_tranche), 0.0)
        new_earmark = np.where(live, earmarked, 0.0)
        new_earmark[start] = new_tranche[start]

        new = general_new + new_tranche
        up = new_tranche > tranche
        reason[up & (new > limit)] = ReasonCode.PEAK_SEASON_SUPPORT
        # A lapsing tranche labels the change unless the general line's own cut does; a
        # general raise smaller than the lapse is no raise.
        raise_code = np.isin(reason, [int(r) for r in RAISE_REASONS])
        down = (new_tranche < tranche) & (
            (reason == ReasonCode.NONE) | (raise_code & (new < limit))
        )
        reason[down] = ReasonCode.PEAK_SUPPORT_ENDED
        self._live = live & view.is_open
        self._tranche_cny = new_tranche
        self.tranches_granted += int(start.sum())
        self._ever |= start

        decision = finish(self, new, reason, view)
        final_general = np.maximum(decision.new_limit_cny - new_tranche, 0.0)
        memory.sync(self.base, general, inner.new_limit_cny, final_general)
        earmark = new_earmark if c.earmark else np.zeros_like(new_earmark)
        earmark = np.minimum(earmark, np.maximum(decision.new_limit_cny - balance, 0.0))
        return LimitDecision(decision.new_limit_cny, decision.reason, round_cny(earmark))


def _general_view(
    view: PortfolioView, limit: np.ndarray, balance: np.ndarray, tranche: np.ndarray
) -> PortfolioView:
    """``view`` with the general line's limit, balance and utilisation.

    Rows without a tranche keep the view's own values exactly.
    """
    util = np.divide(balance, limit, out=np.zeros_like(limit), where=limit > 0)
    util = np.where(tranche > 0, util, view.utilisation)
    return dataclasses.replace(view, limit_cny=limit, balance_cny=balance, utilisation=util)
