"""Other lenders by hand: pricing and fees, caps, approval lags, servicing conventions, M7."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import ChannelConfig, ChannelsConfig
from sim.lending.accounts import service_accounts
from sim.lending.channels import (
    ACCOUNT_FIELDS,
    NO_FACILITY,
    Channels,
    any_over_channels,
    count_over_channels,
)
from sim.lending.channels.records import _owed_before, _put_rows
from sim.units import MISSES_TO_DEFAULT
from tests.conftest import conf_channels, make_run, this_month
from tests.conftest import credit_info as info


def single(n: int = 1, **lender) -> Channels:
    spec = {"max_pd_12m": 1.0, "limit_multiple": 1.0, "max_limit_cny": 1e6} | lender
    cfg = ChannelsConfig(order=["own_cash", "platform", "x"], lenders={"x": ChannelConfig(**spec)})
    return Channels(cfg, n)


ROW = np.array([0])


def test_draw_fee_interest_and_minimum_due_by_hand():
    ch = single(apr=0.24, upfront_fee_rate=0.02)
    fee = ch.draw(0, ROW, np.array([1_000.0]))
    assert fee.tolist() == [20.0]
    assert ch.book(0).balance_cny[0] == 1_020.0  # the fee is added to the balance
    assert ch.lender_cash_cny[0] == -1_000.0
    ch.service(step=1)
    assert ch.month.interest_cny[0] == pytest.approx(20.40)  # 1,020 x 24 % / 12
    book = ch.book(0)
    assert book.balance_cny[0] == pytest.approx(1_040.40)
    assert book.min_due_cny[0] == pytest.approx(104.04)  # 10 % of the statement
    assert ch.interest_fees_total_cny[0] == pytest.approx(40.40)


def test_three_missed_payments_default_then_charge_off_with_recoveries():
    ch = single(apr=0.12, lgd=0.6)
    ch.draw(0, ROW, np.array([5_000.0]))
    ch.service(step=1)  # nothing was due yet
    book = ch.book(0)
    balance = book.balance_cny[0]
    assert book.missed[0] == 0 and book.min_due_cny[0] > 0
    for step in range(2, 2 + MISSES_TO_DEFAULT):
        ch.new_month()
        ch.service(step=step)  # nothing paid
        book = ch.book(0)
        balance = balance if book.defaulted[0] else book.balance_cny[0]
    assert book.defaulted[0] and book.missed[0] == MISSES_TO_DEFAULT
    assert book.limit_cny[0] == 0.0 and book.default_step[0] == 1 + MISSES_TO_DEFAULT
    assert ch.month.default_count[0] == 1
    assert ch.available_cash(0, ROW, info(), step=5)[0] == 0.0  # closed at default
    on_book = book.balance_cny[0]
    for step in range(5, 8):  # 120, 150, 180 DPD: charged off at 180, no interest accrues
        ch.new_month()
        ch.service(step=step)
    book = ch.book(0)
    assert book.charged_off[0] and book.balance_cny[0] == 0.0
    assert ch.month.write_off_cny[0] == pytest.approx(on_book)
    assert ch.month.recoveries_cny[0] == pytest.approx(round(0.4 * on_book, 2))
    assert ch.lender_cash_cny[0] == pytest.approx(-5_000.0 + round(0.4 * on_book, 2))


def test_informal_rate_is_capped_at_four_times_lpr_and_fees_come_on_top():
    cfg = conf_channels()
    assert cfg.private_lending_cap == pytest.approx(0.154)  # 4 x 3.85 %
    ch = Channels(cfg, 1)
    c = ch.index("informal")
    assert ch.apr[c] == pytest.approx(0.154)
    ch.draw(c, ROW, np.array([10_000.0]))
    ch.service(step=1)
    assert ch.month.interest_cny[c] == pytest.approx(128.33, abs=0.011)  # 10,000 x 15.4 % / 12
    assert ch.month.monthly_fees_cny[c] == pytest.approx(200.00, abs=0.011)  # 2 % a month
    uncapped = Channels(dataclasses.replace(cfg, apply_private_lending_cap=False), 1)
    assert uncapped.apr[c] == pytest.approx(0.36)
    # Only private lending is capped by the court rule; a scenario cap binds everyone.
    assert ch.apr[ch.index("online_lender_b")] == pytest.approx(0.30)
    capped = Channels(cfg, 1, other_lenders_apr_cap=0.1)
    assert capped.apr.max() == pytest.approx(0.1)
    assert capped.apr[capped.index("bank_sme")] == pytest.approx(0.055)


def test_bank_loan_approval_takes_a_month_so_it_cannot_meet_an_immediate_need():
    ch = Channels(conf_channels(), 1)
    c = ch.index("bank_sme")
    who = info()
    assert ch.available_cash(c, ROW, who, step=5)[0] == 0.0  # no facility yet
    approved = ch.apply(c, ROW, who, step=5, firm=True)
    assert approved.tolist() == [0] and ch.book(c).open_step[0] == 6
    assert ch.available_cash(c, ROW, who, step=5)[0] == 0.0  # not this month
    assert ch.available_cash(c, ROW, who, step=6)[0] == 5_000.0  # 0.5 x monthly revenue
    assert ch.apply(c, ROW, who, step=6).size == 0  # one facility is enough
    # Declined: score too weak, or no business history.
    risky = Channels(conf_channels(), 1)
    assert risky.apply(c, ROW, info(pd_12m=[0.05]), step=5).size == 0
    assert risky.apply(c, ROW, info(firm_age_months=[6]), step=5).size == 0
    assert risky.book(c).open_step[0] == NO_FACILITY
    # A household without a firm has no revenue basis and no business history.
    assert risky.apply(c, ROW, info(firm_age_months=[-1], firm_revenue_cny=[0.0]), step=5).size == 0


def test_instant_channel_rules_and_limits():
    ch = Channels(conf_channels(), 4)
    c = ch.index("credit_card")
    rows = np.arange(4)
    who = info(
        4, pd_12m=[0.01, 0.09, 0.01, 0.01], dpd=[0, 0, 30, 0], history_months=[60, 60, 60, 3]
    )
    cash = ch.available_cash(c, rows, who, step=1)
    # 1 x income = 10,000 of limit; the 1 % cash-advance fee comes out of it.
    assert cash.tolist() == [9_900.99, 0.0, 0.0, 0.0]
    scf = ch.index("supply_chain")
    anchored = info(2, firm_receivables_cny=[20_000.0, 20_000.0], firm_anchor=[True, False])
    assert ch.available_cash(scf, np.arange(2), anchored, step=1, firm=True)[1] == 0.0
    cash = ch.available_cash(scf, np.arange(2), anchored, step=1, firm=True)
    assert cash[0] == pytest.approx(15_920.39)


def test_household_dues_are_paid_costliest_first():
    ch = Channels(conf_channels(), 1)
    card, informal = ch.index("credit_card"), ch.index("informal")
    ch.set_accounts(card, ROW, balance_cny=1_000.0, min_due_cny=100.0)
    ch.set_accounts(informal, ROW, balance_cny=400.0, min_due_cny=80.0)
    assert ch.due_total()[0] == 180.0
    ch.pay_dues(np.array([120.0]))
    assert ch.book(informal).paid_cny[0] == 80.0 and ch.book(informal).balance_cny[0] == 320.0
    assert ch.book(card).paid_cny[0] == 40.0
    ch.service(step=1)
    assert ch.book(card).missed[0] == 1  # short of its minimum
    assert ch.book(informal).missed[0] == 0
    assert ch.lenders_count()[0] == 2


def test_servicing_only_active_rows_equals_servicing_every_row():
    rng = np.random.default_rng(1)
    n = 500
    ch = single(n, apr=0.2, upfront_fee_rate=0.01)
    rows = np.flatnonzero(rng.random(n) < 0.3)
    ch.draw(0, rows, rng.uniform(100, 5_000, rows.size))
    ch.service(step=1)
    full = ch.book(0).take(np.arange(n))  # a copy of every row, serviced all at once below
    paid = np.where(rng.random(n) < 0.7, full.min_due_cny, 0.0)
    ch.repay(0, np.arange(n), paid)
    full.balance_cny = np.round(full.balance_cny - np.minimum(paid, full.balance_cny), 2) + 0.0
    ch.service(step=2)
    service_accounts(
        full,
        paid,
        step=2,
        lgd=0.8,
        min_payment_rate=0.1,
        min_payment_floor_cny=50.0,
        charge_off_dpd=180,
    )
    book = ch.book(0)
    np.testing.assert_array_equal(book.balance_cny, full.balance_cny)
    np.testing.assert_array_equal(book.min_due_cny, full.min_due_cny)
    np.testing.assert_array_equal(book.missed, full.missed)


def test_juggling_lenders_and_debt_service_lower_the_score():
    """M7: each extra lender adds ``lenders_log_odds``; debt service adds its weight x DSR."""
    from sim.model import CreditMarketModel

    model = CreditMarketModel(make_run("population.n_borrowers=200"))
    model.run(2)
    s = model.borrowers
    pc = model.config.platform
    s.lenders_count = np.maximum(s.lenders_count, 1).astype(np.int16)
    base = model.platform.log_odds(s)
    dsr = s.debt_service_cny / np.maximum(s.income_cny, 1.0)
    s.lenders_count = (s.lenders_count + 2).astype(np.int16)  # two more lenders
    s.debt_service_cny = s.debt_service_cny + 0.1 * np.maximum(s.income_cny, 1.0)
    more = model.platform.log_odds(s)
    ok = dsr + 0.1 <= 5.0  # the DSR term is capped at 5
    assert ok.sum() > 150
    expected = pc.lenders_log_odds * 2 + pc.debt_service_log_odds * 0.1
    np.testing.assert_allclose((more - base)[ok], expected, atol=1e-9)


def test_model_counts_every_lender_and_all_debt_service():
    from sim.model import CreditMarketModel

    model = CreditMarketModel(
        make_run("population.n_borrowers=800", "population.limit_scale=0.05", "policy=static"),
    )
    model.run(4)
    s, ch = model.borrowers, model.channels
    assert (ch.lenders_count() > 0).sum() >= 10
    np.testing.assert_array_equal(s.lenders_count, (s.balance_cny > 0) + ch.lenders_count())
    np.testing.assert_allclose(s.debt_service_cny, s.min_due_cny + ch.due_total(), atol=0.011)
    view = model.platform.portfolio_view(model.world, this_month(model))
    np.testing.assert_array_equal(view.lenders_count, s.lenders_count)


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.int32, bool])
@pytest.mark.parametrize("k", [1, 6])
def test_put_rows_equals_row_assignment(dtype, k):
    rng = np.random.default_rng(3)
    table = rng.integers(0, 2 if dtype is bool else 1000, size=(50, k)).astype(dtype)
    expected = table.copy()
    rows = np.array([0, 7, 8, 31, 49])
    values = rng.integers(0, 2 if dtype is bool else 1000, size=(rows.size, k)).astype(dtype)
    expected[rows] = values
    _put_rows(table, rows, values)
    np.testing.assert_array_equal(table, expected)
    _put_rows(table, rows[:0], values[:0])  # no rows: nothing happens
    np.testing.assert_array_equal(table, expected)


def test_a_charge_off_with_nothing_left_to_write_off_is_kept():
    """A defaulted account that reaches charge-off with a zero balance is still charged off."""
    ch = single(1, apr=0.2)
    ch.set_accounts(
        0,
        ROW,
        defaulted=True,
        missed=ch.config.charge_off_dpd // 30 - 1,  # one month short of charge-off
        paid_cny=10.0,  # a late payment keeps the account in this month's servicing
    )
    ch.service(step=7)
    book = ch.book(0)
    assert book.charged_off[0]
    assert book.balance_cny[0] == 0.0 and book.paid_cny[0] == 0.0
    assert ch.month.write_off_cny[0] == 0.0


def test_compact_books_give_slots_only_to_users_and_keep_the_blank_slot_blank():
    """Accounts live in slots handed out on first use; growing the tables loses nothing."""
    ch = single(1_000, apr=0.2)
    assert ch._acc["balance_cny"].shape[0] == 1 + 1_000 // 8  # room for an eighth at first
    rng = np.random.default_rng(5)
    rows = rng.permutation(1_000)[:300]  # first uses out of row order, more than the room
    for part in np.array_split(rows, 3):
        ch.draw(0, part, np.full(part.size, 100.0))
    assert ch.n_slots == 1 + 300 and ch._acc["balance_cny"].shape[0] >= 301
    assert (np.sort(ch.slot_of[rows]) == np.arange(1, 301)).all()
    assert (np.delete(ch.slot_of, rows) == 0).all()  # the others read the blank slot
    balance = ch.book(0).balance_cny
    assert (balance[rows] == 100.0).all() and np.delete(balance, rows).sum() == 0.0
    ch.service(step=1)
    ch.repay(0, np.arange(1_000), np.full(1_000, 50.0))  # rows without an account pay nothing
    ch.service(step=2)
    blank = {f: ch._acc[f][0] for f in ("balance_cny", "limit_cny", "paid_cny", "open_step")}
    assert (blank["balance_cny"] == 0).all() and (blank["paid_cny"] == 0).all()
    assert (blank["limit_cny"] == 0).all() and (blank["open_step"] == NO_FACILITY).all()
    assert ch.n_slots == 301  # paying and servicing gave no new slots
    np.testing.assert_array_equal(ch.table("balance_cny")[:, 0], ch.book(0).balance_cny)
    assert ch.month.payments_cny[0] == 300 * 50.0


def test_slots_put_in_row_order_keep_every_account():
    """order_slots renumbers the slots in row order; every borrower keeps its accounts."""
    ch = single(1_000, apr=0.2)
    rng = np.random.default_rng(9)
    rows = rng.permutation(1_000)[:300]  # first uses out of row order
    for part in np.array_split(rows, 3):
        ch.draw(0, part, rng.integers(1, 10_000, part.size) / 100.0)
    ch.service(step=1)
    before = {f: ch.table(f) for f in ACCOUNT_FIELDS}
    assert not (np.diff(ch.slot_of[np.sort(rows)]) > 0).all()  # out of order to begin with
    ch.order_slots()
    held = np.flatnonzero(ch.slot_of)
    np.testing.assert_array_equal(held, np.sort(rows))
    np.testing.assert_array_equal(ch.slot_of[held], np.arange(1, 301))
    for f, table in before.items():
        np.testing.assert_array_equal(ch.table(f), table, err_msg=f)
    assert ch._acc["balance_cny"][0].sum() == 0.0  # the blank slot stays blank


def test_a_new_month_orders_the_slots_once_enough_are_new():
    """new_month reorders once an eighth of the slots were handed out since the last order."""
    assert Channels.REORDER_SHARE == 1 / 8
    ch = single(1_000, apr=0.2)
    ch.draw(0, np.arange(500, 600), np.full(100, 10.0))  # slots 1-100, in row order
    ch.new_month()
    assert ch._ordered_slots == 101
    ch.draw(0, np.arange(10, 24), np.full(14, 10.0))  # 14 new of 115 in use: < 1/8
    ch.new_month()
    assert ch.slot_of[10] == 101 and ch._ordered_slots == 101
    ch.draw(0, np.array([3]), np.array([10.0]))  # 15 new of 116: >= 1/8
    ch.new_month()
    assert ch._ordered_slots == 116
    np.testing.assert_array_equal(ch.slot_of[[3, 10, 23, 500]], [1, 2, 15, 16])


def test_account_fields_are_checked_by_name():
    ch = single(2)
    with pytest.raises(KeyError, match="balanse_cny.*the fields are balance_cny"):
        ch.set_accounts(0, ROW, balanse_cny=1.0)
    assert ch.n_slots == 1  # nothing was written
    with pytest.raises(KeyError, match="'limit'.*the fields are balance_cny"):
        ch.table("limit")


@pytest.mark.parametrize("k", [0, 1, 6, 130])
def test_counts_and_any_over_channels_equal_numpy_reductions(k):
    x = np.random.default_rng(k).random((257, k)) < 0.3
    count = count_over_channels(x)
    assert count.dtype == np.int16
    np.testing.assert_array_equal(count, np.count_nonzero(x, axis=1))
    np.testing.assert_array_equal(any_over_channels(x), x.any(axis=1))


@pytest.mark.parametrize("k", [0, 1, 6])
def test_owed_before_is_the_exclusive_cumulative_sum_bit_for_bit(k):
    owed = np.round(np.random.default_rng(k).uniform(0, 1e5, (k, 300)), 2)
    np.testing.assert_array_equal(_owed_before(owed), np.cumsum(owed, axis=0) - owed)


def test_bad_rows_amounts_and_channels_fail_with_a_clear_error_and_change_nothing():
    ch = Channels(conf_channels(), 100)
    card = ch.index("credit_card")
    mask = np.arange(100) >= 98
    with pytest.raises(TypeError, match="not a mask"):
        ch.set_accounts(card, mask, limit_cny=7.0)
    with pytest.raises(TypeError, match="integer row indices"):
        ch.draw(card, np.array([1.7]), np.array([10.0]))
    with pytest.raises(IndexError, match="row 100 is outside"):
        ch.draw(card, np.array([5, 100]), np.array([10.0, 10.0]))
    with pytest.raises(IndexError, match="row -1 is outside"):
        ch.repay(card, np.array([-1]), np.array([10.0]))
    with pytest.raises(ValueError, match="appears twice"):
        ch.draw(card, np.array([4, 4]), np.array([100.0, 100.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        ch.draw(card, np.array([4]), np.array([-100.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        ch.repay(card, np.array([4]), np.array([np.nan]))
    with pytest.raises(IndexError, match=r"channel index 6 is outside \[0, 6\)"):
        ch.book(6)
    with pytest.raises(TypeError, match="channel index must be an integer"):
        ch.book(4.0)
    with pytest.raises(ValueError, match=r"one per row \(2\)"):
        ch.draw(card, np.array([1, 2]), np.array([1.0, 2.0, 3.0]))
    # A set-up write that fails on any field writes nothing, not even the fields before it.
    with pytest.raises(ValueError, match=r"limit_cny must be float64 values, one per row \(2\)"):
        ch.set_accounts(card, [40, 41], balance_cny=[500.0, 600.0], limit_cny=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="balance_cny must be finite and >= 0"):
        ch.set_accounts(card, [40], limit_cny=1.0, balance_cny=-5.0)
    with pytest.raises(KeyError, match="unknown or disabled lender 'foo'"):
        ch.index("foo")
    with pytest.raises(ValueError, match=r"shape \(100,\)"):
        ch.pay_dues(np.zeros(99))
    assert ch.n_slots == 1 and ch.month.draws_cny.sum() == 0.0  # nothing was posted
    assert ch.lender_cash_cny.sum() == 0.0


def test_rows_may_be_lists_and_one_amount_applies_to_every_row():
    ch = Channels(conf_channels(), 10)
    card = ch.index("credit_card")
    fees = ch.draw(card, [1, 5, 7], 100.0)  # a list of rows, one amount for all
    fee = round(ch.upfront_fee_rate[card] * 100.0, 2)
    assert fees.tolist() == [fee] * 3
    assert ch.book(card).balance_cny[[1, 5, 7]].tolist() == [100.0 + fee] * 3
    assert ch.month.draws_cny[card] == 300.0 and ch.lender_cash_cny[card] == -300.0
    assert ch.month.upfront_fees_cny[card] == pytest.approx(3 * fee)
    ch.repay(card, [5, 7], 50.0)
    assert ch.book(card).balance_cny[[1, 5, 7]].tolist() == [100.0 + fee, 50.0 + fee, 50.0 + fee]
    assert ch.lender_cash_cny[card] == -200.0


def test_servicing_a_month_twice_raises_and_charges_nothing():
    ch = single(apr=0.20)
    ch.draw(0, ROW, np.array([9_000.0]))
    ch.service(step=1)
    assert ch.book(0).balance_cny[0] == 9_150.00  # 9,000 x 20 % / 12 = 150.00
    with pytest.raises(RuntimeError, match=r"month 1 cannot be serviced.*up to month 1 already"):
        ch.service(step=1)  # would charge 152.50 again (9,302.50)
    with pytest.raises(RuntimeError, match="month 0 cannot be serviced"):
        ch.service(step=0)  # an earlier month
    assert ch.book(0).balance_cny[0] == 9_150.00
    assert ch.month.interest_cny[0] == pytest.approx(150.0)
    ch.new_month()
    ch.service(step=2)  # the next month is serviced as usual
    assert ch.book(0).balance_cny[0] == 9_302.50


def test_a_draw_on_a_closed_account_raises_and_posts_nothing():
    ch = single(n=3, apr=0.12, upfront_fee_rate=0.01)
    rows = np.array([0, 1, 2])
    ch.set_accounts(0, np.array([1]), defaulted=True, default_step=4, balance_cny=500.0)
    ch.set_accounts(0, np.array([2]), defaulted=True, charged_off=True, default_step=2)
    before = ch.table("balance_cny").copy(), ch.lender_cash_cny.copy(), ch.month.draws_cny.copy()
    with pytest.raises(ValueError, match=r"lender 'x'.*rows \[1, 2\] are closed.*\[2, 4\]"):
        ch.draw(0, rows, np.array([100.0, 100.0, 100.0]))
    np.testing.assert_array_equal(ch.table("balance_cny"), before[0])
    np.testing.assert_array_equal(ch.lender_cash_cny, before[1])
    np.testing.assert_array_equal(ch.month.draws_cny, before[2])
    # Nothing is posted to a closed account: a zero amount is no posting.
    ch.draw(0, rows, np.array([100.0, 0.0, 0.0]))
    assert ch.table("balance_cny")[:, 0].tolist() == [101.0, 500.0, 0.0]
