"""The run record's limit events, packed: whole cents in int32, rows in int32, one step a batch.

A long run keeps every limit change of its window (about 17 M at 1 M borrowers x 120
months) until the ``events`` table is made at the end. Held as the stages make them
(int64 rows, float64 limits, int8 reasons) an event takes 25 bytes; packed, 13: the rows
as int32, the limits as int32 whole cents (limits are whole cents: ``sim.units.round_cny``)
and the month once per batch. Packing is exact or not done: a batch whose limits are not
all whole cents within int32 (21,474,836.47 CNY), or do not come back bit for bit
(``-0.0``), keeps its float64 limits, so :func:`events_table` returns the same numbers
whatever the limits are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.platform.policies.reasons import ReasonCode

__all__ = ["PackedEvents", "events_table", "pack_amounts", "pack_events", "unpack_amounts"]

_INT32_MAX = np.iinfo(np.int32).max


@dataclass(frozen=True)
class PackedEvents:
    """One batch of limit events of one month, packed (see the module docstring).

    Attributes:
        step: the window month of every event in the batch (``step`` of the table).
        rows: ``(k,)`` borrower rows, int32 (int64 if a row does not fit int32).
        old_limit: ``(k,)`` limits before the change: int32 cents, or float64 CNY.
        new_limit: ``(k,)`` limits after the change: int32 cents, or float64 CNY.
        reason: ``(k,)`` int8 :class:`sim.platform.policies.ReasonCode` values.
    """

    step: int
    rows: np.ndarray
    old_limit: np.ndarray
    new_limit: np.ndarray
    reason: np.ndarray

    @property
    def size(self) -> int:
        """Number of events in the batch."""
        return int(self.rows.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the batch's arrays."""
        return sum(a.nbytes for a in (self.rows, self.old_limit, self.new_limit, self.reason))


def pack_amounts(amount_cny: np.ndarray) -> np.ndarray:
    """Amounts as int32 whole cents if that is exact, else as a float64 copy.

    Args:
        amount_cny: ``(k,)`` amounts, CNY (any float dtype).

    Returns:
        ``(k,)`` int32 cents, when every amount is a whole number of cents within int32
        and :func:`unpack_amounts` gives back the same float64 bits; else a ``(k,)``
        float64 copy of the amounts.
    """
    x = np.asarray(amount_cny, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0, dtype=np.int32)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.rint(x * 100.0)
        fits = bool(np.isfinite(scaled).all()) and float(np.abs(scaled).max()) <= _INT32_MAX
    if fits:
        cents = scaled.astype(np.int32)
        if np.array_equal(unpack_amounts(cents).view(np.int64), x.view(np.int64)):
            return cents
    return np.array(x, dtype=np.float64, copy=True)


def unpack_amounts(packed: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The float64 amounts (CNY) of :func:`pack_amounts`'s result.

    Args:
        packed: ``(k,)`` int32 cents or float64 CNY.
        out: ``(k,)`` float64 array to write into (a new one if None).

    Returns:
        ``(k,)`` float64 CNY (``out`` if given): cents / 100 (correctly rounded, the value
        ``round_cny`` gives), or the float64 amounts as they are.
    """
    if out is None:
        out = np.empty(packed.shape[0], dtype=np.float64)
    if packed.dtype == np.float64:
        out[...] = packed
    else:
        np.divide(packed, 100.0, out=out)
    return out


def pack_events(
    step: int,
    rows: np.ndarray,
    old_limit_cny: np.ndarray,
    new_limit_cny: np.ndarray,
    reason: np.ndarray,
) -> PackedEvents:
    """Pack one batch of limit events (the fields of :class:`sim.month.LimitEvents`).

    Args:
        step: the window month of the batch.
        rows: ``(k,)`` integer borrower rows (>= 0).
        old_limit_cny: ``(k,)`` limits before the change, CNY.
        new_limit_cny: ``(k,)`` limits after the change, CNY.
        reason: ``(k,)`` integer ReasonCode values.

    Returns:
        The packed batch; :func:`events_table` gives back the same values.

    Raises:
        ValueError: if the four arrays differ in length.
    """
    k = {np.shape(a)[0] for a in (rows, old_limit_cny, new_limit_cny, reason)}
    if len(k) != 1:
        raise ValueError(f"pack_events: the batch's arrays differ in length: {sorted(k)}")
    rows = np.asarray(rows)
    small = rows.size == 0 or int(rows.max()) <= _INT32_MAX
    return PackedEvents(
        step=int(step),
        rows=rows.astype(np.int32 if small else np.int64),
        old_limit=pack_amounts(old_limit_cny),
        new_limit=pack_amounts(new_limit_cny),
        reason=np.asarray(reason).astype(np.int8),
    )


def events_table(batches: Iterable[PackedEvents]) -> pd.DataFrame:
    """The limit events of ``batches``, in order, as the run's ``events`` table.

    Each column is filled batch by batch into its final array (no concatenated copies).
    ``batches`` is a list of packed batches or the run record's
    :class:`sim.outputs.event_log.EventLog` (read once, through its ``n_events``).

    Returns:
        DataFrame with columns ``borrower_id`` (int64, the borrower's row), ``step``
        (int16), ``old_limit_cny``, ``new_limit_cny`` (float64) and ``reason``
        (categorical of :class:`ReasonCode` names).
    """
    total = getattr(batches, "n_events", None)
    if total is None:
        batches = list(batches)
        total = sum(b.size for b in batches)
    borrower_id = np.empty(total, dtype=np.int64)
    step = np.empty(total, dtype=np.int16)
    old = np.empty(total, dtype=np.float64)
    new = np.empty(total, dtype=np.float64)
    codes = np.empty(total, dtype=np.int8)
    i = 0
    for b in batches:
        j = i + b.size
        borrower_id[i:j] = b.rows
        step[i:j] = b.step
        unpack_amounts(b.old_limit, out=old[i:j])
        unpack_amounts(b.new_limit, out=new[i:j])
        codes[i:j] = b.reason
        i = j
    return pd.DataFrame(
        {
            "borrower_id": borrower_id,
            "step": step,
            "old_limit_cny": old,
            "new_limit_cny": new,
            "reason": pd.Categorical.from_codes(codes, categories=[r.name for r in ReasonCode]),
        }
    )
