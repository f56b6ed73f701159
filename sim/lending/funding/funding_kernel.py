"""Stage ``funding`` compiled: households' and firms' waterfalls, one lender's turn at a time.

:func:`fund_households_compiled` and :func:`fund_firms_compiled` are
:func:`sim.lending.funding.fund_households` and :func:`sim.lending.funding.fund_firms` with
each lender's turn run by the kernels of :mod:`sim.lending.funding.lender_kernel`: lenders
are asked in waterfall order, and a lender's capacity needs the sum of every request to it
before any is granted, so a turn is a compiled pass over the rows asking, the lender's
capacity in NumPy, then a compiled pass posting the draws. The results, the books and every
month total are the same bits as the NumPy pass's, whatever the number of threads.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from sim.lending.funding.lender_kernel import (
    APPROVED,
    FIRM,
    NEEDS,
    WISH,
    _apply,
    _ask,
    _draw,
)
from sim.lending.funding.round_kernel import fund_round, round_fits
from sim.lending.funding.waterfall import (
    FirmFunding,
    HouseholdFunding,
    personal_lines,
    waterfall,
)
from sim.lending.funding.waterfall_rows import WaterfallRows
from sim.units import round_cny

if TYPE_CHECKING:
    from sim.lending.channels import Channels, CreditInfo

__all__ = ["LenderTurn", "WaterfallRows", "fund_firms_compiled", "fund_households_compiled"]

_NO_ROWS = np.zeros(0, dtype=bool)
#: Powers of a lender factor tabulated (lenders owed beyond the first).
_POWERS = 64


def lender_terms(
    channels: Channels, c: int, info: CreditInfo, firm: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lender ``c``'s terms as the kernels take them (:mod:`.lender_kernel`).

    Returns:
        ``(fterms, iterms, prob, powers)``: ``(7,)`` float64, ``(6,)`` int64, the approval
        probability per band ``(n_bands,)`` float64 (the firm table if ``firm``) and the
        lender factor's powers ``(64,)`` float64.
    """
    ch = channels
    bounds = info.band_bounds if info.band is None else None
    prime_max, subprime_min = (np.inf, np.inf) if bounds is None else bounds
    fterms = np.array(
        [
            ch.limit_multiple[c],
            ch.max_limit_cny[c],
            ch.max_pd_12m[c],
            ch.upfront_fee_rate[c],
            ch.max_debt_service_ratio[c],
            prime_max,
            subprime_min,
        ],
        dtype=np.float64,
    )
    dsr_mode = 1 if info.debt_service_ratio is not None else 0
    if not dsr_mode and info.debt_service_cny is not None and info.income_cny is not None:
        dsr_mode = 2
    iterms = np.array(
        [
            ch.limit_basis[c],
            ch.max_dpd[c],
            ch.min_history_months[c],
            ch.reapply_after_months[c],
            ch.approval_lag_months[c],
            dsr_mode,
        ],
        dtype=np.int64,
    )
    table = ch.firm_approval_prob if firm else ch.approval_prob
    prob = np.ascontiguousarray(table[c], dtype=np.float64)
    # factor ** lenders beyond the first, by NumPy's power (as approval_prob_of).
    powers = ch.approval_lender_factor[c] ** np.arange(_POWERS, dtype=np.int64)
    return fterms, iterms, prob, powers


class LenderTurn:
    """Lender ``c``'s turn in a waterfall this month: the kernels and the NumPy between them.

    Args:
        channels: the other lenders (books updated in place).
        c: channel index.
        info: what lenders see about each borrower (``(n_borrowers,)`` arrays).
        step: simulated month.
        firm: for the owned firm's gap (firm approval probabilities).
        rows: the waterfall's rows (:class:`WaterfallRows`).
    """

    def __init__(
        self,
        channels: Channels,
        c: int,
        info: CreditInfo,
        step: int,
        *,
        firm: bool,
        rows: WaterfallRows,
    ) -> None:
        self.ch = channels
        self.c, self.step = int(c), int(step)
        self.fterms, self.iterms, self.prob, self.powers = lender_terms(channels, c, info, firm)
        u = np.zeros(0, np.float32) if info.u_approval is None else info.u_approval[c]
        self.rows = rows
        self.info = (*rows.arrays, u)

    def _book(self) -> tuple:
        """The account tables the kernels read and write (after any growth)."""
        acc = self.ch._acc
        return (
            acc["open_step"],
            acc["rejected_step"],
            acc["limit_cny"],
            acc["balance_cny"],
            acc["defaulted"],
            self.rows.slots,
        )

    def _record_fresh(self, who: np.ndarray, code: np.ndarray, limit_new: np.ndarray) -> None:
        """Hand out slots to the rows decided without one and record their decisions."""
        ch, c = self.ch, self.c
        ch._rows, ch._sums = None, None  # rows were marked in use
        fresh = np.flatnonzero(code)
        if fresh.size == 0:
            return
        rows, yes = who[fresh], code[fresh] == APPROVED
        slots = ch._slots(rows)
        self.rows.slots[fresh] = slots
        ch.touch(rows)
        ch._acc["open_step"][slots[yes], c] = self.step + int(ch.approval_lag_months[c])
        ch._acc["limit_cny"][slots[yes], c] = limit_new[fresh][yes]
        ch._acc["rejected_step"][slots[~yes], c] = self.step

    def ask(
        self, mode: int, who: np.ndarray, left: np.ndarray, alt: np.ndarray, gate: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """What each row asks of the lender and may take (before its capacity).

        Args:
            mode: :data:`NEEDS`, :data:`WISH` or :data:`FIRM`.
            who: ``(m,)`` int64 distinct borrower rows.
            left: ``(m,)`` gaps left, CNY.
            alt: ``(m,)`` a wish's share sought where no facility is held (:data:`WISH`).
            gate: ``(m,)`` bool rows that ask (:data:`FIRM`; empty: every row).

        Returns:
            ``(req, active)``: ``(m,)`` float64 CNY and ``(m,)`` bool rows that asked.
        """
        m = who.shape[0]
        out = (np.empty(m), np.empty(m, bool), np.empty(m, np.int8), np.zeros(m))
        _ask(
            mode, who, left, alt, gate, self.c, self.step, self.fterms, self.iterms,
            self.prob, self.powers, self.info, self._book(), self.ch._mark, out,
        )  # fmt: skip
        self._record_fresh(who, out[2], out[3])
        return out[0], out[1]

    def draw(
        self,
        mode: int,
        who: np.ndarray,
        granted: np.ndarray,
        active: np.ndarray,
        left: np.ndarray,
        alt: np.ndarray,
        target: np.ndarray,
        fees: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw what each row was granted; ``left``, ``alt``, ``target``, ``fees`` in place.

        Returns:
            ``(take, fee)``, ``(m,)`` float64 CNY each (0 where nothing was drawn).
        """
        m = who.shape[0]
        out = (np.empty(m), np.empty(m))
        ch = self.ch
        _draw(
            mode, who, granted, active, left, alt, target, fees, self.c,
            float(ch.upfront_fee_rate[self.c]), self._book(), ch._mark,
            ch.interest_fees_total_cny, out,
        )  # fmt: skip
        ch._rows, ch._sums = None, None
        return out

    def post(self, take_cny: np.ndarray, fee_cny: np.ndarray) -> None:
        """The lender's month totals of the draws ``take_cny`` (rows that drew, row order)."""
        ch, c = self.ch, self.c
        total = float(round_cny(take_cny).sum())
        ch.month.draws_cny[c] += total
        ch.month.upfront_fees_cny[c] += float(fee_cny.sum())
        ch.lender_cash_cny[c] -= total
        ch.draws_total_cny[c] += total

    def apply(self, who: np.ndarray, gate: np.ndarray) -> None:
        """Applications of ``who[gate]`` to the lender (one with an approval lag)."""
        m = who.shape[0]
        out = (np.empty(m), np.empty(m, bool), np.empty(m, np.int8), np.zeros(m))
        _apply(
            who, gate, self.c, self.step, self.fterms, self.iterms, self.prob, self.powers,
            self.info, self._book(), self.ch._mark, out,
        )  # fmt: skip
        self._record_fresh(who, out[2], out[3])


def _turns(  # noqa: PLR0913 - the round's state, changed in place
    channels: Channels,
    mode: int,
    lenders: np.ndarray,
    view: WaterfallRows,
    state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    info: CreditInfo,
    step: int,
    by_channel: np.ndarray,
) -> None:
    """A households' round one lender's turn at a time (a lender rations: see ``fund_round``).

    Arguments as :func:`sim.lending.funding.round_kernel.fund_round`'s (``view``: the rows).
    """
    left, alt, target, fees = state
    m = view.who.shape[0]
    for c in lenders:
        # Only rows with a gap left ask (the others are skipped, untouched): the turn
        # runs over them alone, in row order, and its results are written back.
        live = np.flatnonzero(left > 0)
        if live.size == 0:
            break
        whole = live.size == m
        part = view if whole else view.narrow(live)
        lt, at, tt, ft = state if whole else (x[live] for x in state)
        turn = LenderTurn(channels, int(c), info, step, firm=False, rows=part)
        req, active = turn.ask(mode, part.who, lt, at, _NO_ROWS)
        asked = np.flatnonzero(active)
        requested = req[asked]
        granted_asked = channels.ration(int(c), requested)
        granted = req
        if granted_asked is not requested:  # scaled down to the lender's capacity
            granted = req.copy()
            granted[asked] = granted_asked
        _, fee = turn.draw(mode, part.who, granted, active, lt, at, tt, ft)
        if not whole:
            left[live], alt[live], target[live], fees[live] = lt, at, tt, ft
            view.slots[live] = part.slots
        hit = granted_asked > 0
        if hit.any():
            by_channel[c] += float(granted_asked.sum())
            turn.post(granted_asked[hit], fee[asked][hit])


def fund_households_compiled(
    channels: Channels,
    rows: np.ndarray,
    needs_gap_cny: np.ndarray,
    wants_gap_cny: np.ndarray,
    info: CreditInfo,
    step: int,
) -> HouseholdFunding:
    """:func:`sim.lending.funding.fund_households` by the kernels (same arguments, same bits).

    Arguments, result and the books updated in place as
    :func:`sim.lending.funding.fund_households` (``(m,)`` arrays of the ``m`` rows, CNY).
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    m = rows.shape[0]
    out = HouseholdFunding(rows, np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(channels.k))
    wish = round_cny(wants_gap_cny)
    seek = channels.config.household_wants_seek_share

    @functools.cache
    def view() -> WaterfallRows:
        """The rows gathered, once, if a turn needs them."""
        return WaterfallRows(channels, rows, info)

    for mode, gap, serves, target in (
        (NEEDS, needs_gap_cny, channels.for_household_needs, out.needs_funded_cny),
        (WISH, wish, channels.for_household_wants, out.wants_funded_cny),
    ):
        left = round_cny(gap)
        alt = round_cny(seek * left) if mode == WISH else left.copy()
        if not serves.any() or not (left > 0).any():
            continue
        lenders = np.flatnonzero(serves)
        if round_fits(channels, lenders):  # no lender rations: every turn in one pass
            terms = [lender_terms(channels, int(c), info, firm=False) for c in lenders]
            fund_round(
                channels, mode, lenders, rows, (left, alt, target, out.fees_cny),
                tuple(np.stack(x) for x in zip(*terms, strict=True)), info, step,
                out.by_channel,
            )  # fmt: skip
            if view.cache_info().currsize:  # gathered already: the slots handed out since
                view().slots = channels.slot_of[rows]
        else:
            state = (left, alt, target, out.fees_cny)
            _turns(channels, mode, lenders, view(), state, info, step, out.by_channel)
        if mode == NEEDS:
            lagged = np.flatnonzero(serves & (channels.approval_lag_months > 0))
            if lagged.size:
                short = left > 0
                for c in lagged:
                    LenderTurn(channels, int(c), info, step, firm=False, rows=view()).apply(
                        rows, short
                    )
    out.needs_funded_cny = round_cny(out.needs_funded_cny)
    out.wants_funded_cny = round_cny(out.wants_funded_cny)
    out.fees_cny = round_cny(out.fees_cny)
    return out


def fund_firms_compiled(
    gap_cny: np.ndarray,
    *,
    owners: np.ndarray,
    owner_spare_cny: np.ndarray,
    platform_available_cny: np.ndarray,
    channels: Channels,
    info: CreditInfo,
    step: int,
    personal_ok: np.ndarray | None = None,
    platform_earmarked_cny: np.ndarray | None = None,
) -> FirmFunding:
    """:func:`sim.lending.funding.fund_firms` by the kernels (same arguments, same bits).

    Arguments, result and the books updated in place as :func:`sim.lending.funding.fund_firms`
    (``(n_firms,)`` arrays in CNY, one row per firm).
    """
    n = gap_cny.shape[0]
    personal = np.ones(n, dtype=bool) if personal_ok is None else np.asarray(personal_ok, bool)
    is_personal = personal_lines(channels)
    by_step = {
        name: np.zeros(n)
        for name in channels.config.order
        if name in ("own_cash", "platform") or name in channels.names
    }
    rows = np.flatnonzero(gap_cny > 0)
    who = np.ascontiguousarray(owners[rows], dtype=np.int64)
    left = round_cny(gap_cny[rows])
    fees = np.zeros(rows.size)
    own_short = np.zeros(rows.size, dtype=bool)
    view = WaterfallRows(channels, who, info)
    for name in by_step:
        if rows.size == 0:
            break
        if name in ("own_cash", "platform"):
            if name == "own_cash":
                avail = owner_spare_cny[rows]
            else:
                tranche = 0.0 if platform_earmarked_cny is None else platform_earmarked_cny[rows]
                whole = platform_available_cny[rows]
                avail = np.where(personal[rows], whole, np.minimum(whole, tranche))
            (take,), left = waterfall(left, [avail])
            by_step[name][rows] = take
            if name == "own_cash":
                own_short = left > 0
            continue
        c = channels.index(name)
        if not channels.for_firms[c]:
            continue
        turn = LenderTurn(channels, c, info, step, firm=True, rows=view)
        gate = personal[rows] if is_personal[c] else _NO_ROWS
        req, _ = turn.ask(FIRM, who, left, left, gate)
        granted = channels.ration(c, req)
        take, fee = turn.draw(FIRM, who, granted, _NO_ROWS, left, left, left, fees)
        hit = take > 0
        if hit.any():
            turn.post(take[hit], fee[hit])
        by_step[name][rows] = take
    unmet = np.zeros(n)
    unmet[rows] = left
    fees_all = np.zeros(n)
    fees_all[rows] = fees
    for c in np.flatnonzero(channels.for_firms & (channels.approval_lag_months > 0)):
        LenderTurn(channels, int(c), info, step, firm=True, rows=view).apply(who, own_short)
    return FirmFunding(by_step=by_step, fees_cny=round_cny(fees_all), unmet_cny=round_cny(unmet))
