"""The ``counter_cyclical`` policy: behaviour rules that lean against the macro cycle.

Pro-cyclical limit cuts in a downturn withdraw liquidity exactly when borrowers and
sole traders need it, and can push them to costlier lenders (mechanism M6). This policy
wraps ``behaviour_rules`` (run with the nested ``base`` options) and changes its
decision by the month's ``view.macro_regime``:

- **downturn** (a regime in ``downturn_regimes``): borrowers in good standing (open,
  ``dpd == 0`` and ``pd_12m < good_standing_max_pd``) are held instead of cut; the
  behaviour rules' raises still apply to them, and if ``downturn_raise_fraction > 0``
  those not otherwise raised get that raise (reason ``COUNTER_CYCLICAL``), subject to
  the behaviour rules' raise cooldown. Everyone else, delinquent borrowers included,
  gets the behaviour-rules decision.
- **boom** (a regime in ``boom_regimes``): no raises; every open line not already cut
  by the behaviour rules loses ``boom_tightening_fraction`` of its undrawn limit
  (reason ``COUNTER_CYCLICAL``); behaviour-rules cuts keep their own reason.
- any other regime: exactly the behaviour-rules decision.

The wrapped policy's memory (cooldowns, pending restorations) follows the final
decision, so a held cut does not start a cut cooldown.
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


@dataclass
class CounterCyclicalConfig(PolicyConfig):
    """Regime lists and steps of the counter-cyclical overlay.

    Attributes:
        base: options of the wrapped ``behaviour_rules`` policy (any
            :class:`BehaviourRulesConfig` field except ``name``, ``min_limit_cny`` and
            ``max_limit_cny``, which come from this config); empty for its defaults.
        downturn_regimes: ``macro_regime`` names treated as a downturn.
        boom_regimes: ``macro_regime`` names treated as a boom (disjoint from the above).
        good_standing_max_pd: a current borrower with ``pd_12m`` strictly below this is
            in good standing, fraction in [0, 1].
        downturn_raise_fraction: share of the limit added to good-standing borrowers in a
            downturn, in [0, 10] (0: hold only).
        boom_tightening_fraction: share of the undrawn limit removed each boom month, [0, 1].

    The steps are assumptions (no platform publishes a counter-cyclical rule).
    """

    name: str = "counter_cyclical"
    base: dict[str, Any] = field(default_factory=dict)
    downturn_regimes: list[str] = field(default_factory=lambda: ["downturn"])
    boom_regimes: list[str] = field(default_factory=lambda: ["boom"])
    good_standing_max_pd: float = 0.05
    downturn_raise_fraction: float = 0.0
    boom_tightening_fraction: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        behaviour_config(self.base, self, "base")  # fail now, naming the nested field
        for name in ("downturn_regimes", "boom_regimes"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"policy.{name} must be a list of regime names, got {value!r}")
        both = sorted(set(self.downturn_regimes) & set(self.boom_regimes))
        if both:
            raise ValueError(
                f"policy.downturn_regimes and policy.boom_regimes share regime(s) {both}"
            )
        check_range(self, "good_standing_max_pd", 0.0, 1.0)
        check_range(self, "downturn_raise_fraction", 0.0, 10.0)
        check_range(self, "boom_tightening_fraction", 0.0, 1.0)

    @property
    def base_config(self) -> BehaviourRulesConfig:
        """The wrapped policy's validated config (built from ``base``)."""
        return behaviour_config(self.base, self, "base")


@register_policy
class CounterCyclicalPolicy(LimitPolicy):
    """Behaviour rules that hold good borrowers in downturns and tighten in booms.

    Attributes:
        base: the wrapped :class:`BehaviourRulesPolicy`.
    """

    name = "counter_cyclical"
    config_class = CounterCyclicalConfig
    config: CounterCyclicalConfig

    def __init__(self, config: CounterCyclicalConfig) -> None:
        super().__init__(config)
        self.base = BehaviourRulesPolicy(config.base_config)
        self._n: int | None = None

    def reset(self, n_borrowers: int) -> None:
        """Size the wrapped policy's memory."""
        self.base.reset(n_borrowers)
        self._n = n_borrowers

    def grow(self, n_borrowers: int) -> None:
        """Extend the wrapped policy's memory to ``n_borrowers`` rows."""
        self.base.grow(n_borrowers)
        self._n = n_borrowers

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Run the behaviour rules, then apply the regime overlay.

        Args:
            view: the portfolio view; reads ``macro_regime``, ``dpd``, ``pd_12m``,
                ``balance_cny`` and everything ``behaviour_rules`` reads.
            rng: passed to the wrapped policy.

        Returns:
            The behaviour-rules decision, changed as the module docstring says.
        """
        if self._n is None:  # reviewed without reset: size the memory from the view
            self.reset(view.n_borrowers)
        check_size(self.name, int(self._n or 0), view.n_borrowers)
        c = self.config
        memory = BehaviourMemory.take(self.base)
        inner = self.base.review(view, rng)
        limit = view.limit_cny
        new = inner.new_limit_cny.copy()
        reason = inner.reason.copy()
        if view.macro_regime in c.downturn_regimes:
            good = view.is_open & (view.dpd == 0) & (view.pd_12m < c.good_standing_max_pd)
            held = good & (new < limit)
            new[held] = limit[held]
            reason[held] = ReasonCode.NONE
            if c.downturn_raise_fraction > 0.0:
                lift = (
                    good
                    & (new <= limit)
                    & (memory.months_since_raise >= c.base_config.raise_cooldown_months)
                )
                new[lift] = limit[lift] * (1.0 + c.downturn_raise_fraction)
                reason[lift] = ReasonCode.COUNTER_CYCLICAL
        elif view.macro_regime in c.boom_regimes:
            tighten = view.is_open & ~(new < limit)
            undrawn = np.maximum(limit - view.balance_cny, 0.0)
            new[tighten] = limit[tighten] - c.boom_tightening_fraction * undrawn[tighten]
            reason[tighten] = np.where(
                new[tighten] < limit[tighten], ReasonCode.COUNTER_CYCLICAL, ReasonCode.NONE
            )
        decision = finish(self, new, reason, view)
        memory.sync(self.base, limit, inner.new_limit_cny, decision.new_limit_cny)
        return decision
