"""Saving many figures in worker processes while the caller goes on drawing the next ones.

Rendering a figure to PNG and SVG (``Figure.savefig``: layout, ticks, text, the pixels) costs
far more than building its artists: most of a report's figure time. :class:`FigurePool`
takes each finished figure, pickles it, closes it here, and has a worker process render
and write it with :func:`sim.outputs.files.save_figure` under this process's
``matplotlib.rcParams``; the files are the ones saving it here writes (the PNGs the same
bytes; an SVG differs only in its ``dc:date`` and its random clip-path and glyph ids, as
two serial saves do). With ``workers=0`` it saves each figure at once, here.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import matplotlib

from sim.outputs import files as io

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FigurePool", "figure_workers"]

#: rcParams that name the process's backend, not how a figure is drawn.
_PROCESS_RC = frozenset({"backend", "backend_fallback", "interactive"})


def figure_workers(limit: int = 2) -> int:
    """Worker processes worth starting for figures: one core stays with the caller.

    The caller goes on with its own work (drawing, statistics) while the workers render:
    ``min(limit, cores - 1)`` workers, so 1 on a 2-core machine and 0 on one core.
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(0, min(limit, cores - 1))


def _save_pickled(
    blob: bytes, path_stem: str, formats: tuple[str, ...], dpi: int, rc: dict[str, Any]
) -> list[Path]:
    """Unpickle a figure and save it (in a worker) under the caller's ``rc`` settings."""
    with matplotlib.rc_context(rc):
        fig = pickle.loads(blob)
        return io.save_figure(fig, path_stem, formats=formats, dpi=dpi)


class FigurePool:
    """Save figures in ``workers`` processes; every file is written when the block ends.

    Use as a context manager::

        with FigurePool(workers=2) as pool:
            paths = pool.save(fig, "out/figures/forest", ("png", "svg"))
        # here every figure given to the pool is written (or its error raised)

    Args:
        workers: worker processes (spawned: the start method that works everywhere); 0
            saves each figure at once in this process, as
            :func:`sim.outputs.files.save_figure` does.
    """

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[list[Path]]] = []

    def __enter__(self) -> FigurePool:
        if self.workers:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self

    def save(
        self,
        fig: Figure,
        path_stem: str | os.PathLike[str],
        formats: Sequence[str] = ("png", "svg"),
        dpi: int = 150,
    ) -> list[Path]:
        """Save ``fig`` as :func:`sim.outputs.files.save_figure` does, maybe in a worker.

        The figure is closed here either way. With workers, the files exist when the
        ``with`` block ends (an error saving one is raised there).

        Args:
            fig: the figure.
            path_stem: target path without suffix (``out/fig1`` -> ``out/fig1.png``, ...).
            formats: file formats (suffixes) understood by ``Figure.savefig``.
            dpi: resolution in dots per inch for raster formats.

        Returns:
            The paths the figure is (or will be) written to, one per format, in order.

        Raises:
            ValueError: ``formats`` is empty (and, without workers, a format Matplotlib
                cannot write).
        """
        if self._pool is None:
            return io.save_figure(fig, path_stem, formats=tuple(formats), dpi=dpi)
        import matplotlib.pyplot as plt

        try:
            if not formats:
                raise ValueError("save_figure: formats must name at least one file format")
            blob = pickle.dumps(fig)
        finally:
            plt.close(fig)
        rc = {k: v for k, v in matplotlib.rcParams.items() if k not in _PROCESS_RC}
        stem = Path(path_stem)
        fmts = tuple(formats)
        self._futures.append(self._pool.submit(_save_pickled, blob, str(stem), fmts, dpi, rc))
        return [stem.with_name(f"{stem.name}.{fmt}") for fmt in fmts]

    def wait(self) -> None:
        """Wait until every figure given so far is written; raise the first error."""
        futures, self._futures = self._futures, []
        errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            if exc_type is None:
                self.wait()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._futures = []
