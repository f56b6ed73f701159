"""The limit-policy interface: a read-only portfolio view in, new limits and reasons out.

A policy never reaches into the model. Each month the platform builds a
:class:`PortfolioView` (arrays, one row per borrower, all read-only) and calls
:meth:`LimitPolicy.review`, which returns a :class:`LimitDecision`. The platform
applies it, records one event per changed limit and enforces the invariants
(limits >= 0, closed lines stay at 0).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sim.platform.policies.checks import check_range, check_whole_cents
from sim.units import MAX_CONFIG_CNY


@dataclass(frozen=True)
class PortfolioView:
    """Read-only per-borrower features the platform's policy may use.

    Every array has shape ``(n_borrowers,)`` and is write-protected. Money is CNY.

    Attributes:
        step: the month of the review in the comparison window (1 in the window's first
            month; burn-in months are <= 0), int.
        calendar_month: calendar month of the review, 1..12.
        macro_regime: scenario regime name of this month ("baseline", "downturn",
            "recovery", "boom").
        limit_cny: current credit limit, float64, >= 0.
        initial_limit_cny: limit at origination, float64.
        balance_cny: drawn balance after this month's servicing, float64, >= 0.
        utilisation: balance / limit (0 where the limit is 0), float64.
        pd_12m: 12-month probability of default from the platform scorecard, float64 in [0, 1].
        dpd: days past due, int16, multiples of 30.
        is_open: line open (not defaulted, not closed), bool.
        mob: months on book, int16.
        history_months: length of the borrower's credit history in months, int16.
        draws_3m: number of draws in the last 3 months (this month included), int16.
        early_repayments_3m: draws repaid in full in the month they were made, last 3 months, int16.
        on_time_months: consecutive months with the minimum paid on time, int16.
        months_since_draw: months since the last draw (large if never), int16.
        spending_diversity: normalised entropy of the spending-category mix, float64 in [0, 1].
        high_risk_flag: a high-risk transaction was flagged this month, bool.
        lenders_count: number of lenders with a balance (platform included), int16.
        debt_service_ratio: this month's scheduled debt payments / income, float64 >= 0.
        income_cny: this month's income, float64 >= 0.
        owns_firm: the borrower owns a micro-enterprise, bool.
        firm_cash_buffer_days: the owned firm's cash buffer days (NaN if none), float64.
        firm_peak_ahead: the owned firm's sector has a seasonal peak within the
            look-ahead window, bool.
        savvy: the borrower follows the platform's advice (mechanism M10), bool.
        firm_uses_personal_credit: the owner pays the firm's bills from the personal line
            (the platform sees its merchant flows), bool; None when not provided (read
            as every owner).
        firm_peak_need_cny: the owned firm's projected stock-build shortfall before its
            next peak (stock + fixed costs - cash - a normal month's sales), float64 CNY,
            0 without a peak ahead; None when not provided.
        earmarked_cny: the undrawn part of the limit earmarked for the owned firm's
            working capital (``BorrowerState.earmarked_cny``), float64 CNY; None when not
            provided (read as none).
        firm_age_months: months the owned firm has traded (-1 without an open firm),
            int32; None when not provided.
    """

    step: int
    calendar_month: int
    macro_regime: str
    limit_cny: np.ndarray
    initial_limit_cny: np.ndarray
    balance_cny: np.ndarray
    utilisation: np.ndarray
    pd_12m: np.ndarray
    dpd: np.ndarray
    is_open: np.ndarray
    mob: np.ndarray
    history_months: np.ndarray
    draws_3m: np.ndarray
    early_repayments_3m: np.ndarray
    on_time_months: np.ndarray
    months_since_draw: np.ndarray
    spending_diversity: np.ndarray
    high_risk_flag: np.ndarray
    lenders_count: np.ndarray
    debt_service_ratio: np.ndarray
    income_cny: np.ndarray
    owns_firm: np.ndarray
    firm_cash_buffer_days: np.ndarray
    firm_peak_ahead: np.ndarray
    savvy: np.ndarray
    risk_appetite: float = 1.0
    firm_uses_personal_credit: np.ndarray | None = None
    firm_peak_need_cny: np.ndarray | None = None
    earmarked_cny: np.ndarray | None = None
    firm_age_months: np.ndarray | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value = value.view()
                value.flags.writeable = False
                object.__setattr__(self, field.name, value)

    @property
    def n_borrowers(self) -> int:
        """Number of borrowers (rows)."""
        return int(self.limit_cny.shape[0])

    def subset(self, mask: np.ndarray) -> PortfolioView:
        """Return the view restricted to the rows where ``mask`` is True.

        Args:
            mask: ``(n_borrowers,)`` bool.
        """
        changes = {
            f.name: getattr(self, f.name)[mask]
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class LimitDecision:
    """A policy's answer for one review.

    Attributes:
        new_limit_cny: ``(n_borrowers,)`` float64, the limit each borrower should have.
            Rows equal to the current limit are "no change".
        reason: ``(n_borrowers,)`` int8 of :class:`ReasonCode`; must be non-zero exactly
            where the limit changes.
        earmarked_cny: ``(n_borrowers,)`` float64 CNY >= 0, the part of the new limit's
            headroom earmarked for the owner's firm (only the firm's gap may draw it; the
            platform keeps it within the headroom), or None to leave the earmarks as
            they are.
    """

    new_limit_cny: np.ndarray
    reason: np.ndarray
    earmarked_cny: np.ndarray | None = None

    @classmethod
    def unchanged(cls, view: PortfolioView) -> LimitDecision:
        """No change for anyone."""
        return cls(view.limit_cny.copy(), np.zeros(view.n_borrowers, dtype=np.int8))


@dataclass
class PolicyConfig:
    """Fields every policy config has.

    Attributes:
        name: registry key, equal to the YAML file name in ``conf/policy/``.
        min_limit_cny: floor for a cut that keeps the line open, CNY >= 0.
        max_limit_cny: ceiling for any raise, CNY > 0 (Jiebei's advertised maximum
            line is RMB 300,000; Jiebei product terms, Ant FAQ copies unverified prior).

    Both are at most :data:`sim.units.MAX_CONFIG_CNY` (1e12 CNY: cents stay exact).
    """

    name: str = "static"
    min_limit_cny: float = 0.0
    max_limit_cny: float = 300_000.0

    def __post_init__(self) -> None:
        check_range(self, "min_limit_cny", 0.0, MAX_CONFIG_CNY)
        check_range(self, "max_limit_cny", 0.0, MAX_CONFIG_CNY, low_open=True)
        # Limits are set in whole cents (LimitPolicy.clip rounds to 0.01 CNY): a floor or
        # ceiling between two cents would be rounded past, and the platform refuses that.
        check_whole_cents(self, "min_limit_cny", "[0.0, 1e12]")
        check_whole_cents(self, "max_limit_cny", "(0.0, 1e12]")
        if self.min_limit_cny > self.max_limit_cny:
            raise ValueError(
                f"policy.min_limit_cny ({self.min_limit_cny}) must be <= "
                f"policy.max_limit_cny ({self.max_limit_cny})"
            )


def cut_floor_cny(balance_cny: np.ndarray, min_limit_cny: float | np.ndarray) -> np.ndarray:
    """The lowest limit a cut may set: the drawn balance (up to the cent), at least the floor.

    A cut removes undrawn limit; it does not put an account over its limit.

    Args:
        balance_cny: ``(m,)`` drawn balances, CNY.
        min_limit_cny: the policy's ``min_limit_cny`` (a scalar, or ``(m,)``).

    Returns:
        ``(m,)`` float64 CNY, whole cents.
    """
    return np.maximum(min_limit_cny, np.ceil(balance_cny * 100.0 - 1e-6) / 100.0 + 0.0)


class LimitPolicy(ABC):
    """Base class of limit policies.

    Subclasses set ``name`` (the registry key and YAML file name) and ``config_class``
    (a :class:`PolicyConfig` subclass), and implement :meth:`review`. A policy may keep
    per-borrower state of its own (e.g. temporary cuts to restore); :meth:`reset` sizes it.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[PolicyConfig]] = PolicyConfig

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config

    def reset(self, n_borrowers: int) -> None:  # noqa: B027 - optional hook
        """Prepare per-borrower state for a portfolio of ``n_borrowers`` rows."""

    def grow(self, n_borrowers: int) -> None:
        """Extend per-borrower state to ``n_borrowers`` rows: new accounts were appended.

        The book is open (originations append rows at the end each month; existing rows
        keep their index), so a policy with per-borrower memory extends it here, the new
        rows starting as :meth:`reset` would start them. A policy without such memory
        needs nothing.

        Raises:
            NotImplementedError: the policy overrides :meth:`reset` (so it keeps
                per-borrower state) but not this method.
        """
        if type(self).reset is not LimitPolicy.reset:
            raise NotImplementedError(
                f"policy {self.name!r} keeps per-borrower state (it overrides reset) but "
                "has no grow(n_borrowers): new accounts join the book every month; "
                "implement grow, or run with book.applicants_per_month_share=0"
            )

    def initial_limit_cny(
        self, proposed_cny: np.ndarray, pd_12m: np.ndarray, income_cny: np.ndarray
    ) -> np.ndarray:
        """The opening limits of this month's approved applicants (override to change them).

        The platform's rule (``book`` config) proposes each limit; the platform then
        keeps the result within ``book.initial_limit_min_cny`` .. ``initial_limit_cap_cny``
        and rounds it down to 100 CNY.

        Args:
            proposed_cny: ``(m,)`` the platform rule's limits, CNY.
            pd_12m: ``(m,)`` the applicants' 12-month PD at application.
            income_cny: ``(m,)`` their monthly base income, CNY.

        Returns:
            ``(m,)`` float64 limits, CNY (default: the proposal).
        """
        return proposed_cny

    def limit_bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The floor and ceiling of the last review's limits, which the platform enforces.

        Args:
            rows: ``(m,)`` int borrower rows whose limits changed.

        Returns:
            ``(min_limit_cny, max_limit_cny)``, each ``(m,)`` float64 CNY: this config's
            ``min_limit_cny`` / ``max_limit_cny`` (a policy that applies other configs to
            some rows, such as champion/challenger, overrides this).
        """
        m = np.shape(rows)[0]
        return np.full(m, self.config.min_limit_cny), np.full(m, self.config.max_limit_cny)

    @abstractmethod
    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Decide new limits for every borrower.

        Args:
            view: the read-only portfolio view of this month.
            rng: the platform's random stream (never the world's).

        Returns:
            The new limits and one reason code per changed row.
        """

    def clip(
        self, new_limit_cny: np.ndarray, view: PortfolioView, rows: slice = slice(None)
    ) -> np.ndarray:
        """Finalise proposed limits: the platform's invariants for every policy.

        Rounds to 0.01 CNY; keeps raises at or under ``max_limit_cny`` and cuts at or above
        ``min_limit_cny``; never cuts below the drawn balance (a cut removes undrawn
        limit, it does not put the account over its limit); closed lines stay at 0; rows
        left equal to the current limit are returned exactly unchanged.

        Args:
            new_limit_cny: ``(m,)`` proposed limits of the view's rows ``rows``, CNY.
            view: the view the proposal was made from.
            rows: the block of the view's rows proposed for (default all: ``m = n``).

        Returns:
            ``(m,)`` float64 final limits.
        """
        limit_all = view.limit_cny[rows]
        proposed_all = np.asarray(new_limit_cny, dtype=np.float64)
        # Rows proposed at their current limit come out exactly unchanged: finalise only
        # the (few) proposed changes.
        changed = np.flatnonzero(proposed_all != limit_all)
        limit, proposed = limit_all[changed], proposed_all[changed]
        cut_floor = cut_floor_cny(view.balance_cny[rows][changed], self.config.min_limit_cny)
        out = np.where(
            proposed < limit,
            np.minimum(limit, np.maximum(proposed, cut_floor)),
            np.where(
                proposed > limit,
                np.maximum(limit, np.minimum(proposed, self.config.max_limit_cny)),
                limit,
            ),
        )
        out = np.round(out, 2)
        final = limit_all.copy()
        final[changed] = np.where(np.abs(out - limit) < 0.005, limit, out)
        return np.where(view.is_open[rows], final, 0.0)
