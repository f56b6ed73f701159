"""Schema of the ``channels`` group (``conf/channels/default.yaml``): the other lenders."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config._checks import _from_dict, _prob, _rng_check
from sim.units import MAX_CONFIG_CNY

#: Bases a channel's per-borrower limit may be sized on.
LIMIT_BASES = ("income", "revenue", "receivables")
#: Waterfall steps that are not lenders of the channel table.
FUNDING_STEPS = ("own_cash", "platform")
#: Credit bands an approval probability is given for, best first (see
#: ``ChannelsConfig.prime_share``).
CREDIT_BANDS = ("prime", "near_prime", "subprime")


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
        approval_prob: probability that an application for a household purpose is
            approved, one per credit band of :data:`CREDIT_BANDS` (prime, near-prime,
            subprime), each in [0, 1]; the hard rules above must hold too.
        firm_approval_prob: the same for an application to fund the owned firm's gap.
        approval_lender_factor: each lender the applicant already owes beyond the first
            multiplies the approval probability by this, in [0, 1] (existing debts; the
            platform counts, M7).
        max_debt_service_ratio: approved only if last month's scheduled payments to every
            lender / income is at most this (>= 0).
        reapply_after_months: a rejected applicant may apply again this many months later
            (>= 1; a large value makes access a lasting trait, as for informal lenders).
        monthly_capacity_per_borrower_cny: the lender's monthly lending capacity: the
            cash it lends in a month (every purpose together) is at most this x the rows
            of the simulated book (so it scales with the sample), CNY >= 0; None for no
            limit. When a month's requests pass what is left, each asking row gets the
            same share of its request (:meth:`sim.lending.channels.LenderTable.ration`);
            households ask before firms.
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
    approval_prob: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    firm_approval_prob: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    approval_lender_factor: float = 1.0
    max_debt_service_ratio: float = 1000.0
    reapply_after_months: int = 1
    monthly_capacity_per_borrower_cny: float | None = None

    def check(self, prefix: str) -> None:
        """Range checks (called by :class:`ChannelsConfig` with the lender's path)."""
        _prob(self, prefix, "upfront_fee_rate", "monthly_fee_rate", "max_pd_12m", "lgd")
        _prob(self, prefix, "min_payment_rate", "approval_lender_factor")
        for name in ("approval_prob", "firm_approval_prob"):
            probs = getattr(self, name)
            ok = isinstance(probs, list | tuple) and len(probs) == len(CREDIT_BANDS)
            ok = ok and all(
                isinstance(p, int | float) and not isinstance(p, bool) and 0.0 <= p <= 1.0
                for p in probs
            )
            if not ok:
                raise ValueError(
                    f"{prefix}.{name} = {probs!r}; allowed: {len(CREDIT_BANDS)} probabilities "
                    f"in [0, 1], one per credit band {list(CREDIT_BANDS)}"
                )
            setattr(self, name, [float(p) for p in probs])
        _rng_check(
            self,
            prefix,
            {
                "apr": (0.0, 10.0),
                "approval_lag_months": (0, 24),
                "max_dpd": (0, 100_000),
                "min_history_months": (0, 1200),
                "limit_multiple": (0.0, 1000.0),
                "max_limit_cny": (0.0, MAX_CONFIG_CNY),
                "min_payment_floor_cny": (0.0, MAX_CONFIG_CNY),
                "max_debt_service_ratio": (0.0, 1000.0),
                "reapply_after_months": (1, 100_000),
            },
        )
        if self.monthly_capacity_per_borrower_cny is not None:
            _rng_check(self, prefix, {"monthly_capacity_per_borrower_cny": (0.0, MAX_CONFIG_CNY)})
        if self.limit_basis not in LIMIT_BASES:
            raise ValueError(
                f"{prefix}.limit_basis = {self.limit_basis!r}; allowed: {list(LIMIT_BASES)}"
            )


@dataclass
class ChannelsConfig:
    """The funding waterfall and the other lenders (channels) beside the platform.

    Attributes:
        order: the funding waterfall, first step first: ``own_cash`` (a firm's own cash,
            then the owner's savings above the reserve), ``platform`` (the platform line,
            if the limit allows) and lender names of ``lenders``. Lenders not listed are
            never used. Households reach only the lenders after ``platform`` (their own
            cash and the platform line are used in the household stage). Required.
        lenders: the channel table, keyed by lender name. Required: the waterfall and
            its table have no schema default (the default ones are
            ``conf/channels/default.yaml``).
        lpr: one-year loan prime rate, annual fraction.
        private_lending_cap_lpr_multiple: the court's cap on private-lending interest,
            as a multiple of the LPR.
        apply_private_lending_cap: cap the APR of ``private_lending`` channels.
        household_wants_seek_share: share of a household's unmet discretionary borrowing
            wish it applies for at lenders where it holds no facility yet, in [0, 1]
            (a facility already held, such as a card, is drawn for the whole wish).
        prepay_excess_share: share of cash above the reserve (households) or the target
            buffer (firms) used each month to repay other channels, costliest first.
        charge_off_dpd: DPD at which defaulted channel balances are written off (>= 90).
        prime_share, subprime_share: the credit bands other lenders approve by: each
            month the best-scored ``prime_share`` of borrowers (by the platform's
            ``pd_12m``, the shared credit score) are prime, the worst-scored
            ``subprime_share`` subprime, the rest near-prime; fractions, sum <= 1.
    """

    order: list[str] = field(kw_only=True)
    lenders: dict[str, ChannelConfig] = field(kw_only=True)
    lpr: float = 0.0385
    private_lending_cap_lpr_multiple: float = 4.0
    apply_private_lending_cap: bool = True
    household_wants_seek_share: float = 0.5
    prepay_excess_share: float = 1.0
    charge_off_dpd: int = 180
    prime_share: float = 0.73
    subprime_share: float = 0.15

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
        _prob(self, p, "prime_share", "subprime_share")
        if self.prime_share + self.subprime_share > 1.0:
            raise ValueError(
                f"{p}.prime_share + {p}.subprime_share = "
                f"{self.prime_share + self.subprime_share} must be <= 1"
            )
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
