"""Run results as tidy tables: summary, monthly metrics, events, distributions, vintages.

These are the tables every run writes (see ``sim.io.write_run_outputs``) and that
``sim.analysis.compare`` reads back. Column names are the contract between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.delinquency import vintage_curves
from sim.state import BehaviourType

if TYPE_CHECKING:
    from sim.model import CreditMarketModel

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


def run_summary(model: CreditMarketModel, monthly: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One-row summary of a run.

    Definitions: ``cumulative_default_rate`` = lines defaulted during the run / lines at
    start; ``peak_ead_cny`` / ``mean_ead_cny`` over months; ``expected_loss_cny`` = mean
    monthly EL of the performing book; ``realised_loss_cny`` = sum of LGD x EAD at
    default; ``dpd90_share`` = mean monthly 90+ DPD share of balances;
    ``effective_apr`` = 12 x total interest / sum of monthly accruing balances
    (balance-weighted, all channels); ``interest_fees_share_of_income`` = total interest
    and fees / total income; ``unmet_credit_need_cny`` = total over the run;
    ``platform_net_interest_income_cny`` = total interest - funding cost. Small-business
    metrics are NaN when no firms are simulated.

    Args:
        model: a model that has run.
        monthly: its monthly table (:meth:`CreditMarketModel.monthly_table`).
        run_id: identifier written in the ``run_id`` column.

    Returns:
        DataFrame with one row: ``run_id, policy, scenario, population, seed,
        n_borrowers, n_months`` then :data:`HEADLINE_METRICS`.
    """
    cfg = model.config
    s = model.borrowers
    accruing = s.balance_month_sum_cny.sum()
    interest = float(monthly["interest_charged_cny"].sum())
    income = float(monthly["income_cny"].sum())

    def nanmean(col: str) -> float:
        values = monthly[col].to_numpy(dtype=float)
        return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan

    row = {
        "run_id": run_id,
        "policy": str(cfg.policy["name"]),
        "scenario": cfg.scenario.name,
        "population": cfg.population.name,
        "seed": int(cfg.seed),
        "n_borrowers": int(s.n),
        "n_months": len(monthly),
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
        "closure_rate": nanmean("closure_rate"),
        "late_supplier_payments_cny": float(monthly["late_supplier_payments_cny"].sum(min_count=1)),
        "platform_net_interest_income_cny": float(monthly["net_interest_income_cny"].sum()),
    }
    return pd.DataFrame([row])


def _group_rows(model: CreditMarketModel, group: str, labels: np.ndarray) -> list[dict[str, object]]:
    s = model.borrowers
    out = []
    for level in np.unique(labels):
        m = labels == level
        balance_sum = s.balance_month_sum_cny[m].sum()
        income = s.income_total_cny[m].sum()
        interest = s.interest_total_cny[m].sum()
        out.append(
            {
                "group": group,
                "level": str(level),
                "n_borrowers": int(m.sum()),
                "limit_cuts": int(s.cuts_count[m].sum()),
                "limit_raises": int(s.raises_count[m].sum()),
                "cut_share": float((s.cuts_count[m] > 0).mean()),
                "default_rate": float((s.default_step[m] > 0).mean()),
                "effective_apr": float(12.0 * interest / balance_sum) if balance_sum > 0 else np.nan,
                "interest_fees_share_of_income": float(interest / income) if income > 0 else np.nan,
                "unmet_credit_need_cny": float(s.unmet_need_total_cny[m].sum()),
                "mean_limit_change": float((s.limit_cny[m] / np.maximum(s.initial_limit_cny[m], 1.0)).mean()),
            }
        )
    return out


def distribution_table(model: CreditMarketModel) -> pd.DataFrame:
    """Who bears the cuts: outcomes by income decile, segment and behaviour type.

    Returns:
        Columns ``group`` ("income_decile", "segment", "behaviour_type"), ``level``,
        ``n_borrowers``, ``limit_cuts``, ``limit_raises``, ``cut_share`` (share with at
        least one cut), ``default_rate``, ``effective_apr``, ``interest_fees_share_of_income``,
        ``unmet_credit_need_cny``, ``mean_limit_change`` (final / initial limit).
    """
    s = model.borrowers
    type_names = np.array([t.name.lower() for t in BehaviourType])
    segment = model.segment_labels()
    rows = (
        _group_rows(model, "income_decile", s.income_decile.astype(int))
        + _group_rows(model, "segment", segment)
        + _group_rows(model, "behaviour_type", type_names[s.behaviour_type])
    )
    return pd.DataFrame(rows)


def vintage_table(model: CreditMarketModel) -> pd.DataFrame:
    """Vintage default curves of the book.

    A vintage is the origination quarter relative to the start of the run (the initial
    book was originated before month 1: ``origination_step <= 0``).

    Returns:
        Columns ``vintage, months_on_book, n_accounts, cumulative_default_rate``
        (:func:`sim.analysis.delinquency.vintage_curves`).
    """
    s = model.borrowers
    quarter = np.floor_divide(s.origination_step, 3)
    levels, inverse = np.unique(quarter, return_inverse=True)
    labels = np.array([f"Q{q:+d}" for q in levels])
    accounts = pd.DataFrame(
        {
            "vintage": labels[inverse],
            "origination_step": s.origination_step,
            "default_step": np.where(s.default_step > 0, s.default_step, np.nan),
            "last_observed_step": np.full(s.n, model.steps),
        }
    )
    return vintage_curves(accounts)


def run_tables(model: CreditMarketModel, run_id: str) -> dict[str, pd.DataFrame]:
    """Every table a run writes, keyed by file stem.

    Returns:
        ``summary``, ``monthly``, ``events``, ``by_segment``, ``transitions``, ``vintage``.
    """
    monthly = model.monthly_table()
    events = model.limit_events()
    events = events.assign(reason=events["reason"].astype(str))
    return {
        "summary": run_summary(model, monthly, run_id),
        "monthly": monthly,
        "events": events,
        "by_segment": distribution_table(model),
        "transitions": model.transitions_table(),
        "vintage": vintage_table(model),
    }
