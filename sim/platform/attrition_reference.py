"""Attrition closures one account at a time: the reference of :mod:`attrition_kernel`.

Plain Python over the rows, as the rule reads (see
:func:`sim.platform.underwriting.close_for_attrition`); the tests' oracle for the
compiled pass and the peer baseline of the benchmark.
"""

from __future__ import annotations

import numpy as np


def attrition_rows_reference(
    s, u_voluntary: np.ndarray, u_inactivity: np.ndarray, book
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(decide, voluntary, dormant)`` rows of ``s``, as :func:`attrition_rows` returns them.

    Args:
        s: a ``BorrowerState`` (read only).
        u_voluntary: the month's ``(n,)`` uniforms of the borrowers' decisions.
        u_inactivity: those of the platform's dormant-line closures.
        book: the ``BookConfig``.

    Returns:
        Three ascending int64 row arrays.
    """
    decide, voluntary, dormant = [], [], []
    for i in range(s.n):
        line_open = not s.defaulted[i] and not s.closed[i]
        if not line_open:
            continue
        closing = bool(s.closing[i])
        if not closing and s.missed[i] == 0 and u_voluntary[i] < book.voluntary_close_prob_monthly:
            decide.append(i)
            closing = True
        paid_down = s.balance_cny[i] <= 0.0
        if closing and paid_down:
            voluntary.append(i)
        elif (
            not closing
            and paid_down
            and book.inactivity_close_months > 0
            and s.months_since_draw[i] >= book.inactivity_close_months
            and u_inactivity[i] < book.inactivity_close_prob_monthly
        ):
            dormant.append(i)
    return tuple(np.array(rows, dtype=np.int64) for rows in (decide, voluntary, dormant))
