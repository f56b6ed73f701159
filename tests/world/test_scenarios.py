"""Scenario library: every scenario x policy pair runs; macro paths are what the YAML says."""

from __future__ import annotations

import copy
import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from sim.config import RunConfig
from sim.model import CreditMarketModel
from sim.platform.policies import policy_names
from sim.runtime.compose import CONF_DIR, load_run_config
from sim.world.scenarios import calendar_month, macro_state

SCENARIOS = sorted(p.stem for p in (Path(CONF_DIR) / "scenario").glob("*.yaml"))


def test_scenario_library_is_complete():
    expected = {
        "baseline",
        "downturn",
        "covid_shock",
        "funding_squeeze",
        "apr_cap",
        "peak_season_stress",
    }
    assert expected <= set(SCENARIOS)


@functools.cache
def _scenario_run(scenario: str, *size: str) -> RunConfig:
    return load_run_config([f"scenario={scenario}", "population.n_borrowers=400", *size])


@functools.cache
def _policy(policy: str) -> dict:
    return load_run_config([f"policy={policy}"]).policy


def _pair_run(scenario: str, policy: str, *size: str) -> CreditMarketModel:
    # The groups compose independently: each scenario and each policy is composed once and
    # the pair joined (54 pairs from 15 compositions).
    run = copy.deepcopy(_scenario_run(scenario, *size))
    run = dataclasses.replace(run, policy=copy.deepcopy(_policy(policy)))
    model = CreditMarketModel(run).run()
    table = model.monthly_table()
    assert len(table) == run.n_months
    assert np.isfinite(table["drawn_balance_cny"]).all()
    assert (model.borrowers.limit_cny >= 0).all()
    assert model.world.platform.policy.name == policy  # the pair's policy ran the window
    return model


def _pairs() -> list:
    """Every (scenario, policy) pair; ``make test`` runs each policy once, the scenarios in
    turn (so each scenario too), and ``make test-slow`` the other pairs."""
    pairs = []
    for i, policy in enumerate(policy_names()):
        for j, scenario in enumerate(SCENARIOS):
            slow = () if j == i % len(SCENARIOS) else (pytest.mark.slow,)
            pairs.append(pytest.param(scenario, policy, marks=slow, id=f"{policy}-{scenario}"))
    return pairs


@pytest.mark.parametrize(("scenario", "policy"), _pairs())
def test_every_scenario_policy_pair_runs(scenario, policy):
    # One burn-in month (the switch from `static` to the policy on a book that has grown),
    # then four months under the policy; a scenario's shock is moved into them, so every
    # policy also reviews in the shock's regime (the full 24-month burn-in: the slow test
    # below).
    shocks = OmegaConf.load(Path(CONF_DIR) / "scenario" / f"{scenario}.yaml").shocks
    moved = ["scenario.shocks.0.start_month=2"] if shocks else []
    model = _pair_run(scenario, policy, "n_months=4", "burn_in_months=1", *moved)
    if shocks:
        assert shocks[0].regime in set(model.monthly_table()["regime"])


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("policy", policy_names())
def test_every_scenario_policy_pair_runs_after_the_full_burn_in(scenario, policy):
    _pair_run(scenario, policy, "n_months=4")


def test_downturn_macro_path_and_recovery_ramp():
    sc = load_run_config(["scenario=downturn"]).scenario
    assert macro_state(sc, 12).regime == "baseline"
    m13 = macro_state(sc, 13)
    assert m13.regime == "downturn" and m13.job_loss_multiplier == pytest.approx(2.0)
    assert macro_state(sc, 24).income_multiplier == pytest.approx(0.92)
    # Recovery: 12 ramp months, multipliers move linearly back to 1.
    m25 = macro_state(sc, 25)
    assert m25.regime == "recovery"
    assert m25.job_loss_multiplier == pytest.approx(1.0 + (1 - 1 / 13) * 1.0)
    assert macro_state(sc, 37).regime == "baseline"
    assert macro_state(sc, 37).job_loss_multiplier == pytest.approx(1.0)


def test_calendar_wraps_and_seasonality():
    sc = load_run_config([]).scenario
    assert [calendar_month(sc, t) for t in (1, 12, 13, 14)] == [1, 12, 1, 2]
    assert macro_state(sc, 2).seasonal_spending == pytest.approx(1.20)  # Chinese New Year


def test_apr_cap_caps_platform_pricing():
    capped = CreditMarketModel(load_run_config(["scenario=apr_cap", "population.n_borrowers=2000"]))
    free = CreditMarketModel(load_run_config(["population.n_borrowers=2000"]))
    capped.run(3)
    free.run(3)
    # After three months some borrowers are late and priced in the top tier (18.25 %),
    # which the cap holds at 15.4 %.
    assert (free.borrowers.apr > 0.154).any()
    assert capped.borrowers.apr.max() == pytest.approx(0.154)
    assert set(np.unique(capped.borrowers.apr)) <= {0.073, 0.1095, 0.146, 0.154}


def test_funding_squeeze_tightens_exposure_cap_and_costs_more():
    base = load_run_config(["policy=exposure_cap", "population.n_borrowers=1500", "n_months=6"])
    squeeze = load_run_config(
        [
            "policy=exposure_cap",
            "scenario=funding_squeeze",
            "population.n_borrowers=1500",
            "n_months=6",
        ]
    )
    a = CreditMarketModel(base).run().monthly_table()
    b = CreditMarketModel(squeeze).run().monthly_table()
    assert b["limit_cuts"].sum() > a["limit_cuts"].sum()
    assert b["ead_cny"].iloc[-1] < a["ead_cny"].iloc[-1]
    assert (b["funding_cost_cny"] / b["drawn_balance_cny"]).iloc[0] == pytest.approx(
        (0.035 + 0.02) / 12, rel=1e-9
    )
