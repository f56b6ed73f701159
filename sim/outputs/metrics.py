"""Monthly portfolio metrics, computed from state arrays and the month's flows.

Metrics never change the model. Names are the field's standard terms; money is CNY; rates and shares
are fractions. :data:`MONTHLY_METRICS` lists every column of the monthly table, in order.

Borrowing cost covers every lender: ``effective_apr`` is ``12 x (interest + fees)`` over
the balances they accrued on, platform and other channels together (fees count, so it is
the all-in rate paid); ``platform_effective_apr`` is the platform's alone (no fees).
Small-business metrics are NaN when no firms are simulated (``firms.owner_share = 0``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.outputs.collect_kernel import window_default_counts_kernel
from sim.outputs.collect_reference import window_default_counts_reference
from sim.outputs.firm_metrics import (
    BUFFER_QUANTILES,
    FIRM_METRICS,
    FIRM_TABLE_COLUMNS,
    FirmBuffers,
    firm_buffers,
    firm_sector_rows,
    firm_stress_metrics,
)
from sim.outputs.money import MONEY_METRICS, money_metrics
from sim.outputs.totals import borrower_totals

if TYPE_CHECKING:
    from sim.month import Month, World

__all__ = [
    "BUFFER_QUANTILES",
    "FIRM_METRICS",
    "FIRM_TABLE_COLUMNS",
    "MONTHLY_METRICS",
    "FirmBuffers",
    "firm_buffers",
    "firm_sector_rows",
    "firm_stress_metrics",
    "flow_totals",
    "monthly_metrics",
    "segment_metrics",
]

#: Columns of the monthly metrics table (after ``step``, ``calendar_month``, ``regime``).
MONTHLY_METRICS: tuple[str, ...] = (
    "n_open_lines",
    "applicants",
    "originations",
    "close_requests",
    "closed_voluntary",
    "closed_inactivity",
    "new_firms",
    "mean_savings_cny",
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
    "platform_effective_apr",
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
    # Borrowing cost across all lenders.
    "lenders_per_borrower",
    "multi_lender_share",
    "channel_balance_cny",
    "high_cost_balance_cny",
    "channel_draws_cny",
    "household_channel_draws_cny",
    "firm_channel_draws_cny",
    "channel_interest_cny",
    "channel_fees_cny",
    "channel_default_count",
    "channel_ead_at_default_cny",
    "channel_write_off_cny",
    "channel_recoveries_cny",
    # Default exposure by segment.
    "default_count_sole_trader",
    "default_count_household",
    "ead_cny_sole_trader",
    "dpd90_share_sole_trader",
    "dpd90_share_household",
    # Small-business cash-flow stress.
    *FIRM_METRICS,
    # The money identity's remaining flows and stocks (sim.outputs.money).
    *MONEY_METRICS,
)


def flow_totals(
    world: World,
    month: Month,
    *,
    by_channel: np.ndarray | None = None,
    new_defaults: int | None = None,
) -> dict[str, float]:
    """This month's flow totals: everything in the metrics that does not read borrower state.

    Args:
        world: the run's state (the other lenders' books are read).
        month: the finished month (household, funding, servicing flows and transfers).
        by_channel: ``world.channels.balance_by_channel()`` if already taken.
        new_defaults: the month's count of ``servicing.new_default`` if already taken.

    Returns:
        Totals keyed by name: amounts in CNY (this month), counts as ints.
    """
    ch = world.channels
    cm = ch.month
    t = month.transfers
    servicing = month.servicing
    if by_channel is None:
        by_channel = ch.balance_by_channel()  # (n_channels,)
    if new_defaults is None:
        new_defaults = int(np.count_nonzero(servicing.new_default))
    write_off, recoveries = servicing.write_off_cny.sum(), servicing.recoveries_cny.sum()
    # The households' flows are held row by row only while a stage reads them: their totals.
    total = month.total
    draws, repaid = total("household.draws_cny"), total("household.repayments_cny")
    firm_draws, firm_repaid = t.firm_platform_draws_cny.sum(), t.firm_platform_repaid_cny.sum()
    return {
        "interest_cny": float(servicing.interest_cny.sum()),
        "income_cny": float(total("household.income_cny")),
        "realised_loss_cny": float(servicing.loss_at_default_cny.sum()),
        "new_defaults": new_defaults,
        "n_start": int(np.count_nonzero(month.start.is_open)),
        "channel_cost_cny": float(
            cm.interest_cny.sum() + cm.monthly_fees_cny.sum() + cm.upfront_fees_cny.sum()
        ),
        "channel_accruing_cny": float(cm.accruing_balance_cny.sum()),
        "channel_balance_cny": float(by_channel.sum()),
        "high_cost_balance_cny": float(by_channel[ch.high_cost].sum()),
        "ead_at_default_cny": float(servicing.ead_at_default_cny.sum()),
        "write_off_cny": float(write_off),
        "recoveries_cny": float(recoveries),
        "net_credit_loss_cny": float(write_off - recoveries),
        "draws_cny": float(draws + firm_draws),
        "repayments_cny": float(repaid + firm_repaid),
        "early_repayment_cny": float(total("household.early_repayment_cny")),
        "draw_count": int(total("household.draw_count")),
        "early_repayment_count": int(total("household.early_repayment_count")),
        "unmet_need_cny": float(total("household_funding.unmet_need_cny")),
        "unmet_credit_need_cny": float(total("household_funding.unmet_credit_cny")),
        "unmet_credit_count": month.positive_count("household_funding.unmet_credit_cny"),
        "consumption_cny": float(total("household_funding.consumption_cny")),
        "channel_draws_cny": float(cm.draws_cny.sum()),
        "household_channel_draws_cny": float(total("transfers.household_channel_draws_cny")),
        "firm_channel_draws_cny": float(t.firm_channel_draws_cny.sum()),
        "channel_interest_cny": float(cm.interest_cny.sum()),
        "channel_fees_cny": float(cm.monthly_fees_cny.sum() + cm.upfront_fees_cny.sum()),
        "channel_default_count": int(cm.default_count.sum()),
        "channel_ead_at_default_cny": float(cm.ead_at_default_cny.sum()),
        "channel_write_off_cny": float(cm.write_off_cny.sum()),
        "channel_recoveries_cny": float(cm.recoveries_cny.sum()),
        # Parts of the sums above that the money identity's columns report on their own.
        "household_platform_draws_cny": float(draws),
        "household_platform_repaid_cny": float(repaid),
        "firm_platform_repaid_cny": float(firm_repaid),
    }


def monthly_metrics(
    world: World,
    month: Month,
    opening: dict[str, float] | None = None,
    buffers: FirmBuffers | None = None,
    firm: Callable[[], dict[str, float]] | None = None,
) -> dict[str, float]:
    """Compute one month's portfolio metrics (reads only; changes nothing).

    Args:
        world: the run's state after this month's platform review.
        month: the finished month.
        opening: the money stocks at the month's start
            (:func:`sim.outputs.money.money_stocks`); ``opening_`` columns NaN if None.
        buffers: the month's firm buffer days (:func:`sim.outputs.firm_metrics.firm_buffers`)
            if already made; made here if None.
        firm: returns the month's :func:`firm_stress_metrics` (called once, when they are
            needed: they may be taken in another thread meanwhile); None: taken here.

    Returns:
        A dict keyed by :data:`MONTHLY_METRICS`.
    """
    s = world.borrowers
    pc = world.config.platform
    tot = borrower_totals(world, month)
    total_balance = tot["balance"]
    n_open = tot["n_open"]
    n_util = tot["n_with_limit"]
    funding_apr = pc.funding_cost_apr + world.config.scenario.funding_cost_add_apr
    funding_cost = funding_apr / 12.0 * total_balance
    # The platform's indebted customers (an open line) by number of lenders: exact integer
    # counts give the same means as averaging over those rows. A borrower whose line
    # closed (default or attrition) is no longer a customer.
    n_indebted = tot["n_indebted"]
    state = {
        "n_open_lines": n_open,
        "drawn_balance_cny": total_balance,
        "undrawn_limit_cny": tot["undrawn"],
        "total_limit_cny": tot["limit"],
        "ead_cny": tot["ead"],
        "expected_loss_cny": tot["expected_loss"],
        "mean_pd_12m": tot["open_pd"] / n_open if n_open else np.nan,
        "cumulative_default_rate": _cumulative_default_rate(world),
        "dpd30_share": tot["dpd30_balance"] / total_balance if total_balance else 0.0,
        "dpd90_share": tot["dpd90_balance"] / total_balance if total_balance else 0.0,
        "n_dpd30": tot["n_missed_1"],
        "n_dpd60": tot["n_missed_2"],
        "n_dpd90": tot["n_dpd90"],
        # Over open lines with a limit: the same sum as a nanmean with NaN elsewhere.
        "mean_utilisation": tot["utilisation"] / n_util if n_open and n_util else np.nan,
        "savings_cny": tot["savings"],
        "mean_savings_cny": tot["open_savings"] / n_open if n_open else np.nan,
        "unemployment_rate": 1.0 - tot["n_employed"] / s.n if s.n else np.nan,
        "lenders_per_borrower": tot["n_lender_slots"] / n_indebted if n_indebted else np.nan,
        "multi_lender_share": tot["n_multi_lender"] / n_indebted if n_indebted else np.nan,
        **segment_metrics(world, month, tot),
    }
    by_channel = world.channels.balance_by_channel()  # (n_channels,)
    f = flow_totals(world, month, by_channel=by_channel, new_defaults=tot["n_new_default"])
    interest, income = f["interest_cny"], f["income_cny"]
    new_defaults, n_start, channel_cost = f["new_defaults"], f["n_start"], f["channel_cost_cny"]
    all_accruing = month.accruing_balance_cny + f["channel_accruing_cny"]
    all_balance = total_balance + f["channel_balance_cny"]
    book = month.book
    closing = {
        "drawn_balance_cny": total_balance,
        "channel_balance_cny": f["channel_balance_cny"],
        "savings_cny": tot["savings"],
    }
    out = {
        **state,
        "applicants": book.applicants if book else 0,
        "originations": book.originations if book else 0,
        "close_requests": book.close_requests if book else 0,
        "closed_voluntary": book.closed_voluntary if book else 0,
        "closed_inactivity": book.closed_inactivity if book else 0,
        "new_firms": book.new_firms if book else 0,
        "default_count": new_defaults,
        "default_rate": new_defaults / n_start if n_start else np.nan,
        "limit_cuts": month.limit_cuts,
        "limit_raises": month.limit_raises,
        "lines_closed_at_default": new_defaults,
        "interest_charged_cny": interest,
        "effective_apr": 12.0 * (interest + channel_cost) / all_accruing
        if all_accruing > 0
        else np.nan,
        "platform_effective_apr": (
            12.0 * interest / month.accruing_balance_cny
            if month.accruing_balance_cny > 0
            else np.nan
        ),
        "interest_fees_share_of_income": (interest + channel_cost) / income
        if income > 0
        else np.nan,
        "high_cost_channel_share": f["high_cost_balance_cny"] / all_balance
        if all_balance > 0
        else 0.0,
        "funding_cost_cny": funding_cost,
        "net_interest_income_cny": interest - funding_cost,
        "risk_adjusted_return_cny": interest - funding_cost - f["realised_loss_cny"],
        # Flow totals that are metrics themselves are reported as they are.
        **{name: f[name] for name in MONTHLY_METRICS if name in f},
        **(firm_stress_metrics(world, month, buffers) if firm is None else firm()),
        **money_metrics(world, month, opening, closing=closing, flows=f),
    }
    # The documented column order, whatever order the parts were computed in.
    return {name: out[name] for name in MONTHLY_METRICS}


def _cumulative_default_rate(world: World) -> float:
    """Lines defaulted in the window / lines open at its start + lines opened since."""
    s, start = world.borrowers, world.window_start
    how = implementation()
    if how == "numpy":
        exposed = int(np.count_nonzero(world.exposed_in_window()))
        defaults = int(np.count_nonzero(s.default_step >= start))
    else:
        count = (
            window_default_counts_reference if how == "reference" else window_default_counts_kernel
        )
        exposed, defaults = (int(v) for v in count(s.default_step, s.closed_step, int(start)))
    return defaults / exposed if exposed else np.nan


def segment_metrics(
    world: World, month: Month, totals: dict[str, float | int] | None = None
) -> dict[str, float]:
    """Default exposure by segment: sole traders (owned a firm at the start) vs households.

    Reads borrower state and the month's servicing flows only (no side effects).

    Args:
        world: the run's state after this month's platform review.
        month: the finished month.
        totals: the month's :func:`sim.outputs.totals.borrower_totals` if already taken.

    Returns:
        Default counts, the sole traders' EAD (CNY) and each segment's 90+ DPD share of
        its drawn balance (NaN for an empty segment).
    """
    tot = borrower_totals(world, month) if totals is None else totals
    n_sole = tot["n_sole"]
    total_bal, total_90 = tot["balance"], tot["dpd90_zeroed"]
    sole_bal, sole_90 = tot["sole_balance"], tot["sole_dpd90_balance"]
    new_sole = tot["n_sole_new_default"]
    out: dict[str, float] = {
        "default_count_sole_trader": new_sole,
        "default_count_household": tot["n_new_default"] - new_sole,
        "ead_cny_sole_trader": tot["sole_ead"],
        "dpd90_share_sole_trader": sole_90 / sole_bal
        if sole_bal > 0
        else (0.0 if n_sole else np.nan),
    }
    hh_bal = total_bal - sole_bal
    has_hh = n_sole < world.borrowers.n
    out["dpd90_share_household"] = (
        (total_90 - sole_90) / hh_bal if hh_bal > 0 else (0.0 if has_hh else np.nan)
    )
    return out
