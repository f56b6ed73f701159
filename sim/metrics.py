"""Monthly portfolio metrics, computed from state arrays and the month's flows.

Metrics never change the model. Names follow DOMAIN.md; money is CNY; rates and shares
are fractions. :data:`MONTHLY_METRICS` lists every column of the monthly table, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.household import HouseholdFlows
from sim.risk.exposure import ead_cny, expected_loss_cny
from sim.servicing import ServicingFlows

if TYPE_CHECKING:
    from sim.model import CreditMarketModel

#: Columns of the monthly metrics table (after ``step``, ``calendar_month``, ``regime``).
MONTHLY_METRICS: tuple[str, ...] = (
    "n_open_lines",
    "drawn_balance_cny",
    "undrawn_limit_cny",
    "total_limit_cny",
    "ead_cny",
    "expected_loss_cny",
    "mean_pd_12m",
    "default_count",
    "default_rate",
    "cumulative_default_rate",
    "dpd30_share",
    "dpd90_share",
    "n_dpd30",
    "n_dpd60",
    "n_dpd90",
    "ead_at_default_cny",
    "realised_loss_cny",
    "write_off_cny",
    "recoveries_cny",
    "net_credit_loss_cny",
    "limit_cuts",
    "limit_raises",
    "lines_closed_at_default",
    "mean_utilisation",
    "draws_cny",
    "repayments_cny",
    "early_repayment_cny",
    "draw_count",
    "early_repayment_count",
    "interest_charged_cny",
    "effective_apr",
    "interest_fees_share_of_income",
    "high_cost_channel_share",
    "funding_cost_cny",
    "net_interest_income_cny",
    "risk_adjusted_return_cny",
    "unmet_need_cny",
    "unmet_credit_need_cny",
    "unmet_credit_count",
    "income_cny",
    "consumption_cny",
    "savings_cny",
    "unemployment_rate",
    "median_cash_buffer_days",
    "share_buffer_under_15d",
    "closure_rate",
    "late_supplier_payments_cny",
)


def monthly_metrics(
    model: CreditMarketModel,
    household: HouseholdFlows,
    servicing: ServicingFlows,
    *,
    open_at_start: np.ndarray,
    accruing_balance_cny: float,
    limit_cuts: int,
    limit_raises: int,
) -> dict[str, float]:
    """Compute one month's portfolio metrics.

    Args:
        model: the model after this month's platform review.
        household: the month's household flows.
        servicing: the month's servicing flows.
        open_at_start: ``(n,)`` bool, lines open at the start of the month.
        accruing_balance_cny: sum of balances on which interest accrued this month.
        limit_cuts: number of policy cuts this month.
        limit_raises: number of policy raises this month.

    Returns:
        A dict keyed by :data:`MONTHLY_METRICS`.
    """
    s = model.borrowers
    pc = model.config.platform
    performing = s.is_open
    balance = s.balance_cny
    total_balance = float(balance.sum())
    ead = ead_cny(balance, s.limit_cny, pc.ccf) * performing
    el = expected_loss_cny(s.pd_12m, pc.lgd, ead)
    dpd = s.missed.astype(np.int32) * 30
    on_book = ~s.charged_off
    n_open = int(performing.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(performing & (s.limit_cny > 0), balance / np.where(s.limit_cny > 0, s.limit_cny, 1.0), np.nan)
    interest = float(servicing.interest_cny.sum())
    income = float(household.income_cny.sum())
    funding_apr = pc.funding_cost_apr + model.config.scenario.funding_cost_add_apr
    funding_cost = funding_apr / 12.0 * total_balance
    realised_loss = float(servicing.loss_at_default_cny.sum())
    new_defaults = int(servicing.new_default.sum())
    n_start = int(open_at_start.sum())
    return {
        "n_open_lines": n_open,
        "drawn_balance_cny": total_balance,
        "undrawn_limit_cny": float((np.maximum(s.limit_cny - balance, 0.0) * performing).sum()),
        "total_limit_cny": float(s.limit_cny.sum()),
        "ead_cny": float(ead.sum()),
        "expected_loss_cny": float(el.sum()),
        "mean_pd_12m": float(s.pd_12m[performing].mean()) if n_open else np.nan,
        "default_count": new_defaults,
        "default_rate": new_defaults / n_start if n_start else np.nan,
        "cumulative_default_rate": float((s.default_step > 0).sum()) / model.initial_open_lines,
        "dpd30_share": float(balance[(dpd >= 30) & on_book].sum()) / total_balance if total_balance else 0.0,
        "dpd90_share": float(balance[(dpd >= 90) & on_book].sum()) / total_balance if total_balance else 0.0,
        "n_dpd30": int(((dpd >= 30) & (dpd < 60)).sum()),
        "n_dpd60": int(((dpd >= 60) & (dpd < 90)).sum()),
        "n_dpd90": int(((dpd >= 90) & on_book).sum()),
        "ead_at_default_cny": float(servicing.ead_at_default_cny.sum()),
        "realised_loss_cny": realised_loss,
        "write_off_cny": float(servicing.write_off_cny.sum()),
        "recoveries_cny": float(servicing.recoveries_cny.sum()),
        "net_credit_loss_cny": float(servicing.write_off_cny.sum() - servicing.recoveries_cny.sum()),
        "limit_cuts": limit_cuts,
        "limit_raises": limit_raises,
        "lines_closed_at_default": new_defaults,
        "mean_utilisation": float(np.nanmean(util)) if n_open else np.nan,
        "draws_cny": float(household.draws_cny.sum()),
        "repayments_cny": float(household.repayments_cny.sum()),
        "early_repayment_cny": float(household.early_repayment_cny.sum()),
        "draw_count": int(household.draw_count.sum()),
        "early_repayment_count": int(household.early_repayment_count.sum()),
        "interest_charged_cny": interest,
        "effective_apr": 12.0 * interest / accruing_balance_cny if accruing_balance_cny > 0 else np.nan,
        "interest_fees_share_of_income": interest / income if income > 0 else np.nan,
        # Every loan is on the platform until other channels are modelled.
        "high_cost_channel_share": 0.0,
        "funding_cost_cny": funding_cost,
        "net_interest_income_cny": interest - funding_cost,
        "risk_adjusted_return_cny": interest - funding_cost - realised_loss,
        "unmet_need_cny": float(household.unmet_need_cny.sum()),
        "unmet_credit_need_cny": float(household.unmet_credit_cny.sum()),
        "unmet_credit_count": int((household.unmet_credit_cny > 0).sum()),
        "income_cny": income,
        "consumption_cny": float(household.consumption_cny.sum()),
        "savings_cny": float(s.savings_cny.sum()),
        "unemployment_rate": float(1.0 - s.employed.mean()),
        # Small-business metrics are NaN until micro-enterprises are simulated.
        "median_cash_buffer_days": np.nan,
        "share_buffer_under_15d": np.nan,
        "closure_rate": np.nan,
        "late_supplier_payments_cny": np.nan,
    }
