"""The settlement half of a firm month compiled: numba kernels over firm rows and edges.

The same rules as the NumPy passes of :func:`sim.world.firms.settle`, in the same order of
floating-point operations, so the results are the same bits. Per buyer (``prange``: a
firm writes only its own row and its own edges, the CSR row of the supply network): the
fixed costs and the suppliers paid from the cash and the funding, the overdue and late
payables, the shortfall count, the exit hazard and the closure, and a closing firm's
winding-up. Each buyer's sums over its edges are taken in edge order from 0.0, as the
NumPy ``bincount`` adds them. What suppliers receive (and lose to closing buyers) is the
one sum across rows: it runs serially in edge order, as ``bincount`` adds it, so results
do not depend on the number of threads.

The exponential of the exit hazard's age term comes from NumPy, outside the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.rows import flat_rows
from sim.world.draws import FirmDraws
from sim.world.firms.exits import ExitModel
from sim.world.firms.operations import FirmMonth
from sim.world.firms.settlement import Settlement
from sim.world.firms.state import ClosureCause, FirmState
from sim.world.network import SupplyNetwork

__all__ = ["settle_compiled"]

SHORTFALL = int(ClosureCause.SHORTFALL)
EXIT = int(ClosureCause.EXIT)
DISTRESS = int(ClosureCause.DISTRESS)
#: Indices of the per-firm float outputs of :func:`_settle_buyers` (16 ``(n_firms,)`` arrays).
(
    FUNDING,
    CASH,
    FIXED_PAID,
    FIXED_ARREARS,
    PAID_OUT,
    OVERDUE,
    LATE,
    UNMET,
    MEMORY,
    WIND_OUT,
    WRITTEN_OUT,
    FIXED_WRITTEN,
    OVERDUE_KEPT,
    STOCK,
    PAID_OUTSIDE,
    PAID_NETWORK,
) = range(16)


@kernel()
def _floor_cents(x: float) -> float:
    """``x`` rounded down to the cent as :func:`sim.world.firms.state.floor_cents`."""
    return np.floor(x * 100.0 + 1e-7) / 100.0 + 0.0


@kernel(parallel=True)
def _settle_buyers(  # noqa: PLR0913 - a kernel takes plain arrays, one per field
    indptr,
    was_open,
    funding_in,
    cash_available,
    fixed_due,
    due_out,
    due_network,
    new_due,
    gap,
    edge_due,
    shortfall_months_in,
    memory_in,
    buffer_days,
    age_factor,
    owner_defaulted,
    u_exit,
    payables,
    pay_stride,
    edge_payables,
    edge_stride,
    rings,
    stock_in,
    closed_step_in,
    cause_in,
    age_in,
    late_total,
    unmet_total,
    params,
    close_after,
    step,
    use_model,
    out,
    in_shortfall,
    shortfall_months,
    closing,
    cause,
    is_open,
    closed_step,
    closure_cause,
    age,
    edge_overdue,
    edge_paid_all,
    edge_lost,
):
    """Pay the bills of every firm (its own row and edges), decide closures, wind up.

    ``params`` is ``(decay, w_buffer, w_shortfall, w_unpaid, w_default, nonfinancial,
    low_buffer_days, exit_hazard_monthly)``; ``age_factor`` the hazard's ``a(age)``
    (used when ``use_model``). ``cash`` is the cash after winding up, before receipts;
    ``edge_lost`` what each edge's supplier loses to a closing buyer (not rounded);
    ``out`` is a tuple of 16 ``(n_firms,)`` float64 outputs, indexed by ``FUNDING`` ..
    ``PAID_NETWORK``. ``payables`` and ``edge_payables`` are the ``(rings, n)`` rings flat
    (:func:`sim.rows.flat_rows`), each with its row stride.
    """
    decay, w_buffer, w_short, w_unpaid, w_default = params[:5]
    nonfinancial, low_days, hazard_const = params[5:8]
    n = was_open.shape[0]
    for i in prange(n):
        lo, hi = indptr[i], indptr[i + 1]
        fund = round_cny_scalar(funding_in[i])
        out[FUNDING][i] = fund
        c = round_cny_scalar(cash_available[i] + fund)
        fp = round_cny_scalar(min(fixed_due[i], c))
        out[FIXED_PAID][i] = fp
        c = round_cny_scalar(c - fp)
        arrears = round_cny_scalar(fixed_due[i] - fp)
        due_total = round_cny_scalar(due_out[i] + due_network[i])
        frac = c / due_total if due_total > 0 else 1.0
        full = frac >= 1.0
        paid_out = due_out[i] if full else _floor_cents(due_out[i] * frac)
        out[PAID_OUT][i] = paid_out
        paid_net = 0.0
        owed_net = 0.0
        for e in range(lo, hi):
            ep = edge_due[e] if full else _floor_cents(edge_due[e] * frac)
            edge_paid_all[e] = ep
            paid_net += ep
            eo = round_cny_scalar(edge_due[e] - ep)
            edge_overdue[e] = eo
            owed_net += eo
        c = round_cny_scalar(c - paid_out - round_cny_scalar(paid_net))
        over_out = round_cny_scalar(due_out[i] - paid_out)
        overdue = round_cny_scalar(over_out + owed_net)
        out[LATE][i] = round_cny_scalar(min(new_due[i], overdue))
        unpaid = round_cny_scalar(overdue + arrears)
        out[UNMET][i] = round_cny_scalar(max(gap[i] - fund, 0.0))
        open_ = was_open[i]
        short = open_ and unpaid > 0.005
        in_shortfall[i] = short
        months = shortfall_months_in[i] + 1 if short else 0
        shortfall_months[i] = months
        mem = decay * memory_in[i] + (1.0 if short else 0.0)
        out[MEMORY][i] = mem
        close_short = open_ and months >= close_after
        if use_model:
            days = buffer_days[i]
            low = 0.0
            if np.isfinite(days):
                low = min(max(1.0 - days / low_days, 0.0), 1.0)
            distress = age_factor[i] * (
                w_buffer * low
                + w_short * mem
                + w_unpaid * (1.0 if overdue > 0.005 else 0.0)
                + w_default * (1.0 if owner_defaulted[i] else 0.0)
            )
            distress = min(distress, 1.0)
            h_total = min(nonfinancial * age_factor[i], 1.0 - distress) + distress
        else:
            distress = 0.0
            h_total = hazard_const
        code = 0
        if close_short:
            code = SHORTFALL
        elif open_ and u_exit[i] < distress:
            code = DISTRESS
        elif open_ and u_exit[i] < h_total:
            code = EXIT
        shut = code != 0
        closing[i] = shut
        cause[i] = code
        # Winding up: what is still owed (overdue and not yet due), pro rata, from cash.
        owed_out = 0.0
        if shut:
            total = payables[i]
            for r in range(1, rings):
                total += payables[r * pay_stride + i]
            owed_out = round_cny_scalar(over_out + total)
        owed_edges = 0.0
        for e in range(lo, hi):
            oe = 0.0
            if shut:
                total = edge_payables[e]
                for r in range(1, rings):
                    total += edge_payables[r * edge_stride + e]
                oe = round_cny_scalar(edge_overdue[e] + total)
            edge_lost[e] = oe  # owed here; less what is paid below
            owed_edges += oe
        owed = round_cny_scalar(owed_out + owed_edges)
        wfrac = c / owed if owed > 0 else 1.0
        wfull = wfrac >= 1.0
        wo = owed_out if wfull else _floor_cents(owed_out * wfrac)
        out[WIND_OUT][i] = wo
        wind_net = 0.0
        paid_all = 0.0
        for e in range(lo, hi):
            oe = edge_lost[e]
            we = oe if wfull else _floor_cents(oe * wfrac)
            wind_net += we
            edge_lost[e] = oe - we
            edge_paid_all[e] = round_cny_scalar(edge_paid_all[e] + we)
            paid_all += edge_paid_all[e]
        out[PAID_NETWORK][i] = round_cny_scalar(paid_all)
        out[PAID_OUTSIDE][i] = round_cny_scalar(paid_out + wo)
        age[i] = age_in[i] + 1 if open_ else age_in[i]
        late_total[i] += out[LATE][i]
        unmet_total[i] += out[UNMET][i]
        out[CASH][i] = round_cny_scalar(c - wo - wind_net)
        out[WRITTEN_OUT][i] = round_cny_scalar(owed_out - wo)
        out[FIXED_WRITTEN][i] = arrears if shut else 0.0
        out[OVERDUE][i] = 0.0 if shut else over_out
        out[FIXED_ARREARS][i] = 0.0 if shut else arrears
        out[STOCK][i] = 0.0 if shut else stock_in[i]
        out[OVERDUE_KEPT][i] = overdue if (open_ and not shut) else 0.0
        is_open[i] = open_ and not shut
        closed_step[i] = step if shut else closed_step_in[i]
        closure_cause[i] = code if shut else cause_in[i]
        if shut:
            for r in range(rings):
                payables[r * pay_stride + i] = 0.0
            for e in range(lo, hi):
                edge_overdue[e] = 0.0
                for r in range(rings):
                    edge_payables[r * edge_stride + e] = 0.0


@kernel()
def _per_supplier(supplier, paid, lost, cash_wound, receipts, bad_debt, cash):
    """Suppliers' receipts and bad debts (sums over the edges in edge order), then cash.

    Serial: each supplier's sums add its edges in edge order, as ``bincount`` does.
    """
    for e in range(supplier.shape[0]):
        j = supplier[e]
        receipts[j] += paid[e]
        bad_debt[j] += lost[e]
    for i in range(receipts.shape[0]):
        receipts[i] = round_cny_scalar(receipts[i])
        bad_debt[i] = round_cny_scalar(bad_debt[i])
        cash[i] = round_cny_scalar(cash_wound[i] + receipts[i])


def settle_compiled(
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
    """:func:`sim.world.firms.settle` by the kernels of this module (same arguments, bits).

    Returns:
        The :class:`Settlement`; the firm state is updated as :func:`settle` updates it.
    """
    f = firms
    n, n_edges = f.n, network.n_edges
    indptr = network.shares.indptr.astype(np.int64)
    f64 = np.float64
    model = exit_model or ExitModel(nonfinancial=exit_hazard_monthly)
    if exit_model is None:
        age_factor = np.zeros(n)
    else:
        age = np.asarray(f.age_months, dtype=f64)
        age_factor = 1.0 + model.young_excess * np.exp(-age / model.young_decay_months)
    defaulted = np.zeros(n, bool) if owner_defaulted is None else owner_defaulted.astype(bool)
    m = model
    hazard = (m.w_buffer, m.w_shortfall, m.w_unpaid, m.w_default, m.nonfinancial)
    params = np.array(
        [shortfall_memory_decay, *hazard, m.low_buffer_days, exit_hazard_monthly], dtype=f64
    )
    # Sixteen arrays, not one (16, n) block: each fits the heap's free space, where a
    # block this large would be mapped afresh every month (docs/performance.md, "Memory").
    out = tuple(np.empty(n) for _ in range(16))
    ages = np.empty(n, np.int32)
    in_shortfall, closing, is_open = (np.empty(n, bool) for _ in range(3))
    shortfall_months = np.empty(n, np.int16)
    cause, closure_cause = np.empty(n, np.int8), np.empty(n, np.int8)
    closed_step = np.empty(n, np.int32)
    edge_overdue, edge_paid_all, edge_lost = (np.empty(n_edges) for _ in range(3))
    _settle_buyers(
        indptr,
        f.is_open,
        np.asarray(funding_cny, dtype=f64),
        month.cash_available_cny,
        month.fixed_due_cny,
        month.supplier_due_outside_cny,
        month.supplier_due_network_cny,
        month.new_supplier_due_cny,
        month.gap_cny,
        month.edge_due_cny,
        f.shortfall_months,
        f.shortfall_memory,
        f.buffer_days,
        age_factor,
        defaulted,
        draws.u_exit,
        *flat_rows(f.payables_cny, writes=True),
        *flat_rows(f.edge_payables_cny, writes=True),
        f.payables_cny.shape[0],
        f.stock_prebought_cny,
        f.closed_step,
        f.closure_cause,
        f.age_months,
        f.late_payments_total_cny,
        f.unmet_gap_total_cny,
        params,
        int(close_after_shortfall_months),
        int(step),
        exit_model is not None,
        out,
        in_shortfall,
        shortfall_months,
        closing,
        cause,
        is_open,
        closed_step,
        closure_cause,
        ages,
        edge_overdue,
        edge_paid_all,
        edge_lost,
    )
    receipts, bad_debt, cash = np.zeros(n), np.zeros(n), np.empty(n)
    _per_supplier(network.supplier, edge_paid_all, edge_lost, out[CASH], receipts, bad_debt, cash)
    f.fixed_arrears_cny = out[FIXED_ARREARS]
    f.overdue_cny = out[OVERDUE]
    f.edge_overdue_cny = edge_overdue
    f.in_shortfall = in_shortfall
    f.shortfall_months = shortfall_months
    f.shortfall_memory = out[MEMORY]
    f.stock_prebought_cny = out[STOCK]
    f.is_open = is_open
    f.closed_step = closed_step
    f.closure_cause = closure_cause
    f.cash_cny = cash
    f.age_months = ages
    return Settlement(
        funding_cny=out[FUNDING],
        fixed_paid_cny=out[FIXED_PAID],
        supplier_paid_outside_cny=out[PAID_OUTSIDE],
        edge_paid_cny=edge_paid_all,
        supplier_paid_network_cny=out[PAID_NETWORK],
        late_supplier_payments_cny=out[LATE],
        overdue_supplier_cny=out[OVERDUE_KEPT],
        unmet_gap_cny=out[UNMET],
        network_receipts_cny=receipts,
        new_closure=closing,
        closure_cause=cause,
        written_off_outside_cny=out[WRITTEN_OUT],
        supplier_bad_debt_cny=bad_debt,
        fixed_written_off_cny=out[FIXED_WRITTEN],
    )
