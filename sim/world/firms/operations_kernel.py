"""Stage ``enterprise`` compiled: the firm month as one numba kernel over firm rows.

The same rules as the NumPy passes of :func:`sim.world.firms.operate`, in the same order
of floating-point operations, so the results are the same bits: per firm, the outside
sales, collections and receivables, the stock bought (with the season's pre-buy); per
buyer, the split of its purchases over its open network suppliers (its own edges: the
CSR row of the supply network), the payables that fall due and the liquidity gap. Both
loops are ``prange`` over rows that write only their own row and their own edges. The
network sales of each supplier are the one sum across rows (a scatter of the buyers'
edge purchases onto their suppliers): it runs serially, in edge order, as the NumPy
``bincount`` adds them, so results do not depend on the number of threads.

The exponentials of the revenue shocks come from NumPy
(:func:`sim.world.firms.firm_month.operating_inputs`), outside the kernel.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.world.firms.firm_month import FirmMonth, OperatingInputs
from sim.world.firms.sectors import SectorTable
from sim.world.firms.state import RING_MONTHS, FirmState
from sim.world.network import SupplyNetwork

__all__ = ["operate_compiled"]


@kernel(parallel=True)
def _firm_month(  # noqa: PLR0913 - a kernel takes plain arrays, one per field
    step,
    sector,
    is_open,
    base,
    fixed,
    cash,
    old_network_sales,
    old_prebought,
    overdue,
    fixed_arrears,
    level,
    shock,
    cogs,
    credit_share,
    rterms,
    pterms,
    network_share,
    season_now,
    season_ahead,
    prebuy_first,
    prebuy_season,
    indptr,
    supplier,
    share,
    edge_overdue,
    receivables,
    payables,
    edge_payables,
    outflow_now,
    potential,
    outside,
    collections,
    purchases,
    build,
    prebought,
    fixed_due,
    due_out,
    due_net,
    new_due,
    obligations,
    cash_available,
    gap,
    network_sales,
    revenue,
    edge_purchase,
    edge_due,
):
    n = sector.shape[0]
    slot = step % RING_MONTHS
    # Firm by firm: outside sales, collections, receivables, the stock bought.
    for i in prange(n):
        s = sector[i]
        live = is_open[i]
        pot = round_cny_scalar(base[i] * season_now[s] * level[i] * shock[i])
        potential[i] = pot
        out = pot if live else 0.0
        outside[i] = out
        credit = round_cny_scalar(credit_share[s] * out)
        rt = rterms[s]
        now = round_cny_scalar(out - credit + (credit if rt == 0 else 0.0))
        collections[i] = round_cny_scalar(now + receivables[slot][i])
        receivables[slot][i] = 0.0
        if rt > 0:
            receivables[(step + rt) % RING_MONTHS][i] += credit
        forecast = base[i] * season_ahead[s] * level[i] + old_network_sales[i]
        need = round_cny_scalar(cogs[s] * forecast if live else 0.0)
        used = min(old_prebought[i], need)
        extra = 0.0
        if live and prebuy_first[s]:
            extra = round_cny_scalar(cogs[s] * base[i] * prebuy_season[s] * level[i])
        build[i] = extra
        purchases[i] = round_cny_scalar(need - used + extra)
        prebought[i] = round_cny_scalar(old_prebought[i] - used + extra)
        fixed_due[i] = round_cny_scalar((fixed[i] if live else 0.0) + fixed_arrears[i])
        cash_available[i] = round_cny_scalar(cash[i] + collections[i])
    # Buyer by buyer (its edges indptr[i]:indptr[i + 1]): the purchases' split over its
    # open suppliers, the payables that fall due, the obligations and the gap.
    for i in prange(n):
        s = sector[i]
        lo = indptr[i]
        hi = indptr[i + 1]
        total = 0.0
        n_open = 0.0
        for e in range(lo, hi):
            up = 1.0 if is_open[supplier[e]] else 0.0
            total += share[e] * up
            n_open += up
        net_share = network_share[s] if n_open > 0.0 else 0.0
        bought = purchases[i]
        pt = pterms[s]
        edge_sum = 0.0
        for e in range(lo, hi):
            up = 1.0 if is_open[supplier[e]] else 0.0
            active = share[e] * up / total if total > 0.0 else 0.0
            amount = round_cny_scalar(net_share * bought * active)
            edge_purchase[e] = amount
            edge_sum += amount
        outside_purchase = round_cny_scalar(bought - edge_sum)
        new_due_out = round_cny_scalar(payables[slot][i] + (outside_purchase if pt == 0 else 0.0))
        payables[slot][i] = 0.0
        if pt > 0:
            payables[(step + pt) % RING_MONTHS][i] += outside_purchase
        due_sum = 0.0
        new_edge_sum = 0.0
        for e in range(lo, hi):
            amount = edge_purchase[e]
            new_edge = round_cny_scalar(edge_payables[slot][e] + (amount if pt == 0 else 0.0))
            edge_payables[slot][e] = 0.0
            if pt > 0:
                edge_payables[(step + pt) % RING_MONTHS][e] += amount
            owed = round_cny_scalar(new_edge + edge_overdue[e])
            edge_due[e] = owed
            due_sum += owed
            new_edge_sum += new_edge
        due_out[i] = round_cny_scalar(new_due_out + overdue[i])
        due_net[i] = round_cny_scalar(due_sum)
        new_due[i] = round_cny_scalar(new_due_out + new_edge_sum)
        if is_open[i]:
            outflow_now[i] = round_cny_scalar(bought + fixed[i])
        obligations[i] = round_cny_scalar(fixed_due[i] + due_out[i] + due_net[i])
        gap[i] = round_cny_scalar(max(obligations[i] - cash_available[i], 0.0))
    # Suppliers' network sales: the one sum across rows, serial in edge order.
    for i in range(n):
        network_sales[i] = 0.0
    for e in range(supplier.shape[0]):
        network_sales[supplier[e]] += edge_purchase[e]
    for i in prange(n):
        network_sales[i] = round_cny_scalar(network_sales[i])
        revenue[i] = round_cny_scalar(outside[i] + network_sales[i])


def _plain(x: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """``x`` as a contiguous, writeable array of ``dtype`` (a copy only if it is not one).

    The kernel is compiled once per combination of argument types, and numba's array
    type includes the layout and the read-only flag: plain arrays keep one compilation.
    """
    a = np.asarray(x, dtype=dtype)
    return a if a.flags.c_contiguous and a.flags.writeable else np.array(a, dtype=dtype)


def _ring(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows of a ``(RING_MONTHS, m)`` ring as a tuple of contiguous ``(m,)`` views.

    A ring grown by :func:`sim.rows.append_rows` is a non-contiguous view of a wider
    buffer, a replaced one is contiguous; its rows are contiguous either way, so the
    kernel's argument types (and its one compilation) do not depend on the ring's history.
    Writes go to the ring itself.
    """
    rows = tuple(x[k] for k in range(RING_MONTHS))
    if x.shape[0] != RING_MONTHS or not all(r.flags.c_contiguous for r in rows):
        raise ValueError(f"a ring must be ({RING_MONTHS}, m) with contiguous rows, got {x.shape}")
    return rows


def operate_compiled(
    firms: FirmState,
    network: SupplyNetwork,
    sectors: SectorTable,
    inputs: OperatingInputs,
    *,
    step: int,
) -> FirmMonth:
    """The firm month after :func:`~sim.world.firms.firm_month.operating_inputs`, compiled.

    Updates in place, as :func:`sim.world.firms.operate` does: the receivable, payable and
    edge-payable rings, ``outflow_hist_cny``; replaces ``potential_sales_cny``,
    ``stock_prebought_cny``, ``network_sales_cny`` and ``revenue_cny`` by new arrays.

    Args:
        firms: firm arrays, ``(n_firms,)`` per firm, ``(RING_MONTHS, n_edges)`` per edge.
        network: the supply network (its CSR rows are the buyers' edges).
        sectors: the sector table.
        inputs: this month's NumPy inputs (``persistent_log`` already advanced).
        step: simulated month (1-based).

    Returns:
        The :class:`FirmMonth` (money in CNY, rounded to the cent).
    """
    f = firms
    n = f.n
    n_edges = network.n_edges
    outs = [np.empty(n) for _ in range(15)]
    edge_purchase = np.empty(n_edges)
    edge_due = np.empty(n_edges)
    (potential, outside, collections, purchases, build, prebought, fixed_due, due_out) = outs[:8]
    (due_net, new_due, obligations, cash_available, gap, network_sales, revenue) = outs[8:]
    _firm_month(
        np.int64(step),
        _plain(f.sector, np.int8),
        _plain(f.is_open, np.bool_),
        _plain(f.revenue_base_cny),
        _plain(f.fixed_cost_cny),
        _plain(f.cash_cny),
        _plain(f.network_sales_cny),
        _plain(f.stock_prebought_cny),
        _plain(f.overdue_cny),
        _plain(f.fixed_arrears_cny),
        _plain(inputs.level),
        _plain(inputs.shock),
        _plain(sectors.cogs_ratio),
        _plain(sectors.credit_sales_share),
        _plain(sectors.receivable_terms_months, np.int64),
        _plain(sectors.payable_terms_months, np.int64),
        _plain(sectors.network_purchase_share),
        _plain(inputs.season_now),
        _plain(inputs.season_ahead),
        _plain(inputs.prebuy_first, np.bool_),
        _plain(inputs.prebuy_season),
        _plain(network.shares.indptr, np.int64),
        _plain(network.supplier, np.int64),
        _plain(network.share),
        _plain(f.edge_overdue_cny),
        _ring(f.receivables_cny),
        _ring(f.payables_cny),
        _ring(f.edge_payables_cny),
        f.outflow_hist_cny[step % f.outflow_hist_cny.shape[0]],
        *outs,
        edge_purchase,
        edge_due,
    )
    opening_cash = f.cash_cny.copy()
    f.potential_sales_cny = potential
    f.stock_prebought_cny = prebought
    f.network_sales_cny = network_sales
    f.revenue_cny = revenue
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
