"""The lenders' books over a month: opened at its start, serviced after settlement.

Servicing applies the month's payments on the platform's lines and on every other
lender's accounts: delinquency, default (the line closes with a ``CLOSED_AT_DEFAULT``
limit event), charge-off, interest and the new statement
(:func:`sim.lending.accounts.service_accounts`, :meth:`sim.lending.channels.Channels.service`).
Lenders per borrower and debt service across all lenders are updated for the score (M7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.lending.accounts import service_accounts
from sim.lending.funding import MonthTransfers
from sim.platform.policies.reasons import ReasonCode
from sim.units import round_cny

if TYPE_CHECKING:
    from sim.month import Month, World


def open_books_stage(world: World, month: Month) -> None:
    """Stage ``open_books``: the other lenders start the month; ``month.transfers`` zeroed."""
    world.channels.new_month()
    month.transfers = MonthTransfers.zeros(world.borrowers.n, world.firms.n)


def servicing_stage(world: World, month: Month) -> None:
    """Stage ``servicing``: writes ``month.servicing`` and ``month.accruing_balance_cny``.

    Updates the platform lines and their per-run accumulators, the other lenders' books,
    ``lenders_count`` and ``debt_service_cny``, and ``world.platform_cash_cny``; adds one
    ``CLOSED_AT_DEFAULT`` limit event per line closed at default.
    """
    s = world.borrowers
    pc = world.config.platform
    h, t = month.household, month.transfers
    owners = world.firms.owner
    accruing = float(s.balance_cny[s.is_open].sum())
    platform_paid = h.scheduled_payment_cny.copy()
    platform_paid[owners] = round_cny(platform_paid[owners] + t.firm_platform_repaid_cny)
    flows = service_accounts(
        s,
        platform_paid,
        step=month.step,
        lgd=pc.lgd,
        min_payment_rate=pc.min_payment_rate,
        min_payment_floor_cny=pc.min_payment_floor_cny,
        charge_off_dpd=pc.charge_off_dpd,
    )
    s.interest_total_cny += flows.interest_cny
    s.balance_month_sum_cny += s.balance_cny
    s.lenders_count[:] = s.balance_cny > 0
    s.debt_service_cny[:] = s.min_due_cny
    s.mob += ~s.defaulted
    np.minimum(s.history_months + 1, 30_000, out=s.history_months)
    month.accruing_balance_cny = accruing

    world.channels.service(month.step)
    rows, channel_lenders, channel_dues = world.channels.row_totals()
    s.lenders_count[rows] += channel_lenders
    s.debt_service_cny[rows] = round_cny(s.min_due_cny[rows] + channel_dues)
    world.platform_cash_cny += float(
        h.repayments_cny.sum()
        + t.firm_platform_repaid_cny.sum()
        + flows.recoveries_cny.sum()
        - h.draws_cny.sum()
        - t.firm_platform_draws_cny.sum()
    )
    closed = np.flatnonzero(flows.new_default)
    if closed.size:
        month.add_limit_events(
            closed,
            flows.limit_closed_cny[closed],
            s.limit_cny[closed],
            np.full(closed.size, ReasonCode.CLOSED_AT_DEFAULT, dtype=np.int8),
        )
    month.servicing = flows
