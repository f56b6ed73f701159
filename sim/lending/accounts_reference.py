"""Servicing written one account at a time in plain Python: the oracle of the compiled stage.

The rules of :mod:`sim.lending.accounts` as a newcomer would write them: read one
account, apply the month to it, write it back; then the next account. Used by the tests
as the oracle of the compiled and NumPy servicing (same results to the cent, the same
states) and as the benchmark's per-agent baseline (``sim.compiled.using("reference")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.units import DAYS_PER_MISS, MISSES_TO_DEFAULT
from sim.world.borrowers import (
    DELINQUENCY_HISTORY_MONTHS,
    PAYMENT_HISTORY_MONTHS,
    STATEMENT_HISTORY_MONTHS,
)

__all__ = [
    "Account",
    "AccountMonth",
    "record_month_reference",
    "round_cent",
    "service_account",
    "service_rows_reference",
]


def round_cent(amount: float) -> float:
    """``amount`` (CNY) rounded to 0.01, half to even, never -0.0 (as ``sim.units.round_cny``)."""
    return round(amount * 100.0) / 100.0


@dataclass
class Account:
    """One credit line before (and, after :func:`service_account`, after) a month.

    Money in CNY; ``missed`` counts consecutive missed minimum payments (DPD = 30 x
    missed); ``arrears`` is the past-due part of ``due`` (``None`` for a lender whose
    accounts carry no arrears: every shortfall is a further miss).
    """

    balance: float
    limit: float
    due: float
    arrears: float | None
    statement: float
    missed: int
    defaulted: bool
    charged_off: bool
    default_step: int
    on_time: int
    paid_in_full: bool
    payment_ratio: float


@dataclass
class AccountMonth:
    """One account's flows of the month (CNY; the two flags as in ``ServicingFlows``)."""

    missed_now: bool = False
    new_default: bool = False
    ead: float = 0.0
    loss: float = 0.0
    write_off: float = 0.0
    recoveries: float = 0.0
    interest: float = 0.0
    limit_closed: float = 0.0


def service_account(account: Account, paid: float, apr: float, terms: Any) -> AccountMonth:
    """Apply one month to ``account`` (changed in place) given the payment ``paid`` (CNY).

    ``terms`` has ``step``, ``lgd``, ``min_payment_rate``, ``min_payment_floor_cny`` and
    ``charge_off_dpd`` (see :func:`sim.lending.accounts.service_accounts`).
    """
    month = AccountMonth()
    was_defaulted = account.defaulted
    old_due = account.due

    # 1. The payment against the minimum due.
    if not was_defaulted and old_due > 0:
        if paid >= old_due - 0.005:
            account.missed = 0  # paid the whole due: current again
        else:
            month.missed_now = True
            instalment = old_due - min(account.arrears or 0.0, old_due)
            holds = (
                account.arrears is not None and account.missed >= 1 and paid >= instalment - 0.005
            )
            if not holds:
                account.missed += 1
    if was_defaulted and not account.charged_off:
        account.missed += 1  # a defaulted balance keeps ageing until charge-off

    # 2. Default at the third consecutive miss: the line closes.
    if not was_defaulted and account.missed >= MISSES_TO_DEFAULT:
        month.new_default = True
        month.ead = account.balance
        month.loss = round_cent(terms.lgd * account.balance)
        month.limit_closed = account.limit
        account.defaulted = True
        account.default_step = terms.step
        account.limit = 0.0

    # 3. Charge-off of a defaulted balance, recoveries from a debt sale.
    if (
        account.defaulted
        and not account.charged_off
        and account.missed * DAYS_PER_MISS >= terms.charge_off_dpd
    ):
        month.write_off = account.balance
        month.recoveries = round_cent((1.0 - terms.lgd) * account.balance)
        account.balance = 0.0
        account.charged_off = True

    # 4. Interest on performing balances.
    if not account.defaulted and account.balance > 0:
        month.interest = round_cent(account.balance * apr / 12.0)
    account.balance = round_cent(account.balance + month.interest)

    # 5. How the last statement was paid, then the new statement and minimum due.
    old_statement = account.statement
    account.paid_in_full = old_statement <= 0 or paid >= old_statement - 0.005
    if old_statement > 0:
        account.payment_ratio = min(max(paid / old_statement, 0.0), 1.0)
    else:
        account.payment_ratio = 1.0
    past_due = max(old_due - paid, 0.0) if month.missed_now else 0.0
    if account.defaulted:
        account.due = 0.0
        account.statement = 0.0
    else:
        regular = min(
            account.balance,
            max(terms.min_payment_rate * account.balance, terms.min_payment_floor_cny),
        )
        account.due = round_cent(min(account.balance, regular + past_due))
        account.statement = account.balance
    if account.arrears is not None:
        account.arrears = min(round_cent(past_due), account.due)
    if month.missed_now or account.defaulted:
        account.on_time = 0
    else:
        account.on_time = min(account.on_time + 1, 10_000)
    return month


def service_rows_reference(state: Any, paid_cny: Any, out: Any, terms: Any) -> None:
    """Service every row of ``state`` one account at a time (the reference of the stage).

    Args:
        state: the accounts (``BorrowerState`` or any object with its line fields);
            written in place like :func:`sim.lending.accounts.service_accounts` writes it.
        paid_cny: ``(n,)`` payments this month, CNY.
        out: the ``ServicingFlows`` to fill, ``(n,)`` arrays.
        terms: the servicing terms (``step``, ``lgd``, ``min_payment_rate``,
            ``min_payment_floor_cny``, ``charge_off_dpd``).
    """
    has_arrears = hasattr(state, "arrears_cny")
    history_row = terms.step % DELINQUENCY_HISTORY_MONTHS
    for i in range(state.min_due_cny.shape[0]):
        account = Account(
            balance=float(state.balance_cny[i]),
            limit=float(state.limit_cny[i]),
            due=float(state.min_due_cny[i]),
            arrears=float(state.arrears_cny[i]) if has_arrears else None,
            statement=float(state.statement_cny[i]),
            missed=int(state.missed[i]),
            defaulted=bool(state.defaulted[i]),
            charged_off=bool(state.charged_off[i]),
            default_step=int(state.default_step[i]),
            on_time=int(state.on_time_months[i]),
            paid_in_full=bool(state.paid_in_full[i]),
            payment_ratio=float(state.payment_ratio[i]),
        )
        apr = float(state.apr) if getattr(state.apr, "ndim", 0) == 0 else float(state.apr[i])
        month = service_account(account, float(paid_cny[i]), apr, terms)

        state.balance_cny[i] = account.balance
        state.limit_cny[i] = account.limit
        state.min_due_cny[i] = account.due
        if has_arrears:
            state.arrears_cny[i] = account.arrears
        state.statement_cny[i] = account.statement
        state.missed[i] = account.missed
        state.defaulted[i] = account.defaulted
        state.charged_off[i] = account.charged_off
        state.default_step[i] = account.default_step
        state.on_time_months[i] = account.on_time
        state.paid_in_full[i] = account.paid_in_full
        state.payment_ratio[i] = account.payment_ratio
        state.delinquent_recent[history_row, i] = month.missed_now
        out.missed_now[i] = month.missed_now
        out.new_default[i] = month.new_default
        out.ead_at_default_cny[i] = month.ead
        out.loss_at_default_cny[i] = month.loss
        out.write_off_cny[i] = month.write_off
        out.recoveries_cny[i] = month.recoveries
        out.interest_cny[i] = month.interest
        out.limit_closed_cny[i] = month.limit_closed


def record_month_reference(
    state: Any, step: int, paid_cny: Any, early_cny: Any, interest_cny: Any
) -> None:
    """The servicing stage's month-end record on every borrower row, one at a time.

    The bill and payment histories of the scorecard, interest and balance accumulators,
    the platform's lenders count and debt service, months on book and of history (see
    :func:`sim.lending.servicing.servicing_stage`).
    """
    statement_row = step % STATEMENT_HISTORY_MONTHS
    payment_row = step % PAYMENT_HISTORY_MONTHS
    for i in range(state.balance_cny.shape[0]):
        billed = float(state.statement_cny[i]) + float(early_cny[i])
        state.billed_cny[i] = billed
        state.billed_recent_cny[statement_row, i] = billed
        state.payment_recent_cny[payment_row, i] = float(paid_cny[i]) + float(early_cny[i])
        state.payment_ratio_recent[statement_row, i] = state.payment_ratio[i]
        state.interest_total_cny[i] += interest_cny[i]
        state.balance_month_sum_cny[i] += state.balance_cny[i]
        state.lenders_count[i] = 1 if state.balance_cny[i] > 0 else 0
        state.debt_service_cny[i] = state.min_due_cny[i]
        if not state.defaulted[i]:
            state.mob[i] += 1
        state.history_months[i] = min(int(state.history_months[i]) + 1, 30_000)
