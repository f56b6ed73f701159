"""Ctrl-C that surfaces as another error: finding the ``KeyboardInterrupt`` behind it.

Used where a run's errors are reported (:class:`sim.model.CreditMarketModel`'s month,
:func:`sim.runtime.errors.user_errors`, the sweeper, preflight), so that Ctrl-C gives the
one-line "interrupted" message wherever it lands; and where Ctrl-C is held while Hydra
composes a config (:func:`let_held_signals_in`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "HELD_SIGNALS",
    "exit_if_stuck",
    "interrupt_behind",
    "interrupt_handler",
    "let_held_signals_in",
    "raise_if_interrupted",
]

_SEEN = {"interrupt": False}


def interrupt_behind(err: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C an error was raised from or while handling, if any; else None.

    Ctrl-C can surface as another error: numba returns it from a compiled kernel as a
    ``SystemError`` whose ``__cause__`` is the interrupt, and one landing inside
    ``threading.Condition.wait`` (a ``Future.result()``) leaves a ``RuntimeError``
    ("cannot release un-acquired lock") whose ``__context__`` is the interrupt, and one
    landing while OmegaConf builds a config node can leave it raising another error (an
    ``AttributeError``, Hydra's ``ConfigCompositionException``) with the interrupt further
    down the chain. Such an error is the interrupt's consequence, not a failure of the run.
    The chain is followed through ``__cause__``, else ``__context__``.
    """
    seen: set[int] = set()
    link: BaseException | None = err
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return link
        seen.add(id(link))
        link = link.__cause__ if link.__cause__ is not None else link.__context__
    return None


#: The signals a command holds (blocks) while Hydra composes its config after preflight:
#: Ctrl-C, and ``kill`` (SIGTERM), which the commands take as Ctrl-C.
HELD_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def let_held_signals_in() -> None:
    """Unblock :data:`HELD_SIGNALS` in this thread: one that came while held arrives now.

    ``experiments.run`` holds them from preflight's end to where Hydra hands over (the
    sweeper's ``sweep``, or the job itself): a Ctrl-C while Hydra composes its config can
    otherwise be lost. Harmless where nothing was held (a launcher's worker process).
    """
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)


def interrupt_handler(signum: int, frame: object) -> None:
    """SIGINT (and SIGTERM) handler: note the interrupt, then raise ``KeyboardInterrupt``.

    A library can swallow the ``KeyboardInterrupt`` (OmegaConf wraps one that lands while
    it builds a node in its own error, which a caller may catch as a config error);
    :func:`raise_if_interrupted` raises it again where the command checks.
    """
    first = not _SEEN["interrupt"]
    _SEEN["interrupt"] = True
    if first and _STUCK["after_s"] is not None:
        timer = threading.Timer(_STUCK["after_s"], _exit_stuck)
        timer.daemon = True
        timer.start()
    if _inside_llvmlite(frame):
        # Raised inside llvmlite (an ObjectRef.__del__ run by the garbage collector, say),
        # the interrupt can leave its lock held and the process hung on it: delivered
        # again shortly, once that code has returned.
        timer = threading.Timer(_RETRY_S, os.kill, (os.getpid(), signum))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


#: :func:`exit_if_stuck`'s setting: seconds, and the function giving the command's line.
_STUCK: dict[str, Any] = {"after_s": None, "line": None}


def exit_if_stuck(after_s: float, line: Callable[[], str]) -> None:
    """After an interrupt, end the process if its clean-up has not ended it in ``after_s``.

    Stopping a joblib sweep once hung after Ctrl-C: joblib's abort waited on a loky thread
    reading a pipe from workers already gone. :func:`interrupt_handler`, at the first
    interrupt, starts a timer that prints ``line()`` and exits with 130 at once
    (``os._exit``: no clean-up is left that could end). Finished runs are already on
    disk, each written whole (its completion marker last).
    """
    _STUCK.update(after_s=float(after_s), line=line)


def _exit_stuck() -> None:
    try:
        text = _STUCK["line"]()
    except Exception:  # noqa: BLE001 - the exit must happen whatever the line's trouble
        text = "interrupted"
    print(
        f"{text} (stopping took over {_STUCK['after_s']:g} s: ended)", file=sys.stderr, flush=True
    )
    os._exit(130)


#: How soon an interrupt that landed inside llvmlite is delivered again (seconds).
_RETRY_S = 0.05


def _inside_llvmlite(frame: object) -> bool:
    """Whether ``frame`` or a frame below it runs llvmlite's code (numba's LLVM binding)."""
    package = sys.modules.get("llvmlite")
    if package is None or not isinstance(frame, types.FrameType):
        return False
    roots = tuple(str(Path(p)) + os.sep for p in getattr(package, "__path__", ()))
    link: types.FrameType | None = frame
    while link is not None:
        if roots and link.f_code.co_filename.startswith(roots):
            return True
        link = link.f_back
    return False


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if :func:`interrupt_handler` ran in this process."""
    if _SEEN["interrupt"]:
        raise KeyboardInterrupt
