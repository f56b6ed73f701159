"""Servicing of the platform's lines: delinquency, default, charge-off, interest, statement.

Conventions (fixed, so that results are comparable):

* Interest accrues once a month at ``APR / 12`` on the month-end balance of open,
  non-defaulted lines, rounded to 0.01 CNY (non-accrual after default).
* The minimum payment due is ``min(balance, max(min_payment_rate x balance,
  min_payment_floor_cny))`` plus any past-due amount, set on the month-end statement
  and due during the next month.
* A payment short of the minimum due (by more than half a cent) is a missed payment;
  each consecutive miss adds 30 days past due; paying the whole minimum due cures the
  account to current.
* Default is 90+ DPD, i.e. the third consecutive miss: exposure at default (EAD, the
  balance) and loss (``LGD x EAD``) are recorded in that month and the line closes
  (limit 0, no more draws). The defaulted balance stays on book, not accruing, ageing
  30 DPD a month, until it is charged off at ``charge_off_dpd``; recoveries of
  ``(1 - LGD) x balance`` are received at charge-off (a debt sale), reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.state import DELINQUENCY_HISTORY_MONTHS, BorrowerState, round_cny, round_cny_inplace

#: DPD bucket labels; bucket index 5 is "closed" (charged off).
BUCKET_LABELS = ("current", "1-29", "30-59", "60-89", "90+", "closed")
N_BUCKETS = len(BUCKET_LABELS)
MISSES_TO_DEFAULT = 3


def bucket_index(state: BorrowerState) -> np.ndarray:
    """DPD bucket of each account, int8 index into :data:`BUCKET_LABELS`.

    DPD is 30 x consecutive misses, so the 1-29 bucket is empty under the monthly
    convention; it is kept so that tables have the standard five buckets.
    """
    # DPD = 30 x misses: 0 misses -> current, 1 -> 30-59, 2 -> 60-89, 3 or more -> 90+,
    # i.e. bucket = min(misses, 3) + (misses > 0); charged-off accounts are bucket 5.
    missed = np.clip(state.missed, 0, 3).astype(np.int8)
    idx = missed + (missed > 0).view(np.int8)
    idx[state.charged_off] = 5
    return idx


@dataclass
class ServicingFlows:
    """Per-borrower results of one servicing stage, shape ``(n_borrowers,)``.

    Attributes:
        missed_now: missed this month's minimum payment, bool.
        new_default: defaulted this month (third consecutive miss), bool.
        ead_at_default_cny: balance at default for new defaults, else 0.
        loss_at_default_cny: LGD x EAD for new defaults, else 0.
        write_off_cny: balance charged off this month.
        recoveries_cny: recoveries received at charge-off.
        interest_cny: interest accrued this month.
        limit_closed_cny: limit removed by closing lines at default.
    """

    missed_now: np.ndarray
    new_default: np.ndarray
    ead_at_default_cny: np.ndarray
    loss_at_default_cny: np.ndarray
    write_off_cny: np.ndarray
    recoveries_cny: np.ndarray
    interest_cny: np.ndarray
    limit_closed_cny: np.ndarray


def service_accounts(
    state: BorrowerState,
    scheduled_payment_cny: np.ndarray,
    *,
    step: int,
    lgd: float,
    min_payment_rate: float,
    min_payment_floor_cny: float,
    charge_off_dpd: int,
) -> ServicingFlows:
    """Apply this month's payments to delinquency, then default, charge-off and interest.

    Modifies ``state`` in place: ``missed``, ``defaulted``, ``default_step``,
    ``charged_off``, ``limit_cny`` (0 at default), ``balance_cny`` (write-off, interest),
    ``statement_cny``, ``min_due_cny``, ``delinquent_recent``, ``on_time_months``,
    ``paid_in_full``, ``payment_ratio``.

    Args:
        state: borrower arrays.
        scheduled_payment_cny: ``(n,)`` payment made towards this month's minimum due.
        step: simulated month (1-based), recorded as the default month.
        lgd: loss given default, fraction in [0, 1].
        min_payment_rate: minimum payment share of the statement balance.
        min_payment_floor_cny: minimum payment floor.
        charge_off_dpd: DPD at which defaulted balances are written off (>= 90).

    Returns:
        The month's servicing flows.
    """
    due = state.min_due_cny
    was_defaulted = state.defaulted.copy()
    had_due = ~was_defaulted & (due > 0)
    paid_ok = scheduled_payment_cny >= due - 0.005
    missed_now = had_due & ~paid_ok
    missed = np.where(missed_now, state.missed + 1, np.where(had_due, 0, state.missed))
    # A defaulted account keeps ageing 30 DPD a month until charge-off.
    missed = np.where(was_defaulted & ~state.charged_off, state.missed + 1, missed)
    state.missed = missed.astype(np.int16)

    # Defaults and charge-offs are rare: their amounts are posted on their rows only.
    n = due.shape[0]
    new_default = ~was_defaulted & (state.missed >= MISSES_TO_DEFAULT)
    defaulting = np.flatnonzero(new_default)
    ead = np.zeros(n)
    ead[defaulting] = state.balance_cny[defaulting]
    loss = np.zeros(n)
    loss[defaulting] = round_cny(lgd * ead[defaulting])
    state.defaulted = state.defaulted | new_default
    default_step = state.default_step.astype(np.int32)  # a copy: the caller's array is kept
    default_step[defaulting] = step
    state.default_step = default_step
    limit_closed = np.zeros(n)
    limit_closed[defaulting] = state.limit_cny[defaulting]
    limit = state.limit_cny.copy()
    limit[defaulting] = 0.0
    state.limit_cny = limit

    charge = (
        state.defaulted
        & ~state.charged_off
        & (state.missed.astype(np.int32) * 30 >= charge_off_dpd)
    )
    charging = np.flatnonzero(charge)
    write_off = np.zeros(n)
    write_off[charging] = state.balance_cny[charging]
    recoveries = np.zeros(n)
    recoveries[charging] = round_cny((1.0 - lgd) * write_off[charging])
    balance = state.balance_cny.copy()
    balance[charging] = 0.0
    state.charged_off = state.charged_off | charge

    accruing = ~state.defaulted & (balance > 0)
    # Balances and APRs are >= 0, so multiplying by the mask gives exactly the 0.0 of a
    # np.where, without its cost on a near-random mask.
    interest = balance * state.apr
    interest /= 12.0
    interest *= accruing
    round_cny_inplace(interest)
    balance += interest
    state.balance_cny = round_cny_inplace(balance)

    prev_statement = state.statement_cny
    state.paid_in_full = (prev_statement <= 0) | (scheduled_payment_cny >= prev_statement - 0.005)
    # Payment / statement in [0, 1]; 1.0 where nothing was billed.
    ratio = np.divide(
        scheduled_payment_cny, prev_statement, out=np.ones(n), where=prev_statement > 0
    )
    state.payment_ratio = np.clip(ratio, 0.0, 1.0, out=ratio)
    balance = state.balance_cny
    regular = np.minimum(balance, np.maximum(min_payment_rate * balance, min_payment_floor_cny))
    past_due = np.where(missed_now, np.maximum(due - scheduled_payment_cny, 0.0), 0.0)
    # min(balance, ...) is already 0.0 where the balance is 0; closed lines owe nothing.
    min_due = np.minimum(balance, regular + past_due)
    min_due *= ~state.defaulted
    state.min_due_cny = round_cny_inplace(min_due)
    state.statement_cny = np.where(state.defaulted, 0.0, balance)
    state.delinquent_recent[step % DELINQUENCY_HISTORY_MONTHS] = missed_now
    state.on_time_months = np.where(
        missed_now | state.defaulted, 0, np.minimum(state.on_time_months + 1, 10_000)
    ).astype(np.int16)
    return ServicingFlows(
        missed_now=missed_now,
        new_default=new_default,
        ead_at_default_cny=ead,
        loss_at_default_cny=loss,
        write_off_cny=write_off,
        recoveries_cny=recoveries,
        interest_cny=interest,
        limit_closed_cny=limit_closed,
    )
