"""Run outputs with firms: the firms table, sector rows, summary values, figure and report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.analysis import plotting
from sim.analysis.compare import RUN_TABLES as COMPARE_TABLES
from sim.analysis.compare import collect_runs
from sim.analysis.report import write_report
from sim.model import CreditMarketModel
from sim.outputs import files as io
from sim.outputs.metrics import FIRM_TABLE_COLUMNS
from sim.outputs.segments import FIRM_GROUP_COLUMNS
from sim.outputs.tables import HEADLINE_METRICS, SUMMARY_EXTRA_METRICS
from tests.conftest import make_run

SME_AND_COST = (
    "effective_apr",
    "interest_fees_share_of_income",
    "high_cost_channel_share",
    "median_cash_buffer_days",
    "share_buffer_under_15d",
    "closure_rate",
    "late_supplier_payments_cny",
)


@pytest.fixture(scope="module")
def runs():
    out = {}
    for policy in ("static", "behaviour_rules"):
        model = CreditMarketModel(
            make_run(f"policy={policy}", "population.n_borrowers=1500", "n_months=8", "seed=1"),
        ).run()
        out[policy] = (model, model.tables(f"{policy}|baseline|seed=1"))
    return out


def test_the_firms_table_is_a_run_table(runs):
    assert "firms" in io.RUN_TABLES and "firms" in COMPARE_TABLES
    model, tables = runs["static"]
    firms = tables["firms"]
    assert list(firms.columns) == list(FIRM_TABLE_COLUMNS)
    assert len(firms) == 8 * (1 + len(model.sectors.names))  # months x (all + sectors)
    last = firms[(firms["step"] == 8) & (firms["sector"] == "all")].iloc[0]
    days = model.firms.buffer_days[model.firms.is_open]
    assert last["buffer_days_p50"] == pytest.approx(np.median(days))
    assert last["n_open"] == model.firms.is_open.sum()
    q = firms[
        [
            "buffer_days_p10",
            "buffer_days_p25",
            "buffer_days_p50",
            "buffer_days_p75",
            "buffer_days_p90",
        ]
    ]
    assert (q.diff(axis=1).iloc[:, 1:] >= 0).all().all()  # quantiles in order
    monthly = tables["monthly"]
    per_month = firms[firms["sector"] == "all"].set_index("step")
    np.testing.assert_allclose(monthly["median_cash_buffer_days"], per_month["buffer_days_p50"])
    by_cause = (
        firms[firms["sector"] != "all"]
        .groupby("step")[["closures_shortfall", "closures_exit", "closures_distress"]]
        .sum()
    )
    np.testing.assert_array_equal(
        by_cause.sum(axis=1).to_numpy(), monthly["firm_closures"].to_numpy()
    )
    # Liquidity buffer days count undrawn credit on top of the cash: never below the cash
    # buffer at the same point (the cash buffer averages opening and closing cash, so
    # compare the medians loosely), and the gap columns are shares.
    assert (monthly["median_liquidity_buffer_days"] > 0).all()
    assert monthly["gap_incidence"].between(0, 1).all()
    assert monthly["distress_exit_share"].dropna().between(0, 1).all()


def test_summary_headline_sme_and_cost_values_are_filled(runs):
    _, tables = runs["static"]
    summary = tables["summary"].iloc[0]
    for metric in (*HEADLINE_METRICS, *SUMMARY_EXTRA_METRICS):
        assert np.isfinite(summary[metric]), metric
    assert 0 < summary["effective_apr"] < 0.5
    assert 0 <= summary["high_cost_channel_share"] < 1
    assert 0 < summary["closure_rate"] < 1
    monthly = tables["monthly"]
    closures = monthly["firm_closures"].sum()
    firm_months = (monthly["n_open_firms"] + monthly["firm_closures"]).sum()
    assert summary["closure_rate"] == pytest.approx(1 - (1 - closures / firm_months) ** 12)


def test_distribution_table_by_sector_and_segment(runs):
    model, tables = runs["static"]
    rows = tables["by_segment"]
    assert set(rows["group"]) == {"income_decile", "segment", "behaviour_type", "sector"}
    sectors = rows[rows["group"] == "sector"].set_index("level")
    assert set(sectors.index) == set(model.sectors.names)
    assert sectors["n_firms"].sum() == model.firms.n
    assert sectors["n_borrowers"].sum() == model.firms.n  # one owner per firm
    closed = ~model.firms.is_open
    assert sectors["closures"].sum() == closed.sum()
    assert (
        sectors["closures"]
        == sectors["closures_shortfall"] + sectors["closures_exit"] + sectors["closures_distress"]
    ).all()
    for col in FIRM_GROUP_COLUMNS:
        assert rows.loc[rows["group"] != "sector", col].isna().all()
    seg = rows[rows["group"] == "segment"].set_index("level")
    assert seg.loc["sole_trader", "n_borrowers"] == model.firms.n
    assert (
        np.isfinite(seg["effective_apr"]).all() and np.isfinite(seg["lenders_per_borrower"]).all()
    )


def test_buffer_days_figure_and_report(runs, tmp_path):
    for policy, (_, tables) in runs.items():
        io.write_run_outputs(tables, tmp_path / policy, {"run_id": policy}, "seed: 1\n")
    collected = collect_runs(tmp_path)
    assert set(collected.firms["policy"]) == {"static", "behaviour_rules"}
    fig = plotting.buffer_days_distribution(collected.firms)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 1 + len(runs["static"][0].sectors.names)
    assert axes[0].get_title() == "all"
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["behaviour_rules", "static"]
    with pytest.raises(ValueError, match="missing column"):
        plotting.buffer_days_distribution(collected.firms.drop(columns="buffer_days_p90"))
    report = write_report(collected, tmp_path / "report", formats=("png",))
    text = report.read_text()
    assert "figures/buffer_days.png" in text
    assert (tmp_path / "report" / "figures" / "buffer_days.png").is_file()
    assert "More borrowing-cost, exposure and small-business measures" in text
    table = pd.read_csv(tmp_path / "report" / "comparison_summary.csv")
    for metric in SME_AND_COST:
        assert np.isfinite(table.loc[table["metric"] == metric, "mean"]).all(), metric


def test_sector_rows_equal_masks_over_every_firm():
    # Each sector's row from its rows gathered in row order: the same bits as the values
    # masked out of every firm (sums pairwise in row order, quantiles, counts).
    from sim.outputs.firm_metrics import firm_buffers, firm_sector_rows

    model = CreditMarketModel(make_run("population.n_borrowers=3000", "n_months=5"))
    model.run()
    world, month = model.world, model.month
    f, st, fm = world.firms, month.settlement, month.firm_month
    b = firm_buffers(world)
    rows = firm_sector_rows(world, month, b)
    assert [r["sector"] for r in rows] == ["all", *world.sectors.names]
    was_open = f.is_open | st.new_closure
    out = fm.purchases_cny + np.where(was_open, f.fixed_cost_cny, 0.0)
    for i, row in enumerate(rows[1:]):
        sel = f.sector == i
        days = f.buffer_days[sel & f.is_open & np.isfinite(f.buffer_days)]
        liq = b.liquidity[sel & np.isfinite(b.liquidity)]
        expected = {
            "n_open": int(np.count_nonzero(f.is_open[sel])),
            "buffer_days_p25": float(np.percentile(days, 25)) if days.size else np.nan,
            "buffer_days_mean": float(days.mean()) if days.size else np.nan,
            "late_supplier_payments_cny": float(st.late_supplier_payments_cny[sel].sum()),
            "unmet_financing_gap_cny": float(st.unmet_gap_cny[sel].sum()),
            "liquidity_buffer_days_p50": float(np.median(liq)) if liq.size else np.nan,
            "gap_share_of_outflows": float(fm.gap_cny[sel].sum() / out[sel].sum())
            if out[sel].sum() > 0
            else np.nan,
            "closures_exit": int(np.count_nonzero(st.closure_cause[sel] == 2)),
        }
        for key, value in expected.items():
            assert np.float64(row[key]).tobytes() == np.float64(value).tobytes(), (i, key)
    model.close()
