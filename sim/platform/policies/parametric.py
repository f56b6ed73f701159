"""The ``parametric`` policy: every threshold and step a number, for optimisers.

One rule book whose every threshold and step is a plain number, so that a black-box
optimiser (e.g. Optuna) can search policies by sampling a config. Each month an open
line gets the first rule that applies, in this order (cuts before raises); the value
after "off:" disables the rule:

1. ``DELINQUENCY``: ``dpd >= delinquency_dpd``, no cooldown (off: 1e9).
2. ``EARLY_REPAYMENT``: ``early_repayments_3m >= early_repayment_threshold`` (off: 1e9).
3. ``FREQUENT_DRAWS``: ``draws_3m >= frequent_draws_threshold`` (off: 1e9).
4. ``THIN_HISTORY``: ``history_months < thin_history_months`` and the limit above the
   target ``initial_limit_cny * (1 - thin_history_cut) * (1 - low_diversity_cut if
   low diversity)``: the limit is set to the target, no cooldown (off: 0).
5. ``LOW_SPENDING_DIVERSITY``: ``spending_diversity < low_diversity_threshold`` and the
   limit above the same target: set to the target, no cooldown (off: 0).
6. ``PD_ABOVE_THRESHOLD``: ``pd_12m > pd_cut_above`` (off: 1).
7. ``INACTIVE_LINE_DECREASE``: ``balance_cny == 0`` and
   ``months_since_draw >= inactive_months`` (off: 1e9).
8. ``STABLE_USE_INCREASE``: ``on_time_months >= stable_on_time_months``,
   ``stable_min_utilisation <= utilisation <= stable_max_utilisation`` and no early
   repayment in 3 months (off: 1e9).
9. ``PD_BELOW_THRESHOLD``: ``pd_12m < pd_raise_below``, ``dpd == 0`` and
   ``on_time_months >= pd_raise_min_on_time_months`` (off: 0).
10. ``HIGH_UTILISATION_INCREASE``: ``pd_12m < cli_max_pd``,
    ``utilisation >= cli_min_utilisation``, ``dpd == 0`` and ``mob >= cli_min_mob``
    (off: 1e9).

Rules 2, 3, 6 and 7 wait ``cut_cooldown_months`` after a line's last cut, rules 8-10
``raise_cooldown_months`` after its last raise. Rules 4 and 5 lower a target (as in
``behaviour_rules``, mechanisms M3/M4); every other cut removes its ``*_cut`` /
``*_fraction`` share of the current limit and every raise adds its share. Finally, if
``exposure_budget_share`` is below 1e9, the total EAD of the proposed limits is held at
``exposure_budget_share`` times the first review's total EAD by the ``exposure_cap``
algorithm (highest PD first; ``exposure_ccf``, ``exposure_max_cut_fraction``); a line
the cap leaves below its current limit gets ``PORTFOLIO_EXPOSURE_CAP`` (the cap has the
last word).

Equivalences (:func:`sim.platform.policies.equivalence.equivalent_config` builds them from the
other policies' configs):

- ``static``: every rule disabled (:data:`DISABLED`) gives exactly the static decision.
- ``pd_threshold``: :data:`DISABLED` plus ``pd_cut_above``, ``pd_cut_fraction``,
  ``pd_raise_below``, ``pd_raise_fraction``, ``pd_raise_min_on_time_months`` and both
  cooldowns from the ``pd_threshold`` config gives exactly its decisions, month after
  month.
- ``behaviour_rules``: the defaults of this config are ``behaviour_rules``' defaults with
  the PD, inactive-line, CLI and exposure rules disabled. They give exactly its decisions
  as long as no high-risk transaction is flagged: the temporary high-risk cut and its
  restoration (mechanism M4) are stateful and not part of this rule book.
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
from sim.platform.policies.exposure_cap import exposure_by_line, exposure_cut
from sim.platform.policies.reasons import ReasonCode
from sim.platform.policies.registry import register_policy

#: A threshold at or above this disables an "at least" rule (and the exposure budget).
OFF = 1e9

#: Settings that switch every rule off (the ``static`` policy).
DISABLED: dict[str, float] = {
    "delinquency_dpd": OFF,
    "early_repayment_threshold": OFF,
    "frequent_draws_threshold": OFF,
    "thin_history_months": 0.0,
    "low_diversity_threshold": 0.0,
    "pd_cut_above": 1.0,
    "inactive_months": OFF,
    "stable_on_time_months": OFF,
    "pd_raise_below": 0.0,
    "cli_min_utilisation": OFF,
    "exposure_budget_share": OFF,
}


@dataclass
class ParametricConfig(PolicyConfig):
    """All thresholds and steps of the parametric rule book (see the module docstring).

    Thresholds are floats so that a huge value (:data:`OFF`, 1e9) disables an "at least"
    rule; "below" rules are disabled by 0. Cut shares are in [0, 1], raise shares in
    [0, 10], thresholds in [0, 1e12], cooldowns in whole months [0, 10000].

    Attributes:
        delinquency_dpd: days past due that trigger the delinquency cut.
        delinquency_cut: share of the limit removed for delinquency.
        early_repayment_threshold: early repayments in 3 months that trigger a cut (M2).
        early_repayment_cut: share removed for early repayment.
        frequent_draws_threshold: draws in 3 months that trigger a cut (M1).
        frequent_draws_cut: share removed for frequent draws.
        thin_history_months: credit history shorter than this lowers the target (M3).
        thin_history_cut: share of the initial limit taken off the target for thin history.
        low_diversity_threshold: spending diversity below this lowers the target (M4).
        low_diversity_cut: share of the initial limit taken off for low diversity.
        pd_cut_above: ``pd_12m`` strictly above this is cut.
        pd_cut_fraction: share removed for high PD.
        inactive_months: months without a draw (and zero balance) before a decrease.
        inactive_decrease_fraction: share removed from an inactive line.
        stable_on_time_months: on-time months for the stable-use raise.
        stable_min_utilisation: lowest utilisation for the stable-use raise.
        stable_max_utilisation: highest utilisation for the stable-use raise.
        stable_raise_fraction: share added by the stable-use raise.
        pd_raise_below: ``pd_12m`` strictly below this (and current) is raised.
        pd_raise_fraction: share added by the low-PD raise.
        pd_raise_min_on_time_months: on-time months for the low-PD raise.
        cli_max_pd: ``pd_12m`` strictly below this for the utilisation CLI.
        cli_min_utilisation: lowest utilisation for the utilisation CLI.
        cli_min_mob: months on book for the utilisation CLI.
        cli_increase_fraction: share added by the utilisation CLI.
        raise_cooldown_months: full months without a raise between two raises of a line
            (as in ``behaviour_rules``: raised in month t, next raise in t + cooldown + 1).
        cut_cooldown_months: full months without a cut between two cuts of a line (rules
            2, 3, 6 and 7 only).
        exposure_budget_share: EAD budget as a share of the first review's total EAD.
        exposure_ccf: credit conversion factor of undrawn limits (CRR Art. 111: 0.2).
        exposure_max_cut_fraction: largest share of a line's limit the cap removes.

    The defaults reproduce ``behaviour_rules`` (see the module docstring); they are
    assumptions, as documented there.
    """

    name: str = "parametric"
    delinquency_dpd: float = 30.0
    delinquency_cut: float = 0.5
    early_repayment_threshold: float = 2.0
    early_repayment_cut: float = 0.2
    frequent_draws_threshold: float = 6.0
    frequent_draws_cut: float = 0.2
    thin_history_months: float = 12.0
    thin_history_cut: float = 0.1
    low_diversity_threshold: float = 0.3
    low_diversity_cut: float = 0.1
    pd_cut_above: float = 1.0
    pd_cut_fraction: float = 0.2
    inactive_months: float = OFF
    inactive_decrease_fraction: float = 0.5
    stable_on_time_months: float = 6.0
    stable_min_utilisation: float = 0.1
    stable_max_utilisation: float = 0.9
    stable_raise_fraction: float = 0.1
    pd_raise_below: float = 0.0
    pd_raise_fraction: float = 0.1
    pd_raise_min_on_time_months: float = 6.0
    cli_max_pd: float = 0.03
    cli_min_utilisation: float = OFF
    cli_min_mob: float = 6.0
    cli_increase_fraction: float = 0.2
    raise_cooldown_months: int = 6
    cut_cooldown_months: int = 3
    exposure_budget_share: float = OFF
    exposure_ccf: float = 0.2
    exposure_max_cut_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in _CUT_SHARES + ("exposure_ccf",):
            check_range(self, name, 0.0, 1.0)
        for name in _RAISE_SHARES:
            check_range(self, name, 0.0, 10.0)
        for name in ("raise_cooldown_months", "cut_cooldown_months"):
            check_range(self, name, 0, 10_000)
        for name in _THRESHOLDS:
            check_range(self, name, 0.0, 1e12)
        check_range(self, "exposure_budget_share", 0.0, 1e12, low_open=True)


_CUT_SHARES = (
    "delinquency_cut",
    "early_repayment_cut",
    "frequent_draws_cut",
    "thin_history_cut",
    "low_diversity_cut",
    "pd_cut_fraction",
    "inactive_decrease_fraction",
    "exposure_max_cut_fraction",
)
_RAISE_SHARES = ("stable_raise_fraction", "pd_raise_fraction", "cli_increase_fraction")
_THRESHOLDS = (
    "delinquency_dpd",
    "early_repayment_threshold",
    "frequent_draws_threshold",
    "thin_history_months",
    "low_diversity_threshold",
    "pd_cut_above",
    "inactive_months",
    "stable_on_time_months",
    "stable_min_utilisation",
    "stable_max_utilisation",
    "pd_raise_below",
    "pd_raise_min_on_time_months",
    "cli_max_pd",
    "cli_min_utilisation",
    "cli_min_mob",
)


@register_policy
class ParametricPolicy(LimitPolicy):
    """The parametric rule book (see the module docstring).

    State kept: months since each line's last cut and last raise, and the EAD budget
    fixed at the first review.

    Attributes:
        budget: the EAD budget in CNY, None before the first review or when disabled.
    """

    name = "parametric"
    config_class = ParametricConfig
    config: ParametricConfig

    def __init__(self, config: ParametricConfig) -> None:
        super().__init__(config)
        self._clock: Cooldowns | None = None
        self.budget: float | None = None

    def reset(self, n_borrowers: int) -> None:
        """Forget the cooldown clocks and the budget."""
        self._clock = Cooldowns(n_borrowers)
        self.budget = None

    def grow(self, n_borrowers: int) -> None:
        """Extend the cooldown clocks to ``n_borrowers`` rows."""
        self._clock.grow(n_borrowers)

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Apply the first matching rule per line, then the exposure budget.

        Args:
            view: the portfolio view.
            rng: unused (the rules are deterministic).

        Returns:
            One reason per changed line, as in the module docstring's table.
        """
        clock = self._clock
        if clock is None:  # reviewed without reset: size the memory from the view
            clock = self._clock = Cooldowns(view.n_borrowers)
        check_size(self.name, clock.n_borrowers, view.n_borrowers)
        c = self.config
        limit = view.limit_cny
        can_cut = clock.months_since_cut >= c.cut_cooldown_months
        can_raise = clock.months_since_raise >= c.raise_cooldown_months
        current = view.dpd == 0
        thin = view.history_months < c.thin_history_months
        low_div = view.spending_diversity < c.low_diversity_threshold
        target = (
            view.initial_limit_cny
            * np.where(thin, 1.0 - c.thin_history_cut, 1.0)
            * np.where(low_div, 1.0 - c.low_diversity_cut, 1.0)
        )
        above_target = limit > target + 0.005

        def step(share: float) -> np.ndarray:
            return limit * (1.0 + share)

        # (condition, proposed limit, reason); the first true condition wins.
        rules: list[tuple[np.ndarray, np.ndarray, ReasonCode]] = [
            (view.dpd >= c.delinquency_dpd, step(-c.delinquency_cut), ReasonCode.DELINQUENCY),
            (
                can_cut & (view.early_repayments_3m >= c.early_repayment_threshold),
                step(-c.early_repayment_cut),
                ReasonCode.EARLY_REPAYMENT,
            ),
            (
                can_cut & (view.draws_3m >= c.frequent_draws_threshold),
                step(-c.frequent_draws_cut),
                ReasonCode.FREQUENT_DRAWS,
            ),
            (above_target & thin, target, ReasonCode.THIN_HISTORY),
            (above_target & low_div, target, ReasonCode.LOW_SPENDING_DIVERSITY),
            (
                can_cut & (view.pd_12m > c.pd_cut_above),
                step(-c.pd_cut_fraction),
                ReasonCode.PD_ABOVE_THRESHOLD,
            ),
            (
                can_cut & (view.balance_cny == 0.0) & (view.months_since_draw >= c.inactive_months),
                step(-c.inactive_decrease_fraction),
                ReasonCode.INACTIVE_LINE_DECREASE,
            ),
            (
                can_raise
                & (view.on_time_months >= c.stable_on_time_months)
                & (view.utilisation >= c.stable_min_utilisation)
                & (view.utilisation <= c.stable_max_utilisation)
                & (view.early_repayments_3m == 0),
                step(c.stable_raise_fraction),
                ReasonCode.STABLE_USE_INCREASE,
            ),
            (
                can_raise
                & current
                & (view.pd_12m < c.pd_raise_below)
                & (view.on_time_months >= c.pd_raise_min_on_time_months),
                step(c.pd_raise_fraction),
                ReasonCode.PD_BELOW_THRESHOLD,
            ),
            (
                can_raise
                & current
                & (view.pd_12m < c.cli_max_pd)
                & (view.utilisation >= c.cli_min_utilisation)
                & (view.mob >= c.cli_min_mob),
                step(c.cli_increase_fraction),
                ReasonCode.HIGH_UTILISATION_INCREASE,
            ),
        ]
        conditions = [view.is_open & mask for mask, _, _ in rules]
        proposed = np.select(conditions, [value for _, value, _ in rules], limit)
        reason = np.select(conditions, [int(code) for _, _, code in rules], 0)
        new = self.clip(proposed, view)

        if c.exposure_budget_share < OFF:
            if self.budget is None:
                self.budget = c.exposure_budget_share * float(
                    exposure_by_line(
                        limit, view.balance_cny, view.pd_12m, view.is_open, ccf=c.exposure_ccf
                    ).sum()
                )
            capped = exposure_cut(
                new,
                view.balance_cny,
                view.pd_12m,
                view.is_open,
                self.budget,
                ccf=c.exposure_ccf,
                max_cut_fraction=c.exposure_max_cut_fraction,
                min_limit_cny=c.min_limit_cny,
            )
            reason = np.where(
                (capped < new) & (capped < limit), ReasonCode.PORTFOLIO_EXPOSURE_CAP, reason
            )
            new = capped

        decision = finish(self, new, reason, view)
        clock.update(limit, decision.new_limit_cny)
        return decision
