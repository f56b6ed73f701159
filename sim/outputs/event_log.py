"""The run record's limit events, held compactly in a few large blocks until the end.

A long run keeps every limit change of its window (about 17.5 M at 1 M borrowers x 120
months). :func:`sim.outputs.events.pack_events` packs a month's batch to 13 bytes an event
(int32 rows and cents, an int8 reason); :class:`EventLog` narrows it further, exactly, and
copies it into large byte blocks:

* rows: a batch's rows ascend (they come from masks), so the record keeps the first row
  and the gaps between rows, in the narrowest unsigned type that holds the largest gap
  (uint8 for the policy's review, where changed lines are a few rows apart);
* limits: the int32 cents in 3 bytes (up to 167,772.15 CNY, about 16 times the largest
  limit of a default run), any others kept beside them as exceptions (position and int32
  cents);
* reasons: int8, as packed.

About 8-9 bytes an event instead of 13. A batch that does not fit an encoding keeps its
packed arrays as they are, so :func:`sim.outputs.events.events_table` gives the same
numbers, bit for bit, whatever the events are (tested). The blocks are
:data:`BLOCK_BYTES` each, each a memory map of its own, outside the heap that the month's
arrays are made and freed in, so thousands of small batches do not sit between (and keep
resident) the holes those arrays leave (``docs/performance.md``, "Memory").

A full block is written to an unnamed temporary file (:func:`tempfile.TemporaryFile`, in
the directory :func:`tempfile.gettempdir` names: ``TMPDIR``, or ``/tmp`` when that is
missing or not writable) and dropped from memory, so a long run's record costs one block
of resident memory per store, not its whole length (at 1 M borrowers x 120 months, the
events about 0.16 GB and the agent panel about 0.1 GB). Reading it back (the tables at the
run's end, a pickled burn-in) reads one block at a time. Where the file cannot be written
(a full disk), the stores keep their blocks in memory, with one warning a process. The
file is deleted by the system when the store is freed or the process ends.
"""

from __future__ import annotations

import os
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from sim.outputs.events import PackedEvents
from sim.rows import empty_rows

__all__ = ["BLOCK_BYTES", "BlockStore", "EventLog", "Slot"]

#: Bytes of one storage block. Each block is a memory map of its own
#: (:func:`sim.rows.empty_rows`): pages not yet written cost no resident memory, and a
#: spilled block's pages go back to the system. A store's last block, written up to its
#: end before it is spilled, is what the record holds resident: 8 MiB rather than the
#: 32 MiB blocks that had to be at least glibc's largest mmap threshold to get a mapping.
BLOCK_BYTES = 8 << 20
#: Limits up to this many cents (167,772.15 CNY) are stored in 3 bytes; others beside them.
_MAX_3_BYTES = (1 << 24) - 1


@dataclass(frozen=True)
class Slot:
    """Where :class:`BlockStore` keeps an array: block, byte offset, dtype and length."""

    block: int
    offset: int
    dtype: np.dtype
    count: int


class _Spilled:
    """A full block written to a store's temporary file: where, and how many bytes."""

    __slots__ = ("file", "nbytes", "offset")

    def __init__(self, file: IO[bytes], offset: int, nbytes: int) -> None:
        self.file, self.offset, self.nbytes = file, offset, nbytes

    def read(self) -> np.ndarray:
        """The block's bytes, read back into a new read-only uint8 array.

        Reads at the block's offset (``os.pread``: the file's shared position is not
        used, so a forked process reading the same file cannot move another's writes).
        """
        parts, done, fd = [], 0, self.file.fileno()
        while done < self.nbytes:
            got = os.pread(fd, self.nbytes - done, self.offset + done)
            if not got:
                raise OSError(
                    f"record spill file: {self.nbytes - done} bytes missing at offset "
                    f"{self.offset + done} (the temporary file was truncated)"
                )
            parts.append(got)
            done += len(got)
        return np.frombuffer(parts[0] if len(parts) == 1 else b"".join(parts), np.uint8)


def _new_block(nbytes: int) -> np.ndarray:
    """A block of ``nbytes`` bytes: a memory map of its own from 4 MiB up."""
    return empty_rows((nbytes,), np.uint8)


class BlockStore:
    """Arrays a run keeps to its end, copied one after another into :data:`BLOCK_BYTES` blocks.

    For records that grow by a few small arrays a month (limit events, the agent panel):
    in the C heap, such long-lived arrays would sit between the month's large arrays and
    keep the holes those leave from being merged and reused. Full blocks go to a
    temporary file (the module's note); the last block stays in memory.
    """

    #: A failed write to a temporary file was reported (one warning a process, not a store).
    spill_warned = False

    def __init__(self) -> None:
        self._blocks: list[np.ndarray | _Spilled] = []
        self._used = 0  # bytes used in the last block
        self._file: IO[bytes] | None = None
        self._file_pid = 0  # the process that opened _file (a forked child opens its own)
        self._file_end = 0
        self._spill_failed = False  # writing failed once: keep every block in memory
        self._read: tuple[int, np.ndarray] | None = None  # the spilled block read last

    @property
    def nbytes(self) -> int:
        """Bytes held up to the end of the last array stored (in memory or spilled)."""
        if not self._blocks:
            return 0
        return sum(b.nbytes for b in self._blocks[:-1]) + self._used

    @property
    def resident_nbytes(self) -> int:
        """Bytes of the blocks held in memory (the last one whole, written or not)."""
        return sum(b.nbytes for b in self._blocks if isinstance(b, np.ndarray))

    @property
    def n_blocks(self) -> int:
        """Blocks allocated so far."""
        return len(self._blocks)

    @property
    def n_spilled(self) -> int:
        """Blocks written to the temporary file and dropped from memory."""
        return sum(isinstance(b, _Spilled) for b in self._blocks)

    def __getstate__(self) -> dict[str, object]:
        # Pickled (a sweep's shared burn-in, sim.runtime.burn_in): spilled blocks read back,
        # the last block up to its last array, not its unwritten rest.
        blocks = [self._block(i) for i in range(len(self._blocks) - 1)]
        if self._blocks:
            blocks.append(self._block(len(self._blocks) - 1)[: self._used])
        return {"blocks": blocks, "used": self._used}

    def __setstate__(self, state: dict[str, object]) -> None:
        blocks = list(state["blocks"])  # type: ignore[call-overload]
        self.__init__()  # type: ignore[misc]
        self._used = int(state["used"])  # type: ignore[call-overload]
        if blocks:
            last = _new_block(max(BLOCK_BYTES, blocks[-1].nbytes))
            last[: self._used] = blocks[-1]
            blocks[-1] = last
        self._blocks = blocks  # the full ones are spilled when the next block is made

    def put(self, a: np.ndarray) -> Slot:
        """Copy ``a`` (any shape: kept flat, 8-byte aligned) and return where it is."""
        a = np.ascontiguousarray(a).reshape(-1)
        size = a.nbytes
        start = -(-self._used // 8) * 8
        if not self._blocks or start + size > self._blocks[-1].nbytes:
            if self._blocks:
                self._blocks[-1] = self._blocks[-1][: self._used]  # its written bytes
                self._spill_full()
            self._blocks.append(_new_block(max(BLOCK_BYTES, size)))
            start = 0
        self._blocks[-1][start : start + size] = a.view(np.uint8)
        self._used = start + size
        return Slot(len(self._blocks) - 1, start, a.dtype, a.shape[0])

    def get(self, slot: Slot) -> np.ndarray:
        """The flat array stored at ``slot`` (a read-only view into its block)."""
        size = slot.count * slot.dtype.itemsize
        view = self._block(slot.block)[slot.offset : slot.offset + size].view(slot.dtype)
        view.flags.writeable = False
        return view

    def _block(self, i: int) -> np.ndarray:
        """Block ``i``'s bytes: in memory, or read back (the last one read is kept)."""
        block = self._blocks[i]
        if isinstance(block, np.ndarray):
            return block
        if self._read is None or self._read[0] != i:
            self._read = (i, block.read())
        return self._read[1]

    def _spill_full(self) -> None:
        """Write every block held in memory to the temporary file and drop it.

        On an ``OSError`` (a full disk) the blocks stay in memory, with one warning a
        process; the record is complete either way.
        """
        if self._spill_failed:
            return
        for i, block in enumerate(self._blocks):
            if not isinstance(block, np.ndarray):
                continue
            try:
                if self._file is None or self._file_pid != os.getpid():
                    self._file = tempfile.TemporaryFile(  # noqa: SIM115 (closed with the store)
                        prefix="limitlab-record-", buffering=0
                    )
                    self._file_pid, self._file_end = os.getpid(), 0
                    weakref.finalize(self, self._file.close)  # closed with the store
                _write_at(self._file.fileno(), memoryview(block), self._file_end)
            except OSError as err:
                self._spill_failed = True
                if BlockStore.spill_warned:
                    return
                BlockStore.spill_warned = True
                warnings.warn(
                    f"the run record's blocks stay in memory: writing them to a temporary "
                    f"file in {tempfile.gettempdir()!r} failed ({err}); set TMPDIR to a "
                    "directory with room to keep a long run's memory flat",
                    RuntimeWarning,
                    stacklevel=4,
                )
                return
            self._blocks[i] = _Spilled(self._file, self._file_end, block.nbytes)
            self._file_end += block.nbytes


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of ``fd`` (``os.pwrite``: no shared position)."""
    done = 0
    while done < data.nbytes:
        done += os.pwrite(fd, data[done:], offset + done)


@dataclass(frozen=True)
class _Batch:
    """One stored batch: its month, size and how each of its arrays is encoded."""

    step: int
    size: int
    first_row: int  # rows: first_row + cumulated gaps (``rows`` holds the gaps), or -1 (raw)
    rows: Slot
    old_limit: tuple[Slot, ...]
    new_limit: tuple[Slot, ...]
    reason: Slot


class EventLog:
    """Limit events of a run, batch by batch (:class:`PackedEvents`), stored compactly.

    Attributes:
        n_events: events stored so far.
        n_batches: batches stored so far.
    """

    def __init__(self) -> None:
        self._store = BlockStore()
        self._batches: list[_Batch] = []
        self.n_events = 0

    @property
    def n_batches(self) -> int:
        """Batches stored so far."""
        return len(self._batches)

    @property
    def nbytes(self) -> int:
        """Bytes of the record's blocks up to its last event (resident at most)."""
        return self._store.nbytes

    def append(self, batch: PackedEvents) -> None:
        """Store one packed batch (its arrays are copied; the batch may be dropped)."""
        first, gaps = _row_gaps(batch.rows)
        self._batches.append(
            _Batch(
                step=batch.step,
                size=batch.size,
                first_row=first,
                rows=self._put(gaps if first >= 0 else batch.rows),
                old_limit=self._put_limits(batch.old_limit),
                new_limit=self._put_limits(batch.new_limit),
                reason=self._put(batch.reason),
            )
        )
        self.n_events += batch.size

    def __iter__(self) -> Iterator[PackedEvents]:
        """The batches in the order stored, each decoded to its packed arrays (new ones)."""
        for b in self._batches:
            rows = self._get(b.rows)
            if b.first_row >= 0:
                gaps = rows
                rows = np.empty(b.size, dtype=np.int64)
                if b.size:
                    rows[0] = b.first_row
                    np.cumsum(gaps, dtype=np.int64, out=rows[1:])
                    rows[1:] += b.first_row
            yield PackedEvents(
                step=b.step,
                rows=rows,
                old_limit=self._limits(b.old_limit),
                new_limit=self._limits(b.new_limit),
                reason=self._get(b.reason),
            )

    # ------------------------------------------------------------------ storage
    def _put(self, a: np.ndarray) -> Slot:
        return self._store.put(a)

    def _get(self, slot: Slot) -> np.ndarray:
        return self._store.get(slot)

    def _put_limits(self, packed: np.ndarray) -> tuple[Slot, ...]:
        """Int32 cents as 3 bytes each plus exceptions; float64 limits as they are."""
        if packed.dtype != np.int32:
            return (self._put(packed),)
        fits = (packed >= 0) & (packed <= _MAX_3_BYTES)
        low = np.where(fits, packed, 0).astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
        odd = np.flatnonzero(~fits)
        return (self._put(low), self._put(odd.astype(np.uint32)), self._put(packed[odd]))

    def _limits(self, slots: tuple[Slot, ...]) -> np.ndarray:
        """The packed limits of :meth:`_put_limits` (int32 cents, or float64 CNY)."""
        if len(slots) == 1:
            return self._get(slots[0])
        low, odd, odd_cents = (self._get(s) for s in slots)
        k = low.shape[0] // 3
        wide = np.zeros((k, 4), dtype=np.uint8)
        wide[:, :3] = low.reshape(k, 3)
        cents = wide.view("<u4").reshape(k).astype(np.int32)
        cents[odd] = odd_cents
        return cents


def _row_gaps(rows: np.ndarray) -> tuple[int, np.ndarray]:
    """``(first row, gaps)`` of ascending rows in the narrowest unsigned type, or ``(-1, rows)``.

    Args:
        rows: ``(k,)`` integer borrower rows (>= 0).

    Returns:
        The first row and the ``(k - 1,)`` differences between consecutive rows, uint8,
        uint16 or uint32; ``(-1, rows)`` if the rows do not ascend (or are empty, or the
        first is negative).
    """
    if rows.size == 0 or int(rows[0]) < 0:
        return -1, rows
    gaps = np.diff(rows.astype(np.int64, copy=False))
    top = int(gaps.max()) if gaps.size else 0
    if gaps.size and int(gaps.min()) < 0:
        return -1, rows
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return int(rows[0]), gaps.astype(dtype)
    return -1, rows
