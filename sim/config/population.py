"""Schema of the ``population`` group (``conf/population/*.yaml``): borrowers and behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config._checks import _prob, _rng_check

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

#: Allowed values of ``population.starting_book``.
STARTING_BOOKS = ("underwritten", "uci")


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
    discretionary_sigma: float = 0.35
    expense_shock_prob_monthly: float = 0.02
    expense_shock_mean_income_months: float = 0.5
    cash_reserve_income_months: float = 1.0
    excess_savings_spend_rate: float = 0.1
    savings_rebuild_rate: float = 0.1
    revolver_borrow_propensity: float = 0.6
    delinquent_borrow_propensity: float = 0.9
    instalment_borrow_propensity: float = 0.3
    revolver_mpb: float = 0.3
    delinquent_mpb: float = 0.6
    instalment_mpb: float = 0.1
    # Share of the type's marginal propensity to borrow out of a limit increase kept by a
    # household at or above its savings target (1 = the type's MPB for everyone; below the
    # target it rises linearly to the full MPB at zero savings).
    mpb_unconstrained_share: float = 0.1
    revolver_extra_payment: float = 0.05
    instalment_months: int = 12
    delinquent_skip_prob_monthly: float = 0.005
    # Accounts behind (>= 1 missed payment): an ordered logit on log(cash / amount due)
    # chooses to roll (pay nothing), hold (pay this month's instalment, stay in the
    # bucket), cure (pay the whole due, arrears included) or cure in full (pay the
    # statement); the probabilities are those of a borrower whose cash equals the due
    # (full cures are a share of all cures).
    arrears_roll_prob: float = 0.03
    arrears_cure_prob: float = 0.18
    arrears_full_cure_share: float = 0.5
    arrears_cash_sensitivity: float = 0.25
    # Log-odds shift of the choice of an account behind for more than one of the last six
    # months (< 0: seasoned arrears cure less and roll more than new ones; 0 = no effect).
    arrears_seasoned_log_odds: float = 0.0
    # A current account misses its due with this probability at cash equal to the due,
    # less with more cash (same slope); 0 = only cash shortfalls and the delinquent-prone.
    current_miss_prob: float = 0.0
    # Payment habit of current accounts (pays the statement in full, or revolves):
    # monthly switching probabilities; a full payer whose cash cannot cover the statement
    # revolves, and only one whose cash covers it can switch to paying in full.
    full_to_revolving_prob: float = 0.05
    revolving_to_full_prob: float = 0.05
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
            "mpb_unconstrained_share",
            "excess_savings_spend_rate",
            "savings_rebuild_rate",
            "delinquent_skip_prob_monthly",
            "arrears_roll_prob",
            "arrears_cure_prob",
            "arrears_full_cure_share",
            "current_miss_prob",
            "full_to_revolving_prob",
            "revolving_to_full_prob",
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
                "discretionary_sigma": (0.0, 2.0),
                "expense_shock_mean_income_months": (0.0, 60.0),
                "cash_reserve_income_months": (0.0, 60.0),
                "revolver_extra_payment": (0.0, 10.0),
                "instalment_months": (1, 360),
                "transactor_draws_per_month": (0.0, 100.0),
                "n_spending_categories": (2, 64),
                "diversity_concentration": (1e-6, 1e6),
                "savvy_diversity_concentration": (1e-6, 1e6),
                "arrears_cash_sensitivity": (0.0, 20.0),
                "arrears_seasoned_log_odds": (-10.0, 10.0),
            },
        )
        if self.arrears_roll_prob + self.arrears_cure_prob > 1.0:
            raise ValueError(
                f"{p}.arrears_roll_prob + {p}.arrears_cure_prob must be <= 1 (the rest hold), "
                f"got {self.arrears_roll_prob} + {self.arrears_cure_prob}"
            )


@dataclass
class PopulationConfig:
    """Who the borrowers are: resampled from the UCI data, and how they behave.

    Attributes:
        name: calibration name (``jiebei_baseline`` or ``uci_2005``).
        n_borrowers: number of borrower agents, >= 1.
        cny_per_twd: exchange rate applied to UCI amounts (NT$ -> CNY), in (0, 100].
        limit_scale: multiplier on converted UCI limits (re-levelling), in (0, 1000].
        limit_income_multiple: median of limit / monthly income used to impute incomes.
        limit_income_sigma: log-sd of that multiple.
        savings_income_months: median savings buffer, in months of income.
        savings_sigma: log-sd of the savings buffer.
        savings_income_elasticity: how the median buffer (in months of income) rises with
            income: ``savings_income_months x (income / reference) ** elasticity``, with the
            reference the income of the UCI table's median limit (0 = the same months at
            every income).
        start_state: ``current`` (every account starts current, balances from the
            September bill) or ``uci_<month>`` (the repayment state "as of" that UCI
            month, April..September; see :func:`sim.world.population.build_population`).
        behaviour_window_months: months of UCI history, ending at the start month, from
            which behaviour types and habitual utilisation are derived, 1..6.
        history_months_mean: mean credit-history length at start, months.
        max_initial_mob: months on book at start are uniform on [0, this].
        savvy_share: share of credit-savvy borrowers (mechanism M10), in [0, 1].
        starting_book: ``underwritten`` (the book at the start is made of accounts this
            platform approved: the applicants' PD screen and initial-limit rule of the
            ``book`` group applied to the resampled rows, balances kept at their UCI
            utilisation; needs ``start_state = current``) or ``uci`` (the UCI rows with
            their own limits, for validation against the same accounts' observed
            outcomes). With ``underwritten`` the starting book and later originations come
            from one process, so the book's mix does not drift as it turns over.
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
    savings_income_elasticity: float = 0.0
    start_state: str = "current"
    behaviour_window_months: int = 6
    history_months_mean: float = 48.0
    max_initial_mob: int = 36
    savvy_share: float = 0.0
    starting_book: str = "underwritten"
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
                # Finite upper bounds keep every amount far inside float64 (no overflow,
                # exact cents): the largest UCI line, NT$ 1,000,000, times 100 CNY per
                # NT$ and a 1000-fold re-levelling is 1e11 CNY, under MAX_CONFIG_CNY. The
                # real rate is about 0.22 CNY per NT$; the shipped scale is 1.
                "cny_per_twd": (1e-9, 100.0),
                "limit_scale": (1e-9, 1000.0),
                "limit_income_multiple": (1e-6, 1000.0),
                "limit_income_sigma": (0.0, 5.0),
                "savings_income_months": (0.0, 1000.0),
                "savings_sigma": (0.0, 5.0),
                "savings_income_elasticity": (-2.0, 2.0),
                "history_months_mean": (0.0, 1000.0),
                "max_initial_mob": (0, 1000),
                "behaviour_window_months": (1, 6),
            },
        )
        _prob(self, p, "savvy_share")
        # The start state first: a bad one is named, not a conflict with the book.
        if self.start_state not in START_STATES:
            raise ValueError(
                f"population.start_state = {self.start_state!r}; allowed: {list(START_STATES)}"
            )
        if self.starting_book not in STARTING_BOOKS:
            raise ValueError(
                f"population.starting_book = {self.starting_book!r}; allowed: "
                f"{list(STARTING_BOOKS)}"
            )
        if self.starting_book == "underwritten" and self.start_state != "current":
            raise ValueError(
                "population.starting_book = 'underwritten' needs population.start_state = "
                f"'current' (got {self.start_state!r}: a book as of a UCI month is the data's "
                "own book); allowed with that start state: population.starting_book=uci"
            )
