"""Servicing of the platform's lines: delinquency, default, charge-off, interest, statement.

Conventions (fixed, so that results are comparable):

* Interest accrues once a month at ``APR / 12`` on the month-end balance of open,
  non-defaulted lines, rounded to 0.01 CNY (non-accrual after default).
* The minimum payment due is ``min(balance, max(min_payment_rate x balance,
  min_payment_floor_cny))`` plus any past-due amount, set on the month-end statement
  and due during the next month.
* A payment short of the minimum due (by more than half a cent) is a missed payment;
  each consecutive miss adds 30 days past due; paying the whole minimum due cures the
  account to current. On the platform's lines (which carry ``arrears_cny``, the past-due
  part of the due) an account behind that pays this month's instalment but not the
  arrears holds its bucket (contractual ageing: the payment settles the oldest
  instalment), still a missed payment.
* Default is 90+ DPD, i.e. the third consecutive miss: exposure at default (EAD, the
  balance) and loss (``LGD x EAD``) are recorded in that month and the line closes
  (limit 0, no more draws). The defaulted balance stays on book, not accruing, ageing
  30 DPD a month, until it is charged off at ``charge_off_dpd``; recoveries of
  ``(1 - LGD) x balance`` are received at charge-off (a debt sale), reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import compiled
from sim.blocks import in_blocks
from sim.lending.accounts_kernel import service_rows_kernel
from sim.lending.accounts_reference import service_rows_reference
from sim.units import DAYS_PER_MISS, MISSES_TO_DEFAULT, round_cny, round_cny_inplace
from sim.world.borrowers import DELINQUENCY_HISTORY_MONTHS, BorrowerState


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

    Modifies ``state`` in place (its arrays are written, never rebound): ``missed``,
    ``defaulted``, ``default_step``, ``charged_off``, ``limit_cny`` (0 at default),
    ``balance_cny`` (write-off, interest), ``statement_cny``, ``min_due_cny``,
    ``delinquent_recent``, ``on_time_months``, ``paid_in_full``, ``payment_ratio``.
    Each account depends only on its own row, so the rows are serviced in blocks of
    :data:`sim.blocks.BLOCK_ROWS` (the result does not depend on the block size). Runs as
    :func:`sim.compiled.implementation` says: the compiled kernel
    (:mod:`sim.lending.accounts_kernel`, rows in parallel), these NumPy row blocks, or the
    per-account reference (:mod:`sim.lending.accounts_reference`); all three give the same
    states and flows bit for bit.

    Args:
        state: borrower arrays (or any accounts object with the same fields; ``apr`` may
            be a scalar), ``(n,)`` each.
        scheduled_payment_cny: ``(n,)`` payment made towards this month's minimum due.
        step: simulated month (1-based), recorded as the default month.
        lgd: loss given default, fraction in [0, 1].
        min_payment_rate: minimum payment share of the statement balance.
        min_payment_floor_cny: minimum payment floor.
        charge_off_dpd: DPD at which defaulted balances are written off (>= 90).

    Returns:
        The month's servicing flows, ``(n,)`` arrays of their own.
    """
    n = state.min_due_cny.shape[0]
    # Uninitialised: every block writes all its rows of every flow (the dense flows once,
    # the rare default amounts as zeros plus their few rows), so no separate zeroing pass.
    flows = ServicingFlows(
        **{
            name: np.empty(n, dtype=bool if name in ("missed_now", "new_default") else np.float64)
            for name in ServicingFlows.__dataclass_fields__
        }
    )
    terms = _Terms(step, lgd, min_payment_rate, min_payment_floor_cny, charge_off_dpd)

    # ---- implementation switch (sim.compiled): compiled kernel, NumPy blocks, reference
    how = compiled.implementation()
    if how == "compiled":
        _service_compiled(state, scheduled_payment_cny, flows, terms)
    elif how == "reference":
        service_rows_reference(state, scheduled_payment_cny, flows, terms)
    else:
        in_blocks(n, lambda rows: _service_rows(state, scheduled_payment_cny, rows, flows, terms))
    # ---- end of the implementation switch
    return flows


def _service_compiled(
    state: BorrowerState, paid_cny: np.ndarray, out: ServicingFlows, terms: _Terms
) -> None:
    """:func:`service_accounts` by :func:`sim.lending.accounts_kernel.service_rows_kernel`."""
    arrears = getattr(state, "arrears_cny", None)
    service_rows_kernel(
        np.asarray(paid_cny, dtype=np.float64),
        state.min_due_cny,
        np.zeros(0) if arrears is None else arrears,
        state.missed,
        state.defaulted,
        state.charged_off,
        state.default_step,
        state.balance_cny,
        state.limit_cny,
        state.statement_cny,
        state.on_time_months,
        state.paid_in_full,
        state.payment_ratio,
        state.delinquent_recent,
        terms.step % DELINQUENCY_HISTORY_MONTHS,
        np.asarray(state.apr, dtype=np.float64).reshape(-1),
        terms.step,
        float(terms.lgd),
        float(terms.min_payment_rate),
        float(terms.min_payment_floor_cny),
        int(terms.charge_off_dpd),
        out.missed_now,
        out.new_default,
        out.ead_at_default_cny,
        out.loss_at_default_cny,
        out.write_off_cny,
        out.recoveries_cny,
        out.interest_cny,
        out.limit_closed_cny,
    )


@dataclass(frozen=True)
class _Terms:
    """The servicing terms of :func:`service_accounts`."""

    step: int
    lgd: float
    min_payment_rate: float
    min_payment_floor_cny: float
    charge_off_dpd: int


def _service_rows(
    state: BorrowerState, paid_cny: np.ndarray, sl: slice, out: ServicingFlows, terms: _Terms
) -> None:
    """Service the accounts of rows ``sl``: reads and writes only those rows."""
    paid = paid_cny[sl]
    due = state.min_due_cny[sl]  # views: written in place below
    missed_arr = state.missed[sl]
    defaulted = state.defaulted[sl]
    charged_off = state.charged_off[sl]
    balance = state.balance_cny[sl]
    limit = state.limit_cny[sl]

    was_defaulted = defaulted.copy()
    had_due = ~was_defaulted & (due > 0)
    paid_ok = paid >= due - 0.005
    missed_now = had_due & ~paid_ok
    # "x where mask, else 0" is x * mask here (np.where on a near-random mask costs 6-16x
    # an arithmetic pass): the values are integers or >= 0, so the results are the same.
    # Missed count: +1 on a miss, 0 after paying a due, unchanged without a due. Accounts
    # that carry their arrears (``arrears_cny``: the platform's lines) hold their bucket
    # when the payment covers this month's instalment (due - arrears) but not the arrears.
    held = _held(state, sl, paid, due, missed_now)
    missed = (missed_arr + 1) * (missed_now & ~held) + missed_arr * (~had_due | held)
    # A defaulted account (no due, so its count is unchanged above) keeps ageing 30 DPD a
    # month until charge-off.
    missed_arr[...] = missed + (was_defaulted & ~charged_off)

    # Defaults and charge-offs are rare: their amounts are posted on their rows only, the
    # other rows of the block are zero.
    ead, loss, write_off, recoveries, limit_closed = (
        out.ead_at_default_cny[sl],
        out.loss_at_default_cny[sl],
        out.write_off_cny[sl],
        out.recoveries_cny[sl],
        out.limit_closed_cny[sl],
    )
    for flow in (ead, loss, write_off, recoveries, limit_closed):
        flow[...] = 0.0
    new_default = ~was_defaulted & (missed_arr >= MISSES_TO_DEFAULT)
    defaulting = np.flatnonzero(new_default)
    ead[defaulting] = balance[defaulting]
    loss[defaulting] = round_cny(terms.lgd * ead[defaulting])
    defaulted |= new_default
    state.default_step[sl][defaulting] = terms.step
    limit_closed[defaulting] = limit[defaulting]
    limit[defaulting] = 0.0

    charge = (
        defaulted
        & ~charged_off
        & (missed_arr.astype(np.int32) * DAYS_PER_MISS >= terms.charge_off_dpd)
    )
    charging = np.flatnonzero(charge)
    write_off[charging] = balance[charging]
    recoveries[charging] = round_cny((1.0 - terms.lgd) * write_off[charging])
    balance[charging] = 0.0
    charged_off |= charge

    accruing = ~defaulted & (balance > 0)
    # Balances and APRs are >= 0, so multiplying by the mask gives exactly the 0.0 of a
    # np.where, without its cost on a near-random mask.
    apr = state.apr if np.ndim(state.apr) == 0 else state.apr[sl]
    interest = np.multiply(balance, apr, out=out.interest_cny[sl])
    interest /= 12.0
    interest *= accruing
    round_cny_inplace(interest)
    balance += interest
    round_cny_inplace(balance)

    statement = state.statement_cny[sl]
    state.paid_in_full[sl] = (statement <= 0) | (paid >= statement - 0.005)
    # Payment / statement in [0, 1]; 1.0 where nothing was billed (1 / 1 there). Masked
    # arithmetic instead of a divide with ``where=``, whose masked loop is 2.5x slower; the
    # quotients are the same (x * True + False == x exactly).
    billed = statement > 0
    ratio = paid * billed
    ratio += ~billed
    denominator = statement * billed
    denominator += ~billed
    ratio /= denominator
    state.payment_ratio[sl] = np.clip(ratio, 0.0, 1.0, out=ratio)
    regular = np.minimum(
        balance, np.maximum(terms.min_payment_rate * balance, terms.min_payment_floor_cny)
    )
    past_due = np.maximum(due - paid, 0.0) * missed_now
    # min(balance, ...) is already 0.0 where the balance is 0; closed lines owe nothing.
    min_due = np.minimum(balance, regular + past_due)
    min_due *= ~defaulted
    due[...] = round_cny_inplace(min_due)
    if hasattr(state, "arrears_cny"):
        state.arrears_cny[sl] = np.minimum(round_cny(past_due), due)
    statement[...] = balance * ~defaulted
    state.delinquent_recent[terms.step % DELINQUENCY_HISTORY_MONTHS, sl] = missed_now
    on_time = state.on_time_months[sl]
    on_time[...] = np.minimum(on_time + 1, 10_000) * ~(missed_now | defaulted)
    out.missed_now[sl] = missed_now
    out.new_default[sl] = new_default


def _held(
    state: BorrowerState, sl: slice, paid: np.ndarray, due: np.ndarray, missed_now: np.ndarray
) -> np.ndarray:
    """Rows of ``sl`` that missed the due but paid this month's instalment (hold the bucket).

    Only accounts with an ``arrears_cny`` field (the platform's lines) can hold; others'
    every shortfall is a further miss.
    """
    arrears = getattr(state, "arrears_cny", None)
    if arrears is None:
        return np.zeros_like(missed_now)
    instalment = due - np.minimum(arrears[sl], due)
    return missed_now & (state.missed[sl] >= 1) & (paid >= instalment - 0.005)
