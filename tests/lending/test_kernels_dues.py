"""Other lenders' dues paid, compiled: the kernel against the per-row reference and NumPy.

From a small run stopped before its household stage, random books (Hypothesis: balances,
dues, payments so far) and random payments are applied by ``Channels.pay_dues`` under
the three implementations: every account table, the month's payment totals, the
lenders' cash and the rows in use are the same bits; the kernel gives the same bits with
one and two threads; and one borrower's payments to three lenders computed by hand. The
books' compiled totals (per borrower over the lenders, per lender over the borrowers)
equal the NumPy totals to the bit.
"""

from __future__ import annotations

import copy

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compiled import using
from sim.lending.channels import ACCOUNT_FIELDS
from tests.lending.test_channels import single
from tests.stage_oracle import assert_same_bits, on_one_and_two_threads, stopped_before, whole_cents


def _books(seed: int) -> tuple:
    """The stopped world's books with random accounts, and random payments ``(n,)``."""
    world, _ = copy.deepcopy(stopped_before("household"))
    ch = world.channels
    rng = np.random.default_rng(seed)
    slots = np.arange(1, ch.n_slots)
    for c in range(ch.k):
        has = rng.random(slots.size) < 0.6
        balance = whole_cents(rng, slots.size, 9_000.0) * has
        ch._acc["balance_cny"][slots, c] = balance
        # Dues above the balance too (the amount owed is the smaller of the two).
        ch._acc["min_due_cny"][slots, c] = whole_cents(rng, slots.size, 1_500.0) * (
            rng.random(slots.size) < 0.7
        )
        ch._acc["paid_cny"][slots, c] = whole_cents(rng, slots.size, 300.0) * (
            rng.random(slots.size) < 0.2
        )
    paid = np.zeros(ch.n)
    holders = np.flatnonzero(ch.slot_of)
    paying = holders[rng.random(holders.size) < 0.8]
    paid[paying] = whole_cents(rng, paying.size, 4_000.0)
    # A few payments of half cents and of exactly the total due.
    odd = paying[:5]
    paid[odd] += 0.005
    return ch, paid


def _paid(how: str, ch, paid: np.ndarray):  # noqa: ANN001, ANN202
    ch = copy.deepcopy(ch)
    with using(how):
        ch.pay_dues(paid)
    return ch


def _assert_same(a, b, what: str) -> None:  # noqa: ANN001
    for f in ACCOUNT_FIELDS:
        assert_same_bits(a._acc[f], b._acc[f], f"{what}: {f}")
    assert_same_bits(a.month.payments_cny, b.month.payments_cny, f"{what}: payments")
    assert_same_bits(a.lender_cash_cny, b.lender_cash_cny, f"{what}: lender cash")
    assert_same_bits(a._mark, b._mark, f"{what}: rows in use")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_compiled_reference_and_numpy_pay_the_same_dues(seed: int) -> None:
    ch, paid = _books(seed)
    numpy_ = _paid("numpy", ch, paid)
    _assert_same(_paid("compiled", ch, paid), numpy_, "compiled vs numpy")
    _assert_same(_paid("reference", ch, paid), numpy_, "reference vs numpy")
    # Something was paid, and never more than was owed.
    assert numpy_.month.payments_cny.sum() > 0
    assert (numpy_._acc["balance_cny"] >= 0).all()


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_one_and_two_threads_pay_the_same_bits() -> None:
    ch, paid = _books(7)
    one, two = on_one_and_two_threads(lambda: _paid("compiled", ch, paid))
    _assert_same(one, two, "1 vs 2 threads")


@pytest.mark.parametrize("how", ["compiled", "numpy", "reference"])
def test_a_payment_goes_to_the_costliest_lender_first_by_hand(how: str) -> None:
    world, _ = copy.deepcopy(stopped_before("household"))
    ch = world.channels
    assert ch.k >= 3
    order = ch.costliest_first()
    row = int(np.flatnonzero(ch.slot_of == 0)[0])  # a borrower with no account yet
    # Costliest: due 100 of 500; next: due 50 but only 30 left to pay; third: due 80.
    for c, due, balance in zip(order[:3], (100.0, 50.0, 80.0), (500.0, 30.0, 1000.0), strict=True):
        ch.set_accounts(c, np.array([row]), balance_cny=balance, min_due_cny=due)
    for c in order[3:]:
        ch.set_accounts(c, np.array([row]), balance_cny=0.0, min_due_cny=0.0)
    slot = int(ch.slot_of[row])
    paid_before = ch._acc["paid_cny"][slot].copy()
    totals_before = ch.month.payments_cny.copy()
    paid = np.zeros(ch.n)
    paid[row] = 150.0  # 100 + 30, then 20 of the third lender's 80
    with using(how):
        ch.pay_dues(paid)
    expected = {order[0]: (100.0, 400.0), order[1]: (30.0, 0.0), order[2]: (20.0, 980.0)}
    for c, (payment, balance) in expected.items():
        assert ch._acc["balance_cny"][slot, c] == balance
        assert ch._acc["paid_cny"][slot, c] == paid_before[c] + payment
        assert ch.month.payments_cny[c] - totals_before[c] == pytest.approx(payment, abs=1e-9)
    assert ch._mark[row]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_compiled_book_totals_equal_the_numpy_totals(seed: int) -> None:
    """Per-borrower totals over lenders and per-lender totals over borrowers, to the bit."""
    ch, paid = _books(seed)
    ch.pay_dues(paid)  # some rows now owe nothing; every row stays marked in use
    unmarked = np.flatnonzero(ch.slot_of)[::7]
    ch._acc["balance_cny"][ch.slot_of[unmarked]] = 0.0  # rows that owe nothing, unmarked
    ch._acc["min_due_cny"][ch.slot_of[unmarked]] = 0.0
    ch._mark[unmarked] = False
    ch._rows, ch._sums = None, None
    with using("numpy"):
        balance, due = ch.dense_totals()
        by_channel = ch.balance_by_channel()
    assert_same_bits(balance, ch.balance_total(), "numpy balance_total")
    with using("compiled"):
        compiled_balance, compiled_due = ch.dense_totals()
        compiled_by_channel = ch.balance_by_channel()
    assert_same_bits(compiled_balance, balance, "balance_total")
    assert_same_bits(compiled_due, due, "due_total")
    assert_same_bits(compiled_by_channel, by_channel, "balance_by_channel")
    assert balance.sum() > 0 and due.sum() > 0


def test_one_lender_balances_are_summed_pairwise_as_numpy_sums_them() -> None:
    """With one lender NumPy's sum over the rows is pairwise: the NumPy path is kept."""
    ch = single(3_000, apr=0.2)
    rng = np.random.default_rng(4)
    ch.draw(0, np.arange(3_000), rng.integers(1, 10**9, 3_000) / 100.0)
    with using("compiled"):
        total = ch.balance_by_channel()
    assert_same_bits(total, ch._gather("balance_cny", ch.candidates()).sum(axis=0), "k = 1")
