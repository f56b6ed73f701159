"""The ``utilisation_cli`` policy: industry credit-line-increase (CLI) practice.

Card issuers grant credit-line increases mostly to low-risk accounts that use much of
their line, and trim long-inactive lines whose undrawn commitment costs capital without
earning interest. Each month:

- an open, current (``dpd == 0``) line with ``pd_12m < max_pd_for_increase``,
  ``utilisation >= min_utilisation`` and ``mob >= min_mob`` is raised by
  ``increase_fraction`` (reason ``HIGH_UTILISATION_INCREASE``) unless it was raised in
  the last ``cooldown_months``;
- an open line with no balance and no draw for ``inactive_months`` or more is cut by
  ``inactive_decrease_fraction`` (reason ``INACTIVE_LINE_DECREASE``) unless it was cut
  in the last ``decrease_cooldown_months``. The decrease takes priority over the
  increase (it only matters if ``min_utilisation`` is 0).

Cooldowns count full months between two changes, as in ``behaviour_rules``: with a
cooldown of 6, a line raised in month ``t`` can next be raised in month ``t + 7``.

References:
    Agarwal, S., Chomsisengphet, S., Mahoney, N. and Stroebel, J. (2018), "Do banks pass
    through credit expansions to consumers who want to borrow?", *Quarterly Journal of
    Economics* 133(1): 129-190 — CLIs in US card portfolios, targeting by credit score,
    and the marginal propensity to borrow out of a CLI.
    Gross, D. B. and Souleles, N. S. (2002), "Do liquidity constraints and interest rates
    matter for consumer behavior?", *QJE* 117(1): 149-185 — debt responds to limit
    increases most for accounts near their limit (Gross & Souleles 2002 QJE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.platform.policies.base import (
    LimitDecision,
    LimitPolicy,
    PolicyConfig,
    PortfolioView,
    check_range,
)
from sim.platform.policies.common import Cooldowns, check_size, finish
from sim.platform.policies.reasons import ReasonCode
from sim.platform.policies.registry import register_policy


@dataclass
class UtilisationCLIConfig(PolicyConfig):
    """Parameters of the CLI rule.

    Attributes:
        max_pd_for_increase: raise only lines with ``pd_12m`` strictly below this, in [0, 1].
        min_utilisation: raise only lines with ``utilisation`` at or above this, in [0, 10].
        min_mob: raise only lines at least this many months on book, >= 0.
        increase_fraction: share of the current limit added by an increase, in [0, 10].
        cooldown_months: full months without an increase between two increases, >= 0.
        inactive_months: months without a draw after which a zero-balance line is cut, >= 0.
        inactive_decrease_fraction: share of the limit removed from an inactive line, [0, 1].
        decrease_cooldown_months: full months without a decrease between two, >= 0.

    Defaults are assumptions (issuers do not publish their CLI rules): increases every
    6 months at most, for clean accounts that use 80 % or more of the line and whose PD
    is in the better half of a Jiebei-like book; an annual review of inactive lines.
    """

    name: str = "utilisation_cli"
    max_pd_for_increase: float = 0.03
    min_utilisation: float = 0.8
    min_mob: int = 6
    increase_fraction: float = 0.2
    cooldown_months: int = 6
    inactive_months: int = 12
    inactive_decrease_fraction: float = 0.5
    decrease_cooldown_months: int = 12

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self, "max_pd_for_increase", 0.0, 1.0)
        check_range(self, "min_utilisation", 0.0, 10.0)
        check_range(self, "increase_fraction", 0.0, 10.0)
        check_range(self, "inactive_decrease_fraction", 0.0, 1.0)
        for field in ("min_mob", "cooldown_months", "inactive_months", "decrease_cooldown_months"):
            check_range(self, field, 0, 10_000)


@register_policy
class UtilisationCLIPolicy(LimitPolicy):
    """Raise low-PD high-utilisation lines, trim inactive ones (see the module docstring).

    State kept per borrower: months since the last decrease and since the last increase.
    """

    name = "utilisation_cli"
    config_class = UtilisationCLIConfig
    config: UtilisationCLIConfig

    def __init__(self, config: UtilisationCLIConfig) -> None:
        super().__init__(config)
        self._clock: Cooldowns | None = None

    def reset(self, n_borrowers: int) -> None:
        """Forget every line's increase/decrease history."""
        self._clock = Cooldowns(n_borrowers)

    def grow(self, n_borrowers: int) -> None:
        """Extend the cooldown clocks to ``n_borrowers`` rows."""
        self._clock.grow(n_borrowers)

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Apply the CLI and inactive-line rules.

        Args:
            view: the portfolio view; reads ``limit_cny``, ``balance_cny``,
                ``utilisation``, ``pd_12m``, ``dpd``, ``mob``, ``months_since_draw``
                and ``is_open``.
            rng: unused (the rule is deterministic).

        Returns:
            Increases with ``HIGH_UTILISATION_INCREASE``, decreases with
            ``INACTIVE_LINE_DECREASE``.
        """
        clock = self._clock
        if clock is None:  # reviewed without reset: size the memory from the view
            clock = self._clock = Cooldowns(view.n_borrowers)
        check_size(self.name, clock.n_borrowers, view.n_borrowers)
        c = self.config
        limit = view.limit_cny
        decrease = (
            view.is_open
            & (view.balance_cny == 0.0)
            & (view.months_since_draw >= c.inactive_months)
            & (clock.months_since_cut >= c.decrease_cooldown_months)
        )
        increase = (
            view.is_open
            & ~decrease
            & (view.dpd == 0)
            & (view.pd_12m < c.max_pd_for_increase)
            & (view.utilisation >= c.min_utilisation)
            & (view.mob >= c.min_mob)
            & (clock.months_since_raise >= c.cooldown_months)
        )
        new = np.where(decrease, limit * (1.0 - c.inactive_decrease_fraction), limit)
        new = np.where(increase, limit * (1.0 + c.increase_fraction), new)
        reason = np.select(
            [decrease, increase],
            [ReasonCode.INACTIVE_LINE_DECREASE, ReasonCode.HIGH_UTILISATION_INCREASE],
            0,
        )
        decision = finish(self, new, reason, view)
        clock.update(limit, decision.new_limit_cny)
        return decision
