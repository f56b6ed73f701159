"""Household behaviour on hand-built borrowers: buffer-stock spending, cures, habits."""

from __future__ import annotations

import dataclasses

import numpy as np

from sim import BorrowerState
from sim.config import BehaviourConfig
from sim.world.draws import draw_world
from sim.world.households import household_month
from sim.world.scenarios import MacroState

MACRO = MacroState(
    step=1,
    calendar_month=3,
    regime="baseline",
    job_loss_multiplier=1.0,
    job_find_multiplier=1.0,
    income_multiplier=1.0,
    seasonal_spending=1.0,
)
#: No noise, no shocks: every flow can be computed by hand.
QUIET = BehaviourConfig(
    income_sigma=0.0,
    needs_sigma=0.0,
    discretionary_sigma=0.0,
    expense_shock_prob_monthly=0.0,
    job_loss_prob_monthly=0.0,
    high_risk_txn_prob_monthly=0.0,
)


def quiet_draws(n: int, **values: object):
    """World draws that trigger nothing (uniforms 0.999, normals 0), with overrides."""
    draws = draw_world(np.random.default_rng(0), n, QUIET)
    fields = {}
    for f in dataclasses.fields(draws):
        arr = getattr(draws, f.name)
        if f.name == "line_draws_cdf" or arr is None:
            continue
        fill = 0.0 if f.name.startswith(("z_", "e_")) else 0.999
        fields[f.name] = np.full(n, values.get(f.name, fill), dtype=arr.dtype)
    return dataclasses.replace(draws, **fields)


def test_buffer_stock_spending_moves_savings_towards_the_target_by_hand():
    # Income 10,000, needs 5,000: at the target a household spends its permanent income
    # (10,000 - 5,000 of discretionary spending) and 10 % of the gap more or less.
    s = BorrowerState.blank(
        3, savings_cny=[40_000.0, 20_000.0, 30_000.0], savings_target_cny=30_000.0, limit_cny=0.0
    )
    flows = household_month(s, quiet_draws(3), MACRO, QUIET, step=1)
    assert flows.income_cny.tolist() == [10_000.0] * 3
    assert flows.consumption_cny.tolist() == [11_000.0, 9_000.0, 10_000.0]
    assert s.savings_cny.tolist() == [39_000.0, 21_000.0, 30_000.0]


def test_savings_are_stationary_under_shocks():
    # 4,000 households starting at their targets (lognormal, as the population draws them),
    # with every default shock switched on: the yearly mean of savings settles within 5 %
    # of its long-run level and stays below no more than a few percent under the target.
    n, b = 4_000, BehaviourConfig()
    rng = np.random.default_rng(7)
    target = np.round(30_000.0 * np.exp(0.8 * rng.standard_normal(n) - 0.32), 2)
    s = BorrowerState.blank(n, savings_cny=target, savings_target_cny=target, limit_cny=0.0)
    means = []
    for step in range(1, 73):
        household_month(s, draw_world(rng, n, b), MACRO, b, step=step)
        means.append(s.savings_cny.mean())
    yearly = np.array(means).reshape(6, 12).mean(axis=1)
    long_run = yearly[4:].mean()
    assert np.all(np.abs(yearly[1:] / long_run - 1) < 0.05), yearly / long_run
    assert 0.85 < long_run / target.mean() < 1.05
