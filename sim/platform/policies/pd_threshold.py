"""The ``pd_threshold`` policy: limit tiers from the platform scorecard's 12-month PD.

A pure score-driven rule (mechanism M11: the platform re-scores every month and acts on
the score alone). Each month:

- an open line with ``pd_12m > cut_above_pd`` is cut by ``cut_fraction`` of its limit
  (reason ``PD_ABOVE_THRESHOLD``) unless it was cut in the last ``cut_cooldown_months``;
- an open, current (``dpd == 0``) line with ``pd_12m < raise_below_pd`` and at least
  ``min_on_time_months_for_raise`` consecutive on-time months is raised by
  ``raise_fraction`` (reason ``PD_BELOW_THRESHOLD``) unless it was raised in the last
  ``raise_cooldown_months``;
- everyone else keeps the limit.

Because ``raise_below_pd <= cut_above_pd`` and the inequalities are strict, no row
qualifies for both. ``cut_above_pd = 1`` disables cuts, ``raise_below_pd = 0`` raises.
Cooldowns count full months between two changes, as in ``behaviour_rules``: with a
cooldown of 3, a line cut in month ``t`` can next be cut in month ``t + 4``.
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
class PDThresholdConfig(PolicyConfig):
    """Thresholds and steps of the PD-tier policy.

    Attributes:
        cut_above_pd: cut lines whose ``pd_12m`` is strictly above this, fraction in [0, 1].
        raise_below_pd: raise lines whose ``pd_12m`` is strictly below this, fraction in
            [0, cut_above_pd].
        cut_fraction: share of the current limit removed by a cut, in [0, 1].
        raise_fraction: share of the current limit added by a raise, in [0, 10].
        raise_cooldown_months: full months without a raise required between two raises
            of a line, >= 0.
        cut_cooldown_months: full months without a cut required between two cuts of a
            line, >= 0 (0 cuts every month the PD stays high).
        min_on_time_months_for_raise: consecutive on-time months needed for a raise, >= 0.

    The defaults are assumptions (no platform publishes its tiers): the raise tier sits
    near twice the ~1 % 90+ DPD ratio of Ant's consumer-credit book (Ant Group IPO prospectus 2020),
    the cut tier at ten times it; the steps and cooldowns match ``behaviour_rules``.
    """

    name: str = "pd_threshold"
    cut_above_pd: float = 0.10
    raise_below_pd: float = 0.02
    cut_fraction: float = 0.2
    raise_fraction: float = 0.1
    raise_cooldown_months: int = 6
    cut_cooldown_months: int = 3
    min_on_time_months_for_raise: int = 6

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self, "cut_above_pd", 0.0, 1.0)
        check_range(self, "raise_below_pd", 0.0, 1.0)
        if self.raise_below_pd > self.cut_above_pd:
            raise ValueError(
                f"policy.raise_below_pd ({self.raise_below_pd}) must be <= "
                f"policy.cut_above_pd ({self.cut_above_pd})"
            )
        check_range(self, "cut_fraction", 0.0, 1.0)
        check_range(self, "raise_fraction", 0.0, 10.0)
        for field in (
            "raise_cooldown_months",
            "cut_cooldown_months",
            "min_on_time_months_for_raise",
        ):
            check_range(self, field, 0, 10_000)


@register_policy
class PDThresholdPolicy(LimitPolicy):
    """Cut high-PD lines, raise low-PD clean lines (see the module docstring).

    State kept per borrower: months since the last cut and since the last raise.
    """

    name = "pd_threshold"
    config_class = PDThresholdConfig
    config: PDThresholdConfig

    def __init__(self, config: PDThresholdConfig) -> None:
        super().__init__(config)
        self._clock: Cooldowns | None = None

    def reset(self, n_borrowers: int) -> None:
        """Forget every line's cut/raise history."""
        self._clock = Cooldowns(n_borrowers)

    def grow(self, n_borrowers: int) -> None:
        """Extend the cooldown clocks to ``n_borrowers`` rows."""
        self._clock.grow(n_borrowers)

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Apply the PD tiers.

        Args:
            view: the portfolio view; reads ``limit_cny``, ``pd_12m``, ``dpd``,
                ``on_time_months`` and ``is_open``.
            rng: unused (the rule is deterministic).

        Returns:
            Cuts with ``PD_ABOVE_THRESHOLD``, raises with ``PD_BELOW_THRESHOLD``.
        """
        clock = self._clock
        if clock is None:  # reviewed without reset: size the memory from the view
            clock = self._clock = Cooldowns(view.n_borrowers)
        check_size(self.name, clock.n_borrowers, view.n_borrowers)
        c = self.config
        limit = view.limit_cny
        cut = (
            view.is_open
            & (view.pd_12m > c.cut_above_pd)
            & (clock.months_since_cut >= c.cut_cooldown_months)
        )
        raise_ = (
            view.is_open
            & ~cut
            & (view.pd_12m < c.raise_below_pd)
            & (view.dpd == 0)
            & (view.on_time_months >= c.min_on_time_months_for_raise)
            & (clock.months_since_raise >= c.raise_cooldown_months)
        )
        new = np.where(cut, limit * (1.0 - c.cut_fraction), limit)
        new = np.where(raise_, limit * (1.0 + c.raise_fraction), new)
        reason = np.select(
            [cut, raise_], [ReasonCode.PD_ABOVE_THRESHOLD, ReasonCode.PD_BELOW_THRESHOLD], 0
        )
        decision = finish(self, new, reason, view)
        clock.update(limit, decision.new_limit_cny)
        return decision
