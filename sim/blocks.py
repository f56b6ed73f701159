"""Row blocks: the row-wise monthly work runs over consecutive blocks of rows.

A block's few dozen work arrays stay in the CPU cache instead of streaming through
memory, so the household month, servicing, re-scoring and the ``behaviour_rules`` review
run block by block. The work on a block reads and writes only its own rows, so results
do not depend on the block size.
"""

from __future__ import annotations

from collections.abc import Callable

#: Rows per block: small enough that a block's work arrays stay in the CPU cache, large
#: enough that NumPy's per-call cost is small.
BLOCK_ROWS = 65_536


def in_blocks(n: int, work: Callable[[slice], None], *, block_rows: int | None = None) -> None:
    """Run ``work(rows)`` over consecutive row blocks ``rows = slice(lo, hi)`` of ``range(n)``.

    Args:
        n: number of rows (>= 0).
        work: the work on one block; reads and writes only its block's rows.
        block_rows: rows per block (default :data:`BLOCK_ROWS`, read at call time).

    Raises:
        ValueError: if ``block_rows < 1``.
    """
    size = BLOCK_ROWS if block_rows is None else block_rows
    if size < 1:
        raise ValueError(f"in_blocks: block_rows must be >= 1, got {size}")
    for lo in range(0, n, size):
        work(slice(lo, min(lo + size, n)))
