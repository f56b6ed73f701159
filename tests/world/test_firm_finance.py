"""Firm finance by hand: peaks per sector, the season's stock, personal credit, the
liquidity buffer and the exit hazard's distress part."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ChannelConfig, ChannelsConfig, FirmsConfig, SectorConfig
from sim.lending.channels import Channels
from sim.lending.funding import balance_weighted_apr, fund_firms
from sim.world.firms import (
    DAYS_PER_MONTH,
    ClosureCause,
    ExitModel,
    FirmState,
    SectorTable,
    operate,
    settle,
)
from sim.world.network import SupplyNetwork
from tests.world.test_enterprises import FLAT, info, no_shocks

PLATFORM_APR = 0.12
CARD_APR = 0.18


# --------------------------------------------------------------------------- peaks


def test_every_sector_with_a_season_has_a_peak_on_its_own_scale():
    from sim import load_run_config

    table = SectorTable.from_config(load_run_config([]).firms)
    peaks = table.peak_months(0.5, 0.02)
    months = {n: (np.flatnonzero(p) + 1).tolist() for n, p in zip(table.names, peaks, strict=True)}
    # Services peak at only 1.10 (January) and 1.05: the old absolute 1.15 saw none.
    assert months["services"] == [1, 11, 12]
    assert months["retail"] == [1, 6, 11]  # 1.45, 1.25, 1.50 >= 1 + 0.5 x 0.50
    flat = SectorTable.from_config(FirmsConfig(sectors={"flat": SectorConfig(**FLAT)}))
    assert not flat.peak_months(0.5, 0.02).any()  # no season, no peak
    # Looking ahead two months from October: services' November peak is flagged.
    services = table.names.index("services")
    assert table.relative_peak_ahead(10, 2, 0.5, 0.02)[services]
    assert not table.relative_peak_ahead(7, 2, 0.5, 0.02)[services]


# ------------------------------------------------------------------ season's stock


def stock_world() -> tuple[FirmState, SupplyNetwork, SectorTable]:
    """A shop: sales 10,000 a month in cash, stock 50 % bought a month ahead from an
    outside supplier on delivery terms, fixed costs 2,000, February peak at 2.0."""
    season = [1.0] * 12
    season[1] = 2.0
    table = SectorTable.from_config(
        FirmsConfig(
            sectors={"shop": SectorConfig(**(FLAT | {"cogs_ratio": 0.5, "seasonality": season}))}
        )
    )
    f = FirmState.blank(1)
    f.revenue_base_cny[:] = 10_000.0
    f.fixed_cost_cny[:] = 2_000.0
    f.cash_cny[:] = 3_000.0
    return f, SupplyNetwork.from_edges(1, [], [], []), table


def channels(card_enabled: bool) -> Channels:
    card = ChannelConfig(
        enabled=card_enabled,
        apr=CARD_APR,
        max_pd_12m=1.0,
        max_dpd=0,
        limit_multiple=10.0,
        max_limit_cny=1e6,
        for_firms=True,
    )
    cfg = ChannelsConfig(
        order=["own_cash", "platform", "credit_card"], lenders={"credit_card": card}
    )
    return Channels(cfg, n_borrowers=1)


def stock_build(platform_available: float, *, card: bool = True, personal: bool = True):
    """January: the February peak's stock plus March's (prebuy 1 month) in one go."""
    f, net, table = stock_world()
    f.uses_personal_credit[:] = personal
    d = no_shocks(1)
    fm = operate(
        f,
        net,
        table,
        d,
        step=1,
        calendar_month=1,
        stock_lead_months=1,
        revenue_persistence=0.0,
        peak_months=table.peak_months(0.5, 0.02),
        peak_prebuy_months=1,
    )
    ch = channels(card)
    ff = fund_firms(
        fm.gap_cny,
        owners=f.owner,
        owner_spare_cny=np.zeros(1),
        platform_available_cny=np.array([platform_available]),
        channels=ch,
        info=info(1),
        step=1,
        personal_ok=f.uses_personal_credit,
    )
    st = settle(
        f,
        net,
        fm,
        ff.funded_cny,
        d,
        step=1,
        close_after_shortfall_months=3,
        exit_hazard_monthly=0.0,
    )
    return f, fm, ff, st, (net, table)


def test_peak_stock_beyond_cash_with_an_ample_line_is_funded_at_the_platform_apr():
    # Stock: February's 0.5 x 20,000 = 10,000 plus March's 0.5 x 10,000 = 5,000 = 15,000,
    # five times the 3,000 of cash. Obligations 15,000 + 2,000 against 3,000 + 10,000 of
    # sales: a gap of 4,000.
    f, fm, ff, st, (net, table) = stock_build(platform_available=50_000.0)
    assert fm.stock_build_cny[0] == 5_000.0 and fm.purchases_cny[0] == 15_000.0
    assert fm.purchases_cny[0] > fm.opening_cash_cny[0]
    assert fm.gap_cny[0] == 4_000.0
    assert ff.by_step["platform"][0] == 4_000.0 and ff.unmet_cny[0] == 0.0
    apr = balance_weighted_apr(
        [ff.by_step["platform"], ff.by_step["credit_card"]], [PLATFORM_APR, CARD_APR]
    )
    assert apr[0] == pytest.approx(PLATFORM_APR)
    assert st.late_supplier_payments_cny[0] == 0.0 and not f.in_shortfall[0]
    assert f.overdue_cny[0] == 0.0 and f.is_open[0]
    # February sells the peak; March's stock was bought already: February buys nothing.
    fm2 = operate(
        f,
        net,
        table,
        no_shocks(1),
        step=2,
        calendar_month=2,
        stock_lead_months=1,
        revenue_persistence=0.0,
        peak_months=table.peak_months(0.5, 0.02),
        peak_prebuy_months=1,
    )
    assert fm2.purchases_cny[0] == 0.0 and f.stock_prebought_cny[0] == 0.0


@pytest.mark.parametrize(
    "case",
    [
        {"platform_available": 0.0, "card": False},
        {"platform_available": 50_000.0, "card": False, "personal": False},
    ],
)
def test_peak_stock_without_the_line_or_substitutes_is_paid_late_by_the_unfunded_amount(case):
    # Line cut (or an owner who keeps the line out of the business) and no card: the
    # 4,000 gap is unfunded; fixed costs first, the supplier gets 11,000 of 15,000.
    f, fm, ff, st, _ = stock_build(**case)
    assert ff.funded_cny[0] == 0.0 and st.unmet_gap_cny[0] == 4_000.0
    assert st.fixed_paid_cny[0] == 2_000.0
    assert st.supplier_paid_outside_cny[0] == 11_000.0
    assert st.late_supplier_payments_cny[0] == st.unmet_gap_cny[0] == 4_000.0
    assert f.overdue_cny[0] == 4_000.0 and f.in_shortfall[0]


def test_an_owner_outside_personal_credit_does_not_draw_the_card_either():
    f, fm, ff, st, _ = stock_build(platform_available=0.0, card=True, personal=False)
    assert ff.by_step["credit_card"][0] == 0.0 and st.late_supplier_payments_cny[0] == 4_000.0
    f, fm, ff, st, _ = stock_build(platform_available=0.0, card=True, personal=True)
    assert ff.by_step["credit_card"][0] == 4_000.0 and st.late_supplier_payments_cny[0] == 0.0


# --------------------------------------------------------------- liquidity buffer


def test_liquidity_buffer_counts_the_undrawn_credit_the_firm_can_use():
    from sim.model import CreditMarketModel
    from sim.outputs.firm_metrics import liquidity_buffer_days, usable_credit_cny
    from tests.conftest import make_run

    model = CreditMarketModel(make_run("population.n_borrowers=600"))
    model.step()
    w = model.world
    f, s, ch = w.firms, w.borrowers, w.channels
    i = int(np.flatnonzero(f.is_open)[0])
    o = int(f.owner[i])
    f.cash_cny[i] = 3_000.0
    f.outflow_hist_cny[:, i] = 300.0 * DAYS_PER_MONTH  # 300 CNY a day
    s.limit_cny[o], s.balance_cny[o], s.is_open[o] = 10_000.0, 4_000.0, True
    for c in range(ch.k):
        ch.set_accounts(c, np.array([o]), limit_cny=0.0, balance_cny=0.0)
    ch.set_accounts(
        ch.index("bank_sme"), np.array([o]), limit_cny=5_000.0, balance_cny=1_000.0, open_step=0
    )
    ch.set_accounts(ch.index("credit_card"), np.array([o]), limit_cny=2_000.0, open_step=0)
    # (3,000 cash + 6,000 platform + 4,000 bank + 2,000 card) / 300 a day = 50 days;
    # the cash buffer alone is 10 days.
    f.uses_personal_credit[i] = True
    assert usable_credit_cny(w)[i] == pytest.approx(12_000.0)
    assert liquidity_buffer_days(w)[i] == pytest.approx(50.0)
    # An owner who keeps personal credit out of the business: cash + the bank line only.
    f.uses_personal_credit[i] = False
    assert liquidity_buffer_days(w)[i] == pytest.approx(7_000.0 / 300.0)
    # A facility still in approval is not usable today.
    ch.set_accounts(ch.index("bank_sme"), np.array([o]), open_step=w.serviced_step + 1)
    assert liquidity_buffer_days(w)[i] == pytest.approx(10.0)
    model.close()


# ---------------------------------------------------------------- exit hazard

MODEL = ExitModel(
    nonfinancial=0.003,
    young_excess=1.0,
    young_decay_months=24.0,
    low_buffer_days=7.0,
    w_buffer=0.005,
    w_shortfall=0.015,
    w_unpaid=0.01,
    w_default=0.05,
)


def test_exit_hazard_rises_with_distress_and_falls_with_age_by_hand():
    mature = 100_000
    age = np.array([mature, mature, mature, mature, 0, 24])
    buffer = np.array([30.0, 3.5, 0.0, 0.0, 30.0, 3.5])
    memory = np.array([0.0, 0.0, 0.0, 1.9, 0.0, 0.0])  # 1.9: shortfalls last month and now
    unpaid = np.array([False, False, False, True, False, False])
    default = np.array([False, False, False, True, False, False])
    h_nf, h_d = MODEL.hazards(age, buffer, memory, unpaid, default)
    a24 = 1.0 + np.exp(-1.0)
    np.testing.assert_allclose(h_nf, [0.003, 0.003, 0.003, 0.003, 0.006, 0.003 * a24])
    np.testing.assert_allclose(
        h_d,
        [
            0.0,  # healthy
            0.0025,  # half-way into the low-buffer zone: 0.005 x (1 - 3.5 / 7)
            0.005,  # no cash
            0.005 + 0.015 * 1.9 + 0.01 + 0.05,  # no cash, shortfalls, unpaid, owner default
            0.0,  # a new healthy firm: only the non-financial part, doubled
            0.0025 * a24,
        ],
        atol=1e-15,
    )
    total = h_nf + h_d
    assert total[0] < total[1] < total[2] < total[3]  # more distress, more exits
    assert total[4] > total[0]  # young firms exit more


def test_settlement_splits_exits_into_distress_and_non_financial_by_the_draw():
    f = FirmState.blank(2)
    f.age_months[:] = 100_000
    f.buffer_days[:] = [30.0, 0.0]
    table = SectorTable.from_config(FirmsConfig(sectors={"shop": SectorConfig(**FLAT)}))
    net = SupplyNetwork.from_edges(2, [], [], [])

    def closes(u):
        g = FirmState.blank(2)
        g.age_months[:], g.buffer_days[:] = f.age_months, f.buffer_days
        d = no_shocks(2, u_exit=np.array(u))
        fm = operate(
            g, net, table, d, step=1, calendar_month=1, stock_lead_months=1, revenue_persistence=0.0
        )
        st = settle(
            g,
            net,
            fm,
            np.zeros(2),
            d,
            step=1,
            close_after_shortfall_months=3,
            exit_hazard_monthly=0.0,
            exit_model=MODEL,
            owner_defaulted=np.array([False, True]),
        )
        return st.closure_cause.tolist()

    # Firm 1 (no cash, owner defaulted): h_distress = 0.005 + 0.05 = 0.055, h = 0.058.
    assert closes([0.01, 0.01]) == [0, ClosureCause.DISTRESS]
    assert closes([0.002, 0.057]) == [ClosureCause.EXIT, ClosureCause.EXIT]
    assert closes([0.5, 0.06]) == [0, 0]
