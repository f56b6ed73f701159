"""Who bears the cuts: run outcomes by income decile, segment, behaviour type, sector, arm.

The ``by_segment`` table every run writes (:func:`distribution_table`, gathered by
:func:`sim.outputs.tables.run_tables`) and the borrowers' segment labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.world.borrowers import BehaviourType
from sim.world.firms import ClosureCause

if TYPE_CHECKING:
    from sim.month import World
    from sim.outputs.recorder import RunRecord

__all__ = ["FIRM_GROUP_COLUMNS", "distribution_table", "segment_labels"]


#: Firm columns of :func:`distribution_table` (NaN outside the "sector" group).
FIRM_GROUP_COLUMNS: tuple[str, ...] = (
    "n_firms",
    "median_cash_buffer_days",
    "mean_cash_buffer_days",
    "late_supplier_payments_cny",
    "unmet_financing_gap_cny",
    "closures",
    "closures_shortfall",
    "closures_exit",
    "closures_distress",
    "closure_share",
)


def _group_rows(
    world: World, group: str, codes: np.ndarray, levels: np.ndarray
) -> list[dict[str, object]]:
    """One row per level present: borrowers with ``codes == i`` are level ``levels[i]``.

    Args:
        world: the run's final state.
        group: the group's name.
        codes: ``(n_borrowers,)`` integer level of each borrower; negative: in no level.
        levels: the level values (str, or int for deciles), named ``str(level)``; rows
            come in their sorted order (as ``np.unique`` of the labels sorts them).
    """
    s = world.borrowers
    ch = world.channels
    high_cost = ch.high_cost_balance()
    channel_balance = ch.balance_total()
    out = []
    present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(levels)))
    for i in sorted(present, key=lambda i: levels[i]):
        level = levels[i]
        m = codes == i
        platform_sum = s.balance_month_sum_cny[m].sum()
        balance_sum = platform_sum + ch.balance_month_sum_cny[m].sum()
        income = s.income_total_cny[m].sum()
        interest = s.interest_total_cny[m].sum()
        cost = interest + ch.interest_fees_total_cny[m].sum()
        debt = s.balance_cny[m].sum() + channel_balance[m].sum()
        indebted = m & (s.lenders_count > 0)
        out.append(
            {
                "group": group,
                "level": str(level),
                "n_borrowers": int(m.sum()),
                "limit_cuts": int(s.cuts_count[m].sum()),
                "limit_raises": int(s.raises_count[m].sum()),
                "cut_share": float((s.cuts_count[m] > 0).mean()),
                "default_rate": float((s.default_step[m] > 0).mean()),
                "effective_apr": float(12.0 * cost / balance_sum) if balance_sum > 0 else np.nan,
                "platform_effective_apr": (
                    float(12.0 * interest / platform_sum) if platform_sum > 0 else np.nan
                ),
                "interest_fees_share_of_income": float(cost / income) if income > 0 else np.nan,
                "high_cost_channel_share": float(high_cost[m].sum() / debt) if debt > 0 else 0.0,
                "lenders_per_borrower": (
                    float(s.lenders_count[indebted].mean()) if indebted.any() else np.nan
                ),
                "unmet_credit_need_cny": float(s.unmet_need_total_cny[m].sum()),
                "mean_limit_change": float(
                    (s.limit_cny[m] / np.maximum(s.initial_limit_cny[m], 1.0)).mean()
                ),
            }
            | dict.fromkeys(FIRM_GROUP_COLUMNS, np.nan)
        )
    return out


def _sector_rows(world: World, record: RunRecord) -> list[dict[str, object]]:
    """Rows of the "sector" group: owners by their firm's sector, plus firm outcomes."""
    f = world.firms
    if f.n == 0:
        return []
    names = np.asarray(world.sectors.names)
    codes = np.full(world.borrowers.n, -1, dtype=np.int64)  # -1: owns no firm
    codes[f.owner] = f.sector
    table = record.firms_table()
    firm_names = names[f.sector]
    rows = []
    for row in _group_rows(world, "sector", codes, names):
        in_sector = firm_names == row["level"]
        months = table[table["sector"] == row["level"]]
        open_months = f.open_months[in_sector].sum()
        row |= {
            "n_firms": int(in_sector.sum()),
            "median_cash_buffer_days": float(months["buffer_days_p50"].mean()),
            "mean_cash_buffer_days": (
                float(f.buffer_days_sum[in_sector].sum() / open_months) if open_months else np.nan
            ),
            "late_supplier_payments_cny": float(f.late_payments_total_cny[in_sector].sum()),
            "unmet_financing_gap_cny": float(f.unmet_gap_total_cny[in_sector].sum()),
            "closures": int((~f.is_open[in_sector]).sum()),
            "closures_shortfall": int((f.closure_cause[in_sector] == ClosureCause.SHORTFALL).sum()),
            "closures_exit": int((f.closure_cause[in_sector] == ClosureCause.EXIT).sum()),
            "closures_distress": int((f.closure_cause[in_sector] == ClosureCause.DISTRESS).sum()),
            "closure_share": float((~f.is_open[in_sector]).mean()),
        }
        rows.append(row)
    return rows


def distribution_table(world: World, record: RunRecord) -> pd.DataFrame:
    """Who bears the cuts: outcomes by income decile, segment, behaviour type and sector.

    Borrowing-cost columns cover every lender (platform and other channels).

    Returns:
        Columns ``group`` ("income_decile", "segment" (household / sole_trader),
        "behaviour_type", "sector" (sole traders by their firm's sector), and "arm"
        (champion / challenger, for the ``champion_challenger`` policy)), ``level``,
        ``n_borrowers``, ``limit_cuts``, ``limit_raises``, ``cut_share`` (share with at
        least one cut), ``default_rate``, ``effective_apr`` (all lenders, with fees),
        ``platform_effective_apr``, ``interest_fees_share_of_income``,
        ``high_cost_channel_share`` (of the final balances), ``lenders_per_borrower``
        (final, among indebted), ``unmet_credit_need_cny``, ``mean_limit_change`` (final /
        initial limit), then the firm columns :data:`FIRM_GROUP_COLUMNS` for "sector"
        rows (NaN elsewhere): ``n_firms``, ``median_cash_buffer_days`` (mean of the
        monthly medians), ``mean_cash_buffer_days`` (over firm-months),
        ``late_supplier_payments_cny``, ``unmet_financing_gap_cny``, ``closures`` and by
        cause ``closures_shortfall`` / ``closures_exit`` / ``closures_distress``,
        ``closure_share`` (share of the sector's firms closed by the end).
    """
    s = world.borrowers
    # Integer codes, not per-borrower strings: the same masks and sums, a fraction of the
    # memory (1.8 M borrowers: 80 MB a string array, and np.unique sorts a copy).
    type_names = np.array([t.name.lower() for t in BehaviourType])
    deciles = s.income_decile.astype(np.int64)
    rows = (
        _group_rows(world, "income_decile", deciles, np.arange(deciles.max(initial=0) + 1))
        + _group_rows(
            world, "segment", np.asarray(world.sole_trader).astype(np.int8),
            np.array(["household", "sole_trader"]),
        )
        + _group_rows(world, "behaviour_type", s.behaviour_type.astype(np.int64), type_names)
        + _sector_rows(world, record)
    )  # fmt: skip
    arm = getattr(world.platform.policy, "arm", None)
    if arm is not None:
        # Champion/challenger: outcomes per arm of the randomised test.
        arm_codes = (np.asarray(arm) == 1).astype(np.int8)
        rows += _group_rows(world, "arm", arm_codes, np.array(["champion", "challenger"]))
    return pd.DataFrame(rows)


def segment_labels(world: World) -> np.ndarray:
    """Segment of each borrower: "sole_trader" (owned a firm at the start) or "household".

    The segment is fixed at the start, so a sole trader whose firm closed stays in it
    (its owner's debts are still serviced from household income).

    Returns:
        ``(n_borrowers,)`` array of str.
    """
    return np.where(world.sole_trader, "sole_trader", "household")
