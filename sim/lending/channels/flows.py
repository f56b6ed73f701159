"""Funding flows on the other lenders' books: draws, repayments, dues and prepayments."""

from __future__ import annotations

import numpy as np

from sim import compiled
from sim.lending.channels.approval import ChannelApproval
from sim.lending.channels.dues_kernel import pay_dues_compiled
from sim.lending.channels.dues_reference import pay_dues_reference
from sim.lending.channels.records import (
    _owed_before,
    _put_rows,
)
from sim.units import round_cny


class ChannelFlows(ChannelApproval):
    """The books with draws, repayments, dues paid and prepayments (costliest first)."""

    def draw(self, c: int, rows: np.ndarray, amount_cny: np.ndarray) -> np.ndarray:
        """Lend ``amount_cny`` to ``rows`` on channel ``c``; returns the upfront fees.

        The balance grows by the amount plus the fee (``round(fee_rate x amount)``).

        Args:
            c: channel index.
            rows: distinct borrower rows.
            amount_cny: ``(len(rows),)`` cash lent, or one amount for every row; >= 0.

        Returns:
            ``(len(rows),)`` upfront fees, CNY.

        Raises:
            IndexError, TypeError, ValueError: bad rows (see :meth:`_check_rows`, repeated rows
                included) or channel; a negative or non-finite amount; a positive amount on
                a closed account (defaulted or charged off). A failed call changes nothing.
        """
        c, rows = self._check_channel(c), self._check_rows(rows, distinct=True)
        amount = round_cny(self._check_amounts(amount_cny, rows, "draw"))
        self._check_open(c, rows, amount)
        fee = round_cny(self.upfront_fee_rate[c] * amount)
        slots = self._slots(rows)
        balance = self._acc["balance_cny"]
        self.touch(rows)
        balance[slots, c] = round_cny(balance[slots, c] + amount + fee)
        total = float(amount.sum())
        self.month.draws_cny[c] += total
        self.month.upfront_fees_cny[c] += float(fee.sum())
        self.lender_cash_cny[c] -= total
        self.draws_total_cny[c] += total
        self.interest_fees_total_cny[rows] += fee  # rows are distinct within a call
        return fee

    def _check_open(self, c: int, rows: np.ndarray, amount: np.ndarray) -> None:
        """Raise if a positive amount would be posted to a closed (defaulted) account."""
        slots = self.slot_of[rows]  # the blank slot 0 is never defaulted
        bad = np.flatnonzero(self._acc["defaulted"][slots, c] & (amount > 0))
        if bad.size:
            shown = rows[bad[:10]].tolist()
            when = sorted(set(self._acc["default_step"][slots[bad[:10]], c].tolist()))
            raise ValueError(
                f"channels.draw: lender {self.names[c]!r} (channel {c}), after month "
                f"{self.serviced_step}: {bad.size} account(s) of borrower rows {shown}"
                f"{' ...' if bad.size > 10 else ''} are closed (defaulted in month(s) {when}); "
                "a closed account takes no draws or fees"
            )

    def repay(self, c: int, rows: np.ndarray, amount_cny: np.ndarray) -> None:
        """Receive payments from ``rows`` on channel ``c`` (never more than the balance).

        Args:
            c: channel index.
            rows: distinct borrower rows.
            amount_cny: ``(len(rows),)`` payments offered, or one for every row; >= 0.

        Raises:
            IndexError, TypeError, ValueError: as :meth:`draw`.
        """
        c, rows = self._check_channel(c), self._check_rows(rows, distinct=True)
        amount_cny = self._check_amounts(amount_cny, rows, "repay")
        slots = self.slot_of[rows]
        balance, paid = self._acc["balance_cny"], self._acc["paid_cny"]
        # Rows without a slot owe nothing: they pay 0 and the blank slot stays as it is.
        amount = round_cny(np.minimum(amount_cny, balance[slots, c]))
        has = np.flatnonzero(slots)
        slots, amount_has = slots[has], amount[has]
        self.touch(rows)
        balance[slots, c] = round_cny(balance[slots, c] - amount_has)
        paid[slots, c] = round_cny(paid[slots, c] + amount_has)
        total = float(amount.sum())
        self.month.payments_cny[c] += total
        self.lender_cash_cny[c] += total

    def _allocate(
        self, rows: np.ndarray, budget_cny: np.ndarray, owed: np.ndarray, order: list[int]
    ) -> np.ndarray:
        """Pay ``owed`` (``(len(order), m)``, in ``order``) from each row's budget, in order.

        Every channel of ``order`` is paid ``min(owed, budget left)`` in turn, all rows and
        channels at once; balances fall and payments are recorded as :meth:`repay` does.

        Returns:
            ``(m,)`` total paid.
        """
        owed = round_cny(owed)
        before = round_cny(_owed_before(owed))  # owed to dearer channels
        pay = round_cny(np.clip(round_cny(budget_cny)[None, :] - before, 0.0, owed))
        used = np.flatnonzero(pay.any(axis=0))
        if used.size == 0:
            return np.zeros(rows.size)
        r, p = rows[used], pay[:, used]
        s = self.slot_of[r]  # a row that pays owes something, so it has a slot
        # On copies of the paying rows' accounts (one gather per table), one channel at a
        # time and only the rows paying it (most rows owe one or two lenders); the rows are
        # written back whole.
        balance = self._acc["balance_cny"].take(s, axis=0)
        paid = self._acc["paid_cny"].take(s, axis=0)
        for j, c in enumerate(order):
            hit = np.flatnonzero(p[j])
            pj = p[j, hit]
            balance[hit, c] = round_cny(balance[hit, c] - pj)
            paid[hit, c] = round_cny(paid[hit, c] + pj)
        _put_rows(self._acc["balance_cny"], s, balance)
        _put_rows(self._acc["paid_cny"], s, paid)
        totals = p.sum(axis=1)
        self.month.payments_cny[order] += totals
        self.lender_cash_cny[order] += totals
        self.touch(r)
        return round_cny(pay.sum(axis=0))

    def pay_dues(self, paid_cny: np.ndarray) -> None:
        """Allocate households' payments towards this month's minimum dues.

        ``paid_cny`` (``(n,)``, at most :meth:`due_total`) is applied to the channels'
        dues costliest first (:meth:`costliest_first`). Runs as
        :func:`sim.compiled.implementation` says: :mod:`sim.lending.channels.dues_kernel`,
        these NumPy lines, or :mod:`sim.lending.channels.dues_reference` (the same results).

        Raises:
            ValueError: ``paid_cny`` is not ``(n_borrowers,)``.
        """
        paid_cny = np.asarray(paid_cny, dtype=np.float64)
        if paid_cny.shape != (self.n,):
            raise ValueError(
                f"pay_dues: paid_cny must have shape ({self.n},), got {np.shape(paid_cny)}"
            )
        rows = np.flatnonzero(paid_cny > 0)
        if rows.size == 0 or not self.k:
            return
        how = compiled.implementation()
        if how == "compiled":
            pay_dues_compiled(self, rows, paid_cny[rows])
            return
        if how == "reference":
            pay_dues_reference(self, rows, paid_cny[rows])
            return
        order = self.costliest_first()
        # Gather the rows first (one cache line each), then pick the channels in order.
        due = np.minimum(
            self._gather("min_due_cny", rows)[:, order],
            self._gather("balance_cny", rows)[:, order],
        ).T
        self._allocate(rows, paid_cny[rows], due, order)

    def prepay(
        self, rows: np.ndarray, budget_cny: np.ndarray, channels: list[int] | None = None
    ) -> np.ndarray:
        """Repay balances of ``rows`` costliest first (:meth:`costliest_first`), within budget.

        Defaulted balances are not repaid (they are with collections).

        Args:
            rows: borrower rows.
            budget_cny: ``(len(rows),)`` cash each may use.
            channels: channel indices to repay (default: all), taken costliest first.

        Returns:
            ``(len(rows),)`` total repaid.

        Raises:
            IndexError, TypeError, ValueError: as :meth:`draw`.
        """
        rows = self._check_rows(rows, distinct=True)
        budget_cny = self._check_amounts(budget_cny, rows, "prepay")
        allowed = set(range(self.k) if channels is None else map(self._check_channel, channels))
        order = [c for c in self.costliest_first() if c in allowed]
        if rows.size == 0 or not order:
            return np.zeros(rows.size)
        # Gather the rows first (one cache line each), then pick the channels in order.
        balance = self._gather("balance_cny", rows)[:, order]
        owed = np.where(self._gather("defaulted", rows)[:, order], 0.0, balance).T
        return self._allocate(rows, budget_cny, owed, order)
