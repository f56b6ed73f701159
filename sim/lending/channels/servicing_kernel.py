"""Compiled servicing of the other lenders' books: one pass over the active rows, in place.

:func:`service_channels_compiled` is :meth:`sim.lending.channels.Channels.service` run by
the kernel :func:`service_channels_kernel`: for every candidate row (in parallel over
rows; each row reads and writes only its own slot) and every channel in order, an active
account (a balance, a due or a payment) is serviced in the book's tables with
:func:`sim.lending.accounts_kernel.service_account` (the platform's conventions, without
arrears), its fees split off the accrual, and the row's totals over channels are taken.
A first pass (:func:`served_counts_kernel`) counts each chunk's accounts to service per
channel, so that the servicing pass writes each channel's flows to consecutive entries in
row order; the per-channel month totals are then NumPy sums of those entries, the very
sequences the NumPy pass sums, so every total is bit-identical to it (and to any number
of threads).
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

__all__ = ["service_channels_compiled", "service_channels_kernel", "served_counts_kernel"]

#: Candidate rows per chunk: gathered together, then serviced (a chunk's accounts stay
#: in the cache between the two loops).
CHUNK_ROWS = 512


@kernel(parallel=True)
def served_counts_kernel(
    cand: np.ndarray,
    slots: np.ndarray,
    balance: np.ndarray,
    due: np.ndarray,
    paid: np.ndarray,
    defaulted: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Count each chunk's accounts to service, and those performing, per channel.

    An account is serviced if it has a balance, a due or a payment this month; it is
    performing (its balance accrues) if not defaulted. ``counts`` is ``(n_chunks, k, 2)``
    int64 out (chunks of :data:`CHUNK_ROWS` candidates, in order): serviced, performing.
    The tables are as in :func:`service_channels_kernel`.
    """
    m = cand.shape[0]
    k = balance.shape[1]
    for chunk in numba.prange((m + CHUNK_ROWS - 1) // CHUNK_ROWS):
        for c in range(k):
            counts[chunk, c, 0] = 0
            counts[chunk, c, 1] = 0
        lo = chunk * CHUNK_ROWS
        for t in range(min(CHUNK_ROWS, m - lo)):
            # Slots are >= 0: unsigned, the reads need no negative-index wraparound; the
            # tests are or-ed and counted without branches (the outcomes are random).
            s = np.uint64(slots[lo + t])
            for c in range(k):
                active = (balance[s, c] > 0) | (due[s, c] > 0) | (paid[s, c] > 0)
                counts[chunk, c, 0] += active
                counts[chunk, c, 1] += active & (not defaulted[s, c])


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
    at: np.ndarray,
    accruing: np.ndarray,
    interest: np.ndarray,
    fees: np.ndarray,
    rare: np.ndarray,
    events: np.ndarray,
    charged: np.ndarray,
    interest_fees_total: np.ndarray,
    balance_month_sum: np.ndarray,
    row_balance: np.ndarray,
    row_due: np.ndarray,
    row_lenders: np.ndarray,
    row_owes: np.ndarray,
) -> None:
    """Service the active accounts of rows ``cand`` in the books' tables, in place.

    The book's tables are ``(n_slots, k)`` and are written in place. Each channel's
    serviced accounts write their flows, in candidate order, to consecutive entries of
    the flat outputs from the chunk's first entry ``at`` (from
    :func:`served_counts_kernel`'s counts), so that a channel's entries are its serviced
    accounts in row order.

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
        at: ``(n_chunks, k, 2)`` int64, each chunk's first entry per channel in the
            serviced outputs (``[..., 0]``) and in ``accruing`` (``[..., 1]``).
        accruing: ``(p,)`` out, the balance before servicing of each performing account.
        interest: ``(q,)`` out, interest net of fees of each serviced account, CNY.
        fees: ``(q,)`` out, monthly fees of each serviced account, CNY.
        rare: ``(3, q)`` zeros in; write-off, recoveries and EAD written at the accounts
            that default or are charged off this month, CNY.
        events: ``(n_chunks, k, 2)`` int64 out, per chunk and channel: new defaults,
            accounts with a default or charge-off this month.
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
        for i in range(hi - lo):
            s = np.uint64(slots[lo + i])  # >= 0: no negative-index wraparound at each read
            for c in range(k):
                got[0, i, c] = balance[s, c]
                got[1, i, c] = due[s, c]
                got[2, i, c] = paid[s, c]
                got[3, i, c] = limit[s, c]
                got[4, i, c] = missed[s, c]
                got[5, i, c] = defaulted[s, c]
                got[6, i, c] = charged_off[s, c]
        pos = np.empty(k, dtype=np.int64)
        perf = np.empty(k, dtype=np.int64)
        for c in range(k):
            pos[c] = at[chunk, c, 0]
            perf[c] = at[chunk, c, 1]
            events[chunk, c, 0] = 0
            events[chunk, c, 1] = 0
        for j in range(lo, hi):
            s = slots[j]
            row = cand[j]
            i = j - lo
            total = 0.0
            for c in range(k):
                b, d, p = got[0, i, c], got[1, i, c], got[2, i, c]
                if not (b > 0 or d > 0 or p > 0):
                    continue
                if got[5, i, c] == 0:
                    accruing[perf[c]] = b
                    perf[c] += 1
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
                    events[chunk, c, 0] += 1
                accrued = r[17]
                f = round_cny_scalar(accrued * fee_share[c])
                q = pos[c]
                interest[q] = accrued - f
                fees[q] = f
                if r[12] or (r[2] and not was_charged_off):
                    events[chunk, c, 1] += 1
                    rare[0, q] = r[15]
                    rare[1, q] = r[16]
                    rare[2, q] = r[13]
                pos[c] = q + 1
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
    acc = ch._acc
    n_chunks = (m + CHUNK_ROWS - 1) // CHUNK_ROWS
    counts = np.empty((n_chunks, k, 2), dtype=np.int64)
    served_counts_kernel(
        cand, slots, acc["balance_cny"], acc["min_due_cny"], acc["paid_cny"], acc["defaulted"],
        counts,
    )  # fmt: skip
    # Each channel's entries follow the previous channel's; within a channel, chunk order.
    per_channel = counts.sum(axis=0)  # (k, 2)
    channel_start = np.cumsum(per_channel, axis=0) - per_channel
    at = np.cumsum(counts, axis=0) - counts + channel_start[None, :, :]
    served_total, performing_total = per_channel.sum(axis=0)
    accruing = np.empty(performing_total)
    interest, fees = np.empty(served_total), np.empty(served_total)
    rare = np.zeros((3, served_total))  # written only where an account defaults or is charged off
    events = np.empty((n_chunks, k, 2), dtype=np.int64)
    # Zeroed in place: the array keeps its buffer, with room for the rows appended later
    # (a new one each month would be copied whole into a new buffer at the next append).
    charged = ch.charged_cny
    charged.fill(0.0)
    row_balance, row_due = np.empty(m), np.empty(m)
    row_lenders, row_owes = np.empty(m, dtype=np.int16), np.empty(m, dtype=bool)
    fee_share = np.zeros(k)
    for c in range(k):
        apr = float(ch.carrying_apr[c])
        fee_share[c] = 12.0 * ch.monthly_fee_rate[c] / apr if apr > 0 else 0.0
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
        at,
        accruing,
        interest,
        fees,
        rare,
        events,
        charged,
        ch.interest_fees_total_cny,
        ch.balance_month_sum_cny,
        row_balance,
        row_due,
        row_lenders,
        row_owes,
    )
    # The month's totals: NumPy sums of each channel's entries, which are its serviced
    # accounts' flows in row order: the very sequences (and so the very sums) of the
    # NumPy pass. The rare flows are zero but at their events, as there.
    month = ch.month
    per_event = events.sum(axis=0)  # (k, 2)
    for c in range(k):
        served = slice(channel_start[c, 0], channel_start[c, 0] + per_channel[c, 0])
        if per_channel[c, 0] == 0:
            continue
        performing = accruing[channel_start[c, 1] : channel_start[c, 1] + per_channel[c, 1]]
        month.accruing_balance_cny[c] += float(performing.sum())
        month.interest_cny[c] += float(interest[served].sum())
        month.monthly_fees_cny[c] += float(fees[served].sum())
        totals = np.zeros(3)
        if per_event[c, 1]:
            for f in range(3):
                totals[f] = rare[f, served].sum()
        month.write_off_cny[c] += float(totals[0])
        month.recoveries_cny[c] += float(totals[1])
        month.ead_at_default_cny[c] += float(totals[2])
        month.default_count[c] += int(per_event[c, 0])
        ch.lender_cash_cny[c] += float(totals[1])
    sums = _RowSums(cand, row_balance, row_due, row_lenders, row_owes).where(row_owes)
    ch._mark[cand] = False
    ch._mark[sums.rows] = True
    ch._rows = sums.rows
    ch._sums = sums
    ch.charged_cny = charged
    return charged
