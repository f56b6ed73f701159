"""A second process that draws the report's scenario figures while the caller computes.

The report's figures (fan charts, trade-off, forest, deciles, vintages, roll rates, buffer
days, the single-seed illustration) need only the sweep's small tables and the paired
statistics; the effects on the treated need the per-borrower tables and take as long.
With two or more cores, :class:`FigureWorker` runs the first in a spawned process (its
imports start at once, overlapping the caller's reading of the runs) while the caller
computes the second; with one it draws in the caller, in the same order. The files are
the same either way: each figure is drawn from the same data with the caller's
Matplotlib settings (``rcParams``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

__all__ = ["FigureWorker", "Pending", "default_figure_process"]

T = TypeVar("T")

#: rcParams a worker does not copy: the backend is the worker's own (Agg, set on import of
#: :mod:`sim.outputs.files`).
_NOT_COPIED = frozenset({"backend", "backend_fallback", "interactive"})


def default_figure_process() -> bool:
    """Whether a second process draws the figures by default: with two or more cores."""
    return (os.cpu_count() or 1) >= 2


def _settings() -> dict[str, Any]:
    import matplotlib

    return {k: v for k, v in matplotlib.rcParams.items() if k not in _NOT_COPIED}


def _start(caller: int) -> None:
    """Worker initialiser: ignore Ctrl-C, outlive no caller, import the drawing code.

    A terminal's Ctrl-C reaches the worker too; the caller handles it (its one line) and
    shuts the worker down. The worker starts with Ctrl-C held
    (:meth:`FigureWorker.__enter__`), so one that came while it started is dropped here
    rather than printed as a traceback. A caller killed outright (``kill``, out of memory)
    cannot shut it down: the worker exits within a second of its caller (process id
    ``caller``) being gone. The imports are the worker's start-up cost.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_exit_with, args=(caller,), daemon=True).start()
    import sim.analysis.report.figures  # noqa: F401


def _exit_with(caller: int, every_s: float = 1.0) -> None:
    """End this process once its parent is no longer ``caller`` (it died: reparented)."""
    while os.getppid() == caller:
        time.sleep(every_s)
    os._exit(0)


def _ready() -> bool:
    return True


class FigureWorker:
    """Run figure-drawing calls in one spawned process, or in the caller.

    Use as a context manager; the process starts on entry (its imports overlap whatever
    the caller does next) and is shut down on exit, also after an error.

    Args:
        process: draw in a second process (default :func:`default_figure_process`);
            False draws in the caller when :meth:`submit` is called.

    The exception of a failed call is re-raised by ``result()`` as it was raised.
    """

    def __init__(self, process: bool | None = None) -> None:
        self.process = default_figure_process() if process is None else bool(process)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> FigureWorker:
        if self.process:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(os.getpid(),),
            )
            # Spawn the process now, not at the first figure, with Ctrl-C held: it inherits
            # the mask, and ignores Ctrl-C before it lets one in. Here a Ctrl-C waits
            # until the mask is restored.
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                self._pool.submit(_ready)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=exc[0] is not None)
            self._pool = None

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Pending[T]:
        """Call ``fn(*args, **kwargs)`` in the worker (pickled) or, without one, now.

        If the worker process dies (killed, out of memory), ``result()`` calls ``fn`` in
        the caller instead, with a warning.
        """
        if self._pool is not None:
            try:
                # The caller's current settings: a notebook may change them after entry.
                future = self._pool.submit(_with_settings, _settings(), fn, args, kwargs)
                return Pending(future, fn, args, kwargs)
            except BrokenProcessPool:
                pass  # drawn here, below
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller at result(), as from a process
            done.set_exception(err)
        return Pending(done, fn, args, kwargs)


class Pending(Generic[T]):
    """A call submitted to :class:`FigureWorker`: ``result()`` waits for its value."""

    def __init__(
        self, future: Future[T], fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]
    ) -> None:
        self._future, self._call = future, (fn, args, kwargs)

    def result(self) -> T:
        """The call's value; its exception, re-raised; drawn here if the worker died."""
        try:
            return self._future.result()
        except BrokenProcessPool as err:
            fn, args, kwargs = self._call
            warnings.warn(
                f"the figure process stopped ({err}); drawing the figures here", stacklevel=2
            )
            return fn(*args, **kwargs)


def _with_settings(
    settings: dict[str, Any], fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]
) -> T:
    import matplotlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated keys the caller still holds
        matplotlib.rcParams.update(settings)
    return fn(*args, **kwargs)
