"""What lenders see about each borrower when deciding (:class:`CreditInfo`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.units import DAYS_PER_MISS


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
            missed=(np.asarray(dpd) // DAYS_PER_MISS).astype(np.int16),
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
        return self.missed[rows].astype(np.int32) * DAYS_PER_MISS

    def firm_value(self, rows: np.ndarray, values: np.ndarray, missing: float) -> np.ndarray:
        """A firm array looked up for ``rows`` (``missing`` where there is no open firm)."""
        f = self.firm_of[rows]
        if not values.size:
            return np.full(rows.shape, missing)
        idx = np.maximum(f, 0)
        return np.where((f >= 0) & self.firm_open[idx], values[idx], missing)
