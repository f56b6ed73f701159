"""Household behaviour on hand-built borrowers: buffer-stock spending, cures, habits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

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


def test_late_borrower_with_cash_cures_more_often_one_without_cash_rolls():
    # Two accounts one payment behind (due 200 = instalment 100 + arrears 100), each facing
    # the same 2,000 draws. One earns 10,000 and has 50,000 of savings: it chooses on
    # x = log(60,000 / 200) and cures with the ordered-logit probability 1 - F(tau_cure - b x),
    # paying before its needs. The other is out of work with no benefit and no savings: it
    # can pay nothing and rolls every time.
    b = dataclasses.replace(QUIET, unemployment_replacement=0.0)
    k = 2_000
    u = (np.arange(k) + 0.5) / k
    s = BorrowerState.blank(
        2 * k,
        employed=np.repeat([True, False], k),
        savings_cny=np.repeat([50_000.0, 0.0], k),
        savings_target_cny=np.repeat([50_000.0, 0.0], k),
        missed=1,
        min_due_cny=200.0,
        arrears_cny=100.0,
        balance_cny=2_000.0,
        statement_cny=2_000.0,
    )
    flows = household_month(s, quiet_draws(2 * k, u_skip=np.tile(u, 2)), MACRO, b, step=1)
    paid = flows.scheduled_payment_cny
    rich, poor = paid[:k], paid[k:]
    x = np.log(60_000.0 / 200.0)
    tau_cure = np.log((1 - b.arrears_cure_prob) / b.arrears_cure_prob)
    p_cure = 1.0 - 1.0 / (1.0 + np.exp(-(tau_cure - b.arrears_cash_sensitivity * x)))
    assert np.mean(rich >= 200.0) == pytest.approx(p_cure, abs=0.002)
    assert p_cure > 2 * b.arrears_cure_prob  # cash raises the cure rate well above its base
    tau_roll = np.log(b.arrears_roll_prob / (1 - b.arrears_roll_prob))
    p_roll = 1.0 / (1.0 + np.exp(-(tau_roll - b.arrears_cash_sensitivity * x)))
    assert np.mean(rich == 0.0) == pytest.approx(p_roll, abs=0.002)
    assert np.all((rich == 0.0) | (rich >= 100.0))  # a choice is paid in full or not at all
    assert np.all(poor == 0.0)


def test_seasoned_arrears_cure_less_than_new_arrears_at_the_same_cash():
    # Two accounts one payment behind with the same cash and draws: one in its first month
    # behind, one behind in three of the last six months. With arrears_seasoned_log_odds s,
    # the seasoned account's cure probability is 1 - F(tau_cure - b x - s); the new one's
    # 1 - F(tau_cure - b x).
    from sim.world.repayment import CURE, FULL_CURE, arrears_choice

    b = dataclasses.replace(QUIET, arrears_seasoned_log_odds=-1.5)
    k = 4_000
    u = (np.arange(k) + 0.5) / k
    cash, due = np.full(k, 400.0), np.full(k, 200.0)
    new = arrears_choice(cash, due, u, b, np.full(k, 1))
    seasoned = arrears_choice(cash, due, u, b, np.full(k, 3))
    x = np.log(400.0 / 200.0)
    tau_cure = np.log((1 - b.arrears_cure_prob) / b.arrears_cure_prob)
    tau_roll = np.log(b.arrears_roll_prob / (1 - b.arrears_roll_prob))

    def cures(choice):
        return np.isin(choice, (CURE, FULL_CURE)).mean()

    def expit(z):
        return 1.0 / (1.0 + np.exp(-z))

    assert cures(new) == pytest.approx(
        1 - expit(tau_cure - b.arrears_cash_sensitivity * x), abs=1e-3
    )
    assert cures(seasoned) == pytest.approx(
        1 - expit(tau_cure - b.arrears_cash_sensitivity * x + 1.5), abs=1e-3
    )
    # rolls rise by the same shift
    assert (seasoned == 0).mean() == pytest.approx(
        expit(tau_roll - b.arrears_cash_sensitivity * x + 1.5), abs=1e-3
    )
    # 0 (the default) and None both leave the choice as before
    plain = dataclasses.replace(b, arrears_seasoned_log_odds=0.0)
    np.testing.assert_array_equal(arrears_choice(cash, due, u, plain, np.full(k, 3)), new)
    np.testing.assert_array_equal(arrears_choice(cash, due, u, b, None), new)


def test_household_month_reads_months_behind_from_the_delinquency_history():
    # Same accounts, same draws: the second half was behind in three of the last six months.
    # With a strongly negative seasoning, it cures far less often than the first half.
    b = dataclasses.replace(QUIET, arrears_seasoned_log_odds=-3.0)
    k = 2_000
    u = (np.arange(k) + 0.5) / k
    s = BorrowerState.blank(
        2 * k,
        savings_cny=50_000.0,
        savings_target_cny=50_000.0,
        missed=1,
        min_due_cny=200.0,
        arrears_cny=100.0,
        balance_cny=2_000.0,
        statement_cny=2_000.0,
    )
    s.delinquent_recent[0, :] = True  # last month behind: everyone
    s.delinquent_recent[1:3, k:] = True  # two more months: the second half
    flows = household_month(s, quiet_draws(2 * k, u_skip=np.tile(u, 2)), MACRO, b, step=1)
    paid = flows.scheduled_payment_cny
    new_cures, seasoned_cures = np.mean(paid[:k] >= 200.0), np.mean(paid[k:] >= 200.0)
    x = np.log(60_000.0 / 200.0)
    tau_cure = np.log((1 - b.arrears_cure_prob) / b.arrears_cure_prob)
    z = tau_cure - b.arrears_cash_sensitivity * x
    assert new_cures == pytest.approx(1 - 1 / (1 + np.exp(-z)), abs=0.002)
    assert seasoned_cures == pytest.approx(1 - 1 / (1 + np.exp(-(z + 3.0))), abs=0.002)


def test_servicing_holds_cures_and_rolls_an_account_behind_by_hand():
    from sim.lending.accounts import service_accounts

    # One payment behind: due 200 = instalment 100 + arrears 100 (balance 2,000, no interest).
    s = BorrowerState.blank(
        3, missed=1, min_due_cny=200.0, arrears_cny=100.0, balance_cny=2_000.0, apr=0.0
    )
    flows = service_accounts(
        s,
        np.array([200.0, 100.0, 50.0]),  # cure, hold, roll
        step=1,
        lgd=0.8,
        min_payment_rate=0.05,
        min_payment_floor_cny=50.0,
        charge_off_dpd=180,
    )
    assert s.missed.tolist() == [0, 1, 2]
    assert flows.missed_now.tolist() == [False, True, True]
    # next due = 5 % of 2,000 + what is still past due
    assert s.arrears_cny.tolist() == [0.0, 100.0, 150.0]
    assert s.min_due_cny.tolist() == [100.0, 200.0, 250.0]


def test_habit_switches_at_the_configured_rates_within_sampling_error():
    from sim.world.repayment import switch_habits

    b = dataclasses.replace(QUIET, full_to_revolving_prob=0.08, revolving_to_full_prob=0.04)
    n = 40_000
    u = np.random.default_rng(3).random(n)
    full = np.arange(n) % 2 == 0
    statement = np.full(n, 1_000.0)
    cash = np.full(n, 5_000.0)
    cash[:8] = 500.0  # cannot cover the statement: full payers revolve, revolvers stay
    new = switch_habits(full, cash, statement, u, np.ones(n, dtype=bool), b)
    assert not new[:8].any()
    for was_full, rate in ((True, 0.08), (False, 0.04)):
        rows = np.flatnonzero(full == was_full)[8:]
        switched = np.mean(new[rows] != was_full)
        se = np.sqrt(rate * (1 - rate) / rows.size)
        assert abs(switched - rate) < 4 * se, (was_full, switched)
    # nothing billed, or not eligible: no switch
    same = switch_habits(full, cash, np.zeros(n), u, np.ones(n, dtype=bool), b)
    assert np.array_equal(same, full)
    assert np.array_equal(switch_habits(full, cash, statement, u, np.zeros(n, dtype=bool), b), full)


def test_an_account_behind_pays_its_instalment_before_essential_spending():
    # Income 10,000, needs 10,000, no savings: the median draw holds (pays the 100
    # instalment of its 200 due) first, and the needs it can no longer pay from cash go
    # on the line.
    b = dataclasses.replace(QUIET, needs_share=1.0)
    s = BorrowerState.blank(
        1,
        missed=1,
        min_due_cny=200.0,
        arrears_cny=100.0,
        balance_cny=2_000.0,
        statement_cny=2_000.0,
        target_utilisation=0.0,
    )
    flows = household_month(s, quiet_draws(1, u_skip=0.5), MACRO, b, step=1)
    assert flows.scheduled_payment_cny.tolist() == [100.0]
    assert flows.draws_cny.tolist() == [100.0]
    assert s.balance_cny.tolist() == [2_000.0] and s.savings_cny.tolist() == [0.0]


def test_current_accounts_miss_less_often_with_more_cash():
    from sim.world.repayment import miss_prob

    b = dataclasses.replace(QUIET, current_miss_prob=0.2, arrears_cash_sensitivity=0.5)
    p = miss_prob(np.array([100.0, 400.0, 0.0]), np.array([100.0, 100.0, 100.0]), b)
    # at cash = due the configured 20 %; 4x the due: odds 0.25 x 4^-0.5 = 0.125
    # no cash (counted as 1 CNY): odds 0.25 x 100^0.5 = 2.5
    assert p == pytest.approx([0.2, 0.125 / 1.125, 2.5 / 3.5])
    assert miss_prob(np.array([1.0]), np.array([1e6]), QUIET).tolist() == [0.0]  # off


def test_a_limit_increase_moves_the_debt_of_a_cash_poor_borrower_more():
    # Two revolvers at their habitual balance (30 % of the 10,000 initial limit) whose limit
    # rose to 12,000: the one with no savings (target 30,000) wants the full revolver MPB
    # of the 2,000 increase (0.3 x 2,000 = 600), the one at its target a tenth of it (60);
    # each draws its propensity (0.6) of that gap this month.
    b = dataclasses.replace(QUIET, mpb_unconstrained_share=0.1)
    s = BorrowerState.blank(
        2,
        savings_cny=[0.0, 30_000.0],
        savings_target_cny=30_000.0,
        balance_cny=3_000.0,
        statement_cny=3_000.0,
        limit_cny=12_000.0,
    )
    flows = household_month(s, quiet_draws(2), MACRO, b, step=1)
    assert flows.draws_cny.tolist() == [360.0, 36.0]


def test_the_household_cannot_draw_the_part_of_the_limit_earmarked_for_the_firm():
    # Income 10,000, needs 15,000, no savings: a 5,000 gap for the line. Limit 10,000 with
    # 10,000 earmarked: nothing to draw, 5,000 unmet. With 4,000 earmarked: 6,000 of
    # headroom, the 5,000 drawn.
    b = dataclasses.replace(QUIET, needs_share=1.5)
    s = BorrowerState.blank(2, earmarked_cny=[10_000.0, 4_000.0], target_utilisation=0.0)
    flows = household_month(s, quiet_draws(2), MACRO, b, step=1)
    assert flows.draws_cny.tolist() == [0.0, 5_000.0]
    assert flows.unmet_need_cny.tolist() == [5_000.0, 0.0]
    assert s.balance_cny.tolist() == [0.0, 5_000.0]


@pytest.mark.parametrize(
    ("tolerance", "drawn", "unmet"), [(0.0, 1_000.0, 4_000.0), (0.05, 1_500.0, 3_500.0)]
)
def test_a_lender_with_an_over_limit_tolerance_authorises_draws_past_the_limit(
    tolerance: float, drawn: float, unmet: float
):
    # Income 10,000, needs 15,000, no savings: a 5,000 gap for the line. Balance 9,000 on a
    # 10,000 limit: 1,000 of headroom, or 1,500 where draws are authorised to 105 % of it.
    b = dataclasses.replace(QUIET, needs_share=1.5)
    s = BorrowerState.blank(1, balance_cny=9_000.0, target_utilisation=0.0)
    flows = household_month(s, quiet_draws(1), MACRO, b, step=1, over_limit_tolerance=tolerance)
    assert flows.draws_cny.tolist() == [drawn]
    assert flows.unmet_need_cny.tolist() == [unmet]
    assert s.balance_cny.tolist() == [9_000.0 + drawn]


@pytest.mark.parametrize(
    ("u_job", "drawn", "unmet"),
    [(0.0, [3_000.0, 0.0], [0.0, 3_000.0]), (0.999, [0.0, 0.0], [0.0, 0.0])],
)
def test_an_income_shock_is_borrowed_through_where_there_is_headroom(u_job, drawn, unmet):
    # Income 10,000, needs 8,000, no savings, no habit of debt. A job loss (u_job 0 < 0.5)
    # halves the income to 5,000: the 3,000 of needs it no longer covers is drawn on the
    # line with headroom (balance 0 of 10,000) and goes unmet at the limit (balance 10,000).
    # Without the shock neither borrows.
    b = dataclasses.replace(
        QUIET, job_loss_prob_monthly=0.5, unemployment_replacement=0.5, needs_share=0.8
    )
    s = BorrowerState.blank(2, balance_cny=[0.0, 10_000.0], target_utilisation=0.0)
    flows = household_month(s, quiet_draws(2, u_job=u_job), MACRO, b, step=1)
    assert flows.draws_cny.tolist() == drawn
    assert flows.unmet_need_cny.tolist() == unmet
    assert flows.consumption_cny.tolist() == [8_000.0, 8_000.0 - unmet[1]]


def test_a_limit_increase_moves_the_debt_near_the_limit_with_little_cash_more():
    # Two revolvers at their habits on a 10,000 initial limit: one near it (95 %) with no
    # savings, one far from it (10 %) at its 30,000 savings target. Without an increase
    # neither draws; after a rise to 12,000 the first wants the revolver MPB of the 2,000
    # (0.3 x 2,000 = 600) and the second a tenth of it (60); each draws its propensity (0.6)
    # of that gap this month: 360 against 36.
    b = dataclasses.replace(QUIET, mpb_unconstrained_share=0.1)
    drawn = {}
    for limit in (10_000.0, 12_000.0):
        s = BorrowerState.blank(
            2,
            savings_cny=[0.0, 30_000.0],
            savings_target_cny=30_000.0,
            balance_cny=[9_500.0, 1_000.0],
            statement_cny=[9_500.0, 1_000.0],
            target_utilisation=[0.95, 0.1],
            initial_limit_cny=10_000.0,
            limit_cny=limit,
        )
        drawn[limit] = household_month(s, quiet_draws(2), MACRO, b, step=1).draws_cny.tolist()
    assert drawn == {10_000.0: [0.0, 0.0], 12_000.0: [360.0, 36.0]}
