"""Compiled servicing of the other lenders' books: one pass over the active rows, in place.

:func:`service_channels_compiled` is :meth:`sim.lending.channels.Channels.service` run by
the kernel :func:`service_channels_kernel`: for every candidate row (in parallel over
rows; each row reads and writes only its own slot) and every channel in order, an active
account (a balance, a due or a payment) is serviced in the book's tables with
:func:`sim.lending.accounts_kernel.service_account` (the platform's conventions, without
arrears), its fees split off the accrual, and the row's totals over channels are taken.
The per-channel month totals are NumPy sums over the same serviced rows in the same order
as the NumPy pass, so every total is bit-identical to it (and to any number of threads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.compiled import kernel, round_cny_scalar
from sim.lending.accounts_kernel import service_account
from sim.lending.channels.records import _RowSums

if TYPE_CHECKING:
    from sim.lending.channels import Channels

__all__ = ["service_channels_compiled", "service_channels_kernel"]

#: ``active`` codes: not serviced this month, serviced and performing, serviced defaulted.
INACTIVE, PERFORMING, DEFAULTED = 0, 1, 2


@kernel(parallel=True)
def service_channels_kernel(
    cand: np.ndarray,
    slots: np.ndarray,
    balance: np.ndarray,
    limit: np.ndarray,
    due: np.ndarray,
    missed: np.ndarray,
    defaulted: np.ndarray,
    charged_off: np.ndarray,
    default_step: np.ndarray,
    paid: np.ndarray,
    apr: np.ndarray,
    lgd: np.ndarray,
    min_payment_rate: np.ndarray,
    min_payment_floor_cny: np.ndarray,
    fee_share: np.ndarray,
    charge_off_dpd: int,
    step: int,
    active: np.ndarray,
    flows: np.ndarray,
    new_default: np.ndarray,
    charged: np.ndarray,
    interest_fees_total: np.ndarray,
    balance_month_sum: np.ndarray,
    row_balance: np.ndarray,
    row_due: np.ndarray,
    row_lenders: np.ndarray,
    row_owes: np.ndarray,
) -> None:
    """Service the active accounts of rows ``cand`` in the books' tables, in place.

    The book's tables are ``(n_slots, k)`` and are written in place.

    Args:
        cand: ``(m,)`` int64 candidate borrower rows.
        slots: ``(m,)`` int32 their slots (distinct but for the blank slot 0, which holds
            no active account and is not written).
        balance: balance table, CNY.
        limit: limit table, CNY (0 from default).
        due: minimum due table, CNY.
        missed: int16 table of consecutive missed payments.
        defaulted: bool table.
        charged_off: bool table.
        default_step: int32 table (``step`` for new defaults).
        paid: payments of the month, CNY; set to 0 on every channel of a candidate's slot.
        apr: ``(k,)`` carrying rates (APR + 12 x monthly fee rate).
        lgd: ``(k,)`` loss given default.
        min_payment_rate: ``(k,)`` minimum payment shares.
        min_payment_floor_cny: ``(k,)`` minimum payment floors, CNY.
        fee_share: ``(k,)`` monthly fees' share of the accrual.
        charge_off_dpd: DPD at which defaulted balances are written off.
        step: the month (1-based).
        active: ``(k, m)`` int8 out: :data:`INACTIVE`, :data:`PERFORMING` or
            :data:`DEFAULTED` (serviced, defaulted before the month).
        flows: ``(6, k, m)`` float64 out, per account: balance before servicing, interest
            net of fees, monthly fees, write-off, recoveries, EAD, CNY (unset where inactive).
        new_default: ``(k, m)`` bool out.
        charged: ``(n,)`` out, interest + fees charged per row (written at ``cand``).
        interest_fees_total: ``(n,)`` accumulator, ``charged`` added at ``cand``.
        balance_month_sum: ``(n,)`` accumulator, ``row_balance`` added at ``cand``.
        row_balance: ``(m,)`` out, month-end balance summed over channels in order.
        row_due: ``(m,)`` out, minimum due summed over channels in order (not rounded).
        row_lenders: ``(m,)`` int16 out, channels with a positive balance.
        row_owes: ``(m,)`` bool out, any balance or due.
    """
    m = cand.shape[0]
    k = apr.shape[0]
    for j in numba.prange(m):
        s = slots[j]
        total = 0.0
        for c in range(k):
            active[c, j] = INACTIVE
            new_default[c, j] = False
            b, d, p = balance[s, c], due[s, c], paid[s, c]
            if not (b > 0 or d > 0 or p > 0):
                continue
            active[c, j] = DEFAULTED if defaulted[s, c] else PERFORMING
            flows[0, c, j] = b
            # Statement, on-time months and payment ratio are scratch on these books.
            r = service_account(
                p,
                d,
                0.0,
                False,
                np.int64(missed[s, c]),
                defaulted[s, c],
                charged_off[s, c],
                b,
                limit[s, c],
                0.0,
                np.int64(0),
                apr[c],
                lgd[c],
                min_payment_rate[c],
                min_payment_floor_cny[c],
                charge_off_dpd,
            )
            missed[s, c] = r[0]
            defaulted[s, c] = r[1]
            charged_off[s, c] = r[2]
            balance[s, c] = r[3]
            limit[s, c] = r[4]
            due[s, c] = r[5]
            if r[12]:
                default_step[s, c] = step
            accrued = r[17]
            fees = round_cny_scalar(accrued * fee_share[c])
            flows[1, c, j] = accrued - fees
            flows[2, c, j] = fees
            flows[3, c, j] = r[15]
            flows[4, c, j] = r[16]
            flows[5, c, j] = r[13]
            new_default[c, j] = r[12]
            total += accrued
        if s != 0:
            for c in range(k):
                paid[s, c] = 0.0
        row = cand[j]
        charged[row] = total
        interest_fees_total[row] += total
        tb = 0.0
        td = 0.0
        lenders = 0
        owes = False
        for c in range(k):
            b, d = balance[s, c], due[s, c]
            tb = b if c == 0 else tb + b
            td = d if c == 0 else td + d
            if b > 0:
                lenders += 1
            owes = owes or b > 0 or d > 0
        balance_month_sum[row] += tb
        row_balance[j] = tb
        row_due[j] = td
        row_lenders[j] = lenders
        row_owes[j] = owes


def service_channels_compiled(ch: Channels, step: int) -> np.ndarray:
    """:meth:`Channels.service` (after its month check) by :func:`service_channels_kernel`.

    Returns:
        ``(n,)`` interest + monthly fees charged this month per borrower.
    """
    cand = ch.candidates()
    slots = ch.slot_of[cand]
    m, k = cand.size, ch.k
    active = np.empty((k, m), dtype=np.int8)
    flows = np.empty((6, k, m))
    new_default = np.empty((k, m), dtype=bool)
    charged = np.zeros(ch.n)
    row_balance, row_due = np.empty(m), np.empty(m)
    row_lenders, row_owes = np.empty(m, dtype=np.int16), np.empty(m, dtype=bool)
    fee_share = np.zeros(k)
    for c in range(k):
        apr = float(ch.carrying_apr[c])
        fee_share[c] = 12.0 * ch.monthly_fee_rate[c] / apr if apr > 0 else 0.0
    acc = ch._acc
    service_channels_kernel(
        cand,
        slots,
        acc["balance_cny"],
        acc["limit_cny"],
        acc["min_due_cny"],
        acc["missed"],
        acc["defaulted"],
        acc["charged_off"],
        acc["default_step"],
        acc["paid_cny"],
        np.ascontiguousarray(ch.carrying_apr, dtype=np.float64),
        np.ascontiguousarray(ch.lgd, dtype=np.float64),
        np.ascontiguousarray(ch.min_payment_rate, dtype=np.float64),
        np.ascontiguousarray(ch.min_payment_floor_cny, dtype=np.float64),
        fee_share,
        int(ch.config.charge_off_dpd),
        int(step),
        active,
        flows,
        new_default,
        charged,
        ch.interest_fees_total_cny,
        ch.balance_month_sum_cny,
        row_balance,
        row_due,
        row_lenders,
        row_owes,
    )
    # The month's totals: NumPy sums over each channel's serviced accounts in row order,
    # the very arrays (and so the very sums) of the NumPy pass.
    # (One gather of a channel's serviced accounts; each row of it is contiguous, and a
    # contiguous row's sum is NumPy's pairwise sum of that sequence.)
    month = ch.month
    for c in range(k):
        served = np.flatnonzero(active[c])
        if served.size == 0:
            continue
        x = flows[:, c].take(served, axis=1)
        month.accruing_balance_cny[c] += float(x[0][active[c, served] == PERFORMING].sum())
        month.interest_cny[c] += float(x[1].sum())
        month.monthly_fees_cny[c] += float(x[2].sum())
        month.write_off_cny[c] += float(x[3].sum())
        recoveries = float(x[4].sum())
        month.recoveries_cny[c] += recoveries
        month.ead_at_default_cny[c] += float(x[5].sum())
        month.default_count[c] += int(np.count_nonzero(new_default[c]))
        ch.lender_cash_cny[c] += recoveries
    sums = _RowSums(cand, row_balance, row_due, row_lenders, row_owes).where(row_owes)
    ch._mark[cand] = False
    ch._mark[sums.rows] = True
    ch._rows = sums.rows
    ch._sums = sums
    ch.charged_cny = charged
    return charged
