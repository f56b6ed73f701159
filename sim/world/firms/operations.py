"""The operating half of a firm month (stage ``enterprise``): sales, purchases, gaps.

See :mod:`sim.world.firms` for the month's two halves around the funding waterfall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.units import round_cny
from sim.world.draws import FirmDraws
from sim.world.firms.firm_month import FirmMonth, OperatingInputs, operating_inputs
from sim.world.firms.operations_kernel import operate_compiled
from sim.world.firms.operations_reference import operate_reference
from sim.world.firms.sectors import SectorTable
from sim.world.firms.state import RING_MONTHS, FirmState
from sim.world.network import SupplyNetwork

if TYPE_CHECKING:
    from sim.month import Month, World

__all__ = ["FirmMonth", "enterprise_stage", "operate"]


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
    peak_months: np.ndarray | None = None,
    peak_prebuy_months: int = 0,
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
        peak_months: ``(n_sectors, 12)`` bool seasonal peaks
            (:meth:`SectorTable.peak_months`); needed when ``peak_prebuy_months > 0``.
        peak_prebuy_months: when the month stocked for (``stock_lead_months`` ahead) is
            the first month of a peak, the firm also buys the outside-sales stock of this
            many months after it (at this month's persistent level and the calendar);
            held as ``stock_prebought_cny`` and drawn down as those months' purchases.

    The implementation is :func:`sim.compiled.implementation`'s: ``"compiled"`` (the
    numba kernel of :mod:`sim.world.firms.operations_kernel`), ``"numpy"`` (the array
    passes below) or ``"reference"`` (one firm at a time,
    :mod:`sim.world.firms.operations_reference`); all three give the same bits.

    Returns:
        The :class:`FirmMonth`.
    """
    inputs = operating_inputs(
        firms,
        sectors,
        draws,
        calendar_month=calendar_month,
        stock_lead_months=stock_lead_months,
        revenue_persistence=revenue_persistence,
        peak_multiplier=peak_multiplier,
        peak_months=peak_months,
        peak_prebuy_months=peak_prebuy_months,
    )
    run = {"numpy": _operate_numpy, "compiled": operate_compiled}.get(
        implementation(), operate_reference
    )
    return run(firms, network, sectors, inputs, step=step)


def _operate_numpy(
    firms: FirmState,
    network: SupplyNetwork,
    sectors: SectorTable,
    inputs: OperatingInputs,
    *,
    step: int,
) -> FirmMonth:
    """:func:`operate` as whole-array NumPy passes (the ``"numpy"`` implementation)."""
    f = firms
    sec = f.sector
    open_ = f.is_open
    slot = step % RING_MONTHS
    level = inputs.level
    f.potential_sales_cny = round_cny(
        f.revenue_base_cny * inputs.season_now[sec] * level * inputs.shock
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
    forecast = f.revenue_base_cny * inputs.season_ahead[sec] * level + f.network_sales_cny
    opening_cash = f.cash_cny.copy()
    need = round_cny(np.where(open_, sectors.cogs_ratio[sec] * forecast, 0.0))
    used = np.minimum(f.stock_prebought_cny, need)
    # Pre-buying for a season (none unless the month stocked for starts a peak).
    build = round_cny(
        np.where(
            open_ & inputs.prebuy_first[sec],
            sectors.cogs_ratio[sec] * f.revenue_base_cny * inputs.prebuy_season[sec] * level,
            0.0,
        )
    )
    purchases = round_cny(need - used + build)
    f.stock_prebought_cny = round_cny(f.stock_prebought_cny - used + build)
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
        opening_cash_cny=opening_cash,
        stock_build_cny=build,
    )


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
        peak_months=world.sectors.peak_months(
            fc.peak_excess_share, fc.peak_min_excess, world.config.scenario.firm_peak_multiplier
        ),
        peak_prebuy_months=fc.peak_prebuy_months,
    )
