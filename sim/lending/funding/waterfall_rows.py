"""The rows of one funding waterfall as the lenders' kernels read them (gathered once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.lending.channels import Channels, CreditInfo

__all__ = ["WaterfallRows"]


class WaterfallRows:
    """The rows of one waterfall: who asks, what lenders see of them, their slots.

    The borrower arrays of ``info`` are gathered once for the rows (every lender's turn then
    reads them in order); the firm arrays stay whole (indexed by firm).

    Args:
        channels: the other lenders.
        who: ``(m,)`` int64 distinct borrower rows, in the waterfall's order.
        info: what lenders see about each borrower (``(n_borrowers,)`` arrays).

    Attributes:
        who: the rows.
        arrays: the kernels' ``info`` tuple without the approval uniforms (empty arrays for
            the parts not given).
        slots: ``(m,)`` int32 the rows' slots in the books, kept up to date as slots are
            handed out.
    """

    def __init__(self, channels: Channels, who: np.ndarray, info: CreditInfo) -> None:
        self.who = who

        def mine(values: np.ndarray | None, dtype: type) -> np.ndarray:
            return np.zeros(0, dtype) if values is None else np.asarray(values)[who]

        self.arrays = (
            info.pd_12m[who],
            info.missed[who],
            info.history_months[who],
            info.income_base_cny[who],
            info.firm_of[who],
            info.firm_open,
            info.firm_age_months,
            info.firm_revenue_cny,
            info.firm_receivables_cny,
            info.firm_anchor,
            mine(info.band, np.int8),
            mine(info.lenders_count, np.int16),
            mine(info.debt_service_ratio, np.float64).astype(np.float64, copy=False),
            mine(info.debt_service_cny, np.float64),
            mine(info.income_cny, np.float64),
        )
        self.slots = channels.slot_of[who]

    #: Positions in :attr:`arrays` of the per-row arrays (the others are per firm, whole).
    PER_ROW = (0, 1, 2, 3, 4, 10, 11, 12, 13, 14)

    def narrow(self, keep: np.ndarray) -> WaterfallRows:
        """The rows at positions ``keep`` (``(q,)`` int64, ascending), arrays gathered.

        A lender's turn over the narrowed rows reads and writes exactly what it would over
        all of them at those positions; its slots are a copy (write them back).
        """
        sub = object.__new__(WaterfallRows)
        sub.who = self.who[keep]
        sub.arrays = tuple(
            a[keep] if (i in self.PER_ROW and a.shape[0]) else a for i, a in enumerate(self.arrays)
        )
        sub.slots = self.slots[keep]
        return sub
