"""The lender table: each enabled lender's terms as ``(k,)`` columns, and argument checks."""

from __future__ import annotations

import numpy as np

from sim.config import LIMIT_BASES, ChannelsConfig
from sim.lending.channels.records import (
    ChannelMonth,
)


class LenderTable:
    """The channel table of a run: the enabled lenders' terms, one ``(k,)`` column each.

    The base of :class:`sim.lending.channels.Channels` (see there for the arguments and
    the attributes); also checks the channel, row and amount arguments of its methods.
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
        # Approval (one column per credit band of sim.config.CREDIT_BANDS), existing debts.
        self.approval_prob = np.array([c.approval_prob for c in lenders], dtype=np.float64)
        self.firm_approval_prob = np.array(
            [c.firm_approval_prob for c in lenders], dtype=np.float64
        )
        if not lenders:
            self.approval_prob = self.approval_prob.reshape(0, 3)
            self.firm_approval_prob = self.firm_approval_prob.reshape(0, 3)
        self.approval_lender_factor = col("approval_lender_factor")
        self.max_debt_service_ratio = col("max_debt_service_ratio")
        self.reapply_after_months = col("reapply_after_months", np.int64)
        cap = [c.monthly_capacity_per_borrower_cny for c in lenders]
        self.capacity_per_borrower_cny = np.array(
            [np.inf if v is None else v for v in cap], dtype=np.float64
        )
        #: ``(k,)`` cash requested but refused for want of capacity, run total, CNY.
        self.rationed_total_cny = np.zeros(len(lenders))

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

    def capacity_left_cny(self, c: int) -> float:
        """Cash channel ``c`` can still lend this month: its capacity less this month's draws."""
        cap = self.capacity_per_borrower_cny[c] * self.n
        return float(max(cap - self.month.draws_cny[c], 0.0))

    def ration(self, c: int, request_cny: np.ndarray) -> np.ndarray:
        """Scale this month's requests to channel ``c`` down to its capacity left.

        Within capacity the requests are returned unchanged; beyond it every request gets
        the same share ``left / sum(requests)``, rounded down to the cent (so the total
        never passes the capacity). The refused cash adds to :attr:`rationed_total_cny`.

        Args:
            c: channel index.
            request_cny: ``(m,)`` cash the rows would draw, >= 0.

        Returns:
            ``(m,)`` float64 cash they may draw, CNY.
        """
        request = np.asarray(request_cny, dtype=np.float64)
        total = float(request.sum())
        if not np.isfinite(self.capacity_per_borrower_cny[c]) or total <= 0.0:
            return request
        left = self.capacity_left_cny(c)
        if total <= left:
            return request
        granted = np.floor(request * (left / total) * 100.0 + 1e-7) / 100.0 + 0.0
        self.rationed_total_cny[c] += total - float(granted.sum())
        return granted

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
