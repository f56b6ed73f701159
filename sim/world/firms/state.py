"""Firm state: the per-firm arrays (:class:`FirmState`), closure causes and ring sizes.

Money is CNY float64, every posting rounded to 0.01 CNY; terms are whole months.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sim.rows import append_rows
from sim.units import round_cny

#: Days in an average month (365 / 12), for daily outflows.
DAYS_PER_MONTH = 365.0 / 12.0
#: Months kept in the receivable / payable rings (terms up to 3 months).
RING_MONTHS = 4


class ClosureCause(IntEnum):
    """Why a firm closed (``NONE`` while open)."""

    NONE = 0
    SHORTFALL = 1  # bills unpaid for close_after_shortfall_months consecutive months
    EXIT = 2  # non-financial exit (retirement, relocation, ...)
    DISTRESS = 3  # exit drawn by the distress part of the exit hazard (sim.world.firms.exits)


def floor_cents(x: np.ndarray) -> np.ndarray:
    """Round amounts down to whole cents (a partial payment never exceeds the cash)."""
    return np.floor(np.asarray(x, dtype=np.float64) * 100.0 + 1e-7) / 100.0 + 0.0


@dataclass
class FirmState:
    """Per-firm arrays of the model, one row per firm (``(n_firms,)`` unless noted).

    Attributes:
        owner: int64 row of the owning borrower.
        sector: int8 index into the :class:`SectorTable`.
        is_open: bool, trading.
        age_months: int32 months since the firm started.
        closed_step: int32 month of closure, -1 while open.
        closure_cause: int8 :class:`ClosureCause`.
        revenue_base_cny: mean monthly outside sales (before seasonality and shocks).
        fixed_cost_cny: fixed costs due every month while open (rent, wages).
        target_buffer_days: the cash buffer the owner aims to keep, days.
        has_anchor_buyer: sells on credit to a large buyer (supply-chain finance).
        persistent_log: the AR(1) log revenue component (world draws, every firm).
        cash_cny: cash balance, >= 0.
        receivables_cny: ``(RING_MONTHS, n)`` outside receivables by due month
            (slot ``step % RING_MONTHS`` holds what falls due at ``step``).
        payables_cny: ``(RING_MONTHS, n)`` payables to outside suppliers by due month.
        edge_payables_cny: ``(RING_MONTHS, n_edges)`` payables to network suppliers, per
            edge of the :class:`SupplyNetwork`, by due month.
        overdue_cny: payables to outside suppliers past due.
        edge_overdue_cny: ``(n_edges,)`` payables to network suppliers past due.
        fixed_arrears_cny: fixed costs past due.
        outflow_hist_cny: ``(outflow_window_months, n)`` accrued operating outflows
            (purchases + fixed costs) of the last months, ring by step.
        network_sales_cny: last month's sales to network buyers.
        shortfall_months: int16 consecutive months in shortfall.
        in_shortfall: bool, bills left unpaid this month.
        buffer_days: cash buffer days of the month (NaN when closed): the month's average
            balance, taken as the mean of its opening and closing cash, over the average
            daily outflow (:func:`sim.world.firms.update_buffer_days`).
        platform_business_cny: the part of the owner's platform balance drawn for the
            firm and not yet repaid by it.
        potential_sales_cny: this month's outside sales if open (a world quantity: the
            same under every policy).
        revenue_cny: this month's total sales (outside + network), 0 when closed.
        uses_personal_credit: bool, the owner funds business needs on personal credit
            (the platform line, personal cards); drawn once at set-up.
        stock_prebought_cny: stock bought ahead for months after next (the season's
            stock of a peak), drawn down as those months' purchases.
        shortfall_memory: recent shortfall months, a count decaying by
            ``firms.shortfall_memory_decay`` a month (the exit hazard's shortfall term).
        (Per-run accumulators) late_payments_total_cny, unmet_gap_total_cny,
        open_months (int32), buffer_days_sum.
    """

    owner: np.ndarray
    sector: np.ndarray
    is_open: np.ndarray
    age_months: np.ndarray
    closed_step: np.ndarray
    closure_cause: np.ndarray
    revenue_base_cny: np.ndarray
    fixed_cost_cny: np.ndarray
    target_buffer_days: np.ndarray
    has_anchor_buyer: np.ndarray
    persistent_log: np.ndarray
    cash_cny: np.ndarray
    receivables_cny: np.ndarray
    payables_cny: np.ndarray
    edge_payables_cny: np.ndarray
    overdue_cny: np.ndarray
    edge_overdue_cny: np.ndarray
    fixed_arrears_cny: np.ndarray
    outflow_hist_cny: np.ndarray
    network_sales_cny: np.ndarray
    shortfall_months: np.ndarray
    in_shortfall: np.ndarray
    buffer_days: np.ndarray
    platform_business_cny: np.ndarray
    potential_sales_cny: np.ndarray
    revenue_cny: np.ndarray
    late_payments_total_cny: np.ndarray
    unmet_gap_total_cny: np.ndarray
    open_months: np.ndarray
    buffer_days_sum: np.ndarray
    uses_personal_credit: np.ndarray
    stock_prebought_cny: np.ndarray
    shortfall_memory: np.ndarray

    @classmethod
    def blank(cls, n_firms: int, n_edges: int = 0, outflow_window_months: int = 3) -> FirmState:
        """Open firms with every amount zero (for hand-built cases; fill the arrays in).

        Args:
            n_firms: number of firms (owners ``0 .. n_firms - 1``, sector 0).
            n_edges: number of supply-network edges.
            outflow_window_months: rows of ``outflow_hist_cny``.
        """
        z = np.zeros(n_firms)
        return cls(
            owner=np.arange(n_firms, dtype=np.int64),
            sector=np.zeros(n_firms, dtype=np.int8),
            is_open=np.ones(n_firms, dtype=bool),
            age_months=np.zeros(n_firms, dtype=np.int32),
            closed_step=np.full(n_firms, -1, dtype=np.int32),
            closure_cause=np.zeros(n_firms, dtype=np.int8),
            revenue_base_cny=z.copy(),
            fixed_cost_cny=z.copy(),
            target_buffer_days=z.copy(),
            has_anchor_buyer=np.zeros(n_firms, dtype=bool),
            persistent_log=z.copy(),
            cash_cny=z.copy(),
            receivables_cny=np.zeros((RING_MONTHS, n_firms)),
            payables_cny=np.zeros((RING_MONTHS, n_firms)),
            edge_payables_cny=np.zeros((RING_MONTHS, n_edges)),
            overdue_cny=z.copy(),
            edge_overdue_cny=np.zeros(n_edges),
            fixed_arrears_cny=z.copy(),
            outflow_hist_cny=np.zeros((outflow_window_months, n_firms)),
            network_sales_cny=z.copy(),
            shortfall_months=np.zeros(n_firms, dtype=np.int16),
            in_shortfall=np.zeros(n_firms, dtype=bool),
            buffer_days=np.full(n_firms, np.nan),
            platform_business_cny=z.copy(),
            potential_sales_cny=z.copy(),
            revenue_cny=z.copy(),
            late_payments_total_cny=z.copy(),
            unmet_gap_total_cny=z.copy(),
            open_months=np.zeros(n_firms, dtype=np.int32),
            buffer_days_sum=z.copy(),
            uses_personal_credit=np.ones(n_firms, dtype=bool),
            stock_prebought_cny=z.copy(),
            shortfall_memory=z.copy(),
        )

    @property
    def n(self) -> int:
        """Number of firms."""
        return int(self.owner.shape[0])

    @property
    def mean_outflow_cny(self) -> np.ndarray:
        """Average monthly operating outflow over the window, ``(n,)``."""
        return self.outflow_hist_cny.mean(axis=0)

    @property
    def receivables_total_cny(self) -> np.ndarray:
        """Outside receivables outstanding, ``(n,)``."""
        return self.receivables_cny.sum(axis=0)

    def target_cash_cny(self) -> np.ndarray:
        """Cash the owner aims to keep: target buffer days x average daily outflow."""
        return round_cny(self.target_buffer_days * self.mean_outflow_cny / DAYS_PER_MONTH)

    def append(self, new: FirmState, n_new_edges: int = 0) -> int:
        """Append ``new``'s firms as rows ``n ..`` and ``n_new_edges`` zero edges (in place).

        Per-firm fields grow by ``new.n`` rows, per-edge fields (``edge_*``) by
        ``n_new_edges`` zero entries at the end (the new buyers' edges, appended by
        :meth:`sim.world.network.SupplyNetwork.append_buyers`). Existing rows keep
        their index (a stable firm id within the run).

        Returns:
            The number of firms appended.
        """
        names = [f.name for f in dataclasses.fields(self)]
        per_firm = [n for n in names if not n.startswith("edge_")]
        added = append_rows(self, new, per_firm)
        if n_new_edges:
            edges = dataclasses.replace(
                new,
                edge_payables_cny=np.zeros((RING_MONTHS, n_new_edges)),
                edge_overdue_cny=np.zeros(n_new_edges),
            )
            append_rows(self, edges, ["edge_payables_cny", "edge_overdue_cny"])
        return added

    def row(self, i: int) -> dict[str, object]:
        """Scalar fields of firm ``i`` (per-edge arrays left out), for case studies."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("edge_"):
                continue
            arr = getattr(self, f.name)
            out[f.name] = arr[..., i].tolist() if arr.ndim > 1 else arr[i].item()
        return out
