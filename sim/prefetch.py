"""Draw the next month's exogenous shocks on a worker thread while this month runs.

The world's shocks never depend on model state (common random numbers): month ``t+1``'s
draws are the next values of their own generators whatever happens in month ``t``. So
they can be drawn ahead, on a second core, while the main thread simulates month ``t``.
NumPy's generators release the GIL while they fill arrays, so the two overlap; on a
1 M-borrower book this hides the ~80 ms a month the draws cost (``experiments.bench``).

Results are identical with and without prefetching: each generator is used by one
thread at a time and always in the same order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetcher(Generic[T]):
    """Calls ``produce`` one value ahead on a worker thread.

    :meth:`take` returns the value produced for this call and starts producing the next
    one. ``produce`` must be deterministic in its call order (e.g. draws from generators
    that nothing else uses), since the value taken n-th is the n-th value produced.

    Args:
        produce: the producer, called with no arguments.
        enabled: if False, :meth:`take` just calls ``produce`` (no thread).

    Raises:
        Whatever ``produce`` raised, from the :meth:`take` that would have returned it.
    """

    def __init__(self, produce: Callable[[], T], *, enabled: bool = True) -> None:
        self._produce = produce
        self._enabled = enabled
        self._thread: threading.Thread | None = None
        # The next value once produced: (value, None) or (None, error).
        self._result: tuple[T | None, BaseException | None] | None = None

    def _run(self) -> None:
        try:
            self._result = (self._produce(), None)
        except BaseException as exc:  # re-raised in the main thread by take()
            self._result = (None, exc)

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def take(self) -> T:
        """This call's value; the next one is produced in the background meanwhile."""
        if not self._enabled:
            return self._produce()
        self._join()
        if self._result is None:
            self._run()
        assert self._result is not None
        (value, error), self._result = self._result, None
        if error is not None:
            raise error
        self._thread = threading.Thread(target=self._run, name="limitlab-prefetch", daemon=True)
        self._thread.start()
        return value  # type: ignore[return-value]

    def close(self) -> None:
        """Wait for the value being produced; it is kept for the next :meth:`take`."""
        self._join()

    def __getstate__(self) -> dict[str, object]:
        # Threads cannot be pickled or copied: finish the pending value and keep it.
        self._join()
        return dict(self.__dict__)
