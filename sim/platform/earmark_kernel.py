"""Compiled earmark update of the limit review: check, headroom, clip and round in one pass.

:meth:`sim.platform.agent.Platform._apply_earmark` keeps each line's earmarked (firm-only)
part of the limit within ``[0, limit - balance]`` (0 on a line not open or closing) and
rounds it to the cent. The NumPy path (:func:`earmark_numpy`) takes five whole-book
passes and temporaries; :func:`earmark_kernel` one pass over the rows (``prange``: rows
are independent; the check is one flag per fixed block of rows), with the same operations,
so the earmarks are the NumPy path's to the bit.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import implementation, kernel, round_cny_scalar
from sim.units import round_cny

#: Rows per block of the earmark check (one flag per block).
CHECK_ROWS = 4096


@kernel(parallel=True)
def earmark_kernel(earmark, limit, balance, defaulted, closed, closing, out, bad):  # noqa: ANN001
    """``out[i]``: ``earmark[i]`` within row ``i``'s headroom, to the cent (``(n,)`` each).

    The headroom is ``max(limit - balance, 0)`` on a line open and not closing, else 0
    (``x 0.0``, as the NumPy path multiplies by the mask); a NaN in the earmark or the
    headroom gives NaN, as ``np.minimum`` does. ``bad[k]`` is 1 if rows ``k * CHECK_ROWS ..``
    hold an earmark that is negative, NaN or infinite.
    """
    n = limit.shape[0]
    # An unsigned row index (no negative-index wraparound at each read) and selects, not
    # branches (flags or-ed without short-circuits): the loop vectorises.
    for k in numba.prange((n + CHECK_ROWS - 1) // CHECK_ROWS):
        flag = False
        lo = k * CHECK_ROWS
        for t in range(min(CHECK_ROWS, n - lo)):
            i = np.uint64(lo + t)
            e = earmark[i]
            flag |= not (e >= 0.0 and e < np.inf)
            h = limit[i] - balance[i]
            h = 0.0 if h < 0.0 else h
            h = h * (0.0 if defaulted[i] | closed[i] | closing[i] else 1.0)
            m = np.nan if (e != e) | (h != h) else (e if e < h else h)  # np.minimum
            out[i] = round_cny_scalar(m)
        bad[k] = flag


def earmark_numpy(s, earmark: np.ndarray) -> np.ndarray | None:  # noqa: ANN001
    """The NumPy path: the new earmarks, or None if ``earmark`` fails the check."""
    if earmark.size and not (earmark.min() >= 0.0 and earmark.max() < np.inf):
        return None
    headroom = np.maximum(s.limit_cny - s.balance_cny, 0.0) * (s.is_open & ~s.closing)
    return round_cny(np.minimum(earmark, headroom))


def earmark_within_headroom(s, earmark: np.ndarray) -> np.ndarray | None:  # noqa: ANN001
    """New ``(n,)`` earmarks (CNY) of ``s`` (a ``BorrowerState``) from ``earmark`` (float64).

    As :func:`sim.compiled.implementation` says: the kernel, the NumPy path or the
    per-account reference.

    Returns:
        The earmarks, or None if an earmark is negative, NaN or infinite.
    """
    how = implementation()
    if how == "numpy":
        return earmark_numpy(s, earmark)
    if how == "reference":
        from sim.platform.earmark_reference import earmark_reference

        return earmark_reference(s, earmark)
    n = s.n
    out = np.empty(n)
    bad = np.zeros((n + CHECK_ROWS - 1) // CHECK_ROWS, dtype=np.int8)
    earmark_kernel(earmark, s.limit_cny, s.balance_cny, s.defaulted, s.closed, s.closing, out, bad)
    return None if bad.any() else out
