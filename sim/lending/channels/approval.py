"""Approval and limits of the other lenders: eligibility rules, approval draws, limits, cash.

An application is decided once a month per lender: the hard rules (score cut-off,
delinquency, history) must hold, the debt-service ratio must be at most the lender's
maximum, and the month's approval uniform of the lender and borrower must fall below the
approval probability of the borrower's credit band (households' and firms' purposes have
their own probabilities), times ``approval_lender_factor`` for each lender already owed
beyond the first. An approved application opens a facility (drawn at once by an instant
lender, from ``step + lag`` by a lender with a lag); a rejected one waits
``reapply_after_months`` before the borrower may apply again.
"""

from __future__ import annotations

import numpy as np

from sim.config import LIMIT_BASES
from sim.lending.channels.books import ChannelBooks
from sim.lending.channels.credit import CreditInfo
from sim.lending.channels.records import (
    NO_FACILITY,
)
from sim.units import round_cny


class ChannelApproval(ChannelBooks):
    """The books with the lenders' approval rules, limits and applications."""

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

    def approval_prob_of(
        self, c: int, rows: np.ndarray, info: CreditInfo, *, firm: bool = False
    ) -> np.ndarray:
        """Probability that channel ``c`` approves an application of ``rows`` this month.

        The band's probability (``firm_approval_prob`` for the owned firm's purpose, else
        ``approval_prob``) x ``approval_lender_factor ** max(lenders owed - 1, 0)``, and 0
        where the debt-service ratio exceeds ``max_debt_service_ratio``. The hard rules
        (:meth:`rules_ok`) are separate.

        Returns:
            ``(len(rows),)`` float64 in [0, 1].
        """
        table = self.firm_approval_prob if firm else self.approval_prob
        p = table[c][info.band_of(rows)]
        extra = np.maximum(info.lenders_of(rows) - 1, 0)
        p = p * self.approval_lender_factor[c] ** extra
        return np.where(info.dsr_of(rows) <= self.max_debt_service_ratio[c], p, 0.0)

    def _decide(
        self, c: int, rows: np.ndarray, info: CreditInfo, step: int, *, firm: bool
    ) -> np.ndarray:
        """Decide the applications of ``rows`` (distinct, passing the rules); record them.

        Approved rows get a facility drawable from ``step + lag`` with the limit of the
        basis now; rejected rows get ``rejected_step = step``.

        Returns:
            ``(len(rows),)`` bool, approved.
        """
        yes = info.uniform(c, rows) < self.approval_prob_of(c, rows, info, firm=firm)
        slots = self._slots(rows)
        self.touch(rows)
        lag = int(self.approval_lag_months[c])
        self._acc["open_step"][slots[yes], c] = step + lag
        self._acc["limit_cny"][slots[yes], c] = self.basis_limit(c, rows[yes], info)
        self._acc["rejected_step"][slots[~yes], c] = step
        return yes

    def _may_apply(self, c: int, slots: np.ndarray, step: int) -> np.ndarray:
        """No facility and no rejection within ``reapply_after_months`` (``slots``' rows)."""
        acc = self._acc
        waited = step - acc["rejected_step"][slots, c].astype(np.int64)
        return (acc["open_step"][slots, c] == NO_FACILITY) & (
            waited >= self.reapply_after_months[c]
        )

    def holds(self, c: int, rows: np.ndarray, step: int) -> np.ndarray:
        """``(len(rows),)`` bool: ``rows`` hold a facility of channel ``c`` drawable now."""
        c, rows = self._check_channel(c), self._check_rows(rows)
        slots = self.slot_of[rows]
        return (self._acc["open_step"][slots, c] <= step) & ~self._acc["defaulted"][slots, c]

    def available_cash(
        self, c: int, rows: np.ndarray, info: CreditInfo, step: int, *, firm: bool = False
    ) -> np.ndarray:
        """Cash channel ``c`` can lend to ``rows`` now (after its upfront fee).

        An instant channel (lag 0) decides the applications of rows without a facility
        that pass its rules (:meth:`approval_prob_of`, one decision a month, a rejected
        row waits ``reapply_after_months``), and re-sizes the limit of every row holding
        a facility and passing its rules to the basis now. A channel with a lag lends
        only on a facility approved at least ``lag`` months ago, while the borrower stays
        in good standing (``dpd <= max_dpd``, no default on the channel).

        Args:
            c: channel index.
            rows: distinct borrower rows asking (applicants where they hold no facility).
            info: what lenders see (:class:`CreditInfo`).
            step: simulated month.
            firm: the cash is for the owned firm's gap (firm approval probabilities).

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
            held = acc["open_step"][slots, c] <= step
            asking = np.flatnonzero(ok & ~held & self._may_apply(c, slots, step))
            if asking.size:
                held[asking[self._decide(c, rows[asking], info, step, firm=firm)]] = True
                acc, slots = self._acc, self.slot_of[rows]  # the tables may have grown
            ok &= held
            limit = self.basis_limit(c, rows, info)
            # Write back only the limits that change (scattered writes are the cost here).
            resized = np.flatnonzero(ok & (limit != acc["limit_cny"][slots, c]))
            if resized.size:
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

    def apply(
        self, c: int, rows: np.ndarray, info: CreditInfo, step: int, *, firm: bool = False
    ) -> np.ndarray:
        """Applications to a channel with an approval lag; returns rows approved now.

        Rows without a facility, not waiting after a rejection, that pass the rules are
        decided (:meth:`approval_prob_of`); an approved facility's limit is fixed now and
        it can be drawn from ``step + approval_lag_months``.

        Raises:
            IndexError, TypeError: bad rows (see :meth:`_check_rows`) or channel.
        """
        c, rows = self._check_channel(c), self._check_rows(rows)
        slots = self.slot_of[rows]
        asking = rows[self._may_apply(c, slots, step) & self.rules_ok(c, rows, info, slots)]
        if asking.size == 0:
            return asking
        return asking[self._decide(c, asking, info, step, firm=firm)]
