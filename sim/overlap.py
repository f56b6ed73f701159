"""Independent work on a second core: next month's shocks, and stage parts that share no data.

Three kinds of work in the monthly cycle do not depend on each other and can overlap:

* the world's shocks never depend on model state (common random numbers), so month
  ``t+1``'s draws are drawn on a worker thread while the main thread simulates month
  ``t`` (:class:`Prefetcher`);
* some stages have parts that read and write disjoint arrays (e.g. the platform's lines
  and the other lenders' books are serviced independently), so one part runs on a worker
  thread while the other runs on the main thread (:class:`Background`);
* row-wise work (the household month, re-scoring, the ``behaviour_rules`` review) is cut
  into row blocks that two threads claim in turn (:func:`in_blocks`). Blocks also pay on
  one thread: a block's work arrays stay in the CPU cache instead of streaming through
  memory, so servicing runs in blocks too.

At set-up, the Mesa agent objects (pure Python) are built on a worker thread while the
main thread builds the state arrays (:class:`sim.agents.rows.RowAgents`, with a short GIL
switch interval meanwhile so the array work is not kept waiting), and the first month's
draws are produced beside the rest: set-up at 1 M borrowers takes 2.5-3.8 s instead of
4.2-5.4 s.

NumPy releases the GIL inside its array loops and generators, so the threads really run
at once. On a 1 M-borrower book with 100 k firms over 120 months
(``python -m experiments.bench --sizes 1000000``, against the same with ``--serial``),
the second core takes a quarter to a third off the total: 59.9 vs 94.0 s and 74.6 vs
100.2 s in back-to-back pairs on a shared 2-core machine whose speed varied by 30 % within
the hour. The gain is limited by memory bandwidth, which the two cores share, and by the
stages whose work depends on the one before (funding, settlement). At times more threads
than cores are busy (e.g. in the household stage: the firms' month, a second household
block thread and next month's draws); the operating system shares the cores among them.
Small books do not gain (see :data:`MIN_BORROWERS`).

Results are identical with and without overlap (tested): each array element is written by
one thread only and each generator is used by one thread at a time, always in the same
order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Rows per block of the row-wise monthly work (household month, servicing, scoring):
#: small enough that a block's few dozen work arrays stay in the CPU cache instead of
#: streaming through memory, large enough that NumPy's per-call cost is small.
BLOCK_ROWS = 65_536

#: Smallest book for which overlapping pays: below it, starting and joining a few threads
#: a month costs more than the work they take off the main thread (on 2 cores: 20 k
#: borrowers run ~30 % slower with overlap, 100 k break even, 250 k run ~15 % faster).
MIN_BORROWERS = 200_000


def worth_overlapping(n_borrowers: int) -> bool:
    """Whether a book of ``n_borrowers`` should use a second core (and one is available)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and n_borrowers >= MIN_BORROWERS


def in_blocks(
    n: int, work: Callable[[slice], None], *, threads: int = 1, block_rows: int | None = None
) -> None:
    """Run ``work(rows)`` over consecutive row blocks ``rows = slice(lo, hi)`` of ``range(n)``.

    ``work`` must read and write only its block's rows of any shared array, so the result
    does not depend on the block size nor on the number of threads. Blocks are claimed in
    order by ``threads`` threads (the caller's among them).

    Args:
        n: number of rows (>= 0).
        work: the work on one block.
        threads: threads working through the blocks (>= 1).
        block_rows: rows per block (default :data:`BLOCK_ROWS`, read at call time).

    Raises:
        ValueError: if ``threads < 1`` or ``block_rows < 1``.
        Whatever ``work`` raised first: no block is started after a failure, and the
            blocks already running finish before the error is re-raised.
    """
    size = BLOCK_ROWS if block_rows is None else block_rows
    if threads < 1:
        raise ValueError(f"in_blocks: threads must be >= 1, got {threads}")
    if size < 1:
        raise ValueError(f"in_blocks: block_rows must be >= 1, got {size}")
    starts = iter(range(0, n, size))
    claim = threading.Lock()
    errors: list[BaseException] = []  # the first failure stops every thread's next claim

    def work_through_blocks() -> None:
        while True:
            with claim:
                lo = None if errors else next(starts, None)
            if lo is None:
                return
            try:
                work(slice(lo, min(lo + size, n)))
            except BaseException as exc:
                with claim:
                    errors.append(exc)
                return

    helpers = [Background(work_through_blocks) for _ in range(min(threads, -(-n // size)) - 1)]
    work_through_blocks()
    for helper in helpers:
        helper.wait()
    if errors:
        raise errors[0]


class Background(Generic[T]):
    """``fn(*args)`` started on a worker thread; :meth:`result` waits for it.

    Args:
        fn: the work; it must not touch data the caller uses until :meth:`result`.
        *args: its arguments.
        enabled: if False, ``fn`` runs at once on the calling thread.

    Raises:
        Whatever ``fn`` raised, from :meth:`result`.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, enabled: bool = True) -> None:
        self._outcome: tuple[T | None, BaseException | None] | None = None
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(
                target=self._run, args=(fn, args), name="limitlab-overlap", daemon=True
            )
            self._thread.start()
        else:
            self._run(fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        try:
            self._outcome = (fn(*args), None)
        except BaseException as exc:  # re-raised on the caller's thread by result()
            self._outcome = (None, exc)

    def wait(self) -> None:
        """Wait for the work to finish (its outcome is kept for :meth:`result`)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def result(self) -> T:
        """Wait for the work; its return value."""
        self.wait()
        assert self._outcome is not None
        value, error = self._outcome
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def __getstate__(self) -> dict[str, object]:
        # A thread cannot be pickled or copied: finish the work and keep its outcome.
        self.wait()
        return dict(self.__dict__)


class Prefetcher(Generic[T]):
    """Produces values of ``produce`` ahead of need, in the :class:`Background`.

    :meth:`produce_ahead` starts producing the next value on a worker thread;
    :meth:`take` returns it (waiting if needed), or produces it at once if none was started.
    ``produce`` must be deterministic in its call order (e.g. draws from generators that
    nothing else uses), since the value taken n-th is the n-th value produced.

    Args:
        produce: the producer, called with no arguments.
        enabled: if False, :meth:`produce_ahead` does nothing (no thread).

    Raises:
        Whatever ``produce`` raised, from the :meth:`take` that would have returned it.
    """

    def __init__(self, produce: Callable[[], T], *, enabled: bool = True) -> None:
        self._produce = produce
        self._enabled = enabled
        self._next: Background[T] | None = None

    def take(self) -> T:
        """The next value: the one produced ahead if any, else produced now."""
        pending, self._next = self._next, None
        return self._produce() if pending is None else pending.result()

    def produce_ahead(self) -> None:
        """Start producing the next value on a worker thread (once; not if disabled)."""
        if self._enabled and self._next is None:
            self._next = Background(self._produce)

    def close(self) -> None:
        """Wait for a value being produced; it is kept for the next :meth:`take`."""
        if self._next is not None:
            self._next.wait()
