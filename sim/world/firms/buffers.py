"""Cash buffer days, owner draws and the firm signals the platform sees.

Cash buffer days (JPMorgan Chase Institute 2016) are ``cash / average daily outflow``,
the outflow being the accrued operating outflows (purchases + fixed costs) averaged over
the last ``outflow_window_months`` months, over ``DAYS_PER_MONTH`` days a month.

References:
    JPMorgan Chase Institute (2016). Cash is King: Flows, Balances, and Buffer Days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.units import round_cny
from sim.world.firms.state import DAYS_PER_MONTH, FirmState

if TYPE_CHECKING:
    from sim.month import World


def cash_buffer_days(cash_cny: np.ndarray, monthly_outflow_cny: np.ndarray) -> np.ndarray:
    """Cash buffer days: cash / average daily outflow (JPMorgan Chase Institute 2016).

    Args:
        cash_cny: ``(n,)`` cash balances.
        monthly_outflow_cny: ``(n,)`` average monthly outflows; the daily outflow is this
            / :data:`DAYS_PER_MONTH`.

    Returns:
        ``(n,)`` float64 days; NaN where the outflow is not positive.

    References:
        JPMorgan Chase Institute (2016), Cash is King: median 27 buffer days.
    """
    cash = np.asarray(cash_cny, dtype=np.float64)
    out = np.asarray(monthly_outflow_cny, dtype=np.float64)
    daily = out / DAYS_PER_MONTH
    return np.divide(cash, daily, out=np.full(cash.shape, np.nan), where=daily > 0)


def excess_cash(firms: FirmState) -> np.ndarray:
    """Cash above the target buffer of open firms, ``(n,)`` (0 for closed firms)."""
    return np.where(
        firms.is_open, round_cny(np.maximum(firms.cash_cny - firms.target_cash_cny(), 0.0)), 0.0
    )


def pay_owner_draws(firms: FirmState, owner_draw_rate: float) -> np.ndarray:
    """Pay owners their draws: a share of the cash above target; all cash of closed firms.

    Updates ``cash_cny`` in place.

    Returns:
        ``(n_firms,)`` the draws (to add to the owners' household savings).
    """
    draw = round_cny(np.where(firms.is_open, owner_draw_rate * excess_cash(firms), firms.cash_cny))
    firms.cash_cny = round_cny(firms.cash_cny - draw)
    return draw


def update_buffer_days(firms: FirmState, opening_cash_cny: np.ndarray | None = None) -> np.ndarray:
    """Recompute the month's cash buffer days (NaN for closed firms) and accumulators.

    Measured once a month at the end of settlement: the month's average balance, taken
    as the mean of the opening cash and the closing cash (after bills, debt repayment and
    owner draws), over the average daily outflow. JPMorgan Chase Institute (2016) divides
    the average daily balance; a firm that funds a gap ends the month with no cash but
    held its opening cash for part of it.

    Args:
        firms: firm arrays (``cash_cny`` is the closing cash).
        opening_cash_cny: ``(n_firms,)`` cash at the start of the month; None measures
            the closing cash alone.

    Returns:
        ``(n_firms,)`` the buffer days.
    """
    cash = (
        firms.cash_cny
        if opening_cash_cny is None
        else 0.5 * (np.asarray(opening_cash_cny, dtype=np.float64) + firms.cash_cny)
    )
    days = cash_buffer_days(cash, firms.mean_outflow_cny)
    firms.buffer_days = np.where(firms.is_open, days, np.nan)
    firms.open_months += firms.is_open
    firms.buffer_days_sum += np.where(firms.is_open & np.isfinite(days), days, 0.0)
    return firms.buffer_days


def firm_signals(world: World, calendar_month: int) -> dict[str, np.ndarray]:
    """Per-borrower signals of the owned open firm, for the platform's portfolio view.

    Args:
        world: the run's state.
        calendar_month: this month's calendar month, 1..12.

    Returns:
        ``owns_firm`` (bool: owns a firm that is still open), ``cash_buffer_days``
        (float64, the firm's end-of-month buffer days, NaN without an open firm) and
        ``peak_ahead`` (bool: the firm's sector has a seasonal peak, relative to its own
        seasonality (:meth:`SectorTable.peak_months`), within the next
        ``firms.peak_lookahead_months`` calendar months) and ``uses_personal_credit``
        (bool: the owner funds the firm on personal credit) and ``peak_need_cny``
        (:func:`peak_stock_need_cny` of the owned firm, 0 without one) and
        ``age_months`` (int32 months the owned firm has traded, -1 without one), each
        ``(n_borrowers,)``.
    """
    n = world.borrowers.n
    f = world.firms
    fc = world.config.firms
    live = np.flatnonzero(f.is_open)
    owners = f.owner[live]
    owns = np.zeros(n, dtype=bool)
    owns[owners] = True
    buffer = np.full(n, np.nan)
    buffer[owners] = f.buffer_days[live]
    peak_by_sector = world.sectors.relative_peak_ahead(
        calendar_month,
        fc.peak_lookahead_months,
        fc.peak_excess_share,
        fc.peak_min_excess,
        world.config.scenario.firm_peak_multiplier,
    )
    peak = np.zeros(n, dtype=bool)
    peak[owners] = peak_by_sector[f.sector[live]]
    personal = np.zeros(n, dtype=bool)
    personal[owners] = f.uses_personal_credit[live]
    need = np.zeros(n)
    need[owners] = peak_stock_need_cny(world, calendar_month)[live]
    age = np.full(n, -1, dtype=np.int32)
    age[owners] = f.age_months[live]
    return {
        "owns_firm": owns,
        "cash_buffer_days": buffer,
        "peak_ahead": peak,
        "uses_personal_credit": personal,
        "peak_need_cny": need,
        "age_months": age,
    }


def peak_stock_need_cny(world: World, calendar_month: int) -> np.ndarray:
    """Each firm's projected stock-build shortfall before its next peak, ``(n_firms,)``.

    For a firm whose sector has a peak in the look-ahead window: the peak's stock plus
    the season's pre-bought stock (``cogs x base revenue x persistent level x (peak
    multiplier + peak_prebuy_months)``) plus a month of fixed costs, less the cash and a
    normal month's sales (``base x level``); 0 when that is negative or no peak is ahead.
    What the platform can project from the merchant's flows; a forecast, not the gap.
    """
    f, sec, fc = world.firms, world.sectors, world.config.firms
    mult = world.config.scenario.firm_peak_multiplier
    peaks = sec.peak_months(fc.peak_excess_share, fc.peak_min_excess, mult)
    top = np.zeros(len(sec.names))
    for k in range(1, fc.peak_lookahead_months + 1):
        m = (int(calendar_month) + k - 1) % 12
        top = np.maximum(top, np.where(peaks[:, m], sec.season(m + 1, mult), 0.0))
    level = np.exp(f.persistent_log - 0.5 * sec.persistent_sigma[f.sector] ** 2)
    sales = f.revenue_base_cny * level
    stock = sec.cogs_ratio[f.sector] * sales * (top[f.sector] + fc.peak_prebuy_months)
    need = stock + f.fixed_cost_cny - f.cash_cny - sales
    return np.where(f.is_open & (top[f.sector] > 0), np.maximum(need, 0.0), 0.0)
