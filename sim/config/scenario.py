"""Schema of the ``scenario`` group (``conf/scenario/*.yaml``): calendar, seasons and shocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config._checks import _rng_check
from sim.platform.policies.base import check_range

#: Regime names a scenario may use; policies read them from the portfolio view.
REGIMES = ("baseline", "downturn", "recovery", "boom")


@dataclass
class ShockConfig:
    """One macro episode: multipliers applied for ``months`` months from ``start_month``.

    Attributes:
        regime: label shown to policies (one of :data:`REGIMES`).
        start_month: first simulated month (1-based) of the episode.
        months: duration in months, >= 1.
        job_loss_multiplier: multiplies the monthly job-loss hazard.
        job_find_multiplier: multiplies the monthly job-finding hazard.
        income_multiplier: multiplies employed borrowers' income.
        ramp_months: months over which multipliers ramp linearly back to 1 after the
            episode (a recovery regime), >= 0.
    """

    regime: str = "downturn"
    start_month: int = 1
    months: int = 12
    job_loss_multiplier: float = 1.0
    job_find_multiplier: float = 1.0
    income_multiplier: float = 1.0
    ramp_months: int = 0

    def __post_init__(self) -> None:
        p = "scenario.shocks[]"
        if self.regime not in REGIMES:
            raise ValueError(f"{p}.regime = {self.regime!r}; allowed: {list(REGIMES)}")
        _rng_check(
            self,
            p,
            {
                "start_month": (1, 100_000),
                "months": (1, 100_000),
                "job_loss_multiplier": (0.0, 1000.0),
                "job_find_multiplier": (0.0, 1000.0),
                "income_multiplier": (0.0, 100.0),
                "ramp_months": (0, 100_000),
            },
        )


@dataclass
class ScenarioConfig:
    """The exogenous world: calendar, seasonality and macro episodes.

    Attributes:
        name: scenario name (file name in ``conf/scenario/``).
        start_calendar_month: calendar month (1..12) of simulated month 1.
        seasonal_spending: 12 multipliers on household spending, January first
            (Chinese New Year, the mid-year 618 and November 11.11 festivals).
        shocks: macro episodes, applied multiplicatively where they overlap.
        funding_cost_add_apr: added to the platform's funding cost (funding squeeze).
        apr_cap: regulatory APR cap on the platform (1.0 = none).
        risk_appetite: multiplier on the platform's exposure budgets (1.0 = normal; below
            1 tightens, e.g. when partner banks fund less), in (0, 10].
        other_lenders_apr_cap: regulatory APR cap on the other lenders (1.0 = none).
        firm_peak_multiplier: scales the seasonal peaks of firms' revenue and stock
            needs (1.0 = the sector calendars; above 1 a stronger peak season).
    """

    name: str = "baseline"
    start_calendar_month: int = 1
    seasonal_spending: list[float] = field(
        default_factory=lambda: [1.15, 1.20, 0.95, 0.95, 1.0, 1.08, 0.95, 0.95, 1.0, 1.0, 1.12, 1.0]
    )
    shocks: list[ShockConfig] = field(default_factory=list)
    funding_cost_add_apr: float = 0.0
    apr_cap: float = 1.0
    risk_appetite: float = 1.0
    other_lenders_apr_cap: float = 1.0
    firm_peak_multiplier: float = 1.0

    def __post_init__(self) -> None:
        p = "scenario"
        _rng_check(
            self,
            p,
            {
                "start_calendar_month": (1, 12),
                "funding_cost_add_apr": (-1.0, 1.0),
                "apr_cap": (0.0, 10.0),
                "other_lenders_apr_cap": (0.0, 10.0),
                "firm_peak_multiplier": (0.0, 10.0),
            },
        )
        check_range(self, "risk_appetite", 0.0, 10.0, low_open=True, prefix=p)
        if len(self.seasonal_spending) != 12 or any(m < 0 for m in self.seasonal_spending):
            raise ValueError("scenario.seasonal_spending must be 12 non-negative multipliers")
        self.shocks = [s if isinstance(s, ShockConfig) else ShockConfig(**s) for s in self.shocks]
