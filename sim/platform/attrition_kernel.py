"""Compiled attrition closures: the masks of :func:`close_for_attrition` in one pass.

:func:`sim.platform.underwriting.close_for_attrition` decides, from the month's two
``arrivals`` uniforms per row, which open lines their borrowers ask to close and which
dormant lines the platform closes. The NumPy path builds some twenty whole-book masks;
:func:`attrition_kernel` reads each row once and returns the few rows concerned, in
ascending order, so the caller applies the same updates and records the same limit events
in the same order. Rows are visited in order in one thread (the lists are row-ordered,
and the pass is bounded by reading the arrays, not by arithmetic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation, kernel
from sim.platform.policies.reasons import ReasonCode
from sim.world.borrowers import ClosureReason

if TYPE_CHECKING:
    from sim.month import Month
    from sim.world.borrowers import BorrowerState


@kernel()
def attrition_kernel(
    defaulted, closed, closing, missed, balance, months_since_draw,
    u_voluntary, u_inactivity, voluntary_prob, inactivity_months, inactivity_prob,
    decide_out, voluntary_out, dormant_out,
):  # fmt: skip
    """Rows deciding to close, closing paid-down lines and dormant lines, ``(n,)`` each in.

    Row ``i`` (open: not ``defaulted`` nor ``closed``) decides to close when it is not
    ``closing``, has ``missed == 0`` and ``u_voluntary[i] < voluntary_prob``; it is a
    paid-down voluntary closure when it is ``closing`` (before or by that decision) with
    ``balance <= 0``; it is dormant when not closing, ``balance <= 0``,
    ``inactivity_months > 0``, ``months_since_draw >= inactivity_months`` and
    ``u_inactivity[i] < inactivity_prob``. Reads only; the rows go to the first entries
    of ``decide_out``, ``voluntary_out``, ``dormant_out`` (int64, ``(n,)`` each, in
    ascending order).

    Returns:
        ``(decided, voluntary, dormant)``: how many rows each list holds.
    """
    n_decide = 0
    n_voluntary = 0
    n_dormant = 0
    inactivity_on = inactivity_months > 0
    # Branch-free: each row is written at the end of every list and counted only if it
    # belongs there (the outcomes are random, so branches would mostly mispredict).
    for i in range(defaulted.shape[0]):
        line_open = not (defaulted[i] | closed[i])
        decide = line_open & (not closing[i]) & (missed[i] == 0) & (u_voluntary[i] < voluntary_prob)
        is_closing = closing[i] | decide
        paid_down = balance[i] <= 0.0
        voluntary = line_open & is_closing & paid_down
        dormant = (
            line_open
            & (not is_closing)
            & paid_down
            & inactivity_on
            & (months_since_draw[i] >= inactivity_months)
            & (u_inactivity[i] < inactivity_prob)
        )
        decide_out[n_decide] = i
        n_decide += decide
        voluntary_out[n_voluntary] = i
        n_voluntary += voluntary
        dormant_out[n_dormant] = i
        n_dormant += dormant
    return n_decide, n_voluntary, n_dormant


def attrition_rows(
    s, u_voluntary: np.ndarray, u_inactivity: np.ndarray, book
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows :func:`attrition_kernel` finds in ``s`` (a ``BorrowerState``; reads only).

    Args:
        s: borrower arrays.
        u_voluntary: the month's ``(n,)`` float64 uniforms of the borrowers' decisions.
        u_inactivity: those of the platform's dormant-line closures.
        book: the ``BookConfig`` (closure probabilities and the inactivity months).

    Returns:
        ``(decide, voluntary, dormant)`` int64 row arrays, ascending.
    """
    n = s.n
    decide, voluntary, dormant = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    k = attrition_kernel(
        s.defaulted, s.closed, s.closing, s.missed, s.balance_cny, s.months_since_draw,
        u_voluntary, u_inactivity, float(book.voluntary_close_prob_monthly),
        int(book.inactivity_close_months), float(book.inactivity_close_prob_monthly),
        decide, voluntary, dormant,
    )  # fmt: skip
    return decide[: k[0]].copy(), voluntary[: k[1]].copy(), dormant[: k[2]].copy()


def attrition_dispatch(s: BorrowerState, u_voluntary, u_inactivity, book) -> tuple:
    """``(decide, voluntary, dormant)`` rows, compiled or by the reference (the switch)."""
    if implementation() == "reference":
        from sim.platform.attrition_reference import attrition_rows_reference

        return attrition_rows_reference(s, u_voluntary, u_inactivity, book)
    return attrition_rows(s, u_voluntary, u_inactivity, book)


def close_rows(s: BorrowerState, month: Month, rows: tuple) -> tuple[int, int, int]:
    """Apply :func:`close_for_attrition`'s updates and events from its three row lists.

    Returns:
        ``(requests, voluntary, inactivity)`` as :func:`close_for_attrition` does.
    """
    decide, voluntary, dormant = rows
    for hit, code in (
        (decide, ReasonCode.CLOSED_VOLUNTARY),
        (dormant, ReasonCode.CLOSED_INACTIVITY),
    ):
        hit = hit[s.limit_cny[hit] > 0]  # one event per line that had a limit
        if hit.size:
            old = s.limit_cny[hit]
            s.limit_cny[hit] = 0.0
            month.add_limit_events(hit, old, np.zeros(hit.size), np.full(hit.size, int(code)))
        if code == ReasonCode.CLOSED_VOLUNTARY:
            s.closing[decide] = True
    for closed, reason in (
        (voluntary, ClosureReason.VOLUNTARY),
        (dormant, ClosureReason.INACTIVITY),
    ):
        s.closed[closed] = True
        s.closing[closed] = False
        s.closed_step[closed] = month.step
        s.closure_reason[closed] = int(reason)
        s.min_due_cny[closed] = 0.0
    return int(decide.size), int(voluntary.size), int(dormant.size)
