"""Run results as tidy tables: summary, monthly metrics, events, distributions, vintages.

The distribution (by-segment) table is built in :mod:`sim.outputs.segments`.

These are the tables every run writes (see ``sim.outputs.files.write_run_outputs``) and that
``sim.analysis.compare`` reads back. Column names are the contract between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.outputs.agents import AgentOutcomes
from sim.outputs.event_stream import EventsFile, cut_summary
from sim.outputs.segments import distribution_table
from sim.outputs.vintage import vintage_table
from sim.platform.policies import policy_class

if TYPE_CHECKING:
    from sim.month import World
    from sim.outputs.recorder import RunRecord

#: Headline metrics of a run, one value each (names fixed: reports and tests use them).
HEADLINE_METRICS: tuple[str, ...] = (
    "cumulative_default_rate",
    "peak_ead_cny",
    "mean_ead_cny",
    "expected_loss_cny",
    "realised_loss_cny",
    "dpd90_share",
    "effective_apr",
    "interest_fees_share_of_income",
    "high_cost_channel_share",
    "unmet_credit_need_cny",
    "median_cash_buffer_days",
    "share_buffer_under_15d",
    "closure_rate",
    "late_supplier_payments_cny",
    "platform_net_interest_income_cny",
)

#: Further summary values written after the headline ones (the report lists them too).
SUMMARY_EXTRA_METRICS: tuple[str, ...] = (
    "platform_effective_apr",
    "lenders_per_borrower",
    "multi_lender_share",
    "channel_draws_cny",
    "channel_default_count",
    "share_buffer_under_7d",
    "unmet_financing_gap_cny",
    "supplier_bad_debt_cny",
    "firm_closures",
    "closures_shortfall",
    "closures_exit",
    "cumulative_closure_rate",
    "median_liquidity_buffer_days",
    "gap_incidence",
    "gap_incidence_stock_build",
    "gap_incidence_other_months",
    "gap_share_of_outflows",
    "gap_funding_apr",
    "shortfall_firm_months",
    "closures_distress",
    "distress_exit_share",
    "default_rate_sole_trader",
    "default_rate_household",
    "dpd90_share_sole_trader",
    "dpd90_share_household",
)


def policy_label(policy: object) -> str:
    """The label of the policy a run actually ran, as every table writes it.

    A registered policy (its class is the one registered under its ``name``) is labelled
    by its ``name``; any other object (a subclass, or a class of its own) by its
    ``name`` and its class, ``"name (ClassName)"``, or by its class alone if it has no
    ``name``, so that runs of a custom policy are never mistaken for runs of the
    registered one whose config they were built with.

    Args:
        policy: the run's policy object (``world.platform.policy``).

    Returns:
        The label (str).
    """
    name = getattr(policy, "name", None)
    cls = type(policy)
    try:
        registered = policy_class(str(name)) if name else None
    except KeyError:
        registered = None
    if name and registered is cls:
        return str(name)
    return f"{name} ({cls.__qualname__})" if name else cls.__qualname__


def policy_class_path(policy: object) -> str:
    """``module.QualName`` of the policy object's class (the ``policy_class`` column)."""
    cls = type(policy)
    return f"{cls.__module__}.{cls.__qualname__}"


def run_summary(world: World, monthly: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One-row summary of a run.

    Every value covers the comparison window only (the months after
    ``burn_in_months``; the monthly table passed in is the window's).

    Definitions: ``cumulative_default_rate`` = lines defaulted in the window / lines
    exposed in it (open at its start or opened since); ``peak_ead_cny`` /
    ``mean_ead_cny`` over months; ``expected_loss_cny`` = mean monthly EL of the
    performing book; ``realised_loss_cny`` = sum of LGD x EAD at default;
    ``dpd90_share`` = mean monthly 90+ DPD share of balances;
    ``effective_apr`` = 12 x (interest + fees) on every lender / the sum of month-end
    balances on every lender (balance-weighted, all channels; ``platform_effective_apr``
    the platform alone); ``interest_fees_share_of_income`` = total interest and fees on
    every lender / total income; ``high_cost_channel_share`` = mean monthly share of all
    balances on high-cost channels; ``unmet_credit_need_cny`` = total over the run (after
    other lenders); ``median_cash_buffer_days`` / ``share_buffer_under_15d`` = mean of the
    monthly values over open firms; ``closure_rate`` = annual closure rate
    ``1 - (1 - h)^12`` with ``h`` = closures / open firm-months (comparable with the
    BLS's year-over-year exit rates); ``late_supplier_payments_cny`` = supplier dues left
    unpaid when due, total over the run; ``platform_net_interest_income_cny`` = total
    interest - funding cost. Extra values (:data:`SUMMARY_EXTRA_METRICS`): run means of
    the monthly ``lenders_per_borrower``, ``multi_lender_share``, ``share_buffer_under_7d``
    and segment 90+ DPD shares; run totals of flows; ``cumulative_closure_rate`` = share of
    firms closed by the end; ``default_rate_<segment>`` = share of the segment's lines
    that defaulted. Small-business metrics are NaN when no firms are simulated.

    Args:
        world: the final state of a run.
        monthly: its monthly table (:meth:`CreditMarketModel.monthly_table`).
        run_id: identifier written in the ``run_id`` column.

    Returns:
        DataFrame with one row: ``run_id, policy`` (the policy that ran:
        :func:`policy_label`), ``policy_class`` (:func:`policy_class_path`), ``scenario,
        population, seed, n_borrowers, n_firms, n_months, burn_in_months`` then
        :data:`HEADLINE_METRICS` and :data:`SUMMARY_EXTRA_METRICS`.
    """
    cfg = world.config
    s = world.borrowers
    ch = world.channels
    accruing = s.balance_month_sum_cny.sum() + ch.balance_month_sum_cny.sum()
    platform_interest = float(monthly["interest_charged_cny"].sum())
    interest = platform_interest + float(
        monthly["channel_interest_cny"].sum() + monthly["channel_fees_cny"].sum()
    )
    income = float(monthly["income_cny"].sum())
    firm_months = float((monthly["n_open_firms"] + monthly["firm_closures"]).sum())
    closures = float(monthly["firm_closures"].sum())
    hazard = closures / firm_months if firm_months > 0 else np.nan
    exposed = world.exposed_in_window()
    sole = world.sole_trader & exposed
    household = ~world.sole_trader & exposed
    defaulted = s.default_step >= world.window_start

    def nanmean(col: str) -> float:
        values = monthly[col].to_numpy(dtype=float)
        return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan

    row = {
        "run_id": run_id,
        "policy": policy_label(world.platform.policy),
        "policy_class": policy_class_path(world.platform.policy),
        "scenario": cfg.scenario.name,
        "population": cfg.population.name,
        "seed": int(cfg.seed),
        "n_borrowers": int(s.n),
        "n_firms": int(world.firms.n),
        "n_months": len(monthly),
        "burn_in_months": int(cfg.burn_in_months),
        "cumulative_default_rate": float(monthly["cumulative_default_rate"].iloc[-1]),
        "peak_ead_cny": float(monthly["ead_cny"].max()),
        "mean_ead_cny": float(monthly["ead_cny"].mean()),
        "expected_loss_cny": float(monthly["expected_loss_cny"].mean()),
        "realised_loss_cny": float(monthly["realised_loss_cny"].sum()),
        "dpd90_share": float(monthly["dpd90_share"].mean()),
        "effective_apr": 12.0 * interest / accruing if accruing > 0 else np.nan,
        "interest_fees_share_of_income": interest / income if income > 0 else np.nan,
        "high_cost_channel_share": nanmean("high_cost_channel_share"),
        "unmet_credit_need_cny": float(monthly["unmet_credit_need_cny"].sum()),
        "median_cash_buffer_days": nanmean("median_cash_buffer_days"),
        "share_buffer_under_15d": nanmean("share_buffer_under_15d"),
        "closure_rate": 1.0 - (1.0 - hazard) ** 12 if np.isfinite(hazard) else np.nan,
        "late_supplier_payments_cny": float(monthly["late_supplier_payments_cny"].sum(min_count=1)),
        "platform_net_interest_income_cny": float(monthly["net_interest_income_cny"].sum()),
        "platform_effective_apr": (
            12.0 * platform_interest / s.balance_month_sum_cny.sum()
            if s.balance_month_sum_cny.sum() > 0
            else np.nan
        ),
        "lenders_per_borrower": nanmean("lenders_per_borrower"),
        "multi_lender_share": nanmean("multi_lender_share"),
        "channel_draws_cny": float(monthly["channel_draws_cny"].sum()),
        "channel_default_count": float(monthly["channel_default_count"].sum()),
        "share_buffer_under_7d": nanmean("share_buffer_under_7d"),
        "unmet_financing_gap_cny": float(monthly["unmet_financing_gap_cny"].sum(min_count=1)),
        "supplier_bad_debt_cny": float(monthly["supplier_bad_debt_cny"].sum(min_count=1)),
        "firm_closures": float(monthly["firm_closures"].sum(min_count=1)),
        "closures_shortfall": float(monthly["closures_shortfall"].sum(min_count=1)),
        "closures_exit": float(monthly["closures_exit"].sum(min_count=1)),
        "cumulative_closure_rate": float(monthly["cumulative_closure_rate"].iloc[-1]),
        "median_liquidity_buffer_days": nanmean("median_liquidity_buffer_days"),
        "gap_incidence": nanmean("gap_incidence"),
        "gap_incidence_stock_build": nanmean("gap_incidence_stock_build"),
        "gap_incidence_other_months": nanmean("gap_incidence_other_months"),
        "gap_share_of_outflows": nanmean("gap_share_of_outflows"),
        "gap_funding_apr": _weighted(monthly, "gap_funding_apr", "firm_financing_gap_cny"),
        "shortfall_firm_months": float(monthly["firms_in_shortfall"].sum(min_count=1)),
        "closures_distress": float(monthly["closures_distress"].sum(min_count=1)),
        "distress_exit_share": _distress_share(monthly),
        "default_rate_sole_trader": float(defaulted[sole].mean()) if sole.any() else np.nan,
        "default_rate_household": float(defaulted[household].mean()) if household.any() else np.nan,
        "dpd90_share_sole_trader": nanmean("dpd90_share_sole_trader"),
        "dpd90_share_household": nanmean("dpd90_share_household"),
    }
    return pd.DataFrame([row])


def _weighted(monthly: pd.DataFrame, value: str, weight: str) -> float:
    """Mean of a monthly column weighted by another (NaN months left out)."""
    v, w = monthly[value].to_numpy(float), monthly[weight].to_numpy(float)
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan


def _distress_share(monthly: pd.DataFrame) -> float:
    """Share of the run's closures driven by distress (shortfall closures + distress exits)."""
    total = monthly["firm_closures"].sum(min_count=1)
    if not np.isfinite(total) or total <= 0:
        return np.nan
    return float((monthly["closures_shortfall"].sum() + monthly["closures_distress"].sum()) / total)


def run_tables(
    world: World,
    record: RunRecord,
    monthly: pd.DataFrame,
    run_id: str,
    *,
    events_as_file: bool = False,
) -> dict[str, pd.DataFrame | EventsFile]:
    """Every table a run writes, keyed by file stem.

    Args:
        world: the run's final state.
        record: the run's record (events, transitions, firm rows).
        monthly: the monthly metrics table (:meth:`sim.model.CreditMarketModel.monthly_table`).
        run_id: the run's id, written into the summary.
        events_as_file: give ``events`` as an :class:`sim.outputs.event_stream.EventsFile`
            (written from the record a row group at a time, never whole in memory: what
            a run folder needs) instead of a DataFrame.

    Returns:
        ``summary``, ``monthly``, ``events``, ``by_segment``, ``transitions``, ``vintage``,
        ``firms`` (monthly buffer-day quantiles, shortfalls and closures by sector), and
        the per-agent tables of :mod:`sim.outputs.agents`: ``borrowers`` (one row per
        borrower), ``firm_outcomes`` (one row per firm) and ``agent_panel`` (monthly
        series of a fixed sample of borrowers).
    """
    events = EventsFile(record.event_log)
    cuts = cut_summary(record.event_log, world.borrowers.n)
    agents = record.agents if record.agents is not None else AgentOutcomes()
    return {
        "summary": run_summary(world, monthly, run_id),
        "monthly": monthly,
        "events": events if events_as_file else events.frame(),
        "by_segment": distribution_table(world, record),
        "transitions": record.transitions_table(),
        "vintage": vintage_table(world, record),
        "firms": record.firms_table(),
        "borrowers": agents.borrower_table(world, cuts),
        "firm_outcomes": agents.firm_table(world),
        "agent_panel": agents.panel_table(),
    }
