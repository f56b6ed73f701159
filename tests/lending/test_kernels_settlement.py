"""Stage ``settlement`` compiled: the kernels against the per-agent reference and NumPy.

From a small run stopped before its settlement (one model, built once), random states
(Hypothesis: firms' cash and platform draws, owners' lines, savings, the other lenders'
balances, defaults and dues) are settled by the three implementations: every borrower,
firm and account array, every transfer and the month's settlement are the same bits
(the reference's channel payment totals, added one payment at a time: the same cents);
the kernels give the same bits with one and two threads; and a firm's and a household's
repayments computed by hand.
"""

from __future__ import annotations

import copy
import dataclasses

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compiled import using
from sim.lending.channels import ACCOUNT_FIELDS
from sim.lending.settlement import settlement_stage
from sim.world.borrowers import BorrowerState
from sim.world.firms import FirmState
from sim.world.firms.settlement import Settlement
from tests.stage_oracle import assert_same_bits, on_one_and_two_threads, stopped_before, whole_cents


def _perturbed(base: tuple, seed: int) -> tuple:
    """A copy of ``base`` with random money, lines and accounts (whole cents)."""
    world, month = copy.deepcopy(base)
    rng = np.random.default_rng(seed)
    s, f, ch = world.borrowers, world.firms, world.channels
    n, nf = s.n, f.n
    some = rng.random(nf) < 0.7
    f.cash_cny = np.where(some, whole_cents(rng, nf, 60_000.0), f.cash_cny)
    f.target_buffer_days = rng.uniform(0.0, 40.0, nf)
    f.platform_business_cny = whole_cents(rng, nf, 8_000.0) * (rng.random(nf) < 0.5)
    s.balance_cny = whole_cents(rng, n, 10_000.0) * (rng.random(n) < 0.6)
    s.apr = rng.choice([0.08, 0.18, 0.24, 0.36], n)
    s.closed[:] = s.closed | (rng.random(n) < 0.1)
    s.savings_cny = whole_cents(rng, n, 80_000.0)
    slots = np.arange(1, ch.n_slots)
    for c in range(ch.k):
        has = rng.random(slots.size) < 0.5
        balance = whole_cents(rng, slots.size, 9_000.0) * has
        ch._acc["balance_cny"][slots, c] = balance
        ch._acc["min_due_cny"][slots, c] = np.round(0.05 * balance, 2) * (
            rng.random(slots.size) < 0.7
        )
        ch._acc["defaulted"][slots, c] = has & (rng.random(slots.size) < 0.1)
        ch._acc["paid_cny"][slots, c] = whole_cents(rng, slots.size, 300.0) * (
            rng.random(slots.size) < 0.2
        )
    ch.touch(np.flatnonzero(ch.slot_of))
    if rng.random() < 0.2:
        month.firm_month.opening_cash_cny = None
    cc = dataclasses.replace(
        world.config.channels, prepay_excess_share=float(rng.choice([0.0, 0.3, 0.5, 1.0]))
    )
    fc = dataclasses.replace(world.config.firms, owner_draw_rate=float(rng.uniform(0.0, 1.0)))
    world.config = dataclasses.replace(world.config, channels=cc, firms=fc)
    return world, month


def _run(name: str, state: tuple) -> tuple:
    world, month = copy.deepcopy(state)
    with using(name):
        settlement_stage(world, month)
    return world, month


def _assert_same(a: tuple, b: tuple, what: str, *, totals_to_the_cent: bool = False) -> None:
    """Every state array and flow of ``a`` and ``b`` identical, bit for bit."""
    (wa, ma), (wb, mb) = a, b
    for kind, x, y in (
        (BorrowerState, wa.borrowers, wb.borrowers),
        (FirmState, wa.firms, wb.firms),
    ):
        for field in dataclasses.fields(kind):
            assert_same_bits(
                getattr(x, field.name), getattr(y, field.name), f"{what}: {field.name}"
            )
    for field in dataclasses.fields(Settlement):
        assert_same_bits(
            getattr(ma.settlement, field.name), getattr(mb.settlement, field.name), field.name
        )
    for field in dataclasses.fields(ma.transfers):
        assert_same_bits(
            getattr(ma.transfers, field.name), getattr(mb.transfers, field.name), field.name
        )
    ca, cb = wa.channels, wb.channels
    assert ca.n_slots == cb.n_slots
    for name in ACCOUNT_FIELDS:
        assert_same_bits(
            ca._acc[name][: ca.n_slots], cb._acc[name][: cb.n_slots], f"{what}: books {name}"
        )
    assert_same_bits(ca.slot_of, cb.slot_of, f"{what}: slot_of")
    assert_same_bits(ca.candidates(), cb.candidates(), f"{what}: rows in use")
    totals = [(ca.lender_cash_cny, cb.lender_cash_cny, "lender cash")]
    totals += [
        (getattr(ca.month, f.name), getattr(cb.month, f.name), f.name)
        for f in dataclasses.fields(ca.month)
    ]
    for x, y, name in totals:
        if totals_to_the_cent:
            assert_same_bits(np.round(x, 2), np.round(y, 2), f"{what}: {name} (cents)")
        else:
            assert_same_bits(x, y, f"{what}: {name}")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_compiled_reference_and_numpy_give_the_same_bits(seed: int) -> None:
    state = _perturbed(stopped_before("settlement"), seed)
    compiled = _run("compiled", state)
    _assert_same(compiled, _run("numpy", state), "compiled vs numpy")
    _assert_same(
        compiled, _run("reference", state), "compiled vs reference", totals_to_the_cent=True
    )
    assert compiled[1].transfers.household_prepay_cny.sum() > 0 or not world_prepays(state)


def world_prepays(state: tuple) -> bool:
    """The config lets households prepay at all (a positive prepayment share)."""
    return state[0].config.channels.prepay_excess_share > 0


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one core: one thread only")
def test_one_and_two_threads_give_the_same_bits() -> None:
    state = _perturbed(stopped_before("settlement"), 1)
    one, two = on_one_and_two_threads(lambda: _run("compiled", state))
    _assert_same(one, two, "1 vs 2 threads")
    assert one[1].transfers.firm_channel_repaid_cny.sum() > 0


@pytest.mark.parametrize("name", ["compiled", "reference", "numpy"])
def test_a_firm_and_its_owner_repay_by_hand(name: str) -> None:
    # Firm 0 (open, no bills, no exit) holds 10,000 over a target of 0: half of it, 5,000,
    # repays its owner's debts costliest first: online_lender_b (30 %) 2,000 in full;
    # online_lender_a (24 %) owes nothing; the platform line (the owner's 20 %) ranks
    # before credit_card (18.25 %): the 1,200 drawn for the firm; credit_card 1,800 of its
    # 5,000. The owner draws half of the 5,000 left; with no income there is no reserve,
    # so half of those 2,500 savings prepay credit_card again: 1,250.
    world, month = copy.deepcopy(stopped_before("settlement"))
    s, f, ch, fm = world.borrowers, world.firms, world.channels, month.firm_month
    cc = dataclasses.replace(world.config.channels, prepay_excess_share=0.5)
    fc = dataclasses.replace(world.config.firms, owner_draw_rate=0.5)
    world.config = dataclasses.replace(world.config, channels=cc, firms=fc)
    i, owner = 0, int(f.owner[0])
    edges = (world.network.buyer == i) | (world.network.supplier == i)
    fm.edge_due_cny[edges] = 0.0
    for bill in ("fixed_due_cny", "supplier_due_outside_cny", "supplier_due_network_cny"):
        getattr(fm, bill)[i] = 0.0
    fm.new_supplier_due_cny[i], fm.gap_cny[i] = 0.0, 0.0
    fm.cash_available_cny[i] = 10_000.0
    f.payables_cny[:, i], f.edge_payables_cny[:, edges], f.edge_overdue_cny[edges] = 0, 0, 0
    f.is_open[i], f.target_buffer_days[i], month.firm_draws.u_exit[i] = True, 0.0, 1.0
    f.platform_business_cny[i] = 1_200.0
    s.closed[owner], s.defaulted[owner] = False, False
    s.balance_cny[owner], s.apr[owner] = 3_000.0, 0.20
    s.savings_cny[owner], s.income_base_cny[owner] = 0.0, 0.0
    rows = np.array([owner])
    for c in range(ch.k):
        ch.set_accounts(c, rows, balance_cny=0.0, min_due_cny=0.0, paid_cny=0.0, defaulted=False)
    ch.set_accounts(ch.index("online_lender_b"), rows, balance_cny=2_000.0)
    ch.set_accounts(ch.index("credit_card"), rows, balance_cny=5_000.0)
    with using(name):
        settlement_stage(world, month)
    t = month.transfers
    assert t.firm_channel_repaid_cny[i] == 3_800.0
    assert t.firm_platform_repaid_cny[i] == 1_200.0
    assert t.owner_draw_cny[i] == 2_500.0
    assert f.cash_cny[i] == 2_500.0
    assert f.platform_business_cny[i] == 0.0
    assert s.balance_cny[owner] == 1_800.0
    assert t.household_prepay_cny[owner] == 1_250.0
    assert s.savings_cny[owner] == 1_250.0
    books = {c: ch.book(ch.index(c)) for c in ("online_lender_b", "credit_card")}
    assert books["online_lender_b"].balance_cny[owner] == 0.0
    assert books["credit_card"].balance_cny[owner] == 1_950.0
    assert books["credit_card"].paid_cny[owner] == 3_050.0
