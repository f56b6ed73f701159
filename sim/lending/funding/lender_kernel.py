"""One lender's turn in the funding waterfall, compiled: decide, size, ask, draw, apply.

The rules of :meth:`sim.lending.channels.Channels.available_cash`, ``rules_ok``,
``basis_limit``, ``approval_prob_of``, ``_decide``, ``holds``, ``draw`` and ``apply`` as
numba kernels over the rows asking one lender (``prange``: the rows are distinct borrowers,
so each writes only its own slot of the books, its own ``_mark`` and its own totals). A
lender's turn is two passes with NumPy between them
(:class:`sim.lending.funding.funding_kernel.LenderTurn`):

1. :func:`_ask`: applications decided, limits re-sized, the cash each row may take;
2. in NumPy: slots handed out to rows decided without one (``Channels._slots``, in
   borrower-row order, as the NumPy pass does: the kernels never allocate) and the
   lender's capacity (``Channels.ration``, its sum over the requests in NumPy's order);
3. :func:`_draw`: the draws posted, the rows' gaps reduced; the lender's month totals
   are NumPy sums over the rows that drew, in row order.

Every amount is computed with the same floating-point operations in the same order as the
NumPy pass, so the results are the same bits and do not depend on the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.config import LIMIT_BASES
from sim.lending.channels.records import NO_FACILITY
from sim.units import DAYS_PER_MISS

__all__ = ["APPROVED", "FIRM", "NEEDS", "REJECTED", "WISH"]

#: What a turn funds: households' essential gaps, households' wishes, firms' gaps.
NEEDS, WISH, FIRM = 0, 1, 2
#: An application of a row without a slot, decided in the kernel and recorded after it.
REJECTED, APPROVED = 1, 2
_INCOME, _REVENUE = LIMIT_BASES.index("income"), LIMIT_BASES.index("revenue")
#: Rows a worker thread takes at a time.
SPAN = 2048
#: A row's rules, inlined into the kernels' loops (as :func:`sim.compiled.round_cny_scalar`).
_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
#: A lender's terms as the kernels take them (:class:`sim.lending.funding.funding_kernel.
#: LenderTurn`): ``fterms`` float64: limit multiple, max limit (CNY), max PD, upfront fee
#: rate, max debt-service ratio, prime and subprime PD bounds; ``iterms`` int64: limit
#: basis, max DPD, min history, reapply wait, approval lag, debt-service mode (0 none,
#: 1 the ratio given, 2 payments / income). ``powers``: the lender factor's powers.


@_inline
def _max0(x):
    """``np.maximum(x, 0.0)`` (NaN propagates; the first argument wins a tie)."""
    return x if (x >= 0.0 or x != x) else 0.0


@_inline
def _rules_ok(defaulted, pd_12m, max_pd, dpd, max_dpd, months, min_months, firm_based):
    """The hard approval rules on one row's values (``rules_ok``)."""
    ok = not defaulted and pd_12m < max_pd and dpd <= max_dpd and months >= min_months
    return ok and months >= 0 if firm_based else ok


@_inline
def _approval_prob(prob_band, factor_power, ratio, max_ratio):
    """One row's approval probability (``approval_prob_of``) from its values."""
    p = prob_band * factor_power
    return p if ratio <= max_ratio else 0.0


@_inline
def _may_apply(open_step, rejected_step, step, reapply):
    """No facility and no rejection within the reapply wait (``_may_apply``)."""
    return open_step == NO_FACILITY and step - np.int64(rejected_step) >= reapply


@kernel()
def _turn_span(  # noqa: PLR0912, PLR0913, PLR0915 - one row's turn, every array given once
    lo,
    hi,
    task,
    mode,
    who,
    left,
    alt,
    gate,
    c,
    step,
    fterms,
    iterms,
    prob,
    powers,
    info,
    book,
    mark,
    out,
):
    """Rows ``lo`` to ``hi`` of :func:`_ask` (``task`` 0) or :func:`_apply` (``task`` 1).

    The arrays are taken out of their tuples once, before the loop over the rows. The
    borrower arrays of ``info`` and the slots (``book[5]``) are the rows' own, in the
    order of ``who`` (gathered once for a whole waterfall); the firm arrays are indexed by
    firm and the approval uniforms ``info[15]`` by borrower.
    """
    pd_12m, missed, history, income_base = info[0], info[1], info[2], info[3]
    firm_of, firm_open, firm_age, revenue = info[4], info[5], info[6], info[7]
    receivables, anchor, band, lenders = info[8], info[9], info[10], info[11]
    dsr, debt, income, u = info[12], info[13], info[14], info[15]
    open_tab, rejected_tab, limit_tab, balance, defaulted, slot_of = book
    req, active, code, limit_new = out
    basis, max_dpd, min_months = iterms[0], iterms[1], iterms[2]
    reapply, lag, dsr_mode = iterms[3], iterms[4], iterms[5]
    multiple, top, max_pd, fee_rate = fterms[0], fterms[1], fterms[2], fterms[3]
    max_ratio, prime_max, subprime_min = fterms[4], fterms[5], fterms[6]
    firm_based = basis != _INCOME
    everyone = gate.shape[0] == 0
    has_band, has_lenders, has_u = band.shape[0] > 0, lenders.shape[0] > 0, u.shape[0] > 0
    # The rows' accounts on the lender and their uniforms, gathered first: independent
    # loads the processor overlaps, where the branchy pass below would wait on each.
    n = hi - lo
    g_open, g_rejected = np.empty(n, np.int64), np.empty(n, np.int64)
    g_limit, g_balance, g_u = np.empty(n), np.empty(n), np.zeros(n)
    g_defaulted = np.empty(n, np.bool_)
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index wraparound
        if task == 1 or mode == FIRM:
            if not (everyone or gate[j]):
                continue
        elif not left[j] > 0:
            continue
        s, k = np.uint64(slot_of[j]), j - np.uint64(lo)
        g_open[k], g_rejected[k] = open_tab[s, c], rejected_tab[s, c]
        g_limit[k], g_balance[k] = limit_tab[s, c], balance[s, c]
        g_defaulted[k] = defaulted[s, c]
        if has_u:
            g_u[k] = u[who[j]]
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index wraparound
        code[j] = 0
        req[j] = 0.0
        active[j] = False
        asked = left[j]
        if task == 1 or mode == FIRM:
            if not (everyone or gate[j]):
                continue
        elif not asked > 0:
            continue
        r, k = who[j], j - np.uint64(lo)
        s = np.uint64(slot_of[j])
        no_default = not g_defaulted[k]
        opened = g_open[k]
        if task == 0 and mode == WISH:
            if not (opened <= step and no_default):
                asked = alt[j]
            if not asked > 0:
                continue
        active[j] = True
        dpd = np.int64(missed[j]) * DAYS_PER_MISS
        f = firm_of[j]
        firm = f if (f >= 0 and firm_open[f]) else -1  # the open firm (firm_value)
        # The lender's limit for the row: multiple x basis, capped (basis_limit).
        if basis == _INCOME:
            b = income_base[j]
        elif firm < 0:
            b = 0.0
        elif basis == _REVENUE:
            b = revenue[firm]
        else:
            b = receivables[firm] if anchor[firm] else 0.0
        limit = round_cny_scalar(min(multiple * b, top))
        decide = False
        ok = False
        if task == 1 or lag == 0:
            months = (firm_age[firm] if firm >= 0 else -1) if firm_based else history[j]
            ok = _rules_ok(
                not no_default, pd_12m[j], max_pd, dpd, max_dpd, months, min_months, firm_based
            )
            may = _may_apply(opened, g_rejected[k], step, reapply)
            decide = ok and may if task == 1 else ok and opened > step and may
        held = opened <= step
        fresh = False
        if decide:
            if has_band:
                band_of = np.int64(band[j])
            else:
                band_of = np.int64(pd_12m[j] > prime_max) + np.int64(pd_12m[j] > subprime_min)
            extra = max(np.int64(lenders[j]) - 1, 0) if has_lenders else 0
            power = powers[extra] if extra < powers.shape[0] else powers[1] ** np.float64(extra)
            if dsr_mode == 1:
                ratio = np.float64(dsr[j])
            elif dsr_mode == 2:
                pay = income[j]
                ratio = debt[j] / (pay if (pay >= 1.0 or pay != pay) else 1.0)
            else:
                ratio = 0.0
            draw = np.float64(g_u[k])
            held = draw < _approval_prob(prob[band_of], power, ratio, max_ratio)
            mark[r] = True
            if s == 0:
                code[j] = APPROVED if held else REJECTED
                limit_new[j] = limit if held else 0.0
                fresh = held
            elif held:
                open_tab[s, c] = step + lag
                limit_tab[s, c] = limit
                g_limit[k] = limit
            else:
                rejected_tab[s, c] = step
        if task == 1:
            continue
        if lag == 0:
            ok = ok and held
            if ok and s != 0 and limit != g_limit[k]:
                limit_tab[s, c] = limit
                g_limit[k] = limit
        else:
            ok = held and no_default and dpd <= max_dpd
        line = limit_new[j] if fresh else g_limit[k]
        headroom = _max0(line - g_balance[k])
        cash = np.floor(headroom / (1.0 + fee_rate) * 100.0 + 1e-7) / 100.0
        avail = (cash if ok else 0.0) + 0.0
        if mode == FIRM:
            req[j] = min(avail, left[j])
        else:
            req[j] = round_cny_scalar(min(round_cny_scalar(asked), _max0(avail)))


@kernel(parallel=True)
def _ask(  # noqa: PLR0913 - a kernel takes plain arrays
    mode, who, left, alt, gate, c, step, fterms, iterms, prob, powers, info, book, mark, out
):
    """The cash each row may take from lender ``c`` (``available_cash`` and the waterfall).

    ``out``: ``(req, active, code, limit_new)``, each ``(m,)``. A household row asks for its
    ``left`` (a wish where no facility is held: ``alt``) when positive; its ``req`` is the
    waterfall's take before rationing. A firm row asks where ``gate`` (empty: every row);
    its ``req`` is ``min(available, left)``. A row decided without a slot gets a ``code``
    (and, approved, its new limit in ``limit_new``). Spans of :data:`SPAN` rows in parallel.
    """
    m = who.shape[0]
    for q in prange((m + SPAN - 1) // SPAN):
        _turn_span(
            q * SPAN, min(m, (q + 1) * SPAN), 0, mode, who, left, alt, gate, c, step, fterms,
            iterms, prob, powers, info, book, mark, out,
        )  # fmt: skip


@kernel(parallel=True)
def _apply(who, gate, c, step, fterms, iterms, prob, powers, info, book, mark, out):
    """Applications of the rows where ``gate`` to lender ``c`` with a lag (``apply``).

    ``out`` as :func:`_ask`'s (``code`` and ``limit_new`` of rows without a slot).
    """
    m = who.shape[0]
    for q in prange((m + SPAN - 1) // SPAN):
        _turn_span(
            q * SPAN, min(m, (q + 1) * SPAN), 1, FIRM, who, out[0], out[0], gate, c, step,
            fterms, iterms, prob, powers, info, book, mark, out,
        )  # fmt: skip


@kernel()
def _draw_span(  # noqa: PLR0913 - plain arrays
    lo,
    hi,
    mode,
    who,
    granted,
    active,
    left,
    alt,
    target,
    fees,
    c,
    fee_rate,
    book,
    mark,
    totals,
    out,
):
    """Rows ``lo`` to ``hi`` of :func:`_draw`, one after the other."""
    take_out, fee_out = out
    balance, slot_of = book[3], book[5]
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index wraparound
        take_out[j] = 0.0
        fee_out[j] = 0.0
        if mode == FIRM:
            rest = round_cny_scalar(left[j])
            take = round_cny_scalar(min(rest, _max0(granted[j])))
            left[j] = round_cny_scalar(rest - take)
        elif active[j]:
            take = granted[j]
            target[j] += take
            left[j] = round_cny_scalar(left[j] - take)
            alt[j] = round_cny_scalar(_max0(alt[j] - take))
        else:
            continue
        take_out[j] = take
        if not take > 0:
            continue
        r = who[j]
        s = np.uint64(slot_of[j])
        amount = round_cny_scalar(take)
        fee = round_cny_scalar(fee_rate * amount)
        balance[s, c] = round_cny_scalar(balance[s, c] + amount + fee)
        mark[r] = True
        totals[r] += fee
        fees[j] += fee
        fee_out[j] = fee


@kernel(parallel=True)
def _draw(
    mode, who, granted, active, left, alt, target, fees, c, fee_rate, book, mark, totals, out
):
    """Post the draws on lender ``c`` and reduce the rows' gaps (``draw`` and the waterfall).

    ``out``: ``(take, fee)`` per row, what it drew and its upfront fee. Spans of
    :data:`SPAN` rows in parallel.
    """
    m = who.shape[0]
    for q in prange((m + SPAN - 1) // SPAN):
        _draw_span(
            q * SPAN, min(m, (q + 1) * SPAN), mode, who, granted, active, left, alt, target,
            fees, c, fee_rate, book, mark, totals, out,
        )  # fmt: skip
