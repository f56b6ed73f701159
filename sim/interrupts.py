"""Ctrl-C that surfaces as another error: finding the ``KeyboardInterrupt`` behind it.

Used where a run's errors are reported (:class:`sim.model.CreditMarketModel`'s month,
:func:`sim.runtime.errors.user_errors`, the sweeper, preflight), so that Ctrl-C gives the
one-line "interrupted" message wherever it lands.
"""

from __future__ import annotations

__all__ = ["interrupt_behind"]


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
