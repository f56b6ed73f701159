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

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.config import LIMIT_BASES
from sim.lending.channels.records import NO_FACILITY
from sim.outputs.pairwise_kernel import max0
from sim.units import DAYS_PER_MISS

__all__ = ["APPROVED", "FIRM", "NEEDS", "REJECTED", "WISH"]

#: What a turn funds: households' essential gaps, households' wishes, firms' gaps.
NEEDS, WISH, FIRM = 0, 1, 2
#: An application of a row without a slot, decided in the kernel and recorded after it.
REJECTED, APPROVED = 1, 2
_INCOME, _REVENUE = LIMIT_BASES.index("income"), LIMIT_BASES.index("revenue")
#: A lender's terms as the kernels take them (:class:`sim.lending.funding.funding_kernel.
#: LenderTurn`): ``fterms`` float64: limit multiple, max limit (CNY), max PD, upfront fee
#: rate, max debt-service ratio, prime and subprime PD bounds; ``iterms`` int64: limit
#: basis, max DPD, min history, reapply wait, approval lag, debt-service mode (0 none,
#: 1 the ratio given, 2 payments / income). ``powers``: the lender factor's powers.


@kernel()
def _firm_value(r, firm_of, firm_open, values, missing):
    """A firm array at borrower ``r``'s open firm, ``missing`` without one (``firm_value``)."""
    if values.shape[0] == 0:
        return missing
    f = firm_of[r]
    if f >= 0 and firm_open[f]:
        return values[f]
    return missing


@kernel()
def _basis_limit(r, basis, fterms, info):
    """Row ``r``'s limit: multiple x basis, capped, rounded to the cent (``basis_limit``)."""
    income_base, firm_of, firm_open = info[3], info[4], info[5]
    if basis == _INCOME:
        b = income_base[r]
    elif basis == _REVENUE:
        b = _firm_value(r, firm_of, firm_open, info[7], 0.0)
    elif _firm_value(r, firm_of, firm_open, info[9], False):
        b = _firm_value(r, firm_of, firm_open, info[8], 0.0)
    else:
        b = 0.0
    return round_cny_scalar(min(fterms[0] * b, fterms[1]))


@kernel()
def _rules_ok(r, s, c, iterms, fterms, info, defaulted):
    """The hard approval rules of the lender for row ``r`` at slot ``s`` (``rules_ok``)."""
    firm_based = iterms[0] != _INCOME
    history = _firm_value(r, info[4], info[5], info[6], -1) if firm_based else info[2][r]
    ok = (
        not defaulted[s, c]
        and info[0][r] < fterms[2]
        and np.int64(info[1][r]) * DAYS_PER_MISS <= iterms[1]
        and history >= iterms[2]
    )
    return ok and history >= 0 if firm_based else ok


@kernel()
def _approved(r, fterms, iterms, prob, powers, info):
    """The month's approval decision of row ``r`` (``approval_prob_of`` and the uniform)."""
    pd_12m, band, lenders = info[0], info[10], info[11]
    if band.shape[0]:
        b = np.int64(band[r])
    else:
        b = np.int64(pd_12m[r] > fterms[5]) + np.int64(pd_12m[r] > fterms[6])
    p = prob[b]
    extra = max(np.int64(lenders[r]) - 1, 0) if lenders.shape[0] else 0
    p = p * (powers[extra] if extra < powers.shape[0] else powers[1] ** np.float64(extra))
    mode = iterms[5]
    if mode == 1:
        dsr = np.float64(info[12][r])
    elif mode == 2:
        income = info[14][r]
        dsr = info[13][r] / (income if (income >= 1.0 or income != income) else 1.0)
    else:
        dsr = 0.0
    if not dsr <= fterms[4]:
        p = 0.0
    u = np.float64(info[15][r]) if info[15].shape[0] else 0.0
    return u < p


@kernel()
def _decide(j, r, s, c, step, fterms, iterms, prob, powers, info, book, mark, code, limit_new):
    """Decide row ``r``'s application (``_decide``); a row without a slot gets a ``code``."""
    open_step, rejected_step, limit_tab = book[0], book[1], book[2]
    yes = _approved(r, fterms, iterms, prob, powers, info)
    mark[r] = True
    if s == 0:
        code[j] = APPROVED if yes else REJECTED
        if yes:
            limit_new[j] = _basis_limit(r, iterms[0], fterms, info)
    elif yes:
        open_step[s, c] = step + iterms[4]
        limit_tab[s, c] = _basis_limit(r, iterms[0], fterms, info)
    else:
        rejected_step[s, c] = step
    return yes


@kernel()
def _may_apply(s, c, step, iterms, book):
    """No facility and no rejection within the reapply wait (``_may_apply``)."""
    waited = step - np.int64(book[1][s, c])
    return book[0][s, c] == NO_FACILITY and waited >= iterms[3]


@kernel()
def _ask_row(
    mode, j, r, asked, alt, go, c, step, fterms, iterms, prob, powers, info, book, mark, out
):
    """Row ``j``'s request to lender ``c`` (see :func:`_ask`): ``(req, asked at all)``."""
    open_step, limit_tab, balance, defaulted = book[0], book[2], book[3], book[4]
    code, limit_new = out[2], out[3]
    s = book[5][r]
    left = asked
    if mode != FIRM:
        go = asked > 0
        if go and mode == WISH:
            if not (open_step[s, c] <= step and not defaulted[s, c]):
                asked = alt
            go = asked > 0
    if not go:
        return 0.0, False
    fresh = False
    if iterms[4] == 0:
        ok = _rules_ok(r, s, c, iterms, fterms, info, defaulted)
        held = open_step[s, c] <= step
        if ok and not held and _may_apply(s, c, step, iterms, book):
            held = _decide(
                j, r, s, c, step, fterms, iterms, prob, powers, info, book, mark, code, limit_new
            )
            fresh = held and s == 0
        ok = ok and held
        limit = _basis_limit(r, iterms[0], fterms, info)
        if ok and s != 0 and limit != limit_tab[s, c]:
            limit_tab[s, c] = limit
    else:
        ok = (
            open_step[s, c] <= step
            and not defaulted[s, c]
            and np.int64(info[1][r]) * DAYS_PER_MISS <= iterms[1]
        )
    line = limit_new[j] if fresh else limit_tab[s, c]
    headroom = max0(line - balance[s, c])
    cash = np.floor(headroom / (1.0 + fterms[3]) * 100.0 + 1e-7) / 100.0
    avail = (cash if ok else 0.0) + 0.0
    if mode == FIRM:
        return min(avail, left), True
    return round_cny_scalar(min(round_cny_scalar(asked), max0(avail))), True


@kernel(parallel=True)
def _ask(  # noqa: PLR0913 - a kernel takes plain arrays
    mode, who, left, alt, gate, c, step, fterms, iterms, prob, powers, info, book, mark, out
):
    """The cash each row may take from lender ``c`` (``available_cash`` and the waterfall).

    ``out``: ``(req, active, code, limit_new)``, each ``(m,)``. A household row asks for its
    ``left`` (a wish where no facility is held: ``alt``) when positive; its ``req`` is the
    waterfall's take before rationing. A firm row asks where ``gate`` (empty: every row);
    its ``req`` is ``min(available, left)``. A row decided without a slot gets a ``code``
    (and, approved, its new limit in ``limit_new``).
    """
    req, active, code = out[0], out[1], out[2]
    everyone = gate.shape[0] == 0
    for j in prange(who.shape[0]):
        code[j] = 0
        go = everyone or gate[j]
        req[j], active[j] = _ask_row(
            mode, j, who[j], left[j], alt[j], go, c, step, fterms, iterms, prob, powers,
            info, book, mark, out,
        )  # fmt: skip


@kernel()
def _draw_row(
    mode, j, r, granted, active, left, alt, target, fees, c, fee_rate, book, mark, totals
):
    """Row ``j``'s draw on lender ``c`` (see :func:`_draw`): ``(take, fee)``."""
    if mode == FIRM:
        rest = round_cny_scalar(left[j])
        take = round_cny_scalar(min(rest, max0(granted)))
        left[j] = round_cny_scalar(rest - take)
    elif active:
        take = granted
        target[j] += take
        left[j] = round_cny_scalar(left[j] - take)
        alt[j] = round_cny_scalar(max0(alt[j] - take))
    else:
        return 0.0, 0.0
    if not take > 0:
        return take, 0.0
    balance = book[3]
    s = book[5][r]
    amount = round_cny_scalar(take)
    fee = round_cny_scalar(fee_rate * amount)
    balance[s, c] = round_cny_scalar(balance[s, c] + amount + fee)
    mark[r] = True
    totals[r] += fee
    fees[j] += fee
    return take, fee


@kernel(parallel=True)
def _draw(
    mode, who, granted, active, left, alt, target, fees, c, fee_rate, book, mark, totals, out
):
    """Post the draws on lender ``c`` and reduce the rows' gaps (``draw`` and the waterfall).

    ``out``: ``(take, fee)`` per row, what it drew and its upfront fee.
    """
    take_out, fee_out = out[0], out[1]
    everyone = active.shape[0] == 0
    for j in prange(who.shape[0]):
        take_out[j], fee_out[j] = _draw_row(
            mode, j, who[j], granted[j], everyone or active[j], left, alt, target, fees, c,
            fee_rate, book, mark, totals,
        )  # fmt: skip


@kernel()
def _apply_row(j, r, c, step, fterms, iterms, prob, powers, info, book, mark, code, limit_new):
    """Row ``j``'s application to lender ``c`` (see :func:`_apply`)."""
    s = book[5][r]
    if _may_apply(s, c, step, iterms, book) and _rules_ok(r, s, c, iterms, fterms, info, book[4]):
        _decide(j, r, s, c, step, fterms, iterms, prob, powers, info, book, mark, code, limit_new)


@kernel(parallel=True)
def _apply(who, gate, c, step, fterms, iterms, prob, powers, info, book, mark, code, limit_new):
    """Applications of the rows where ``gate`` to lender ``c`` with a lag (``apply``)."""
    for j in prange(who.shape[0]):
        code[j] = 0
        if gate[j]:
            _apply_row(
                j, who[j], c, step, fterms, iterms, prob, powers, info, book, mark, code,
                limit_new,
            )  # fmt: skip
