"""Building the firms of a run: owners, sectors, supply network and opening balances."""

from __future__ import annotations

import numpy as np

from sim.config import FirmsConfig
from sim.units import round_cny
from sim.world.firms.buffers import cash_buffer_days
from sim.world.firms.sectors import SectorTable
from sim.world.firms.state import DAYS_PER_MONTH, RING_MONTHS, FirmState
from sim.world.network import SupplyNetwork, build_supply_network


def _calendar(start_calendar_month: int, step: int) -> int:
    return (start_calendar_month - 1 + step - 1) % 12 + 1


def build_firms(
    income_base_cny: np.ndarray,
    config: FirmsConfig,
    rng: np.random.Generator,
    *,
    start_calendar_month: int = 1,
    finance_rng: np.random.Generator | None = None,
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
        finance_rng: the ``firm_finance`` stream: which owners use personal credit for
            the business (share ``personal_credit_share``); every owner does if None.

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
    # + 0.0 reads a -0.0 mean (inside the range [0, 1200]) as 0: NumPy refuses a scale with
    # the sign bit set.
    age = (
        np.floor(rng.exponential(config.age_mean_months + 0.0, n)).astype(np.int32)
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
        uses_personal_credit=(
            np.ones(n, dtype=bool)
            if finance_rng is None
            else finance_rng.random(n) < config.personal_credit_share
        ),
        stock_prebought_cny=np.zeros(n),
        shortfall_memory=np.zeros(n),
    )
    return firms, network, sectors
