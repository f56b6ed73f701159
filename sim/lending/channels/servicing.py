"""Servicing of the other lenders' books and the month's flows (:class:`Channels`)."""

from __future__ import annotations

import numpy as np

from sim import compiled
from sim.lending.accounts import service_accounts
from sim.lending.channels.flows import ChannelFlows
from sim.lending.channels.records import (
    BOOK_FIELDS,
    EVENT_FIELDS,
    SERVICED_FIELDS,
    _put_rows,
    _RowSums,
    _serviced_accounts,
)
from sim.lending.channels.servicing_kernel import service_channels_compiled
from sim.lending.channels.servicing_reference import service_channels_reference
from sim.units import round_cny


class Channels(ChannelFlows):
    """The other lenders of a run: channel table, books, flows and lender cash.

    The books are compact: only borrowers who ever held an account on some channel (a
    limit, a facility, a balance) have a slot, and each table holds one row per slot with
    a borrower's accounts side by side (``(n_slots, k)``). Most borrowers never use another
    lender (about a fifth of 1 M borrowers have a slot after ten years), so a month's
    gathers and scatters work on tables a fraction of ``(n_borrowers, k)`` that mostly fit
    in the CPU's last-level cache. Slot 0 is blank (the value of an account never used) and
    is never written: every borrower without a slot reads it. Work on many rows always
    runs in borrower-row order, so no result depends on the order slots were handed out.

    Args:
        config: the ``channels`` config.
        n_borrowers: borrowers who may hold an account.
        other_lenders_apr_cap: the scenario's regulatory cap on other lenders' APR.

    Attributes:
        names: enabled lenders that appear in the waterfall order, in that order.
        apr: ``(k,)`` contract APR charged (after caps).
        carrying_apr: ``(k,)`` ongoing annual cost of a balance, the rate servicing
            accrues at: APR + 12 x the monthly fee rate.
        upfront_fee_rate, monthly_fee_rate, lgd, max_pd_12m, limit_multiple,
            max_limit_cny, min_payment_rate, min_payment_floor_cny: ``(k,)`` float64.
        approval_lag_months, max_dpd, min_history_months: ``(k,)`` int64.
        limit_basis: ``(k,)`` int index into :data:`sim.config.LIMIT_BASES`.
        approval_prob, firm_approval_prob: ``(k, 3)`` float64 approval probabilities by
            credit band (:data:`sim.config.CREDIT_BANDS`), households' and firms' purposes.
        approval_lender_factor, max_debt_service_ratio: ``(k,)`` float64.
        reapply_after_months: ``(k,)`` int64.
        for_household_needs, for_household_wants, for_firms, high_cost: ``(k,)`` bool.
        lender_cash_cny: ``(k,)`` each lender's net cash position from the start
            (repayments + recoveries - cash lent).
        draws_total_cny: ``(k,)`` cash lent by each lender over the run.
        interest_fees_total_cny: ``(n_borrowers,)`` interest and fees charged over the run.
        balance_month_sum_cny: ``(n_borrowers,)`` sum of month-end channel balances.
        month: this month's :class:`ChannelMonth`.
        charged_cny: ``(n_borrowers,)`` interest and monthly fees charged at the last
            servicing (upfront fees are in the draws' return values).
        slot_of: ``(n_borrowers,)`` int32 each borrower's slot in the books, 0 (the blank
            slot) for a borrower who never held an account.
        n_slots: slots handed out, the blank one included.

    Every per-borrower array is listed in :attr:`PER_BORROWER`; :meth:`grow` appends blank
    rows to all of them when borrowers enter.
    """

    # ------------------------------------------------------------------ servicing
    def service(self, step: int) -> np.ndarray:
        """Service every channel's active accounts (:func:`sim.lending.accounts.service_accounts`).

        Payments received this month (``paid_cny``) count towards the minimum due. Updates
        this month's flow totals, the lenders' cash (recoveries) and the per-borrower
        accumulators. Runs as :func:`sim.compiled.implementation` says: the compiled kernel
        (:mod:`~sim.lending.channels.servicing_kernel`), the NumPy pass below (the same
        results bit for bit) or the per-account reference
        (:mod:`~sim.lending.channels.servicing_reference`: the same accounts, totals to the
        cent).

        Returns:
            ``(n,)`` interest + monthly fees charged this month per borrower: the array
            :attr:`charged_cny` itself, zeroed and written again by the next servicing
            (copy it to keep a month's values).

        Raises:
            RuntimeError: month ``step`` (or a later one) was serviced already; the books
                are unchanged (servicing a month twice would charge interest twice).
        """
        if step <= self.serviced_step:
            raise RuntimeError(
                f"channels: month {step} cannot be serviced: the other lenders' books "
                f"({', '.join(self.names)}) were serviced up to month {self.serviced_step} "
                "already; each month is serviced once, in order (again would charge interest "
                "and fees twice)"
            )
        self.serviced_step = int(step)
        # ---- implementation switch (sim.compiled): compiled kernel, reference, NumPy below
        how = compiled.implementation()
        if how == "compiled":
            return service_channels_compiled(self, step)
        if how == "reference":
            return service_channels_reference(self, step)
        # ---- end of the implementation switch
        charged = self.charged_cny  # zeroed in place (see servicing_kernel)
        charged.fill(0.0)
        cand = self.candidates()
        slots = self.slot_of[cand]
        # Copies of the candidates' accounts on every channel, one gather per table (a
        # borrower's channels share a cache line), in row order: each channel is serviced on
        # its column of the copies, and the copies are written back once.
        local = {f: self._acc[f].take(slots, axis=0) for f in SERVICED_FIELDS}
        paid = self._acc["paid_cny"].take(slots, axis=0)
        # Accounts with a balance (defaulted ones included), a due or a payment.
        live = (local["balance_cny"] > 0) | (local["min_due_cny"] > 0) | (paid > 0)
        event = np.zeros(cand.size, dtype=bool)  # a default or charge-off on some channel
        for c in range(self.k):
            idx = np.flatnonzero(live[:, c])
            if idx.size == 0:
                continue
            rows = cand[idx]
            apr = float(self.carrying_apr[c])
            # Column view, then the rows: faster than local[f][idx, c] (one fancy index).
            sub = _serviced_accounts({f: local[f][:, c][idx] for f in SERVICED_FIELDS}, apr)
            was_charged_off = sub.charged_off.copy()
            self.month.accruing_balance_cny[c] += float(sub.balance_cny[~sub.defaulted].sum())
            flows = service_accounts(
                sub,  # type: ignore[arg-type]  # has the line fields servicing uses
                paid[:, c][idx],
                step=step,
                lgd=float(self.lgd[c]),
                min_payment_rate=float(self.min_payment_rate[c]),
                min_payment_floor_cny=float(self.min_payment_floor_cny[c]),
                charge_off_dpd=self.config.charge_off_dpd,
            )
            for f in SERVICED_FIELDS:
                local[f][:, c][idx] = getattr(sub, f)
            event[idx] |= flows.new_default | (sub.charged_off & ~was_charged_off)
            accrued = flows.interest_cny
            fee_share = 12.0 * self.monthly_fee_rate[c] / apr if apr > 0 else 0.0
            fees = round_cny(accrued * fee_share)
            self.month.interest_cny[c] += float((accrued - fees).sum())
            self.month.monthly_fees_cny[c] += float(fees.sum())
            self.month.write_off_cny[c] += float(flows.write_off_cny.sum())
            self.month.recoveries_cny[c] += float(flows.recoveries_cny.sum())
            self.month.ead_at_default_cny[c] += float(flows.ead_at_default_cny.sum())
            self.month.default_count[c] += int(flows.new_default.sum())
            self.lender_cash_cny[c] += float(flows.recoveries_cny.sum())
            charged[rows] += accrued
        # Scattered writes are the cost here: the default fields only where they changed.
        for f in BOOK_FIELDS:
            _put_rows(self._acc[f], slots, local[f])
        changed = np.flatnonzero(event)
        for f in EVENT_FIELDS:
            _put_rows(self._acc[f], slots[changed], local[f][changed])
        paid[...] = 0.0  # this month's payments are applied
        _put_rows(self._acc["paid_cny"], slots, paid)
        self.interest_fees_total_cny[cand] += charged[cand]
        # The month-end totals and the rows still in use, from the serviced copies.
        sums = _RowSums.of(cand, local["balance_cny"], local["min_due_cny"])
        self.balance_month_sum_cny[cand] += sums.balance_cny
        sums = sums.where(sums.owes)
        self._mark[cand] = False
        self._mark[sums.rows] = True
        self._rows = sums.rows
        self._sums = sums
        self.charged_cny = charged
        return charged
