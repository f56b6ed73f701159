"""Other lenders' approval by hand: bands, existing debts, draws, reapplication, growth.

Sources of the default probabilities: CALIBRATION.md G5, G6, G8, I2, I9 (conf/PROVENANCE.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import ChannelsConfig
from sim.lending.channels import NO_FACILITY, Channels, band_bounds, credit_bands
from sim.lending.funding import fund_firms, fund_households
from tests.conftest import conf_channels
from tests.conftest import credit_info as info


def with_draws(who, u: float | list[float], k: int, **fields):
    """``who`` with every lender's approval uniform ``u`` (one per row) and other fields."""
    n = who.pd_12m.shape[0]
    uu = np.broadcast_to(np.asarray(u, dtype=np.float32), (n,))
    return dataclasses.replace(who, u_approval=np.tile(uu, (k, 1)), **fields)


def test_credit_bands_are_exact_shares_by_score_rank():
    pd_12m = np.array([0.05, 0.01, 0.03, 0.02])
    # Best two prime (rows 1, 3), worst one subprime (row 0), row 2 near-prime.
    assert credit_bands(pd_12m, 0.5, 0.25).tolist() == [2, 0, 1, 0]
    assert credit_bands(pd_12m, 1.0, 0.0).tolist() == [0, 0, 0, 0]
    # The month's bounds give the same bands, looked up row by row: quantiles 0.5 and
    # 0.75 of (0.01, 0.02, 0.03, 0.05) are 0.025 and 0.035.
    bounds = band_bounds(pd_12m, 0.5, 0.25)
    assert bounds == pytest.approx((0.025, 0.035))
    who = dataclasses.replace(info(4, pd_12m=pd_12m), band_bounds=bounds)
    assert who.band_of(np.arange(4)).tolist() == [2, 0, 1, 0]
    assert who.band_of(np.array([2])).tolist() == [1]


def test_approval_probability_by_band_debts_and_purpose():
    ch = Channels(conf_channels(), 4)
    card = ch.index("credit_card")
    rows = np.arange(4)
    who = dataclasses.replace(
        info(4),
        band=np.array([0, 1, 2, 0], dtype=np.int8),
        lenders_count=np.array([1, 1, 1, 3], dtype=np.int16),
        debt_service_ratio=np.array([0.2, 0.2, 0.2, 0.2]),
    )
    # G5-based 0.76 / 0.46 / 0 by band; two lenders beyond the first: 0.76 x 0.9^2.
    p = ch.approval_prob_of(card, rows, who)
    assert p.tolist() == pytest.approx([0.76, 0.46, 0.0, 0.76 * 0.81])
    # For the owned firm: 46 % of small firms use personal cards (G6).
    assert ch.approval_prob_of(card, rows, who, firm=True).tolist() == pytest.approx(
        [0.46, 0.46, 0.0, 0.46 * 0.81]
    )
    # Payments above half of income: the card issuer declines.
    heavy = dataclasses.replace(who, debt_service_ratio=np.full(4, 0.6))
    assert ch.approval_prob_of(card, rows, heavy).tolist() == [0.0] * 4
    informal = ch.index("informal")  # no score check: 31.9 % in every band (G8)
    assert ch.approval_prob_of(informal, rows, who).tolist() == pytest.approx([0.319] * 4)


def test_the_draw_decides_and_a_rejected_applicant_waits_before_reapplying():
    ch = Channels(conf_channels(), 2)
    card = ch.index("credit_card")
    rows = np.arange(2)
    # Row 0 draws below the prime probability 0.76, row 1 above it.
    who = with_draws(info(2), [0.75, 0.77], ch.k)
    cash = ch.available_cash(card, rows, who, step=3)
    assert cash.tolist() == [9_900.99, 0.0]  # 1 x income 10,000, less the 1 % fee
    assert ch.book(card).open_step.tolist() == [3, NO_FACILITY]
    assert ch.book(card).rejected_step.tolist()[1] == 3
    # A held card needs no new decision: a bad draw later does not take it away.
    later = with_draws(info(2), 0.99, ch.k)
    assert ch.available_cash(card, rows, later, step=4).tolist() == [9_900.99, 0.0]
    # The rejected row waits reapply_after_months = 6: not decided in months 4-8 ...
    lucky = with_draws(info(2), 0.0, ch.k)
    for step in range(4, 9):
        assert ch.available_cash(card, rows, lucky, step=step)[1] == 0.0
    assert ch.book(card).rejected_step[1] == 3
    # ... and approved on a good draw in month 9.
    assert ch.available_cash(card, rows, lucky, step=9)[1] == 9_900.99
    assert ch.book(card).open_step[1] == 9


def test_prime_replace_a_lost_line_with_cards_and_subprime_do_not():
    """CALIBRATION.md I2: the prime make up a cut with other cards, the subprime do not."""
    cc = conf_channels()
    ch = Channels(cc, 2)
    rows = np.arange(2)
    # Two borrowers with the same draws and wish, one prime and one subprime.
    who = with_draws(info(2), 0.5, ch.k, band=np.array([0, 2], dtype=np.int8))
    wish = np.array([4_000.0, 4_000.0])
    hf = fund_households(ch, rows, np.zeros(2), wish, who, step=1)
    lent = dict(zip(ch.names, hf.by_channel, strict=True))
    # Applications for half the wish (seek share 0.5): the prime gets a card (0.5 < 0.76)
    # and draws 2,000 on it; the subprime is refused by the card (p = 0) and online A
    # (0.5 >= 0.48) and gets 2,000 only from the dearer online B (0.5 < 0.6), whose
    # limit of 0.3 x income is 3,000.
    assert hf.wants_funded_cny.tolist() == [2_000.0, 2_000.0]
    assert lent["credit_card"] == 2_000.0 and lent["online_lender_b"] == 2_000.0
    # Next month the prime holds the card and draws the whole wish on it (2,000 of the
    # 10,000 limit already used, 1 % fee); the subprime's online B line has 3,000 - 2,060
    # (the 3 % fee) left, and it may not reapply at online A for 3 months.
    hf2 = fund_households(ch, rows, np.zeros(2), wish, who, step=2)
    assert hf2.wants_funded_cny[0] == 4_000.0
    assert hf2.wants_funded_cny[1] == pytest.approx(np.floor(940.0 / 1.03 * 100) / 100)
    card = ch.index("credit_card")
    assert ch.book(card).balance_cny.tolist() == [6_060.0, 0.0]


def test_firms_apply_with_the_firm_probabilities():
    ch = Channels(conf_channels(), 2)
    # Draw 0.5: above the firm card probability 0.46 (G6) but below the household 0.76.
    who = with_draws(info(2), 0.5, ch.k)
    args = {
        "owners": np.arange(2),
        "owner_spare_cny": np.zeros(2),
        "platform_available_cny": np.zeros(2),
        "channels": ch,
        "info": who,
    }
    ff = fund_firms(np.array([1_000.0, 0.0]), step=1, **args)
    assert ff.by_step["credit_card"][0] == 0.0  # the card refused the firm's application
    assert ff.by_step["online_lender_a"][0] == 1_000.0  # 0.5 < 0.80 (G5)
    # The bank decides the application now and funds from next month (lag 1, 0.5 < 0.80).
    assert ch.book(ch.index("bank_sme")).open_step[0] == 2


def test_grow_appends_blank_borrowers_and_keeps_the_books():
    ch = Channels(conf_channels(), 2)
    card = ch.index("credit_card")
    ch.set_accounts(card, np.array([1]), balance_cny=500.0, limit_cny=1_000.0, open_step=1)
    ch.service(step=1)
    before = ch.book(card)
    ch.grow(5)
    assert ch.n == 5
    for name in Channels.PER_BORROWER:
        assert getattr(ch, name).shape == (5,), name
    after = ch.book(card)
    # Old rows unchanged; the new rows read the blank account and have no totals.
    assert after.balance_cny[:2].tolist() == before.balance_cny.tolist()
    assert after.balance_cny[2:].tolist() == [0.0] * 3
    assert after.open_step[2:].tolist() == [NO_FACILITY] * 3
    assert ch.interest_fees_total_cny[2:].tolist() == [0.0] * 3
    assert ch.balance_total().tolist()[1] == pytest.approx(
        before.balance_cny[1]
    ) and ch.lenders_count().tolist() == [0, 1, 0, 0, 0]
    # A new row can apply and borrow like any other.
    cash = ch.available_cash(card, np.array([4]), info(5), step=2)
    assert cash.tolist() == [9_900.99]
    ch.draw(card, np.array([4]), cash)
    assert ch.balance_total()[4] == pytest.approx(10_000.0)
    with pytest.raises(ValueError, match="below the current 5 rows"):
        ch.grow(4)


def test_bad_approval_probabilities_are_refused_naming_the_field():
    raw = dataclasses.asdict(conf_channels())
    raw["lenders"]["credit_card"]["approval_prob"] = [0.5, 0.4]
    with pytest.raises(ValueError, match=r"channels\.lenders\.credit_card\.approval_prob"):
        ChannelsConfig(**raw)
    raw["lenders"]["credit_card"]["approval_prob"] = [0.5, 0.4, 1.5]
    with pytest.raises(ValueError, match="one per credit band"):
        ChannelsConfig(**raw)
    raw = dataclasses.asdict(conf_channels())
    raw["prime_share"], raw["subprime_share"] = 0.9, 0.2
    with pytest.raises(ValueError, match="prime_share"):
        ChannelsConfig(**raw)
