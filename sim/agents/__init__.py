"""Mesa agents: thin views over the model's state arrays."""

import itertools
import weakref

from sim.agents.borrower import Borrower
from sim.agents.enterprise import MicroEnterprise
from sim.agents.platform import Platform

__all__ = ["Borrower", "MicroEnterprise", "Platform"]


class _ModelIdCounters(weakref.WeakKeyDictionary):
    """Per-model ``unique_id`` counters that do not keep finished models alive.

    Mesa 3.3 counts agent ids in ``Agent._ids``, a class-level ``defaultdict`` keyed by
    model, so every model that ever created an agent stays referenced for the life of the
    process (memory grows over a sequential sweep). Our agent classes share this weak-keyed
    counter instead: ids are still unique within a model, and a model is freed when the
    caller drops it.
    """

    def __getitem__(self, model: object) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


_IDS = _ModelIdCounters()
for _cls in (Borrower, MicroEnterprise, Platform):
    _cls._ids = _IDS  # type: ignore[assignment]  # same interface: model -> itertools.count
