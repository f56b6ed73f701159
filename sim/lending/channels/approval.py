"""Approval and limits of the other lenders: eligibility rules, limits, cash available now."""

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
