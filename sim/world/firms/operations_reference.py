"""Stage ``enterprise`` written one firm at a time: the readable reference.

The rules of :func:`sim.world.firms.operate` in plain Python, a firm (and a supply edge)
at a time, with Python floats: the oracle the tests compare the compiled kernel with,
and the peer baseline of the benchmark. Not used in runs unless
``sim.compiled.set_implementation("reference")``.

Rounding to the cent is ``round(x * 100) / 100``: Python's ``round`` of a float to a
whole number rounds half to even on the exact binary value, as NumPy's ``rint`` does,
so every amount equals :func:`sim.units.round_cny`'s to the bit (and a result within half
a cent of zero is 0.0, never -0.0).
"""

from __future__ import annotations

import numpy as np

from sim.units import cents
from sim.world.firms.firm_month import FirmMonth, OperatingInputs
from sim.world.firms.sectors import SectorTable
from sim.world.firms.state import RING_MONTHS, FirmState
from sim.world.network import SupplyNetwork

__all__ = ["operate_reference"]


def operate_reference(
    firms: FirmState,
    network: SupplyNetwork,
    sectors: SectorTable,
    inputs: OperatingInputs,
    *,
    step: int,
) -> FirmMonth:
    """The firm month after :func:`~sim.world.firms.firm_month.operating_inputs`, per firm.

    Updates the firm state as :func:`sim.world.firms.operate` does (see there).

    Args:
        firms: firm arrays, ``(n_firms,)`` per firm, ``(RING_MONTHS, n_edges)`` per edge.
        network: the supply network (a buyer's edges are its CSR row, in order).
        sectors: the sector table.
        inputs: this month's NumPy inputs (``persistent_log`` already advanced).
        step: simulated month (1-based).

    Returns:
        The :class:`FirmMonth` (money in CNY, rounded to the cent).
    """
    f = firms
    n = f.n
    slot = step % RING_MONTHS
    window = f.outflow_hist_cny.shape[0]
    # Sector table and this month's calendar, per sector.
    cogs = sectors.cogs_ratio.tolist()
    credit_share = sectors.credit_sales_share.tolist()
    receivable_terms = sectors.receivable_terms_months.tolist()
    payable_terms = sectors.payable_terms_months.tolist()
    network_share = sectors.network_purchase_share.tolist()
    season_now = inputs.season_now.tolist()
    season_ahead = inputs.season_ahead.tolist()
    prebuy_first = inputs.prebuy_first.tolist()
    prebuy_season = inputs.prebuy_season.tolist()
    # The firms' state, as Python lists (rings: one list per month slot).
    sector = f.sector.tolist()
    is_open = f.is_open.tolist()
    base = f.revenue_base_cny.tolist()
    fixed = f.fixed_cost_cny.tolist()
    cash = f.cash_cny.tolist()
    level = inputs.level.tolist()
    shock = inputs.shock.tolist()
    last_network_sales = f.network_sales_cny.tolist()
    prebought = f.stock_prebought_cny.tolist()
    overdue = f.overdue_cny.tolist()
    fixed_arrears = f.fixed_arrears_cny.tolist()
    receivables = f.receivables_cny.tolist()
    payables = f.payables_cny.tolist()
    outflow_hist = f.outflow_hist_cny.tolist()
    edge_payables = f.edge_payables_cny.tolist()
    edge_overdue = f.edge_overdue_cny.tolist()
    first_edge = network.shares.indptr.tolist()
    supplier = network.supplier.tolist()
    share = network.share.tolist()

    potential = [0.0] * n
    outside = [0.0] * n
    collections = [0.0] * n
    purchases = [0.0] * n
    build = [0.0] * n
    fixed_due = [0.0] * n
    cash_available = [0.0] * n
    for i in range(n):
        # Sales to outside buyers; cash sales are collected now, credit sales later.
        s = sector[i]
        potential[i] = cents(base[i] * season_now[s] * level[i] * shock[i])
        outside[i] = potential[i] if is_open[i] else 0.0
        credit = cents(credit_share[s] * outside[i])
        terms = receivable_terms[s]
        cash_sales = outside[i] - credit
        if terms == 0:
            cash_sales = cash_sales + credit
        collections[i] = cents(cents(cash_sales) + receivables[slot][i])
        receivables[slot][i] = 0.0
        if terms > 0:
            receivables[(step + terms) % RING_MONTHS][i] += credit
        # Stock for the sales stock_lead_months ahead, less what was bought ahead.
        forecast = base[i] * season_ahead[s] * level[i] + last_network_sales[i]
        need = cents(cogs[s] * forecast) if is_open[i] else 0.0
        used = min(prebought[i], need)
        if is_open[i] and prebuy_first[s]:
            build[i] = cents(cogs[s] * base[i] * prebuy_season[s] * level[i])
        purchases[i] = cents(need - used + build[i])
        prebought[i] = cents(prebought[i] - used + build[i])
        fixed_due[i] = cents((fixed[i] if is_open[i] else 0.0) + fixed_arrears[i])
        cash_available[i] = cents(cash[i] + collections[i])

    n_edges = len(supplier)
    edge_purchase = [0.0] * n_edges
    edge_due = [0.0] * n_edges
    due_out = [0.0] * n
    due_net = [0.0] * n
    new_due = [0.0] * n
    obligations = [0.0] * n
    gap = [0.0] * n
    for i in range(n):
        # Firm i as a buyer: its network purchases go to its open suppliers by share.
        s = sector[i]
        edges = range(first_edge[i], first_edge[i + 1])
        open_share = 0.0
        has_open_supplier = False
        for e in edges:
            if is_open[supplier[e]]:
                open_share += share[e]
                has_open_supplier = True
        in_network = network_share[s] if has_open_supplier else 0.0
        bought_in_network = 0.0
        for e in edges:
            active = share[e] / open_share if is_open[supplier[e]] else 0.0
            edge_purchase[e] = cents(in_network * purchases[i] * active)
            bought_in_network += edge_purchase[e]
        bought_outside = cents(purchases[i] - bought_in_network)
        # Payables: this month's slot falls due now, new ones after the payable terms.
        terms = payable_terms[s]
        falls_due = payables[slot][i] + (bought_outside if terms == 0 else 0.0)
        new_due_outside = cents(falls_due)
        payables[slot][i] = 0.0
        if terms > 0:
            payables[(step + terms) % RING_MONTHS][i] += bought_outside
        owed_network = 0.0
        new_due_network = 0.0
        for e in edges:
            falls_due = edge_payables[slot][e] + (edge_purchase[e] if terms == 0 else 0.0)
            new_due_edge = cents(falls_due)
            edge_payables[slot][e] = 0.0
            if terms > 0:
                edge_payables[(step + terms) % RING_MONTHS][e] += edge_purchase[e]
            edge_due[e] = cents(new_due_edge + edge_overdue[e])
            owed_network += edge_due[e]
            new_due_network += new_due_edge
        due_out[i] = cents(new_due_outside + overdue[i])
        due_net[i] = cents(owed_network)
        new_due[i] = cents(new_due_outside + new_due_network)
        if is_open[i]:
            outflow_hist[step % window][i] = cents(purchases[i] + fixed[i])
        obligations[i] = cents(fixed_due[i] + due_out[i] + due_net[i])
        gap[i] = cents(max(obligations[i] - cash_available[i], 0.0))

    # What each supplier sold to its network buyers this month, edge by edge.
    network_sales = [0.0] * n
    for e in range(n_edges):
        network_sales[supplier[e]] += edge_purchase[e]
    network_sales = [cents(x) for x in network_sales]
    revenue = [cents(outside[i] + network_sales[i]) for i in range(n)]

    opening_cash = f.cash_cny.copy()
    f.receivables_cny[...] = receivables
    f.payables_cny[...] = payables
    f.outflow_hist_cny[...] = outflow_hist
    f.edge_payables_cny[...] = edge_payables
    f.potential_sales_cny = np.array(potential, dtype=np.float64)
    f.stock_prebought_cny = np.array(prebought, dtype=np.float64)
    f.network_sales_cny = np.array(network_sales, dtype=np.float64)
    f.revenue_cny = np.array(revenue, dtype=np.float64)

    def arr(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=np.float64)

    return FirmMonth(
        outside_sales_cny=arr(outside),
        network_sales_cny=f.network_sales_cny,
        collections_cny=arr(collections),
        purchases_cny=arr(purchases),
        fixed_due_cny=arr(fixed_due),
        supplier_due_outside_cny=arr(due_out),
        edge_due_cny=arr(edge_due),
        supplier_due_network_cny=arr(due_net),
        new_supplier_due_cny=arr(new_due),
        obligations_cny=arr(obligations),
        cash_available_cny=arr(cash_available),
        gap_cny=arr(gap),
        opening_cash_cny=opening_cash,
        stock_build_cny=arr(build),
    )
