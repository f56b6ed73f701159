"""Agent-state tables that grow: rows appended in place with amortised capacity.

A state table (borrowers, firms) is a dataclass of NumPy arrays whose last axis is the
row. :func:`append_rows` adds rows at the end: each field is a view of a larger buffer,
so most months only write the new rows; when a buffer is full it is reallocated at
twice the size (amortised O(1) per row, no per-agent Python loop). Existing rows keep
their index, so a row index is a stable agent id for the life of a run.
"""

from __future__ import annotations

import dataclasses
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
    spare: dict[str, np.ndarray] = state.__dict__.setdefault("_row_buffers", {})
    for name in names:
        arr = getattr(state, name)
        extra = np.asarray(getattr(new, name))
        if extra.shape[:-1] != arr.shape[:-1]:
            raise ValueError(
                f"append_rows: field {name!r} has leading shape {arr.shape[:-1]}, the new "
                f"rows {extra.shape[:-1]}"
            )
        n = arr.shape[-1]
        buf = spare.get(name)
        if buf is None or not _is_prefix_view(arr, buf) or buf.shape[-1] < n + added:
            capacity = max(2 * (n + added), MIN_CAPACITY)
            buf = np.empty(arr.shape[:-1] + (capacity,), dtype=arr.dtype)
            buf[..., :n] = arr
            spare[name] = buf
        buf[..., n : n + added] = extra
        setattr(state, name, buf[..., : n + added])
    return added


def pad_rows(arr: np.ndarray, n: int, fill: object) -> np.ndarray:
    """``arr`` extended along its last axis to ``n`` rows with ``fill`` (a new array).

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
    out = np.empty(arr.shape[:-1] + (n,), dtype=arr.dtype)
    out[..., :m] = arr
    out[..., m:] = fill
    return out
