"""Row agents built in bulk are the agents Mesa would have made one by one; allocator settings."""

from __future__ import annotations

import gc
import platform
import sys
import weakref

import mesa
import pytest

from sim import allocator
from sim.agents import Borrower, MicroEnterprise, Platform
from sim.agents import rows as rows_module
from sim.agents.rows import RowAgents
from sim.model import CreditMarketModel
from tests.conftest import make_run


class _Row(mesa.Agent):
    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row


class _Other(mesa.Agent):
    pass


def _registries(model: mesa.Model) -> list[tuple[str, int, int | None]]:
    return [(type(a).__name__, a.unique_id, getattr(a, "row", None)) for a in model.agents]


@pytest.mark.parametrize("background", [False, True])
def test_bulk_agents_equal_one_by_one_creation_with_an_agent_made_in_between(background):
    # One by one: 5 rows, then another agent, then 3 more rows of the same class.
    plain = mesa.Model(rng=0)
    for row in range(5):
        _Row(plain, row)
    _Other(plain)
    for row in range(3):
        _Row(plain, row)

    bulk = mesa.Model(rng=0)
    first = RowAgents(bulk, _Row, 5, background=background)
    # Ids were reserved: an agent made before registration still comes after the rows.
    other = _Other(bulk)
    first.register()
    second = RowAgents(bulk, _Row, 3, background=background)
    second.register()  # the class is registered already: its own weak set is used

    assert other.unique_id == 6
    by_id = sorted(_registries(bulk), key=lambda t: t[1])
    assert by_id == sorted(_registries(plain), key=lambda t: t[1])
    assert [a.row for a in bulk.agents_by_type[_Row]] == [0, 1, 2, 3, 4, 0, 1, 2]
    assert [a.unique_id for a in bulk.agents_by_type[_Row]] == [1, 2, 3, 4, 5, 7, 8, 9]
    assert len(bulk.agents) == 9
    assert gc.isenabled()


def test_bulk_agents_leave_the_registries_when_removed():
    model = mesa.Model(rng=0)
    rows = RowAgents(model, _Row, 4, background=True)
    rows.register()
    agent = model.agents_by_type[_Row][2]
    agent.remove()
    del agent
    gc.collect()
    assert [a.row for a in model.agents_by_type[_Row]] == [0, 1, 3]
    assert len(model.agents) == 3


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


@pytest.mark.parametrize("background", [False, True])
def test_built_agents_skip_the_young_generations_and_are_freed_with_their_model(background):
    model = mesa.Model(rng=0)
    rows = RowAgents(model, Borrower, 50, background=background)  # ids keyed weakly by model
    rows.register()
    agent = model.agents_by_type[Borrower][7]
    # In the oldest generation straight away, nothing left frozen.
    assert _in_generation(agent, 2) and not _in_generation(agent, 0)
    assert gc.get_freeze_count() == 0
    alive = weakref.ref(agent)
    del model, rows, agent
    gc.collect()  # agents and model form cycles: only the collector frees them
    assert alive() is None


def test_objects_frozen_on_purpose_stay_frozen():
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        RowAgents(mesa.Model(rng=0), Borrower, 10, background=False).register()
        assert gc.get_freeze_count() > 0  # not unfrozen (some frozen objects may have died)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("background", [False, True])
def test_switch_interval_is_short_only_while_agents_are_built_beside(background, monkeypatch):
    before = sys.getswitchinterval()
    seen = []
    build = RowAgents._build

    def spy(self):
        seen.append(sys.getswitchinterval())
        return build(self)

    monkeypatch.setattr(RowAgents, "_build", spy)
    RowAgents(mesa.Model(rng=0), Borrower, 10, background=background).register()
    expected = min(before, rows_module.SWITCH_INTERVAL_S) if background else before
    assert seen == [pytest.approx(expected)]
    assert sys.getswitchinterval() == before


def test_nested_short_switch_intervals_restore_the_first_value():
    before = sys.getswitchinterval()
    with rows_module._short_switch_interval():
        with rows_module._short_switch_interval():
            pass
        assert sys.getswitchinterval() == pytest.approx(rows_module.SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before


def test_register_twice_and_negative_rows_are_refused():
    model = mesa.Model(rng=0)
    rows = RowAgents(model, _Row, 2, background=False)
    rows.register()
    with pytest.raises(RuntimeError, match="already registered"):
        rows.register()
    with pytest.raises(ValueError, match="n must be >= 0"):
        RowAgents(model, _Row, -1, background=False)


@pytest.mark.parametrize("overlap", [False, True])
def test_model_agents_in_row_order_with_consecutive_ids(overlap):
    model = CreditMarketModel(make_run("population.n_borrowers=200"), overlap=overlap)
    borrowers = model.agents_by_type[Borrower]
    firms = model.agents_by_type[MicroEnterprise]
    n, k = model.borrowers.n, model.firms.n
    assert [a.row for a in borrowers] == list(range(n))
    assert [a.unique_id for a in borrowers] == list(range(1, n + 1))
    assert model.agents_by_type[Platform][0].unique_id == n + 1
    assert [a.unique_id for a in firms] == list(range(n + 2, n + k + 2))
    assert list(model.agent_types) == [Borrower, Platform, MicroEnterprise]


def test_allocator_settings_apply_on_glibc_and_once():
    applied = allocator.keep_freed_memory()
    if platform.libc_ver()[0] == "glibc":
        assert applied is True
    assert allocator.keep_freed_memory() is applied  # cached: set once per process


def test_no_rows_register_no_class_like_no_constructor_call():
    model = mesa.Model(rng=0)
    RowAgents(model, _Row, 0, background=True).register()
    assert _Row not in model.agent_types
    assert len(model.agents) == 0
    assert _Other(model).unique_id == 1  # no id was used up
