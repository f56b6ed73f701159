"""Micro-enterprises: sector table, firm state arrays and the monthly firm cash flow.

Every firm is owned by one borrower (a sole trader). Its numbers live in
:class:`FirmState` (one row per firm, structure of arrays); the Mesa
``MicroEnterprise`` agents (:mod:`sim.agents`) are thin row views. Money is
CNY float64, every posting rounded to 0.01 CNY; terms are whole months (30 days = 1).

One firm month has two halves around the funding waterfall (:mod:`sim.lending.funding`):

1. :func:`operate` (stage ``enterprise``): outside sales (sector level x seasonality x a
   persistent AR(1) and a transitory revenue shock), cash sales collected now, credit
   sales booked as receivables due after the sector's receivable terms; stock for the
   sales ``stock_lead_months`` ahead is bought now (a share from network suppliers, split
   by the trade shares of :mod:`sim.world.network`) and booked as payables due after the
   payable terms; fixed costs (rent, wages) fall due. The **liquidity gap** is what the
   obligations due this month exceed the cash plus this month's outside collections.
2. :func:`settle` (stage ``settlement``): with the funding received, fixed costs are paid
   first, then suppliers pro rata (a partial payment is a late payment; the unpaid part
   stays due as overdue). A firm's payments to network suppliers are their collections,
   credited at the end of the month (stress spreads one link a month). A firm in
   shortfall (bills left unpaid) for ``close_after_shortfall_months`` consecutive months
   closes (cause ``SHORTFALL``); an open firm also closes with the exogenous exit hazard
   (cause ``EXIT``). A closing firm pays what it still owes from its cash, pro rata; the
   rest is written off (network suppliers lose it). A closed firm buys and sells nothing
   more but still collects its receivables, which go to its owner.

Cash buffer days (JPMorgan Chase Institute 2016) are ``cash / average daily outflow``,
the outflow being the accrued operating outflows (purchases + fixed costs) averaged over
the last ``outflow_window_months`` months, over ``DAYS_PER_MONTH`` days a month.

Money identity of a firm month (tested): ``cash_end = cash_start + collections +
network receipts + funding - fixed paid - supplier payments - debt repaid - owner draws``.

References:
    JPMorgan Chase Institute (2016). Cash is King: Flows, Balances, and Buffer Days.
    Knaup, A. E. (2005). Survival and longevity in the Business Employment Dynamics data.
    Monthly Labor Review, May 2005.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from sim.config import FirmsConfig
from sim.units import round_cny
from sim.world.draws import FirmDraws
from sim.world.network import SupplyNetwork, build_supply_network

if TYPE_CHECKING:
    from sim.month import Month, World

#: Days in an average month (365 / 12), for daily outflows.
DAYS_PER_MONTH = 365.0 / 12.0
#: Months kept in the receivable / payable rings (terms up to 3 months).
RING_MONTHS = 4


class ClosureCause(IntEnum):
    """Why a firm closed (``NONE`` while open)."""

    NONE = 0
    SHORTFALL = 1  # bills unpaid for close_after_shortfall_months consecutive months
    EXIT = 2  # exogenous exit (retirement, relocation, ...)


def floor_cents(x: np.ndarray) -> np.ndarray:
    """Round amounts down to whole cents (a partial payment never exceeds the cash)."""
    return np.floor(np.asarray(x, dtype=np.float64) * 100.0 + 1e-7) / 100.0 + 0.0


@dataclass(frozen=True)
class SectorTable:
    """The sector table as arrays, one entry per sector (index = position in ``names``).

    Attributes:
        names: sector names, in config order.
        share: ``(n_sectors,)`` normalised shares of firms.
        seasonality: ``(n_sectors, 12)`` revenue multipliers, January first.
        Every other attribute is ``(n_sectors,)``, named as in
        :class:`sim.config.SectorConfig`; ``supplier_sectors`` is a list of index lists.
    """

    names: tuple[str, ...]
    share: np.ndarray
    revenue_income_multiple: np.ndarray
    revenue_size_sigma: np.ndarray
    revenue_sigma: np.ndarray
    persistent_sigma: np.ndarray
    seasonality: np.ndarray
    cogs_ratio: np.ndarray
    fixed_cost_ratio: np.ndarray
    credit_sales_share: np.ndarray
    receivable_terms_months: np.ndarray
    payable_terms_months: np.ndarray
    network_purchase_share: np.ndarray
    target_buffer_days: np.ndarray
    target_buffer_sigma: np.ndarray
    anchor_buyer_share: np.ndarray
    supplier_sectors: list[list[int]]

    @classmethod
    def from_config(cls, config: FirmsConfig) -> SectorTable:
        """Build the table from the validated ``firms`` config."""
        names = tuple(config.sectors)
        sectors = [config.sectors[n] for n in names]

        def col(attr: str, dtype: type = np.float64) -> np.ndarray:
            return np.array([getattr(s, attr) for s in sectors], dtype=dtype)

        share = col("share")
        return cls(
            names=names,
            share=share / share.sum(),
            revenue_income_multiple=col("revenue_income_multiple"),
            revenue_size_sigma=col("revenue_size_sigma"),
            revenue_sigma=col("revenue_sigma"),
            persistent_sigma=col("persistent_sigma"),
            seasonality=np.array([s.seasonality for s in sectors], dtype=np.float64),
            cogs_ratio=col("cogs_ratio"),
            fixed_cost_ratio=col("fixed_cost_ratio"),
            credit_sales_share=col("credit_sales_share"),
            receivable_terms_months=col("receivable_terms_months", np.int64),
            payable_terms_months=col("payable_terms_months", np.int64),
            network_purchase_share=col("network_purchase_share"),
            target_buffer_days=col("target_buffer_days"),
            target_buffer_sigma=col("target_buffer_sigma"),
            anchor_buyer_share=col("anchor_buyer_share"),
            supplier_sectors=[[names.index(x) for x in s.supplier_sectors] for s in sectors],
        )

    def season(self, calendar_month: int, peak_multiplier: float = 1.0) -> np.ndarray:
        """Revenue multipliers of a calendar month, ``(n_sectors,)``.

        Args:
            calendar_month: 1..12 (any integer: taken modulo 12).
            peak_multiplier: scales the part of a multiplier above 1 (the scenario's
                ``firm_peak_multiplier``: 1.5 makes a 1.2 peak 1.3).
        """
        m = self.seasonality[:, (int(calendar_month) - 1) % 12]
        return np.where(m > 1.0, 1.0 + peak_multiplier * (m - 1.0), m)

    def peak_ahead(
        self, calendar_month: int, lookahead: int, threshold: float, peak_multiplier: float = 1.0
    ) -> np.ndarray:
        """``(n_sectors,)`` bool: a peak month (multiplier >= threshold) in the next months.

        Args:
            calendar_month: the current calendar month, 1..12.
            lookahead: months ahead checked (``calendar_month + 1 .. + lookahead``).
            threshold: multiplier marking a peak.
            peak_multiplier: as in :meth:`season`.
        """
        out = np.zeros(len(self.names), dtype=bool)
        for k in range(1, lookahead + 1):
            out |= self.season(calendar_month + k, peak_multiplier) >= threshold
        return out


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
        buffer_days: cash buffer days at the end of the month (NaN when closed).
        platform_business_cny: the part of the owner's platform balance drawn for the
            firm and not yet repaid by it.
        potential_sales_cny: this month's outside sales if open (a world quantity: the
            same under every policy).
        revenue_cny: this month's total sales (outside + network), 0 when closed.
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

    def row(self, i: int) -> dict[str, object]:
        """Scalar fields of firm ``i`` (per-edge arrays left out), for case studies."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("edge_"):
                continue
            arr = getattr(self, f.name)
            out[f.name] = arr[..., i].tolist() if arr.ndim > 1 else arr[i].item()
        return out


def cash_buffer_days(cash_cny: np.ndarray, monthly_outflow_cny: np.ndarray) -> np.ndarray:
    """Cash buffer days: cash / average daily outflow (JPMorgan Chase Institute 2016).

    Args:
        cash_cny: ``(n,)`` cash balances.
        monthly_outflow_cny: ``(n,)`` average monthly outflows; the daily outflow is this
            / :data:`DAYS_PER_MONTH`.

    Returns:
        ``(n,)`` float64 days; NaN where the outflow is not positive.

    References:
        JPMorgan Chase Institute (2016), Cash is King: median 27 buffer days.
    """
    cash = np.asarray(cash_cny, dtype=np.float64)
    out = np.asarray(monthly_outflow_cny, dtype=np.float64)
    daily = out / DAYS_PER_MONTH
    return np.divide(cash, daily, out=np.full(cash.shape, np.nan), where=daily > 0)


# --------------------------------------------------------------------------- building


def _calendar(start_calendar_month: int, step: int) -> int:
    return (start_calendar_month - 1 + step - 1) % 12 + 1


def build_firms(
    income_base_cny: np.ndarray,
    config: FirmsConfig,
    rng: np.random.Generator,
    *,
    start_calendar_month: int = 1,
) -> tuple[FirmState, SupplyNetwork, SectorTable]:
    """Create the firms, attach them to owners, build the supply network.

    ``round(owner_share x n_borrowers)`` borrowers own one firm each, drawn without
    replacement; sectors by the configured shares; monthly outside revenue
    ``income_base[owner] x revenue_income_multiple x lognormal(size sigma)``; target
    buffers log-normal around the sector's median; ages exponential. Receivables,
    payables and outflow histories start at their steady state, cash at the target.
    All draws come from ``rng`` (the population stream, after the borrowers were drawn),
    so every policy gets the same firms.

    Args:
        income_base_cny: ``(n_borrowers,)`` base monthly incomes (the owners' scale).
        config: the ``firms`` config.
        rng: the population stream.
        start_calendar_month: calendar month of simulated month 1 (the receivables and
            payables at the start follow the sector calendars of the months before).

    Returns:
        ``(firms, network, sectors)``.
    """
    sectors = SectorTable.from_config(config)
    n_b = int(income_base_cny.shape[0])
    n = int(round(config.owner_share * n_b))
    owner = (
        np.sort(rng.choice(n_b, size=n, replace=False)).astype(np.int64)
        if n
        else np.zeros(0, np.int64)
    )
    sector = rng.choice(len(sectors.names), size=n, p=sectors.share).astype(np.int8)
    z_size = rng.standard_normal(n)
    z_target = rng.standard_normal(n)
    age = (
        np.floor(rng.exponential(config.age_mean_months, n)).astype(np.int32)
        if n
        else np.zeros(0, np.int32)
    )
    anchor = rng.random(n) < sectors.anchor_buyer_share[sector]
    psig = sectors.persistent_sigma[sector]
    persistent = psig * rng.standard_normal(n)
    size_sig = sectors.revenue_size_sigma[sector]
    revenue_base = round_cny(
        income_base_cny[owner]
        * sectors.revenue_income_multiple[sector]
        * np.exp(size_sig * z_size - 0.5 * size_sig**2)
    )
    revenue_base = np.maximum(revenue_base, 100.0)
    tsig = sectors.target_buffer_sigma[sector]
    target = sectors.target_buffer_days[sector] * np.exp(tsig * z_target)
    buys = sectors.network_purchase_share[sector] > 0
    network = build_supply_network(
        sector.astype(np.int64),
        revenue_base,
        sectors.supplier_sectors,
        buys,
        config.suppliers_per_firm,
        rng,
    )

    # Steady state: network sales at base level, fixed costs on total base revenue.
    cogs = sectors.cogs_ratio[sector]
    ns = sectors.network_purchase_share[sector]
    buyer_net_base = cogs * ns * revenue_base  # approximate: buyers' own network sales ignored
    network_sales = round_cny(
        network.to_suppliers(buyer_net_base * network.has_open_supplier(np.ones(n, bool)))
    )
    total_base = revenue_base + network_sales
    fixed = round_cny(sectors.fixed_cost_ratio[sector] * total_base)

    receivables = np.zeros((RING_MONTHS, n))
    payables = np.zeros((RING_MONTHS, n))
    edge_payables = np.zeros((RING_MONTHS, network.n_edges))
    rterms = sectors.receivable_terms_months[sector]
    pterms = sectors.payable_terms_months[sector]
    credit = sectors.credit_sales_share[sector]
    has_sup = network.has_open_supplier(np.ones(n, bool))
    net_share = np.where(has_sup, ns, 0.0)
    edge_pterms = pterms[network.buyer]
    for due_step in range(1, RING_MONTHS):
        slot = due_step % RING_MONTHS
        # Credit sales made at due_step - terms (<= 0) fall due at due_step.
        sale_step = due_step - rterms
        season = sectors.seasonality[sector, (start_calendar_month - 1 + sale_step - 1) % 12]
        receivables[slot] = np.where(
            (rterms >= due_step) & (rterms > 0), round_cny(credit * revenue_base * season), 0.0
        )
        buy_step = due_step - pterms
        sold_step = buy_step + config.stock_lead_months
        season_p = sectors.seasonality[sector, (start_calendar_month - 1 + sold_step - 1) % 12]
        purchase = cogs * (revenue_base * season_p + network_sales)
        due_now = (pterms >= due_step) & (pterms > 0)
        payables[slot] = np.where(due_now, round_cny((1.0 - net_share) * purchase), 0.0)
        edge_due = (edge_pterms >= due_step) & (edge_pterms > 0)
        edge_amount = round_cny(net_share[network.buyer] * purchase[network.buyer] * network.share)
        edge_payables[slot] = np.where(edge_due, edge_amount, 0.0)
    outflow = round_cny(cogs * total_base + fixed)
    outflow_hist = np.repeat(outflow[None, :], config.outflow_window_months, axis=0)
    cash = round_cny(target * outflow / DAYS_PER_MONTH)
    firms = FirmState(
        owner=owner,
        sector=sector,
        is_open=np.ones(n, dtype=bool),
        age_months=age,
        closed_step=np.full(n, -1, dtype=np.int32),
        closure_cause=np.zeros(n, dtype=np.int8),
        revenue_base_cny=revenue_base,
        fixed_cost_cny=fixed,
        target_buffer_days=target,
        has_anchor_buyer=anchor,
        persistent_log=persistent,
        cash_cny=cash,
        receivables_cny=receivables,
        payables_cny=payables,
        edge_payables_cny=edge_payables,
        overdue_cny=np.zeros(n),
        edge_overdue_cny=np.zeros(network.n_edges),
        fixed_arrears_cny=np.zeros(n),
        outflow_hist_cny=outflow_hist,
        network_sales_cny=network_sales,
        shortfall_months=np.zeros(n, dtype=np.int16),
        in_shortfall=np.zeros(n, dtype=bool),
        buffer_days=cash_buffer_days(cash, outflow),
        platform_business_cny=np.zeros(n),
        potential_sales_cny=np.zeros(n),
        revenue_cny=np.zeros(n),
        late_payments_total_cny=np.zeros(n),
        unmet_gap_total_cny=np.zeros(n),
        open_months=np.zeros(n, dtype=np.int32),
        buffer_days_sum=np.zeros(n),
    )
    return firms, network, sectors


# --------------------------------------------------------------------------- the month


@dataclass
class FirmMonth:
    """The operating half of a firm month (:func:`operate`), ``(n_firms,)`` unless noted.

    Attributes:
        outside_sales_cny: sales to outside buyers (0 when closed).
        network_sales_cny: sales to network buyers (their purchases from this firm).
        collections_cny: outside collections received now (cash sales + receivables due).
        purchases_cny: stock bought this month.
        fixed_due_cny: fixed costs due (this month's + arrears).
        supplier_due_outside_cny: due to outside suppliers (this month's + overdue).
        edge_due_cny: ``(n_edges,)`` due to each network supplier (this month's + overdue).
        supplier_due_network_cny: due to network suppliers, per buyer.
        new_supplier_due_cny: supplier payables that fall due this month (not overdue).
        obligations_cny: everything due this month.
        cash_available_cny: cash at the start plus this month's collections.
        gap_cny: the liquidity gap, ``max(obligations - cash_available, 0)``.
    """

    outside_sales_cny: np.ndarray
    network_sales_cny: np.ndarray
    collections_cny: np.ndarray
    purchases_cny: np.ndarray
    fixed_due_cny: np.ndarray
    supplier_due_outside_cny: np.ndarray
    edge_due_cny: np.ndarray
    supplier_due_network_cny: np.ndarray
    new_supplier_due_cny: np.ndarray
    obligations_cny: np.ndarray
    cash_available_cny: np.ndarray
    gap_cny: np.ndarray


def operate(
    firms: FirmState,
    network: SupplyNetwork,
    sectors: SectorTable,
    draws: FirmDraws,
    *,
    step: int,
    calendar_month: int,
    stock_lead_months: int,
    revenue_persistence: float,
    peak_multiplier: float = 1.0,
) -> FirmMonth:
    """Sales, collections, purchases and what falls due; the firms' liquidity gaps.

    Updates in place: ``persistent_log``, ``potential_sales_cny``, ``revenue_cny``,
    ``network_sales_cny``, the receivable / payable rings (the slot of this month is
    emptied into what is due), ``outflow_hist_cny`` (this month's accrued outflow).

    Args:
        firms: firm arrays.
        network: the supply network.
        sectors: the sector table.
        draws: this month's firm draws.
        step: simulated month (1-based).
        calendar_month: calendar month of ``step``, 1..12.
        stock_lead_months: stock is bought this many months before it is sold.
        revenue_persistence: AR(1) coefficient of the persistent revenue component.
        peak_multiplier: the scenario's ``firm_peak_multiplier``.

    Returns:
        The :class:`FirmMonth`.
    """
    f = firms
    sec = f.sector
    open_ = f.is_open
    slot = step % RING_MONTHS
    rho = revenue_persistence
    psig = sectors.persistent_sigma[sec]
    tsig = sectors.revenue_sigma[sec]
    f.persistent_log = rho * f.persistent_log + psig * np.sqrt(1.0 - rho**2) * draws.z_persistent
    level = np.exp(f.persistent_log - 0.5 * psig**2)
    season_now = sectors.season(calendar_month, peak_multiplier)[sec]
    f.potential_sales_cny = round_cny(
        f.revenue_base_cny * season_now * level * np.exp(tsig * draws.z_transitory - 0.5 * tsig**2)
    )
    outside = np.where(open_, f.potential_sales_cny, 0.0)

    # Collections: cash sales now, credit sales after the receivable terms.
    credit = round_cny(sectors.credit_sales_share[sec] * outside)
    rterms = sectors.receivable_terms_months[sec]
    collected_now = round_cny(outside - credit + np.where(rterms == 0, credit, 0.0))
    later = rterms > 0
    due_slot = (step + rterms) % RING_MONTHS
    collections = round_cny(collected_now + f.receivables_cny[slot])
    f.receivables_cny[slot] = 0.0
    # One (slot, firm) pair per firm: a plain fancy-indexed add is exact.
    f.receivables_cny[due_slot[later], np.flatnonzero(later)] += credit[later]

    # Purchases for the sales stock_lead_months ahead (naive forecast: this month's
    # persistent level, the sector calendar, last month's network sales).
    season_ahead = sectors.season(calendar_month + stock_lead_months, peak_multiplier)[sec]
    forecast = f.revenue_base_cny * season_ahead * level + f.network_sales_cny
    purchases = round_cny(np.where(open_, sectors.cogs_ratio[sec] * forecast, 0.0))
    shares = network.active_shares(open_)
    has_sup = network.has_open_supplier(open_)
    net_share = np.where(has_sup, sectors.network_purchase_share[sec], 0.0)
    edge_purchase = round_cny(net_share[network.buyer] * purchases[network.buyer] * shares)
    outside_purchase = round_cny(purchases - network.per_buyer(edge_purchase))
    network_sales = round_cny(network.per_supplier(edge_purchase))
    f.network_sales_cny = network_sales
    f.revenue_cny = round_cny(outside + network_sales)

    # Payables: this month's slot falls due now, new purchases after the payable terms.
    pterms = sectors.payable_terms_months[sec]
    new_due_out = round_cny(f.payables_cny[slot] + np.where(pterms == 0, outside_purchase, 0.0))
    f.payables_cny[slot] = 0.0
    later = pterms > 0
    f.payables_cny[(step + pterms[later]) % RING_MONTHS, np.flatnonzero(later)] += outside_purchase[
        later
    ]
    eterms = pterms[network.buyer]
    new_due_edge = round_cny(f.edge_payables_cny[slot] + np.where(eterms == 0, edge_purchase, 0.0))
    f.edge_payables_cny[slot] = 0.0
    elater = eterms > 0
    f.edge_payables_cny[(step + eterms[elater]) % RING_MONTHS, np.flatnonzero(elater)] += (
        edge_purchase[elater]
    )
    due_out = round_cny(new_due_out + f.overdue_cny)
    edge_due = round_cny(new_due_edge + f.edge_overdue_cny)
    due_net = round_cny(network.per_buyer(edge_due))
    new_due = round_cny(new_due_out + network.per_buyer(new_due_edge))
    fixed_due = round_cny(np.where(open_, f.fixed_cost_cny, 0.0) + f.fixed_arrears_cny)

    window = f.outflow_hist_cny.shape[0]
    f.outflow_hist_cny[step % window] = np.where(
        open_, round_cny(purchases + f.fixed_cost_cny), f.outflow_hist_cny[step % window]
    )
    obligations = round_cny(fixed_due + due_out + due_net)
    cash_available = round_cny(f.cash_cny + collections)
    gap = round_cny(np.maximum(obligations - cash_available, 0.0))
    return FirmMonth(
        outside_sales_cny=outside,
        network_sales_cny=network_sales,
        collections_cny=collections,
        purchases_cny=purchases,
        fixed_due_cny=fixed_due,
        supplier_due_outside_cny=due_out,
        edge_due_cny=edge_due,
        supplier_due_network_cny=due_net,
        new_supplier_due_cny=new_due,
        obligations_cny=obligations,
        cash_available_cny=cash_available,
        gap_cny=gap,
    )


@dataclass
class Settlement:
    """The settlement half of a firm month (:func:`settle`), ``(n_firms,)`` unless noted.

    Attributes:
        funding_cny: funding received for the gap (all waterfall sources).
        fixed_paid_cny: fixed costs paid.
        supplier_paid_outside_cny: paid to outside suppliers (regular + winding-up).
        edge_paid_cny: ``(n_edges,)`` paid to each network supplier (regular + winding-up).
        supplier_paid_network_cny: paid to network suppliers, per buyer.
        late_supplier_payments_cny: supplier dues of this month left unpaid (newly late).
        overdue_supplier_cny: supplier payables past due at the end of the month.
        unmet_gap_cny: the part of the gap no source funded.
        network_receipts_cny: collections from network buyers (credited to cash).
        new_closure: bool, closed this month.
        closure_cause: int8 cause of this month's closures (0 elsewhere).
        written_off_outside_cny: payables to outside suppliers written off at closure.
        supplier_bad_debt_cny: network receivables lost because a buyer closed, per supplier.
        fixed_written_off_cny: fixed-cost arrears written off at closure.
    """

    funding_cny: np.ndarray
    fixed_paid_cny: np.ndarray
    supplier_paid_outside_cny: np.ndarray
    edge_paid_cny: np.ndarray
    supplier_paid_network_cny: np.ndarray
    late_supplier_payments_cny: np.ndarray
    overdue_supplier_cny: np.ndarray
    unmet_gap_cny: np.ndarray
    network_receipts_cny: np.ndarray
    new_closure: np.ndarray
    closure_cause: np.ndarray
    written_off_outside_cny: np.ndarray
    supplier_bad_debt_cny: np.ndarray
    fixed_written_off_cny: np.ndarray


def settle(
    firms: FirmState,
    network: SupplyNetwork,
    month: FirmMonth,
    funding_cny: np.ndarray,
    draws: FirmDraws,
    *,
    step: int,
    close_after_shortfall_months: int,
    exit_hazard_monthly: float,
) -> Settlement:
    """Pay what is due with the cash and the funding; late payments, contagion, closures.

    Fixed costs are paid first, then suppliers pro rata (outside and each network
    supplier alike); a partial payment is rounded down to the cent. Unpaid amounts stay
    due (overdue). Network receipts are credited to the suppliers' cash at the end (after
    their own payments: stress moves one link a month). Then closures: ``SHORTFALL`` at
    the end of the ``close_after_shortfall_months``-th consecutive month in shortfall,
    else ``EXIT`` when ``u_exit < exit_hazard_monthly``; a closing firm pays its remaining
    payables (overdue and not yet due) pro rata from its cash, the rest is written off.

    Updates in place: ``cash_cny``, ``overdue_cny``, ``edge_overdue_cny``,
    ``fixed_arrears_cny``, ``shortfall_months``, ``in_shortfall``, ``is_open``,
    ``closed_step``, ``closure_cause``, the payable rings of closing firms, ``age_months``
    and the per-run accumulators.

    Args:
        firms: firm arrays.
        network: the supply network.
        month: this month's :func:`operate` result.
        funding_cny: ``(n_firms,)`` funding received for the gap.
        draws: this month's firm draws (``u_exit``).
        step: simulated month (1-based).
        close_after_shortfall_months: consecutive shortfall months that close a firm.
        exit_hazard_monthly: exogenous exit probability a month.

    Returns:
        The :class:`Settlement`.
    """
    f = firms
    open_ = f.is_open.copy()
    funding = round_cny(funding_cny)
    cash = round_cny(month.cash_available_cny + funding)
    fixed_paid = round_cny(np.minimum(month.fixed_due_cny, cash))
    cash = round_cny(cash - fixed_paid)
    f.fixed_arrears_cny = round_cny(month.fixed_due_cny - fixed_paid)

    due_out = month.supplier_due_outside_cny
    edge_due = month.edge_due_cny
    due_total = round_cny(due_out + month.supplier_due_network_cny)
    frac = np.divide(cash, due_total, out=np.ones_like(cash), where=due_total > 0)
    full = frac >= 1.0
    paid_out = np.where(full, due_out, floor_cents(due_out * frac))
    efull = full[network.buyer]
    edge_paid = np.where(efull, edge_due, floor_cents(edge_due * frac[network.buyer]))
    paid_net = round_cny(network.per_buyer(edge_paid))
    cash = round_cny(cash - paid_out - paid_net)
    f.overdue_cny = round_cny(due_out - paid_out)
    f.edge_overdue_cny = round_cny(edge_due - edge_paid)
    overdue = round_cny(f.overdue_cny + network.per_buyer(f.edge_overdue_cny))
    late = round_cny(np.minimum(month.new_supplier_due_cny, overdue))
    unpaid = round_cny(overdue + f.fixed_arrears_cny)
    unmet = round_cny(np.maximum(month.gap_cny - funding, 0.0))

    shortfall = open_ & (unpaid > 0.005)
    f.in_shortfall = shortfall
    f.shortfall_months = np.where(shortfall, f.shortfall_months + 1, 0).astype(np.int16)
    close_short = open_ & (f.shortfall_months >= close_after_shortfall_months)
    close_exit = open_ & ~close_short & (draws.u_exit < exit_hazard_monthly)
    closing = close_short | close_exit
    cause = np.where(
        close_short, ClosureCause.SHORTFALL, np.where(close_exit, ClosureCause.EXIT, 0)
    )

    # Winding up: pay what is still owed (overdue and not yet due), pro rata, from cash.
    owed_out = np.where(closing, round_cny(f.overdue_cny + f.payables_cny.sum(axis=0)), 0.0)
    eclose = closing[network.buyer]
    owed_edge = np.where(
        eclose, round_cny(f.edge_overdue_cny + f.edge_payables_cny.sum(axis=0)), 0.0
    )
    owed = round_cny(owed_out + network.per_buyer(owed_edge))
    wfrac = np.divide(cash, owed, out=np.ones_like(cash), where=owed > 0)
    wfull = wfrac >= 1.0
    wind_out = np.where(wfull, owed_out, floor_cents(owed_out * wfrac))
    wind_edge = np.where(
        wfull[network.buyer], owed_edge, floor_cents(owed_edge * wfrac[network.buyer])
    )
    cash = round_cny(cash - wind_out - network.per_buyer(wind_edge))
    written_out = round_cny(owed_out - wind_out)
    bad_debt = round_cny(network.per_supplier(owed_edge - wind_edge))
    fixed_written = np.where(closing, f.fixed_arrears_cny, 0.0)
    f.overdue_cny = np.where(closing, 0.0, f.overdue_cny)
    f.payables_cny[:, closing] = 0.0
    f.edge_overdue_cny = np.where(eclose, 0.0, f.edge_overdue_cny)
    f.edge_payables_cny[:, eclose] = 0.0
    f.fixed_arrears_cny = np.where(closing, 0.0, f.fixed_arrears_cny)
    f.is_open = open_ & ~closing
    f.closed_step = np.where(closing, step, f.closed_step).astype(np.int32)
    f.closure_cause = np.where(closing, cause, f.closure_cause).astype(np.int8)

    edge_paid_all = round_cny(edge_paid + wind_edge)
    receipts = round_cny(network.per_supplier(edge_paid_all))
    f.cash_cny = round_cny(cash + receipts)
    f.age_months = np.where(open_, f.age_months + 1, f.age_months).astype(np.int32)
    f.late_payments_total_cny += late
    f.unmet_gap_total_cny += unmet
    return Settlement(
        funding_cny=funding,
        fixed_paid_cny=fixed_paid,
        supplier_paid_outside_cny=round_cny(paid_out + wind_out),
        edge_paid_cny=edge_paid_all,
        supplier_paid_network_cny=round_cny(network.per_buyer(edge_paid_all)),
        late_supplier_payments_cny=late,
        overdue_supplier_cny=np.where(f.is_open, overdue, 0.0),
        unmet_gap_cny=unmet,
        network_receipts_cny=receipts,
        new_closure=closing,
        closure_cause=cause.astype(np.int8),
        written_off_outside_cny=written_out,
        supplier_bad_debt_cny=bad_debt,
        fixed_written_off_cny=fixed_written,
    )


def excess_cash(firms: FirmState) -> np.ndarray:
    """Cash above the target buffer of open firms, ``(n,)`` (0 for closed firms)."""
    return np.where(
        firms.is_open, round_cny(np.maximum(firms.cash_cny - firms.target_cash_cny(), 0.0)), 0.0
    )


def pay_owner_draws(firms: FirmState, owner_draw_rate: float) -> np.ndarray:
    """Pay owners their draws: a share of the cash above target; all cash of closed firms.

    Updates ``cash_cny`` in place.

    Returns:
        ``(n_firms,)`` the draws (to add to the owners' household savings).
    """
    draw = round_cny(np.where(firms.is_open, owner_draw_rate * excess_cash(firms), firms.cash_cny))
    firms.cash_cny = round_cny(firms.cash_cny - draw)
    return draw


def update_buffer_days(firms: FirmState) -> np.ndarray:
    """Recompute end-of-month cash buffer days (NaN for closed firms) and accumulators.

    Returns:
        ``(n_firms,)`` the buffer days.
    """
    days = cash_buffer_days(firms.cash_cny, firms.mean_outflow_cny)
    firms.buffer_days = np.where(firms.is_open, days, np.nan)
    firms.open_months += firms.is_open
    firms.buffer_days_sum += np.where(firms.is_open & np.isfinite(days), days, 0.0)
    return firms.buffer_days


def enterprise_stage(world: World, month: Month) -> None:
    """Stage ``enterprise``: firms' sales, collections, purchases and gaps (:func:`operate`)."""
    fc = world.config.firms
    month.firm_month = operate(
        world.firms,
        world.network,
        world.sectors,
        month.firm_draws,
        step=month.step,
        calendar_month=month.macro.calendar_month,
        stock_lead_months=fc.stock_lead_months,
        revenue_persistence=fc.revenue_persistence,
        peak_multiplier=world.config.scenario.firm_peak_multiplier,
    )


def firm_signals(world: World, calendar_month: int) -> dict[str, np.ndarray]:
    """Per-borrower signals of the owned open firm, for the platform's portfolio view.

    Args:
        world: the run's state.
        calendar_month: this month's calendar month, 1..12.

    Returns:
        ``owns_firm`` (bool: owns a firm that is still open), ``cash_buffer_days``
        (float64, the firm's end-of-month buffer days, NaN without an open firm) and
        ``peak_ahead`` (bool: the firm's sector has a seasonal peak within the next
        ``firms.peak_lookahead_months`` calendar months), each ``(n_borrowers,)``.
    """
    n = world.borrowers.n
    f = world.firms
    fc = world.config.firms
    live = np.flatnonzero(f.is_open)
    owners = f.owner[live]
    owns = np.zeros(n, dtype=bool)
    owns[owners] = True
    buffer = np.full(n, np.nan)
    buffer[owners] = f.buffer_days[live]
    peak_by_sector = world.sectors.peak_ahead(
        calendar_month,
        fc.peak_lookahead_months,
        fc.peak_threshold,
        world.config.scenario.firm_peak_multiplier,
    )
    peak = np.zeros(n, dtype=bool)
    peak[owners] = peak_by_sector[f.sector[live]]
    return {"owns_firm": owns, "cash_buffer_days": buffer, "peak_ahead": peak}
