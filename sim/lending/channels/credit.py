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
            :data:`sim.config.CREDIT_BANDS`); None: from ``band_bounds``.
        band_bounds: ``(prime_max_pd, subprime_min_pd)``: a PD at most the first is prime,
            above the second subprime (:func:`band_bounds`); None with ``band`` None:
            everyone prime. Bands are looked up only for the rows a lender is asked about.
        lenders_count: ``(n_borrowers,)`` lenders owed at the last servicing (the
            platform included); None: none.
        debt_service_ratio: ``(n_borrowers,)`` last month's scheduled payments to every
            lender / income; None: from ``debt_service_cny`` / ``income_cny``, or 0.
        debt_service_cny, income_cny: ``(n_borrowers,)`` scheduled payments to every
            lender at the last servicing, this month's income (used where
            ``debt_service_ratio`` is None; the ratio divides by at least 1 CNY).
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
    band_bounds: tuple[float, float] | None = None
    lenders_count: np.ndarray | None = None
    debt_service_ratio: np.ndarray | None = None
    debt_service_cny: np.ndarray | None = None
    income_cny: np.ndarray | None = None
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
        if self.band is not None:
            return self.band[rows].astype(np.intp)
        if self.band_bounds is None:
            return np.zeros(rows.shape, dtype=np.intp)
        pd_rows = self.pd_12m[rows]
        prime_max, subprime_min = self.band_bounds
        return (pd_rows > prime_max).astype(np.intp) + (pd_rows > subprime_min)

    def lenders_of(self, rows: np.ndarray) -> np.ndarray:
        """Lenders owed by ``rows`` (``(m,)`` int64; 0 where not given)."""
        if self.lenders_count is None:
            return np.zeros(rows.shape, dtype=np.int64)
        return self.lenders_count[rows].astype(np.int64)

    def dsr_of(self, rows: np.ndarray) -> np.ndarray:
        """Debt-service ratios of ``rows`` (``(m,)`` float64; 0 where not given)."""
        if self.debt_service_ratio is not None:
            return np.asarray(self.debt_service_ratio, dtype=np.float64)[rows]
        if self.debt_service_cny is None or self.income_cny is None:
            return np.zeros(rows.shape)
        return self.debt_service_cny[rows] / np.maximum(self.income_cny[rows], 1.0)

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


def band_bounds(
    pd_12m: np.ndarray, prime_share: float, subprime_share: float
) -> tuple[float, float]:
    """PD bounds of the credit bands: the ``prime_share`` and ``1 - subprime_share`` quantiles.

    A borrower with ``pd_12m <= prime_max`` is prime, ``> subprime_min`` subprime, the
    rest near-prime (:meth:`CreditInfo.band_of`). Above 65,536 borrowers the quantiles are
    taken on every ``n // 65,536``-th row (a sample of fixed stride: the bounds move by
    well under a percentile, and a month does not pay for a full selection).

    Args:
        pd_12m: ``(n,)`` 12-month PDs (the shared credit score), n >= 1.
        prime_share: fraction of borrowers in the prime band, in [0, 1].
        subprime_share: fraction in the subprime band, in [0, 1 - prime_share].

    Returns:
        ``(prime_max, subprime_min)`` PDs, ``prime_max <= subprime_min``.

    References:
        CALIBRATION.md M1 (Federal Reserve 2007, Table 1): 73 % of scorable US consumers
        score 650 or more, 15 % below 600 (the default shares).
    """
    if pd_12m.size == 0:
        return (1.0, 1.0)
    sample = pd_12m[:: max(1, pd_12m.size // 65_536)]
    prime_max, subprime_min = np.quantile(sample, [prime_share, 1.0 - subprime_share])
    return float(prime_max), float(subprime_min)


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
