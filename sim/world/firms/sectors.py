"""The sector table: sector shares, terms, costs and seasonality (:class:`SectorTable`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import FirmsConfig


@dataclass(frozen=True)
class SectorTable:
    """The sector table as arrays, one entry per sector (index = position in ``names``).

    Attributes:
        names: sector names, in config order.
        share: ``(n_sectors,)`` normalised shares of firms.
        seasonality: ``(n_sectors, 12)`` revenue multipliers, January first.
        Every other attribute is ``(n_sectors,)``, named as in
        :class:`sim.config.SectorConfig`; ``supplier_sectors`` is a list of index lists.
    """

    names: tuple[str, ...]
    share: np.ndarray
    revenue_income_multiple: np.ndarray
    revenue_size_sigma: np.ndarray
    revenue_sigma: np.ndarray
    persistent_sigma: np.ndarray
    seasonality: np.ndarray
    cogs_ratio: np.ndarray
    fixed_cost_ratio: np.ndarray
    credit_sales_share: np.ndarray
    receivable_terms_months: np.ndarray
    payable_terms_months: np.ndarray
    network_purchase_share: np.ndarray
    target_buffer_days: np.ndarray
    target_buffer_sigma: np.ndarray
    anchor_buyer_share: np.ndarray
    supplier_sectors: list[list[int]]

    @classmethod
    def from_config(cls, config: FirmsConfig) -> SectorTable:
        """Build the table from the validated ``firms`` config."""
        names = tuple(config.sectors)
        sectors = [config.sectors[n] for n in names]

        def col(attr: str, dtype: type = np.float64) -> np.ndarray:
            return np.array([getattr(s, attr) for s in sectors], dtype=dtype)

        share = col("share")
        return cls(
            names=names,
            share=share / share.sum(),
            revenue_income_multiple=col("revenue_income_multiple"),
            revenue_size_sigma=col("revenue_size_sigma"),
            revenue_sigma=col("revenue_sigma"),
            persistent_sigma=col("persistent_sigma"),
            seasonality=np.array([s.seasonality for s in sectors], dtype=np.float64),
            cogs_ratio=col("cogs_ratio"),
            fixed_cost_ratio=col("fixed_cost_ratio"),
            credit_sales_share=col("credit_sales_share"),
            receivable_terms_months=col("receivable_terms_months", np.int64),
            payable_terms_months=col("payable_terms_months", np.int64),
            network_purchase_share=col("network_purchase_share"),
            target_buffer_days=col("target_buffer_days"),
            target_buffer_sigma=col("target_buffer_sigma"),
            anchor_buyer_share=col("anchor_buyer_share"),
            supplier_sectors=[[names.index(x) for x in s.supplier_sectors] for s in sectors],
        )

    def season(self, calendar_month: int, peak_multiplier: float = 1.0) -> np.ndarray:
        """Revenue multipliers of a calendar month, ``(n_sectors,)``.

        Args:
            calendar_month: 1..12 (any integer: taken modulo 12).
            peak_multiplier: scales the part of a multiplier above 1 (the scenario's
                ``firm_peak_multiplier``: 1.5 makes a 1.2 peak 1.3).
        """
        m = self.seasonality[:, (int(calendar_month) - 1) % 12]
        return np.where(m > 1.0, 1.0 + peak_multiplier * (m - 1.0), m)

    def peak_ahead(
        self, calendar_month: int, lookahead: int, threshold: float, peak_multiplier: float = 1.0
    ) -> np.ndarray:
        """``(n_sectors,)`` bool: a peak month (multiplier >= threshold) in the next months.

        Args:
            calendar_month: the current calendar month, 1..12.
            lookahead: months ahead checked (``calendar_month + 1 .. + lookahead``).
            threshold: multiplier marking a peak.
            peak_multiplier: as in :meth:`season`.
        """
        out = np.zeros(len(self.names), dtype=bool)
        for k in range(1, lookahead + 1):
            out |= self.season(calendar_month + k, peak_multiplier) >= threshold
        return out

    def peak_months(
        self, excess_share: float, min_excess: float, peak_multiplier: float = 1.0
    ) -> np.ndarray:
        """``(n_sectors, 12)`` bool: the seasonal peaks of each sector, on its own scale.

        A calendar month is a peak of its sector when its excess over 1 is at least
        ``excess_share`` of the sector's largest excess, and that largest excess is at
        least ``min_excess``: every sector with a season has a peak, however mild (a
        services calendar peaking at 1.10 peaks like a retail one at 1.50).

        Args:
            excess_share: share of the largest excess that marks a peak, in (0, 1].
            min_excess: a sector whose largest multiplier is below ``1 + min_excess`` has
                no peak.
            peak_multiplier: as in :meth:`season` (scales every excess alike, so the peak
                months only change through ``min_excess``).
        """
        season = np.stack([self.season(m, peak_multiplier) for m in range(1, 13)], axis=1)
        excess = season - 1.0
        top = excess.max(axis=1, keepdims=True)
        return (top >= min_excess - 1e-12) & (top > 0) & (excess >= excess_share * top - 1e-9)

    def relative_peak_ahead(
        self,
        calendar_month: int,
        lookahead: int,
        excess_share: float,
        min_excess: float,
        peak_multiplier: float = 1.0,
    ) -> np.ndarray:
        """``(n_sectors,)`` bool: a :meth:`peak_months` peak in the next ``lookahead`` months."""
        peaks = self.peak_months(excess_share, min_excess, peak_multiplier)
        out = np.zeros(len(self.names), dtype=bool)
        for k in range(1, lookahead + 1):
            out |= peaks[:, (int(calendar_month) + k - 1) % 12]
        return out
