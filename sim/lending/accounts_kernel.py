"""Compiled servicing of credit lines: one account's month, and the platform's rows in parallel.

:func:`service_account` applies one month to one account with exactly the operations of
the NumPy pass :func:`sim.lending.accounts._service_rows` (same order, the same masked
products, :func:`sim.compiled.round_cny_scalar` for every rounding to the cent), so its
results are bit-identical to NumPy's. :func:`service_rows_kernel` runs it over every row
of the platform's book (``prange``: each row reads and writes only itself, so the result
does not depend on the number of threads); the other lenders' kernel
(:mod:`sim.lending.channels.servicing_kernel`) runs it over their active accounts.

The conventions (delinquency, contractual ageing, default, charge-off, interest, the
statement and the minimum due) are those of :mod:`sim.lending.accounts`.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import kernel, round_cny_scalar
from sim.units import DAYS_PER_MISS, MISSES_TO_DEFAULT

__all__ = ["service_account", "service_rows_kernel"]


@kernel()
def service_account(
    paid: float,
    due: float,
    arrears: float,
    has_arrears: bool,
    missed: int,
    defaulted: bool,
    charged_off: bool,
    balance: float,
    limit: float,
    statement: float,
    on_time: int,
    apr: float,
    lgd: float,
    min_payment_rate: float,
    min_payment_floor_cny: float,
    charge_off_dpd: int,
) -> tuple:
    """One account's month: payment against the due, default, charge-off, interest, statement.

    Args:
        paid: payment made this month, CNY (>= 0).
        due: minimum due of this month, CNY.
        arrears: past-due part of ``due``, CNY (read only when ``has_arrears``).
        has_arrears: the account carries arrears (the platform's lines): paying the
            instalment ``due - arrears`` while behind holds the bucket.
        missed: consecutive missed minimum payments before this month.
        defaulted: the line defaulted before this month.
        charged_off: the defaulted balance was written off before this month.
        balance: balance, CNY.
        limit: credit limit, CNY.
        statement: last statement balance, CNY.
        on_time: consecutive months paid on time (0 .. 10,000).
        apr: annual accrual rate.
        lgd: loss given default, in [0, 1].
        min_payment_rate: minimum payment share of the balance.
        min_payment_floor_cny: minimum payment floor, CNY.
        charge_off_dpd: DPD at which a defaulted balance is written off.

    Returns:
        ``(missed, defaulted, charged_off, balance, limit, due, arrears, statement,
        on_time, paid_in_full, payment_ratio, missed_now, new_default, ead_cny, loss_cny,
        write_off_cny, recoveries_cny, interest_cny, limit_closed_cny)``: the new state of
        the account, then this month's flows.
    """
    was_defaulted = defaulted
    had_due = (not was_defaulted) and due > 0
    missed_now = had_due and not (paid >= due - 0.005)
    held = False
    if has_arrears:
        instalment = due - min(arrears, due)
        held = missed_now and missed >= 1 and paid >= instalment - 0.005
    if missed_now and not held:
        missed = missed + 1
    elif had_due and not held:
        missed = 0
    if was_defaulted and not charged_off:
        missed = missed + 1  # a defaulted balance ages 30 DPD a month until charge-off

    new_default = (not was_defaulted) and missed >= MISSES_TO_DEFAULT
    ead = loss = limit_closed = write_off = recoveries = 0.0
    if new_default:
        ead = balance
        loss = round_cny_scalar(lgd * ead)
        defaulted = True
        limit_closed = limit
        limit = 0.0
    if defaulted and not charged_off and missed * DAYS_PER_MISS >= charge_off_dpd:
        write_off = balance
        recoveries = round_cny_scalar((1.0 - lgd) * write_off)
        balance = 0.0
        charged_off = True

    # The NumPy pass multiplies by 0/1 masks; the same products here keep every bit.
    open_line = 0.0 if defaulted else 1.0
    accruing = 1.0 if (not defaulted and balance > 0) else 0.0
    interest = round_cny_scalar(balance * apr / 12.0 * accruing)
    balance = round_cny_scalar(balance + interest)

    paid_in_full = statement <= 0 or paid >= statement - 0.005
    billed = 1.0 if statement > 0 else 0.0
    ratio = (paid * billed + (1.0 - billed)) / (statement * billed + (1.0 - billed))
    if ratio < 0.0:
        ratio = 0.0
    elif ratio > 1.0:
        ratio = 1.0
    regular = min(balance, max(min_payment_rate * balance, min_payment_floor_cny))
    past_due = max(due - paid, 0.0) * (1.0 if missed_now else 0.0)
    new_due = round_cny_scalar(min(balance, regular + past_due) * open_line)
    new_arrears = min(round_cny_scalar(past_due), new_due) if has_arrears else arrears
    statement = balance * open_line
    on_time = 0 if (missed_now or defaulted) else min(on_time + 1, 10_000)
    return (
        missed,
        defaulted,
        charged_off,
        balance,
        limit,
        new_due,
        new_arrears,
        statement,
        on_time,
        paid_in_full,
        ratio,
        missed_now,
        new_default,
        ead,
        loss,
        write_off,
        recoveries,
        interest,
        limit_closed,
    )


@kernel(parallel=True)
def service_rows_kernel(
    paid: np.ndarray,
    due: np.ndarray,
    arrears: np.ndarray,
    missed: np.ndarray,
    defaulted: np.ndarray,
    charged_off: np.ndarray,
    default_step: np.ndarray,
    balance: np.ndarray,
    limit: np.ndarray,
    statement: np.ndarray,
    on_time: np.ndarray,
    paid_in_full: np.ndarray,
    payment_ratio: np.ndarray,
    delinquent_recent: np.ndarray,
    history_row: int,
    apr: np.ndarray,
    step: int,
    lgd: float,
    min_payment_rate: float,
    min_payment_floor_cny: float,
    charge_off_dpd: int,
    out_missed_now: np.ndarray,
    out_new_default: np.ndarray,
    out_ead: np.ndarray,
    out_loss: np.ndarray,
    out_write_off: np.ndarray,
    out_recoveries: np.ndarray,
    out_interest: np.ndarray,
    out_limit_closed: np.ndarray,
) -> None:
    """Service every row of a book in place (:func:`service_account` per row, in parallel).

    Every array is written in place but ``paid`` and ``apr``; ``(n,)`` unless noted.

    Args:
        paid: payments this month, CNY.
        due: minimum due (from last month's statement, then the new one), CNY.
        arrears: past-due part of the due, CNY, on the platform's lines (which hold their
            bucket on paying the instalment); ``(0,)`` for accounts without arrears.
        missed: int16 consecutive missed minimum payments.
        defaulted: bool, the line defaulted.
        charged_off: bool, the defaulted balance was written off.
        default_step: int32 month of default (``step`` for new defaults).
        balance: balance, CNY.
        limit: credit limit, CNY (0 from default).
        statement: statement balance, CNY.
        on_time: int16 consecutive months paid on time.
        paid_in_full: bool, the last statement paid in full.
        payment_ratio: last payment / last statement, in [0, 1].
        delinquent_recent: ``(H, n)`` bool; row ``history_row`` gets the month's misses.
        history_row: the row of ``delinquent_recent`` of this month.
        apr: annual rates, or ``(1,)`` for one rate for every row.
        step: the month (1-based).
        lgd: loss given default, in [0, 1].
        min_payment_rate: minimum payment share of the balance.
        min_payment_floor_cny: minimum payment floor, CNY.
        charge_off_dpd: DPD at which defaulted balances are written off.
        out_missed_now: bool out, missed this month's minimum payment.
        out_new_default: bool out, defaulted this month.
        out_ead: EAD of new defaults out, CNY.
        out_loss: LGD x EAD of new defaults out, CNY.
        out_write_off: balance charged off this month out, CNY.
        out_recoveries: recoveries at charge-off out, CNY.
        out_interest: interest accrued out, CNY.
        out_limit_closed: limit removed at default out, CNY.
    """
    n = paid.shape[0]
    has_arrears = arrears.shape[0] == n and n > 0
    one_apr = apr.shape[0] == 1
    for i in numba.prange(n):
        r = service_account(
            paid[i],
            due[i],
            arrears[i] if has_arrears else 0.0,
            has_arrears,
            np.int64(missed[i]),
            defaulted[i],
            charged_off[i],
            balance[i],
            limit[i],
            statement[i],
            np.int64(on_time[i]),
            apr[0] if one_apr else apr[i],
            lgd,
            min_payment_rate,
            min_payment_floor_cny,
            charge_off_dpd,
        )
        missed[i] = r[0]
        defaulted[i] = r[1]
        charged_off[i] = r[2]
        balance[i] = r[3]
        limit[i] = r[4]
        due[i] = r[5]
        if has_arrears:
            arrears[i] = r[6]
        statement[i] = r[7]
        on_time[i] = r[8]
        paid_in_full[i] = r[9]
        payment_ratio[i] = r[10]
        delinquent_recent[history_row, i] = r[11]
        out_missed_now[i] = r[11]
        out_new_default[i] = r[12]
        if r[12]:
            default_step[i] = step
        out_ead[i] = r[13]
        out_loss[i] = r[14]
        out_write_off[i] = r[15]
        out_recoveries[i] = r[16]
        out_interest[i] = r[17]
        out_limit_closed[i] = r[18]
