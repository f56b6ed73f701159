"""A households' waterfall round compiled in one pass: every lender's turn, row by row.

Where no lender of a round rations (no lender-wide capacity: ``Channels.ration`` returns the
requests as they are), a row's turns depend on nothing but the row itself, so a round is
one parallel pass over spans of rows, each span taking every lender's turn in waterfall
order (:func:`sim.lending.funding.lender_kernel._turn_span`, then ``_draw_span``) instead
of a pass per lender with NumPy between. Two things still need all rows:

* **new slots.** A row decided by a lender while it holds no slot waits: it leaves the pass
  at that turn, untouched but for its ``_mark``. The waiting rows get their slots in the
  order the pass per lender hands them out (by turn, then in row order), and a second pass
  over them alone takes their turns from the one they left at (the row's decision is made
  again on its new, blank slot: the same decision, written where ``_record_fresh`` would
  write it).
* **the lenders' month totals.** Each turn's requests are kept per row (``(turns, m)``,
  -1 where the row did not ask) and summed after the passes over the rows that asked, in
  row order: the NumPy sums of the pass per lender, bit for bit.

The results, the books and every total are the same bits as the pass per lender's, whatever
the number of threads (rows are distinct borrowers: each writes its own slot, ``_mark``
and totals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.lending.funding.lender_kernel import SPAN, _draw_span, _turn_span

if TYPE_CHECKING:
    from sim.lending.channels import Channels, CreditInfo

__all__ = ["NOT_ASKED", "fund_round", "round_fits"]

#: A row's request in a turn it did not take (requests are >= 0 or NaN).
NOT_ASKED = -1.0


@kernel()
def _some(values, idx):
    """``values[idx]`` by a plain loop; empty when ``values`` is (a part of ``info`` not given)."""
    if values.shape[0] == 0:
        return values.copy()
    out = np.empty(idx.shape[0], values.dtype)
    for i in range(idx.shape[0]):
        out[i] = values[idx[i]]
    return out


@kernel()
def _round_span(  # noqa: PLR0913 - one span's round, every array given once
    lo, hi, mode, who, pos, start, left, alt, target, fees, held, waits, cs, fterms, iterms,
    prob, powers, fee_rates, u, step, info, book, mark, totals, asked,
):  # fmt: skip
    """Rows ``lo`` to ``hi`` of :func:`_round`: every turn of the round, in order."""
    idx = who[lo:hi]
    rows = (
        _some(info[0], idx), _some(info[1], idx), _some(info[2], idx), _some(info[3], idx),
        _some(info[4], idx), info[5], info[6], info[7], info[8], info[9], _some(info[10], idx),
        _some(info[11], idx), _some(info[12], idx), _some(info[13], idx), _some(info[14], idx),
    )  # fmt: skip
    slots = _some(book[5], idx)
    tables = (book[0], book[1], book[2], book[3], book[4], slots)
    n = hi - lo
    left_s, alt_s, target_s, fees_s = left[lo:hi], alt[lo:hi], target[lo:hi], fees[lo:hi]
    held_s, waits_s = held[lo:hi], waits[lo:hi]
    out = (np.empty(n), np.empty(n, np.bool_), np.empty(n, np.int8), np.zeros(n))
    drawn = (np.empty(n), np.empty(n))
    no_gate = np.zeros(0, np.bool_)
    resuming = start.shape[0] > 0
    for t in range(cs.shape[0]):
        c = cs[t]
        if resuming:  # a waiting row takes its turns from the one it left at
            for j in range(n):
                if start[lo + j] == t:
                    left_s[j] = held_s[j]
        _turn_span(
            0, n, 0, mode, idx, left_s, alt_s, no_gate, c, step, fterms[t], iterms[t], prob[t],
            powers[t], rows + (u[c],), tables, mark, out,
        )  # fmt: skip
        req, active, code = out[0], out[1], out[2]
        for j in range(n):
            if code[j] != 0:  # decided without a slot: leaves the pass, waits for one
                waits_s[j] = t
                held_s[j] = left_s[j]
                left_s[j] = 0.0
                active[j] = False
            if resuming and t < start[lo + j]:
                continue  # the turns before it left were taken in the first pass
            p = lo + j if pos.shape[0] == 0 else pos[lo + j]
            asked[t, p] = req[j] if active[j] else NOT_ASKED
        _draw_span(
            0, n, mode, idx, req, active, left_s, alt_s, target_s, fees_s, c, fee_rates[t],
            tables, mark, totals, drawn,
        )  # fmt: skip


@kernel(parallel=True)
def _round(  # noqa: PLR0913 - a kernel takes plain arrays
    mode, who, pos, start, left, alt, target, fees, held, waits, cs, fterms, iterms, prob,
    powers, fee_rates, u, step, info, book, mark, totals, asked,
):  # fmt: skip
    """Every turn of a households' round over ``who``, spans of :data:`SPAN` rows in parallel.

    ``cs`` ``(T,)`` the lenders in waterfall order and their terms per turn (``fterms``,
    ``iterms``, ``prob``, ``powers``, ``fee_rates``: as ``_ask`` and ``_draw`` take them);
    ``u`` the ``(k, n_borrowers)`` approval uniforms (``(k, 0)``: none); ``info`` the
    lenders' view of every borrower (whole arrays, gathered per span); ``book`` the account
    tables and ``slot_of``. ``left``, ``alt``, ``target``, ``fees`` ``(m,)`` in place.
    A row decided without a slot gets ``waits`` (its turn; -1 otherwise), its ``left`` in
    ``held`` and 0 in ``left``. ``start`` (resuming, else empty): each row's first turn,
    ``left`` taken from ``held`` then. ``asked[t, pos[i]]`` (``pos`` empty: ``i``): row
    ``i``'s request in turn ``t``, :data:`NOT_ASKED` where it did not ask.
    """
    m = who.shape[0]
    for q in prange((m + SPAN - 1) // SPAN):
        _round_span(
            q * SPAN, min(m, (q + 1) * SPAN), mode, who, pos, start, left, alt, target, fees,
            held, waits, cs, fterms, iterms, prob, powers, fee_rates, u, step, info, book, mark,
            totals, asked,
        )  # fmt: skip


@kernel(parallel=True)
def _compact(asked, fee_rates, takes, fees, counts):
    """Each turn's requests, draws and fees compacted in row order (``prange`` over turns).

    ``asked`` ``(T, m)``: row ``t`` becomes the requests of the rows that asked, in its first
    ``counts[t, 0]`` entries; ``takes[t]`` and ``fees[t]`` get the rows that drew (a positive
    request): the draw rounded to the cent and its upfront fee at ``fee_rates[t]``, in
    their first ``counts[t, 1]`` entries (``_draw``'s amounts).
    """
    for t in prange(asked.shape[0]):
        n_asked = n_drew = 0
        for p in range(asked.shape[1]):
            v = asked[t, p]
            if v == NOT_ASKED:
                continue
            asked[t, n_asked] = v
            n_asked += 1
            if v > 0:
                take = round_cny_scalar(v)
                takes[t, n_drew] = take
                fees[t, n_drew] = round_cny_scalar(fee_rates[t] * take)
                n_drew += 1
        counts[t, 0], counts[t, 1] = n_asked, n_drew


def round_fits(channels: Channels, lenders: np.ndarray) -> bool:
    """No lender of ``lenders`` (``(T,)`` channel indices) rations: one pass can take them."""
    return bool(np.all(~np.isfinite(channels.capacity_per_borrower_cny[lenders])))


def _info_arrays(info: CreditInfo) -> tuple:
    """The kernels' ``info`` tuple over every borrower (empty arrays for parts not given)."""

    def given(values: np.ndarray | None, dtype: type) -> np.ndarray:
        return np.zeros(0, dtype) if values is None else np.asarray(values)

    return (
        info.pd_12m, info.missed, info.history_months, info.income_base_cny, info.firm_of,
        info.firm_open, info.firm_age_months, info.firm_revenue_cny, info.firm_receivables_cny,
        info.firm_anchor, given(info.band, np.int8), given(info.lenders_count, np.int16),
        given(info.debt_service_ratio, np.float64), given(info.debt_service_cny, np.float64),
        given(info.income_cny, np.float64),
    )  # fmt: skip


def fund_round(  # noqa: PLR0913 - the round's state, changed in place
    channels: Channels,
    mode: int,
    lenders: np.ndarray,
    who: np.ndarray,
    state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    info: CreditInfo,
    step: int,
    by_channel: np.ndarray,
) -> None:
    """One households' round over every lender of ``lenders`` (:func:`round_fits` holds).

    Args:
        channels: the other lenders (books and month totals updated in place).
        mode: ``NEEDS`` or ``WISH`` (:mod:`sim.lending.funding.lender_kernel`).
        lenders: ``(T,)`` int64 the lenders, in waterfall order.
        who: ``(m,)`` int64 distinct borrower rows, ascending.
        state: ``(left, alt, target, fees)``, ``(m,)`` float64 CNY each, in place.
        terms: the lenders' ``(fterms, iterms, prob, powers)``, stacked ``(T, ...)``.
        info: what lenders see about each borrower.
        step: simulated month.
        by_channel: ``(k,)`` cash lent per lender, added to in place.
    """
    live = np.flatnonzero(state[0] > 0)  # only rows with a gap ask (the others: untouched)
    whole = live.size == who.shape[0]
    if not whole:
        who, state, everything = who[live], tuple(x[live] for x in state), state
    ch, m, turns = channels, who.shape[0], lenders.shape[0]
    fterms, iterms, prob, powers = terms
    fee_rates = np.ascontiguousarray(ch.upfront_fee_rate[lenders], dtype=np.float64)
    u = np.zeros((ch.k, 0), np.float32) if info.u_approval is None else info.u_approval
    arrays = _info_arrays(info)
    acc = ch._acc
    asked = np.empty((turns, m))
    held, waits = np.empty(m), np.full(m, -1, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)

    def run(who_, pos, start, state_, held_, waits_) -> None:
        book = (
            acc["open_step"], acc["rejected_step"], acc["limit_cny"], acc["balance_cny"],
            acc["defaulted"], ch.slot_of,
        )  # fmt: skip
        _round(
            mode, who_, pos, start, *state_, held_, waits_, lenders, fterms, iterms, prob,
            powers, fee_rates, u, int(step), arrays, book, ch._mark, ch.interest_fees_total_cny,
            asked,
        )  # fmt: skip

    run(who, none, none, state, held, waits)
    wait = np.flatnonzero(waits >= 0)
    if wait.size:
        # Slots in the order the pass per lender hands them out: by turn, then by row.
        for t in range(turns):
            fresh = who[wait[waits[wait] == t]]
            if fresh.size:
                ch._slots(fresh)
                ch.touch(fresh)
        sub = tuple(x[wait] for x in state)
        sub[0][:] = 0.0  # held until its turn
        again = np.full(wait.size, -1, dtype=np.int64)
        run(who[wait], wait, waits[wait], sub, held[wait], again)
        if (again >= 0).any():  # pragma: no cover - a row with a slot never waits
            raise RuntimeError("fund_round: a row waited for a slot twice")
        for x, y in zip(state, sub, strict=True):
            x[wait] = y
    if not whole:
        for x, y in zip(everything, state, strict=True):
            x[live] = y
    ch.touch(none)  # the kernels marked the rows they drew on: the cached totals go
    takes, fees = np.empty((turns, m)), np.empty((turns, m))
    counts = np.zeros((turns, 2), dtype=np.int64)
    _compact(asked, fee_rates, takes, fees, counts)
    for t in range(turns):  # the lenders' month totals: NumPy sums, in turn order
        c, (n_asked, n_drew) = int(lenders[t]), counts[t]
        if n_drew:
            by_channel[c] += float(asked[t, :n_asked].sum())
            total = float(takes[t, :n_drew].sum())
            ch.month.draws_cny[c] += total
            ch.month.upfront_fees_cny[c] += float(fees[t, :n_drew].sum())
            ch.lender_cash_cny[c] -= total
            ch.draws_total_cny[c] += total
