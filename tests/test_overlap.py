"""Work on a second core and row blocks must not change any result."""

from __future__ import annotations

import copy
import dataclasses
import threading

import numpy as np
import pandas as pd
import pytest

import sim.household
import sim.overlap
from sim.model import CreditMarketModel
from sim.overlap import Background, Prefetcher, in_blocks, worth_overlapping
from tests.conftest import make_run


def test_background_returns_the_value_and_runs_on_another_thread():
    caller = threading.get_ident()
    work = Background(lambda a, b: (a + b, threading.get_ident()), 2, 3)
    value, where = work.result()
    assert value == 5
    assert where != caller


def test_background_disabled_runs_at_once_on_the_calling_thread():
    work = Background(threading.get_ident, enabled=False)
    assert work.result() == threading.get_ident()


def test_background_reraises_the_error_on_the_caller():
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        Background(fail).result()


def test_prefetcher_gives_the_producers_sequence_and_can_be_copied():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    ahead = Prefetcher(lambda: rng_a.random(4))
    got = [ahead.take()]  # nothing produced ahead: produced at once
    for _ in range(2):
        ahead.produce_ahead()
        ahead.produce_ahead()  # a second call does not skip a value
        got.append(ahead.take())
    want = [rng_b.random(4) for _ in range(3)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # A value being produced survives a deep copy (threads cannot be copied): the 4th.
    ahead.produce_ahead()
    twin = copy.deepcopy(ahead)
    np.testing.assert_array_equal(twin.take(), rng_b.random(4))


def test_prefetcher_error_surfaces_on_the_take_that_needs_it():
    calls = iter([1])

    def produce() -> int:
        value = next(calls, None)
        if value is None:
            raise RuntimeError("exhausted")
        return value

    ahead = Prefetcher(produce)
    ahead.produce_ahead()
    assert ahead.take() == 1
    ahead.produce_ahead()
    with pytest.raises(RuntimeError, match="exhausted"):
        ahead.take()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_in_blocks_covers_every_row_once_in_blocks_of_the_given_size(threads):
    seen = np.zeros(10, dtype=int)
    sizes = []
    lock = threading.Lock()

    def work(rows: slice) -> None:
        seen[rows] += 1
        with lock:
            sizes.append(rows.stop - rows.start)

    in_blocks(10, work, threads=threads, block_rows=4)
    assert seen.tolist() == [1] * 10
    assert sorted(sizes) == [2, 4, 4]
    in_blocks(0, work, threads=threads)  # no rows: no work
    assert len(sizes) == 3


def test_in_blocks_reraises_a_blocks_error_and_rejects_bad_arguments():
    def work(rows: slice) -> None:
        if rows.start == 4:
            raise ZeroDivisionError("block 4")

    for threads in (1, 2):
        with pytest.raises(ZeroDivisionError, match="block 4"):
            in_blocks(10, work, threads=threads, block_rows=2)
    # No block starts after a failure: on one thread, blocks 0-1, 2-3 and 4 (failing) ran.
    started = []

    def record(rows: slice) -> None:
        started.append(rows.start)
        work(rows)

    with pytest.raises(ZeroDivisionError):
        in_blocks(100, record, threads=1, block_rows=2)
    assert started == [0, 2, 4]
    with pytest.raises(ValueError, match="threads must be >= 1"):
        in_blocks(10, work, threads=0)
    with pytest.raises(ValueError, match="block_rows must be >= 1"):
        in_blocks(10, work, block_rows=0)


def test_household_blocks_on_threads_raise_bad_thread_counts():
    model = CreditMarketModel(make_run("n_months=1"))
    with pytest.raises(ValueError, match="threads must be >= 1"):
        sim.household.household_month(
            model.borrowers,
            sim.household.draw_world(
                np.random.default_rng(0), model.borrowers.n, model.config.population.behaviour
            ),
            model.macro,
            model.config.population.behaviour,
            1,
            threads=0,
        )


def _state_arrays(model: CreditMarketModel) -> dict[str, np.ndarray]:
    out = {
        f"b.{f.name}": getattr(model.borrowers, f.name) for f in dataclasses.fields(model.borrowers)
    }
    out |= {f"f.{k}": v for k, v in vars(model.firms).items() if isinstance(v, np.ndarray)}
    out |= {f"c.{k}": v for k, v in vars(model.channels).items() if isinstance(v, np.ndarray)}
    return out


def test_overlap_and_household_blocks_give_identical_results(monkeypatch):
    """One thread and one block vs a second core and 7 blocks of 301 rows: same to the bit.

    Covers every row-blocked step: the household month, servicing and re-scoring.
    """
    overrides = ("seed=4", "population.n_borrowers=2100", "n_months=15", "scenario=covid_shock")
    serial = CreditMarketModel(make_run(*overrides), overlap=False).run()
    monkeypatch.setattr(sim.overlap, "BLOCK_ROWS", 301)
    parallel = CreditMarketModel(make_run(*overrides), overlap=True).run()
    pd.testing.assert_frame_equal(serial.monthly_table(), parallel.monthly_table())
    pd.testing.assert_frame_equal(serial.limit_events(), parallel.limit_events())
    pd.testing.assert_frame_equal(serial.firms_table(), parallel.firms_table())
    a, b = _state_arrays(serial), _state_arrays(parallel)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_only_large_books_on_several_cores_overlap(monkeypatch):
    monkeypatch.setattr(sim.overlap.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert worth_overlapping(sim.overlap.MIN_BORROWERS)
    assert not worth_overlapping(sim.overlap.MIN_BORROWERS - 1)
    monkeypatch.setattr(sim.overlap.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert not worth_overlapping(10 * sim.overlap.MIN_BORROWERS)
    assert CreditMarketModel(make_run("n_months=1")).overlap is False
