"""Compiled month-end record of the platform's lines after servicing (one fused pass).

After :func:`sim.lending.accounts.service_accounts` the servicing stage records the
month on every borrower row: the bill and payment ring buffers of the scorecard
(:meth:`sim.world.borrowers.BorrowerState.record_history`), the per-run accumulators of
interest and balance, the lenders count and debt service before the other lenders are
added, months on book and months of history. :func:`record_month_kernel` does all of it
in one pass over the rows (in parallel: each row reads and writes only itself), with the
same operations as the NumPy lines of :func:`sim.lending.servicing.servicing_stage`.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import kernel

__all__ = ["record_month_kernel"]


@kernel(parallel=True)
def record_month_kernel(
    paid: np.ndarray,
    early: np.ndarray,
    interest: np.ndarray,
    statement: np.ndarray,
    payment_ratio: np.ndarray,
    balance: np.ndarray,
    min_due: np.ndarray,
    defaulted: np.ndarray,
    billed: np.ndarray,
    billed_recent: np.ndarray,
    payment_recent: np.ndarray,
    payment_ratio_recent: np.ndarray,
    statement_row: int,
    payment_row: int,
    interest_total: np.ndarray,
    balance_month_sum: np.ndarray,
    lenders_count: np.ndarray,
    debt_service: np.ndarray,
    mob: np.ndarray,
    history_months: np.ndarray,
) -> None:
    """Record the serviced month on every row, in place (all ``(n,)`` unless noted).

    Args:
        paid: payment towards this month's minimum due, CNY.
        early: draws of this month repaid within it, CNY.
        interest: interest accrued this month, CNY.
        statement: the new statement balance, CNY.
        payment_ratio: last payment / last statement.
        balance: month-end balance, CNY.
        min_due: the new minimum due, CNY.
        defaulted: bool, the line defaulted.
        billed: out, ``statement + early``, CNY.
        billed_recent: ``(STATEMENT_HISTORY_MONTHS, n)``; row ``statement_row`` gets
            ``billed``.
        payment_recent: ``(PAYMENT_HISTORY_MONTHS, n)``; row ``payment_row`` gets
            ``paid + early``.
        payment_ratio_recent: ``(STATEMENT_HISTORY_MONTHS, n)``; row ``statement_row``
            gets ``payment_ratio``.
        statement_row: ``step % STATEMENT_HISTORY_MONTHS``.
        payment_row: ``step % PAYMENT_HISTORY_MONTHS``.
        interest_total: accumulator, ``interest`` added, CNY.
        balance_month_sum: accumulator, ``balance`` added, CNY.
        lenders_count: int16 out, 1 where the balance is positive (the platform).
        debt_service: out, ``min_due``, CNY.
        mob: int16 months on book, +1 on lines not defaulted.
        history_months: int16 months of credit history, +1 up to 30,000.
    """
    for i in numba.prange(paid.shape[0]):
        bill = statement[i] + early[i]
        billed[i] = bill
        billed_recent[statement_row, i] = bill
        payment_recent[payment_row, i] = paid[i] + early[i]
        payment_ratio_recent[statement_row, i] = payment_ratio[i]
        interest_total[i] += interest[i]
        balance_month_sum[i] += balance[i]
        lenders_count[i] = 1 if balance[i] > 0 else 0
        debt_service[i] = min_due[i]
        if not defaulted[i]:
            mob[i] += 1
        history_months[i] = min(history_months[i] + 1, 30_000)
