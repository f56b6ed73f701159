"""The other lenders' servicing one account at a time in plain Python (the oracle).

:func:`service_channels_reference` is :meth:`sim.lending.channels.Channels.service` (after
its month check) written as a newcomer would: for each borrower who may hold an account,
for each lender, read the account, service it with the per-account rules of
:func:`sim.lending.accounts_reference.service_account` and write it back; month totals are
running sums in Python floats, so they agree with the compiled and NumPy stages to the
cent (their last bits follow another order of addition); every state is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.lending.accounts_reference import Account, round_cent, service_account
from sim.lending.channels.records import _RowSums

if TYPE_CHECKING:
    from sim.lending.channels import Channels

__all__ = ["service_channels_reference"]


@dataclass(frozen=True)
class _LenderTerms:
    """One lender's servicing terms (the fields :func:`service_account` reads)."""

    step: int
    lgd: float
    min_payment_rate: float
    min_payment_floor_cny: float
    charge_off_dpd: int


def service_channels_reference(ch: Channels, step: int) -> np.ndarray:
    """Service every active account of every lender, one at a time.

    Returns:
        ``(n,)`` interest + monthly fees charged this month per borrower.
    """
    acc = ch._acc
    charged = ch.charged_cny  # zeroed in place, as the other implementations do
    charged.fill(0.0)
    terms = [
        _LenderTerms(
            step=step,
            lgd=float(ch.lgd[c]),
            min_payment_rate=float(ch.min_payment_rate[c]),
            min_payment_floor_cny=float(ch.min_payment_floor_cny[c]),
            charge_off_dpd=int(ch.config.charge_off_dpd),
        )
        for c in range(ch.k)
    ]
    kept_rows, balances, dues, lenders_counts = [], [], [], []
    for row in ch.candidates():
        slot = int(ch.slot_of[row])
        for c in range(ch.k):
            balance = float(acc["balance_cny"][slot, c])
            due = float(acc["min_due_cny"][slot, c])
            paid = float(acc["paid_cny"][slot, c])
            if not (balance > 0 or due > 0 or paid > 0):
                continue  # nothing owed or paid on this lender: nothing to service
            account = Account(
                balance=balance,
                limit=float(acc["limit_cny"][slot, c]),
                due=due,
                arrears=None,  # the other lenders' accounts carry no arrears
                statement=0.0,
                missed=int(acc["missed"][slot, c]),
                defaulted=bool(acc["defaulted"][slot, c]),
                charged_off=bool(acc["charged_off"][slot, c]),
                default_step=int(acc["default_step"][slot, c]),
                on_time=0,
                paid_in_full=True,
                payment_ratio=1.0,
            )
            if not account.defaulted:
                ch.month.accruing_balance_cny[c] += balance
            apr = float(ch.carrying_apr[c])
            month = service_account(account, paid, apr, terms[c])
            acc["balance_cny"][slot, c] = account.balance
            acc["limit_cny"][slot, c] = account.limit
            acc["min_due_cny"][slot, c] = account.due
            acc["missed"][slot, c] = account.missed
            acc["defaulted"][slot, c] = account.defaulted
            acc["charged_off"][slot, c] = account.charged_off
            acc["default_step"][slot, c] = account.default_step

            fee_share = 12.0 * float(ch.monthly_fee_rate[c]) / apr if apr > 0 else 0.0
            fees = round_cent(month.interest * fee_share)
            ch.month.interest_cny[c] += month.interest - fees
            ch.month.monthly_fees_cny[c] += fees
            ch.month.write_off_cny[c] += month.write_off
            ch.month.recoveries_cny[c] += month.recoveries
            ch.month.ead_at_default_cny[c] += month.ead
            ch.month.default_count[c] += int(month.new_default)
            ch.lender_cash_cny[c] += month.recoveries
            charged[row] += month.interest
        if slot != 0:
            for c in range(ch.k):
                acc["paid_cny"][slot, c] = 0.0  # this month's payments are applied
        ch.interest_fees_total_cny[row] += charged[row]

        # The row's month-end totals over lenders: kept if it still owes anything.
        row_balance, row_due, lenders, owes = 0.0, 0.0, 0, False
        for c in range(ch.k):
            balance = float(acc["balance_cny"][slot, c])
            due = float(acc["min_due_cny"][slot, c])
            row_balance += balance
            row_due += due
            lenders += balance > 0
            owes = owes or balance > 0 or due > 0
        ch.balance_month_sum_cny[row] += row_balance
        ch._mark[row] = owes
        if owes:
            kept_rows.append(row)
            balances.append(row_balance)
            dues.append(row_due)
            lenders_counts.append(lenders)
    n_kept = len(kept_rows)
    ch._rows = np.array(kept_rows, dtype=np.int64)
    ch._sums = _RowSums(
        rows=ch._rows,
        balance_cny=np.array(balances, dtype=np.float64),
        due_cny=np.array(dues, dtype=np.float64),
        lenders=np.array(lenders_counts, dtype=np.int16),
        owes=np.ones(n_kept, dtype=bool),
    )
    ch.charged_cny = charged
    return charged
