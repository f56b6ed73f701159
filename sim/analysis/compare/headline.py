"""The headline metrics that runs are compared on, and which direction of each is worse."""

from __future__ import annotations

from sim.outputs.tables import HEADLINE_METRICS

__all__ = ["HEADLINE_METRICS", "HIGHER_IS_WORSE"]


"""The 15 headline metrics of ``summary.parquet``, in file order.

Families: default exposure (``cumulative_default_rate`` .. ``dpd90_share``; fractions
and CNY), borrowing cost (``effective_apr`` .. ``unmet_credit_need_cny``; fractions and
CNY), small-business cash-flow stress (``median_cash_buffer_days`` ..
``late_supplier_payments_cny``; days, fractions, CNY) and the platform's result
(``platform_net_interest_income_cny``)."""

HIGHER_IS_WORSE: dict[str, bool] = {
    "cumulative_default_rate": True,
    "peak_ead_cny": True,
    "mean_ead_cny": True,
    "expected_loss_cny": True,
    "realised_loss_cny": True,
    "dpd90_share": True,
    "effective_apr": True,
    "interest_fees_share_of_income": True,
    "high_cost_channel_share": True,
    "unmet_credit_need_cny": True,
    "median_cash_buffer_days": False,
    "share_buffer_under_15d": True,
    "closure_rate": True,
    "late_supplier_payments_cny": True,
    "platform_net_interest_income_cny": False,
}
"""Direction of harm for each headline metric: ``True`` when a larger value is worse.

Convention: each metric is judged from the point of view of the party it describes.
Exposure and loss metrics are bad for the platform when high; cost metrics
(``effective_apr``, interest and fees share, high-cost channel share, unmet need) are bad
for borrowers when high; stress metrics are bad for small businesses when high, except
``median_cash_buffer_days`` (more days of cash is better); the platform's
``platform_net_interest_income_cny`` is better when high. EAD is counted as "worse when
higher" because it is exposure at risk, even though a larger book can also mean more
credit supplied."""
