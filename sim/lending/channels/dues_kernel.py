"""Households' payments of the other lenders' minimum dues, compiled (one pass over payers).

:meth:`sim.lending.channels.Channels.pay_dues` applies each household's payment to its
dues costliest lender first. :func:`pay_dues_kernel` does it one paying row at a time
(in parallel over rows: each row reads and writes only its own slot), with the NumPy
pass's operations in its order: the amount owed to a lender is the smaller of its due
and balance, to the cent; the dues to dearer lenders are a running sum over the lenders
in order; a lender is paid what the budget leaves after them, at most what it is owed.
:func:`post_payments` then takes each lender's month total as NumPy's sum over the rows
that paid, in row order, so the totals are the NumPy pass's bits whatever the number of
threads. The per-row reference is :mod:`sim.lending.channels.dues_reference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.compiled import kernel, round_cny_scalar

if TYPE_CHECKING:
    from sim.lending.channels import Channels

__all__ = ["pay_dues_compiled", "pay_dues_kernel", "pay_in_order", "post_payments"]


@kernel(parallel=True)
def pay_dues_kernel(
    slots: np.ndarray,
    budget: np.ndarray,
    order: np.ndarray,
    balance: np.ndarray,
    due: np.ndarray,
    paid: np.ndarray,
    pay: np.ndarray,
) -> None:
    """Pay each row's dues from its budget, costliest lender first, in the books in place.

    Args:
        slots: ``(m,)`` int32 the paying rows' slots (distinct; a row without a slot,
            slot 0, owes nothing and pays nothing).
        budget: ``(m,)`` cash each row pays towards its dues, CNY.
        order: ``(q,)`` int64 channels, costliest first.
        balance: ``(n_slots, k)`` balance table, CNY; lowered by the payments.
        due: ``(n_slots, k)`` minimum due table, CNY (read only).
        paid: ``(n_slots, k)`` payments of the month, CNY; raised by the payments.
        pay: ``(q, m)`` zeros in; out, each row's payment to each channel of ``order``.
    """
    no_defaults = np.zeros((0, 0), dtype=np.bool_)
    for j in numba.prange(slots.shape[0]):
        s = np.uint64(slots[j])  # unsigned: no negative-index wraparound at each read
        pay_in_order(
            s, round_cny_scalar(budget[j]), order, balance, paid, due, no_defaults, True, pay, j
        )


@numba.njit(cache=True, inline="always")
def pay_in_order(
    s: int,
    cash: float,
    order: np.ndarray,
    balance: np.ndarray,
    paid: np.ndarray,
    due: np.ndarray,
    defaulted: np.ndarray,
    dues: bool,
    pay: np.ndarray,
    j: int,
) -> float:
    """One borrower pays its lenders from ``cash`` (CNY, to the cent), in ``order``.

    Each lender is owed, to the cent, the smaller of its due and the balance (``dues``:
    a due payment), or else the balance unless the account defaulted (a prepayment:
    defaulted balances are with collections). A lender gets what ``cash`` leaves after
    what the dearer lenders are owed (a running sum in order), at most what it is owed;
    the balance falls and the month's payments rise by it in slot ``s`` of the
    ``(n_slots, k)`` tables, and ``pay[o, j]`` records it for ``order[o]``.

    Returns:
        The payments summed in order, CNY (not rounded).
    """
    running = 0.0
    total = 0.0
    for o in range(order.shape[0]):
        c = order[o]
        if dues:
            owed = round_cny_scalar(min(due[s, c], balance[s, c]))
        else:
            owed = round_cny_scalar(0.0 if defaulted[s, c] else balance[s, c])
        running += owed
        before = round_cny_scalar(running - owed)
        p = round_cny_scalar(min(max(cash - before, 0.0), owed))
        if p != 0:
            balance[s, c] = round_cny_scalar(balance[s, c] - p)
            paid[s, c] = round_cny_scalar(paid[s, c] + p)
            pay[o, j] = p
        total = p if o == 0 else total + p
    return total


def post_payments(ch: Channels, pay: np.ndarray, order: list[int], rows: np.ndarray) -> None:
    """Add payments to each channel's month total and cash; mark the rows that paid.

    Args:
        ch: the books (``month.payments_cny`` and ``lender_cash_cny`` are raised).
        pay: ``(len(order), m)`` payments of ``rows`` to the channels of ``order``, CNY.
        order: channel indices, one per row of ``pay``.
        rows: ``(m,)`` borrower rows.

    Each total is NumPy's sum over the rows that paid anything, in row order (the
    NumPy pass's very sum).
    """
    used = np.flatnonzero(pay.any(axis=0))
    if used.size == 0:
        return
    totals = pay[:, used].sum(axis=1)
    ch.month.payments_cny[order] += totals
    ch.lender_cash_cny[order] += totals
    ch.touch(rows[used])


def pay_dues_compiled(ch: Channels, rows: np.ndarray, budget_cny: np.ndarray) -> None:
    """:meth:`Channels.pay_dues` of ``rows`` (distinct, ascending) by :func:`pay_dues_kernel`.

    Args:
        ch: the books.
        rows: ``(m,)`` int64 paying borrower rows.
        budget_cny: ``(m,)`` their payments towards the dues, CNY.
    """
    order = ch.costliest_first()
    pay = np.zeros((len(order), rows.size))
    acc = ch._acc
    pay_dues_kernel(
        ch.slot_of[rows],
        np.ascontiguousarray(budget_cny, dtype=np.float64),
        np.array(order, dtype=np.int64),
        acc["balance_cny"],
        acc["min_due_cny"],
        acc["paid_cny"],
        pay,
    )
    post_payments(ch, pay, order, rows)
