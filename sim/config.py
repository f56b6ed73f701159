"""Structured-config schemas: every option of a run, validated before the run starts.

The dataclasses here are registered in Hydra's ConfigStore (:func:`register_configs`),
so the YAML files in ``conf/`` are merged onto them: an unknown key or a wrong type
fails at compose time with the field's path. Range checks live in ``__post_init__`` and
run when :func:`to_run_config` turns the composed config into these objects, before
any simulation work.

Conventions (all configs): money in CNY; rates are nominal annual fractions (APR)
unless the name ends in ``_monthly``; probabilities are fractions in [0, 1]; one step is
one month.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.policies.base import check_range

#: Regime names a scenario may use; policies read them from the portfolio view.
REGIMES = ("baseline", "downturn", "recovery", "boom")
#: Population start states: ``current``, or the repayment state "as of" one UCI month.
START_STATES = (
    "current",
    "uci_september",
    "uci_august",
    "uci_july",
    "uci_june",
    "uci_may",
    "uci_april",
)


def _rng_check(obj: Any, prefix: str, fields: dict[str, tuple[float | None, float | None]]) -> None:
    for name, (low, high) in fields.items():
        check_range(obj, name, low, high, prefix=prefix)


def _prob(obj: Any, prefix: str, *names: str) -> None:
    _rng_check(obj, prefix, {n: (0.0, 1.0) for n in names})


@dataclass
class BehaviourConfig:
    """Household behaviour: income, spending, shocks and repayment habits.

    Income and spending are multiples of each borrower's base monthly income. Monthly
    hazards are probabilities per month. Sources are listed in ``conf/PROVENANCE.md``.
    """

    income_sigma: float = 0.10
    job_loss_prob_monthly: float = 0.0025
    job_find_prob_monthly: float = 0.15
    unemployment_replacement: float = 0.5
    needs_share: float = 0.5
    needs_sigma: float = 0.10
    discretionary_share: float = 0.35
    discretionary_sigma: float = 0.35
    expense_shock_prob_monthly: float = 0.02
    expense_shock_mean_income_months: float = 0.5
    cash_reserve_income_months: float = 1.0
    savings_target_income_months: float = 6.0
    excess_savings_spend_rate: float = 0.1
    revolver_borrow_propensity: float = 0.6
    delinquent_borrow_propensity: float = 0.9
    instalment_borrow_propensity: float = 0.3
    revolver_mpb: float = 0.3
    delinquent_mpb: float = 0.6
    instalment_mpb: float = 0.1
    revolver_extra_payment: float = 0.05
    instalment_months: int = 12
    delinquent_skip_prob_monthly: float = 0.005
    # Cure behaviour: a borrower already behind (>= 1 missed payment) pays nothing again with
    # this probability, whatever its type (0 = off: arrears cure like any other month).
    arrears_skip_prob_monthly: float = 0.0
    transactor_draws_per_month: float = 2.5
    transactor_line_spend_share: float = 0.3
    race_to_default_prob: float = 0.3
    n_spending_categories: int = 8
    diversity_concentration: float = 1.0
    savvy_diversity_concentration: float = 5.0
    high_risk_txn_prob_monthly: float = 0.005

    def __post_init__(self) -> None:
        p = "population.behaviour"
        _prob(
            self,
            p,
            "job_loss_prob_monthly",
            "job_find_prob_monthly",
            "unemployment_replacement",
            "expense_shock_prob_monthly",
            "revolver_borrow_propensity",
            "delinquent_borrow_propensity",
            "instalment_borrow_propensity",
            "revolver_mpb",
            "delinquent_mpb",
            "instalment_mpb",
            "excess_savings_spend_rate",
            "delinquent_skip_prob_monthly",
            "arrears_skip_prob_monthly",
            "transactor_line_spend_share",
            "race_to_default_prob",
            "high_risk_txn_prob_monthly",
        )
        _rng_check(
            self,
            p,
            {
                "income_sigma": (0.0, 2.0),
                "needs_share": (0.0, 5.0),
                "needs_sigma": (0.0, 2.0),
                "discretionary_share": (0.0, 5.0),
                "discretionary_sigma": (0.0, 2.0),
                "expense_shock_mean_income_months": (0.0, 60.0),
                "cash_reserve_income_months": (0.0, 60.0),
                "savings_target_income_months": (0.0, 600.0),
                "revolver_extra_payment": (0.0, 10.0),
                "instalment_months": (1, 360),
                "transactor_draws_per_month": (0.0, 100.0),
                "n_spending_categories": (2, 64),
                "diversity_concentration": (1e-6, 1e6),
                "savvy_diversity_concentration": (1e-6, 1e6),
            },
        )


@dataclass
class PopulationConfig:
    """Who the borrowers are: resampled from the UCI data, and how they behave.

    Attributes:
        name: calibration name (``jiebei_baseline`` or ``uci_2005``).
        n_borrowers: number of borrower agents, >= 1.
        cny_per_twd: exchange rate applied to UCI amounts (NT$ -> CNY).
        limit_scale: multiplier on converted UCI limits (re-levelling), > 0.
        limit_income_multiple: median of limit / monthly income used to impute incomes.
        limit_income_sigma: log-sd of that multiple.
        savings_income_months: median savings buffer, in months of income.
        savings_sigma: log-sd of the savings buffer.
        start_state: ``current`` (every account starts current, balances from the
            September bill) or ``uci_<month>`` (the repayment state "as of" that UCI
            month, April..September; see :func:`sim.population.build_population`).
        behaviour_window_months: months of UCI history, ending at the start month, from
            which behaviour types and habitual utilisation are derived, 1..6.
        history_months_mean: mean credit-history length at start, months.
        max_initial_mob: months on book at start are uniform on [0, this].
        savvy_share: share of credit-savvy borrowers (mechanism M10), in [0, 1].
        behaviour: household behaviour parameters.
    """

    name: str = "jiebei_baseline"
    n_borrowers: int = 20_000
    cny_per_twd: float = 0.25
    limit_scale: float = 1.0
    limit_income_multiple: float = 3.0
    limit_income_sigma: float = 0.3
    savings_income_months: float = 3.0
    savings_sigma: float = 0.8
    start_state: str = "current"
    behaviour_window_months: int = 6
    history_months_mean: float = 48.0
    max_initial_mob: int = 36
    savvy_share: float = 0.0
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)

    def __post_init__(self) -> None:
        p = "population"
        if isinstance(self.behaviour, dict):
            self.behaviour = BehaviourConfig(**self.behaviour)
        _rng_check(
            self,
            p,
            {
                "n_borrowers": (1, 50_000_000),
                "cny_per_twd": (1e-9, None),
                "limit_scale": (1e-9, None),
                "limit_income_multiple": (1e-6, 1000.0),
                "limit_income_sigma": (0.0, 5.0),
                "savings_income_months": (0.0, 1000.0),
                "savings_sigma": (0.0, 5.0),
                "history_months_mean": (0.0, 1000.0),
                "max_initial_mob": (0, 1000),
                "behaviour_window_months": (1, 6),
            },
        )
        _prob(self, p, "savvy_share")
        if self.start_state not in START_STATES:
            raise ValueError(
                f"population.start_state = {self.start_state!r}; allowed: {list(START_STATES)}"
            )


@dataclass
class PlatformConfig:
    """The lender: pricing, risk model levels, product terms and funding.

    Attributes:
        apr_tiers: APR (annual fraction) per risk tier, ascending; default within the
            Jiebei-like range of about 7-18 % APR (Jiebei product terms, Ant FAQ copies; PBoC credit-card rate band; unverified prior).
        pd_tier_bounds: pd_12m upper bounds of all tiers but the last (len = tiers - 1).
        central_tendency_pd_12m: mean 12-month PD the scorecard is re-levelled to at start.
        lgd: loss given default, fraction.
        ccf: credit conversion factor on undrawn limits for EAD, fraction.
        funding_cost_apr: the platform's cost of funds, annual fraction.
        min_payment_rate: minimum payment as a share of the statement balance.
        min_payment_floor_cny: minimum payment floor, CNY.
        charge_off_dpd: days past due at which a defaulted balance is written off (>= 90).
        lenders_log_odds: scorecard log-odds added per extra active lender (M7).
        debt_service_log_odds: log-odds added per unit of debt-service ratio (M7).
        thin_history_log_odds: log-odds added for history shorter than thin_history_months (M3).
        thin_history_months: history length below which the thin-history term applies.
        apr_cap: regulatory cap on the platform's APR (1.0 = none).
    """

    apr_tiers: list[float] = field(default_factory=lambda: [0.073, 0.1095, 0.146, 0.1825])
    pd_tier_bounds: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.08])
    central_tendency_pd_12m: float = 0.03
    lgd: float = 0.8
    ccf: float = 0.2
    funding_cost_apr: float = 0.035
    min_payment_rate: float = 0.1
    min_payment_floor_cny: float = 50.0
    charge_off_dpd: int = 270
    lenders_log_odds: float = 0.25
    debt_service_log_odds: float = 1.0
    thin_history_log_odds: float = 0.3
    thin_history_months: int = 12
    apr_cap: float = 1.0

    def __post_init__(self) -> None:
        p = "platform"
        _prob(self, p, "central_tendency_pd_12m", "lgd", "ccf", "min_payment_rate")
        _rng_check(
            self,
            p,
            {
                "funding_cost_apr": (0.0, 1.0),
                "min_payment_floor_cny": (0.0, None),
                "charge_off_dpd": (90, 3600),
                "lenders_log_odds": (-10.0, 10.0),
                "debt_service_log_odds": (-10.0, 10.0),
                "thin_history_log_odds": (-10.0, 10.0),
                "thin_history_months": (0, 1200),
                "apr_cap": (0.0, 10.0),
            },
        )
        if self.central_tendency_pd_12m in (0.0, 1.0):
            raise ValueError("platform.central_tendency_pd_12m must be strictly inside (0, 1)")
        if len(self.apr_tiers) < 1 or len(self.pd_tier_bounds) != len(self.apr_tiers) - 1:
            raise ValueError(
                "platform.pd_tier_bounds must have one entry fewer than platform.apr_tiers "
                f"(got {len(self.pd_tier_bounds)} bounds for {len(self.apr_tiers)} tiers)"
            )
        if any(not 0.0 <= a <= 10.0 for a in self.apr_tiers):
            raise ValueError(f"platform.apr_tiers = {self.apr_tiers} must lie in [0, 10]")
        bounds = list(self.pd_tier_bounds)
        if any(not 0.0 < b < 1.0 for b in bounds) or bounds != sorted(bounds):
            raise ValueError(f"platform.pd_tier_bounds = {bounds} must be ascending inside (0, 1)")


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


@dataclass
class OutputConfig:
    """What a run writes.

    Attributes:
        plots: write the per-run plots.
        formats: figure formats (``png``, ``svg``, ``pdf``).
        progress: show a progress bar over months (only in an interactive terminal).
        events: write the limit-change event table.
    """

    plots: bool = True
    formats: list[str] = field(default_factory=lambda: ["png"])
    progress: bool = True
    events: bool = True

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in ("png", "svg", "pdf")]
        if bad:
            raise ValueError(f"output.formats has {bad}; allowed: png, svg, pdf")


@dataclass
class RunConfig:
    """One simulation run: population x platform x policy x scenario under one seed.

    Attributes:
        seed: root seed of the run's ``SeedSequence``, integer >= 0.
        n_months: months to simulate, >= 1.
        population, platform, scenario, output: see their classes.
        policy: the policy config mapping (validated by the policy's own dataclass).
    """

    seed: int = 0
    n_months: int = 36
    population: PopulationConfig = field(default_factory=PopulationConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: Any = field(default_factory=lambda: {"name": "static"})
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        _rng_check(self, "", {"seed": (0, 2**63 - 1), "n_months": (1, 100_000)})
        for name, cls in (
            ("population", PopulationConfig),
            ("platform", PlatformConfig),
            ("scenario", ScenarioConfig),
            ("output", OutputConfig),
        ):
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, _from_dict(cls, value, name))


def _from_dict(cls: type, values: dict[str, Any], prefix: str) -> Any:
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TypeError(f"{prefix}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return cls(**values)


def to_run_config(cfg: DictConfig | dict[str, Any]) -> RunConfig:
    """Validate a composed config and return it as :class:`RunConfig`.

    Also builds the policy once, so that a bad policy option fails here too.

    Args:
        cfg: the Hydra-composed config (or a plain nested dict).

    Returns:
        The validated run config; ``policy`` stays a plain dict.

    Raises:
        TypeError: an unknown key.
        ValueError: a value outside its allowed range (the message names the field).
        KeyError: an unknown policy name.
    """
    if isinstance(cfg, DictConfig):
        values = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    else:
        values = dict(cfg)
    assert isinstance(values, dict)
    values = {k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(RunConfig)}}
    run = RunConfig(**values)
    from sim.policies import build_policy

    build_policy(run.policy)
    return run


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (idempotent).

    Names: ``run_schema`` (top level), ``population/population_schema``,
    ``platform/platform_schema``, ``scenario/scenario_schema``, and
    ``policy/<name>_schema`` for every registered policy.
    """
    from hydra.core.config_store import ConfigStore

    from sim.policies import policy_class, policy_names

    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=_HydraRunSchema)
    cs.store(group="population", name="population_schema", node=PopulationConfig)
    cs.store(group="platform", name="platform_schema", node=PlatformConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="output", name="output_schema", node=OutputConfig)
    for name in policy_names():
        cs.store(group="policy", name=f"{name}_schema", node=policy_class(name).config_class)


@dataclass
class _HydraRunSchema:
    """Top-level schema for composition (groups are typed by their own schemas)."""

    seed: int = 0
    n_months: int = 36
    population: Any = None
    platform: Any = None
    scenario: Any = None
    policy: Any = None
    output: Any = None
    resume: bool = False
    experiment_name: str = "default"
