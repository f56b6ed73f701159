"""Firm entry: new micro-enterprises start each month (stage ``firm_entry``).

The number of new firms is Poisson with mean ``book.firm_entry_per_month_share x`` the
firms at the start of the run. Each is owned by a borrower who owns no firm (drawn
uniformly among them), gets a sector by the configured shares and a size from its
owner's income as the starting firms do (:func:`sim.world.firms.build_firms`), and starts
young: age 0, no receivables or payables outstanding, little cash (``new_firm_cash_days``
of its outflow, put in from the owner's savings, as far as they go); its owner funds it
on personal credit with probability ``firms.personal_credit_share``, as at set-up. It buys in the
supply network from open firms of its supplier sectors, chosen with probability
proportional to size. Every draw comes from the ``entry`` stream in a fixed count per
new firm, so the firms that enter are the same under every policy (their owners' and
suppliers' states may differ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.units import round_cny
from sim.world.firms.buffers import cash_buffer_days
from sim.world.firms.state import DAYS_PER_MONTH, RING_MONTHS, FirmState

if TYPE_CHECKING:
    from sim.month import Month, World


def _pick_suppliers(
    world: World,
    buyer_sector: np.ndarray,
    buys: np.ndarray,
    u: np.ndarray,
    first_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Supplier edges of new buyers: ``(buyers, suppliers, weights)``, buyers ascending.

    Each of a buyer's ``u`` draws (``(m, suppliers_per_firm)`` uniforms) maps by inverse
    CDF to one of the open firms of its sector's supplier sectors, weighted by size;
    a supplier drawn twice counts once. Vectorised per buyer sector (a handful).
    """
    firms, sectors = world.firms, world.sectors
    k = u.shape[1]
    rows_b, rows_s = [], []
    n_sectors = len(sectors.supplier_sectors)
    for sector, sources in enumerate(sectors.supplier_sectors):
        buyers = np.flatnonzero(buys & (buyer_sector == sector))
        # The firms of the supplier sectors: a look-up by sector index (np.isin's rows).
        supplies = np.zeros(n_sectors, dtype=bool)
        supplies[sources] = True
        candidates = np.flatnonzero(firms.is_open & supplies[firms.sector])
        if buyers.size == 0 or candidates.size == 0 or k == 0:
            continue
        cdf = np.cumsum(firms.revenue_base_cny[candidates])
        cdf /= cdf[-1]
        pos = np.minimum(np.searchsorted(cdf, u[buyers]), candidates.size - 1)
        picked = np.sort(candidates[pos], axis=1)  # (buyers, k), ascending per buyer
        first = np.ones(picked.shape, dtype=bool)
        first[:, 1:] = picked[:, 1:] != picked[:, :-1]
        rows_b.append(np.repeat(first_row + buyers, first.sum(axis=1)))
        rows_s.append(picked[first])
    if not rows_b:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    b, sup = np.concatenate(rows_b), np.concatenate(rows_s)
    order = np.argsort(b, kind="stable")  # buyers ascending (sectors were concatenated)
    b, sup = b[order].astype(np.int64), sup[order].astype(np.int64)
    return b, sup, firms.revenue_base_cny[sup]


def firm_entry_stage(world: World, month: Month) -> None:
    """Stage ``firm_entry``: start this month's new firms (in place).

    Appends rows to ``world.firms`` (and edges to the network), marks the owners in
    ``world.firm_of`` / ``world.sole_trader``, moves the opening cash from the owners'
    savings and writes ``month.book.new_firms`` / ``firm_entry_cash_cny``.
    """
    book, fc = world.config.book, world.config.firms
    rng = world.rngs["entry"]
    firms, sectors, s = world.firms, world.sectors, world.borrowers
    k = int(rng.poisson(book.firm_entry_per_month_share * world.initial_firms))
    if k == 0:
        return
    # A fixed number of draws per new firm, whatever the state.
    u_owner = rng.random(k)
    sector = rng.choice(len(sectors.names), size=k, p=sectors.share).astype(np.int8)
    z = rng.standard_normal((3, k))
    u_anchor = rng.random(k)
    u_supplier = rng.random((k, fc.suppliers_per_firm))
    u_personal = rng.random(k)
    candidates = np.flatnonzero(world.firm_of < 0)
    if candidates.size == 0:
        return
    # Distinct owners: sorted positions of the uniforms among the candidates.
    owner = np.unique(
        candidates[np.minimum((u_owner * candidates.size).astype(np.int64), candidates.size - 1)]
    )
    keep = owner.size
    sector, z, u_anchor = sector[:keep], z[:, :keep], u_anchor[:keep]
    u_supplier, u_personal = u_supplier[:keep], u_personal[:keep]
    size_sig = sectors.revenue_size_sigma[sector]
    revenue = np.maximum(
        round_cny(
            s.income_base_cny[owner]
            * sectors.revenue_income_multiple[sector]
            * np.exp(size_sig * z[0] - 0.5 * size_sig**2)
        ),
        100.0,
    )
    tsig = sectors.target_buffer_sigma[sector]
    target = sectors.target_buffer_days[sector] * np.exp(tsig * z[1])
    persistent = sectors.persistent_sigma[sector] * z[2]
    cogs = sectors.cogs_ratio[sector]
    fixed = round_cny(sectors.fixed_cost_ratio[sector] * revenue)
    outflow = round_cny(cogs * revenue + fixed)
    want = round_cny(book.new_firm_cash_days * outflow / DAYS_PER_MONTH)
    cash = np.minimum(want, s.savings_cny[owner])
    s.savings_cny[owner] = round_cny(s.savings_cny[owner] - cash)

    first = firms.n
    buys = sectors.network_purchase_share[sector] > 0
    b, sup, w = _pick_suppliers(world, sector, buys, u_supplier, first)
    new = FirmState.blank(keep, n_edges=0, outflow_window_months=firms.outflow_hist_cny.shape[0])
    new.owner = owner.astype(np.int64)
    new.sector = sector
    new.revenue_base_cny = revenue
    new.fixed_cost_cny = fixed
    new.target_buffer_days = target
    new.has_anchor_buyer = u_anchor < sectors.anchor_buyer_share[sector]
    new.persistent_log = persistent
    new.uses_personal_credit = u_personal < fc.personal_credit_share
    new.cash_cny = cash
    new.outflow_hist_cny[:] = outflow
    new.buffer_days = cash_buffer_days(cash, outflow)
    firms.append(new, n_new_edges=b.size)
    world.network = world.network.append_buyers(firms.n, b, sup, w)
    assert firms.edge_overdue_cny.shape[0] == world.network.n_edges
    assert firms.receivables_cny.shape == (RING_MONTHS, firms.n)
    world.firm_of[owner] = np.arange(first, firms.n, dtype=np.int64)
    world.sole_trader[owner] = True
    month.book.new_firms = keep
    month.book.firm_entry_cash_cny = float(cash.sum())
