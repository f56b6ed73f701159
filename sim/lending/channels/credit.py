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
        band: ``(n_borrowers,)`` int8 credit band (0 prime, 1 near-prime, 2 subprime;
            :data:`sim.config.CREDIT_BANDS`); None: everyone prime.
        lenders_count: ``(n_borrowers,)`` lenders owed at the last servicing (the
            platform included); None: none.
        debt_service_ratio: ``(n_borrowers,)`` last month's scheduled payments to every
            lender / income; None: 0.
        u_approval: ``(n_channels, n_borrowers)`` uniforms of this month's approval
            decisions (the ``lenders`` stream, :func:`sim.world.draws.draw_lender_world`);
            None: every application with a positive approval probability is approved.
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
    band: np.ndarray | None = None
    lenders_count: np.ndarray | None = None
    debt_service_ratio: np.ndarray | None = None
    u_approval: np.ndarray | None = None

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

    def band_of(self, rows: np.ndarray) -> np.ndarray:
        """Credit bands of ``rows`` (``(m,)`` intp; 0 where no bands are given)."""
        if self.band is None:
            return np.zeros(rows.shape, dtype=np.intp)
        return self.band[rows].astype(np.intp)

    def lenders_of(self, rows: np.ndarray) -> np.ndarray:
        """Lenders owed by ``rows`` (``(m,)`` int64; 0 where not given)."""
        if self.lenders_count is None:
            return np.zeros(rows.shape, dtype=np.int64)
        return self.lenders_count[rows].astype(np.int64)

    def dsr_of(self, rows: np.ndarray) -> np.ndarray:
        """Debt-service ratios of ``rows`` (``(m,)`` float64; 0 where not given)."""
        if self.debt_service_ratio is None:
            return np.zeros(rows.shape)
        return np.asarray(self.debt_service_ratio, dtype=np.float64)[rows]

    def uniform(self, c: int, rows: np.ndarray) -> np.ndarray:
        """This month's approval uniforms of channel ``c`` for ``rows`` (0 where not given)."""
        if self.u_approval is None:
            return np.zeros(rows.shape)
        return self.u_approval[c, rows].astype(np.float64)

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


def credit_bands(pd_12m: np.ndarray, prime_share: float, subprime_share: float) -> np.ndarray:
    """Credit bands by score rank: the best ``prime_share`` prime, the worst subprime.

    Ties in ``pd_12m`` are broken by row (a stable sort), so the shares are exact:
    ``round(prime_share x n)`` rows are prime and ``round(subprime_share x n)`` subprime.

    Args:
        pd_12m: ``(n,)`` 12-month PDs (the shared credit score).
        prime_share: fraction of borrowers in the prime band, in [0, 1].
        subprime_share: fraction in the subprime band, in [0, 1 - prime_share].

    Returns:
        ``(n,)`` int8: 0 prime, 1 near-prime, 2 subprime (:data:`sim.config.CREDIT_BANDS`).

    References:
        CALIBRATION.md M1 (Federal Reserve 2007, Table 1): 73 % of scorable US consumers
        score 650 or more, 15 % below 600 (the default shares).
    """
    n = pd_12m.shape[0]
    order = np.argsort(pd_12m, kind="stable")
    band = np.ones(n, dtype=np.int8)
    n_prime = int(round(prime_share * n))
    n_sub = min(int(round(subprime_share * n)), n - n_prime)
    band[order[:n_prime]] = 0
    band[order[n - n_sub :]] = 2
    return band
