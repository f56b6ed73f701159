"""Other lenders (channels): the channel table, per-channel loan books and their servicing.

Beside the platform a borrower may borrow from a handful of other lenders (bank SME
loans, supply-chain finance, credit cards, online lenders, informal lenders; mechanism
M6/M9). Each lender is a row of the channel table (:class:`sim.config.ChannelConfig`) and
holds one revolving account per borrower (a column of compact ``(n_slots, n_channels)``
tables that have rows only for borrowers who ever used another lender), with the fields
:func:`sim.lending.accounts.service_accounts` needs, so every channel is serviced with exactly
the platform's conventions: interest at ``APR / 12`` on the month-end balance, a minimum
payment due next month, 30 DPD per consecutive miss, default at the third miss (the
account closes), charge-off at ``charge_off_dpd`` with recoveries ``(1 - LGD) x balance``.
Fees are separate: an upfront fee on each draw and a monthly service fee on the balance,
both added to the balance. Loans to a sole trader's firm sit on the owner's row (unlimited
liability).

Approval: a channel with ``approval_lag_months = 0`` lends at once to an eligible
borrower (score ``pd_12m < max_pd_12m``, platform ``dpd <= max_dpd``, enough history),
up to its limit (``limit_multiple x`` income, the owned firm's revenue, or its outside
receivables, capped). A channel with a lag >= 1 needs an application: a borrower who
could not meet a need from cheaper sources applies; if eligible the facility is approved
with its limit fixed then and can be drawn from ``step + lag`` on, never in the month of
the application (so a bank loan cannot meet an immediate peak need).

The private-lending cap (Supreme People's Court 2020: 4 x LPR) caps the contract APR of
``private_lending`` channels; the scenario's ``other_lenders_apr_cap`` caps every channel.

Servicing works on the active rows only (a balance, defaulted ones included, a due, or a
payment this month), so a month costs little where few borrowers use a channel. A book
keeps no payment history: servicing's history fields are scratch (:class:`ServicedAccounts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.config import LIMIT_BASES, ChannelsConfig
from sim.lending.accounts import service_accounts
from sim.units import round_cny
from sim.world.borrowers import DELINQUENCY_HISTORY_MONTHS

#: ``open_step`` of a borrower without an approved facility.
NO_FACILITY = np.iinfo(np.int32).max


@dataclass
class CreditInfo:
    """What lenders see about each borrower when deciding.

    Borrower arrays are ``(n_borrowers,)``; firm arrays are ``(n_firms,)`` and reached
    through ``firm_of`` (lookups happen only for the rows a lender is asked about).

    Attributes:
        pd_12m: the platform's 12-month PD (the shared credit score).
        missed: consecutive missed platform payments (DPD = 30 x missed).
        history_months: credit-history length, months.
        income_base_cny: base monthly income.
        firm_of: the borrower's firm row, -1 if none.
        firm_open: the firm is trading.
        firm_age_months: the firm's age.
        firm_revenue_cny: the firm's base monthly revenue.
        firm_receivables_cny: the firm's outside receivables outstanding.
        firm_anchor: the firm sells on credit to a large buyer.
    """

    pd_12m: np.ndarray
    missed: np.ndarray
    history_months: np.ndarray
    income_base_cny: np.ndarray
    firm_of: np.ndarray
    firm_open: np.ndarray
    firm_age_months: np.ndarray
    firm_revenue_cny: np.ndarray
    firm_receivables_cny: np.ndarray
    firm_anchor: np.ndarray

    @classmethod
    def per_borrower(
        cls,
        pd_12m: np.ndarray,
        dpd: np.ndarray,
        history_months: np.ndarray,
        income_base_cny: np.ndarray,
        firm_age_months: np.ndarray | None = None,
        firm_revenue_cny: np.ndarray | None = None,
        firm_receivables_cny: np.ndarray | None = None,
        firm_anchor: np.ndarray | None = None,
    ) -> CreditInfo:
        """Info from per-borrower arrays; a borrower with a firm age >= 0 owns an open firm.

        Args:
            pd_12m: ``(n,)`` 12-month PDs.
            dpd: ``(n,)`` platform days past due (multiples of 30).
            history_months: ``(n,)`` credit-history lengths.
            income_base_cny: ``(n,)`` base monthly incomes.
            firm_age_months: ``(n,)`` the owned firm's age, -1 for no firm (default none).
            firm_revenue_cny: ``(n,)`` the owned firm's base monthly revenue (default 0).
            firm_receivables_cny: ``(n,)`` its outside receivables (default 0).
            firm_anchor: ``(n,)`` it sells to a large buyer (default False).
        """
        n = np.asarray(pd_12m).shape[0]
        age = np.full(n, -1) if firm_age_months is None else np.asarray(firm_age_months)
        zeros = np.zeros(n)
        return cls(
            pd_12m=np.asarray(pd_12m, dtype=np.float64),
            missed=(np.asarray(dpd) // 30).astype(np.int16),
            history_months=np.asarray(history_months),
            income_base_cny=np.asarray(income_base_cny, dtype=np.float64),
            firm_of=np.where(age >= 0, np.arange(n), -1),
            firm_open=age >= 0,
            firm_age_months=age,
            firm_revenue_cny=zeros
            if firm_revenue_cny is None
            else np.asarray(firm_revenue_cny, dtype=np.float64),
            firm_receivables_cny=(
                zeros
                if firm_receivables_cny is None
                else np.asarray(firm_receivables_cny, dtype=np.float64)
            ),
            firm_anchor=np.zeros(n, dtype=bool)
            if firm_anchor is None
            else np.asarray(firm_anchor, dtype=bool),
        )

    def dpd(self, rows: np.ndarray) -> np.ndarray:
        """Platform days past due of ``rows``."""
        return self.missed[rows].astype(np.int32) * 30

    def firm_value(self, rows: np.ndarray, values: np.ndarray, missing: float) -> np.ndarray:
        """A firm array looked up for ``rows`` (``missing`` where there is no open firm)."""
        f = self.firm_of[rows]
        if not values.size:
            return np.full(rows.shape, missing)
        idx = np.maximum(f, 0)
        return np.where((f >= 0) & self.firm_open[idx], values[idx], missing)


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


class Channels:
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
    """

    def __init__(
        self, config: ChannelsConfig, n_borrowers: int, *, other_lenders_apr_cap: float = 1.0
    ) -> None:
        self.config = config
        self.n = n_borrowers
        names = [o for o in config.order if o in config.lenders and config.lenders[o].enabled]
        self.names: tuple[str, ...] = tuple(names)
        lenders = [config.lenders[n] for n in names]

        def col(attr: str, dtype: type = np.float64) -> np.ndarray:
            return np.array([getattr(c, attr) for c in lenders], dtype=dtype)

        self.apr = np.array(
            [min(config.charged_apr(n), other_lenders_apr_cap) for n in names], dtype=np.float64
        )
        self.upfront_fee_rate = col("upfront_fee_rate")
        self.monthly_fee_rate = col("monthly_fee_rate")
        self.carrying_apr = self.apr + 12.0 * self.monthly_fee_rate
        self.approval_lag_months = col("approval_lag_months", np.int64)
        self.max_pd_12m = col("max_pd_12m")
        self.max_dpd = col("max_dpd", np.int64)
        self.min_history_months = col("min_history_months", np.int64)
        self.limit_basis = np.array(
            [LIMIT_BASES.index(c.limit_basis) for c in lenders], dtype=np.int64
        )
        self.limit_multiple = col("limit_multiple")
        self.max_limit_cny = col("max_limit_cny")
        self.min_payment_rate = col("min_payment_rate")
        self.min_payment_floor_cny = col("min_payment_floor_cny")
        self.lgd = col("lgd")
        self.for_household_needs = col("for_household_needs", bool)
        self.for_household_wants = col("for_household_wants", bool)
        self.for_firms = col("for_firms", bool)
        self.high_cost = col("high_cost", bool)
        k = len(names)
        self.slot_of = np.zeros(n_borrowers, dtype=np.int32)
        self.n_slots = 1  # slot 0: the blank account
        # Room for an eighth of the borrowers at first; doubled when full.
        self._acc: dict[str, np.ndarray] = {}
        self._grow(max(1 + n_borrowers // 8, 64), k)
        self.lender_cash_cny = np.zeros(k)
        self.draws_total_cny = np.zeros(k)
        self.interest_fees_total_cny = np.zeros(n_borrowers)
        self.balance_month_sum_cny = np.zeros(n_borrowers)
        self.month = ChannelMonth.zeros(k)
        self.charged_cny = np.zeros(n_borrowers)
        # Rows in use at the last servicing or touched since; ``_rows`` caches its indices
        # and ``_sums`` the per-row totals over channels of those rows.
        self._mark = np.zeros(n_borrowers, dtype=bool)
        self._rows: np.ndarray | None = np.zeros(0, dtype=np.int64)
        self._sums: _RowSums | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def k(self) -> int:
        """Number of channels in use."""
        return len(self.names)

    def costliest_first(self) -> list[int]:
        """Channel indices by carrying cost, dearest first (ties: later in the waterfall first)."""
        return [int(c) for c in np.lexsort((-np.arange(self.k), -self.carrying_apr))]

    def index(self, name: str) -> int:
        """Position of a lender in :attr:`names`.

        Raises:
            KeyError: for a lender that is not enabled or does not exist.
        """
        if name not in self.names:
            raise KeyError(f"unknown or disabled lender {name!r}; the lenders are {self.names}")
        return self.names.index(name)

    def new_month(self) -> None:
        """Reset this month's flow totals."""
        self.month = ChannelMonth.zeros(self.k)

    # ------------------------------------------------------------------ argument checks
    def _check_channel(self, c: int) -> int:
        """``c`` checked as a channel index in ``[0, k)``."""
        if not isinstance(c, int | np.integer) or isinstance(c, bool | np.bool_):
            raise TypeError(f"channel index must be an integer (see index(name)), got {c!r}")
        if not 0 <= c < self.k:
            raise IndexError(f"channel index {c!r} is outside [0, {self.k}): {self.names}")
        return int(c)

    def _check_rows(self, rows: np.ndarray, *, distinct: bool = False) -> np.ndarray:
        """``rows`` checked as borrower row indices: 1-D, integer, in ``[0, n)``.

        Args:
            rows: row indices (array-like).
            distinct: also require each row at most once (a call that posts money).

        Returns:
            ``(m,)`` int64 rows.

        Raises:
            TypeError: a boolean mask, or not integer indices.
            IndexError: a row outside ``[0, n_borrowers)``.
            ValueError: a repeated row where ``distinct``.
        """
        r = np.asarray(rows)
        if r.dtype == np.bool_:
            raise TypeError("channels: rows are row indices, not a mask (use np.flatnonzero)")
        if r.size == 0:
            return np.zeros(0, dtype=np.int64)
        if r.ndim != 1 or not np.issubdtype(r.dtype, np.integer):
            raise TypeError(
                f"channels: rows must be a 1-D array of integer row indices, got {r.dtype} "
                f"of shape {r.shape}"
            )
        lo, hi = int(r.min()), int(r.max())  # before the cast: a huge unsigned row stays huge
        if lo < 0 or hi >= self.n:
            raise IndexError(f"channels: row {lo if lo < 0 else hi} is outside [0, {self.n})")
        r = r.astype(np.int64, copy=False)
        # The model's rows are mostly ascending: then one comparison pass shows they are
        # distinct, and only other calls pay for a sort.
        repeated = (
            distinct and r.size > 1 and not (r[1:] > r[:-1]).all() and np.unique(r).size != r.size
        )
        if repeated:
            raise ValueError("channels: a row appears twice in one call")
        return r

    @staticmethod
    def _check_amounts(amount_cny: np.ndarray | float, rows: np.ndarray, what: str) -> np.ndarray:
        """``amount_cny`` as one finite amount >= 0 per row (a scalar applies to every row)."""
        try:
            amount = np.broadcast_to(np.asarray(amount_cny, dtype=np.float64), rows.shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"channels.{what}: amounts must be numbers, one per row ({rows.size}) or one "
                f"for all, got shape {np.shape(amount_cny)}"
            ) from None
        if amount.size and not (amount.min() >= 0.0 and amount.max() < np.inf):
            raise ValueError(f"channels.{what}: amounts must be finite and >= 0 CNY")
        return amount

    # ------------------------------------------------------------------ slots
    def _grow(self, capacity: int, k: int) -> None:
        """Tables of ``capacity`` slots, the used ones copied, the rest blank."""
        for f, (dtype, blank) in ACCOUNT_FIELDS.items():
            table = np.full((capacity, k), blank, dtype=dtype)
            if f in self._acc:
                table[: self.n_slots] = self._acc[f][: self.n_slots]
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
        self.slot_of[new_rows] = np.arange(self.n_slots, end, dtype=np.int32)
        self.n_slots = end
        return self.slot_of[rows]

    def _gather(self, field: str, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), k)`` copy of the accounts of ``rows`` (blank where no slot)."""
        return self._acc[field].take(self.slot_of[rows], axis=0)

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
        """``(k,)`` balances of each channel summed over borrowers (defaulted included)."""
        return self._gather("balance_cny", self.candidates()).sum(axis=0)

    def owes(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows),)`` bool: the row has a balance or a due on any channel.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`).
        """
        rows = self._check_rows(rows)
        return any_over_channels(self._gather("balance_cny", rows) > 0) | any_over_channels(
            self._gather("min_due_cny", rows) > 0
        )

    # ------------------------------------------------------------------ lending
    def basis_limit(self, c: int, rows: np.ndarray, info: CreditInfo) -> np.ndarray:
        """Channel ``c``'s limit for ``rows``: multiple x basis, capped, rounded to 0.01."""
        basis = LIMIT_BASES[self.limit_basis[c]]
        if basis == "income":
            b = info.income_base_cny[rows]
        elif basis == "revenue":
            b = info.firm_value(rows, info.firm_revenue_cny, 0.0)
        else:
            anchor = info.firm_value(rows, info.firm_anchor, False).astype(bool)
            b = np.where(anchor, info.firm_value(rows, info.firm_receivables_cny, 0.0), 0.0)
        return round_cny(np.minimum(self.limit_multiple[c] * b, self.max_limit_cny[c]))

    def rules_ok(
        self, c: int, rows: np.ndarray, info: CreditInfo, slots: np.ndarray | None = None
    ) -> np.ndarray:
        """Approval rules of channel ``c`` (score, delinquency, history) for ``rows``.

        ``slots`` (``slot_of[rows]``) saves a look-up when the caller has them.
        """
        slots = self.slot_of[rows] if slots is None else slots
        firm_based = LIMIT_BASES[self.limit_basis[c]] != "income"
        if firm_based:
            history = info.firm_value(rows, info.firm_age_months, -1)
        else:
            history = info.history_months[rows]
        ok = (
            ~self._acc["defaulted"][slots, c]
            & (info.pd_12m[rows] < self.max_pd_12m[c])
            & (info.dpd(rows) <= self.max_dpd[c])
            & (history >= self.min_history_months[c])
        )
        if firm_based:
            ok &= history >= 0
        return ok

    def available_cash(self, c: int, rows: np.ndarray, info: CreditInfo, step: int) -> np.ndarray:
        """Cash channel ``c`` can lend to ``rows`` now (after its upfront fee).

        An instant channel (lag 0) re-sizes the limit of eligible rows to the basis now;
        a channel with a lag lends only on a facility approved at least ``lag`` months
        ago, while the borrower stays in good standing (``dpd <= max_dpd``, no default on
        the channel).

        Returns:
            ``(len(rows),)`` float64 CNY, rounded down to the cent.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`) or channel.
        """
        c, rows = self._check_channel(c), self._check_rows(rows)
        acc = self._acc
        slots = self.slot_of[rows]
        if self.approval_lag_months[c] == 0:
            ok = self.rules_ok(c, rows, info, slots)
            limit = self.basis_limit(c, rows, info)
            # Write back only the limits that change (scattered writes are the cost here);
            # a first limit gives the borrower a slot.
            resized = np.flatnonzero(ok & (limit != acc["limit_cny"][slots, c]))
            if resized.size:
                slots[resized] = self._slots(rows[resized])
                acc = self._acc  # the tables may have grown
                acc["limit_cny"][slots[resized], c] = limit[resized]
        else:
            ok = (
                (acc["open_step"][slots, c] <= step)
                & ~acc["defaulted"][slots, c]
                & (info.dpd(rows) <= self.max_dpd[c])
            )
        headroom = np.maximum(acc["limit_cny"][slots, c] - acc["balance_cny"][slots, c], 0.0)
        cash = np.floor(headroom / (1.0 + self.upfront_fee_rate[c]) * 100.0 + 1e-7) / 100.0
        return np.where(ok, cash, 0.0) + 0.0

    def apply(self, c: int, rows: np.ndarray, info: CreditInfo, step: int) -> np.ndarray:
        """Applications to a channel with an approval lag; returns rows approved now.

        Rows without a facility that pass the approval rules get one: its limit is fixed
        now and it can be drawn from ``step + approval_lag_months``.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`) or channel.
        """
        c, rows = self._check_channel(c), self._check_rows(rows)
        lag = int(self.approval_lag_months[c])
        slots = self.slot_of[rows]
        no_facility = self._acc["open_step"][slots, c] == NO_FACILITY
        new = rows[no_facility & self.rules_ok(c, rows, info, slots)]
        new_slots = self._slots(new)
        self.touch(new)
        self._acc["limit_cny"][new_slots, c] = self.basis_limit(c, new, info)
        self._acc["open_step"][new_slots, c] = step + lag
        return new

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
                included) or channel; a negative or non-finite amount.
        """
        c, rows = self._check_channel(c), self._check_rows(rows, distinct=True)
        amount = round_cny(self._check_amounts(amount_cny, rows, "draw"))
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
        dues costliest first (:meth:`costliest_first`).

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

    # ------------------------------------------------------------------ servicing
    def service(self, step: int) -> np.ndarray:
        """Service every channel's active accounts with :func:`sim.lending.accounts.service_accounts`.

        Payments received this month (``paid_cny``) count towards the minimum due. Updates
        this month's flow totals, the lenders' cash (recoveries) and the per-borrower
        accumulators.

        Returns:
            ``(n,)`` interest + monthly fees charged this month per borrower.
        """
        charged = np.zeros(self.n)
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
        return _RowSums(*(getattr(self, f.name)[keep] for f in dataclasses.fields(self)))
