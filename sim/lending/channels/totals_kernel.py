"""Compiled per-borrower and per-lender totals of the other lenders' books.

:func:`dense_totals_kernel` gives every borrower's balance and minimum due summed over the
lenders (:meth:`sim.lending.channels.Channels.balance_total` and ``due_total``) in one
pass over the rows, reading each row's slot directly: the values of the NumPy path (a
gather of the rows in use, sums over the lenders in their order from the first, a
scatter into zeros) to the bit. :func:`channel_balances_kernel` gives each lender's
balance summed over the rows in use, in row order, as NumPy's sum over the first axis of
the gathered ``(m, k)`` balances adds them (:meth:`~sim.lending.channels.Channels.
balance_by_channel`).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import kernel, round_cny_scalar

__all__ = ["channel_balances_kernel", "dense_totals_kernel"]


@kernel(parallel=True)
def dense_totals_kernel(
    slot_of: np.ndarray,
    in_use: np.ndarray,
    balance: np.ndarray,
    due: np.ndarray,
    out_balance: np.ndarray,
    out_due: np.ndarray,
) -> None:
    """Each borrower's balance and minimum due summed over the lenders, CNY.

    Args:
        slot_of: ``(n,)`` int32 each borrower's slot (0: none).
        in_use: ``(n,)`` bool rows that may hold a balance or a due (the others are 0).
        balance: ``(n_slots, k)`` balance table, CNY.
        due: ``(n_slots, k)`` minimum due table, CNY.
        out_balance: ``(n,)`` out, the balances summed over the lenders in order.
        out_due: ``(n,)`` out, the dues summed over the lenders in order, to the cent.
    """
    k = balance.shape[1]
    for i in numba.prange(slot_of.shape[0]):
        if (not in_use[i]) | (k == 0):
            out_balance[i] = 0.0
            out_due[i] = 0.0
            continue
        s = np.uint64(slot_of[i])  # >= 0: no negative-index wraparound at each read
        tb = balance[s, 0]
        td = due[s, 0]
        for c in range(1, k):
            tb += balance[s, c]
            td += due[s, c]
        out_balance[i] = tb
        out_due[i] = round_cny_scalar(td)


@kernel()
def channel_balances_kernel(
    rows: np.ndarray, slot_of: np.ndarray, balance: np.ndarray
) -> np.ndarray:
    """``(k,)`` each lender's balance summed over ``rows``, CNY, one row after another.

    Args:
        rows: ``(m,)`` int64 borrower rows in use, ascending.
        slot_of: ``(n,)`` int32 each borrower's slot.
        balance: ``(n_slots, k)`` balance table, CNY.
    """
    k = balance.shape[1]
    out = np.zeros(k)
    for j in range(rows.shape[0]):
        s = np.uint64(slot_of[rows[j]])
        for c in range(k):
            out[c] = balance[s, c] if j == 0 else out[c] + balance[s, c]
    return out
