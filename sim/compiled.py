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

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np

__all__ = [
    "IMPLEMENTATIONS",
    "implementation",
    "kernel",
    "kernels_in_two_threads",
    "round_cny_scalar",
    "set_implementation",
    "set_threads",
    "threads",
    "using",
]

#: How a compiled stage runs: its numba kernels (the default), its NumPy array passes
#: (while they are kept, for side-by-side benchmarks) or its per-agent reference (plain
#: Python, one agent at a time: the oracle of the tests and the peer baseline).
IMPLEMENTATIONS: tuple[str, ...] = ("compiled", "numpy", "reference")
_implementation = "compiled"


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

    Args:
        n: a Python ``int`` (not a ``bool``, a string or a float).

    Raises:
        TypeError: ``n`` is not an ``int``, or is a ``bool``.
        ValueError: ``n`` outside ``[1, numba.config.NUMBA_NUM_THREADS]``.
    """
    top = int(numba.config.NUMBA_NUM_THREADS)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"threads must be a whole number (int) in [1, {top}], got {n!r}")
    if not 1 <= n <= top:
        raise ValueError(f"threads must be in [1, {top}], got {n}")
    numba.set_num_threads(n)


def threads() -> int:
    """Worker threads the parallel kernels use now."""
    return int(numba.get_num_threads())


#: numba's threading layers that allow parallel kernels launched from two threads at once
#: (its ``workqueue`` layer aborts the process then).
THREADSAFE_LAYERS: tuple[str, ...] = ("omp", "tbb")


def kernels_in_two_threads() -> bool:
    """Whether two threads may run parallel kernels at the same time.

    Source: numba's documentation, "The Threading Layers" (``omp`` and ``tbb`` are
    threadsafe; ``workqueue`` is not and terminates the process on concurrent launches).

    Returns:
        True when numba's threading layer, chosen at the first parallel kernel, is one of
        :data:`THREADSAFE_LAYERS`; False under any other layer and before any parallel
        kernel has run.
    """
    try:
        return numba.threading_layer() in THREADSAFE_LAYERS
    except ValueError:  # no parallel kernel has run: no layer chosen yet
        return False


def set_implementation(name: str) -> None:
    """Run the compiled stages as ``name`` (one of :data:`IMPLEMENTATIONS`), process-wide.

    Raises:
        ValueError: ``name`` is not one of :data:`IMPLEMENTATIONS`.
    """
    global _implementation
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {list(IMPLEMENTATIONS)}, got {name!r}")
    _implementation = name


def implementation() -> str:
    """How the compiled stages run now (one of :data:`IMPLEMENTATIONS`)."""
    return _implementation


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """Run the compiled stages as ``name`` inside the ``with`` block, then restore."""
    before = _implementation
    set_implementation(name)
    try:
        yield
    finally:
        set_implementation(before)
