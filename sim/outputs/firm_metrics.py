"""Small-business metrics: the monthly cash-flow stress columns and the ``firms`` table rows.

Read from the firm state and the month's settlement; NaN (or no rows) when no firms are
simulated (``firms.owner_share = 0``). Part of the monthly metrics
(:func:`sim.outputs.metrics.monthly_metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.lending.funding import personal_lines
from sim.outputs.collect_kernel import liquidity_days_kernel
from sim.outputs.collect_reference import liquidity_days_reference
from sim.world.firms import ClosureCause, cash_buffer_days
from sim.world.firms.state import DAYS_PER_MONTH

if TYPE_CHECKING:
    from sim.month import Month, World

#: Closure causes driven by the firm's finances (forced shortfall closures, distress exits).
DISTRESS_CAUSES: tuple[int, ...] = (int(ClosureCause.SHORTFALL), int(ClosureCause.DISTRESS))


def usable_credit_cny(world: World) -> np.ndarray:
    """Undrawn credit each firm or its owner can use for the business today, ``(n_firms,)``.

    The owner's undrawn platform limit (open line) and undrawn personal lines (cards,
    consumer online lenders: :func:`sim.lending.funding.personal_lines`) count only when
    the owner uses personal credit for the business
    (``FirmState.uses_personal_credit``, the same rule as the funding waterfall), and the
    part earmarked for the firm (``BorrowerState.earmarked_cny``) for every owner; every
    firm counts the undrawn part of the facilities the owner holds with lenders that fund
    firms (not defaulted, open by now). Instant lenders count once they have set the
    owner a limit; a facility still in approval does not. 0 for closed firms. Read-only.
    """
    s, f, ch = world.borrowers, world.firms, world.channels
    o = f.owner
    personal = f.uses_personal_credit
    headroom = np.maximum(s.limit_cny[o] - s.balance_cny[o], 0.0)
    owner_open = ~(s.defaulted[o] | s.closed[o])
    platform = np.where(
        owner_open, np.where(personal, headroom, np.minimum(s.earmarked_cny[o], headroom)), 0.0
    )
    total = platform
    if ch.k:
        # The owners' accounts only (their slots' rows), not every borrower's.
        tables = ch.account_tables("limit_cny", "balance_cny", "defaulted", "open_step")
        slots = ch.slot_of[o]
        limit, balance, defaulted, open_step = (t[slots] for t in tables)
        ok = ~defaulted & (open_step <= world.serviced_step)
        is_personal = personal_lines(ch)
        usable = ch.for_firms[None, :] & ok & (~is_personal[None, :] | personal[:, None])
        total = total + np.where(usable, np.maximum(limit - balance, 0.0), 0.0).sum(axis=1)
    return np.where(f.is_open, total, 0.0)


def liquidity_buffer_days(world: World) -> np.ndarray:
    """Liquidity buffer days of each firm at the end of the month, ``(n_firms,)``.

    ``(cash + usable undrawn credit) / average daily outflow`` (:func:`usable_credit_cny`;
    the outflow as for cash buffer days); NaN for closed firms or without outflows. The
    same numbers in every implementation (:func:`sim.compiled.implementation`): ``numpy``
    array passes, ``compiled`` one pass over the firms
    (:func:`sim.outputs.collect_kernel.liquidity_days_kernel`), ``reference`` one firm at
    a time.
    """
    how = implementation()
    if how == "numpy":
        f = world.firms
        days = cash_buffer_days(f.cash_cny + usable_credit_cny(world), f.mean_outflow_cny)
        return np.where(f.is_open, days, np.nan)
    s, f, ch = world.borrowers, world.firms, world.channels
    args = (
        f.owner, f.is_open, f.uses_personal_credit, f.cash_cny, f.mean_outflow_cny,
        s.limit_cny, s.balance_cny, s.defaulted, s.closed, s.earmarked_cny, ch.slot_of,
        *ch.account_tables("limit_cny", "balance_cny", "defaulted", "open_step"),
        int(world.serviced_step), ch.for_firms, personal_lines(ch), float(DAYS_PER_MONTH),
    )  # fmt: skip
    if how == "reference":
        return liquidity_days_reference(*args)
    return liquidity_days_kernel(*args)


@dataclass(frozen=True)
class FirmBuffers:
    """A month's buffer-day arrays, made once (:func:`firm_buffers`) for the metrics.

    Shared by :func:`firm_stress_metrics` and :func:`firm_sector_rows`.

    Attributes:
        liquidity: ``(n_firms,)`` :func:`liquidity_buffer_days`.
        open_days: cash buffer days of the firms open with finite days, in row order.
        open_days_q: ``np.percentile(open_days, BUFFER_QUANTILES)`` (NaN when empty).
        finite_liquidity: the finite entries of ``liquidity`` (the open firms'), in row order.
    """

    liquidity: np.ndarray
    open_days: np.ndarray
    open_days_q: np.ndarray
    finite_liquidity: np.ndarray


def firm_buffers(world: World) -> FirmBuffers:
    """The month's :class:`FirmBuffers` (reads only)."""
    f = world.firms
    days = f.buffer_days[f.is_open & np.isfinite(f.buffer_days)]
    q = (
        np.percentile(days, BUFFER_QUANTILES)
        if days.size
        else np.full(len(BUFFER_QUANTILES), np.nan)
    )
    liquidity = liquidity_buffer_days(world)
    return FirmBuffers(liquidity, days, q, liquidity[np.isfinite(liquidity)])


def stock_build_month(world: World, month: Month) -> np.ndarray:
    """``(n_firms,)`` bool: this month the firm buys the stock of its sector's first peak month.

    The month ``stock_lead_months`` before the first month of a run of peak months
    (:meth:`sim.world.firms.SectorTable.peak_months`), where the season's stock is bought.
    """
    fc = world.config.firms
    peaks = world.sectors.peak_months(
        fc.peak_excess_share, fc.peak_min_excess, world.config.scenario.firm_peak_multiplier
    )
    ahead = (month.macro.calendar_month - 1 + fc.stock_lead_months) % 12
    first = peaks[:, ahead] & ~peaks[:, (ahead - 1) % 12]
    return first[world.firms.sector]


def gap_funding_apr(world: World, month: Month) -> float:
    """Amount-weighted APR of what funded the month's firm gaps (NaN when none was funded).

    Own cash counts at 0, the platform at the owner's APR, other lenders at their carrying
    APR (APR + 12 x monthly fee; upfront fees left out). Unfunded gaps are not counted.
    """
    ff = month.firm_funding
    if ff is None:
        return np.nan
    apr_of = {"own_cash": 0.0, "platform": world.borrowers.apr[world.firms.owner]}
    num = den = 0.0
    for name, amount in ff.by_step.items():
        rate = apr_of.get(name)
        if rate is None:
            rate = world.channels.carrying_apr[world.channels.index(name)]
        num += float((amount * rate).sum())
        den += float(amount.sum())
    return num / den if den > 0 else np.nan


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
    "median_liquidity_buffer_days",
    "liquidity_buffer_days_p25",
    "gap_incidence",
    "gap_share_of_outflows",
    "gap_funding_apr",
    "closures_distress",
    "distress_exit_share",
    "gap_incidence_stock_build",
    "gap_incidence_other_months",
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
    "liquidity_buffer_days_p50",
    "gap_incidence",
    "gap_share_of_outflows",
    "closures_distress",
)
#: Buffer-day quantiles of :data:`FIRM_TABLE_COLUMNS` (percent levels).
BUFFER_QUANTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def firm_stress_metrics(
    world: World, month: Month, buffers: FirmBuffers | None = None
) -> dict[str, float]:
    """Small-business cash-flow stress of the month, read from the state (no side effects).

    Buffer-day statistics are over firms open at the end of the month with a finite
    buffer: cash buffer days (the month's average balance, the mean of its opening and
    closing cash, over the average daily outflow; JPMorgan Chase Institute 2016) and
    liquidity buffer days (closing cash + usable undrawn credit, :func:`liquidity_buffer_days`);
    amounts are this month's flows in CNY; rates are fractions of firms open at the start
    of the month (monthly) or of all firms (cumulative). ``gap_incidence`` is the share of
    firms open at the start with a liquidity gap, ``gap_share_of_outflows`` the gaps over
    the month's operating outflows (purchases + fixed costs), ``gap_funding_apr`` the
    amount-weighted APR of what funded them (:func:`gap_funding_apr`),
    ``distress_exit_share`` the share of this month's closures caused by distress
    (shortfall closures and distress exits, :data:`DISTRESS_CAUSES`);
    ``gap_incidence_stock_build`` / ``gap_incidence_other_months`` split the gap incidence
    between firms buying a peak's stock this month (:func:`stock_build_month`) and the rest.

    Args:
        world: the run's state after this month's settlement.
        month: the finished month.
        buffers: the month's :func:`firm_buffers` if already made (made here if None).

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
    b = firm_buffers(world) if buffers is None else buffers
    days = b.open_days
    closing = st.new_closure
    n_closing = int(np.count_nonzero(closing))
    n_open = int(np.count_nonzero(f.is_open))
    open_start = n_open + n_closing
    n_days = days.size
    # The quartiles are the 25, 50, 75 % entries of the buffer-day quantiles.
    p25, p50, p75 = b.open_days_q[1:4]
    liq = b.finite_liquidity
    lq25, lq50 = np.percentile(liq, [25, 50]) if liq.size else (np.nan, np.nan)
    was_open = f.is_open | closing
    outflow = float((fm.purchases_cny + np.where(was_open, f.fixed_cost_cny, 0.0)).sum())
    distress = int(np.isin(st.closure_cause[closing], DISTRESS_CAUSES).sum())
    build = stock_build_month(world, month) & was_open
    other = was_open & ~build
    gap = fm.gap_cny > 0
    cause = np.bincount(st.closure_cause, minlength=len(ClosureCause))
    gap_total = float(fm.gap_cny.sum())

    def share(hit: np.ndarray, among: np.ndarray) -> float:
        # The mean of ``hit`` over the rows of ``among`` (NaN for none): count / count.
        n = int(np.count_nonzero(among))
        return int(np.count_nonzero(hit & among)) / n if n else np.nan

    return {
        "median_cash_buffer_days": float(p50),
        "share_buffer_under_15d": int(np.count_nonzero(days < 15)) / n_days if n_days else np.nan,
        "closure_rate": float(n_closing) / open_start if open_start else np.nan,
        "late_supplier_payments_cny": float(st.late_supplier_payments_cny.sum()),
        "n_open_firms": n_open,
        "buffer_days_p25": float(p25),
        "buffer_days_p75": float(p75),
        "share_buffer_under_7d": int(np.count_nonzero(days < 7)) / n_days if n_days else np.nan,
        "firms_in_shortfall": int(np.count_nonzero(f.in_shortfall)),
        "late_supplier_payment_count": int(np.count_nonzero(st.late_supplier_payments_cny > 0)),
        "overdue_supplier_payables_cny": float(st.overdue_supplier_cny.sum()),
        "supplier_bad_debt_cny": float(st.supplier_bad_debt_cny.sum()),
        "firm_financing_gap_cny": gap_total,
        "unmet_financing_gap_cny": float(st.unmet_gap_cny.sum()),
        "firm_platform_draws_cny": float(t.firm_platform_draws_cny.sum()),
        "owner_injection_cny": float(t.owner_injection_cny.sum()),
        "owner_draw_cny": float(t.owner_draw_cny.sum()),
        "firm_closures": n_closing,
        "closures_shortfall": int(cause[ClosureCause.SHORTFALL]),
        "closures_exit": int(cause[ClosureCause.EXIT]),
        "cumulative_closure_rate": (f.n - n_open) / f.n,
        "median_liquidity_buffer_days": float(lq50),
        "liquidity_buffer_days_p25": float(lq25),
        "gap_incidence": share(gap, was_open) if open_start else np.nan,
        "gap_share_of_outflows": gap_total / outflow if outflow > 0 else np.nan,
        "gap_funding_apr": gap_funding_apr(world, month),
        "closures_distress": int(cause[ClosureCause.DISTRESS]),
        "distress_exit_share": distress / n_closing if n_closing else np.nan,
        "gap_incidence_stock_build": share(gap, build),
        "gap_incidence_other_months": share(gap, other),
    }


def firm_sector_rows(
    world: World, month: Month, buffers: FirmBuffers | None = None
) -> list[dict[str, object]]:
    """This month's firm statistics per sector and for ``"all"`` (rows of the ``firms`` table).

    Buffer-day quantiles (:data:`BUFFER_QUANTILES`) and shares are over open firms at the
    end of the month (NaN for a sector without open firms); flows are this month's.
    ``buffers``: the month's :func:`firm_buffers` if already made.

    Returns:
        One dict per sector and one for ``"all"``, keyed by :data:`FIRM_TABLE_COLUMNS`;
        empty without firms.
    """
    f = world.firms
    st = month.settlement
    if f.n == 0 or st is None:
        return []
    b = firm_buffers(world) if buffers is None else buffers
    fm = month.firm_month
    was_open = f.is_open | st.new_closure
    month_out = fm.purchases_cny + np.where(was_open, f.fixed_cost_cny, 0.0)
    open_days = f.is_open & np.isfinite(f.buffer_days)
    # Each sector's rows in row order (a stable sort by sector): gathering them gives the
    # same values in the same order as a mask over every firm, at a fraction of the cost.
    order = np.argsort(f.sector, kind="stable")
    ends = np.cumsum(np.bincount(f.sector, minlength=len(world.sectors.names)))
    groups: list[tuple[str, np.ndarray | None]] = [("all", None)]
    for i, name in enumerate(world.sectors.names):
        groups.append((name, order[ends[i - 1] if i else 0 : ends[i]]))
    cause_of = st.closure_cause
    rows = []
    for name, sel in groups:

        def rows_of(x: np.ndarray, sel: np.ndarray | None = sel) -> np.ndarray:
            return x if sel is None else x[sel]

        if sel is None:
            days, q = b.open_days, b.open_days_q
        else:
            days = rows_of(f.buffer_days)[rows_of(open_days)]
            q = (
                np.percentile(days, BUFFER_QUANTILES)
                if days.size
                else np.full(len(BUFFER_QUANTILES), np.nan)
            )
        cause = np.bincount(rows_of(cause_of), minlength=len(ClosureCause))
        if sel is None:
            liq = b.finite_liquidity
        else:
            liq = rows_of(b.liquidity)
            liq = liq[np.isfinite(liq)]  # NaN for closed firms: the open firms' finite days
        wo = rows_of(was_open)
        n_wo = int(np.count_nonzero(wo))
        out_sum = rows_of(month_out).sum()
        row: dict[str, object] = {
            "step": int(month.step),
            "sector": name,
            "n_open": int(np.count_nonzero(rows_of(f.is_open))),
        }
        row |= {f"buffer_days_p{p}": float(v) for p, v in zip(BUFFER_QUANTILES, q, strict=True)}
        row |= {
            "buffer_days_mean": float(days.mean()) if days.size else np.nan,
            "share_buffer_under_15d": int(np.count_nonzero(days < 15)) / days.size
            if days.size
            else np.nan,
            "share_buffer_under_7d": int(np.count_nonzero(days < 7)) / days.size
            if days.size
            else np.nan,
            "firms_in_shortfall": int(np.count_nonzero(rows_of(f.in_shortfall))),
            "late_supplier_payments_cny": float(rows_of(st.late_supplier_payments_cny).sum()),
            "unmet_financing_gap_cny": float(rows_of(st.unmet_gap_cny).sum()),
            "closures_shortfall": int(cause[ClosureCause.SHORTFALL]),
            "closures_exit": int(cause[ClosureCause.EXIT]),
            "liquidity_buffer_days_p50": float(np.median(liq)) if liq.size else np.nan,
            "gap_incidence": (
                int(np.count_nonzero((rows_of(fm.gap_cny) > 0) & wo)) / n_wo if n_wo else np.nan
            ),
            "gap_share_of_outflows": (
                float(rows_of(fm.gap_cny).sum() / out_sum) if out_sum > 0 else np.nan
            ),
            "closures_distress": int(cause[ClosureCause.DISTRESS]),
        }
        rows.append(row)
    return rows
