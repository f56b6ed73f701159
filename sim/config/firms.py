"""Schema of the ``firms`` group (``conf/firms/default.yaml``): sectors and firm dynamics."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf

from sim.config._checks import _from_dict, _prob, _rng_check
from sim.config.paths import CONF_DIR


@functools.cache
def _default_sector_names() -> tuple[str, ...]:
    return tuple(OmegaConf.load(CONF_DIR / "firms" / "default.yaml")["sectors"])


def __getattr__(name: str) -> Any:
    """``DEFAULT_SECTORS``: the sectors of the default firm population, read on first use.

    The names (``retail``, ``restaurants``...) are the keys of ``sectors`` in
    ``conf/firms/default.yaml``, the one place the default sector table is written.
    """
    if name == "DEFAULT_SECTORS":
        return _default_sector_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class SectorConfig:
    """One business sector: revenue level, volatility, seasonality, costs, terms and buffers.

    Money in CNY a month; ratios are fractions of revenue; terms in months (30 days = 1).

    Attributes:
        share: share of firms in this sector, in [0, 1] (shares are normalised).
        revenue_income_multiple: median monthly revenue / the owner's base monthly income.
        revenue_size_sigma: log-sd of revenue size across firms.
        revenue_sigma: month-to-month transitory log-sd of revenue.
        persistent_sigma: stationary log-sd of the persistent (AR(1)) revenue component.
        seasonality: 12 revenue multipliers, January first (mean about 1).
        cogs_ratio: cost of goods (purchases) / revenue, in [0, 1].
        fixed_cost_ratio: fixed costs (rent, wages) / base revenue, a month.
        credit_sales_share: share of outside sales made on credit (receivables), in [0, 1].
        receivable_terms_months: months until credit sales are collected, 0..3.
        payable_terms_months: months until purchases are paid, 0..3.
        network_purchase_share: share of purchases bought from supplier firms of the model
            (the supply network); the rest from outside suppliers, in [0, 1].
        supplier_sectors: sectors this sector buys from inside the network.
        target_buffer_days: median cash buffer the owner aims to keep, days (> 0).
        target_buffer_sigma: log-sd of the target across firms.
        anchor_buyer_share: share of firms selling on credit to a large buyer, which makes
            them eligible for supply-chain finance, in [0, 1].
    """

    share: float = 0.25
    revenue_income_multiple: float = 4.0
    revenue_size_sigma: float = 0.5
    revenue_sigma: float = 0.15
    persistent_sigma: float = 0.15
    seasonality: list[float] = field(default_factory=lambda: [1.0] * 12)
    cogs_ratio: float = 0.6
    fixed_cost_ratio: float = 0.25
    credit_sales_share: float = 0.2
    receivable_terms_months: int = 1
    payable_terms_months: int = 0
    network_purchase_share: float = 0.3
    supplier_sectors: list[str] = field(default_factory=lambda: ["manufacturing_wholesale"])
    target_buffer_days: float = 27.0
    target_buffer_sigma: float = 0.9
    anchor_buyer_share: float = 0.0

    def check(self, prefix: str) -> None:
        """Range checks (called by :class:`FirmsConfig` with the sector's config path)."""
        _prob(
            self,
            prefix,
            "share",
            "cogs_ratio",
            "credit_sales_share",
            "network_purchase_share",
            "anchor_buyer_share",
        )
        _rng_check(
            self,
            prefix,
            {
                "revenue_income_multiple": (1e-6, 1e6),
                "revenue_size_sigma": (0.0, 5.0),
                "revenue_sigma": (0.0, 5.0),
                "persistent_sigma": (0.0, 5.0),
                "fixed_cost_ratio": (0.0, 10.0),
                "receivable_terms_months": (0, 3),
                "payable_terms_months": (0, 3),
                "target_buffer_days": (1e-6, 3650.0),
                "target_buffer_sigma": (0.0, 5.0),
            },
        )
        if len(self.seasonality) != 12 or any(not 0.0 <= m <= 100.0 for m in self.seasonality):
            raise ValueError(f"{prefix}.seasonality must be 12 multipliers in [0, 100]")


@dataclass
class FirmsConfig:
    """Micro-enterprises owned by borrowers (sole traders) and their supply network.

    Attributes:
        owner_share: share of borrowers who own a firm (one firm each), in [0, 1].
        sectors: the sector table, keyed by sector name; required (no schema default:
            the default table is ``conf/firms/default.yaml``).
        stock_lead_months: stock is bought this many months before it is sold, 0..3.
        revenue_persistence: monthly AR(1) coefficient of the persistent revenue
            component, in [0, 1).
        exit_hazard_monthly: the non-financial exit hazard of a mature firm, probability
            a month that an open firm closes for reasons outside its finances
            (retirement, relocation...), in [0, 1].
        exit_young_excess: how much more likely a new firm exits than a mature one (both
            hazard parts are scaled by ``1 + exit_young_excess x exp(-age /
            exit_young_decay_months)``), >= 0.
        exit_young_decay_months: months over which the young-firm excess decays, > 0.
        exit_low_buffer_days: cash buffer days below which a firm is short of cash for
            the exit hazard (the low-buffer term is ``1 - buffer / this``, in [0, 1]), > 0.
        exit_distress_low_buffer: added monthly exit probability of a firm with no cash
            (scaled down linearly to 0 at ``exit_low_buffer_days``), in [0, 1].
        exit_distress_shortfall: added monthly exit probability per recent shortfall
            month (``shortfall_memory``, a count decaying by ``shortfall_memory_decay``
            a month), in [0, 1].
        exit_distress_unpaid_suppliers: added monthly exit probability while supplier
            bills are overdue, in [0, 1].
        exit_distress_owner_default: added monthly exit probability once the owner has
            defaulted on the platform, in [0, 1].
        shortfall_memory_decay: monthly decay of the recent-shortfall count, in [0, 1].
        peak_prebuy_months: ahead of a peak month the firm also buys the stock of this
            many months after it in one go (the season's stock; later purchases are
            that much smaller), 0..3.
        personal_credit_share: share of firms whose owner uses personal credit (the
            platform line and the licensed lenders sized on income: cards, consumer online
            lenders) for business needs, in [0, 1]; the others fund gaps from the owner's
            savings, business lenders and informal lending.
        close_after_shortfall_months: a firm closes at the end of this many consecutive
            months in shortfall (obligations it could not pay), >= 1.
        owner_draw_rate: share of the cash above the target buffer paid out to the owner
            each month, in [0, 1].
        owner_reserve_income_months: the owner injects only household savings above this
            many months of base income, >= 0.
        age_mean_months: mean age of the firms at the start (exponential), months.
        suppliers_per_firm: network suppliers each buying firm has, >= 0.
        peak_excess_share: a calendar month is a seasonal peak of its sector when its
            excess over 1 is at least this share of the sector's largest excess, in
            (0, 1] (peaks relative to each sector's own seasonality).
        peak_min_excess: a sector whose largest multiplier is below ``1 + this`` has no
            peak (a flat calendar), >= 0.
        peak_lookahead_months: the platform's view flags a peak within this many months.
        outflow_window_months: months averaged for the average daily outflow, >= 1.
    """

    owner_share: float = 0.1
    sectors: dict[str, SectorConfig] = field(kw_only=True)
    stock_lead_months: int = 1
    revenue_persistence: float = 0.95
    exit_hazard_monthly: float = 0.013
    exit_young_excess: float = 0.0
    exit_young_decay_months: float = 24.0
    exit_low_buffer_days: float = 7.0
    exit_distress_low_buffer: float = 0.0
    exit_distress_shortfall: float = 0.0
    exit_distress_unpaid_suppliers: float = 0.0
    exit_distress_owner_default: float = 0.0
    shortfall_memory_decay: float = 0.9
    peak_prebuy_months: int = 0
    personal_credit_share: float = 1.0
    close_after_shortfall_months: int = 3
    owner_draw_rate: float = 1.0
    owner_reserve_income_months: float = 6.0
    age_mean_months: float = 48.0
    suppliers_per_firm: int = 2
    peak_excess_share: float = 0.5
    peak_min_excess: float = 0.02
    peak_lookahead_months: int = 2
    outflow_window_months: int = 3

    def __post_init__(self) -> None:
        p = "firms"
        self.sectors = {
            str(k): v
            if isinstance(v, SectorConfig)
            else _from_dict(SectorConfig, v, f"{p}.sectors.{k}")
            for k, v in dict(self.sectors).items()
        }
        _prob(
            self,
            p,
            "owner_share",
            "exit_hazard_monthly",
            "owner_draw_rate",
            "exit_distress_low_buffer",
            "exit_distress_shortfall",
            "exit_distress_unpaid_suppliers",
            "exit_distress_owner_default",
            "shortfall_memory_decay",
            "personal_credit_share",
        )
        _rng_check(
            self,
            p,
            {
                "stock_lead_months": (0, 3),
                "revenue_persistence": (0.0, 0.999),
                "close_after_shortfall_months": (1, 1200),
                "owner_reserve_income_months": (0.0, 1200.0),
                "age_mean_months": (0.0, 1200.0),
                "suppliers_per_firm": (0, 50),
                "peak_excess_share": (1e-6, 1.0),
                "peak_min_excess": (0.0, 100.0),
                "exit_young_excess": (0.0, 100.0),
                "exit_young_decay_months": (1e-6, 1200.0),
                "exit_low_buffer_days": (1e-6, 3650.0),
                "peak_prebuy_months": (0, 3),
                "peak_lookahead_months": (0, 12),
                "outflow_window_months": (1, 24),
            },
        )
        if not self.sectors:
            raise ValueError("firms.sectors must name at least one sector")
        for name, sector in self.sectors.items():
            sector.check(f"{p}.sectors.{name}")
            unknown = [s for s in sector.supplier_sectors if s not in self.sectors]
            if unknown:
                raise ValueError(
                    f"{p}.sectors.{name}.supplier_sectors names unknown sector(s) {unknown}; "
                    f"sectors: {list(self.sectors)}"
                )
        if sum(s.share for s in self.sectors.values()) <= 0:
            raise ValueError(f"{p}.sectors: the shares must not all be 0")
