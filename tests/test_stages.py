"""Stage functions on tiny hand-built worlds (three borrowers, no firms), checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim import BorrowerState, Month, ReasonCode, build_world, load_run_config
from sim.lending.servicing import open_books_stage, servicing_stage
from sim.platform.agent import platform_review_stage
from sim.platform.scorecard import FEATURE_NAMES, Scorecard
from sim.world.draws import scenario_stage
from sim.world.households import HouseholdFlows

PD = 0.01


def tiny_world(*overrides: str, **borrower_values):
    config = load_run_config(["firms.owner_share=0", "n_months=6", "burn_in_months=0", *overrides])
    borrowers = BorrowerState.blank(3, **borrower_values)
    # A flat scorecard: every borrower's PD is the central tendency, no data needed.
    card = Scorecard(coef=np.zeros(len(FEATURE_NAMES)), intercept=float(np.log(PD / (1 - PD))))
    return build_world(config, borrowers=borrowers, scorecard=card)


def household_paying(scheduled_cny) -> HouseholdFlows:
    n = len(scheduled_cny)
    fields = {name: np.zeros(n) for name in HouseholdFlows.__dataclass_fields__}
    fields["draw_count"] = np.zeros(n, dtype=np.int16)
    fields["early_repayment_count"] = np.zeros(n, dtype=np.int16)
    fields["scheduled_payment_cny"] = np.asarray(scheduled_cny, dtype=float)
    return HouseholdFlows(**fields)


def test_blank_borrowers_have_the_population_dtypes():
    from sim import CreditMarketModel
    from tests.conftest import make_run

    built = CreditMarketModel(make_run("population.n_borrowers=20")).borrowers
    blank = BorrowerState.blank(3, missed=[0, 1, 2])
    for name in BorrowerState.__dataclass_fields__:
        a, b = getattr(built, name), getattr(blank, name)
        assert a.dtype == b.dtype, name
        assert a.shape[:-1] == b.shape[:-1] and b.shape[-1] == 3, name
    assert blank.dpd.tolist() == [0, 30, 60]
    with pytest.raises(TypeError, match="unknown field"):
        BorrowerState.blank(2, limit=5.0)


def test_servicing_stage_by_hand():
    world = tiny_world(
        balance_cny=[0.0, 1000.0, 1000.0],
        statement_cny=1000.0,
        min_due_cny=50.0,
        missed=[0, 0, 2],
    )
    s = world.borrowers
    s.apr[:] = 0.24  # re-scoring priced the tier; fix the rate for the hand computation
    pc = world.config.platform
    month = Month(step=5)
    open_books_stage(world, month)
    month.household = household_paying([1000.0, 0.0, 0.0])
    servicing_stage(world, month)
    f = month.servicing
    # Row 0 paid the statement: current, nothing accrues, nothing due.
    # Row 1 missed: 30 DPD, interest 1000 x 0.24 / 12 = 20.00, due = 10 % of 1,020 + 50
    # past due. Row 2 missed a third time: default, EAD 1,000, loss 0.8 x 1,000, the line
    # closes (limit 10,000 -> 0), no interest after default.
    assert s.missed.tolist() == [0, 1, 3]
    assert f.interest_cny.tolist() == [0.0, 20.0, 0.0]
    assert s.balance_cny.tolist() == [0.0, 1020.0, 1000.0]
    assert s.min_due_cny.tolist() == [0.0, pc.min_payment_rate * 1020.0 + 50.0, 0.0]
    assert f.new_default.tolist() == [False, False, True]
    assert f.ead_at_default_cny.tolist() == [0.0, 0.0, 1000.0]
    assert f.loss_at_default_cny.tolist() == [0.0, 0.0, pc.lgd * 1000.0]
    assert s.limit_cny.tolist() == [10_000.0, 10_000.0, 0.0]
    assert s.default_step.tolist() == [-1, -1, 5]
    assert s.paid_in_full.tolist() == [True, False, False]
    assert s.lenders_count.tolist() == [0, 1, 1]
    assert s.debt_service_cny.tolist() == s.min_due_cny.tolist()
    assert month.accruing_balance_cny == 2000.0
    assert world.platform_cash_cny == 0.0  # no draws, repayments or recoveries
    (event,) = month.limit_events
    assert event.rows.tolist() == [2]
    assert event.old_limit_cny.tolist() == [10_000.0] and event.new_limit_cny.tolist() == [0.0]
    assert event.reason.tolist() == [ReasonCode.CLOSED_AT_DEFAULT]


def test_scenario_stage_draws_do_not_depend_on_the_policy():
    a = tiny_world("policy=static")
    b = tiny_world("policy=exposure_cap")
    months = []
    for world in (a, b):
        month = Month(step=1)
        scenario_stage(world, month)
        months.append(month)
    assert months[0].macro == months[1].macro
    np.testing.assert_array_equal(months[0].draws.u_job, months[1].draws.u_job)
    np.testing.assert_array_equal(months[0].draws.z_income, months[1].draws.z_income)
    assert months[0].start.bucket.tolist() == [0, 0, 0]
    assert months[0].start.is_open.all()


@pytest.mark.parametrize("cut_above_pd, cuts", [(0.5, 0), (0.02, 3)])
def test_platform_review_stage_records_what_the_policy_changes(cut_above_pd, cuts):
    world = tiny_world(
        "policy=pd_threshold",
        f"policy.cut_above_pd={cut_above_pd}",
        "platform.pd_calibration=central_tendency",
    )
    month = Month(step=1)
    scenario_stage(world, month)
    platform_review_stage(world, month)
    # A flat scorecard: after calibration to central tendency every PD is that mean.
    central = world.config.platform.central_tendency_pd_12m
    assert world.borrowers.pd_12m == pytest.approx([central] * 3)
    assert month.limit_cuts == cuts and month.limit_raises == 0
    rows = np.concatenate([e.rows for e in month.limit_events])
    assert rows.size == cuts
    assert world.borrowers.cuts_count.sum() == cuts
    if cuts:
        (event,) = month.limit_events
        assert (event.new_limit_cny < event.old_limit_cny).all()
        assert (event.new_limit_cny == world.borrowers.limit_cny[event.rows]).all()
        assert set(event.reason.tolist()) == {ReasonCode.PD_ABOVE_THRESHOLD}


def test_servicing_stage_refuses_a_month_serviced_already():
    world = tiny_world(balance_cny=[0.0, 1000.0, 1000.0], statement_cny=1000.0, min_due_cny=50.0)
    month = Month(step=3)
    open_books_stage(world, month)
    month.household = household_paying([0.0, 0.0, 0.0])
    servicing_stage(world, month)
    balance = world.borrowers.balance_cny.copy()
    for again in (Month(step=3), Month(step=2)):  # the same month, or an earlier one
        open_books_stage(world, again)
        again.household = household_paying([0.0, 0.0, 0.0])
        with pytest.raises(RuntimeError, match=r"cannot be serviced.*up to month 3 already"):
            servicing_stage(world, again)
    np.testing.assert_array_equal(world.borrowers.balance_cny, balance)  # no interest twice


def test_servicing_stage_refuses_draws_posted_on_a_closed_line():
    world = tiny_world(
        balance_cny=[0.0, 1000.0, 800.0], defaulted=[False, False, True], default_step=[-1, -1, 2]
    )
    month = Month(step=5)
    open_books_stage(world, month)
    month.household = household_paying([0.0, 0.0, 0.0])
    month.household.draws_cny[:] = [100.0, 0.0, 50.0]  # a draw on row 2's closed line
    with pytest.raises(RuntimeError, match=r"month 5 posted draws on 1 closed line.*\[2\]"):
        servicing_stage(world, month)
