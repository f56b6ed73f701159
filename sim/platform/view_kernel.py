"""Compiled per-borrower features of the platform's portfolio view, in one pass.

:meth:`sim.platform.agent.Platform.portfolio_view` hands the policy, besides the state
itself, a few features derived from it: ``utilisation`` (:func:`sim.units.utilisation`,
0 on a line without a limit), the debt-service ratio, the draws and early repayments of
the last months (ring totals) and whether the line is open and not closing. The NumPy
path (:func:`view_rows_numpy`) builds them in some twelve whole-book passes;
:func:`view_kernel` in one (``prange``: rows are independent), with the same operations,
so every value is the NumPy path's to the bit.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import implementation, kernel
from sim.units import utilisation

#: The features, in the order of :func:`view_kernel`'s outputs.
NAMES = ("utilisation", "debt_service_ratio", "draws_3m", "early_repayments_3m", "is_open")


def ring_total(ring: np.ndarray, dtype: type = np.int16) -> np.ndarray:
    """``(n,)`` total over the months of a ``(months, n)`` ring buffer (counts or flags).

    Counts are small, so summing in ``dtype`` row by row (no int64 intermediate) is exact.
    """
    total = ring[0].astype(dtype)
    for month in ring[1:]:
        total += month
    return total


@kernel(parallel=True)
def view_kernel(
    balance, limit, debt_service, income, draws_recent, early_recent, defaulted, closed,
    closing, util_out, dsr_out, draws_out, early_out, open_out,
):  # fmt: skip
    """Row ``i``'s features from row ``i`` (``(n,)`` arrays; rings ``(months, n)`` int16).

    ``util_out``: ``balance / limit`` (0 where ``limit <= 0``, as
    :func:`sim.units.utilisation` computes it); ``dsr_out``: ``debt_service /
    max(income, 1)``; ``draws_out``, ``early_out``: int16 ring totals; ``open_out``:
    neither defaulted, closed nor closing.
    """
    for i in numba.prange(limit.shape[0]):
        lim = limit[i]
        no_limit = 1.0 if lim <= 0 else 0.0
        util_out[i] = (balance[i] * (1.0 - no_limit)) / (lim + no_limit) + 0.0 * no_limit
        inc = income[i]
        dsr_out[i] = debt_service[i] / (inc if (inc >= 1.0) | (inc != inc) else 1.0)
        total = np.int16(0)
        for m in range(draws_recent.shape[0]):
            total = np.int16(total + draws_recent[m, i])
        draws_out[i] = total
        total = np.int16(0)
        for m in range(early_recent.shape[0]):
            total = np.int16(total + early_recent[m, i])
        early_out[i] = total
        open_out[i] = not (defaulted[i] | closed[i] | closing[i])  # no short-circuit: vectorises


def view_rows_numpy(s) -> dict[str, np.ndarray]:  # noqa: ANN001
    """The NumPy path: :data:`NAMES` -> ``(n,)`` arrays of ``s`` (a ``BorrowerState``)."""
    return {
        "utilisation": utilisation(s.balance_cny, s.limit_cny, zero_limit=0.0),
        "debt_service_ratio": s.debt_service_cny / np.maximum(s.income_cny, 1.0),
        "draws_3m": ring_total(s.draws_recent),
        "early_repayments_3m": ring_total(s.early_recent),
        "is_open": s.is_open & ~s.closing,
    }


def view_rows(s) -> dict[str, np.ndarray]:  # noqa: ANN001
    """:data:`NAMES` -> new ``(n,)`` arrays (float64, float64, int16, int16, bool) of ``s``.

    As :func:`sim.compiled.implementation` says: the kernel, the NumPy path or the
    per-account reference.
    """
    how = implementation()
    if how == "numpy":
        return view_rows_numpy(s)
    if how == "reference":
        from sim.platform.view_reference import view_rows_reference

        return view_rows_reference(s)
    n = s.n
    out = (np.empty(n), np.empty(n), np.empty(n, np.int16), np.empty(n, np.int16))
    is_open = np.empty(n, dtype=np.bool_)
    view_kernel(
        s.balance_cny, s.limit_cny, s.debt_service_cny, s.income_cny, s.draws_recent,
        s.early_recent, s.defaulted, s.closed, s.closing, *out, is_open,
    )  # fmt: skip
    return dict(zip(NAMES, (*out, is_open), strict=True))
