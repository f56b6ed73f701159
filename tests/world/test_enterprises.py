"""Firms by hand: buffer days, the peak-season working-capital gap, contagion, closures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from omegaconf import OmegaConf

from sim.config import ChannelConfig, ChannelsConfig, FirmsConfig, SectorConfig
from sim.lending.channels import Channels, CreditInfo
from sim.lending.funding import balance_weighted_apr, fund_firms
from sim.world.draws import FirmDraws
from sim.world.firms import (
    DAYS_PER_MONTH,
    ClosureCause,
    FirmState,
    SectorTable,
    cash_buffer_days,
    firm_signals,
    operate,
    pay_owner_draws,
    settle,
    update_buffer_days,
)
from sim.world.network import SupplyNetwork
from tests.conftest import this_month

FLAT = {
    "revenue_size_sigma": 0.0,
    "revenue_sigma": 0.0,
    "persistent_sigma": 0.0,
    "credit_sales_share": 0.0,
    "receivable_terms_months": 0,
    "payable_terms_months": 0,
    "seasonality": [1.0] * 12,
    "supplier_sectors": [],
    "network_purchase_share": 0.0,
    "cogs_ratio": 0.0,
}


def sectors(**specs: dict) -> SectorTable:
    """A sector table from keyword specs on top of a flat, shock-free sector."""
    cfg = FirmsConfig(sectors={name: SectorConfig(**(FLAT | spec)) for name, spec in specs.items()})
    return SectorTable.from_config(cfg)


def no_shocks(n: int, z: np.ndarray | None = None, u_exit: np.ndarray | None = None) -> FirmDraws:
    return FirmDraws(
        z_persistent=np.zeros(n),
        z_transitory=np.zeros(n) if z is None else z,
        u_exit=np.ones(n) if u_exit is None else u_exit,
    )


def one_month(firms, net, table, step, *, funding=None, draws=None, close_after=3, hazard=0.0):
    d = no_shocks(firms.n) if draws is None else draws
    fm = operate(
        firms,
        net,
        table,
        d,
        step=step,
        calendar_month=(step - 1) % 12 + 1,
        stock_lead_months=1,
        revenue_persistence=0.0,
    )
    st = settle(
        firms,
        net,
        fm,
        np.zeros(firms.n) if funding is None else funding,
        d,
        step=step,
        close_after_shortfall_months=close_after,
        exit_hazard_monthly=hazard,
    )
    return fm, st


# --------------------------------------------------------------------------- buffer days


def test_cash_buffer_days_by_hand():
    # JPMCI 2016: a median balance of $12,100 over median daily outflows of $374 -> 32.35
    # days; 2,700 CNY against 3,000 a month (98.63 a day) -> 27.375 days.
    cash = np.array([12_100.0, 2_700.0, 0.0, 100.0])
    monthly = np.array([374.0 * DAYS_PER_MONTH, 3_000.0, 3_000.0, 0.0])
    days = cash_buffer_days(cash, monthly)
    assert days[:3] == pytest.approx([12_100 / 374, 27.375, 0.0])
    assert np.isnan(days[3])  # no outflows: undefined


def test_buffer_days_use_the_average_outflow_of_the_window_and_nan_when_closed():
    f = FirmState.blank(2, outflow_window_months=3)
    f.outflow_hist_cny[:, :] = np.array([[3_000.0], [3_000.0], [6_000.0]])  # mean 4,000
    f.cash_cny[:] = [4_000.0, 4_000.0]
    f.is_open[1] = False
    days = update_buffer_days(f)
    assert days[0] == pytest.approx(4_000 / (4_000 / DAYS_PER_MONTH))  # 30.42 days
    assert np.isnan(days[1])
    assert f.open_months.tolist() == [1, 0]


def test_profitable_flat_firm_keeps_its_target_and_pays_the_margin_to_the_owner():
    # Sales 10,000 cash; stock 50 % = 5,000 paid on delivery; fixed 3,000. Target buffer
    # = one month of outflows (8,000). Cash 8,000 + 10,000 - 8,000 = 10,000: the 2,000
    # above target (the margin) goes to the owner; the buffer stays at 30.42 days.
    table = sectors(shop={"cogs_ratio": 0.5})
    f = FirmState.blank(1)
    f.revenue_base_cny[:] = 10_000.0
    f.fixed_cost_cny[:] = 3_000.0
    f.outflow_hist_cny[:] = 8_000.0
    f.cash_cny[:] = 8_000.0
    f.target_buffer_days[:] = DAYS_PER_MONTH
    net = SupplyNetwork.from_edges(1, [], [], [])
    for step in (1, 2, 3):
        fm, st = one_month(f, net, table, step)
        assert fm.gap_cny[0] == 0.0 and st.late_supplier_payments_cny[0] == 0.0
        assert pay_owner_draws(f, 1.0)[0] == pytest.approx(2_000.0)
        assert f.cash_cny[0] == pytest.approx(8_000.0)
    assert update_buffer_days(f)[0] == pytest.approx(DAYS_PER_MONTH)


# --------------------------------------------------------------------------- the peak month

PLATFORM_APR = 0.146
SPREAD = 0.06


def peak_world():
    """Shop A buys all its stock from wholesaler B; February is a double-sales peak.

    January: A sells 10,000 (cash) and buys February's stock, 50 % x 20,000 = 10,000, paid
    on delivery; fixed costs 2,000; A starts with 500 in cash. Obligations 12,000 against
    10,500 available: a working-capital gap of 1,500.
    """
    season = [1.0] * 12
    season[1] = 2.0
    table = sectors(
        shop={
            "cogs_ratio": 0.5,
            "seasonality": season,
            "network_purchase_share": 1.0,
            "supplier_sectors": ["wholesale"],
        },
        wholesale={},
    )
    f = FirmState.blank(2, n_edges=1)
    f.sector[:] = [0, 1]
    f.revenue_base_cny[:] = [10_000.0, 0.0]
    f.fixed_cost_cny[:] = [2_000.0, 0.0]
    f.cash_cny[:] = [500.0, 0.0]
    net = SupplyNetwork.from_edges(2, [0], [1], [1.0])
    return f, net, table


def lenders(card_enabled: bool = True) -> Channels:
    card = ChannelConfig(
        enabled=card_enabled,
        apr=PLATFORM_APR + SPREAD,
        max_pd_12m=1.0,
        max_dpd=0,
        limit_multiple=10.0,
        max_limit_cny=1e6,
        for_firms=True,
    )
    cfg = ChannelsConfig(
        order=["own_cash", "platform", "credit_card"], lenders={"credit_card": card}
    )
    return Channels(cfg, n_borrowers=2)


def info(n: int = 2) -> CreditInfo:
    return CreditInfo.per_borrower(
        pd_12m=np.full(n, 0.01),
        dpd=np.zeros(n, dtype=np.int32),
        history_months=np.full(n, 60),
        income_base_cny=np.full(n, 10_000.0),
        firm_age_months=np.full(n, 24),
        firm_revenue_cny=np.full(n, 10_000.0),
    )


def peak_month(platform_available: float, card_enabled: bool = True):
    f, net, table = peak_world()
    d = no_shocks(2)
    fm = operate(
        f, net, table, d, step=1, calendar_month=1, stock_lead_months=1, revenue_persistence=0.0
    )
    ch = lenders(card_enabled)
    ff = fund_firms(
        fm.gap_cny,
        owners=f.owner,
        owner_spare_cny=np.zeros(2),
        platform_available_cny=np.array([platform_available, 0.0]),
        channels=ch,
        info=info(),
        step=1,
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
    return f, fm, ff, st, ch


def test_peak_gap_with_an_ample_platform_limit_is_funded_at_the_platform_apr():
    f, fm, ff, st, ch = peak_month(platform_available=50_000.0)
    assert fm.purchases_cny[0] == 10_000.0
    assert fm.obligations_cny[0] == 12_000.0
    assert fm.gap_cny.tolist() == [1_500.0, 0.0]
    assert ff.by_step["platform"][0] == 1_500.0 and ff.unmet_cny[0] == 0.0
    apr = balance_weighted_apr(
        [ff.by_step["platform"], ff.by_step["credit_card"]], [PLATFORM_APR, ch.apr[0]]
    )
    assert apr[0] == pytest.approx(PLATFORM_APR)
    assert st.late_supplier_payments_cny[0] == 0.0 and not f.in_shortfall[0]
    assert st.network_receipts_cny[1] == 10_000.0  # the wholesaler is paid in full
    assert f.is_open.all() and f.cash_cny[0] == 0.0


def test_peak_gap_after_a_cut_to_zero_goes_to_a_costlier_channel_at_the_spread():
    f, fm, ff, st, ch = peak_month(platform_available=0.0)
    assert ff.by_step["platform"][0] == 0.0
    assert ff.by_step["credit_card"][0] == 1_500.0
    apr = balance_weighted_apr(
        [ff.by_step["platform"], ff.by_step["credit_card"]], [PLATFORM_APR, ch.apr[0]]
    )
    assert apr[0] == pytest.approx(PLATFORM_APR + SPREAD)  # the effective APR rises by the spread
    assert st.network_receipts_cny[1] == 10_000.0 and f.is_open.all()
    # Serviced like the platform's line: 1,500 x 20.6 % / 12 = 25.75 of interest.
    ch.service(step=1)
    assert ch.month.interest_cny[0] == pytest.approx(25.75)
    assert ch.book(0).balance_cny[0] == pytest.approx(1_525.75)


def test_peak_gap_with_no_channel_is_paid_late_and_the_supplier_collects_exactly_that_less():
    _, _, _, funded_st, _ = peak_month(platform_available=50_000.0)
    f, fm, ff, st, _ = peak_month(platform_available=0.0, card_enabled=False)
    assert ff.unmet_cny[0] == 1_500.0 and st.unmet_gap_cny[0] == 1_500.0
    assert st.fixed_paid_cny[0] == 2_000.0  # wages and rent first
    assert st.supplier_paid_network_cny[0] == 8_500.0
    assert st.late_supplier_payments_cny[0] == 1_500.0
    assert f.in_shortfall[0] and f.shortfall_months[0] == 1
    drop = funded_st.network_receipts_cny[1] - st.network_receipts_cny[1]
    assert drop == pytest.approx(st.late_supplier_payments_cny[0])  # exactly the missed amount
    assert f.edge_overdue_cny[0] == 1_500.0  # still owed, due next month


# --------------------------------------------------------------------------- contagion


def test_contagion_along_a_three_firm_chain_by_hand():
    """A buys from B, B from C, on delivery; all sales in cash; no fixed costs.

    A sells 10,000 a month and buys half of that from B (5,000). B sells only to A and
    buys from C at cost (cogs 100 %, on last month's sales: 5,000). C buys nothing.
    In month 1 a shock cuts A's sales to 4,000: A pays B 4,000 (1,000 late). B, paid
    4,000, enters month 2 with 4,000 against 5,000 due: it pays C 4,000 (1,000 late).
    In month 2 A pays its arrears (6,000); in month 3 B pays its arrears (6,000).

    | month | A pays B | B pays C | late A | late B |
    | 1     | 4,000    | 5,000    | 1,000  | 0      |
    | 2     | 6,000    | 4,000    | 0      | 1,000  |
    | 3     | 5,000    | 6,000    | 0      | 0      |
    """
    table = sectors(
        shop={"cogs_ratio": 0.5, "network_purchase_share": 1.0, "supplier_sectors": ["wholesale"]},
        wholesale={"cogs_ratio": 1.0, "network_purchase_share": 1.0, "supplier_sectors": ["maker"]},
        maker={},
    )
    f = FirmState.blank(3, n_edges=2)
    f.sector[:] = [0, 1, 2]
    f.revenue_base_cny[:] = [10_000.0, 0.0, 0.0]
    f.network_sales_cny[:] = [0.0, 5_000.0, 0.0]  # B sold 5,000 to A last month
    f.cash_cny[:] = [0.0, 5_000.0, 0.0]
    net = SupplyNetwork.from_edges(3, [0, 1], [1, 2], [1.0, 1.0])
    shock = np.array([np.log(0.4) + 0.5, 0.0, 0.0])  # exp(z - 1/2) = 0.4 with sigma = 1
    table = dataclasses.replace(table, revenue_sigma=np.array([1.0, 0.0, 0.0]))
    paid, late, cash = [], [], []
    normal = np.array([0.5, 0.0, 0.0])  # exp(z - 1/2) = 1
    for step, z in ((1, shock), (2, normal), (3, normal)):
        _, st = one_month(f, net, table, step, draws=no_shocks(3, z=z))
        paid.append(st.supplier_paid_network_cny[:2].tolist())
        late.append(st.late_supplier_payments_cny[:2].tolist())
        cash.append(f.cash_cny.tolist())
        assert st.network_receipts_cny[1:].tolist() == st.supplier_paid_network_cny[:2].tolist()
    assert paid == [[4_000.0, 5_000.0], [6_000.0, 4_000.0], [5_000.0, 6_000.0]]
    assert late == [[1_000.0, 0.0], [0.0, 1_000.0], [0.0, 0.0]]
    # C's collections fall by exactly B's late payment in month 2, and recover in month 3.
    assert [c[2] for c in cash] == [5_000.0, 9_000.0, 15_000.0]
    assert [c[1] for c in cash] == [4_000.0, 6_000.0, 5_000.0]
    assert f.is_open.all()


# --------------------------------------------------------------------------- closures


@pytest.mark.parametrize("limit", [1, 3, 4])
def test_closure_exactly_at_the_configured_shortfall_limit(limit):
    # No sales, 1,000 of fixed costs a month, no cash: in shortfall every month.
    table = sectors(shop={})
    f = FirmState.blank(1)
    f.fixed_cost_cny[:] = 1_000.0
    net = SupplyNetwork.from_edges(1, [], [], [])
    for step in range(1, limit + 2):
        _, st = one_month(f, net, table, step, close_after=limit)
        if step < limit:
            assert f.is_open[0] and f.shortfall_months[0] == step
        elif step == limit:
            assert st.new_closure[0] and st.closure_cause[0] == ClosureCause.SHORTFALL
            assert f.closed_step[0] == limit and not f.is_open[0]
            assert st.fixed_written_off_cny[0] == 1_000.0 * limit  # the arrears are lost
        else:
            assert not st.new_closure[0]  # closes once
    assert f.closure_cause[0] == ClosureCause.SHORTFALL


def test_shortfall_counter_resets_after_a_month_paid_in_full():
    table = sectors(shop={})
    f = FirmState.blank(1)
    f.fixed_cost_cny[:] = 1_000.0
    net = SupplyNetwork.from_edges(1, [], [], [])
    one_month(f, net, table, 1)
    one_month(f, net, table, 2)
    assert f.shortfall_months[0] == 2
    one_month(f, net, table, 3, funding=np.array([3_000.0]))  # pays 1,000 x 2 arrears + 1,000
    assert f.shortfall_months[0] == 0 and f.fixed_arrears_cny[0] == 0.0
    one_month(f, net, table, 4)
    one_month(f, net, table, 5)
    assert f.is_open[0]  # two months, not three


def test_exit_winds_up_pays_what_it_can_and_suppliers_lose_the_rest():
    # A buys 5,000 from B on 30-day terms (due next month), sells 3,000 in cash, then
    # exits: it pays B 3,000 of the 5,000 it owes; B's bad debt is 2,000.
    table = sectors(
        shop={
            "cogs_ratio": 0.5,
            "network_purchase_share": 1.0,
            "supplier_sectors": ["wholesale"],
            "payable_terms_months": 1,
        },
        wholesale={},
    )
    f = FirmState.blank(2, n_edges=1)
    f.sector[:] = [0, 1]
    f.revenue_base_cny[:] = [10_000.0, 0.0]
    net = SupplyNetwork.from_edges(2, [0], [1], [1.0])
    z = np.array([np.log(0.3) + 0.5, 0.0])
    table = dataclasses.replace(table, revenue_sigma=np.array([1.0, 0.0]))
    _, st = one_month(
        f, net, table, 1, draws=no_shocks(2, z=z, u_exit=np.array([0.0, 1.0])), hazard=0.5
    )
    assert st.new_closure.tolist() == [True, False]
    assert st.closure_cause[0] == ClosureCause.EXIT
    assert st.edge_paid_cny[0] == 3_000.0
    assert st.supplier_bad_debt_cny.tolist() == [0.0, 2_000.0]
    assert st.network_receipts_cny[1] == 3_000.0
    assert f.edge_payables_cny.sum() == 0.0 and f.cash_cny[0] == 0.0


def test_closed_firm_collects_receivables_for_its_owner_and_trades_no_more():
    table = sectors(shop={"credit_sales_share": 1.0, "receivable_terms_months": 2})
    f = FirmState.blank(1)
    f.revenue_base_cny[:] = 1_000.0
    f.target_buffer_days[:] = 1e6  # keep the cash in the firm while open
    net = SupplyNetwork.from_edges(1, [], [], [])
    one_month(f, net, table, 1)
    assert f.receivables_total_cny[0] == 1_000.0  # due in month 3
    one_month(f, net, table, 2, draws=no_shocks(1, u_exit=np.array([0.0])), hazard=1.0)
    assert not f.is_open[0] and f.receivables_total_cny[0] == 2_000.0
    assert pay_owner_draws(f, 1.0)[0] == 0.0
    fm, _ = one_month(f, net, table, 3)
    assert fm.outside_sales_cny[0] == 0.0 and fm.purchases_cny[0] == 0.0
    assert fm.collections_cny[0] == 1_000.0
    assert pay_owner_draws(f, 1.0)[0] == 1_000.0  # a closed firm's cash goes to its owner


# --------------------------------------------------------------------------- seasons


def test_seasonal_peaks_and_the_platform_lookahead():
    season = [1.0] * 12
    season[10] = 1.5  # November (11.11)
    season[5] = 1.12  # June (618), below the 1.15 threshold
    table = sectors(shop={"seasonality": season})
    assert table.season(11)[0] == 1.5
    assert table.season(23)[0] == 1.5  # months wrap around the year
    assert table.season(6, peak_multiplier=1.5)[0] == pytest.approx(1.18)  # 1 + 1.5 x 0.12
    assert table.season(1, peak_multiplier=1.5)[0] == 1.0  # troughs and flat months unchanged
    flags = {m: bool(table.peak_ahead(m, 2, 1.15)[0]) for m in range(1, 13)}
    assert [m for m, v in flags.items() if v] == [9, 10]
    assert bool(table.peak_ahead(4, 2, 1.15, peak_multiplier=1.5)[0])  # 618 becomes a peak


def test_model_firm_signals_flag_owners_before_their_peak():
    from sim.model import CreditMarketModel
    from tests.conftest import make_run

    model = CreditMarketModel(
        make_run("population.n_borrowers=600", "scenario.start_calendar_month=9")
    )
    model.step()  # September: retail's November 11.11 peak is within two months
    sig = firm_signals(model.world, model.macro.calendar_month)
    f = model.firms
    retail = model.sectors.names.index("retail")
    owners = f.owner[(f.sector == retail) & f.is_open]
    assert sig["owns_firm"][owners].all() and sig["peak_ahead"][owners].all()
    assert sig["owns_firm"].sum() == f.is_open.sum()
    np.testing.assert_allclose(
        sig["cash_buffer_days"][f.owner[f.is_open]], f.buffer_days[f.is_open]
    )
    assert np.isnan(sig["cash_buffer_days"][~sig["owns_firm"]]).all()
    view = model.platform.portfolio_view(model.world, this_month(model))
    assert view.owns_firm.sum() == f.is_open.sum()


def _with_changes(values: dict, changes: dict) -> dict:
    """``values`` with the nested ``changes`` applied (lists and scalars replaced)."""
    out = dict(values)
    for key, value in changes.items():
        out[key] = _with_changes(values.get(key, {}), value) if isinstance(value, dict) else value
    return out


def test_config_errors_name_the_field():
    from sim.config import to_run_config
    from sim.runtime.compose import compose_config

    conf = OmegaConf.to_container(compose_config(), resolve=True)

    def check(changes: dict) -> None:
        to_run_config(_with_changes(conf, changes))

    check({})  # conf/ itself is valid
    with pytest.raises(ValueError, match=r"firms\.sectors\.retail\.cogs_ratio"):
        check({"firms": {"sectors": {"retail": {"cogs_ratio": 1.5}}}})
    with pytest.raises(ValueError, match=r"channels\.order names unknown step"):
        check({"channels": {"order": ["own_cash", "platform", "loan_shark"]}})
    with pytest.raises(ValueError, match=r"channels\.lenders\.informal\.limit_basis"):
        check({"channels": {"lenders": {"informal": {"limit_basis": "assets"}}}})
    with pytest.raises(TypeError, match=r"firms\.sectors\.retail: unknown key"):
        check({"firms": {"sectors": {"retail": {"colour": 1}}}})
