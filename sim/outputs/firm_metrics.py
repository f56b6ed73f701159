"""Small-business metrics: the monthly cash-flow stress columns and the ``firms`` table rows.

Read from the firm state and the month's settlement; NaN (or no rows) when no firms are
simulated (``firms.owner_share = 0``). Part of the monthly metrics
(:func:`sim.outputs.metrics.monthly_metrics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.world.firms import ClosureCause

if TYPE_CHECKING:
    from sim.month import Month, World

#: Small-business cash-flow stress columns (NaN when no firms are simulated).
FIRM_METRICS: tuple[str, ...] = (
    "median_cash_buffer_days",
    "share_buffer_under_15d",
    "closure_rate",
    "late_supplier_payments_cny",
    "n_open_firms",
    "buffer_days_p25",
    "buffer_days_p75",
    "share_buffer_under_7d",
    "firms_in_shortfall",
    "late_supplier_payment_count",
    "overdue_supplier_payables_cny",
    "supplier_bad_debt_cny",
    "firm_financing_gap_cny",
    "unmet_financing_gap_cny",
    "firm_platform_draws_cny",
    "owner_injection_cny",
    "owner_draw_cny",
    "firm_closures",
    "closures_shortfall",
    "closures_exit",
    "cumulative_closure_rate",
)


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
)
#: Buffer-day quantiles of :data:`FIRM_TABLE_COLUMNS` (percent levels).
BUFFER_QUANTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def firm_stress_metrics(world: World, month: Month) -> dict[str, float]:
    """Small-business cash-flow stress of the month, read from the state (no side effects).

    Buffer-day statistics are over firms open at the end of the month with a finite
    buffer (cash / average daily outflow, days; JPMorgan Chase Institute 2016 definition);
    amounts are this month's flows in CNY; rates are fractions of firms open at the start
    of the month (monthly) or of all firms (cumulative).

    Args:
        world: the run's state after this month's settlement.
        month: the finished month.

    Returns:
        A dict keyed by :data:`FIRM_METRICS`; every value is NaN without firms or before
        the first settlement.
    """
    f = world.firms
    names = FIRM_METRICS
    if f.n == 0 or month.settlement is None:
        return dict.fromkeys(names, np.nan)
    st = month.settlement
    fm = month.firm_month
    t = month.transfers
    days = f.buffer_days[f.is_open & np.isfinite(f.buffer_days)]
    closing = st.new_closure
    open_start = int(f.is_open.sum() + closing.sum())
    has_days = days.size > 0
    p25, p50, p75 = np.percentile(days, [25, 50, 75]) if has_days else (np.nan,) * 3
    return {
        "median_cash_buffer_days": float(p50),
        "share_buffer_under_15d": float((days < 15).mean()) if has_days else np.nan,
        "closure_rate": float(closing.sum()) / open_start if open_start else np.nan,
        "late_supplier_payments_cny": float(st.late_supplier_payments_cny.sum()),
        "n_open_firms": int(f.is_open.sum()),
        "buffer_days_p25": float(p25),
        "buffer_days_p75": float(p75),
        "share_buffer_under_7d": float((days < 7).mean()) if has_days else np.nan,
        "firms_in_shortfall": int(f.in_shortfall.sum()),
        "late_supplier_payment_count": int((st.late_supplier_payments_cny > 0).sum()),
        "overdue_supplier_payables_cny": float(st.overdue_supplier_cny.sum()),
        "supplier_bad_debt_cny": float(st.supplier_bad_debt_cny.sum()),
        "firm_financing_gap_cny": float(fm.gap_cny.sum()),
        "unmet_financing_gap_cny": float(st.unmet_gap_cny.sum()),
        "firm_platform_draws_cny": float(t.firm_platform_draws_cny.sum()),
        "owner_injection_cny": float(t.owner_injection_cny.sum()),
        "owner_draw_cny": float(t.owner_draw_cny.sum()),
        "firm_closures": int(closing.sum()),
        "closures_shortfall": int((st.closure_cause == ClosureCause.SHORTFALL).sum()),
        "closures_exit": int((st.closure_cause == ClosureCause.EXIT).sum()),
        "cumulative_closure_rate": float((~f.is_open).mean()),
    }


def firm_sector_rows(world: World, month: Month) -> list[dict[str, object]]:
    """This month's firm statistics per sector and for ``"all"`` (rows of the ``firms`` table).

    Buffer-day quantiles (:data:`BUFFER_QUANTILES`) and shares are over open firms at the
    end of the month (NaN for a sector without open firms); flows are this month's.

    Returns:
        One dict per sector and one for ``"all"``, keyed by :data:`FIRM_TABLE_COLUMNS`;
        empty without firms.
    """
    f = world.firms
    st = month.settlement
    if f.n == 0 or st is None:
        return []
    names = world.sectors.names
    groups = [("all", np.ones(f.n, dtype=bool))] + [(n, f.sector == i) for i, n in enumerate(names)]
    rows = []
    for name, mask in groups:
        live = mask & f.is_open
        days = f.buffer_days[live & np.isfinite(f.buffer_days)]
        q = (
            np.percentile(days, BUFFER_QUANTILES)
            if days.size
            else np.full(len(BUFFER_QUANTILES), np.nan)
        )
        row: dict[str, object] = {
            "step": int(month.step),
            "sector": name,
            "n_open": int(live.sum()),
        }
        row |= {f"buffer_days_p{p}": float(v) for p, v in zip(BUFFER_QUANTILES, q, strict=True)}
        row |= {
            "buffer_days_mean": float(days.mean()) if days.size else np.nan,
            "share_buffer_under_15d": float((days < 15).mean()) if days.size else np.nan,
            "share_buffer_under_7d": float((days < 7).mean()) if days.size else np.nan,
            "firms_in_shortfall": int((f.in_shortfall & mask).sum()),
            "late_supplier_payments_cny": float(st.late_supplier_payments_cny[mask].sum()),
            "unmet_financing_gap_cny": float(st.unmet_gap_cny[mask].sum()),
            "closures_shortfall": int(((st.closure_cause == ClosureCause.SHORTFALL) & mask).sum()),
            "closures_exit": int(((st.closure_cause == ClosureCause.EXIT) & mask).sum()),
        }
        rows.append(row)
    return rows
