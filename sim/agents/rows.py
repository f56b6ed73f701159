"""Row agents in bulk: one thin Mesa agent per array row, built ahead and registered at once.

A million ``Borrower`` objects cost seconds of pure Python. :class:`RowAgents` reserves
their ids at once, builds the objects (on the second core while the caller builds the
state arrays, when asked to; :mod:`sim.overlap`) and registers them later in one bulk
update per registry, so ids and registry order are those of a plain
``for row in range(n): cls(model, row)`` done at the moment of :meth:`RowAgents.register`.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import sys
import threading
import weakref
from collections.abc import Iterator

import mesa
from mesa.agent import AgentSet

from sim.overlap import Background


class RowAgents:
    """Agents ``cls(model, row)`` for rows ``0..n-1``: ids reserved now, registered later.

    Equivalent to ``for row in range(n): cls(model, row)`` run at :meth:`register`: each
    row is a real ``mesa.Agent`` with a consecutive ``unique_id`` (from the per-model
    counter, reserved here, so agents created in between get later ids), held by
    ``model.agents`` and ``model.agents_by_type[cls]`` in row order. Mesa's own
    registration (a debug-log call and two weak-set insertions through Python methods per
    agent) is replaced by one bulk dict update per registry. It relies on Mesa 3's
    registries (``Model._agents``, ``_all_agents``, ``_agents_by_type``,
    ``AgentSet._agents`` a ``WeakKeyDictionary``); pyproject pins ``mesa<4``.
    ``cls.__init__`` must do nothing beyond ``super().__init__(model)`` and
    ``self.row = row`` (true of ``Borrower`` and ``MicroEnterprise``).

    The cyclic garbage collector is paused while the objects are built: none of them can be
    garbage, and a million new objects would trigger hundreds of passes over a growing heap.
    They are then placed in its oldest generation (:func:`_to_oldest_generation`), so no
    young collection walks them; they are still freed with their model.

    Args:
        model: the owning model.
        cls: the row-agent class.
        n: number of rows, >= 0.
        background: build the objects on a worker thread; only the caller's thread touches
            the model's registries either way.

    Raises:
        ValueError: if ``n < 0``.
    """

    def __init__(self, model: mesa.Model, cls: type[mesa.Agent], n: int, *, background: bool):
        if n < 0:
            raise ValueError(f"RowAgents: n must be >= 0, got {n}")
        self.model, self.cls, self.n = model, cls, n
        self._first = next(cls._ids[model])
        cls._ids[model] = itertools.count(self._first + n)  # the next agent gets first + n
        self._by_type = AgentSet([], random=model.random)
        background = background and n > 0
        self._built: Background | None = Background(
            self._build_beside if background else self._build, enabled=background
        )

    def _build_beside(self) -> tuple[list[mesa.Agent], list[weakref.ref], list[weakref.ref]]:
        """:meth:`_build` on a worker thread, handing the GIL back to the caller promptly.

        The build is pure Python and holds the GIL; the caller meanwhile runs NumPy and
        pandas work that needs it between operations. At the default 5 ms switch interval
        the caller waited that long at each hand-over (loading the UCI table took 1.1 s
        instead of 0.06 s); at :data:`SWITCH_INTERVAL_S` the whole set-up at 1 M borrowers
        took 3.15 s instead of 4.06 s (means of three).
        """
        with _short_switch_interval():
            return self._build()

    def _build(self) -> tuple[list[mesa.Agent], list[weakref.ref], list[weakref.ref]]:
        """The agents and their weak references for the two registries' weak sets."""
        model, cls, first = self.model, self.cls, self._first
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            new = object.__new__
            agents = []
            for row, uid in enumerate(range(first, first + self.n)):
                agent = new(cls)
                agent.__dict__ = {"model": model, "unique_id": uid, "pos": None, "row": row}
                agents.append(agent)
            # A weak set's keys are refs whose callback removes them when the agent is freed.
            refs = [
                [weakref.ref(a, weak._remove) for a in agents]
                for weak in (self._by_type._agents, model._all_agents._agents)
            ]
            _to_oldest_generation()
        finally:
            if gc_was_enabled:
                gc.enable()
        return agents, *refs

    def register(self) -> None:
        """Wait for the objects and add them to the model's registries (call once).

        Raises:
            RuntimeError: if called a second time.
            Whatever building the objects raised.
        """
        if self._built is None:
            raise RuntimeError("RowAgents.register: the agents are already registered")
        built, self._built = self._built, None
        agents, by_type_refs, all_refs = built.result()
        if not agents:  # as with no constructor call: the class is not registered
            return
        model = self.model
        model._agents.update(dict.fromkeys(agents))
        by_type = model._agents_by_type.get(self.cls)
        if by_type is None:
            by_type = model._agents_by_type[self.cls] = self._by_type
        else:  # the class already has agents: refs for its own weak set
            weak = by_type._agents
            by_type_refs = [weakref.ref(a, weak._remove) for a in agents]
        by_type._agents.data.update(dict.fromkeys(by_type_refs))
        model._all_agents._agents.data.update(dict.fromkeys(all_refs))


#: GIL switch interval while agents are built beside other work, seconds.
SWITCH_INTERVAL_S = 1e-4

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved_s = 0.0


@contextlib.contextmanager
def _short_switch_interval() -> Iterator[None]:
    """Run with ``sys.setswitchinterval`` at most :data:`SWITCH_INTERVAL_S`, then restore it.

    The interval is process-wide: nested or concurrent uses keep it short until the last
    one ends, which restores the value found by the first.
    """
    global _switch_users, _switch_saved_s
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved_s = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved_s, SWITCH_INTERVAL_S))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved_s)


def _to_oldest_generation() -> None:
    """Move every object the collector tracks into its oldest generation, at no cost.

    Millions of new long-lived objects would otherwise be traversed by the next young
    collection (measured: 0.33 s for a million agents, their dicts and weak references)
    and again on their way up. ``gc.freeze()`` then ``gc.unfreeze()`` only relinks the
    lists. Skipped if objects are frozen already (someone froze them on purpose).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
