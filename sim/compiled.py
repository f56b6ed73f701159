"""Compiled kernels: the one place that configures numba for the monthly stages.

The hot stages run as fused loops over agent rows compiled with numba. Every kernel is
compiled through :func:`kernel` (``njit`` with ``cache=True``: the machine code is kept
in ``__pycache__`` and reused by later processes; ``parallel=True`` only where rows are
independent, so ``prange`` spreads them over numba's worker threads). Random draws stay
in NumPy generators outside the kernels, so the streams and common random numbers are
the same as those of the NumPy stages.

Determinism: a kernel writes row ``i``'s results only from row ``i``'s inputs; sums over
rows (if any) are taken per fixed block of rows and the block sums added in block order,
so results do not depend on the number of threads (:func:`set_threads`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

__all__ = ["kernel", "round_cny_scalar", "set_threads", "threads"]


def kernel(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator compiling a stage kernel: ``numba.njit(cache=True, parallel=parallel)``.

    Args:
        parallel: rows are independent and the kernel uses ``numba.prange`` over them.

    Returns:
        The decorator.
    """
    return numba.njit(cache=True, parallel=parallel, nogil=True, error_model="numpy")


@numba.njit(cache=True, inline="always")
def round_cny_scalar(x: float) -> float:
    """One amount rounded to 0.01 CNY exactly as :func:`sim.units.round_cny` rounds it.

    NumPy rounds ``x`` to 2 decimals as ``rint(x * 100) / 100`` (half to even); a result
    within half a cent of zero is 0.0, never -0.0.
    """
    return np.rint(x * 100.0) / 100.0 + 0.0


def set_threads(n: int) -> None:
    """Use ``n`` worker threads in the parallel kernels (1 .. the machine's cores).

    Raises:
        ValueError: ``n`` outside ``[1, numba.config.NUMBA_NUM_THREADS]``.
    """
    top = int(numba.config.NUMBA_NUM_THREADS)
    if not 1 <= n <= top:
        raise ValueError(f"threads must be in [1, {top}], got {n}")
    numba.set_num_threads(n)


def threads() -> int:
    """Worker threads the parallel kernels use now."""
    return int(numba.get_num_threads())
