"""Model-level tests: accounting identities, invariants, determinism, common random numbers."""

from __future__ import annotations

import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.agents import Borrower, Platform
from sim.model import RNG_STREAMS, STAGE_ORDER, CreditMarketModel
from sim.servicing import MISSES_TO_DEFAULT
from tests.conftest import make_run


def step_with_checks(model: CreditMarketModel, months: int):
    """Step month by month, checking identities and invariants after each month."""
    s = model.borrowers
    for _ in range(months):
        balance_before = s.balance_cny.sum()
        savings_before = s.savings_cny.copy()
        missed_before = s.missed.copy()
        defaulted_before = s.defaulted.copy()
        model.step()
        h, f = model.last_household, model.last_servicing
        # Platform book: change in balance = draws + interest - repayments - write-offs.
        delta = s.balance_cny.sum() - balance_before
        flows = h.draws_cny.sum() + f.interest_cny.sum() - h.repayments_cny.sum() - f.write_off_cny.sum()
        assert delta == pytest.approx(flows, rel=1e-9, abs=1e-6)
        # Households: savings change = income + draws - repayments - consumption, per borrower.
        expected = savings_before + h.income_cny + h.draws_cny - h.repayments_cny - h.consumption_cny
        np.testing.assert_allclose(s.savings_cny, expected, atol=0.011)
        # Invariants.
        assert (s.balance_cny >= 0).all() and (s.limit_cny >= 0).all() and (s.savings_cny >= 0).all()
        assert np.array_equal(np.round(s.balance_cny, 2), s.balance_cny)
        assert np.array_equal(s.dpd, s.missed * 30)
        # DPD moves by at most one bucket a month and only through misses or cures.
        open_before = ~defaulted_before
        moved = s.missed[open_before].astype(int) - missed_before[open_before].astype(int)
        assert set(np.unique(moved)) <= {1, 0} | set(-np.arange(1, MISSES_TO_DEFAULT))
        # Default exactly at the third consecutive miss; defaulted lines are closed.
        new = f.new_default
        assert (s.missed[new] == MISSES_TO_DEFAULT).all()
        assert (missed_before[new] == MISSES_TO_DEFAULT - 1).all()
        assert (s.limit_cny[s.defaulted] == 0).all()
        assert (s.missed[~s.defaulted] < MISSES_TO_DEFAULT).all()
        assert (s.balance_cny[s.charged_off] == 0).all()


def test_identities_and_invariants_hold_every_month():
    model = CreditMarketModel(make_run("policy=behaviour_rules", "population.n_borrowers=3000"))
    step_with_checks(model, 24)
    assert model.borrowers.defaulted.sum() > 0  # the default path was exercised
    assert model.borrowers.charged_off.sum() > 0


def test_identities_hold_in_a_downturn_with_delinquent_book():
    run = make_run("policy=static", "population=uci_2005", "population.n_borrowers=2000")
    model = CreditMarketModel(run)
    step_with_checks(model, 8)
    assert model.borrowers.charged_off.sum() > 0


def test_mesa_structure_and_stage_order():
    model = CreditMarketModel(make_run("population.n_borrowers=300"))
    assert STAGE_ORDER == ("scenario", "household", "servicing", "platform_review", "collect")
    assert len(model.agents_by_type[Borrower]) == 300
    assert len(model.agents_by_type[Platform]) == 1
    b = model.agents_by_type[Borrower][0]
    assert b.limit_cny == model.borrowers.limit_cny[b.row]
    model.run(3)
    assert model.steps == 3
    table = model.monthly_table()
    assert list(table["step"]) == [1, 2, 3]
    assert isinstance(model.datacollector, mesa.DataCollector)


def test_same_seed_same_results_and_different_seed_differs():
    a = CreditMarketModel(make_run("seed=7")).run().monthly_table()
    b = CreditMarketModel(make_run("seed=7")).run().monthly_table()
    c = CreditMarketModel(make_run("seed=8")).run().monthly_table()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["drawn_balance_cny"], c["drawn_balance_cny"])


def test_same_seed_same_results_in_a_fresh_process():
    code = (
        "from tests.conftest import make_run; from sim.model import CreditMarketModel;"
        "m = CreditMarketModel(make_run('seed=11')).run();"
        "print(repr(float(m.monthly_table()['drawn_balance_cny'].sum())))"
    )
    here = CreditMarketModel(make_run("seed=11")).run()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) == float(here.monthly_table()["drawn_balance_cny"].sum())


def test_common_random_numbers_across_policies():
    """Under one seed every policy sees identical incomes, employment and world shocks."""
    models = {
        p: CreditMarketModel(make_run(f"policy={p}", "seed=3", "population.n_borrowers=1500"))
        for p in ("static", "behaviour_rules")
    }
    for _ in range(12):
        incomes = {}
        for p, m in models.items():
            m.step()
            incomes[p] = (m.borrowers.income_cny.copy(), m.borrowers.employed.copy())
        np.testing.assert_array_equal(incomes["static"][0], incomes["behaviour_rules"][0])
        np.testing.assert_array_equal(incomes["static"][1], incomes["behaviour_rules"][1])
    # ... while the policy does change limits.
    assert not np.array_equal(
        models["static"].borrowers.limit_cny, models["behaviour_rules"].borrowers.limit_cny
    )
    assert RNG_STREAMS == ("population", "world", "platform", "mesa")


def test_limit_events_match_limit_changes():
    model = CreditMarketModel(make_run("policy=behaviour_rules")).run()
    ev = model.limit_events()
    assert (ev["reason"] != "NONE").all()
    assert len(ev) > 0
    # Replaying the events from the initial limits gives the final limits.
    limits = model.borrowers.initial_limit_cny.copy()
    for row in ev.sort_values("step", kind="stable").itertuples():
        assert limits[row.borrower_id] == pytest.approx(row.old_limit_cny)
        limits[row.borrower_id] = row.new_limit_cny
    np.testing.assert_allclose(limits, model.borrowers.limit_cny)
    table = model.monthly_table()
    counted = ev[ev["reason"] != "CLOSED_AT_DEFAULT"]
    assert table["limit_cuts"].sum() + table["limit_raises"].sum() == len(counted)
    # The borrower view gives the "why was my limit cut" history.
    bid = int(counted["borrower_id"].iloc[0])
    agent = next(a for a in model.agents_by_type[Borrower] if a.row == bid)
    history = agent.limit_history()
    assert len(history) == int((ev["borrower_id"] == bid).sum())
    assert set(history.columns) == {"step", "old_limit_cny", "new_limit_cny", "reason"}
