"""The record of a firm month's operating half and the inputs its implementations share.

:class:`FirmMonth` is what stage ``enterprise`` (:func:`sim.world.firms.operate`) writes.
:func:`operating_inputs` is the part of the month every implementation of the stage
(NumPy passes, compiled kernel, per-firm reference) takes from NumPy: the persistent revenue
component's AR(1) step, the two exponentials of the revenue shocks, and the sector
calendars of the month. The exponentials stay in NumPy because NumPy's SIMD ``exp``
differs from the C library's (which numba and :mod:`math` call) in the last bit for
about 5 % of arguments: taking them once, here, keeps the three implementations
bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.world.draws import FirmDraws
from sim.world.firms.sectors import SectorTable
from sim.world.firms.state import FirmState


@dataclass
class FirmMonth:
    """The operating half of a firm month (:func:`sim.world.firms.operate`), ``(n_firms,)``.

    Per firm unless noted.

    Attributes:
        outside_sales_cny: sales to outside buyers (0 when closed).
        network_sales_cny: sales to network buyers (their purchases from this firm).
        collections_cny: outside collections received now (cash sales + receivables due).
        purchases_cny: stock bought this month.
        fixed_due_cny: fixed costs due (this month's + arrears).
        supplier_due_outside_cny: due to outside suppliers (this month's + overdue).
        edge_due_cny: ``(n_edges,)`` due to each network supplier (this month's + overdue).
        supplier_due_network_cny: due to network suppliers, per buyer.
        new_supplier_due_cny: supplier payables that fall due this month (not overdue).
        obligations_cny: everything due this month.
        cash_available_cny: cash at the start plus this month's collections.
        gap_cny: the liquidity gap, ``max(obligations - cash_available, 0)``.
        opening_cash_cny: cash at the start of the month, before sales.
        stock_build_cny: stock bought ahead of a peak for the months after it (part of
            ``purchases_cny``).
    """

    outside_sales_cny: np.ndarray
    network_sales_cny: np.ndarray
    collections_cny: np.ndarray
    purchases_cny: np.ndarray
    fixed_due_cny: np.ndarray
    supplier_due_outside_cny: np.ndarray
    edge_due_cny: np.ndarray
    supplier_due_network_cny: np.ndarray
    new_supplier_due_cny: np.ndarray
    obligations_cny: np.ndarray
    cash_available_cny: np.ndarray
    gap_cny: np.ndarray
    opening_cash_cny: np.ndarray | None = None
    stock_build_cny: np.ndarray | None = None


@dataclass
class OperatingInputs:
    """The NumPy-side inputs of one firm month (:func:`operating_inputs`).

    Attributes:
        level: ``(n_firms,)`` the persistent revenue level ``exp(persistent_log -
            persistent_sigma^2 / 2)`` after this month's AR(1) step.
        shock: ``(n_firms,)`` the transitory revenue factor ``exp(revenue_sigma x z -
            revenue_sigma^2 / 2)``.
        season_now: ``(n_sectors,)`` this calendar month's revenue multipliers.
        season_ahead: ``(n_sectors,)`` the multipliers ``stock_lead_months`` ahead.
        prebuy_first: ``(n_sectors,)`` bool, the month stocked for is the first month of
            a peak and the season's stock after it is bought now (all False when
            ``peak_prebuy_months`` is 0).
        prebuy_season: ``(n_sectors,)`` the summed multipliers of the
            ``peak_prebuy_months`` months after the stocked month (0 when not pre-buying).
    """

    level: np.ndarray
    shock: np.ndarray
    season_now: np.ndarray
    season_ahead: np.ndarray
    prebuy_first: np.ndarray
    prebuy_season: np.ndarray


def operating_inputs(
    firms: FirmState,
    sectors: SectorTable,
    draws: FirmDraws,
    *,
    calendar_month: int,
    stock_lead_months: int,
    revenue_persistence: float,
    peak_multiplier: float = 1.0,
    peak_months: np.ndarray | None = None,
    peak_prebuy_months: int = 0,
) -> OperatingInputs:
    """Advance ``firms.persistent_log`` one month and take the month's NumPy inputs.

    Computed once, for every implementation of the stage (so all see the same bits).
    Updates ``persistent_log`` (a new array).

    Args:
        firms: firm arrays.
        sectors: the sector table.
        draws: this month's firm draws.
        calendar_month: calendar month of the step, 1..12.
        stock_lead_months: stock is bought this many months before it is sold.
        revenue_persistence: AR(1) coefficient of the persistent revenue component.
        peak_multiplier: the scenario's ``firm_peak_multiplier``.
        peak_months: ``(n_sectors, 12)`` bool seasonal peaks; needed for pre-buying.
        peak_prebuy_months: months of a season's stock bought ahead of its first peak.

    Returns:
        The :class:`OperatingInputs`.
    """
    f = firms
    sec = f.sector
    rho = revenue_persistence
    psig = sectors.persistent_sigma[sec]
    tsig = sectors.revenue_sigma[sec]
    f.persistent_log = rho * f.persistent_log + psig * np.sqrt(1.0 - rho**2) * draws.z_persistent
    level = np.exp(f.persistent_log - 0.5 * psig**2)
    shock = np.exp(tsig * draws.z_transitory - 0.5 * tsig**2)
    n_sectors = len(sectors.names)
    first = np.zeros(n_sectors, dtype=bool)
    later = np.zeros(n_sectors)
    if peak_prebuy_months > 0 and peak_months is not None:
        m_ahead = (calendar_month - 1 + stock_lead_months) % 12
        first = peak_months[:, m_ahead] & ~peak_months[:, (m_ahead - 1) % 12]
        later = sum(
            sectors.season(calendar_month + stock_lead_months + j, peak_multiplier)
            for j in range(1, peak_prebuy_months + 1)
        )
    return OperatingInputs(
        level=level,
        shock=shock,
        season_now=sectors.season(calendar_month, peak_multiplier),
        season_ahead=sectors.season(calendar_month + stock_lead_months, peak_multiplier),
        prebuy_first=np.ascontiguousarray(first, dtype=np.bool_),
        prebuy_season=np.asarray(later, dtype=np.float64),
    )
