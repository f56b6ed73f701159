"""Stage ``funding`` compiled: the kernels against the per-agent reference and NumPy.

From a small run stopped before its funding (one model, built once), random states
(Hypothesis: households' unmet needs and wishes, firms' gaps, owners' savings and lines,
the other lenders' books, facilities, rejections and defaults, approval uniforms, lender
capacities and factors, the wish's seek share, sometimes the card with an approval lag)
are funded by the three implementations: every borrower, firm and account array, every
transfer, the month's funding records and the lenders' month totals are the same bits;
the kernels give the same bits with one and two threads; and a household's and a firm's
funding computed by hand.
"""

from __future__ import annotations

import copy
import dataclasses
from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compiled import using
from sim.lending.channels import ACCOUNT_FIELDS, NO_FACILITY
from sim.lending.funding import credit_info, funding_kernel, funding_stage, round_kernel
from sim.lending.funding.waterfall import FirmFunding, HouseholdFunding
from sim.lending.funding.waterfall_rows import WaterfallRows
from sim.world.borrowers import BorrowerState
from sim.world.firms import FirmState
from tests.stage_oracle import assert_same_bits, on_one_and_two_threads, stopped_before, whole_cents


def _perturbed(base: tuple, seed: int, *, rationing: bool = True) -> tuple:  # noqa: PLR0915
    """A copy of ``base`` with random gaps, lines, books and lender terms (whole cents).

    ``rationing`` False: no lender has a capacity (every households' round in one pass).
    """
    world, month = copy.deepcopy(base)
    rng = np.random.default_rng(seed)
    s, f, ch, h = world.borrowers, world.firms, world.channels, month.household
    n, nf = s.n, f.n
    credit = whole_cents(rng, n, 6_000.0) * (rng.random(n) < 0.6)
    h.unmet_credit_cny = credit
    h.unmet_need_cny = np.round(credit * rng.choice([0.0, 0.3, 1.0], n), 2)
    gap = whole_cents(rng, nf, 20_000.0) * (rng.random(nf) < 0.6) * f.is_open
    # Firms without a gap (zero or a surplus) are posted before the firms' waterfall.
    month.firm_month.gap_cny = np.where(rng.random(nf) < 0.1, -gap, gap)
    s.savings_cny = whole_cents(rng, n, 20_000.0) * (rng.random(n) < 0.5)
    s.balance_cny = np.minimum(s.balance_cny, s.limit_cny) * (rng.random(n) < 0.8)
    s.earmarked_cny = whole_cents(rng, n, 3_000.0) * (rng.random(n) < 0.3)
    s.pd_12m = rng.choice([0.01, 0.05, 0.1, 0.2, 0.3], n) * rng.uniform(0.5, 1.0, n)
    s.missed = rng.choice(np.array([0, 0, 0, 1, 2], dtype=s.missed.dtype), n)
    s.lenders_count = rng.integers(0, 5, n).astype(s.lenders_count.dtype)
    f.uses_personal_credit = rng.random(nf) < 0.6
    month.lender_draws = rng.random((ch.k, n), dtype=np.float32)
    # Books: facilities (some not yet drawable), rejections, defaults, balances.
    rows = np.flatnonzero(rng.random(n) < 0.5)
    for c in range(ch.k):
        ch.set_accounts(c, rows, limit_cny=whole_cents(rng, rows.size, 8_000.0))
    slots = np.arange(1, ch.n_slots)
    for c in range(ch.k):
        acc = ch._acc
        open_step = rng.choice(
            [NO_FACILITY, month.step - 3, month.step, month.step + 1], slots.size
        )
        acc["open_step"][slots, c] = open_step
        acc["balance_cny"][slots, c] = np.minimum(
            whole_cents(rng, slots.size, 9_000.0), acc["limit_cny"][slots, c]
        ) * (rng.random(slots.size) < 0.5)
        acc["rejected_step"][slots, c] = rng.choice([-(10**9), month.step - 1], slots.size)
        acc["defaulted"][slots, c] = rng.random(slots.size) < 0.05
    ch.touch(np.flatnonzero(ch.slot_of))
    lenders = dict(world.config.channels.lenders)
    for name in lenders:
        cap = rng.choice([None, None, 5.0, 50.0]) if rationing else None
        factor = float(rng.choice([1.0, 0.9, 0.7]))
        lenders[name] = dataclasses.replace(
            lenders[name],
            monthly_capacity_per_borrower_cny=None if cap is None else float(cap),
            approval_lender_factor=factor,
        )
    if rng.random() < 0.4:  # the card with an approval lag: households apply, firms too
        lenders["credit_card"] = dataclasses.replace(lenders["credit_card"], approval_lag_months=1)
    cc = dataclasses.replace(
        world.config.channels,
        lenders=lenders,
        household_wants_seek_share=float(rng.choice([0.0, 0.5, 1.0])),
    )
    world.config = dataclasses.replace(world.config, channels=cc)
    table = type(ch)(cc, n)
    for name in ("capacity_per_borrower_cny", "approval_lender_factor", "approval_lag_months"):
        setattr(ch, name, getattr(table, name))
    return world, month


def _run(name: str, state: tuple, releasing: bool = False) -> tuple:
    world, month = copy.deepcopy(state)
    month.releasing = releasing
    household = month.household
    with using(name):
        funding_stage(world, month)
    if releasing and name == "compiled":  # funded in place: no new arrays
        assert month.household_funding.consumption_cny is household.consumption_cny
        assert month.household_funding.unmet_credit_cny is household.unmet_credit_cny
    return world, month


def _assert_same(a: tuple, b: tuple, what: str) -> None:
    """Every state array, flow and month total of ``a`` and ``b`` identical, bit for bit."""
    (wa, ma), (wb, mb) = a, b
    for kind, x, y in (
        (BorrowerState, wa.borrowers, wb.borrowers),
        (FirmState, wa.firms, wb.firms),
    ):
        for field in dataclasses.fields(kind):
            assert_same_bits(
                getattr(x, field.name), getattr(y, field.name), f"{what}: {field.name}"
            )
    for field in dataclasses.fields(HouseholdFunding):
        x, y = getattr(ma.household_funding, field.name), getattr(mb.household_funding, field.name)
        assert_same_bits(x, y, f"{what}: household_funding.{field.name}")
    for field in dataclasses.fields(FirmFunding):
        x, y = getattr(ma.firm_funding, field.name), getattr(mb.firm_funding, field.name)
        if field.name == "by_step":
            assert list(x) == list(y)
            for step in x:
                assert_same_bits(x[step], y[step], f"{what}: firm_funding.by_step[{step}]")
        else:
            assert_same_bits(x, y, f"{what}: firm_funding.{field.name}")
    for field in dataclasses.fields(ma.transfers):
        x, y = getattr(ma.transfers, field.name), getattr(mb.transfers, field.name)
        assert_same_bits(x, y, f"{what}: transfers.{field.name}")
    ca, cb = wa.channels, wb.channels
    assert ca.n_slots == cb.n_slots, what
    for name in ACCOUNT_FIELDS:
        assert_same_bits(
            ca._acc[name][: ca.n_slots], cb._acc[name][: cb.n_slots], f"{what}: books {name}"
        )
    for name in ca.PER_BORROWER:
        assert_same_bits(getattr(ca, name), getattr(cb, name), f"{what}: {name}")
    assert_same_bits(ca.candidates(), cb.candidates(), f"{what}: rows in use")
    totals = [(ca.lender_cash_cny, cb.lender_cash_cny, "lender cash")]
    totals += [(ca.draws_total_cny, cb.draws_total_cny, "draws total")]
    totals += [(ca.rationed_total_cny, cb.rationed_total_cny, "rationed total")]
    totals += [
        (getattr(ca.month, f.name), getattr(cb.month, f.name), f.name)
        for f in dataclasses.fields(ca.month)
    ]
    for x, y, name in totals:
        assert_same_bits(x, y, f"{what}: {name}")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_compiled_reference_and_numpy_give_the_same_bits(seed: int) -> None:
    state = _perturbed(stopped_before("funding"), seed)
    compiled = _run("compiled", state)
    _assert_same(compiled, _run("numpy", state), "compiled vs numpy")
    _assert_same(compiled, _run("reference", state), "compiled vs reference")
    _assert_same(compiled, _run("compiled", state, releasing=True), "funded in place")
    assert compiled[0].channels.month.draws_cny.sum() > 0


def test_the_unperturbed_month_gives_the_same_bits() -> None:
    state = stopped_before("funding")
    compiled = _run("compiled", state)
    _assert_same(compiled, _run("numpy", state), "compiled vs numpy")
    _assert_same(compiled, _run("reference", state), "compiled vs reference")


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_households_rounds_in_one_pass_give_the_same_bits(seed: int) -> None:
    """No lender rations: each households' round is one compiled pass (``fund_round``).

    Rows decided by a lender without a slot wait for one and are taken again after the
    pass (some do in every example: half the rows start without a slot).
    """
    state = _perturbed(stopped_before("funding"), seed, rationing=False)
    waited = []
    first_pass = round_kernel._round

    def recorded(*args: object) -> None:
        first_pass(*args)
        waited.append(int((args[9] >= 0).sum()))  # ``waits``: rows that left the pass

    def per_lender(*args: object) -> None:
        raise AssertionError("a households' round ran one lender at a time")

    with (
        mock.patch.object(round_kernel, "_round", recorded),
        mock.patch.object(funding_kernel, "_turns", per_lender),
    ):
        compiled = _run("compiled", state)
    assert waited and sum(waited) > 0
    _assert_same(compiled, _run("numpy", state), "compiled vs numpy")
    _assert_same(compiled, _run("reference", state), "compiled vs reference")


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one core: one thread only")
def test_one_and_two_threads_give_the_same_bits() -> None:
    for rationing in (True, False):  # lenders' turns one at a time; rounds in one pass
        state = _perturbed(stopped_before("funding"), 1, rationing=rationing)
        one, two = on_one_and_two_threads(lambda state=state: _run("compiled", state))
        _assert_same(one, two, f"1 vs 2 threads (rationing {rationing})")
        assert one[1].transfers.firm_channel_draws_cny.sum() > 0


@pytest.mark.parametrize("name", ["compiled", "reference", "numpy"])
def test_a_household_and_a_firm_funded_by_hand(name: str) -> None:
    # Every approval uniform is 1: no application is approved, only facilities held lend.
    # A household wishes for 1,000 and holds a card (limit its income, 5,000; balance
    # 1,000): drawn in full, fee 1 % = 10, balance 2,010. A firm's gap of 3,000: its
    # owner's savings above the reserve (6 months of income) give 500, the owner's
    # platform line its headroom 1,200, the owner's card (limit 1,300, no balance) what
    # its headroom lends after the 1 % fee, floor(1,300 / 1.01) = 1,287.12 (fee 12.87);
    # 12.88 stays unmet.
    world, month = copy.deepcopy(stopped_before("funding"))
    s, f, ch, h = world.borrowers, world.firms, world.channels, month.household
    card = ch.index("credit_card")
    i = int(np.flatnonzero(f.is_open)[0])
    owner = int(f.owner[i])
    household = int(np.flatnonzero(world.firm_of < 0)[0])
    h.unmet_credit_cny[:] = 0.0
    h.unmet_need_cny[:] = 0.0
    month.firm_month.gap_cny[:] = 0.0
    month.lender_draws[:] = 1.0
    h.unmet_credit_cny[household] = 1_000.0
    month.firm_month.gap_cny[i] = 3_000.0
    f.uses_personal_credit[i] = True
    for row, income in ((household, 5_000.0), (owner, 1_300.0)):
        s.pd_12m[row], s.missed[row], s.history_months[row] = 0.01, 0, 24
        s.income_base_cny[row] = income
        rows = np.array([row])
        for c in range(ch.k):
            ch.set_accounts(
                c, rows, balance_cny=0.0, limit_cny=0.0, defaulted=False, open_step=NO_FACILITY
            )
        ch.set_accounts(card, rows, limit_cny=income, open_step=month.step - 1)
    ch.set_accounts(card, np.array([household]), balance_cny=1_000.0)
    months = world.config.firms.owner_reserve_income_months
    s.savings_cny[owner] = months * 1_300.0 + 500.0
    s.closed[owner], s.defaulted[owner] = False, False
    s.limit_cny[owner], s.balance_cny[owner], s.earmarked_cny[owner] = 1_200.0, 0.0, 0.0
    with using(name):
        funding_stage(world, month)
    hf, ff, t = month.household_funding, month.firm_funding, month.transfers
    assert list(hf.rows) == [household]
    assert hf.wants_funded_cny.tolist() == [1_000.0] and hf.fees_cny.tolist() == [10.0]
    assert ch.book(card).balance_cny[household] == 2_010.0
    assert t.household_channel_draws_cny[household] == 1_000.0
    assert ff.by_step["own_cash"][i] == 500.0
    assert ff.by_step["platform"][i] == 1_200.0
    assert ff.by_step["credit_card"][i] == 1_287.12
    assert ff.fees_cny[i] == 12.87
    assert ff.unmet_cny[i] == 12.88
    assert ch.book(card).balance_cny[owner] == 1_299.99
    assert s.balance_cny[owner] == 1_200.0
    assert t.firm_channel_draws_cny[i] == 1_287.12
    assert ch.month.draws_cny[card] == 2_287.12


def test_narrowed_waterfall_rows_are_the_rows_gathered_anew() -> None:
    """A lender's turn over the rows with a gap left reads what a view of them alone holds."""
    world, month = copy.deepcopy(stopped_before("funding"))
    info = credit_info(world, month.lender_draws)
    rows = np.arange(0, world.borrowers.n, 3, dtype=np.int64)
    view = WaterfallRows(world.channels, rows, info)
    keep = np.flatnonzero(np.random.default_rng(3).random(rows.size) < 0.3)
    part, anew = view.narrow(keep), WaterfallRows(world.channels, rows[keep], info)
    assert_same_bits(part.who, anew.who, "who")
    assert_same_bits(part.slots, anew.slots, "slots")
    assert len(part.arrays) == len(anew.arrays) == 15
    for i, (a, b) in enumerate(zip(part.arrays, anew.arrays, strict=True)):
        assert_same_bits(a, b, f"arrays[{i}]")
    part.slots[:] = -1  # a copy: the whole view's slots are its own
    assert (view.slots >= 0).all()
