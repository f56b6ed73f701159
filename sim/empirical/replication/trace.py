"""Running one arm of an experiment and keeping the per-borrower and per-firm state it needs.

Months here are window months (``view.step`` of the policies; the run's
``burn_in_months`` under ``static`` come first and are the same in every arm). The book
grows every month (rows appended at the end, indices stable across the arms of a seed),
so a :class:`Snapshot` is the state of the rows present at treatment (row index < the
number of rows at treatment: rows appended later are new borrowers, compared nowhere)
after a given month, and per-month series cover those rows only. Cumulative quantities
(interest and fees, balance-months, unmet need) are run totals restarted at the window's
start, so a window's amount is a difference of two snapshots.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.config import RunConfig
from sim.model import CreditMarketModel
from sim.outputs.firm_metrics import liquidity_buffer_days
from sim.platform.policies.base import LimitPolicy

__all__ = ["FirmSnapshot", "Snapshot", "Trace", "run_arm"]


@dataclass(frozen=True)
class Snapshot:
    """Borrower state after one month, rows ``0 .. n - 1``; every array ``(n,)``, money CNY.

    Attributes:
        limit_cny, balance_cny: the platform line.
        other_balance_cny: balances at every other lender (defaulted ones included).
        pd_12m: platform PD; defaulted: reached default on the platform line.
        cost_total_cny: interest (platform) plus interest and fees (other lenders) so far.
        balance_months_cny: sum of month-end balances at every lender so far.
        platform_balance_months_cny: the platform's part of it.
        other_balance_months_cny: the other lenders' part.
        unmet_need_total_cny, income_total_cny: run totals so far.
        behaviour_type: int8 :class:`sim.world.borrowers.BehaviourType` (a reporting segment).
    """

    limit_cny: np.ndarray
    balance_cny: np.ndarray
    other_balance_cny: np.ndarray
    pd_12m: np.ndarray
    defaulted: np.ndarray
    cost_total_cny: np.ndarray
    platform_balance_months_cny: np.ndarray
    other_balance_months_cny: np.ndarray
    unmet_need_total_cny: np.ndarray
    income_total_cny: np.ndarray
    behaviour_type: np.ndarray

    @property
    def all_balance_cny(self) -> np.ndarray:
        """Balances at every lender, platform included."""
        return self.balance_cny + self.other_balance_cny

    @property
    def balance_months_cny(self) -> np.ndarray:
        """Sum of month-end balances at every lender so far."""
        return self.platform_balance_months_cny + self.other_balance_months_cny

    @classmethod
    def take(cls, model: CreditMarketModel, n: int) -> Snapshot:
        """Copy the state of rows ``0 .. n - 1`` from a running model."""
        s, ch = model.borrowers, model.channels
        rows = slice(0, n)
        return cls(
            limit_cny=s.limit_cny[rows].copy(),
            balance_cny=s.balance_cny[rows].copy(),
            other_balance_cny=ch.balance_total()[rows].copy(),
            pd_12m=s.pd_12m[rows].copy(),
            defaulted=s.defaulted[rows].copy(),
            cost_total_cny=(s.interest_total_cny[rows] + ch.interest_fees_total_cny[rows]).copy(),
            platform_balance_months_cny=s.balance_month_sum_cny[rows].copy(),
            other_balance_months_cny=ch.balance_month_sum_cny[rows].copy(),
            unmet_need_total_cny=s.unmet_need_total_cny[rows].copy(),
            income_total_cny=s.income_total_cny[rows].copy(),
            behaviour_type=s.behaviour_type[rows].copy(),
        )


@dataclass(frozen=True)
class FirmSnapshot:
    """Firm state after one month, firm rows ``0 .. m - 1``; every array ``(m,)``.

    Attributes:
        owner: owning borrower row; is_open; closure_cause (int8 ClosureCause).
        late_payments_total_cny, unmet_gap_total_cny: run totals so far.
        open_months, buffer_days_sum: run totals (cash buffer days summed over open months).
    """

    owner: np.ndarray
    is_open: np.ndarray
    closure_cause: np.ndarray
    late_payments_total_cny: np.ndarray
    unmet_gap_total_cny: np.ndarray
    open_months: np.ndarray
    buffer_days_sum: np.ndarray

    @classmethod
    def take(cls, model: CreditMarketModel, m: int) -> FirmSnapshot:
        """Copy the state of firm rows ``0 .. m - 1``."""
        f = model.firms
        rows = slice(0, m)
        return cls(
            owner=f.owner[rows].copy(),
            is_open=f.is_open[rows].copy(),
            closure_cause=f.closure_cause[rows].copy(),
            late_payments_total_cny=f.late_payments_total_cny[rows].copy(),
            unmet_gap_total_cny=f.unmet_gap_total_cny[rows].copy(),
            open_months=f.open_months[rows].astype(np.int64),
            buffer_days_sum=f.buffer_days_sum[rows].copy(),
        )


@dataclass
class Trace:
    """What one run kept.

    Attributes:
        snapshots: window month (1-based) -> :class:`Snapshot` of the rows at treatment.
        firms: month -> :class:`FirmSnapshot` of the firms at treatment.
        shortfall_months: ``(m,)`` int, months in shortfall after treatment per firm.
        liquidity_days_sum: ``(m,)`` liquidity buffer days
            (:func:`sim.outputs.firm_metrics.liquidity_buffer_days`) summed over the months
            after treatment in which the firm had a measure; ``liquidity_months`` counts them.
        platform_loss_cny: ``(n,)`` the platform's loss at default (LGD x EAD) on each row
            after treatment; ``platform_loss_total_cny`` the same over the whole book
            (rows opened later included).
        n_rows, n_firms: rows and firms present at treatment.
        policy: the policy object after the run (its memory: who was treated).
    """

    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    firms: dict[int, FirmSnapshot] = field(default_factory=dict)
    shortfall_months: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    liquidity_days_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    liquidity_months: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    platform_loss_cny: np.ndarray = field(default_factory=lambda: np.zeros(0))
    platform_loss_total_cny: float = 0.0
    n_rows: int = 0
    n_firms: int = 0
    policy: LimitPolicy | None = None


def run_arm(
    config: RunConfig, policy: LimitPolicy, treatment_month: int, horizons: list[int]
) -> Trace:
    """Run the burn-in and ``config.n_months`` window months under ``policy``; keep snapshots.

    The first ``config.burn_in_months`` months run ``static`` (the model's burn-in) and
    keep nothing. Snapshots are taken after ``treatment_month`` (its balances are still
    untreated: the change is made at the month's closing review) and after
    ``treatment_month + h`` for every horizon ``h``; firm snapshots at the same months,
    and the months each firm spent in shortfall after the treatment month.

    Args:
        config: the run config (seed, population, months).
        policy: the arm's policy.
        treatment_month: 1-based window month of the change.
        horizons: months after treatment.

    Returns:
        The :class:`Trace`.
    """
    t = treatment_month
    keep = {t, *(t + h for h in horizons)}
    trace = Trace(policy=policy)
    with CreditMarketModel(config, policy=policy) as model:

        def at_treatment() -> None:
            trace.n_rows, trace.n_firms = model.borrowers.n, model.firms.n
            trace.shortfall_months = np.zeros(trace.n_firms, dtype=np.int64)
            trace.liquidity_days_sum = np.zeros(trace.n_firms)
            trace.liquidity_months = np.zeros(trace.n_firms, dtype=np.int64)
            trace.platform_loss_cny = np.zeros(trace.n_rows)

        if t == 0 and config.burn_in_months == 0:  # the window starts at the built world
            at_treatment()
            trace.snapshots[0] = Snapshot.take(model, trace.n_rows)
            trace.firms[0] = FirmSnapshot.take(model, trace.n_firms)
        for internal in range(1, config.burn_in_months + config.n_months + 1):
            model.step()
            month = internal - config.burn_in_months  # the window month (<= 0: burn-in)
            if month == t:
                at_treatment()
            if month > t:
                _accumulate(trace, model)
            if month in keep:
                trace.snapshots[month] = Snapshot.take(model, trace.n_rows)
                trace.firms[month] = FirmSnapshot.take(model, trace.n_firms)
            if month == 0 and 0 in keep:
                # The run totals restart at the window's start (sim.build.start_window):
                # its totals are 0, whatever the burn-in's last month held.
                trace.snapshots[0] = _zero(trace.snapshots[0], _ROW_TOTALS)
                trace.firms[0] = _zero(trace.firms[0], _FIRM_TOTALS)
    return trace


#: Snapshot fields that are run totals restarted at the window's start.
_ROW_TOTALS = (
    "cost_total_cny",
    "platform_balance_months_cny",
    "other_balance_months_cny",
    "unmet_need_total_cny",
    "income_total_cny",
)
_FIRM_TOTALS = ("late_payments_total_cny", "unmet_gap_total_cny", "open_months", "buffer_days_sum")


def _zero(snapshot: Any, names: tuple[str, ...]) -> Any:
    """``snapshot`` with the fields ``names`` set to zeros of the same shape."""
    return dataclasses.replace(snapshot, **{n: np.zeros_like(getattr(snapshot, n)) for n in names})


def _accumulate(trace: Trace, model: CreditMarketModel) -> None:
    """Add one month after treatment to the trace's per-firm and per-row totals."""
    m, n = trace.n_firms, trace.n_rows
    loss = model.month.servicing.loss_at_default_cny
    trace.platform_loss_cny += loss[:n]
    trace.platform_loss_total_cny += float(loss.sum())
    if m:
        trace.shortfall_months += model.firms.in_shortfall[:m]
        days = liquidity_buffer_days(model.world)[:m]
        ok = np.isfinite(days)
        trace.liquidity_days_sum += np.where(ok, days, 0.0)
        trace.liquidity_months += ok
