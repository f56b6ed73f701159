"""The run record's event log: narrower storage of the packed limit events, same numbers."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from sim.outputs import event_log
from sim.outputs.event_log import EventLog
from sim.outputs.events import events_table, pack_events
from sim.platform.policies import ReasonCode


def _bits(x: object) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).view(np.int64)


def _same_tables(batches: list) -> EventLog:
    log = EventLog()
    for b in batches:
        log.append(b)
    want, got = events_table(batches), events_table(log)
    pd.testing.assert_frame_equal(got, want)
    for col in ("old_limit_cny", "new_limit_cny"):
        np.testing.assert_array_equal(_bits(got[col]), _bits(want[col]))
    return log


def test_ascending_rows_and_limits_within_3_bytes_take_8_bytes_an_event():
    rows = np.cumsum(np.arange(1000) % 256) + 7  # gaps 0..255: uint8
    old = np.round(np.linspace(0.0, 167_772.15, 1000), 2)
    new = old[::-1].copy()
    batch = pack_events(5, rows, old, new, np.full(1000, ReasonCode.DELINQUENCY))
    log = _same_tables([batch])
    # 999 row gaps, 3 + 3 bytes of cents, 1 reason (each array 8-byte aligned): 8,000 bytes
    assert log.nbytes == 8000 and log.n_events == 1000 and log.n_batches == 1


def test_odd_batches_come_back_bit_for_bit():
    batches = [
        # rows not ascending; float64 limits (a third of a cent, -0.0)
        pack_events(
            1,
            np.array([5, 3, 9]),
            np.array([100.0, 1 / 3, 2.5]),
            np.array([-0.0, 7e7, 0.01]),
            np.array([1, 2, 3]),
        ),
        pack_events(2, np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int8)),
        # a row beyond int32; limits just over 3 bytes of cents are kept as exceptions
        pack_events(
            3,
            np.array([0, 2**31 + 5]),
            np.array([167_772.15, 167_772.16]),
            np.array([12.34, 21_474_836.47]),
            np.array([1, 1]),
        ),
        pack_events(4, np.array([7]), np.array([10.0]), np.array([20.0]), np.array([4])),
        # a negative first row is kept as it is (rows are >= 0 in a run)
        pack_events(4, np.array([-3, 2]), np.full(2, 1.0), np.full(2, 2.0), np.full(2, 1)),
        # gaps needing uint16 and uint32
        pack_events(
            5,
            np.array([1, 60_000, 70_000, 2**31 - 1]),
            np.full(4, 5.0),
            np.full(4, 6.0),
            np.full(4, 2),
        ),
    ]
    log = _same_tables(batches)
    assert log.n_events == 12 and log.n_batches == 6
    assert [b.step for b in log] == [1, 2, 3, 4, 4, 5]


def test_batches_spill_into_new_blocks(monkeypatch):
    monkeypatch.setattr(event_log, "BLOCK_BYTES", 64)
    rng = np.random.default_rng(3)
    batches = []
    for step in range(1, 30):
        k = int(rng.integers(0, 40))
        rows = np.sort(rng.choice(10_000, k, replace=False))
        old = np.round(rng.uniform(0, 50_000, k), 2)
        new = np.round(old * rng.choice([0.8, 1.1], k), 2)
        batches.append(pack_events(step, rows, old, new, rng.integers(1, 8, k)))
    log = _same_tables(batches)  # read back from the spilled blocks: the same table
    store = log._store
    assert store.n_blocks > 10  # each block holds a few arrays; a larger one its own
    assert log.nbytes < 13 * log.n_events
    # every full block went to the temporary file: only the last one is in memory
    assert store.n_spilled == store.n_blocks - 1
    assert store.resident_nbytes == store._blocks[-1].nbytes < log.nbytes / 10


def test_block_store_gives_back_read_only_copies_of_what_was_put():
    store = event_log.BlockStore()
    a, b = np.arange(5, dtype=np.int16), np.array([[1.5, -0.0], [2.0, 3.0]])
    slots = [store.put(a), store.put(b)]
    a[0] = 99  # the store copied
    got = [store.get(s) for s in slots]
    assert got[0].tolist() == [0, 1, 2, 3, 4] and got[0].dtype == np.int16
    np.testing.assert_array_equal(got[1].view(np.int64), b.reshape(-1).view(np.int64))
    assert slots[1].offset == 16  # 10 bytes of int16, then 8-byte aligned
    assert store.nbytes == 48 and store.n_blocks == 1
    assert not got[0].flags.writeable


def test_a_pickled_store_keeps_only_what_was_written_and_grows_on():
    store = event_log.BlockStore()
    slots = [store.put(np.arange(1000, dtype=np.int64)), store.put(np.array([2.5, -0.0]))]
    copy = pickle.loads(pickle.dumps(store))
    assert len(pickle.dumps(store)) < 9_000  # 8,016 bytes written of a 32 MiB block
    for slot in slots:
        np.testing.assert_array_equal(copy.get(slot).view(np.uint8), store.get(slot).view(np.uint8))
    later = copy.put(np.array([7, 8], dtype=np.int32))  # appends after the restored bytes
    assert later.block == 0 and later.offset == 8016 and copy.get(later).tolist() == [7, 8]
    assert copy.nbytes == 8024 and copy._blocks[0].nbytes == event_log.BLOCK_BYTES


def _filled_store(monkeypatch, n_arrays: int = 40) -> tuple[event_log.BlockStore, list, list]:
    monkeypatch.setattr(event_log, "BLOCK_BYTES", 256)
    rng = np.random.default_rng(11)
    store, slots, arrays = event_log.BlockStore(), [], []
    for i in range(n_arrays):
        a = rng.integers(-1000, 1000, int(rng.integers(0, 30))).astype([np.int16, np.int64][i % 2])
        arrays.append(a.copy())
        slots.append(store.put(a))
    return store, slots, arrays


def test_full_blocks_go_to_a_temporary_file_and_read_back_the_same(monkeypatch):
    store, slots, arrays = _filled_store(monkeypatch)
    assert store.n_blocks > 5
    assert store.n_spilled == store.n_blocks - 1  # only the last block stays in memory
    assert store.resident_nbytes == 256
    assert store.nbytes == sum(b.nbytes for b in store._blocks[:-1]) + store._used
    # read back in any order (one spilled block is cached at a time)
    for i in [*range(len(slots)), 3, 0, len(slots) - 1, 1]:
        got = store.get(slots[i])
        assert got.dtype == arrays[i].dtype and got.tolist() == arrays[i].tolist()
        assert not got.flags.writeable
    copy = pickle.loads(pickle.dumps(store))  # spilled blocks read back into the pickle
    assert copy.n_spilled == 0 and copy.n_blocks == store.n_blocks
    for slot, a in zip(slots, arrays, strict=True):
        assert copy.get(slot).tolist() == a.tolist()
    later = copy.put(np.arange(40, dtype=np.int64))  # a new block: the copy spills its own
    assert later.block == store.n_blocks and copy.n_spilled == store.n_blocks
    assert copy.get(later).tolist() == list(range(40)) and copy.get(slots[2]).tolist() == (
        arrays[2].tolist()
    )


def test_a_failing_spill_keeps_the_blocks_in_memory_with_one_warning_a_process(monkeypatch):
    def no_room(*_, **__):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(event_log.tempfile, "TemporaryFile", no_room)
    monkeypatch.setattr(event_log.BlockStore, "spill_warned", False)
    with pytest.warns(RuntimeWarning, match="stay in memory.*No space left.*TMPDIR") as caught:
        store, slots, arrays = _filled_store(monkeypatch)
        other, other_slots, _ = _filled_store(monkeypatch)  # a second store: no new warning
    assert len(caught) == 1 and store.n_spilled == other.n_spilled == 0 and store.n_blocks > 5
    for slot, a in zip(slots, arrays, strict=True):
        assert store.get(slot).tolist() == a.tolist()
    assert [other.get(s).tolist() for s in other_slots] == [a.tolist() for a in arrays]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_spills_to_its_own_file(monkeypatch):
    store, slots, arrays = _filled_store(monkeypatch)
    parent_file = store._file
    size = os.fstat(parent_file.fileno()).st_size
    with warnings.catch_warnings():  # 3.12+ warns when threads exist (numba's): the child
        warnings.simplefilter("ignore", DeprecationWarning)  # only reads, writes and exits
        pid = os.fork()
    if pid == 0:  # the child: reads the parent's blocks, spills new ones to a file of its own
        ok = all(store.get(s).tolist() == a.tolist() for s, a in zip(slots, arrays, strict=True))
        for i in range(30):
            store.put(np.full(20, i, dtype=np.int64))
        ok = (
            ok
            and store._file is not parent_file
            and store.get(slots[0]).tolist() == (arrays[0].tolist())
        )
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.fstat(parent_file.fileno()).st_size == size  # nothing written to the parent's
    for slot, a in zip(slots, arrays, strict=True):
        assert store.get(slot).tolist() == a.tolist()
