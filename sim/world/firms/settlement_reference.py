"""The settlement half of a firm month written one firm at a time: the readable reference.

The rules of :func:`sim.world.firms.settle` in plain Python, a firm (and its supply edges)
at a time, with Python floats: the oracle the tests compare the compiled kernel with, and
the peer baseline of the benchmark. Not used in runs unless
``sim.compiled.set_implementation("reference")``.

Rounding to the cent is ``round(x * 100) / 100`` (half to even on the exact binary value,
as NumPy's ``rint``), so every amount equals :func:`sim.units.round_cny`'s to the bit.
"""

from __future__ import annotations

import math

import numpy as np

from sim.units import cents, sum_in_order
from sim.world.draws import FirmDraws
from sim.world.firms.exits import ExitModel
from sim.world.firms.operations import FirmMonth
from sim.world.firms.settlement import Settlement
from sim.world.firms.state import ClosureCause, FirmState
from sim.world.network import SupplyNetwork

__all__ = ["settle_reference"]


#: Firm arrays :func:`sim.world.firms.settle` replaces by new ones, and their dtypes.
_REPLACED = {
    "fixed_arrears_cny": np.float64,
    "overdue_cny": np.float64,
    "edge_overdue_cny": np.float64,
    "in_shortfall": np.bool_,
    "shortfall_months": np.int16,
    "shortfall_memory": np.float64,
    "stock_prebought_cny": np.float64,
    "is_open": np.bool_,
    "closed_step": np.int32,
    "closure_cause": np.int8,
    "cash_cny": np.float64,
    "age_months": np.int32,
}


def _floor_cents(x: float) -> float:
    """``x`` rounded down to the cent, as :func:`sim.world.firms.state.floor_cents`."""
    return math.floor(x * 100.0 + 1e-7) / 100.0 + 0.0


def settle_reference(
    firms: FirmState,
    network: SupplyNetwork,
    month: FirmMonth,
    funding_cny: np.ndarray,
    draws: FirmDraws,
    *,
    step: int,
    close_after_shortfall_months: int,
    exit_hazard_monthly: float,
    exit_model: ExitModel | None = None,
    owner_defaulted: np.ndarray | None = None,
    shortfall_memory_decay: float = 0.9,
) -> Settlement:
    """:func:`sim.world.firms.settle`, one firm at a time (same arguments, same bits).

    The exit hazard's age factor ``a(age)`` is taken from NumPy (its ``exp``), as the
    kernel takes it.
    """
    f = firms
    n = f.n
    # The arrays settle replaces (the rings and the accumulators are updated in place).
    for name, dtype in _REPLACED.items():
        setattr(f, name, np.array(getattr(f, name), dtype=dtype))
    edges_of = network.shares.indptr.tolist()
    supplier = network.supplier.tolist()
    rings = f.payables_cny.shape[0]
    if exit_model is not None:
        age = np.asarray(f.age_months, dtype=np.float64)
        factor = (
            1.0 + exit_model.young_excess * np.exp(-age / exit_model.young_decay_months)
        ).tolist()
    out = {
        name: [0.0] * n
        for name in (
            "funding",
            "fixed_paid",
            "paid_outside",
            "paid_network",
            "late",
            "overdue_kept",
            "unmet",
            "receipts",
            "written_out",
            "bad_debt",
            "fixed_written",
        )
    }
    closing, cause = [False] * n, [0] * n
    edge_paid_all = [0.0] * network.n_edges
    edge_lost = [0.0] * network.n_edges
    cash_after = [0.0] * n
    was_open = f.is_open.tolist()
    for i in range(n):
        edges = range(edges_of[i], edges_of[i + 1])
        funding = cents(float(funding_cny[i]))
        cash = cents(float(month.cash_available_cny[i]) + funding)
        fixed_due = float(month.fixed_due_cny[i])
        fixed_paid = cents(min(fixed_due, cash))
        cash = cents(cash - fixed_paid)
        arrears = cents(fixed_due - fixed_paid)
        # Suppliers pro rata: all paid in full when the cash covers them.
        due_out = float(month.supplier_due_outside_cny[i])
        due_total = cents(due_out + float(month.supplier_due_network_cny[i]))
        frac = cash / due_total if due_total > 0 else 1.0
        full = frac >= 1.0
        paid_out = due_out if full else _floor_cents(due_out * frac)
        paid_net = 0.0
        overdue_net = 0.0
        for e in edges:
            due = float(month.edge_due_cny[e])
            edge_paid_all[e] = due if full else _floor_cents(due * frac)
            paid_net += edge_paid_all[e]
            f.edge_overdue_cny[e] = cents(due - edge_paid_all[e])
            overdue_net += f.edge_overdue_cny[e]
        cash = cents(cash - paid_out - cents(paid_net))
        overdue_out = cents(due_out - paid_out)
        overdue = cents(overdue_out + overdue_net)
        late = cents(min(float(month.new_supplier_due_cny[i]), overdue))
        unpaid = cents(overdue + arrears)
        # Shortfall and the exit hazard.
        is_open = was_open[i]
        short = is_open and unpaid > 0.005
        f.in_shortfall[i] = short
        f.shortfall_months[i] = f.shortfall_months[i] + 1 if short else 0
        memory = shortfall_memory_decay * float(f.shortfall_memory[i]) + (1.0 if short else 0.0)
        f.shortfall_memory[i] = memory
        if exit_model is None:
            h_distress, h_total = 0.0, exit_hazard_monthly
        else:
            days = float(f.buffer_days[i])
            low = min(max(1.0 - days / exit_model.low_buffer_days, 0.0), 1.0)
            low = low if math.isfinite(days) else 0.0
            defaulted = owner_defaulted is not None and bool(owner_defaulted[i])
            h_distress = factor[i] * (
                exit_model.w_buffer * low
                + exit_model.w_shortfall * memory
                + exit_model.w_unpaid * (1.0 if overdue > 0.005 else 0.0)
                + exit_model.w_default * (1.0 if defaulted else 0.0)
            )
            h_distress = min(h_distress, 1.0)
            h_total = min(exit_model.nonfinancial * factor[i], 1.0 - h_distress) + h_distress
        u = float(draws.u_exit[i])
        if is_open and f.shortfall_months[i] >= close_after_shortfall_months:
            cause[i] = int(ClosureCause.SHORTFALL)
        elif is_open and u < h_distress:
            cause[i] = int(ClosureCause.DISTRESS)
        elif is_open and u < h_total:
            cause[i] = int(ClosureCause.EXIT)
        closing[i] = cause[i] != 0
        # Winding up: a closing firm pays what it still owes, pro rata, from its cash.
        owed_out, owed_net = 0.0, 0.0
        if closing[i]:
            ring = [float(f.payables_cny[r, i]) for r in range(rings)]
            owed_out = cents(overdue_out + sum_in_order(ring))
            for e in edges:
                ring = [float(f.edge_payables_cny[r, e]) for r in range(rings)]
                edge_lost[e] = cents(float(f.edge_overdue_cny[e]) + sum_in_order(ring))
                owed_net += edge_lost[e]
        owed = cents(owed_out + owed_net)
        wfrac = cash / owed if owed > 0 else 1.0
        wfull = wfrac >= 1.0
        wind_out = owed_out if wfull else _floor_cents(owed_out * wfrac)
        wind_net = 0.0
        for e in edges:
            wind = edge_lost[e] if wfull else _floor_cents(edge_lost[e] * wfrac)
            wind_net += wind
            edge_lost[e] = edge_lost[e] - wind
            edge_paid_all[e] = cents(edge_paid_all[e] + wind)
        cash_after[i] = cents(cash - wind_out - wind_net)
        out["written_out"][i] = cents(owed_out - wind_out)
        out["fixed_written"][i] = arrears if closing[i] else 0.0
        f.overdue_cny[i] = 0.0 if closing[i] else overdue_out
        f.fixed_arrears_cny[i] = 0.0 if closing[i] else arrears
        if closing[i]:
            f.stock_prebought_cny[i] = 0.0
            f.payables_cny[:, i] = 0.0
            for e in edges:
                f.edge_overdue_cny[e] = 0.0
                f.edge_payables_cny[:, e] = 0.0
            f.is_open[i] = False
            f.closed_step[i] = step
            f.closure_cause[i] = cause[i]
        out["funding"][i], out["fixed_paid"][i] = funding, fixed_paid
        out["late"][i], out["unmet"][i] = late, cents(max(float(month.gap_cny[i]) - funding, 0.0))
        out["overdue_kept"][i] = overdue if f.is_open[i] else 0.0
        out["paid_outside"][i] = cents(paid_out + wind_out)
    # Suppliers are paid (and lose what closing buyers cannot pay) edge by edge.
    for e in range(network.n_edges):
        out["receipts"][supplier[e]] += edge_paid_all[e]
        out["bad_debt"][supplier[e]] += edge_lost[e]
    for i in range(n):
        out["receipts"][i] = cents(out["receipts"][i])
        out["bad_debt"][i] = cents(out["bad_debt"][i])
        f.cash_cny[i] = cents(cash_after[i] + out["receipts"][i])
        if was_open[i]:
            f.age_months[i] += 1
        f.late_payments_total_cny[i] += out["late"][i]
        f.unmet_gap_total_cny[i] += out["unmet"][i]
        net = 0.0
        for e in range(edges_of[i], edges_of[i + 1]):
            net += edge_paid_all[e]
        out["paid_network"][i] = cents(net)
    return Settlement(
        funding_cny=np.array(out["funding"]),
        fixed_paid_cny=np.array(out["fixed_paid"]),
        supplier_paid_outside_cny=np.array(out["paid_outside"]),
        edge_paid_cny=np.array(edge_paid_all, dtype=np.float64),
        supplier_paid_network_cny=np.array(out["paid_network"]),
        late_supplier_payments_cny=np.array(out["late"]),
        overdue_supplier_cny=np.array(out["overdue_kept"]),
        unmet_gap_cny=np.array(out["unmet"]),
        network_receipts_cny=np.array(out["receipts"]),
        new_closure=np.array(closing, dtype=bool),
        closure_cause=np.array(cause, dtype=np.int8),
        written_off_outside_cny=np.array(out["written_out"]),
        supplier_bad_debt_cny=np.array(out["bad_debt"]),
        fixed_written_off_cny=np.array(out["fixed_written"]),
    )
