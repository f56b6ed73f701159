"""The ``firms`` run table's rows: a month's firm statistics per sector and for all firms.

Read from the firm state, the month's settlement and its buffer days
(:class:`sim.outputs.firm_metrics.FirmBuffers`); no rows when no firms are simulated.
Part of the month's record (:meth:`sim.outputs.recorder.RunRecord.collect`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.outputs.firm_metrics import BUFFER_QUANTILES, FirmBuffers, firm_buffers
from sim.world.firms import ClosureCause

if TYPE_CHECKING:
    from sim.month import Month, World

__all__ = ["FIRM_TABLE_COLUMNS", "firm_sector_rows"]

#: Columns of the ``firms`` run table (:func:`firm_sector_rows`), in order.
FIRM_TABLE_COLUMNS: tuple[str, ...] = (
    "step",
    "sector",
    "n_open",
    "buffer_days_p10",
    "buffer_days_p25",
    "buffer_days_p50",
    "buffer_days_p75",
    "buffer_days_p90",
    "buffer_days_mean",
    "share_buffer_under_15d",
    "share_buffer_under_7d",
    "firms_in_shortfall",
    "late_supplier_payments_cny",
    "unmet_financing_gap_cny",
    "closures_shortfall",
    "closures_exit",
    "liquidity_buffer_days_p50",
    "gap_incidence",
    "gap_share_of_outflows",
    "closures_distress",
)


def _quantiles(days: np.ndarray) -> np.ndarray:
    """``np.percentile(days, BUFFER_QUANTILES)``, NaN for no days."""
    if not days.size:
        return np.full(len(BUFFER_QUANTILES), np.nan)
    return np.percentile(days, BUFFER_QUANTILES)


def _slices(ends: np.ndarray) -> list[slice]:
    """Each group's slice of a table in group order, from the groups' cumulative ``ends``."""
    return [slice(int(ends[i - 1]) if i else 0, int(ends[i])) for i in range(ends.size)]


def firm_sector_rows(
    world: World, month: Month, buffers: FirmBuffers | None = None
) -> list[dict[str, object]]:
    """This month's firm statistics per sector and for ``"all"`` (rows of the ``firms`` table).

    Buffer-day quantiles (:data:`sim.outputs.firm_metrics.BUFFER_QUANTILES`) and shares
    are over open firms at the end of the month (NaN for a sector without open firms);
    flows are this month's. ``buffers``: the month's
    :func:`sim.outputs.firm_metrics.firm_buffers` if already made.

    Returns:
        One dict for ``"all"`` and one per sector, keyed by :data:`FIRM_TABLE_COLUMNS`;
        empty without firms.
    """
    f = world.firms
    st = month.settlement
    if f.n == 0 or st is None:
        return []
    b = firm_buffers(world) if buffers is None else buffers
    fm = month.firm_month
    names = list(world.sectors.names)
    k, n_causes = len(names), len(ClosureCause)
    sector = f.sector
    was_open = f.is_open | st.new_closure
    month_out = fm.purchases_cny + np.where(was_open, f.fixed_cost_cny, 0.0)
    open_days = f.is_open & np.isfinite(f.buffer_days)
    finite_liq = np.isfinite(b.liquidity)  # NaN for closed firms: the open firms' finite days
    gap_wo = (fm.gap_cny > 0) & was_open
    flows = (month_out, st.late_supplier_payments_cny, st.unmet_gap_cny, fm.gap_cny)
    # The whole book, then each sector: its rows in row order (a stable sort by sector), so a
    # sector's values are one slice of each column gathered once, the same values in the same
    # order as a mask over every firm (the same sums and quantiles, bit for bit).
    order = np.argsort(sector, kind="stable")
    sectors = [slice(None), *_slices(np.cumsum(np.bincount(sector, minlength=k)))]
    sorted_flows = [flows, [x[order] for x in flows]]
    keep = open_days[order]
    days = [b.open_days, f.buffer_days[order][keep]]
    day_slices = [slice(None), *_slices(np.cumsum(np.bincount(sector[open_days], minlength=k)))]
    liq_sorted = b.liquidity[order]
    liq = [b.liquidity[finite_liq], liq_sorted[np.isfinite(liq_sorted)]]
    liq_slices = [slice(None), *_slices(np.cumsum(np.bincount(sector[finite_liq], minlength=k)))]

    def counts(mask: np.ndarray) -> np.ndarray:
        # (1 + k,): the rows where mask holds, over all firms and per sector.
        per = np.bincount(sector[mask], minlength=k)
        return np.concatenate([[int(np.count_nonzero(mask))], per])

    n_open, n_short = counts(f.is_open), counts(f.in_shortfall)
    n_wo, n_gap_wo = counts(was_open), counts(gap_wo)
    cause = np.bincount(st.closure_cause, minlength=n_causes)[None, :]
    by_sector = sector.astype(np.int64) * n_causes + st.closure_cause
    per = np.bincount(by_sector, minlength=k * n_causes).reshape(k, n_causes)
    cause = np.concatenate([cause, per])
    rows = []
    for g, name in enumerate(["all", *names]):
        s, part = sectors[g], min(g, 1)
        d = days[part][day_slices[g]]
        q = b.open_days_q if g == 0 else _quantiles(d)
        lq = liq[part][liq_slices[g]]
        out, late, unmet, gap = (x[s] for x in sorted_flows[part])
        out_sum = out.sum()
        wo = int(n_wo[g])
        row: dict[str, object] = {"step": int(month.step), "sector": name, "n_open": int(n_open[g])}
        row |= {f"buffer_days_p{p}": float(v) for p, v in zip(BUFFER_QUANTILES, q, strict=True)}
        row |= {
            "buffer_days_mean": float(d.mean()) if d.size else np.nan,
            "share_buffer_under_15d": int(np.count_nonzero(d < 15)) / d.size if d.size else np.nan,
            "share_buffer_under_7d": int(np.count_nonzero(d < 7)) / d.size if d.size else np.nan,
            "firms_in_shortfall": int(n_short[g]),
            "late_supplier_payments_cny": float(late.sum()),
            "unmet_financing_gap_cny": float(unmet.sum()),
            "closures_shortfall": int(cause[g, ClosureCause.SHORTFALL]),
            "closures_exit": int(cause[g, ClosureCause.EXIT]),
            "liquidity_buffer_days_p50": float(np.median(lq)) if lq.size else np.nan,
            "gap_incidence": int(n_gap_wo[g]) / wo if wo else np.nan,
            "gap_share_of_outflows": float(gap.sum() / out_sum) if out_sum > 0 else np.nan,
            "closures_distress": int(cause[g, ClosureCause.DISTRESS]),
        }
        rows.append(row)
    return rows
