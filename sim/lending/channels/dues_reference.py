"""Households' payments of the other lenders' minimum dues, one borrower at a time.

The rules of :meth:`sim.lending.channels.Channels.pay_dues` in plain Python with Python
floats: the oracle the tests compare :mod:`sim.lending.channels.dues_kernel` with, and the
peer baseline of the benchmark. Not used in runs unless
``sim.compiled.set_implementation("reference")``. Each lender's month total is NumPy's sum
of the payments in row order (:func:`sim.lending.channels.dues_kernel.post_payments`), as
the NumPy pass takes it. Rounding to the cent is ``round(x * 100) / 100``, as
:func:`sim.units.round_cny`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.lending.channels.dues_kernel import post_payments
from sim.units import cents

if TYPE_CHECKING:
    from sim.lending.channels import Channels

__all__ = ["pay_dues_reference"]


def pay_dues_reference(ch: Channels, rows: np.ndarray, budget_cny: np.ndarray) -> None:
    """:meth:`Channels.pay_dues` of ``rows`` (distinct, ascending), one row at a time.

    Each borrower pays its lenders costliest first: a lender is owed the smaller of its
    due and the balance; it gets what the payment leaves after the dearer lenders' dues,
    at most what it is owed.

    Args:
        ch: the books.
        rows: ``(m,)`` int64 paying borrower rows.
        budget_cny: ``(m,)`` their payments towards the dues, CNY.
    """
    order = ch.costliest_first()
    balance, due, paid = ch._acc["balance_cny"], ch._acc["min_due_cny"], ch._acc["paid_cny"]
    pay = np.zeros((len(order), len(rows)))
    for j, row in enumerate(rows.tolist()):
        slot = int(ch.slot_of[row])
        cash = cents(float(budget_cny[j]))
        owed_before = 0.0
        for o, c in enumerate(order):
            owed = cents(min(float(due[slot, c]), float(balance[slot, c])))
            owed_before += owed
            left = cash - cents(owed_before - owed)
            payment = cents(min(max(left, 0.0), owed))
            if payment:
                balance[slot, c] = cents(float(balance[slot, c]) - payment)
                paid[slot, c] = cents(float(paid[slot, c]) + payment)
                pay[o, j] = payment
    post_payments(ch, pay, order, rows)
