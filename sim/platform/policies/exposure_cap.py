"""The ``exposure_cap`` policy: the platform's risk appetite as a portfolio budget (M5).

The platform holds the total exposure at default (``budget_metric = "ead"``) or the
total expected loss (``"el"``) of its open lines at or under a budget:

- ``EAD_i = balance_i + ccf * max(limit_i - balance_i, 0)`` (drawn plus the credit
  conversion factor times the undrawn commitment);
- ``EL_i = pd_12m_i * lgd * EAD_i``.

The budget is ``budget_cny`` if it is positive, otherwise ``budget_share`` times the
portfolio total measured at the first review (remembered until :meth:`reset`). When the
total is over budget the policy cuts undrawn limits, highest ``pd_12m`` first (ties:
larger undrawn amount first), each line at most down to its drawn balance (rounded up
to 0.01 CNY), by at most ``max_cut_fraction`` of its limit and never below the policy's
``min_limit_cny``, until the total is back at the budget; the last line cut is cut only
as far as needed. If every line is cut as far as allowed and the total is still over
budget, the policy stops there (drawn balances cannot be cut). Under budget nothing
changes: this is a pure cap, it never raises.

Only open lines count towards the total: defaulted lines' exposure is already a loss.

References:
    Regulation (EU) No 575/2013 (CRR), Article 111: credit conversion factor 20 % for
    undrawn commitments with an original maturity up to one year (EU CRR Art. 111).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.platform.policies.base import (
    LimitDecision,
    LimitPolicy,
    PolicyConfig,
    PortfolioView,
    check_range,
)
from sim.platform.policies.common import finish
from sim.platform.policies.reasons import ReasonCode
from sim.platform.policies.registry import register_policy
from sim.units import MAX_CONFIG_CNY

#: Metrics the budget may be stated in.
BUDGET_METRICS: tuple[str, ...] = ("ead", "el")


def _ceil_cents(x: np.ndarray) -> np.ndarray:
    # Round up to 0.01, ignoring float noise below 1e-6 of a cent.
    return np.ceil(np.round(np.asarray(x, dtype=np.float64) * 100.0, 6)) / 100.0


def exposure_by_line(
    limit_cny: np.ndarray,
    balance_cny: np.ndarray,
    pd_12m: np.ndarray,
    is_open: np.ndarray,
    *,
    metric: str = "ead",
    ccf: float = 0.2,
    lgd: float = 0.8,
) -> np.ndarray:
    """Each open line's EAD or expected loss; 0 for closed lines.

    Args:
        limit_cny: ``(n,)`` float64 credit limits, CNY.
        balance_cny: ``(n,)`` float64 drawn balances, CNY.
        pd_12m: ``(n,)`` float64 12-month PD in [0, 1] (used for ``"el"`` only).
        is_open: ``(n,)`` bool.
        metric: ``"ead"`` or ``"el"``.
        ccf: credit conversion factor of the undrawn part, in [0, 1].
        lgd: loss given default, in [0, 1] (used for ``"el"`` only).

    Returns:
        ``(n,)`` float64, CNY.
    """
    undrawn = np.maximum(limit_cny - balance_cny, 0.0)
    ead = balance_cny + ccf * undrawn
    value = ead if metric == "ead" else pd_12m * lgd * ead
    return np.where(is_open, value, 0.0)


def exposure_cut(
    limit_cny: np.ndarray,
    balance_cny: np.ndarray,
    pd_12m: np.ndarray,
    is_open: np.ndarray,
    budget: float,
    *,
    metric: str = "ead",
    ccf: float = 0.2,
    lgd: float = 0.8,
    max_cut_fraction: float = 0.5,
    min_limit_cny: float = 0.0,
) -> np.ndarray:
    """Cut undrawn limits, highest PD first, until the portfolio total meets the budget.

    Vectorised greedy: lines are sorted by ``pd_12m`` descending (ties: larger undrawn
    first); each line's reduction capacity is its cuttable limit times the metric's
    sensitivity to it (``ccf`` for EAD, ``pd_12m * lgd * ccf`` for EL); a cumulative sum
    finds the lines cut in full and the one line cut in part.

    Args:
        limit_cny: ``(n,)`` float64 credit limits, CNY.
        balance_cny: ``(n,)`` float64 drawn balances, CNY.
        pd_12m: ``(n,)`` float64 12-month PD in [0, 1] (the cut order).
        is_open: ``(n,)`` bool; closed lines are neither counted nor cut.
        budget: the total not to exceed, CNY (EAD or EL).
        metric: ``"ead"`` or ``"el"``.
        ccf: credit conversion factor of the undrawn part, in [0, 1].
        lgd: loss given default, in [0, 1].
        max_cut_fraction: largest share of a line's limit removed, in [0, 1].
        min_limit_cny: no line is cut below this, CNY.

    Returns:
        ``(n,)`` float64 new limits (equal to ``limit_cny`` where not cut). The last
        line's cut is rounded up to the cent, so the total after is at or under the
        budget whenever enough undrawn limit can be cut.
    """
    limit = np.asarray(limit_cny, dtype=np.float64)
    weight = np.ones_like(limit) if metric == "ead" else pd_12m * lgd
    excess = float(
        exposure_by_line(limit, balance_cny, pd_12m, is_open, metric=metric, ccf=ccf, lgd=lgd).sum()
        - budget
    )
    if not excess > 0.0:
        return limit.copy()
    floor = np.maximum.reduce(
        [
            _ceil_cents(balance_cny),
            _ceil_cents(limit * (1.0 - max_cut_fraction)),
            np.full_like(limit, min_limit_cny),
        ]
    )
    room = np.where(is_open, np.maximum(limit - floor, 0.0), 0.0)
    rate = ccf * weight  # metric reduction per CNY of limit cut (within the undrawn part)
    capacity = rate * room
    rows = np.flatnonzero(capacity > 0.0)
    undrawn = np.maximum(limit - balance_cny, 0.0)
    order = rows[np.lexsort((-undrawn[rows], -pd_12m[rows]))]
    cum = np.cumsum(capacity[order])
    before = cum - capacity[order]
    full = cum <= excess
    part = ~full & (before < excess)
    cut = np.zeros_like(limit)
    cut[order[full]] = room[order[full]]
    p = order[part]
    cut[p] = np.minimum(_ceil_cents((excess - before[part]) / rate[p]), room[p])
    return limit - cut


@dataclass
class ExposureCapConfig(PolicyConfig):
    """The platform's exposure or expected-loss budget.

    Attributes:
        budget_metric: ``"ead"`` (exposure at default) or ``"el"`` (expected loss).
        budget_share: budget as a share of the portfolio total at the first review,
            > 0 (1.0 holds the book at its starting exposure; above 1 leaves room to grow).
        budget_cny: absolute budget in CNY; if > 0 it replaces ``budget_share``.
        ccf: credit conversion factor of undrawn limits, in [0, 1] (CRR Art. 111: 20 %
            for commitments up to one year; EU CRR Art. 111).
        lgd: loss given default used for EL, in [0, 1]. An assumption: no verified
            unsecured-retail LGD was found (no published unsecured-retail LGD figure found).
        max_cut_fraction: largest share of a line's limit removed in one review, in [0, 1].
    """

    name: str = "exposure_cap"
    budget_metric: str = "ead"
    budget_share: float = 0.9
    budget_cny: float = 0.0
    ccf: float = 0.2
    lgd: float = 0.8
    max_cut_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.budget_metric not in BUDGET_METRICS:
            raise ValueError(
                f"policy.budget_metric = {self.budget_metric!r} is not one of {BUDGET_METRICS}"
            )
        check_range(self, "budget_share", 0.0, 1e12, low_open=True)
        check_range(self, "budget_cny", 0.0, MAX_CONFIG_CNY)
        check_range(self, "ccf", 0.0, 1.0)
        check_range(self, "lgd", 0.0, 1.0)
        check_range(self, "max_cut_fraction", 0.0, 1.0)


@register_policy
class ExposureCapPolicy(LimitPolicy):
    """Hold the portfolio's EAD or EL under a budget (see the module docstring).

    Attributes:
        budget: the budget in force (CNY), or None before the first review when it is
            set from ``budget_share``.
    """

    name = "exposure_cap"
    config_class = ExposureCapConfig
    config: ExposureCapConfig

    def __init__(self, config: ExposureCapConfig) -> None:
        super().__init__(config)
        self.budget: float | None = None

    def reset(self, n_borrowers: int) -> None:
        """Forget the remembered budget (it is set again at the next review)."""
        self.budget = None

    def grow(self, n_borrowers: int) -> None:
        """Nothing per borrower to extend (the budget is portfolio-wide)."""

    def total(self, view: PortfolioView) -> float:
        """The portfolio total of the budget metric for the view's current limits, CNY."""
        c = self.config
        return float(
            exposure_by_line(
                view.limit_cny,
                view.balance_cny,
                view.pd_12m,
                view.is_open,
                metric=c.budget_metric,
                ccf=c.ccf,
                lgd=c.lgd,
            ).sum()
        )

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Cut undrawn limits of the riskiest lines if the total is over budget.

        Args:
            view: the portfolio view; reads ``limit_cny``, ``balance_cny``, ``pd_12m``
                and ``is_open``.
            rng: unused (the rule is deterministic).

        Returns:
            Cuts with ``PORTFOLIO_EXPOSURE_CAP``; no raises.
        """
        c = self.config
        if c.budget_cny > 0.0:
            self.budget = c.budget_cny
        elif self.budget is None:
            self.budget = c.budget_share * self.total(view)
        new = exposure_cut(
            view.limit_cny,
            view.balance_cny,
            view.pd_12m,
            view.is_open,
            # The scenario's risk appetite scales the budget (a funding squeeze tightens it).
            self.budget * view.risk_appetite,
            metric=c.budget_metric,
            ccf=c.ccf,
            lgd=c.lgd,
            max_cut_fraction=c.max_cut_fraction,
            min_limit_cny=c.min_limit_cny,
        )
        reason = np.where(new < view.limit_cny, ReasonCode.PORTFOLIO_EXPOSURE_CAP, 0)
        return finish(self, new, reason, view)
