"""The run's limit events read once, batch by batch: per-borrower counts and the events file.

A long run's ``events`` table is large (about 17 M rows at 1 M borrowers x 120 months:
0.45 GB as a DataFrame, twice that with its ``reason`` names as strings). The run folder
needs it only as a file, and the ``borrowers`` table only per-borrower counts, so both
are made here from the record's packed batches (:mod:`sim.outputs.event_log`) without
the whole table in memory:

* :func:`cut_summary`: each borrower's policy cuts and raises over the window and its
  first cut (month and reason), the columns ``n_cuts``, ``n_raises``, ``first_cut_step``
  and ``first_cut_reason`` of :meth:`sim.outputs.agents.AgentOutcomes.borrower_table`;
* :class:`EventsFile`: the ``events`` table, written to Parquet a row group at a time;
  read back it equals :func:`events_frame`, the table in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.outputs.events import PackedEvents, events_table, unpack_amounts
from sim.platform.policies.reasons import CLOSURE_REASONS, ReasonCode

__all__ = ["CutSummary", "EventsFile", "cut_summary", "events_frame"]

#: Rows of one Parquet row group of the events file (pyarrow's default group length).
ROWS_PER_GROUP = 1 << 20
_REASON_NAMES = [r.name for r in ReasonCode]
_CLOSURE_CODES = np.array(sorted(int(r) for r in CLOSURE_REASONS), dtype=np.int8)


def events_frame(batches: Iterable[PackedEvents]) -> pd.DataFrame:
    """The run's ``events`` table as written: :func:`events_table` with ``reason`` as names.

    Returns:
        DataFrame with columns ``borrower_id`` (int64), ``step`` (int16),
        ``old_limit_cny``, ``new_limit_cny`` (float64) and ``reason`` (strings: the
        :class:`ReasonCode` names).
    """
    raw = events_table(batches)
    return raw.assign(reason=raw["reason"].astype(str))


@dataclass(frozen=True)
class CutSummary:
    """Each borrower's policy decisions over the window (closures are not decisions).

    Attributes:
        n_cuts: ``(n,)`` int64 decisions that did not raise the limit (cuts; a decision
            that leaves the limit as it was counts as a cut, as the table always did).
        n_raises: ``(n,)`` int64 decisions that raised the limit.
        first_cut_step: ``(n,)`` int16 window month of the first cut, 0 = none.
        first_cut_reason: ``(n,)`` int8 :class:`ReasonCode` of the first cut (``NONE``).
    """

    n_cuts: np.ndarray
    n_raises: np.ndarray
    first_cut_step: np.ndarray
    first_cut_reason: np.ndarray

    def reason_names(self) -> pd.Categorical:
        """``first_cut_reason`` as a categorical of every :class:`ReasonCode` name."""
        return pd.Categorical.from_codes(self.first_cut_reason, categories=_REASON_NAMES)


def cut_summary(batches: Iterable[PackedEvents], n: int) -> CutSummary:
    """Per-borrower cuts, raises and first cut of the events in ``batches``, read once.

    Only window months count (``step > 0``; the record keeps no burn-in month). The
    first cut is the earliest month's, the first recorded within a month (the record's
    order: closures at default, then the policy's decisions, each in row order).

    Args:
        batches: packed batches in the order recorded (a list, or the run record's
            :class:`sim.outputs.event_log.EventLog`).
        n: number of borrowers (rows ``>= n`` are not counted).

    Returns:
        The :class:`CutSummary` of the ``n`` borrowers.
    """
    n_cuts = np.zeros(n, dtype=np.int64)
    n_raises = np.zeros(n, dtype=np.int64)
    first_step = np.zeros(n, dtype=np.int16)
    first_reason = np.zeros(n, dtype=np.int8)  # ReasonCode.NONE
    for b in batches:
        if b.step <= 0 or b.size == 0:
            continue
        rows = b.rows.astype(np.int64, copy=False)
        decision = ~np.isin(b.reason, _CLOSURE_CODES)
        raise_ = decision & (unpack_amounts(b.new_limit) > unpack_amounts(b.old_limit))
        cut = decision & ~raise_ & (rows < n)
        raise_ &= rows < n
        for total, which in ((n_raises, raise_), (n_cuts, cut)):
            counts = np.bincount(rows[which])  # up to the batch's largest row
            total[: counts.size] += counts
        # A row's first cut: none yet, or one of a later month (batches come month by
        # month in a run, so this only matters for batches given out of order).
        rows, reason = rows[cut], b.reason[cut]
        before = first_step[rows]
        now = (before == 0) | (b.step < before)
        rows, reason = rows[now], reason[now]
        uniq, first = np.unique(rows, return_index=True)  # the first of a row's cuts here
        first_step[uniq] = b.step
        first_reason[uniq] = reason[first]
    return CutSummary(n_cuts, n_raises, first_step, first_reason)


@dataclass(frozen=True)
class EventsFile:
    """The ``events`` table of a run record, to be written a row group at a time.

    Attributes:
        batches: the packed batches in the order recorded (read once per write).
    """

    batches: Iterable[PackedEvents]

    def write(self, path: str | os.PathLike[str], compression: str = "snappy") -> None:
        """Write the table to Parquet at ``path`` (pyarrow), a row group at a time.

        The columns and dtypes of :func:`events_frame`, which ``pandas.read_parquet``
        gives back bit for bit; at most about :data:`ROWS_PER_GROUP` rows are held as
        arrays at a time.

        Args:
            path: the file to write (its folder must exist).
            compression: Parquet codec (``"snappy"``, ``"zstd"``, ...).

        Raises:
            OSError: if the file cannot be written (a partly written file may remain:
                write through ``sim.outputs.files``, which writes to a temporary name).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.Schema.from_pandas(events_frame([]), preserve_index=False)
        with pq.ParquetWriter(path, schema, compression=compression) as writer:
            for group in _groups(self.batches, ROWS_PER_GROUP):
                frame = events_frame(group)
                table = pa.Table.from_pandas(frame, schema, preserve_index=False)
                # One row group per group of batches (pyarrow would split at 2**20 rows,
                # leaving a small group after each full one).
                writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def frame(self) -> pd.DataFrame:
        """The whole table in memory (:func:`events_frame`)."""
        return events_frame(self.batches)


def _groups(batches: Iterable[PackedEvents], rows: int) -> Iterator[list[PackedEvents]]:
    """Consecutive runs of ``batches`` of about ``rows`` events (a batch is never split)."""
    group: list[PackedEvents] = []
    size, made = 0, False
    for b in batches:
        group.append(b)
        size += b.size
        if size >= rows:
            yield group
            group, size, made = [], 0, True
    if group or not made:  # the rest, or one empty group: a file with the schema and no rows
        yield group
