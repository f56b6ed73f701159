"""The funding waterfall: order, conservation, the cost ladder, approval lags, repayment."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.lending.channels import Channels
from sim.lending.funding import (
    balance_weighted_apr,
    fund_firms,
    fund_households,
    repay_firm_debts,
    waterfall,
)
from sim.model import CreditMarketModel
from sim.outputs.segments import segment_labels
from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.reasons import ReasonCode
from tests.conftest import conf_channels, make_run
from tests.conftest import credit_info as info

TIERS = (0.073, 0.1095, 0.146, 0.1825)  # the platform's APR tiers (conf/platform/default.yaml)


def test_waterfall_by_hand():
    taken, unmet = waterfall(
        np.array([1_000.0, 1_000.0]),
        [
            np.array([300.0, 0.0]),
            np.array([0.0, 200.0]),
            np.array([500.0, 300.0]),
            np.array([1e6, 0.0]),
        ],
    )
    assert [t.tolist() for t in taken] == [[300.0, 0.0], [0.0, 200.0], [500.0, 300.0], [200.0, 0.0]]
    assert unmet.tolist() == [0.0, 500.0]


@settings(max_examples=60, deadline=None)
@given(
    gap=st.floats(0, 1e6, allow_nan=False),
    avail=st.lists(st.floats(-10, 1e6, allow_nan=False), min_size=1, max_size=6),
)
def test_waterfall_conserves_and_respects_order(gap, avail):
    gap_arr = np.round(np.array([gap]), 2)
    taken, unmet = waterfall(gap_arr, [np.array([a]) for a in avail])
    total = sum(t[0] for t in taken) + unmet[0]
    assert total == pytest.approx(gap_arr[0], abs=0.011)
    assert unmet[0] >= 0
    for k, (t, a) in enumerate(zip(taken, avail, strict=True)):
        assert 0 <= t[0] <= max(a, 0.0) + 0.005
        if k and t[0] > 0:  # a later source is used only once the earlier ones are exhausted
            assert all(taken[j][0] >= round(max(avail[j], 0.0), 2) - 0.01 for j in range(k))


def all_in_apr(ch: Channels) -> np.ndarray:
    """A month's all-in cost of new borrowing on each channel, annualised (fees included)."""
    return ch.apr + 12.0 * (ch.monthly_fee_rate + ch.upfront_fee_rate)


@settings(max_examples=80, deadline=None)
@given(
    gap=st.floats(100, 200_000),
    headroom=st.floats(0, 200_000),
    cut=st.floats(0, 1),
    tier=st.sampled_from(TIERS),
    income=st.floats(2_000, 40_000),
)
def test_cost_ladder_a_platform_cut_never_lowers_the_effective_apr(
    gap, headroom, cut, tier, income
):
    """With every channel open, less platform headroom means dearer funding, never cheaper."""

    def effective(platform_available: float) -> float:
        ch = Channels(conf_channels(), 1)
        ff = fund_firms(
            np.round(np.array([gap]), 2),
            owners=np.array([0]),
            owner_spare_cny=np.zeros(1),
            platform_available_cny=np.round(np.array([platform_available]), 2),
            channels=ch,
            info=info(income_base_cny=[income]),
            step=1,
        )
        rates = {name: all_in_apr(ch)[ch.index(name)] for name in ch.names}
        rates |= {"own_cash": 0.0, "platform": tier}
        apr = balance_weighted_apr(list(ff.by_step.values()), [rates[k] for k in ff.by_step])
        return float(apr[0])

    before, after = effective(headroom), effective(headroom * cut)
    if np.isnan(after):  # nothing funded after the cut: nothing borrowed, no rate
        assert headroom * cut < 0.01
        return
    assert after >= before - 1e-12


def test_households_reach_only_the_lenders_that_serve_the_purpose():
    cc = conf_channels()
    cc.household_wants_seek_share = 1.0  # the whole wish is applied for
    ch = Channels(cc, 2)
    who = info(2, income_base_cny=[1_000.0, 1_000.0])
    # Row 0 needs 2,500 for essentials; row 1 wishes to borrow 2,500 for discretionary spending.
    hf = fund_households(
        ch, np.arange(2), np.array([2_500.0, 0.0]), np.array([0.0, 2_500.0]), who, step=1
    )
    lent = dict(zip(ch.names, hf.by_channel, strict=True))
    # Card 1,000 limit (990.09 after its 1 % fee), online A 500 (490.19), B 300 (291.26):
    # the rest of the essential need goes to the informal lender; wishes never do.
    assert hf.needs_funded_cny[0] == pytest.approx(2_500.0)
    assert hf.wants_funded_cny[1] == pytest.approx(990.09 + 490.19 + 291.26)
    assert lent["informal"] == pytest.approx(2_500.0 - 990.09 - 490.19 - 291.26)
    assert lent["bank_sme"] == 0.0 and lent["supply_chain"] == 0.0  # business lenders only
    assert hf.fees_cny.tolist() == pytest.approx([9.90 + 9.80 + 8.74, 9.90 + 9.80 + 8.74])


def test_firm_waterfall_order_and_the_bank_loan_one_month_later():
    ch = Channels(conf_channels(), 1)
    args = {
        "owners": np.array([0]),
        "owner_spare_cny": np.array([1_000.0]),
        "platform_available_cny": np.array([2_000.0]),
        "channels": ch,
        "info": info(),
    }
    ff = fund_firms(np.array([4_000.0]), step=1, **args)
    assert ff.by_step["own_cash"][0] == 1_000.0  # the owner's savings first
    assert ff.by_step["platform"][0] == 2_000.0  # then the platform line
    assert ff.by_step["bank_sme"][0] == 0.0  # the bank is still deciding
    assert ff.by_step["credit_card"][0] == 1_000.0  # the rest on the card
    assert list(ff.by_step) == [
        "own_cash",
        "bank_sme",
        "supply_chain",
        "platform",
        "credit_card",
        "online_lender_a",
        "online_lender_b",
        "informal",
    ]
    assert ch.book(ch.index("bank_sme")).open_step[0] == 2  # applied this month
    nxt = fund_firms(np.array([4_000.0]), step=2, **args)
    assert nxt.by_step["own_cash"][0] == 1_000.0
    assert nxt.by_step["bank_sme"][0] == 3_000.0  # the cheapest lender now comes first
    assert nxt.by_step["platform"][0] == 0.0


def test_firm_repays_the_dearest_debt_first_including_its_platform_draws():
    ch = Channels(conf_channels(), 1)
    card, informal = ch.index("credit_card"), ch.index("informal")
    ch.set_accounts(card, [0], balance_cny=500.0)
    ch.set_accounts(informal, [0], balance_cny=1_000.0)  # 15.4 % + 2 % a month: the dearest
    channel_paid, platform_paid = repay_firm_debts(
        np.array([2_500.0]),
        owners=np.array([0]),
        platform_business_cny=np.array([2_000.0]),
        platform_balance_cny=np.array([3_000.0]),
        platform_apr=np.array([0.1825]),
        platform_open=np.array([True]),
        channels=ch,
        prepay_share=1.0,
    )
    # Informal (39.4 % carrying cost) 1,000, then the platform (18.25 %, ahead of the card
    # at the same rate) 1,500 of the 2,000 the firm drew; nothing left for the card.
    assert channel_paid.tolist() == [1_000.0] and platform_paid.tolist() == [1_500.0]
    assert ch.book(informal).balance_cny[0] == 0.0 and ch.book(card).balance_cny[0] == 500.0


# --------------------------------------------------------------------------- model level


@dataclasses.dataclass
class CutConfig(PolicyConfig):
    name: str = "cut_once"
    month: int = 6
    only_sole_traders_before_peak: bool = False


class CutOnce(LimitPolicy):
    """Test policy: cut lines to their balance once (everyone, or owners before a peak)."""

    name = "cut_once"
    config_class = CutConfig

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        c = self.config
        who = view.is_open & (view.step == c.month)
        if c.only_sole_traders_before_peak:
            who = view.is_open & view.owns_firm & view.firm_peak_ahead
        new = np.where(who, 0.0, view.limit_cny)
        final = self.clip(new, view)
        reason = np.where(final != view.limit_cny, ReasonCode.PORTFOLIO_EXPOSURE_CAP, 0).astype(
            np.int8
        )
        return LimitDecision(final, reason)


def month_apr(model: CreditMarketModel) -> tuple[np.ndarray, np.ndarray]:
    """Each borrower's all-in APR of the last month, and its month-end debt (every lender)."""
    t = model.month.transfers
    cost = (
        model.month.servicing.interest_cny
        + model.channels.charged_cny
        + t.household_channel_fees_cny
        + t.per_borrower("firm_channel_fees_cny", model.firms.owner)
    )
    debt = model.borrowers.balance_cny + model.channels.balance_total()
    return np.divide(12 * cost, debt, out=np.full(debt.shape, np.nan), where=debt > 0), debt


def test_model_cut_never_lowers_a_borrowers_effective_apr_the_next_month():
    """Cost ladder in the model: after a cut to the balance, nobody borrows cheaper."""
    overrides = ("population.n_borrowers=3000", "seed=5", "policy=static")
    base = CreditMarketModel(make_run(*overrides))
    cut = CreditMarketModel(make_run(*overrides), policy=CutOnce(CutConfig(month=6)))
    base.release_month_fields = cut.release_month_fields = False  # month_apr reads the fees
    base.run(7)  # the cut lands in the review of month 6; month 7 is the first after it
    cut.run(7)
    apr_b, debt_b = month_apr(base)
    apr_c, debt_c = month_apr(cut)
    both = (debt_b > 100) & (debt_c > 100) & ~base.borrowers.defaulted & ~cut.borrowers.defaulted
    assert both.sum() > 1000
    assert (apr_c[both] >= apr_b[both] - 5e-4).all()  # never lower (cent rounding aside)
    assert (apr_c[both] > apr_b[both] + 0.01).sum() > 20  # higher for those pushed elsewhere
    tb, tc = base.monthly_table().iloc[6], cut.monthly_table().iloc[6]
    assert tc["effective_apr"] > tb["effective_apr"]
    assert tc["channel_draws_cny"] > tb["channel_draws_cny"]
    assert tc["lenders_per_borrower"] > tb["lenders_per_borrower"]


def test_model_cut_before_the_peak_pushes_sole_traders_to_dearer_lenders_and_late_payments():
    """M8: cutting owners' lines ahead of their peak season raises their cost and stress."""
    overrides = ("population.n_borrowers=4000", "seed=3", "n_months=14")
    static = CreditMarketModel(make_run(*overrides, "policy=static")).run()
    policy = CutOnce(CutConfig(only_sole_traders_before_peak=True))
    cut = CreditMarketModel(make_run(*overrides, "policy=static"), policy=policy).run()
    a, b = static.monthly_table(), cut.monthly_table()
    assert b["firm_platform_draws_cny"].sum() < 0.8 * a["firm_platform_draws_cny"].sum()
    assert b["firm_channel_draws_cny"].sum() > a["firm_channel_draws_cny"].sum()
    assert b["unmet_financing_gap_cny"].sum() > a["unmet_financing_gap_cny"].sum()
    assert b["late_supplier_payments_cny"].sum() > a["late_supplier_payments_cny"].sum()
    seg_a = segment_labels(static.world) == "sole_trader"
    from sim.outputs.segments import distribution_table

    da = distribution_table(static.world, static.record)
    db = distribution_table(cut.world, cut.record)
    sole_a = da[(da["group"] == "segment") & (da["level"] == "sole_trader")].iloc[0]
    sole_b = db[(db["group"] == "segment") & (db["level"] == "sole_trader")].iloc[0]
    assert sole_b["effective_apr"] > sole_a["effective_apr"]
    assert sole_b["high_cost_channel_share"] >= sole_a["high_cost_channel_share"]
    assert seg_a.sum() == static.firms.n


def firm_only_channels(n: int) -> Channels:
    """A waterfall of own cash and the platform only (no other lender)."""
    cc = conf_channels()
    cc.order = ["own_cash", "platform"]
    return Channels(cc, n)


def test_an_earmarked_tranche_funds_the_gap_of_a_firm_whose_owner_keeps_the_line_personal():
    # Two firms short 8,000, owners with 20,000 of headroom of which 5,000 earmarked. The
    # owner who uses personal credit draws 8,000 (earmark first, then the line); the one
    # who does not draws only the earmarked 5,000 (3,000 unmet), and nothing without it.
    args = {
        "owners": np.array([0, 1]),
        "owner_spare_cny": np.zeros(2),
        "platform_available_cny": np.array([20_000.0, 20_000.0]),
        "info": info(2),
        "step": 1,
        "personal_ok": np.array([True, False]),
    }
    gap = np.array([8_000.0, 8_000.0])
    ff = fund_firms(
        gap, channels=firm_only_channels(2), platform_earmarked_cny=np.full(2, 5_000.0), **args
    )
    assert ff.by_step["platform"].tolist() == [8_000.0, 5_000.0]
    assert ff.unmet_cny.tolist() == [0.0, 3_000.0]
    ff = fund_firms(gap, channels=firm_only_channels(2), **args)
    assert ff.by_step["platform"].tolist() == [8_000.0, 0.0]


def test_lender_capacity_rations_requests_pro_rata_once_it_binds():
    # Card capacity 1,000 CNY per row, 2 rows: 2,000 this month. Requests 1,500 + 1,000
    # get 2,000 x 0.6 and x 0.4; once lent, nothing is left for a further request.
    cc = conf_channels()
    cc.lenders["credit_card"].monthly_capacity_per_borrower_cny = 1_000.0
    ch = Channels(cc, 2)
    ch.new_month()
    c = ch.index("credit_card")
    granted = ch.ration(c, np.array([1_500.0, 1_000.0]))
    assert granted.tolist() == [1_200.0, 800.0]
    ch.draw(c, np.array([0, 1]), granted)
    assert ch.capacity_left_cny(c) == 0.0
    assert ch.ration(c, np.array([100.0])).tolist() == [0.0]
    assert ch.rationed_total_cny[c] == pytest.approx(600.0)
    # Within capacity a request is untouched; other lenders have no limit.
    ch.new_month()
    assert ch.ration(c, np.array([700.0])).tolist() == [700.0]
    assert ch.capacity_left_cny(ch.index("informal")) == np.inf


def test_capacity_binds_in_both_waterfalls():
    # Card capacity 300 per row (600 for two rows). Households: two essential gaps of
    # 2,500, each with 990.09 of card available (1,000 limit, 1 % fee): together 1,980.18
    # asked, 600 lent, 300 each. Firms (next month): two gaps of 5,000 on the cards:
    # again 300 each.
    cc = conf_channels()
    cc.lenders["credit_card"].monthly_capacity_per_borrower_cny = 300.0
    ch = Channels(cc, 2)
    ch.new_month()
    who = info(2, income_base_cny=[1_000.0, 1_000.0])
    hf = fund_households(ch, np.arange(2), np.full(2, 2_500.0), np.zeros(2), who, step=1)
    assert dict(zip(ch.names, hf.by_channel, strict=True))["credit_card"] == 600.0
    ch.new_month()
    ff = fund_firms(
        np.full(2, 5_000.0),
        owners=np.array([0, 1]),
        owner_spare_cny=np.zeros(2),
        platform_available_cny=np.zeros(2),
        channels=ch,
        info=who,
        step=2,
    )
    assert ff.by_step["credit_card"].tolist() == [300.0, 300.0]


def test_model_sme_aware_tranche_reaches_non_users_and_stays_out_of_household_reach():
    # A short run under sme_aware: tranches are opened, firms whose owners keep the line
    # personal draw the platform (only an earmark allows it), and at every month's end
    # the earmark sits within the headroom. Under behaviour_rules such firms never do.
    for policy, expect in (("sme_aware", True), ("behaviour_rules", False)):
        with CreditMarketModel(make_run(f"policy={policy}", "n_months=14")) as model:
            non_user_draws = 0.0
            for _ in range(14):
                model.step()
                s, f = model.borrowers, model.firms
                drew = model.month.firm_funding.by_step["platform"]
                non_user_draws += float(drew[~f.uses_personal_credit].sum())
                assert (s.earmarked_cny <= np.maximum(s.limit_cny - s.balance_cny, 0) + 1e-6).all()
            granted = getattr(model.world.platform.policy, "tranches_granted", 0)
        assert (non_user_draws > 0) == expect
        assert (granted > 0) == expect
