"""The ``funding`` stage: credit info for the lenders, the month's transfers, the stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.lending.channels import CreditInfo
from sim.lending.channels.credit import band_bounds
from sim.lending.funding.funding_reference import fund_firms_reference, fund_households_reference
from sim.lending.funding.stage_kernel import funding_compiled
from sim.lending.funding.waterfall import (
    fund_firms,
    fund_households,
)
from sim.units import round_cny
from sim.world.borrowers import RECENT_MONTHS

if TYPE_CHECKING:
    from sim.month import Month, World


@dataclass
class MonthTransfers:
    """Cash moved between households, firms and lenders outside the household stage, CNY.

    Household flows are per borrower, ``(n_borrowers,)``; firm flows are per firm,
    ``(n_firms,)``, and belong to the firm's owner (:meth:`per_borrower` maps them).
    The household flows are made (zeros) when first read or written, by ``funding`` and
    ``settlement``: until then they hold no memory (about 40 MB at 1.65 M rows less
    during the household stage, the month's peak; ``docs/performance.md``, "Memory").

    Attributes:
        household_channel_draws_cny: borrowed on other channels for household spending
            (spent at once: added to consumption).
        household_channel_fees_cny: upfront fees on those draws (added to balances).
        household_prepay_cny: households' repayments of channel balances from savings.
        owner_injection_cny: per firm, the owner's savings put into the firm (``own_cash``).
        firm_platform_draws_cny: per firm, the owner's platform line drawn for the firm.
        firm_channel_draws_cny: per firm, other channels drawn for the firm.
        firm_channel_fees_cny: per firm, upfront fees on those draws.
        firm_platform_repaid_cny: per firm, its repayments of the owner's platform line.
        firm_channel_repaid_cny: per firm, its repayments of the owner's channel balances.
        owner_draw_cny: per firm, the payout to the owner's savings.
        n_borrowers: the length of the household flows.
    """

    owner_injection_cny: np.ndarray
    firm_platform_draws_cny: np.ndarray
    firm_channel_draws_cny: np.ndarray
    firm_channel_fees_cny: np.ndarray
    firm_platform_repaid_cny: np.ndarray
    firm_channel_repaid_cny: np.ndarray
    owner_draw_cny: np.ndarray
    # Per borrower: None until first used (read as zeros, see __getattribute__).
    household_channel_draws_cny: np.ndarray | None = None
    household_channel_fees_cny: np.ndarray | None = None
    household_prepay_cny: np.ndarray | None = None
    n_borrowers: int = 0

    #: Fields held per firm.
    FIRM_FIELDS = (
        "owner_injection_cny",
        "firm_platform_draws_cny",
        "firm_channel_draws_cny",
        "firm_channel_fees_cny",
        "firm_platform_repaid_cny",
        "firm_channel_repaid_cny",
        "owner_draw_cny",
    )
    #: Fields held per borrower, made when first used.
    HOUSEHOLD_FIELDS = (
        "household_channel_draws_cny",
        "household_channel_fees_cny",
        "household_prepay_cny",
    )

    @classmethod
    def zeros(cls, n_borrowers: int, n_firms: int) -> MonthTransfers:
        """No transfers."""
        return cls(
            **{name: np.zeros(n_firms) for name in cls.FIRM_FIELDS}, n_borrowers=int(n_borrowers)
        )

    def __getattribute__(self, name: str) -> object:
        value = object.__getattribute__(self, name)
        if value is None and name in _HOUSEHOLD_FIELDS:
            value = np.zeros(object.__getattribute__(self, "n_borrowers"))
            object.__setattr__(self, name, value)
        return value

    def is_made(self, name: str) -> bool:
        """Household flow ``name`` (one of :attr:`HOUSEHOLD_FIELDS`) was read or set."""
        return object.__getattribute__(self, name) is not None

    def per_borrower(self, name: str, owners: np.ndarray) -> np.ndarray:
        """A flow as ``(n_borrowers,)``: firm flows summed onto their owners' rows."""
        values = getattr(self, name)
        if name not in self.FIRM_FIELDS:
            return values
        out = np.zeros(self.n_borrowers)
        out[owners] = values  # one firm per owner
        return out


_HOUSEHOLD_FIELDS = frozenset(MonthTransfers.HOUSEHOLD_FIELDS)


def credit_info(world: World, u_approval: np.ndarray | None = None) -> CreditInfo:
    """What other lenders see about each borrower this month (:class:`CreditInfo`).

    Args:
        world: the run's state.
        u_approval: this month's approval uniforms (``month.lender_draws``), or None.
    """
    s, f = world.borrowers, world.firms
    cc = world.config.channels
    return CreditInfo(
        band_bounds=band_bounds(s.pd_12m, cc.prime_share, cc.subprime_share),
        lenders_count=s.lenders_count,
        debt_service_cny=s.debt_service_cny,
        income_cny=s.income_cny,
        u_approval=u_approval,
        pd_12m=s.pd_12m,
        missed=s.missed,
        history_months=s.history_months,
        income_base_cny=s.income_base_cny,
        firm_of=world.firm_of,
        firm_open=f.is_open,
        firm_age_months=f.age_months,
        firm_revenue_cny=f.revenue_base_cny,
        firm_receivables_cny=f.receivables_total_cny,
        firm_anchor=f.has_anchor_buyer,
    )


def funding_stage(world: World, month: Month) -> None:
    """Stage ``funding``: households' and firms' gaps through the lenders.

    Households: unmet essential spending, then the unmet borrowing wish, on other
    lenders (:func:`fund_households`: in full on facilities held, a share elsewhere).
    Firms: own cash (the owner's spare savings) -> the owner's platform line -> other
    lenders -> unmet (:func:`fund_firms`); the platform line and personal cards only for
    owners who use personal credit for the business (``FirmState.uses_personal_credit``),
    and for every owner its earmarked tranche (``BorrowerState.earmarked_cny``), which a
    draw for the firm uses first.
    Writes ``month.household_funding``, ``month.firm_funding`` and the funding fields of
    ``month.transfers``.

    Runs as :func:`sim.compiled.implementation` says: the numba kernels (the waterfalls in
    :mod:`sim.lending.funding.funding_kernel`, one compiled pass per lender's turn, and the
    postings around them in :mod:`sim.lending.funding.stage_kernel`), the NumPy passes
    below (:func:`fund_households`, :func:`fund_firms`), or the waterfalls one household
    and one firm at a time (:mod:`sim.lending.funding.funding_reference`) with the NumPy
    postings; the same bits.
    """
    info = credit_info(world, month.lender_draws)
    # ---- implementation switch (sim.compiled): compiled kernels, reference, NumPy
    how = implementation()
    if how == "compiled":
        funding_compiled(world, month, info)
        return
    fund_h, fund_f = (
        (fund_households_reference, fund_firms_reference)
        if how == "reference"
        else (fund_households, fund_firms)
    )
    # ---- end of the implementation switch
    s, f, h = world.borrowers, world.firms, month.household
    t, step = month.transfers, month.step
    rows = np.flatnonzero(h.unmet_credit_cny > 0)
    needs = h.unmet_need_cny[rows]
    wants = round_cny(np.maximum(h.unmet_credit_cny[rows] - needs, 0.0))
    hf = fund_h(world.channels, rows, needs, wants, info, step)
    drawn = hf.draws_cny
    t.household_channel_draws_cny[rows] = drawn
    t.household_channel_fees_cny[rows] = hf.fees_cny
    consumption = h.consumption_cny.copy()
    consumption[rows] = round_cny(consumption[rows] + drawn)
    unmet_need = h.unmet_need_cny.copy()
    unmet_need[rows] = round_cny(needs - hf.needs_funded_cny)
    unmet_credit = h.unmet_credit_cny.copy()
    unmet_credit[rows] = round_cny(unmet_credit[rows] - drawn)
    hf.consumption_cny, hf.unmet_need_cny, hf.unmet_credit_cny = (
        consumption,
        unmet_need,
        unmet_credit,
    )
    s.unmet_need_total_cny += unmet_credit
    month.household_funding = hf

    owners = f.owner
    reserve = world.config.firms.owner_reserve_income_months * s.income_base_cny[owners]
    spare = round_cny(np.maximum(s.savings_cny[owners] - reserve, 0.0))
    headroom = np.maximum(s.limit_cny[owners] - s.balance_cny[owners], 0.0)
    platform_available = np.where(s.is_open[owners], headroom, 0.0)
    earmarked = np.minimum(s.earmarked_cny[owners], platform_available)
    ff = fund_f(
        month.firm_month.gap_cny,
        owners=owners,
        owner_spare_cny=spare,
        platform_available_cny=platform_available,
        channels=world.channels,
        info=info,
        step=step,
        personal_ok=f.uses_personal_credit,
        platform_earmarked_cny=earmarked,
    )
    injection = ff.by_step["own_cash"]
    platform_draw = ff.by_step["platform"]
    s.savings_cny[owners] = round_cny(s.savings_cny[owners] - injection)
    s.balance_cny[owners] = round_cny(s.balance_cny[owners] + platform_draw)
    f.platform_business_cny = round_cny(f.platform_business_cny + platform_draw)
    # A draw for the firm uses the earmarked tranche first (it does not revolve).
    s.earmarked_cny[owners] = round_cny(earmarked - np.minimum(platform_draw, earmarked))
    drew = owners[platform_draw > 0]
    s.draws_recent[step % RECENT_MONTHS, drew] += 1
    s.months_since_draw[drew] = 0
    t.owner_injection_cny = injection
    t.firm_platform_draws_cny = platform_draw
    t.firm_channel_draws_cny = ff.channels_cny
    t.firm_channel_fees_cny = ff.fees_cny
    month.firm_funding = ff
