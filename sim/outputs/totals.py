"""The borrower totals behind the monthly metrics, in each implementation.

:func:`borrower_totals` returns every sum and count over the borrower rows that
:func:`sim.outputs.metrics.monthly_metrics` and :func:`sim.outputs.metrics.segment_metrics`
read, computed as :func:`sim.compiled.implementation` says: ``compiled`` in one pass
(:func:`sim.outputs.collect_kernel.borrower_pass`), ``numpy`` with array passes (the
sums NumPy takes, which the other two reproduce bit for bit), ``reference`` one borrower
at a time (:mod:`sim.outputs.collect_reference`). Reads only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.outputs.collect_kernel import (
    BORROWER_COUNTS,
    BORROWER_SUBSETS,
    BORROWER_SUMS,
    borrower_pass,
)
from sim.platform.exposure import ead_cny, expected_loss_cny
from sim.units import utilisation

if TYPE_CHECKING:
    from sim.month import Month, World

#: Keys of :func:`borrower_totals`: float sums over all rows (:data:`BORROWER_SUMS`),
#: float sums over subsets (:data:`BORROWER_SUBSETS`) and int counts, ``n_<count>``.
TOTAL_KEYS: tuple[str, ...] = (
    *BORROWER_SUMS,
    *BORROWER_SUBSETS,
    *(f"n_{c}" for c in BORROWER_COUNTS),
)


class Scratch:
    """A float64 scratch table kept between months (the compiled pass's subset buffer)."""

    def __init__(self) -> None:
        self._table = np.empty((len(BORROWER_SUBSETS), 0))

    def rows(self, n: int) -> np.ndarray:
        """``(len(BORROWER_SUBSETS), n)`` scratch (grown by half again when too small)."""
        if self._table.shape[1] < n:
            self._table = np.empty((len(BORROWER_SUBSETS), n + n // 2))
        return self._table[:, :n]


_SCRATCH = Scratch()


def borrower_inputs(world: World, month: Month) -> dict[str, object]:
    """The arrays and parameters the borrower totals read (shared by the implementations)."""
    s, pc = world.borrowers, world.config.platform
    return {
        "balance": s.balance_cny,
        "limit": s.limit_cny,
        "pd_12m": s.pd_12m,
        "savings": s.savings_cny,
        "missed": s.missed,
        "defaulted": s.defaulted,
        "closed": s.closed,
        "charged_off": s.charged_off,
        "employed": s.employed,
        "lenders": s.lenders_count,
        "sole": world.sole_trader,
        "new_default": month.servicing.new_default,
        "ccf": float(pc.ccf),
        "lgd": float(pc.lgd),
    }


def borrower_totals(world: World, month: Month) -> dict[str, float | int]:
    """Sums and counts over the borrower rows (keys :data:`TOTAL_KEYS`), reads only.

    Sums are float (CNY, or PD for ``open_pd``), counts int; the same numbers in every
    implementation, to the bit.
    """
    x = borrower_inputs(world, month)
    how = implementation()
    if how == "numpy":
        return borrower_totals_numpy(**x)
    if how == "reference":
        from sim.outputs.collect_reference import borrower_totals_reference

        return borrower_totals_reference(**x)
    return borrower_totals_compiled(**x)


def borrower_totals_compiled(**x: object) -> dict[str, float | int]:
    """:func:`borrower_totals` in one compiled pass (arguments: :func:`borrower_inputs`)."""
    buffer = _SCRATCH.rows(x["balance"].shape[0])  # type: ignore[attr-defined]
    sums, counts, used = borrower_pass(**x, buffer=buffer)
    out: dict[str, float | int] = dict(zip(BORROWER_SUMS, map(float, sums), strict=True))
    for b, name in enumerate(BORROWER_SUBSETS):
        out[name] = float(buffer[b, : used[b]].sum())
    out |= {f"n_{c}": int(v) for c, v in zip(BORROWER_COUNTS, counts, strict=True)}
    return out


def borrower_totals_numpy(
    balance: np.ndarray, limit: np.ndarray, pd_12m: np.ndarray, savings: np.ndarray,
    missed: np.ndarray, defaulted: np.ndarray, closed: np.ndarray, charged_off: np.ndarray,
    employed: np.ndarray, lenders: np.ndarray, sole: np.ndarray, new_default: np.ndarray,
    ccf: float, lgd: float,
) -> dict[str, float | int]:  # fmt: skip
    """:func:`borrower_totals` with NumPy array passes (arguments: :func:`borrower_inputs`)."""
    performing = ~(defaulted | closed)
    on_book = ~charged_off
    ead = ead_cny(balance, limit, ccf) * performing
    dpd90 = (missed >= 3) & on_book
    dpd90_zeroed = np.where(dpd90, balance, 0.0)
    rows = np.flatnonzero(sole)
    live_lenders = lenders[performing]
    sole_default = int(np.count_nonzero(new_default[rows]))
    return {
        "balance": float(balance.sum()),
        "undrawn": float((np.maximum(limit - balance, 0.0) * performing).sum()),
        "limit": float(limit.sum()),
        "ead": float(ead.sum()),
        "expected_loss": float(expected_loss_cny(pd_12m, lgd, ead).sum()),
        "utilisation": float(utilisation(balance * performing, limit, zero_limit=0.0).sum()),
        "savings": float(savings.sum()),
        "dpd90_zeroed": float(dpd90_zeroed.sum()),
        "dpd30_balance": float(balance[(missed >= 1) & on_book].sum()),
        "dpd90_balance": float(balance[dpd90].sum()),
        "open_pd": float(pd_12m[performing].sum()),
        "open_savings": float(savings[performing].sum()),
        "sole_balance": float(balance[rows].sum()),
        "sole_dpd90_balance": float(dpd90_zeroed[rows].sum()),
        "sole_ead": float((ead_cny(balance[rows], limit[rows], ccf) * performing[rows]).sum()),
        "n_open": int(np.count_nonzero(performing)),
        "n_with_limit": int(np.count_nonzero(performing & (limit > 0))),
        "n_missed_1": int(np.count_nonzero(missed == 1)),
        "n_missed_2": int(np.count_nonzero(missed == 2)),
        "n_dpd90": int(np.count_nonzero(dpd90)),
        "n_employed": int(np.count_nonzero(employed)),
        "n_indebted": int(np.count_nonzero(live_lenders >= 1)),
        "n_multi_lender": int(np.count_nonzero(live_lenders >= 2)),
        "n_lender_slots": int(live_lenders.sum(dtype=np.int64)),
        "n_sole": int(rows.size),
        "n_sole_new_default": sole_default,
        "n_new_default": int(np.count_nonzero(new_default)),
    }
