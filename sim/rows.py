"""Agent-state tables that grow: rows appended in place with amortised capacity.

A state table (borrowers, firms) is a dataclass of NumPy arrays whose last axis is the
row. :func:`append_rows` adds rows at the end: each field is a view of a larger buffer,
so most months only write the new rows; when a buffer is full it is reallocated at
twice the size (amortised O(1) per row, no per-agent Python loop). Existing rows keep
their index, so a row index is a stable agent id for the life of a run.

Memory: the room kept beyond the rows is never written, so it costs address space, not
resident memory, until rows fill it (a large buffer is a memory map of its own,
:func:`empty_rows`, so its room cannot be free heap space that is already resident).
The table keeps only a weak reference to each buffer: a field that a stage replaces by a
new array (``s.limit_cny = limit``) frees its buffer at once rather than at the next
append, and is appended to in an array of its exact size (such a field is usually
replaced again next month, so spare room would be copied for nothing).
"""

from __future__ import annotations

import dataclasses
import mmap
import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np

#: Smallest buffer allocated for a growing field (rows).
MIN_CAPACITY = 64


def _is_prefix_view(arr: np.ndarray, buf: np.ndarray) -> bool:
    """``arr`` is ``buf[..., :m]`` for some ``m`` (same memory start, shape and strides)."""
    return (
        arr.base is buf
        and arr.shape[:-1] == buf.shape[:-1]
        and arr.strides == buf.strides
        and arr.__array_interface__["data"][0] == buf.__array_interface__["data"][0]
    )


def append_rows(state: Any, new: Any, fields: Iterable[str] | None = None) -> int:
    """Append the rows of ``new`` to ``state``, field by field, in place.

    Args:
        state: a dataclass of arrays whose last axis is the row (e.g. ``BorrowerState``).
        new: an object of the same kind holding the rows to append (same field names,
            dtypes castable, same leading shape).
        fields: the fields to grow (default every dataclass field of ``state``).

    Returns:
        The number of rows appended (the last-axis length of ``new``'s fields).

    Raises:
        ValueError: if ``new``'s fields disagree on their row count or leading shape.
    """
    names = [f.name for f in dataclasses.fields(state)] if fields is None else list(fields)
    if not names:
        return 0
    k = {int(np.shape(getattr(new, name))[-1]) for name in names}
    if len(k) != 1:
        raise ValueError(f"append_rows: the new rows' fields disagree on their count: {k}")
    added = k.pop()
    # Weak references: a buffer lives as long as its field's view (see the module's note).
    spare: dict[str, weakref.ref[np.ndarray]] = state.__dict__.setdefault("_row_buffers", {})
    for name in names:
        arr = getattr(state, name)
        extra = np.asarray(getattr(new, name))
        if extra.shape[:-1] != arr.shape[:-1]:
            raise ValueError(
                f"append_rows: field {name!r} has leading shape {arr.shape[:-1]}, the new "
                f"rows {extra.shape[:-1]}"
            )
        n = arr.shape[-1]
        ref = spare.get(name)
        buf = None if ref is None else ref()
        in_buffer = buf is not None and _is_prefix_view(arr, buf)
        if not in_buffer or buf.shape[-1] < n + added:
            # Replaced since the last append: exact size; new or full: twice the rows.
            replaced = ref is not None and not in_buffer
            capacity = n + added if replaced else max(2 * (n + added), MIN_CAPACITY)
            shape = arr.shape[:-1] + (capacity,)
            buf = np.empty(shape, dtype=arr.dtype) if replaced else empty_rows(shape, arr.dtype)
            buf[..., :n] = arr
            spare[name] = weakref.ref(buf)
        buf[..., n : n + added] = extra
        setattr(state, name, buf[..., : n + added])
    return added


def pad_rows(arr: np.ndarray, n: int, fill: object) -> np.ndarray:
    """``arr`` extended along its last axis to ``n`` rows with ``fill``.

    The result is a prefix view of a buffer with room for later rows (twice the rows when
    a buffer is made), as :func:`append_rows` keeps its fields: when ``arr`` is such a view
    with room for ``n`` rows, only the new rows are written (no copy of the others, and the
    field keeps its buffer month after month). ``arr`` itself is never changed. The room
    beyond the rows is never written, so it costs address space, not resident memory.

    Args:
        arr: ``(..., m)`` array, ``m <= n``.
        n: the new row count.
        fill: value of the new rows.

    Raises:
        ValueError: if ``n < m``.
    """
    m = arr.shape[-1]
    if n < m:
        raise ValueError(f"pad_rows: cannot shrink {m} rows to {n}")
    buf = arr.base
    own = isinstance(buf, np.ndarray) and _PADDED.get(id(buf)) is buf
    if not (own and _is_prefix_view(arr, buf) and buf.shape[-1] >= n):
        buf = empty_rows(arr.shape[:-1] + (max(2 * n, MIN_CAPACITY),), arr.dtype)
        buf[..., :m] = arr
        _PADDED[id(buf)] = buf
    buf[..., m:n] = fill
    return buf[..., :n]


#: The buffers :func:`pad_rows` made, by id, while they live (only those are grown in
#: place: a view of any other array is copied, so no other array's memory is written).
_PADDED: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


#: Buffers of at least this many bytes get pages of their own (:func:`empty_rows`).
OWN_PAGES_BYTES = 1 << 22


def empty_rows(
    shape: tuple[int, ...], dtype: np.dtype | type, *, zeroed: bool = False
) -> np.ndarray:
    """An array for a growing table whose room costs no resident memory until written.

    A buffer of :data:`OWN_PAGES_BYTES` or more is a private anonymous memory map of its
    own (zeros, as the system hands out fresh pages): the room beyond the rows written so
    far is pages never touched, so it costs address space only, and the map is returned
    to the system when the buffer dies. From the allocator's heap, a large buffer could
    take free space that is already resident, room and all. Smaller ones come from NumPy:
    uninitialised, or zeros if ``zeroed``.

    Args:
        shape: the array's shape (rows on the last axis).
        dtype: its dtype.
        zeroed: the caller needs zeros (a large buffer is zeros either way).
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < OWN_PAGES_BYTES or _MAP_FLAGS is None:
        return np.zeros(shape, dtype=dtype) if zeroed else np.empty(shape, dtype=dtype)
    return np.ndarray(shape, dtype=dtype, buffer=mmap.mmap(-1, nbytes, flags=_MAP_FLAGS))


#: Flags of a private anonymous map (copy-on-write in a forked process); None where the
#: platform has none (NumPy's allocator then serves every buffer).
_MAP_FLAGS: int | None = (
    mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS")
    else None
)


def flat_rows(table: np.ndarray, *, writes: bool = False) -> tuple[np.ndarray, int]:
    """A ``(k, n)`` table of rows as one flat array and its row stride (elements).

    Entry ``(r, i)`` is at ``r * stride + i`` of the flat array. A grown table is a view
    of a wider buffer (:func:`append_rows`): the flat array is a view spanning its ``k``
    rows (the buffer's columns between them are never read), so a compiled kernel gets
    the same argument type, a contiguous 1-D array, for a fresh table and a grown one,
    and compiles once.

    Args:
        table: ``(k, n)`` array whose last axis has unit stride (as every state table).
        writes: the caller writes through the flat array into ``table``.

    Returns:
        ``(flat, stride)``: ``flat`` a view of ``table``'s memory (a contiguous copy if
        ``table`` is empty or its last axis is strided), ``stride >= max(n, 1)``.

    Raises:
        ValueError: ``writes`` and a non-empty ``table`` whose last axis is strided (a
            copy would not write back).
    """
    item = table.itemsize
    k, n = table.shape
    if n == 0 or k == 0 or table.strides[1] != item or table.strides[0] % item:
        if writes and n and k and not table.flags.c_contiguous:
            raise ValueError(
                f"flat_rows: a ({k}, {n}) table with strides {table.strides} has no flat "
                "view to write through"
            )
        return np.ascontiguousarray(table).reshape(-1), max(n, 1)
    stride = table.strides[0] // item
    span = (k - 1) * stride + n
    return np.lib.stride_tricks.as_strided(table, shape=(span,), strides=(item,)), stride
