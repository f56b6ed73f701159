"""The settlement half of a firm month (stage ``settlement``): bills paid, closures.

See :mod:`sim.world.firms` for the month's two halves around the funding waterfall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.compiled import implementation
from sim.units import round_cny
from sim.world.draws import FirmDraws
from sim.world.firms.exits import ExitModel
from sim.world.firms.operations import FirmMonth
from sim.world.firms.state import ClosureCause, FirmState, floor_cents
from sim.world.network import SupplyNetwork


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
    exit_model: ExitModel | None = None,
    owner_defaulted: np.ndarray | None = None,
    shortfall_memory_decay: float = 0.9,
) -> Settlement:
    """Pay what is due with the cash and the funding; late payments, contagion, closures.

    Fixed costs are paid first, then suppliers pro rata (outside and each network
    supplier alike); a partial payment is rounded down to the cent. Unpaid amounts stay
    due (overdue). Network receipts are credited to the suppliers' cash at the end (after
    their own payments: stress moves one link a month). Then closures: ``SHORTFALL`` at
    the end of the ``close_after_shortfall_months``-th consecutive month in shortfall,
    else by the exit hazard (:mod:`sim.world.firms.exits`): ``DISTRESS`` when ``u_exit <
    h_distress``, ``EXIT`` when ``u_exit < h_distress + h_nonfinancial`` (without an
    ``exit_model``: ``EXIT`` when ``u_exit < exit_hazard_monthly``); a closing firm pays
    its remaining payables (overdue and not yet due) pro rata from its cash, the rest is
    written off.

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
        exit_hazard_monthly: exit probability a month when ``exit_model`` is None.
        exit_model: the exit hazard with its distress part; None for a constant hazard.
        owner_defaulted: ``(n_firms,)`` bool, the owner has defaulted (the hazard's
            default term); all False if None.
        shortfall_memory_decay: monthly decay of ``shortfall_memory``, in [0, 1].

    The implementation is :func:`sim.compiled.implementation`'s: ``"compiled"`` (the
    numba kernels of :mod:`sim.world.firms.settlement_kernel`), ``"numpy"`` (the array
    passes below) or ``"reference"`` (one firm at a time,
    :mod:`sim.world.firms.settlement_reference`); all three give the same bits.

    Returns:
        The :class:`Settlement`.
    """
    args = (firms, network, month, funding_cny, draws)
    kwargs = {
        "step": step,
        "close_after_shortfall_months": close_after_shortfall_months,
        "exit_hazard_monthly": exit_hazard_monthly,
        "exit_model": exit_model,
        "owner_defaulted": owner_defaulted,
        "shortfall_memory_decay": shortfall_memory_decay,
    }
    # ---- implementation switch (sim.compiled): compiled kernel, reference, NumPy below
    how = implementation()
    if how == "compiled":
        from sim.world.firms.settlement_kernel import settle_compiled  # imports Settlement

        return settle_compiled(*args, **kwargs)
    if how == "reference":
        from sim.world.firms.settlement_reference import settle_reference

        return settle_reference(*args, **kwargs)
    return _settle_numpy(*args, **kwargs)


def _settle_numpy(
    firms: FirmState,
    network: SupplyNetwork,
    month: FirmMonth,
    funding_cny: np.ndarray,
    draws: FirmDraws,
    *,
    step: int,
    close_after_shortfall_months: int,
    exit_hazard_monthly: float,
    exit_model: ExitModel | None,
    owner_defaulted: np.ndarray | None,
    shortfall_memory_decay: float,
) -> Settlement:
    """:func:`settle` as whole-array NumPy passes (the ``"numpy"`` implementation)."""
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
    f.shortfall_memory = shortfall_memory_decay * f.shortfall_memory + shortfall
    close_short = open_ & (f.shortfall_months >= close_after_shortfall_months)
    if exit_model is None:
        h_distress = np.zeros(f.n)
        h_total = np.full(f.n, exit_hazard_monthly)
    else:
        defaulted = np.zeros(f.n, bool) if owner_defaulted is None else owner_defaulted
        h_nonfin, h_distress = exit_model.hazards(
            f.age_months, f.buffer_days, f.shortfall_memory, overdue > 0.005, defaulted
        )
        h_total = h_nonfin + h_distress
    close_distress = open_ & ~close_short & (draws.u_exit < h_distress)
    close_exit = open_ & ~close_short & ~close_distress & (draws.u_exit < h_total)
    closing = close_short | close_distress | close_exit
    cause = np.select(
        [close_short, close_distress, close_exit],
        [ClosureCause.SHORTFALL, ClosureCause.DISTRESS, ClosureCause.EXIT],
        0,
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
    f.stock_prebought_cny = np.where(closing, 0.0, f.stock_prebought_cny)
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
