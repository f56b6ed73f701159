"""Per-agent outcome tables: totals agree with the run, the window, ids, atomic writing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.model import CreditMarketModel
from sim.outputs import files as io
from sim.outputs.agents import panel_rows, window_start
from sim.platform.policies.reasons import CLOSURE_REASONS
from tests.conftest import make_run

N, MONTHS = 1500, 8


@pytest.fixture(scope="module")
def runs():
    out = {}
    for policy in ("static", "behaviour_rules"):
        model = CreditMarketModel(
            make_run(f"policy={policy}", f"population.n_borrowers={N}", f"n_months={MONTHS}")
        ).run()
        out[policy] = (model, model.tables(policy))
    return out


def test_borrower_totals_match_the_run(runs):
    model, tables = runs["behaviour_rules"]
    b, summary = tables["borrowers"], tables["summary"].iloc[0]
    # one row per borrower: the starting book, then the accounts opened in the run
    n = model.world.borrowers.n
    assert n > N
    assert b["borrower_id"].tolist() == list(range(n))
    assert b["borrower_id"].dtype == np.int32
    assert b["interest_fees_cny"].dtype == np.float32
    assert isinstance(b["behaviour_type"].dtype, pd.CategoricalDtype)
    apr = (
        12.0
        * b["interest_fees_cny"].astype(float).sum()
        / b["balance_months_cny"].astype(float).sum()
    )
    assert apr == pytest.approx(summary["effective_apr"], rel=1e-5)
    share = b["interest_fees_cny"].astype(float).sum() / b["income_cny"].astype(float).sum()
    assert share == pytest.approx(summary["interest_fees_share_of_income"], rel=1e-5)
    unmet = b["unmet_need_cny"].astype(float).sum()
    assert unmet == pytest.approx(summary["unmet_credit_need_cny"], rel=1e-5)
    s = model.world.borrowers if model.world is not None else None
    assert int(b["n_cuts"].sum()) == int(s.cuts_count.sum()) > 0
    assert int(b["n_raises"].sum()) == int(s.raises_count.sum())
    assert b["defaulted_in_window"].sum() == (s.default_step > 0).sum()
    # the first cut is the earliest policy cut of each borrower in the events table
    ev = tables["events"]
    cuts = ev[
        ~ev["reason"].isin([r.name for r in CLOSURE_REASONS])
        & (ev["new_limit_cny"] < ev["old_limit_cny"])
    ]
    first = cuts.groupby("borrower_id")["step"].min()
    assert (b.loc[first.index, "first_cut_step"].to_numpy() == first.to_numpy()).all()
    assert (b.loc[~b.index.isin(first.index), "first_cut_step"] == 0).all()
    assert (b.loc[first.index, "first_cut_reason"] != "NONE").all()


def test_firm_totals_match_the_run(runs):
    model, tables = runs["static"]
    f, summary = tables["firm_outcomes"], tables["summary"].iloc[0]
    assert f["firm_id"].tolist() == list(range(model.world.firms.n))
    assert (f["owner_id"].to_numpy() == model.world.firms.owner).all()
    late = f["late_payments_cny"].astype(float).sum()
    assert late == pytest.approx(summary["late_supplier_payments_cny"], rel=1e-5, abs=0.05)
    assert f["closed_in_window"].sum() == summary["firm_closures"]
    causes = set(f.loc[f["closed_in_window"], "closure_cause"])
    assert causes <= {"SHORTFALL", "EXIT", "DISTRESS"}
    assert (f.loc[~f["closed_in_window"], "closure_cause"] == "NONE").all()
    open_ = f["buffer_days_mean"].notna()
    assert (f.loc[open_, "buffer_days_min"] <= f.loc[open_, "buffer_days_mean"] + 1e-3).all()
    assert (f["months_under_15d"] <= MONTHS).all()


def test_panel_is_the_same_sample_under_every_policy(runs):
    a = runs["static"][1]["agent_panel"]
    b = runs["behaviour_rules"][1]["agent_panel"]
    pd.testing.assert_frame_equal(
        a[["borrower_id", "step"]].reset_index(drop=True),
        b[["borrower_id", "step"]].reset_index(drop=True),
    )
    # each month: the id-based sample of the rows then in the book (the share fixed by
    # the starting book); the rows that existed at the start are in it every month
    n_end = runs["static"][0].world.borrowers.n
    for _step, rows in a.groupby("step")["borrower_id"]:
        ids = rows.to_numpy()
        assert (ids == panel_rows(ids.max() + 1, 0.1, 20_000, n_initial=N)[: ids.size]).all()
    ids = np.sort(a["borrower_id"].unique())
    assert (ids == panel_rows(n_end, 0.1, 20_000, n_initial=N)[: ids.size]).all()
    start = panel_rows(N, 0.1, 20_000)
    assert 0.05 * N < start.size < 0.15 * N
    assert (a[a["borrower_id"] < N].groupby("borrower_id").size() == MONTHS).all()
    assert a.loc[a["borrower_id"] < N, "borrower_id"].nunique() == start.size
    # the cap: at most about max_rows ids, the same rows for a grown population
    capped = panel_rows(100_000, 0.5, 1000)
    assert 800 < capped.size < 1200
    grown = panel_rows(110_000, 0.5, 1000, n_initial=100_000)
    assert (grown[: capped.size] == capped).all()


def test_window_starts_after_the_burn_in():
    assert window_start(SimpleNamespace(burn_in_months=3)) == 3
    assert window_start(SimpleNamespace()) == 0
    burn_in, window = 4, 4
    model = CreditMarketModel(
        make_run(
            "policy=behaviour_rules",
            "population.n_borrowers=800",
            f"burn_in_months={burn_in}",
            f"n_months={window}",
            "output.agent_panel_share=0.2",
        )
    )
    model.run()
    assert model.record.agents.burn_in == burn_in
    tables = model.tables("x")
    b, f, monthly = tables["borrowers"], tables["firm_outcomes"], tables["monthly"]
    # the monthly table holds the window only, numbered from 1
    assert monthly["step"].tolist() == list(range(1, window + 1))
    whole = model.monthly_table(include_burn_in=True)
    assert whole["income_cny"].sum() > 1.5 * monthly["income_cny"].sum()
    # window totals: the world's accumulators restart at the window, counted once
    income = b["income_cny"].astype(float).sum()
    assert income == pytest.approx(monthly["income_cny"].sum(), rel=1e-5)
    unmet = b["unmet_need_cny"].astype(float).sum()
    assert unmet == pytest.approx(monthly["unmet_credit_need_cny"].sum(), rel=1e-5)
    ev = tables["events"]
    assert (ev["step"] >= 1).all()  # the burn-in's events are left out
    cuts = ev[
        ~ev["reason"].isin([r.name for r in CLOSURE_REASONS])
        & (ev["new_limit_cny"] < ev["old_limit_cny"])
    ]
    assert int(b["n_cuts"].sum()) == len(cuts) > 0
    assert (b.loc[b["first_cut_step"] > 0, "first_cut_step"] >= 1).all()
    assert f["closed_in_window"].sum() == monthly["firm_closures"].sum()
    assert (f["months_under_15d"] <= window).all()
    late = f["late_payments_cny"].astype(float).sum()
    assert late == pytest.approx(monthly["late_supplier_payments_cny"].sum(), rel=1e-5, abs=0.05)
    # the panel starts PANEL_LEAD_MONTHS before the window (here: from the run's month 1)
    assert tables["agent_panel"]["step"].min() == 1 - burn_in


def test_agent_tables_written_atomically_with_the_run(runs, tmp_path, monkeypatch):
    _, tables = runs["static"]
    out = tmp_path / "run"
    io.write_run_outputs(tables, out, {"run_id": "x"}, "seed: 1\n")
    for name in ("borrowers", "firm_outcomes", "agent_panel"):
        assert name in io.RUN_TABLES
        back = io.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, tables[name])
    assert io.run_is_complete(out)
    (out / "borrowers.parquet").unlink()
    assert not io.run_is_complete(out)  # a run without its per-agent tables is incomplete

    # A failure while writing the borrower table leaves no marker and no temporary file.
    original = pd.DataFrame.to_parquet

    def failing(self, path, *args, **kwargs):
        if "borrowers" in str(path):
            raise OSError("disk full")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    again = tmp_path / "again"
    with pytest.raises(OSError, match="disk full"):
        io.write_run_outputs(tables, again, {"run_id": "x"}, "seed: 1\n")
    assert not (again / io.COMPLETE_MARKER).exists()
    assert not list(again.glob(".tmp-*"))
    assert not io.run_is_complete(again)
