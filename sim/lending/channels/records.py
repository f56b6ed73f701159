"""Compact account records of the other lenders: fields, copies, month flows, row helpers.

The books of :class:`sim.lending.channels.Channels` are ``(n_slots, k)`` tables, one per
field of :data:`ACCOUNT_FIELDS`; this module has the field tables, the copies handed out
(:class:`ChannelBook`, :class:`ServicedAccounts`), a month's flow totals
(:class:`ChannelMonth`) and the loops over channels that build per-row totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.world.borrowers import DELINQUENCY_HISTORY_MONTHS

#: ``open_step`` of a borrower without an approved facility.
NO_FACILITY = np.iinfo(np.int32).max
#: ``rejected_step`` of a borrower never rejected (any reapplication wait has passed).
NEVER_REJECTED = -(10**9)


#: Fields of a channel account that servicing changes every month.
BOOK_FIELDS = ("balance_cny", "min_due_cny", "missed")
#: Fields that change only at default or charge-off.
EVENT_FIELDS = ("limit_cny", "defaulted", "charged_off", "default_step")
#: A book's fields that servicing reads and writes (a payment history is not kept).
SERVICED_FIELDS = BOOK_FIELDS + EVENT_FIELDS
#: Every field of an account: its dtype and its value on an account never used.
ACCOUNT_FIELDS: dict[str, tuple[type, float | int | bool]] = {
    "balance_cny": (np.float64, 0.0),
    "limit_cny": (np.float64, 0.0),
    "min_due_cny": (np.float64, 0.0),
    "missed": (np.int16, 0),
    "defaulted": (np.bool_, False),
    "charged_off": (np.bool_, False),
    "default_step": (np.int32, -1),
    "open_step": (np.int32, NO_FACILITY),
    "rejected_step": (np.int32, NEVER_REJECTED),
    "paid_cny": (np.float64, 0.0),
}


@dataclass
class ChannelBook:
    """A copy of one lender's accounts, one row per borrower (``(n,)`` arrays).

    Made by :meth:`Channels.book` for inspection and tests; changing it changes nothing
    in the model (write accounts with :meth:`Channels.set_accounts`).

    Attributes:
        name: lender name.
        apr: accrual rate used by servicing: contract APR + 12 x monthly fee, annual.
        balance_cny, limit_cny, min_due_cny: float64 CNY.
        missed: int16 consecutive missed minimum payments.
        defaulted, charged_off: bool.
        default_step: int32 month of default, -1 if none.
        open_step: int32 month from which an approved facility can be drawn
            (:data:`NO_FACILITY` if none).
        rejected_step: int32 month of the last rejected application
            (:data:`NEVER_REJECTED` if none).
        paid_cny: payments received this month (household dues, prepayments, firm
            repayments), reset after servicing.
    """

    name: str
    apr: float
    balance_cny: np.ndarray
    limit_cny: np.ndarray
    min_due_cny: np.ndarray
    missed: np.ndarray
    defaulted: np.ndarray
    charged_off: np.ndarray
    default_step: np.ndarray
    open_step: np.ndarray
    rejected_step: np.ndarray
    paid_cny: np.ndarray

    def take(self, rows: np.ndarray) -> ServicedAccounts:
        """Copies of ``rows`` with every field servicing needs (history fields are scratch)."""
        return _serviced_accounts({f: getattr(self, f)[rows] for f in SERVICED_FIELDS}, self.apr)


@dataclass
class ServicedAccounts:
    """A copy of some rows of a :class:`ChannelBook` in the shape servicing expects.

    Has the line fields :func:`sim.lending.accounts.service_accounts` reads and writes; the
    history fields (``paid_in_full``, ``payment_ratio``, ``on_time_months``,
    ``delinquent_recent``) are scratch and are not kept by the book.
    """

    balance_cny: np.ndarray
    limit_cny: np.ndarray
    min_due_cny: np.ndarray
    statement_cny: np.ndarray
    missed: np.ndarray
    defaulted: np.ndarray
    charged_off: np.ndarray
    default_step: np.ndarray
    apr: float
    paid_in_full: np.ndarray
    payment_ratio: np.ndarray
    on_time_months: np.ndarray
    delinquent_recent: np.ndarray


def _serviced_accounts(fields: dict[str, np.ndarray], apr: float) -> ServicedAccounts:
    """Accounts of :data:`SERVICED_FIELDS` (``(m,)`` copies) with scratch history fields."""
    m = fields["balance_cny"].shape[0]
    return ServicedAccounts(
        **fields,
        statement_cny=np.zeros(m),
        apr=apr,
        paid_in_full=np.ones(m, dtype=bool),
        payment_ratio=np.ones(m),
        on_time_months=np.zeros(m, dtype=np.int16),
        delinquent_recent=np.zeros((DELINQUENCY_HISTORY_MONTHS, m), dtype=bool),
    )


@dataclass
class ChannelMonth:
    """One month of a channel's flows (totals, CNY), reset by :meth:`Channels.new_month`.

    Attributes (all ``(n_channels,)`` float64): draws_cny (cash lent), upfront_fees_cny,
    payments_cny, interest_cny, monthly_fees_cny, write_off_cny, recoveries_cny,
    ead_at_default_cny, accruing_balance_cny (balance of performing accounts at
    servicing, before interest); default_count (int64).
    """

    draws_cny: np.ndarray
    upfront_fees_cny: np.ndarray
    payments_cny: np.ndarray
    interest_cny: np.ndarray
    monthly_fees_cny: np.ndarray
    write_off_cny: np.ndarray
    recoveries_cny: np.ndarray
    ead_at_default_cny: np.ndarray
    accruing_balance_cny: np.ndarray
    default_count: np.ndarray

    @classmethod
    def zeros(cls, k: int) -> ChannelMonth:
        """All-zero flows for ``k`` channels."""
        kw = {f.name: np.zeros(k) for f in dataclasses.fields(cls)}
        kw["default_count"] = np.zeros(k, dtype=np.int64)
        return cls(**kw)


def _check_fields(names: Iterable[str]) -> None:
    """Raise a KeyError naming any of ``names`` that is not a key of :data:`ACCOUNT_FIELDS`."""
    unknown = sorted(set(names) - set(ACCOUNT_FIELDS))
    if unknown:
        raise KeyError(
            f"unknown channel account fields {unknown}; the fields are {', '.join(ACCOUNT_FIELDS)}"
        )


def _put_rows(table: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``table[rows] = values`` for a C-contiguous ``(n, k)`` table and ``(m, k)`` values.

    Each row is copied whole as one ``k x itemsize``-byte record: several times faster
    than NumPy's row-wise fancy assignment, which copies a short row element by element.
    """
    if table.shape[1] == 0 or rows.size == 0:
        return
    record = np.dtype((np.void, table.shape[1] * table.itemsize))
    values = np.ascontiguousarray(values, dtype=table.dtype)
    np.put(table.view(record).reshape(-1), rows, values.view(record).reshape(-1))


def _sum_over_channels(x: np.ndarray) -> np.ndarray:
    """``(m, k)`` -> ``(m,)`` sum over channels, added in channel order from the first.

    The order is fixed (not NumPy's choice for a short inner axis) so that totals do not
    depend on the table layout.
    """
    if x.shape[1] == 0:
        return np.zeros(x.shape[0])
    total = x[:, 0].copy()
    for c in range(1, x.shape[1]):
        total += x[:, c]
    return total


def _owed_before(owed: np.ndarray) -> np.ndarray:
    """``np.cumsum(owed, axis=0) - owed`` for ``(k, m)`` ``owed``, the same additions in order.

    A running sum over the few channels: ``cumsum`` along the first axis of a C-ordered
    table walks it column by column (about 3x slower here).
    """
    before = np.empty_like(owed)
    running = np.zeros(owed.shape[1:])
    for j in range(owed.shape[0]):
        running += owed[j]
        np.subtract(running, owed[j], out=before[j])
    return before


def count_over_channels(x: np.ndarray) -> np.ndarray:
    """``(m, k)`` bool -> ``(m,)`` int16 count of true values per row.

    A loop over the few channels: NumPy's reductions along a short inner axis
    (``count_nonzero(axis=1)``, ``any(axis=1)``) pay a per-row overhead, 6-8x slower here.
    """
    m, k = x.shape
    count = np.zeros(m, dtype=np.int8 if k <= np.iinfo(np.int8).max else np.int16)
    as_int = x.view(np.int8)
    for c in range(k):
        count += as_int[:, c]
    return count.astype(np.int16)


def any_over_channels(x: np.ndarray) -> np.ndarray:
    """``(m, k)`` bool -> ``(m,)`` bool, any true value per row (see count_over_channels)."""
    out = np.zeros(x.shape[0], dtype=bool)
    for c in range(x.shape[1]):
        out |= x[:, c]
    return out


@dataclass
class _RowSums:
    """Totals over channels of some borrower rows (``(m,)`` each).

    Attributes:
        rows: int64 borrower rows, ascending.
        balance_cny: balances summed over channels.
        due_cny: minimum dues summed over channels (not rounded).
        lenders: int16 channels with a positive balance.
        owes: bool, any balance or due.
    """

    rows: np.ndarray
    balance_cny: np.ndarray
    due_cny: np.ndarray
    lenders: np.ndarray
    owes: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, balance_cny: np.ndarray, min_due_cny: np.ndarray) -> _RowSums:
        """Totals from the ``(m, k)`` balances and minimum dues of ``rows``."""
        positive = balance_cny > 0
        return cls(
            rows=rows,
            balance_cny=_sum_over_channels(balance_cny),
            due_cny=_sum_over_channels(min_due_cny),
            lenders=count_over_channels(positive),
            owes=any_over_channels(positive) | any_over_channels(min_due_cny > 0),
        )

    def where(self, keep: np.ndarray) -> _RowSums:
        """The rows where ``keep`` (``(m,)`` bool) holds."""
        at = np.flatnonzero(keep)  # one scan of the mask; ``take`` is faster than masking
        return _RowSums(*(getattr(self, f.name).take(at) for f in dataclasses.fields(self)))
