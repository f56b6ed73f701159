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

from sim.platform.policies.base import check_range

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
            month, April..September; see :func:`sim.world.population.build_population`).
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
            Jiebei-like range of about 7-18 % APR (Jiebei product terms, Ant FAQ copies;
            PBoC credit-card rate band; unverified prior).
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
                f"(got {len(self.pd_tier_bounds)} bounds for {len(self.apr_tiers)} tiers: "
                f"give {len(self.pd_tier_bounds) + 1} APR tiers or "
                f"{max(len(self.apr_tiers) - 1, 0)} bounds)"
            )
        if list(self.apr_tiers) != sorted(self.apr_tiers):
            raise ValueError(
                f"platform.apr_tiers = {self.apr_tiers} must be non-decreasing "
                "(a riskier tier never pays a lower APR)"
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


#: The four sectors of the default firm population (``conf/firms/default.yaml``).
DEFAULT_SECTORS = ("retail", "restaurants", "services", "manufacturing_wholesale")
#: Bases a channel's per-borrower limit may be sized on.
LIMIT_BASES = ("income", "revenue", "receivables")
#: Waterfall steps that are not lenders of the channel table.
FUNDING_STEPS = ("own_cash", "platform")


@dataclass
class SectorConfig:
    """One business sector: revenue level, volatility, seasonality, costs, terms and buffers.

    Money in CNY a month; ratios are fractions of revenue; terms in months (30 days = 1).

    Attributes:
        share: share of firms in this sector, in [0, 1] (shares are normalised).
        revenue_income_multiple: median monthly revenue / the owner's base monthly income.
        revenue_size_sigma: log-sd of revenue size across firms.
        revenue_sigma: month-to-month transitory log-sd of revenue.
        persistent_sigma: stationary log-sd of the persistent (AR(1)) revenue component.
        seasonality: 12 revenue multipliers, January first (mean about 1).
        cogs_ratio: cost of goods (purchases) / revenue, in [0, 1].
        fixed_cost_ratio: fixed costs (rent, wages) / base revenue, a month.
        credit_sales_share: share of outside sales made on credit (receivables), in [0, 1].
        receivable_terms_months: months until credit sales are collected, 0..3.
        payable_terms_months: months until purchases are paid, 0..3.
        network_purchase_share: share of purchases bought from supplier firms of the model
            (the supply network); the rest from outside suppliers, in [0, 1].
        supplier_sectors: sectors this sector buys from inside the network.
        target_buffer_days: median cash buffer the owner aims to keep, days (> 0).
        target_buffer_sigma: log-sd of the target across firms.
        anchor_buyer_share: share of firms selling on credit to a large buyer, which makes
            them eligible for supply-chain finance, in [0, 1].
    """

    share: float = 0.25
    revenue_income_multiple: float = 4.0
    revenue_size_sigma: float = 0.5
    revenue_sigma: float = 0.15
    persistent_sigma: float = 0.15
    seasonality: list[float] = field(default_factory=lambda: [1.0] * 12)
    cogs_ratio: float = 0.6
    fixed_cost_ratio: float = 0.25
    credit_sales_share: float = 0.2
    receivable_terms_months: int = 1
    payable_terms_months: int = 0
    network_purchase_share: float = 0.3
    supplier_sectors: list[str] = field(default_factory=lambda: ["manufacturing_wholesale"])
    target_buffer_days: float = 27.0
    target_buffer_sigma: float = 0.9
    anchor_buyer_share: float = 0.0

    def check(self, prefix: str) -> None:
        """Range checks (called by :class:`FirmsConfig` with the sector's config path)."""
        _prob(
            self,
            prefix,
            "share",
            "cogs_ratio",
            "credit_sales_share",
            "network_purchase_share",
            "anchor_buyer_share",
        )
        _rng_check(
            self,
            prefix,
            {
                "revenue_income_multiple": (1e-6, 1e6),
                "revenue_size_sigma": (0.0, 5.0),
                "revenue_sigma": (0.0, 5.0),
                "persistent_sigma": (0.0, 5.0),
                "fixed_cost_ratio": (0.0, 10.0),
                "receivable_terms_months": (0, 3),
                "payable_terms_months": (0, 3),
                "target_buffer_days": (1e-6, 3650.0),
                "target_buffer_sigma": (0.0, 5.0),
            },
        )
        if len(self.seasonality) != 12 or any(not 0.0 <= m <= 100.0 for m in self.seasonality):
            raise ValueError(f"{prefix}.seasonality must be 12 multipliers in [0, 100]")


def _default_sectors() -> dict[str, SectorConfig]:
    # The YAML (conf/firms/default.yaml) restates these values with their sources.
    return {
        "retail": SectorConfig(
            share=0.25,
            revenue_income_multiple=6.0,
            revenue_sigma=0.15,
            persistent_sigma=0.35,
            seasonality=[1.45, 1.15, 0.80, 0.85, 0.90, 1.25, 0.85, 0.85, 0.90, 0.95, 1.50, 1.15],
            cogs_ratio=0.68,
            fixed_cost_ratio=0.27,
            credit_sales_share=0.10,
            receivable_terms_months=1,
            payable_terms_months=0,
            network_purchase_share=0.5,
            supplier_sectors=["manufacturing_wholesale"],
            target_buffer_days=28.0,
            anchor_buyer_share=0.0,
        ),
        "restaurants": SectorConfig(
            share=0.15,
            revenue_income_multiple=5.0,
            revenue_sigma=0.12,
            persistent_sigma=0.35,
            seasonality=[1.35, 1.45, 0.85, 0.90, 0.95, 0.95, 0.90, 0.90, 0.95, 1.05, 0.85, 0.95],
            cogs_ratio=0.35,
            fixed_cost_ratio=0.60,
            credit_sales_share=0.0,
            receivable_terms_months=0,
            payable_terms_months=0,
            network_purchase_share=0.4,
            supplier_sectors=["manufacturing_wholesale"],
            target_buffer_days=27.0,
            anchor_buyer_share=0.0,
        ),
        "services": SectorConfig(
            share=0.30,
            revenue_income_multiple=4.0,
            revenue_sigma=0.18,
            persistent_sigma=0.35,
            seasonality=[1.10, 0.90, 1.00, 1.00, 1.00, 1.00, 0.95, 0.95, 1.00, 1.00, 1.05, 1.05],
            cogs_ratio=0.20,
            fixed_cost_ratio=0.75,
            credit_sales_share=0.30,
            receivable_terms_months=1,
            payable_terms_months=0,
            network_purchase_share=0.2,
            supplier_sectors=["manufacturing_wholesale"],
            target_buffer_days=38.0,
            anchor_buyer_share=0.1,
        ),
        "manufacturing_wholesale": SectorConfig(
            share=0.30,
            revenue_income_multiple=8.0,
            revenue_sigma=0.20,
            persistent_sigma=0.35,
            seasonality=[0.95, 0.60, 0.95, 0.95, 1.25, 0.95, 0.90, 0.90, 1.05, 1.40, 0.95, 1.35],
            cogs_ratio=0.74,
            fixed_cost_ratio=0.215,
            credit_sales_share=0.70,
            receivable_terms_months=2,
            payable_terms_months=1,
            network_purchase_share=0.2,
            supplier_sectors=["manufacturing_wholesale"],
            target_buffer_days=68.0,
            anchor_buyer_share=0.4,
        ),
    }


@dataclass
class FirmsConfig:
    """Micro-enterprises owned by borrowers (sole traders) and their supply network.

    Attributes:
        owner_share: share of borrowers who own a firm (one firm each), in [0, 1].
        sectors: the sector table, keyed by sector name.
        stock_lead_months: stock is bought this many months before it is sold, 0..3.
        revenue_persistence: monthly AR(1) coefficient of the persistent revenue
            component, in [0, 1).
        exit_hazard_monthly: probability a month that an open firm closes for reasons
            outside the model (retirement, relocation...), in [0, 1].
        close_after_shortfall_months: a firm closes at the end of this many consecutive
            months in shortfall (obligations it could not pay), >= 1.
        owner_draw_rate: share of the cash above the target buffer paid out to the owner
            each month, in [0, 1].
        owner_reserve_income_months: the owner injects only household savings above this
            many months of base income, >= 0.
        age_mean_months: mean age of the firms at the start (exponential), months.
        suppliers_per_firm: network suppliers each buying firm has, >= 0.
        peak_threshold: a calendar month whose sector multiplier is at least this is a
            seasonal peak.
        peak_lookahead_months: the platform's view flags a peak within this many months.
        outflow_window_months: months averaged for the average daily outflow, >= 1.
    """

    owner_share: float = 0.1
    sectors: dict[str, SectorConfig] = field(default_factory=_default_sectors)
    stock_lead_months: int = 1
    revenue_persistence: float = 0.95
    exit_hazard_monthly: float = 0.013
    close_after_shortfall_months: int = 3
    owner_draw_rate: float = 1.0
    owner_reserve_income_months: float = 6.0
    age_mean_months: float = 48.0
    suppliers_per_firm: int = 2
    peak_threshold: float = 1.15
    peak_lookahead_months: int = 2
    outflow_window_months: int = 3

    def __post_init__(self) -> None:
        p = "firms"
        self.sectors = {
            str(k): v
            if isinstance(v, SectorConfig)
            else _from_dict(SectorConfig, v, f"{p}.sectors.{k}")
            for k, v in dict(self.sectors).items()
        }
        _prob(self, p, "owner_share", "exit_hazard_monthly", "owner_draw_rate")
        _rng_check(
            self,
            p,
            {
                "stock_lead_months": (0, 3),
                "revenue_persistence": (0.0, 0.999),
                "close_after_shortfall_months": (1, 1200),
                "owner_reserve_income_months": (0.0, 1200.0),
                "age_mean_months": (0.0, 1200.0),
                "suppliers_per_firm": (0, 50),
                "peak_threshold": (0.0, 100.0),
                "peak_lookahead_months": (0, 12),
                "outflow_window_months": (1, 24),
            },
        )
        if not self.sectors:
            raise ValueError("firms.sectors must name at least one sector")
        for name, sector in self.sectors.items():
            sector.check(f"{p}.sectors.{name}")
            unknown = [s for s in sector.supplier_sectors if s not in self.sectors]
            if unknown:
                raise ValueError(
                    f"{p}.sectors.{name}.supplier_sectors names unknown sector(s) {unknown}; "
                    f"sectors: {list(self.sectors)}"
                )
        if sum(s.share for s in self.sectors.values()) <= 0:
            raise ValueError(f"{p}.sectors: the shares must not all be 0")


@dataclass
class ChannelConfig:
    """One other lender (channel): price, approval rule, time to funds and capacity.

    Loans on every channel are revolving balances serviced with the platform's
    conventions (:mod:`sim.lending.accounts`): interest at ``apr / 12`` a month, a minimum
    payment, 30 DPD per consecutive miss, default at the third miss, charge-off.

    Attributes:
        enabled: the channel lends at all.
        apr: contract interest rate, nominal annual fraction.
        upfront_fee_rate: fee on each draw (added to the balance), fraction of the draw.
        monthly_fee_rate: service fee on the month-end balance, a month, fraction.
        approval_lag_months: months from application to funds; 0 = funds at once
            (pre-approved or instant), >= 1 = an application this month funds next month
            at the earliest.
        max_pd_12m: approved only if the borrower's 12-month PD (the platform's score,
            shared through the credit bureau) is below this, in [0, 1].
        max_dpd: approved only if the borrower's platform line is at most this many days
            past due.
        min_history_months: approved only with at least this history (the firm's age for
            firm-based limits, the borrower's credit history otherwise).
        limit_basis: ``income`` (owner's base monthly income), ``revenue`` (the owned
            firm's base monthly revenue) or ``receivables`` (the owned firm's outside
            receivables outstanding).
        limit_multiple: limit = this x the basis.
        max_limit_cny: cap on the limit, CNY.
        min_payment_rate: minimum payment share of the statement balance.
        min_payment_floor_cny: minimum payment floor, CNY.
        lgd: loss given default, fraction.
        for_household_needs: lends for households' essential spending gaps.
        for_household_wants: lends for households' discretionary borrowing.
        for_firms: lends for the owner's firm's liquidity gaps.
        high_cost: counts as a high-cost channel in the metrics.
        private_lending: private (unlicensed) lending, to which the court's interest cap
            applies (``channels.apply_private_lending_cap``).
    """

    enabled: bool = True
    apr: float = 0.24
    upfront_fee_rate: float = 0.0
    monthly_fee_rate: float = 0.0
    approval_lag_months: int = 0
    max_pd_12m: float = 1.0
    max_dpd: int = 0
    min_history_months: int = 0
    limit_basis: str = "income"
    limit_multiple: float = 1.0
    max_limit_cny: float = 50_000.0
    min_payment_rate: float = 0.1
    min_payment_floor_cny: float = 50.0
    lgd: float = 0.8
    for_household_needs: bool = True
    for_household_wants: bool = False
    for_firms: bool = True
    high_cost: bool = False
    private_lending: bool = False

    def check(self, prefix: str) -> None:
        """Range checks (called by :class:`ChannelsConfig` with the lender's path)."""
        _prob(self, prefix, "upfront_fee_rate", "monthly_fee_rate", "max_pd_12m", "lgd")
        _prob(self, prefix, "min_payment_rate")
        _rng_check(
            self,
            prefix,
            {
                "apr": (0.0, 10.0),
                "approval_lag_months": (0, 24),
                "max_dpd": (0, 100_000),
                "min_history_months": (0, 1200),
                "limit_multiple": (0.0, 1000.0),
                "max_limit_cny": (0.0, None),
                "min_payment_floor_cny": (0.0, None),
            },
        )
        if self.limit_basis not in LIMIT_BASES:
            raise ValueError(
                f"{prefix}.limit_basis = {self.limit_basis!r}; allowed: {list(LIMIT_BASES)}"
            )


def _default_lenders() -> dict[str, ChannelConfig]:
    # The YAML (conf/channels/default.yaml) restates these values with their sources.
    return {
        "bank_sme": ChannelConfig(
            apr=0.055,
            approval_lag_months=1,
            max_pd_12m=0.03,
            max_dpd=0,
            min_history_months=12,
            limit_basis="revenue",
            limit_multiple=0.5,
            max_limit_cny=100_000.0,
            min_payment_rate=0.1,
            lgd=0.6,
            for_household_needs=False,
            for_household_wants=False,
            for_firms=True,
        ),
        "supply_chain": ChannelConfig(
            apr=0.10,
            upfront_fee_rate=0.005,
            approval_lag_months=0,
            max_pd_12m=0.08,
            max_dpd=0,
            limit_basis="receivables",
            limit_multiple=0.8,
            max_limit_cny=500_000.0,
            min_payment_rate=0.5,
            lgd=0.3,
            for_household_needs=False,
            for_household_wants=False,
            for_firms=True,
        ),
        "credit_card": ChannelConfig(
            apr=0.1825,
            upfront_fee_rate=0.01,
            max_pd_12m=0.08,
            max_dpd=0,
            min_history_months=6,
            limit_multiple=1.0,
            max_limit_cny=50_000.0,
            for_household_wants=True,
        ),
        "online_lender_a": ChannelConfig(
            apr=0.24,
            upfront_fee_rate=0.02,
            max_pd_12m=0.15,
            max_dpd=30,
            limit_multiple=0.5,
            max_limit_cny=20_000.0,
            lgd=0.85,
            for_household_wants=True,
            high_cost=True,
        ),
        "online_lender_b": ChannelConfig(
            apr=0.30,
            upfront_fee_rate=0.03,
            max_pd_12m=0.25,
            max_dpd=30,
            limit_multiple=0.3,
            max_limit_cny=10_000.0,
            lgd=0.85,
            for_household_wants=True,
            high_cost=True,
        ),
        "informal": ChannelConfig(
            apr=0.36,
            monthly_fee_rate=0.02,
            max_pd_12m=1.0,
            max_dpd=60,
            limit_multiple=1.0,
            max_limit_cny=30_000.0,
            min_payment_rate=0.2,
            lgd=0.5,
            for_household_wants=False,
            high_cost=True,
            private_lending=True,
        ),
    }


@dataclass
class ChannelsConfig:
    """The funding waterfall and the other lenders (channels) beside the platform.

    Attributes:
        order: the funding waterfall, first step first: ``own_cash`` (a firm's own cash,
            then the owner's savings above the reserve), ``platform`` (the platform line,
            if the limit allows) and lender names of ``lenders``. Lenders not listed are
            never used. Households reach only the lenders after ``platform`` (their own
            cash and the platform line are used in the household stage).
        lenders: the channel table, keyed by lender name.
        lpr: one-year loan prime rate, annual fraction.
        private_lending_cap_lpr_multiple: the court's cap on private-lending interest,
            as a multiple of the LPR.
        apply_private_lending_cap: cap the APR of ``private_lending`` channels.
        household_wants_seek_share: share of a household's unmet discretionary borrowing
            wish it tries to fund on other channels, in [0, 1].
        prepay_excess_share: share of cash above the reserve (households) or the target
            buffer (firms) used each month to repay other channels, costliest first.
        charge_off_dpd: DPD at which defaulted channel balances are written off (>= 90).
    """

    order: list[str] = field(
        default_factory=lambda: [
            "own_cash",
            "bank_sme",
            "supply_chain",
            "platform",
            "credit_card",
            "online_lender_a",
            "online_lender_b",
            "informal",
        ]
    )
    lenders: dict[str, ChannelConfig] = field(default_factory=_default_lenders)
    lpr: float = 0.0385
    private_lending_cap_lpr_multiple: float = 4.0
    apply_private_lending_cap: bool = True
    household_wants_seek_share: float = 0.5
    prepay_excess_share: float = 1.0
    charge_off_dpd: int = 180

    def __post_init__(self) -> None:
        p = "channels"
        self.lenders = {
            str(k): v
            if isinstance(v, ChannelConfig)
            else _from_dict(ChannelConfig, v, f"{p}.lenders.{k}")
            for k, v in dict(self.lenders).items()
        }
        self.order = [str(o) for o in self.order]
        _prob(self, p, "household_wants_seek_share", "prepay_excess_share")
        _rng_check(
            self,
            p,
            {
                "lpr": (0.0, 1.0),
                "private_lending_cap_lpr_multiple": (0.0, 100.0),
                "charge_off_dpd": (90, 3600),
            },
        )
        for name, lender in self.lenders.items():
            if name in FUNDING_STEPS:
                raise ValueError(f"{p}.lenders: {name!r} is a reserved waterfall step name")
            lender.check(f"{p}.lenders.{name}")
        unknown = [o for o in self.order if o not in self.lenders and o not in FUNDING_STEPS]
        if unknown:
            raise ValueError(
                f"{p}.order names unknown step(s) {unknown}; allowed: "
                f"{list(FUNDING_STEPS) + list(self.lenders)}"
            )
        if len(set(self.order)) != len(self.order):
            raise ValueError(f"{p}.order lists a step twice: {self.order}")
        missing = [s for s in FUNDING_STEPS if s not in self.order]
        if missing:
            raise ValueError(f"{p}.order must include {missing}")
        if self.order[0] != "own_cash":
            raise ValueError(f"{p}.order must start with 'own_cash' (got {self.order[0]!r})")

    @property
    def private_lending_cap(self) -> float:
        """The court's private-lending interest cap, annual fraction (4 x LPR by default)."""
        return self.private_lending_cap_lpr_multiple * self.lpr

    def charged_apr(self, name: str) -> float:
        """The APR a lender charges after the private-lending cap (if it applies)."""
        lender = self.lenders[name]
        if lender.private_lending and self.apply_private_lending_cap:
            return min(lender.apr, self.private_lending_cap)
        return lender.apr


@dataclass
class RunConfig:
    """One simulation run: population x platform x policy x scenario under one seed.

    Attributes:
        seed: root seed of the run's ``SeedSequence``, integer >= 0.
        n_months: months to simulate, >= 1.
        population, platform, scenario, output, firms, channels: see their classes.
        policy: the policy config mapping (validated by the policy's own dataclass).
    """

    seed: int = 0
    n_months: int = 36
    population: PopulationConfig = field(default_factory=PopulationConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: Any = field(default_factory=lambda: {"name": "static"})
    output: OutputConfig = field(default_factory=OutputConfig)
    firms: FirmsConfig = field(default_factory=FirmsConfig)
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)

    def __post_init__(self) -> None:
        _rng_check(self, "", {"seed": (0, 2**63 - 1), "n_months": (1, 100_000)})
        for name, cls in (
            ("population", PopulationConfig),
            ("platform", PlatformConfig),
            ("scenario", ScenarioConfig),
            ("output", OutputConfig),
            ("firms", FirmsConfig),
            ("channels", ChannelsConfig),
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
    values = {
        k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(RunConfig)}
    }
    run = RunConfig(**values)
    from sim.platform.policies import build_policy

    build_policy(run.policy)
    return run


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (idempotent).

    Names: ``run_schema`` (top level), ``population/population_schema``,
    ``platform/platform_schema``, ``scenario/scenario_schema``, ``output/output_schema``,
    ``firms/firms_schema``, ``channels/channels_schema``, and
    ``policy/<name>_schema`` for every registered policy.
    """
    from hydra.core.config_store import ConfigStore

    from sim.platform.policies import policy_class, policy_names

    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=_HydraRunSchema)
    cs.store(group="population", name="population_schema", node=PopulationConfig)
    cs.store(group="platform", name="platform_schema", node=PlatformConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="output", name="output_schema", node=OutputConfig)
    cs.store(group="firms", name="firms_schema", node=FirmsConfig)
    cs.store(group="channels", name="channels_schema", node=ChannelsConfig)
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
    firms: Any = None
    channels: Any = None
    resume: bool = False
    experiment_name: str = "default"
