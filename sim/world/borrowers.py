"""Borrower state as a structure of arrays: one row per borrower agent.

Every array has shape ``(n_borrowers,)`` unless noted; money is CNY float64. The Mesa
``Borrower`` agents are thin views of a row of this table (``sim.agents``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sim.rows import append_rows
from sim.units import DAYS_PER_MISS


class BehaviourType(IntEnum):
    """Repayment behaviour types, classified from the UCI payment histories.

    References:
        Card account mix: about 40 % inactive, 20 % transactors, 30 % revolvers
        (CFPB card data point). Types are assigned per UCI row by
        :func:`sim.world.population.classify_behaviour`.
    """

    TRANSACTOR = 0  # pays the whole bill; uses the line and repays at once (M1/M2)
    REVOLVER = 1  # pays about the minimum, carries a balance
    INSTALMENT = 2  # pays a steady share of the balance each month
    DELINQUENT_PRONE = 3  # has been two or more months late; skips payments
    INACTIVE = 4  # little or no use of the line


class ClosureReason(IntEnum):
    """Why a platform line closed for a reason other than default (``NONE`` while open).

    A line closed for attrition is distinct from a defaulted line in every table: it had
    no balance when it closed and its borrower stays in the world (other lenders, income,
    spending) without a platform line.
    """

    NONE = 0
    VOLUNTARY = 1  # the borrower closed a paid-off line (book.voluntary_close_prob_monthly)
    INACTIVITY = 2  # the platform closed a line unused for book.inactivity_close_months


#: Number of months kept in the rolling draw / early-repayment counters.
RECENT_MONTHS = 3
#: Number of months kept in the rolling delinquency history (scorecard feature).
DELINQUENCY_HISTORY_MONTHS = 6
#: Number of months kept in the rolling payment history (scorecard feature
#: ``log_payment_5m_twd``: the mean payment of the last 5 months).
PAYMENT_HISTORY_MONTHS = 5
#: Number of months kept in the rolling statement and payment-ratio histories (scorecard
#: features ``log_headroom_3m_twd`` and ``payment_ratio_min_3m``).
STATEMENT_HISTORY_MONTHS = 3


@dataclass
class BorrowerState:
    """Per-borrower arrays of the model.

    Attributes:
        behaviour_type: int8 :class:`BehaviourType`.
        age_years: int16.
        savvy: bool, follows the platform's advice (M10).
        target_utilisation: the borrower's habitual utilisation of the initial limit
            (mean Apr-Sep bill / limit of its UCI row, in [0, 1]), float64.
        income_base_cny: monthly income when employed, before shocks.
        income_cny: this month's income.
        employed: bool.
        savings_cny: liquid savings, >= 0.
        savings_target_cny: the household's buffer-stock savings target (a persistent
            preference: its starting savings draw), >= 0; spending brings savings back to it.
        limit_cny: platform credit limit, >= 0.
        initial_limit_cny: limit at the start of the run.
        balance_cny: platform drawn balance (principal + capitalised interest), >= 0.
        apr: platform APR of the borrower's tier, annual fraction.
        min_due_cny: minimum payment due this month (from last month's statement).
        arrears_cny: the past-due part of ``min_due_cny`` (missed instalments carried
            forward), >= 0; paying ``min_due_cny - arrears_cny`` holds an account behind in
            its DPD bucket (:func:`sim.lending.accounts.service_accounts`).
        statement_cny: last statement balance.
        missed: consecutive missed minimum payments, int16 (DPD = 30 x missed).
        defaulted: reached 90+ DPD (third consecutive miss).
        closed: the line was closed for attrition (:class:`ClosureReason`), not default.
        closing: the borrower decided to close the line: it takes no new draws (limit 0)
            and closes once paid down.
        closed_step: month of that closure, int32, -1 if none.
        closure_reason: int8 :class:`ClosureReason`.
        charged_off: defaulted balance written off.
        default_step: month of default, int32, -1 if none.
        mob: months on book, int16.
        history_months: credit-history length in months, int16.
        draws_recent: ``(RECENT_MONTHS, n)`` int16 draws per month, ring buffer.
        early_recent: ``(RECENT_MONTHS, n)`` int16 same-month full repayments, ring buffer.
        delinquent_recent: ``(DELINQUENCY_HISTORY_MONTHS, n)`` bool missed-payment months.
        billed_cny: this month's billed amount on the platform line: the statement
            balance plus the draws repaid within the month (a card bill's purchases that
            were paid before the statement date), the scorecard's ``BILL_AMT``.
        payment_recent_cny: ``(PAYMENT_HISTORY_MONTHS, n)`` amount paid on the platform
            line each month (towards the statement, plus same-month repayments), ring
            buffer: the scorecard's ``PAY_AMT``.
        billed_recent_cny: ``(STATEMENT_HISTORY_MONTHS, n)`` ``billed_cny`` each month,
            ring buffer.
        payment_ratio_recent: ``(STATEMENT_HISTORY_MONTHS, n)`` ``payment_ratio`` each month
            (1 where nothing was due), ring buffer.
        months_since_draw: int16 (capped).
        on_time_months: consecutive months with the minimum paid (or nothing due), int16.
        paid_in_full: last statement paid in full or nothing due, bool.
        full_payer: the borrower's current payment habit is to pay the statement in full
            (else it revolves, paying by its behaviour type's rule), bool; it switches
            month to month (:mod:`sim.world.households`).
        payment_ratio: last payment / last statement (1 where nothing was due).
        pd_12m: platform scorecard 12-month PD.
        spending_diversity: normalised entropy of the spending-category mix, [0, 1].
        high_risk_flag: a high-risk transaction was flagged this month.
        lenders_count: lenders with a positive balance, int16.
        debt_service_cny: scheduled debt payments due this month.
        income_decile: 1..10 by base income at start, int8.
        origination_step: month the line was opened, int32 (simulated months count from
            1 at the first burn-in month; the starting book has ``<= 0``).
        (Per-run accumulators) cuts_count, raises_count (int32), interest_total_cny,
        balance_month_sum_cny, income_total_cny, unmet_need_total_cny.
        uci_row: int64 position (``uci.iloc[uci_row]``) of the UCI row the borrower was
            resampled from, so simulated accounts can be compared with the same accounts'
            observed outcomes (:mod:`sim.empirical.validation`).
        earmarked_cny: the undrawn part of the limit earmarked for the owned firm's
            working capital (a peak-season tranche, set by a policy through
            :attr:`sim.platform.policies.LimitDecision.earmarked_cny`), >= 0 and at most
            the headroom: the household cannot draw it, the firm's gap draws it first.
    """

    behaviour_type: np.ndarray
    age_years: np.ndarray
    savvy: np.ndarray
    target_utilisation: np.ndarray
    income_base_cny: np.ndarray
    income_cny: np.ndarray
    employed: np.ndarray
    savings_cny: np.ndarray
    savings_target_cny: np.ndarray
    limit_cny: np.ndarray
    initial_limit_cny: np.ndarray
    balance_cny: np.ndarray
    apr: np.ndarray
    min_due_cny: np.ndarray
    arrears_cny: np.ndarray
    statement_cny: np.ndarray
    missed: np.ndarray
    defaulted: np.ndarray
    closed: np.ndarray
    closing: np.ndarray
    closed_step: np.ndarray
    closure_reason: np.ndarray
    charged_off: np.ndarray
    default_step: np.ndarray
    mob: np.ndarray
    history_months: np.ndarray
    draws_recent: np.ndarray
    early_recent: np.ndarray
    delinquent_recent: np.ndarray
    billed_cny: np.ndarray
    payment_recent_cny: np.ndarray
    billed_recent_cny: np.ndarray
    payment_ratio_recent: np.ndarray
    months_since_draw: np.ndarray
    on_time_months: np.ndarray
    paid_in_full: np.ndarray
    full_payer: np.ndarray
    payment_ratio: np.ndarray
    pd_12m: np.ndarray
    spending_diversity: np.ndarray
    high_risk_flag: np.ndarray
    lenders_count: np.ndarray
    debt_service_cny: np.ndarray
    income_decile: np.ndarray
    origination_step: np.ndarray
    cuts_count: np.ndarray
    raises_count: np.ndarray
    interest_total_cny: np.ndarray
    balance_month_sum_cny: np.ndarray
    income_total_cny: np.ndarray
    unmet_need_total_cny: np.ndarray
    uci_row: np.ndarray
    earmarked_cny: np.ndarray

    @classmethod
    def blank(cls, n: int, **values: object) -> BorrowerState:
        """``n`` borrowers with plain defaults, for tests and case studies (no data needed).

        By default each is an employed revolver, 35 years old, earning 10,000 CNY a month,
        with no savings, a 10,000 CNY limit, no balance, 24 months of clean history and
        ``pd_12m`` 0.01 (see :data:`BLANK_DEFAULTS`). ``values`` override any field with a
        scalar or an array broadcastable to the field's shape (``(n,)``, or
        ``(months, n)`` for the ring buffers), cast to the field's dtype.

        Args:
            n: number of borrowers, >= 0.
            **values: field name -> value.

        Returns:
            A new state with arrays of their own.

        Raises:
            ValueError: if ``n < 0``.
            TypeError: for a name that is not a field.
        """
        if n < 0:
            raise ValueError(f"BorrowerState.blank: n must be >= 0, got {n}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"BorrowerState.blank: unknown field(s) {unknown}")
        arrays = {}
        for name, (dtype, default, rows) in BLANK_DEFAULTS.items():
            shape = (n,) if rows is None else (rows, n)
            value = values.get(name, default)
            arrays[name] = np.array(np.broadcast_to(np.asarray(value), shape), dtype=dtype)
        return cls(**arrays)

    @property
    def n(self) -> int:
        """Number of borrowers."""
        return int(self.limit_cny.shape[0])

    @property
    def is_open(self) -> np.ndarray:
        """Line open: neither defaulted nor closed for attrition."""
        return ~(self.defaulted | self.closed)

    def append(self, new: BorrowerState) -> int:
        """Append ``new``'s borrowers as rows ``n .. n + new.n - 1`` (in place, amortised).

        Existing rows keep their index (a stable borrower id within the run).

        Returns:
            The number of rows appended.
        """
        return append_rows(self, new)

    def record_history(self, step: int, paid_cny: np.ndarray, early_cny: np.ndarray) -> None:
        """Record month ``step``'s bill and payment for the scorecard, after servicing.

        ``billed_cny`` becomes the new statement plus ``early_cny``; slot
        ``step % months`` of ``billed_recent_cny`` takes it, of ``payment_recent_cny``
        ``paid_cny + early_cny`` and of ``payment_ratio_recent`` ``payment_ratio``. Each
        buffer holds its last months whatever the slot order (the scorecard reads means
        and minima); a state built at month 0 holds lag ``j`` in slot ``-j % months``.

        Args:
            step: simulated month (1-based).
            paid_cny: ``(n,)`` payment towards this month's minimum due (the statement).
            early_cny: ``(n,)`` draws of this month repaid within it.
        """
        billed = self.statement_cny + early_cny
        self.billed_cny[:] = billed
        self.billed_recent_cny[step % STATEMENT_HISTORY_MONTHS] = billed
        self.payment_recent_cny[step % PAYMENT_HISTORY_MONTHS] = paid_cny + early_cny
        self.payment_ratio_recent[step % STATEMENT_HISTORY_MONTHS] = self.payment_ratio

    @property
    def dpd(self) -> np.ndarray:
        """Days past due, int16: 30 per consecutive missed minimum payment."""
        return (self.missed * DAYS_PER_MISS).astype(np.int16)

    def copy(self) -> BorrowerState:
        """Deep copy (every array copied)."""
        return dataclasses.replace(
            self, **{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)}
        )

    def row(self, i: int) -> dict[str, object]:
        """All scalar fields of row ``i`` as a dict (for case studies and tests)."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            arr = getattr(self, f.name)
            out[f.name] = arr[..., i].tolist() if arr.ndim > 1 else arr[i].item()
        return out


@dataclass(frozen=True)
class MonthStart:
    """What a month started from (read by the month's transition counts and flow totals).

    Attributes:
        bucket: ``(n_borrowers,)`` int8 DPD bucket (:func:`sim.units.bucket_index`).
        is_open: ``(n_borrowers,)`` bool, line open at the start of the month.
    """

    bucket: np.ndarray
    is_open: np.ndarray


#: Field -> (dtype, default value, ring-buffer months or None) of
#: :meth:`BorrowerState.blank`.
BLANK_DEFAULTS: dict[str, tuple[type, object, int | None]] = {
    "behaviour_type": (np.int8, int(BehaviourType.REVOLVER), None),
    "age_years": (np.int16, 35, None),
    "savvy": (np.bool_, False, None),
    "target_utilisation": (np.float64, 0.3, None),
    "income_base_cny": (np.float64, 10_000.0, None),
    "income_cny": (np.float64, 10_000.0, None),
    "employed": (np.bool_, True, None),
    "savings_cny": (np.float64, 0.0, None),
    "savings_target_cny": (np.float64, 0.0, None),
    "limit_cny": (np.float64, 10_000.0, None),
    "initial_limit_cny": (np.float64, 10_000.0, None),
    "balance_cny": (np.float64, 0.0, None),
    "apr": (np.float64, 0.18, None),
    "min_due_cny": (np.float64, 0.0, None),
    "arrears_cny": (np.float64, 0.0, None),
    "statement_cny": (np.float64, 0.0, None),
    "missed": (np.int16, 0, None),
    "defaulted": (np.bool_, False, None),
    "closed": (np.bool_, False, None),
    "closing": (np.bool_, False, None),
    "closed_step": (np.int32, -1, None),
    "closure_reason": (np.int8, 0, None),
    "charged_off": (np.bool_, False, None),
    "default_step": (np.int32, -1, None),
    "mob": (np.int16, 24, None),
    "history_months": (np.int16, 24, None),
    "draws_recent": (np.int16, 0, RECENT_MONTHS),
    "early_recent": (np.int16, 0, RECENT_MONTHS),
    "delinquent_recent": (np.bool_, False, DELINQUENCY_HISTORY_MONTHS),
    "billed_cny": (np.float64, 0.0, None),
    "payment_recent_cny": (np.float64, 0.0, PAYMENT_HISTORY_MONTHS),
    "billed_recent_cny": (np.float64, 0.0, STATEMENT_HISTORY_MONTHS),
    "payment_ratio_recent": (np.float64, 1.0, STATEMENT_HISTORY_MONTHS),
    "months_since_draw": (np.int16, 12, None),
    "on_time_months": (np.int16, 24, None),
    "paid_in_full": (np.bool_, True, None),
    "full_payer": (np.bool_, False, None),
    "payment_ratio": (np.float64, 1.0, None),
    "pd_12m": (np.float64, 0.01, None),
    "spending_diversity": (np.float64, 0.5, None),
    "high_risk_flag": (np.bool_, False, None),
    "lenders_count": (np.int16, 0, None),
    "debt_service_cny": (np.float64, 0.0, None),
    "income_decile": (np.int8, 5, None),
    "origination_step": (np.int32, -24, None),
    "cuts_count": (np.int32, 0, None),
    "raises_count": (np.int32, 0, None),
    "interest_total_cny": (np.float64, 0.0, None),
    "balance_month_sum_cny": (np.float64, 0.0, None),
    "income_total_cny": (np.float64, 0.0, None),
    "unmet_need_total_cny": (np.float64, 0.0, None),
    "uci_row": (np.int64, -1, None),
    "earmarked_cny": (np.float64, 0.0, None),
}
