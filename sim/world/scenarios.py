"""The exogenous world: calendar, seasonal spending and macro episodes.

A scenario is deterministic given its config: the month's regime label and multipliers
depend only on the month, never on the policy, so every policy sees the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config import ScenarioConfig


@dataclass(frozen=True)
class MacroState:
    """The world in one month.

    Attributes:
        step: simulated month, 1-based.
        calendar_month: 1..12.
        regime: "baseline", "downturn", "recovery" or "boom".
        job_loss_multiplier: multiplies the monthly job-loss hazard.
        job_find_multiplier: multiplies the monthly job-finding hazard.
        income_multiplier: multiplies employed income.
        seasonal_spending: multiplier on household spending.
    """

    step: int
    calendar_month: int
    regime: str
    job_loss_multiplier: float
    job_find_multiplier: float
    income_multiplier: float
    seasonal_spending: float


def calendar_month(config: ScenarioConfig, step: int) -> int:
    """Calendar month (1..12) of window month ``step`` (burn-in months are ``<= 0``)."""
    return (config.start_calendar_month - 1 + step - 1) % 12 + 1


def macro_state(config: ScenarioConfig, step: int) -> MacroState:
    """The macro state of window month ``step`` (burn-in months ``<= 0`` are baseline).

    Overlapping episodes multiply. After an episode with ``ramp_months > 0`` the
    multipliers move linearly back to 1 over that many months, labelled "recovery".

    Args:
        config: the scenario.
        step: window month (burn-in months <= 0).

    Returns:
        The month's :class:`MacroState`.
    """
    loss = find = income = 1.0
    regime = "baseline"
    for shock in config.shocks:
        end = shock.start_month + shock.months  # first month after the episode
        if shock.start_month <= step < end:
            weight = 1.0
            regime = shock.regime
        elif shock.ramp_months > 0 and end <= step < end + shock.ramp_months:
            weight = 1.0 - (step - end + 1) / (shock.ramp_months + 1)
            if regime == "baseline":
                regime = "recovery"
        else:
            continue
        loss *= 1.0 + weight * (shock.job_loss_multiplier - 1.0)
        find *= 1.0 + weight * (shock.job_find_multiplier - 1.0)
        income *= 1.0 + weight * (shock.income_multiplier - 1.0)
    month = calendar_month(config, step)
    return MacroState(
        step=step,
        calendar_month=month,
        regime=regime,
        job_loss_multiplier=loss,
        job_find_multiplier=find,
        income_multiplier=income,
        seasonal_spending=float(config.seasonal_spending[month - 1]),
    )
