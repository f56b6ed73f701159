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

#: Bits of an account's ``active`` code: serviced this month; performing before it (its
#: balance accrues); defaulted this month; a default or charge-off this month (its rare
#: flows are written). 0: not serviced.
SERVICED, PERFORMING, NEW_DEFAULT, EVENT = 1, 2, 4, 8
#: Candidate rows per chunk: gathered together, then serviced (a chunk's accounts stay
#: in the cache between the two loops).
CHUNK_ROWS = 512


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
    rare: np.ndarray,
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
        active: ``(k, m)`` int8 out, each account's code: the bits :data:`SERVICED`,
            :data:`PERFORMING`, :data:`NEW_DEFAULT`, :data:`EVENT` (0: not serviced).
        flows: ``(3, k, m)`` float64 out, per serviced account: balance before servicing
            (performing accounts only), interest net of fees, monthly fees, CNY.
        rare: ``(3, k, m)`` float64 out, per account with an :data:`EVENT`: write-off,
            recoveries, EAD, CNY (other entries are not written).
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
    for chunk in numba.prange((m + CHUNK_ROWS - 1) // CHUNK_ROWS):
        lo = chunk * CHUNK_ROWS
        hi = min(lo + CHUNK_ROWS, m)
        # The chunk's accounts gathered first, in a tight loop of independent loads: the
        # books are far larger than the cache, and a loop that also services each account
        # would wait for one slot's memory at a time.
        got = np.empty((7, hi - lo, k))
        for j in range(lo, hi):
            s = slots[j]
            for c in range(k):
                got[0, j - lo, c] = balance[s, c]
                got[1, j - lo, c] = due[s, c]
                got[2, j - lo, c] = paid[s, c]
                got[3, j - lo, c] = limit[s, c]
                got[4, j - lo, c] = missed[s, c]
                got[5, j - lo, c] = defaulted[s, c]
                got[6, j - lo, c] = charged_off[s, c]
        for j in range(lo, hi):
            s = slots[j]
            row = cand[j]
            i = j - lo
            total = 0.0
            for c in range(k):
                b, d, p = got[0, i, c], got[1, i, c], got[2, i, c]
                if not (b > 0 or d > 0 or p > 0):
                    active[c, j] = 0
                    continue
                code = SERVICED
                if got[5, i, c] == 0:
                    code |= PERFORMING
                    flows[0, c, j] = b
                was_charged_off = got[6, i, c] != 0
                # Statement, on-time months and payment ratio are scratch on these books.
                r = service_account(
                    p,
                    d,
                    0.0,
                    False,
                    np.int64(got[4, i, c]),
                    got[5, i, c] != 0,
                    was_charged_off,
                    b,
                    got[3, i, c],
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
                if r[12]:
                    code |= NEW_DEFAULT
                if r[12] or (r[2] and not was_charged_off):
                    code |= EVENT
                    rare[0, c, j] = r[15]
                    rare[1, c, j] = r[16]
                    rare[2, c, j] = r[13]
                active[c, j] = code
                total += accrued
            if s != 0:
                for c in range(k):
                    paid[s, c] = 0.0
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
    flows = np.empty((3, k, m))
    rare = np.empty((3, k, m))  # written only where an account defaults or is charged off
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
        rare,
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
    # The serviced accounts' flows in row order, so each sum is NumPy's pairwise sum of
    # the very sequence the NumPy pass sums; the rare flows are zero but at their events.
    month = ch.month
    for c in range(k):
        served = np.flatnonzero(active[c])
        if served.size == 0:
            continue
        code = active[c].take(served)
        performing = served[(code & PERFORMING) != 0]
        month.accruing_balance_cny[c] += float(flows[0, c].take(performing).sum())
        month.interest_cny[c] += float(flows[1, c].take(served).sum())
        month.monthly_fees_cny[c] += float(flows[2, c].take(served).sum())
        events = np.flatnonzero(code & EVENT)
        totals = np.zeros(3)
        if events.size:
            at_events = served.take(events)
            for f in range(3):
                x = np.zeros(served.size)
                x[events] = rare[f, c].take(at_events)
                totals[f] = x.sum()
        month.write_off_cny[c] += float(totals[0])
        month.recoveries_cny[c] += float(totals[1])
        month.ead_at_default_cny[c] += float(totals[2])
        month.default_count[c] += int(np.count_nonzero(code & NEW_DEFAULT))
        ch.lender_cash_cny[c] += float(totals[1])
    sums = _RowSums(cand, row_balance, row_due, row_lenders, row_owes).where(row_owes)
    ch._mark[cand] = False
    ch._mark[sums.rows] = True
    ch._rows = sums.rows
    ch._sums = sums
    ch.charged_cny = charged
    return charged
