"""The compact account books: one slot per borrower who ever used another lender.

Tables ``(n_slots, k)`` per field, slot 0 blank; gathers, copies, writes and the per-borrower
totals over channels of the rows in use (see :class:`sim.lending.channels.Channels`).
"""

from __future__ import annotations

import numpy as np

from sim import compiled
from sim.config import ChannelsConfig
from sim.lending.channels.lenders import LenderTable
from sim.lending.channels.records import (
    ACCOUNT_FIELDS,
    ChannelBook,
    ChannelMonth,
    _check_fields,
    _RowSums,
    _sum_over_channels,
    any_over_channels,
)
from sim.lending.channels.totals_kernel import channel_balances_kernel, dense_totals_kernel
from sim.rows import empty_rows, pad_rows
from sim.units import round_cny


class ChannelBooks(LenderTable):
    """The lender table with its compact books, flows and lender cash.

    See :class:`sim.lending.channels.Channels` for the layout, arguments and attributes.
    """

    def __init__(
        self, config: ChannelsConfig, n_borrowers: int, *, other_lenders_apr_cap: float = 1.0
    ) -> None:
        super().__init__(config, n_borrowers, other_lenders_apr_cap=other_lenders_apr_cap)
        k = self.k
        self.n_slots = 1  # slot 0: the blank account
        # Room for an eighth of the borrowers at first; doubled when full.
        self._acc: dict[str, np.ndarray] = {}
        self._grow(max(1 + n_borrowers // 8, 64), k)
        self.lender_cash_cny = np.zeros(k)
        self.draws_total_cny = np.zeros(k)
        # Every per-borrower array of the books, blank (zero) for a borrower who never
        # used another lender: :meth:`grow` appends rows to exactly these.
        for name, dtype in self.PER_BORROWER.items():
            setattr(self, name, np.zeros(n_borrowers, dtype=dtype))
        self.month = ChannelMonth.zeros(k)
        # The last month serviced (0: none yet); each month is serviced once, in order.
        self.serviced_step = 0
        # Rows in use at the last servicing or touched since (``_mark``); ``_rows`` caches
        # its indices and ``_sums`` the per-row totals over channels of those rows.
        self._rows: np.ndarray | None = np.zeros(0, dtype=np.int64)
        self._sums: _RowSums | None = None
        # Slots in use when they were last put in row order (:meth:`order_slots`).
        self._ordered_slots = 1

    #: The per-borrower arrays (``(n_borrowers,)``) and their dtypes; the account tables
    #: themselves are per slot (a new borrower reads the blank slot 0).
    PER_BORROWER: dict[str, type] = {
        "slot_of": np.int32,
        "interest_fees_total_cny": np.float64,
        "balance_month_sum_cny": np.float64,
        "charged_cny": np.float64,
        "_mark": np.bool_,
    }

    def grow(self, n_borrowers: int) -> None:
        """Make room for ``n_borrowers`` borrowers in all: new rows appended, blank.

        A new borrower holds no account (slot 0), has no totals and is not in use; the
        existing rows, slots and accounts are unchanged. The lenders keep no per-firm
        state (a firm's loans sit on its owner's row).

        Args:
            n_borrowers: the new number of borrower rows, >= the current one.

        Raises:
            ValueError: ``n_borrowers`` is smaller than the current number of rows.
        """
        n_new = int(n_borrowers)
        if n_new < self.n:
            raise ValueError(
                f"channels.grow: n_borrowers = {n_new} is below the current {self.n} rows; "
                "borrower rows are only ever appended"
            )
        for name, dtype in self.PER_BORROWER.items():
            setattr(self, name, pad_rows(getattr(self, name), n_new, dtype(0)))
        self.n = n_new

    # ------------------------------------------------------------------ slots
    def _grow(self, capacity: int, k: int) -> None:
        """Tables of ``capacity`` slots, the used ones copied (blank at first).

        The slots beyond ``n_slots`` stay zero (:func:`sim.rows.empty_rows`: pages the
        process has not written yet cost no resident memory) and :meth:`_slots` blanks each
        one as it hands it out, so the room kept for later slots costs little until used.
        """
        for f, (dtype, blank) in ACCOUNT_FIELDS.items():
            table = empty_rows((capacity, k), dtype, zeroed=True)
            if f in self._acc:
                table[: self.n_slots] = self._acc[f][: self.n_slots]
            else:
                table[: self.n_slots] = blank
            self._acc[f] = table

    def _slots(self, rows: np.ndarray) -> np.ndarray:
        """Slots of ``rows`` for writing: borrowers without one get a fresh slot.

        Returns:
            ``(len(rows),)`` int32 slots, none of them the blank slot 0.
        """
        slots = self.slot_of[rows]
        fresh = slots == 0
        if not fresh.any():
            return slots
        new_rows = np.unique(rows[fresh])
        end = self.n_slots + new_rows.size
        capacity = self._acc["balance_cny"].shape[0]
        if end > capacity:
            self._grow(max(2 * capacity, end), self.k)
        for f, (_, blank) in ACCOUNT_FIELDS.items():
            self._acc[f][self.n_slots : end] = blank
        self.slot_of[new_rows] = np.arange(self.n_slots, end, dtype=np.int32)
        self.n_slots = end
        return self.slot_of[rows]

    #: :meth:`new_month` puts the slots in row order again once this share of them was
    #: handed out since the last ordering.
    REORDER_SHARE = 1 / 8

    def new_month(self) -> None:
        """Reset this month's flow totals; put the slots in row order if many are new."""
        super().new_month()
        if (self.n_slots - self._ordered_slots) >= self.REORDER_SHARE * self.n_slots:
            self.order_slots()

    def order_slots(self) -> None:
        """Renumber the slots in borrower-row order: row ``b``'s slot below row ``b + 1``'s.

        A borrower gets a slot when first touched, so slots drift out of row order; the
        stages walk the books in row order through ``slot_of``, and in slot order those
        reads stream through memory instead of jumping (the servicing kernel at 1 M
        borrowers took half the time). The slots handed out since, in ascending rows
        within each batch, cost little until they are many (:data:`REORDER_SHARE`).
        Every account keeps its values (only where it is stored changes), so nothing
        computed changes. ``O(n_slots x k)``.

        Raises:
            RuntimeError: the slots in use and the borrowers holding one disagree (each
                slot belongs to one borrower).
        """
        rows = np.flatnonzero(self.slot_of)
        old = self.slot_of[rows]
        self._ordered_slots = self.n_slots
        if old.size != self.n_slots - 1:
            raise RuntimeError(
                f"channels: {old.size} borrowers hold a slot but {self.n_slots - 1} slots "
                "are in use; each slot belongs to one borrower"
            )
        if old.size == 0 or bool((old[1:] > old[:-1]).all()):
            return  # handed out in row order already (blank slot 0 first)
        take = np.concatenate([np.zeros(1, dtype=np.int64), old.astype(np.int64)])
        for f in ACCOUNT_FIELDS:
            table = self._acc[f]
            table[: self.n_slots] = table.take(take, axis=0)
        self.slot_of[rows] = np.arange(1, self.n_slots, dtype=np.int32)

    def _gather(self, field: str, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), k)`` copy of the accounts of ``rows`` (blank where no slot)."""
        return self._acc[field].take(self.slot_of[rows], axis=0)

    def account_tables(self, *fields: str) -> tuple[np.ndarray, ...]:
        """Read-only views of the account tables of ``fields`` (no copy), for compiled readers.

        Each is ``(capacity, k)``: row ``slot_of[b]`` holds borrower ``b``'s accounts; slot 0
        and the rows from ``n_slots`` on are blank (the value of an account never used).
        The views change as the books do; read them before the next write.

        Raises:
            KeyError: for an unknown field.
        """
        _check_fields(fields)
        views = []
        for f in fields:
            view = self._acc[f].view()
            view.flags.writeable = False
            views.append(view)
        return tuple(views)

    def table(self, field: str) -> np.ndarray:
        """A copy of one account field for every borrower.

        Args:
            field: a key of :data:`ACCOUNT_FIELDS`.

        Returns:
            ``(n_borrowers, k)`` array of the field's dtype (the blank value where a
            borrower never held an account).

        Raises:
            KeyError: for an unknown field.
        """
        _check_fields([field])
        return self._acc[field].take(self.slot_of, axis=0)

    def book(self, c: int) -> ChannelBook:
        """A copy of lender ``c``'s accounts, ``(n_borrowers,)`` per field (see ChannelBook)."""
        c = self._check_channel(c)
        return ChannelBook(
            name=self.names[c],
            apr=float(self.carrying_apr[c]),
            **{f: self._acc[f][self.slot_of, c] for f in ACCOUNT_FIELDS},
        )

    def set_accounts(self, c: int, rows: np.ndarray, **values: object) -> None:
        """Write fields of lender ``c``'s accounts of ``rows`` (scenario set-up, tests).

        Args:
            c: channel index.
            rows: borrower rows (int array).
            **values: field name (a key of :data:`ACCOUNT_FIELDS`) -> a scalar or a
                ``(len(rows),)`` array.

        Raises:
            KeyError: for an unknown field.
            IndexError, TypeError: see :meth:`_check_rows`; a channel outside ``[0, k)``.
        """
        _check_fields(values)
        c, rows = self._check_channel(c), self._check_rows(rows)
        # Every value is checked before anything is written: a failed call changes nothing.
        checked = {}
        for f, v in values.items():
            dtype = ACCOUNT_FIELDS[f][0]
            try:
                checked[f] = np.broadcast_to(np.asarray(v, dtype=dtype), rows.shape)
            except (TypeError, ValueError):
                raise ValueError(
                    f"set_accounts: {f} must be {np.dtype(dtype).name} values, one per row "
                    f"({rows.size}) or one for all, got {v!r}"
                ) from None
            money = f.endswith("_cny")
            if (
                money
                and checked[f].size
                and not (checked[f].min() >= 0 and checked[f].max() < np.inf)
            ):
                raise ValueError(f"set_accounts: {f} must be finite and >= 0 CNY")
        slots = self._slots(rows)
        for f, v in checked.items():
            self._acc[f][slots, c] = v
        self.touch(rows)

    def balances(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), k)`` copy of the balances of ``rows`` on every channel, CNY.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`).
        """
        return self._gather("balance_cny", self._check_rows(rows))

    # ------------------------------------------------------------------ rows in use
    def touch(self, rows: np.ndarray) -> None:
        """Mark ``rows`` as possibly holding channel state.

        The per-borrower totals below look only at the rows in use at the last servicing
        plus the rows touched since (every draw and payment touches its rows).
        """
        self._mark[rows] = True
        self._rows = None
        self._sums = None

    def candidates(self) -> np.ndarray:
        """Rows that may hold a balance, a due or a payment: ``(m,)`` int64, ascending."""
        if self._rows is None:
            self._rows = np.flatnonzero(self._mark)
        return self._rows

    def _scatter(
        self, values: np.ndarray, rows: np.ndarray, dtype: type = np.float64
    ) -> np.ndarray:
        out = np.zeros(self.n, dtype=dtype)
        out[rows] = values
        return out

    # ------------------------------------------------------------------ totals per borrower
    def _row_sums(self) -> _RowSums:
        """Totals over channels of the candidate rows (kept until the next :meth:`touch`)."""
        if self._sums is None:
            rows = self.candidates()
            self._sums = _RowSums.of(
                rows, self._gather("balance_cny", rows), self._gather("min_due_cny", rows)
            )
        return self._sums

    def balance_total(self) -> np.ndarray:
        """``(n,)`` balances summed over channels (defaulted balances included)."""
        sums = self._row_sums()
        return self._scatter(sums.balance_cny, sums.rows)

    def balance_total_of(self, rows: np.ndarray) -> np.ndarray:
        """``balance_total()[rows]`` without making the ``(n,)`` array.

        Args:
            rows: ``(r,)`` int borrower rows, ascending.

        Returns:
            ``(r,)`` float64 balances owed to the other lenders, summed over lenders, CNY.
        """
        sums = self._row_sums()
        at = np.searchsorted(sums.rows, rows)
        hit = at < sums.rows.size
        hit[hit] = sums.rows[at[hit]] == rows[hit]
        out = np.zeros(rows.shape[0])
        out[hit] = sums.balance_cny[at[hit]]
        return out

    def due_total(self) -> np.ndarray:
        """``(n,)`` minimum payments due this month, summed over channels."""
        sums = self._row_sums()
        return self._scatter(round_cny(sums.due_cny), sums.rows)

    def lenders_count(self) -> np.ndarray:
        """``(n,)`` int16 channels with a positive balance."""
        sums = self._row_sums()
        return self._scatter(sums.lenders, sums.rows, np.int16)

    def row_totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-row lenders and dues of the only rows that may have any (the M7 inputs).

        Returns:
            ``(rows, lenders, dues_cny)``: ``(m,)`` int64 candidate rows, their number of
            channels with a positive balance (int16) and their minimum dues summed over
            channels (float64, not rounded).
        """
        sums = self._row_sums()
        return sums.rows, sums.lenders, sums.due_cny

    def high_cost_balance(self) -> np.ndarray:
        """``(n,)`` balances on high-cost channels."""
        rows = self.candidates()
        balance = self._gather("balance_cny", rows)
        return self._scatter(_sum_over_channels(balance[:, self.high_cost]), rows)

    def balance_by_channel(self) -> np.ndarray:
        """``(k,)`` balances of each channel summed over borrowers (defaulted included).

        NumPy's sum over the first axis of the rows' ``(m, k)`` balances adds them one row
        after another for ``k >= 2`` (pairwise for ``k == 1``); compiled, the rows are read
        through their slots in that order (:mod:`sim.lending.channels.totals_kernel`).
        """
        if compiled.implementation() == "compiled" and self.k >= 2:
            return channel_balances_kernel(
                self.candidates(), self.slot_of, self._acc["balance_cny"]
            )
        return self._gather("balance_cny", self.candidates()).sum(axis=0)

    def dense_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """``(balance_total(), due_total())``, in one compiled pass when compiled.

        Returns:
            Two ``(n,)`` float64 arrays, CNY (see :meth:`balance_total`, :meth:`due_total`).
        """
        if compiled.implementation() != "compiled":
            return self.balance_total(), self.due_total()
        balance, due = np.empty(self.n), np.empty(self.n)
        dense_totals_kernel(
            self.slot_of, self._mark, self._acc["balance_cny"], self._acc["min_due_cny"],
            balance, due,
        )  # fmt: skip
        return balance, due

    def owes(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows),)`` bool: the row has a balance or a due on any channel.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`).
        """
        rows = self._check_rows(rows)
        return any_over_channels(self._gather("balance_cny", rows) > 0) | any_over_channels(
            self._gather("min_due_cny", rows) > 0
        )
