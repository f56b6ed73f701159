"""Hand-computed servicing cases: interest, minimum payment, DPD progression, default."""

from __future__ import annotations

import numpy as np
import pytest

from sim.lending.accounts import service_accounts
from sim.units import BUCKET_LABELS, bucket_index, round_cny
from sim.world.borrowers import BorrowerState
from tests.conftest import make_run


def one_borrower_state(balance: float, apr: float = 0.12, limit: float = 10_000.0):
    from sim.model import CreditMarketModel

    model = CreditMarketModel(make_run("population.n_borrowers=1"))
    s = model.borrowers
    s.balance_cny[:] = balance
    s.statement_cny[:] = balance
    s.limit_cny[:] = limit
    s.apr[:] = apr
    s.missed[:] = 0
    s.defaulted[:] = False
    s.charged_off[:] = False
    s.min_due_cny[:] = round_cny(min(balance, max(0.1 * balance, 50.0)))
    return s


def serve(s, paid: float, step: int):
    return service_accounts(
        s,
        np.array([paid]),
        step=step,
        lgd=0.8,
        min_payment_rate=0.1,
        min_payment_floor_cny=50.0,
        charge_off_dpd=180,
    )


def test_round_cny_zeroes_half_cents():
    out = round_cny(np.array([0.004, -0.004, 0.005001, 12.346, -0.0]))
    assert out.tolist() == [0.0, 0.0, 0.01, 12.35, 0.0]
    assert not np.signbit(out[1])


def test_interest_min_due_and_dpd_progression_by_hand():
    s = one_borrower_state(1000.0, apr=0.12)
    assert s.min_due_cny[0] == 100.0  # 10 % of 1,000 (above the 50 floor)

    # Month 1: pays the minimum -> current; interest 1 % of 900 = 9.00.
    s.balance_cny[:] -= 100.0
    f = serve(s, 100.0, step=1)
    assert s.missed[0] == 0 and not f.missed_now[0]
    assert f.interest_cny[0] == pytest.approx(9.00)
    assert s.balance_cny[0] == pytest.approx(909.00)
    assert s.min_due_cny[0] == pytest.approx(90.90)

    # Month 2: pays nothing -> 30 DPD; interest on 909 = 9.09; due = regular + past due.
    f = serve(s, 0.0, step=2)
    assert s.dpd[0] == 30 and f.missed_now[0]
    assert s.balance_cny[0] == pytest.approx(918.09)
    assert s.min_due_cny[0] == pytest.approx(round(91.809, 2) + 90.90)

    # Month 3: pays only part of the due -> still a miss -> 60 DPD.
    due = s.min_due_cny[0]
    s.balance_cny[:] -= 50.0
    f = serve(s, 50.0, step=3)
    assert s.dpd[0] == 60 and f.missed_now[0]
    assert BUCKET_LABELS[bucket_index(s)[0]] == "60-89"

    # Month 4: third consecutive miss -> default: EAD = balance, loss = LGD x EAD, line closed.
    balance_before = s.balance_cny[0]
    f = serve(s, 0.0, step=4)
    assert due > 0
    assert s.dpd[0] == 90 and s.defaulted[0] and f.new_default[0]
    assert f.ead_at_default_cny[0] == pytest.approx(balance_before)
    assert f.loss_at_default_cny[0] == pytest.approx(round(0.8 * balance_before, 2))
    assert s.limit_cny[0] == 0.0
    assert f.interest_cny[0] == 0.0  # non-accrual after default
    assert s.min_due_cny[0] == 0.0
    assert s.default_step[0] == 4

    # Months 5-6: ageing to 150 DPD, then charged off at 180 DPD with recoveries.
    serve(s, 0.0, step=5)
    serve(s, 0.0, step=6)
    assert s.dpd[0] == 150 and not s.charged_off[0]
    f = serve(s, 0.0, step=7)
    assert s.charged_off[0] and s.balance_cny[0] == 0.0
    assert f.write_off_cny[0] == pytest.approx(balance_before)
    assert f.recoveries_cny[0] == pytest.approx(round(0.2 * balance_before, 2))
    assert BUCKET_LABELS[bucket_index(s)[0]] == "charged_off"


def test_paying_the_whole_due_cures_to_current():
    s = one_borrower_state(1000.0)
    serve(s, 0.0, step=1)
    assert s.dpd[0] == 30
    due = s.min_due_cny[0]
    s.balance_cny[:] -= due
    serve(s, due, step=2)
    assert s.dpd[0] == 0 and s.on_time_months[0] == 1


def test_minimum_floor_and_small_balance():
    s = one_borrower_state(300.0)
    assert s.min_due_cny[0] == 50.0  # floor
    s = one_borrower_state(30.0)
    assert s.min_due_cny[0] == 30.0  # never more than the balance


def test_bucket_pairs_fit_the_int8_the_model_counts_them_in():
    # The model counts monthly transitions as before x N_BUCKETS + after in int8.
    from sim.units import N_BUCKETS

    largest_pair = N_BUCKETS * N_BUCKETS - 1
    assert largest_pair <= np.iinfo(np.int8).max


def test_bucket_index_tells_attrition_closure_from_default():
    # A closure reason on a line that did not default is attrition ("closed"); a
    # defaulted line stays in its default states whatever its closure reason.
    s = BorrowerState.blank(
        4,
        missed=[0, 1, 3, 6],
        defaulted=[False, False, True, True],
        charged_off=[False, False, False, True],
    )
    assert [BUCKET_LABELS[i] for i in bucket_index(s)] == ["current", "30-59", "90+", "charged_off"]

    class WithClosure:
        missed, defaulted, charged_off = s.missed, s.defaulted, s.charged_off
        closure_reason = np.array([2, 1, 3, 3])

    labels = [BUCKET_LABELS[i] for i in bucket_index(WithClosure)]
    assert labels == ["closed", "closed", "90+", "charged_off"]
