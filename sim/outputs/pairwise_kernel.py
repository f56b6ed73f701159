"""NumPy's pairwise summation, as blocks and a tree, for compiled reductions over rows.

NumPy sums a float64 array pairwise: runs of at most :data:`PAIRWISE_BLOCK` values are
summed in 8 interleaved lanes (fewer than 8 values: one after the other), longer runs are
split in two at a multiple of 8 near the middle and the halves' sums added; the reduction
starts from 0.0. A kernel that takes each block's sums (in parallel: blocks are
independent) and adds them with :func:`combine_leaves` gets ``array.sum()`` to the bit,
whatever the number of threads (:mod:`sim.outputs.collect_kernel`).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["PAIRWISE_BLOCK", "combine_leaves", "max0", "pairwise_leaves"]

#: NumPy's pairwise-sum block (``PW_BLOCKSIZE``): blocks of at most this many values.
PAIRWISE_BLOCK = 128


@numba.njit(cache=True)
def _split(n: int) -> int:
    """NumPy's split of a pairwise sum of ``n > 128`` values: a multiple of 8 near n / 2."""
    n2 = n // 2
    return n2 - n2 % 8


#: Depth of the explicit stacks below (the split tree of n values is ~log2(n / 64) deep).
_STACK = 256


@numba.njit(cache=True)
def pairwise_leaves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy's pairwise-sum blocks of ``n`` values, in order: ``(starts, sizes)`` int64.

    The split tree is walked with an explicit stack (numba cannot cache recursion).
    """
    most = 1 + 2 * (n // 64)  # blocks of a split run hold >= 64 values
    starts = np.empty(most, dtype=np.int64)
    sizes = np.empty(most, dtype=np.int64)
    stack_lo = np.empty(_STACK, dtype=np.int64)
    stack_n = np.empty(_STACK, dtype=np.int64)
    count = 0
    top = 0
    if n > 0:
        stack_lo[0], stack_n[0] = 0, n
        top = 1
    while top > 0:
        top -= 1
        lo, m = stack_lo[top], stack_n[top]
        if m <= PAIRWISE_BLOCK:
            starts[count], sizes[count] = lo, m
            count += 1
            continue
        m2 = _split(m)
        # The right half is pushed first so that the left one is walked first.
        stack_lo[top], stack_n[top] = lo + m2, m - m2
        stack_lo[top + 1], stack_n[top + 1] = lo, m2
        top += 2
    return starts[:count], sizes[:count]


@numba.njit(cache=True)
def combine_leaves(leaf: np.ndarray, n: int) -> np.ndarray:
    """Totals ``(q,)`` of block sums ``leaf`` ``(blocks, q)`` added in NumPy's tree order.

    Each split adds its left half's sum and its right half's; the tree is walked in
    post-order with explicit stacks. ``0.0 +`` the tree's sum, as NumPy's reduction
    starts from 0.0 (so -0.0 sums to 0.0).
    """
    out = np.zeros(leaf.shape[1])
    if n == 0:
        return out
    stack_n = np.empty(_STACK, dtype=np.int64)
    stack_done = np.zeros(_STACK, dtype=np.bool_)
    values = np.empty((_STACK, leaf.shape[1]))
    top = 1
    stack_n[0], stack_done[0] = n, False
    held = 0  # values on the value stack
    at = 0  # next block
    while top > 0:
        top -= 1
        m, done = stack_n[top], stack_done[top]
        if m <= PAIRWISE_BLOCK:
            values[held] = leaf[at]
            held += 1
            at += 1
        elif done:
            values[held - 2] = values[held - 2] + values[held - 1]
            held -= 1
        else:
            m2 = _split(m)
            stack_n[top], stack_done[top] = m, True
            stack_n[top + 1], stack_done[top + 1] = m - m2, False
            stack_n[top + 2], stack_done[top + 2] = m2, False
            top += 3
    for q in range(leaf.shape[1]):
        out[q] = 0.0 + values[0, q]
    return out


@numba.njit(cache=True, inline="always")
def max0(x: float) -> float:
    """``np.maximum(x, 0.0)`` (NaN propagates; the first argument wins a tie)."""
    return x if (x >= 0.0 or x != x) else 0.0
