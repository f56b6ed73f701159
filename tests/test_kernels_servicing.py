"""Compiled servicing against the per-account reference and the NumPy pass.

The platform's lines (:func:`sim.lending.accounts.service_accounts`) and the other
lenders' books (:meth:`sim.lending.channels.Channels.service`) on random small books:
compiled, NumPy and reference give the same states bit for bit and the same flows (the
other lenders' month totals of the reference, running sums in another order, to the
cent); one and two threads give the same results; a hand-computed month.
"""

from __future__ import annotations

import copy

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import compiled
from sim.config import ChannelConfig, ChannelsConfig
from sim.lending.accounts import ServicingFlows, service_accounts
from sim.lending.channels import Channels
from sim.lending.servicing import _record_month
from sim.world.borrowers import BorrowerState

IMPLEMENTATIONS = ("numpy", "compiled", "reference")
LINE_FIELDS = (
    "balance_cny",
    "limit_cny",
    "min_due_cny",
    "arrears_cny",
    "statement_cny",
    "missed",
    "defaulted",
    "charged_off",
    "default_step",
    "on_time_months",
    "paid_in_full",
    "payment_ratio",
    "delinquent_recent",
)


def cents(x: np.ndarray) -> np.ndarray:
    return np.round(x, 2) + 0.0


def random_lines(rng: np.random.Generator, n: int) -> tuple[BorrowerState, np.ndarray]:
    """A book mixing current, behind (with arrears), defaulted and charged-off lines, and
    payments of nothing, part, the instalment, the due (to half a cent) or more."""
    s = BorrowerState.blank(n)
    s.balance_cny[:] = cents(rng.uniform(0, 20_000, n) * (rng.random(n) < 0.85))
    s.limit_cny[:] = cents(s.balance_cny * rng.uniform(1.0, 2.0, n))
    s.apr[:] = rng.choice([0.0, 0.12, 0.18, 0.3599], n)
    s.statement_cny[:] = cents(s.balance_cny * rng.choice([0.0, 1.0, 0.9], n))
    s.missed[:] = rng.integers(0, 7, n)
    s.defaulted[:] = (s.missed >= 3) & (rng.random(n) < 0.9)
    s.charged_off[:] = s.defaulted & (rng.random(n) < 0.3)
    s.balance_cny[s.charged_off] = 0.0
    regular = np.minimum(s.balance_cny, np.maximum(0.1 * s.balance_cny, 50.0))
    s.arrears_cny[:] = cents(regular * rng.choice([0.0, 0.0, 0.5, 1.0], n) * (s.missed > 0))
    s.min_due_cny[:] = cents((regular + s.arrears_cny) * ~s.defaulted)
    s.on_time_months[:] = rng.integers(0, 10_001, n)
    s.paid_in_full[:] = rng.random(n) < 0.5
    s.payment_ratio[:] = rng.random(n)
    s.delinquent_recent[:] = rng.random(s.delinquent_recent.shape) < 0.2
    instalment = s.min_due_cny - s.arrears_cny
    paid = np.select(
        [rng.random(n) < p for p in (0.2, 0.25, 0.33, 0.5)],
        [0.0 * s.min_due_cny, instalment, s.min_due_cny - 0.005, s.min_due_cny],
        default=s.min_due_cny * rng.uniform(0.0, 1.5, n),
    )
    return s, cents(paid)


def serve_lines(s: BorrowerState, paid: np.ndarray, how: str, step: int, **terms):
    s = copy.deepcopy(s)
    with compiled.using(how):
        flows = service_accounts(s, paid, step=step, **terms)
    return s, flows


def assert_lines_equal(a: tuple, b: tuple) -> None:
    for f in LINE_FIELDS:
        x, y = getattr(a[0], f), getattr(b[0], f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    for f in ServicingFlows.__dataclass_fields__:
        x, y = getattr(a[1], f), getattr(b[1], f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f


TERMS = st.fixed_dictionaries(
    {
        "lgd": st.sampled_from([0.0, 0.45, 0.8, 1.0]),
        "min_payment_rate": st.sampled_from([0.03, 0.1, 0.25]),
        "min_payment_floor_cny": st.sampled_from([0.0, 50.0, 200.0]),
        "charge_off_dpd": st.sampled_from([90, 120, 180]),
    }
)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), step=st.integers(1, 200), t=TERMS)
def test_platform_lines_compiled_numpy_and_reference_agree_exactly(seed, n, step, t):
    s, paid = random_lines(np.random.default_rng(seed), n)
    out = {how: serve_lines(s, paid, how, step, **t) for how in IMPLEMENTATIONS}
    assert_lines_equal(out["compiled"], out["reference"])
    assert_lines_equal(out["compiled"], out["numpy"])


def random_channels(rng: np.random.Generator, n: int, fee: float) -> Channels:
    lenders = {
        "bank": ChannelConfig(apr=0.06, lgd=0.45, min_payment_rate=0.05),
        "online": ChannelConfig(apr=0.24, monthly_fee_rate=fee, lgd=0.8),
        "informal": ChannelConfig(apr=0.0, monthly_fee_rate=fee, min_payment_floor_cny=0.0),
    }
    cfg = ChannelsConfig(order=["own_cash", "platform", *lenders], lenders=lenders)
    ch = Channels(cfg, n)
    for c in range(ch.k):
        rows = np.flatnonzero(rng.random(n) < 0.6)
        m = rows.size
        balance = cents(rng.uniform(0, 8_000, m) * (rng.random(m) < 0.8))
        missed = rng.integers(0, 7, m)
        defaulted = missed >= 3
        charged_off = defaulted & (rng.random(m) < 0.3)
        balance[charged_off] = 0.0
        due = cents(np.minimum(balance, np.maximum(0.1 * balance, 50.0)) * ~defaulted)
        paid = due * rng.choice([0.0, 0.5, 1.0, 1.2], m) * (rng.random(m) < 0.9)
        ch.set_accounts(
            c,
            rows,
            balance_cny=balance,
            limit_cny=cents(balance * 1.5),
            min_due_cny=due,
            missed=missed,
            defaulted=defaulted,
            charged_off=charged_off,
            default_step=np.where(defaulted, 1, -1),
            paid_cny=cents(paid),
        )
    return ch


def serve_channels(ch: Channels, how: str, step: int) -> tuple[Channels, list[np.ndarray]]:
    """Two months: ``step`` as the book stands, then ``step + 1`` after paying half the dues."""
    ch = copy.deepcopy(ch)
    charged = []
    with compiled.using(how):
        charged.append(ch.service(step).copy())  # the books' array, overwritten next month
        ch.new_month()
        ch.pay_dues(cents(0.5 * ch.due_total()))
        charged.append(ch.service(step + 1).copy())
    return ch, charged


def assert_channels_equal(a: Channels, b: Channels, *, totals_to_the_cent: bool) -> None:
    for f in a._acc:
        assert np.array_equal(a._acc[f], b._acc[f]), f
    for f in ("interest_fees_total_cny", "balance_month_sum_cny", "charged_cny", "_mark"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert np.array_equal(a.candidates(), b.candidates())
    assert np.array_equal(a.due_total(), b.due_total())
    assert np.array_equal(a.lenders_count(), b.lenders_count())
    assert np.array_equal(a.balance_total(), b.balance_total())
    for f in vars(a.month):
        x, y = getattr(a.month, f), getattr(b.month, f)
        if totals_to_the_cent:
            assert np.array_equal(cents(x), cents(y)), f
        else:
            assert np.array_equal(x, y), f
    if totals_to_the_cent:
        assert np.array_equal(cents(a.lender_cash_cny), cents(b.lender_cash_cny))
    else:
        assert np.array_equal(a.lender_cash_cny, b.lender_cash_cny)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    fee=st.sampled_from([0.0, 0.01]),
    step=st.integers(1, 100),
)
def test_other_lenders_compiled_numpy_and_reference_agree(seed, n, fee, step):
    ch = random_channels(np.random.default_rng(seed), n, fee)
    out = {how: serve_channels(ch, how, step) for how in IMPLEMENTATIONS}
    for how in ("numpy", "reference"):
        assert all(
            np.array_equal(x, y) for x, y in zip(out["compiled"][1], out[how][1], strict=True)
        )
    assert_channels_equal(out["compiled"][0], out["numpy"][0], totals_to_the_cent=False)
    assert_channels_equal(out["compiled"][0], out["reference"][0], totals_to_the_cent=True)


@pytest.mark.parametrize("how", IMPLEMENTATIONS)
def test_month_charges_are_written_in_the_books_array(how):
    """Each servicing zeroes and rewrites ``charged_cny`` in place (its buffer kept)."""
    ch = random_channels(np.random.default_rng(3), 60, 0.01)
    ch.grow(80)  # a grown array: a view of a buffer with room, which must be kept
    held = ch.charged_cny
    with compiled.using(how):
        first = ch.service(5).copy()
        assert ch.charged_cny is held
        ch.new_month()
        ch.pay_dues(cents(0.5 * ch.due_total()))
        second = ch.service(6)
    assert second is held and ch.charged_cny is held
    assert first.sum() > 0 and not np.array_equal(first, second)
    # The second month's charges alone: the total over the run is the two months'.
    np.testing.assert_array_equal(ch.interest_fees_total_cny, first + second)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
def test_one_and_two_threads_give_identical_results():
    rng = np.random.default_rng(7)
    lines, paid = random_lines(rng, 40_000)
    ch = random_channels(rng, 40_000, 0.01)
    before = compiled.threads()
    runs = []
    try:
        for n_threads in (1, 2):
            compiled.set_threads(n_threads)
            runs.append(
                (
                    serve_lines(
                        lines,
                        paid,
                        "compiled",
                        9,
                        lgd=0.8,
                        min_payment_rate=0.1,
                        min_payment_floor_cny=50.0,
                        charge_off_dpd=180,
                    ),
                    serve_channels(ch, "compiled", 9),
                )
            )
    finally:
        compiled.set_threads(before)
    (lines1, ch1), (lines2, ch2) = runs
    assert lines1[1].new_default.sum() > 100 and lines1[1].write_off_cny.sum() > 0
    assert_lines_equal(lines1, lines2)
    assert_channels_equal(ch1[0], ch2[0], totals_to_the_cent=False)
    # Totals over thousands of accounts (NumPy's pairwise sums in blocks) match NumPy's too.
    assert_channels_equal(ch1[0], serve_channels(ch, "numpy", 9)[0], totals_to_the_cent=False)
    assert ch1[0].month.default_count.sum() > 100


def test_hand_computed_month_on_the_compiled_kernel():
    """Four lines at APR 12 %, LGD 0.8, 10 % / 50 CNY minimum, charge-off at 180 DPD.

    A pays its due of 100 on 1,000: current, interest 10.00, due 10 % of 1,010 = 101.00.
    B (30 DPD, due 150 of which 50 arrears) pays the 100 instalment: holds 30 DPD; interest
    15.00 on 1,500; due 151.50 + 50 past due = 201.50, arrears 50. C (60 DPD) pays
    nothing: defaults (EAD 2,000, loss 1,600, limit 5,000 closed), no interest, no due.
    D, defaulted at 150 DPD, ages to 180: 800 written off, 160 recovered.
    """
    s = BorrowerState.blank(4)
    s.balance_cny[:] = [1_000.0, 1_500.0, 2_000.0, 800.0]
    s.statement_cny[:] = [1_000.0, 1_500.0, 2_000.0, 0.0]
    s.limit_cny[:] = [5_000.0, 5_000.0, 5_000.0, 0.0]
    s.apr[:] = 0.12
    s.min_due_cny[:] = [100.0, 150.0, 300.0, 0.0]
    s.arrears_cny[:] = [0.0, 50.0, 100.0, 0.0]
    s.missed[:] = [0, 1, 2, 5]
    s.defaulted[:] = [False, False, False, True]
    s.on_time_months[:] = [7, 0, 0, 0]
    paid = np.array([100.0, 100.0, 0.0, 0.0])
    terms = dict(lgd=0.8, min_payment_rate=0.1, min_payment_floor_cny=50.0, charge_off_dpd=180)
    s, f = serve_lines(s, paid, "compiled", 14, **terms)
    assert s.missed.tolist() == [0, 1, 3, 6]
    assert s.defaulted.tolist() == [False, False, True, True]
    assert s.charged_off.tolist() == [False, False, False, True]
    assert s.default_step.tolist() == [-1, -1, 14, -1]
    assert f.interest_cny.tolist() == [10.0, 15.0, 0.0, 0.0]
    assert s.balance_cny.tolist() == [1_010.0, 1_515.0, 2_000.0, 0.0]
    assert s.min_due_cny.tolist() == [101.0, 201.5, 0.0, 0.0]
    assert s.arrears_cny.tolist() == [0.0, 50.0, 0.0, 0.0]
    assert s.statement_cny.tolist() == [1_010.0, 1_515.0, 0.0, 0.0]
    assert f.missed_now.tolist() == [False, True, True, False]
    assert f.new_default.tolist() == [False, False, True, False]
    assert f.ead_at_default_cny.tolist() == [0.0, 0.0, 2_000.0, 0.0]
    assert f.loss_at_default_cny.tolist() == [0.0, 0.0, 1_600.0, 0.0]
    assert f.limit_closed_cny.tolist() == [0.0, 0.0, 5_000.0, 0.0]
    assert s.limit_cny.tolist() == [5_000.0, 5_000.0, 0.0, 0.0]
    assert f.write_off_cny.tolist() == [0.0, 0.0, 0.0, 800.0]
    assert f.recoveries_cny.tolist() == [0.0, 0.0, 0.0, 160.0]
    assert s.payment_ratio.tolist() == [0.1, 100.0 / 1_500.0, 0.0, 1.0]
    assert s.on_time_months.tolist() == [8, 0, 0, 0]
    assert s.delinquent_recent[14 % 6].tolist() == [False, True, True, False]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), step=st.integers(1, 200))
def test_month_end_record_compiled_numpy_and_reference_agree_exactly(seed, n, step):
    rng = np.random.default_rng(seed)
    s, paid = random_lines(rng, n)
    for f in ("interest_total_cny", "balance_month_sum_cny", "billed_cny"):
        getattr(s, f)[:] = cents(rng.uniform(0, 1e5, n))
    s.mob[:] = rng.integers(0, 200, n)
    s.history_months[:] = rng.choice([0, 29_999, 30_000], n)
    early = cents(rng.uniform(0, 500, n) * (rng.random(n) < 0.3))
    interest = cents(rng.uniform(0, 100, n))
    out = []
    for how in IMPLEMENTATIONS:
        t = copy.deepcopy(s)
        with compiled.using(how):
            _record_month(t, step, paid, early, interest)
        out.append(t)
    for t in out[1:]:
        for f in vars(s):
            x, y = getattr(out[0], f), getattr(t, f)
            assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert out[0].history_months.tolist() == np.minimum(s.history_months + 1, 30_000).tolist()
    assert out[0].mob.tolist() == (s.mob + ~s.defaulted).tolist()
    assert out[0].payment_recent_cny[step % 5].tolist() == (paid + early).tolist()
