"""Limit events read batch by batch: per-borrower cuts, and the events file in row groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.outputs import event_stream
from sim.outputs.event_log import EventLog
from sim.outputs.event_stream import EventsFile, cut_summary, events_frame
from sim.outputs.events import pack_events
from sim.platform.policies.reasons import CLOSURE_REASONS, ReasonCode

R = ReasonCode


def _batch(step: int, rows, old, new, reason):
    return pack_events(step, np.array(rows), np.array(old, float), np.array(new, float),
                       np.array([int(r) for r in reason]))  # fmt: skip


def test_cut_summary_by_hand():
    batches = [
        # month 1: row 0 closed at default (not a decision), row 1 cut, row 2 raised
        _batch(1, [0, 1, 2], [100, 200, 300], [0, 150, 400],
               [R.CLOSED_AT_DEFAULT, R.DELINQUENCY, R.STABLE_USE_INCREASE]),
        # month 2: row 1 cut again (its first cut stays month 1), row 2 cut twice in one
        # batch (the first recorded is its first cut), row 3 unchanged limit: a cut
        _batch(2, [1, 2, 2, 3], [150, 400, 350, 50], [100, 350, 300, 50],
               [R.PD_ABOVE_THRESHOLD, R.FREQUENT_DRAWS, R.DELINQUENCY, R.THIN_HISTORY]),
        # a burn-in month and a row past n are not counted
        _batch(0, [4], [10], [5], [R.DELINQUENCY]),
        _batch(3, [9], [10], [5], [R.DELINQUENCY]),
    ]  # fmt: skip
    got = cut_summary(batches, 5)
    assert got.n_cuts.tolist() == [0, 2, 2, 1, 0]
    assert got.n_raises.tolist() == [0, 0, 1, 0, 0]
    assert got.first_cut_step.tolist() == [0, 1, 2, 2, 0]
    assert list(got.reason_names()) == [
        "NONE", "DELINQUENCY", "FREQUENT_DRAWS", "THIN_HISTORY", "NONE"
    ]  # fmt: skip


def _table_way(batches, n: int) -> tuple:
    """The per-borrower counts from the whole events table (as ``borrower_table`` made them)."""
    ev = events_frame(batches)
    ev = ev[ev["step"] > 0]
    reason = ev["reason"].to_numpy()
    decision = ~np.isin(reason, [r.name for r in CLOSURE_REASONS])
    raise_ = decision & (ev["new_limit_cny"].to_numpy() > ev["old_limit_cny"].to_numpy())
    cut = decision & ~raise_
    rows = ev["borrower_id"].to_numpy()
    inside = rows < n
    n_cuts = np.bincount(rows[cut & inside], minlength=n)
    n_raises = np.bincount(rows[raise_ & inside], minlength=n)
    first_step = np.zeros(n, dtype=np.int16)
    first_reason = np.full(n, "NONE", dtype=object)
    steps = ev["step"].to_numpy()[cut & inside]
    order = np.argsort(steps, kind="stable")
    uniq, first = np.unique(rows[cut & inside][order], return_index=True)
    first_step[uniq] = steps[order][first]
    first_reason[uniq] = reason[cut & inside][order][first]
    return n_cuts, n_raises, first_step, first_reason


@pytest.mark.parametrize("seed", range(8))
def test_cut_summary_equals_the_whole_table_way_in_any_batch_order(seed: int):
    rng = np.random.default_rng(seed)
    n, batches = 60, []
    for _ in range(int(rng.integers(1, 25))):
        k = int(rng.integers(0, 40))
        old = np.round(rng.uniform(0, 5_000, k), 2)
        new = np.where(rng.random(k) < 0.2, old, np.round(old * rng.choice([0.5, 1.3], k), 2))
        batches.append(_batch(int(rng.integers(-1, 8)), rng.integers(0, n + 5, k), old, new,
                              rng.integers(0, len(R), k)))  # fmt: skip
    if seed % 2:  # also months given out of order
        rng.shuffle(batches)
    got = cut_summary(batches, n)
    n_cuts, n_raises, first_step, first_reason = _table_way(batches, n)
    assert got.n_cuts.tolist() == n_cuts.tolist()
    assert got.n_raises.tolist() == n_raises.tolist()
    assert got.first_cut_step.tolist() == first_step.tolist()
    assert list(got.reason_names()) == first_reason.tolist()


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path)


def _assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want)
    for col in ("old_limit_cny", "new_limit_cny"):
        np.testing.assert_array_equal(
            got[col].to_numpy().view(np.int64), want[col].to_numpy().view(np.int64)
        )


def test_events_file_reads_back_as_the_table_in_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(event_stream, "ROWS_PER_GROUP", 50)
    rng = np.random.default_rng(1)
    log = EventLog()
    for step in range(1, 30):
        k = int(rng.integers(0, 30))
        old = np.round(rng.uniform(0, 90_000, k), 2)
        old[: k // 5] = -0.0 if step == 3 else old[: k // 5] * 1e4  # float64-kept batches too
        log.append(_batch(step, np.sort(rng.choice(10_000, k, replace=False)), old,
                          np.round(old * 1.2, 2), rng.integers(1, len(R), k)))  # fmt: skip
    EventsFile(log).write(tmp_path / "events.parquet")
    got = _read(tmp_path / "events.parquet")
    _assert_same(got, events_frame(log))
    # the columns' Parquet types are those pandas writes for the whole table
    events_frame(log).to_parquet(tmp_path / "whole.parquet", engine="pyarrow")
    schema = pq.read_schema(tmp_path / "events.parquet").remove_metadata()
    assert schema == pq.read_schema(tmp_path / "whole.parquet").remove_metadata()
    meta = pq.ParquetFile(tmp_path / "events.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    # one group per run of batches reaching 50 rows (a batch is never split), the rest last
    assert len(sizes) > 5 and sum(sizes) == log.n_events
    assert all(k >= 50 for k in sizes[:-1]) and sizes[-1] > 0


def test_an_empty_events_file_has_the_columns_and_no_rows(tmp_path):
    EventsFile(EventLog()).write(tmp_path / "e.parquet")
    got = _read(tmp_path / "e.parquet")
    _assert_same(got, events_frame([]))
    assert len(got) == 0 and list(got.columns) == [
        "borrower_id", "step", "old_limit_cny", "new_limit_cny", "reason"
    ]  # fmt: skip


def test_a_run_folder_holds_the_tables_the_model_gives(tmp_path):
    from sim.model import CreditMarketModel
    from sim.runtime.runner import run_to_folder
    from tests.conftest import make_run

    run = make_run("population.n_borrowers=1500", "n_months=6", "burn_in_months=2",
                   "output.plots=false")  # fmt: skip
    run_to_folder(run, tmp_path, resolved={"seed": 0}, resolved_yaml="seed: 0\n", run_id="r")
    with CreditMarketModel(run) as model:
        model.run()
        want = model.tables("r")
    assert len(want["events"]) > 100  # cuts and raises in the window
    _assert_same(_read(tmp_path / "events.parquet"), want["events"])
    got = _read(tmp_path / "borrowers.parquet")
    pd.testing.assert_frame_equal(got, want["borrowers"])
    assert got["n_cuts"].sum() + got["n_raises"].sum() > 0
