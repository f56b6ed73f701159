"""Stage ``enterprise`` compiled: the kernel against the per-firm reference and NumPy.

On random small worlds (Hypothesis) the three implementations of
:func:`sim.world.firms.operate` give the same bits in every output and every state
array; the kernel gives the same bits with one and two threads; and a two-firm month
computed by hand.
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
from sim.config import FirmsConfig, SectorConfig
from sim.world.draws import FirmDraws
from sim.world.firms import FirmMonth, FirmState, SectorTable, operate
from sim.world.firms.state import RING_MONTHS
from sim.world.network import SupplyNetwork
from tests.stage_oracle import on_one_and_two_threads

SECTOR = {
    "revenue_size_sigma": 0.0,
    "supplier_sectors": [],
    "seasonality": [1.0] * 12,
}


def _table(rng: np.random.Generator, n_sectors: int) -> SectorTable:
    specs = {
        f"s{k}": SectorConfig(
            **SECTOR,
            revenue_sigma=float(rng.uniform(0.0, 0.4)),
            persistent_sigma=float(rng.uniform(0.0, 0.3)),
            cogs_ratio=float(rng.uniform(0.0, 0.9)),
            credit_sales_share=float(rng.uniform(0.0, 1.0)),
            receivable_terms_months=int(rng.integers(0, 4)),
            payable_terms_months=int(rng.integers(0, 4)),
            network_purchase_share=float(rng.uniform(0.0, 1.0)),
        )
        for k in range(n_sectors)
    }
    table = SectorTable.from_config(FirmsConfig(sectors=specs))
    season = np.round(rng.uniform(0.6, 1.6, (n_sectors, 12)), 2)
    return dataclasses.replace(table, seasonality=season)


def _cents(rng: np.random.Generator, size: int | tuple, top: float) -> np.ndarray:
    return rng.integers(0, int(top * 100), size) / 100.0


def _world(seed: int, n: int, views: bool) -> tuple:
    """A random world of ``n`` firms: state, network, sectors, draws, month arguments."""
    rng = np.random.default_rng(seed)
    table = _table(rng, int(rng.integers(1, 4)))
    k = int(rng.integers(0, 3 * n + 1)) if n > 1 else 0
    buyers = rng.integers(0, max(n, 1), k)
    suppliers = (buyers + rng.integers(1, max(n, 2), k)) % max(n, 1)
    net = SupplyNetwork.from_edges(n, buyers, suppliers, rng.uniform(0.1, 5.0, k))
    window = int(rng.integers(1, 5))
    f = FirmState.blank(n, net.n_edges, outflow_window_months=window)
    f.sector = rng.integers(0, len(table.names), n).astype(np.int8)
    f.is_open = rng.random(n) < 0.8
    f.revenue_base_cny = rng.uniform(0.0, 50_000.0, n)
    f.fixed_cost_cny = _cents(rng, n, 8_000.0)
    f.persistent_log = rng.normal(0.0, 0.3, n)
    f.cash_cny = _cents(rng, n, 30_000.0)
    f.network_sales_cny = _cents(rng, n, 20_000.0) * (rng.random(n) < 0.5)
    f.stock_prebought_cny = _cents(rng, n, 10_000.0) * (rng.random(n) < 0.3)
    f.overdue_cny = _cents(rng, n, 3_000.0) * (rng.random(n) < 0.3)
    f.fixed_arrears_cny = _cents(rng, n, 3_000.0) * (rng.random(n) < 0.3)
    f.edge_overdue_cny = _cents(rng, net.n_edges, 2_000.0) * (rng.random(net.n_edges) < 0.3)
    rings = {
        "receivables_cny": (RING_MONTHS, n),
        "payables_cny": (RING_MONTHS, n),
        "edge_payables_cny": (RING_MONTHS, net.n_edges),
        "outflow_hist_cny": (window, n),
    }
    for name, (rows, cols) in rings.items():
        values = _cents(rng, (rows, cols), 10_000.0)
        if views:  # as after firm entry: a prefix view of a wider buffer (sim.rows)
            buffer = np.zeros((rows, 2 * cols + 3))
            buffer[:, :cols] = values
            values = buffer[:, :cols]
        setattr(f, name, values)
    draws = FirmDraws(
        z_persistent=rng.standard_normal(n),
        z_transitory=rng.standard_normal(n),
        u_exit=rng.random(n),
    )
    kwargs = {
        "step": int(rng.integers(1, 40)),
        "calendar_month": int(rng.integers(1, 13)),
        "stock_lead_months": int(rng.integers(0, 3)),
        "revenue_persistence": float(rng.uniform(0.0, 0.95)),
        "peak_multiplier": float(rng.uniform(0.5, 2.0)),
        "peak_months": rng.random((len(table.names), 12)) < 0.3,
        "peak_prebuy_months": int(rng.integers(0, 3)),
    }
    return f, net, table, draws, kwargs


def _run(name: str, world: tuple) -> tuple[FirmState, FirmMonth]:
    f, net, table, draws, kwargs = copy.deepcopy(world)
    with using(name):
        month = operate(f, net, table, draws, **kwargs)
    return f, month


def _bits(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def _assert_same(a: tuple, b: tuple, what: str) -> None:
    """Every output and every state array of ``a`` and ``b`` identical, bit for bit."""
    (fa, ma), (fb, mb) = a, b
    for field in dataclasses.fields(FirmMonth):
        x, y = getattr(ma, field.name), getattr(mb, field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f"{what}: month.{field.name}"
        assert _bits(x) == _bits(y), f"{what}: month.{field.name} {x} != {y}"
    for field in dataclasses.fields(FirmState):
        x, y = getattr(fa, field.name), getattr(fb, field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f"{what}: firms.{field.name}"
        assert _bits(x) == _bits(y), f"{what}: firms.{field.name} {x} != {y}"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 12), views=st.booleans())
def test_compiled_reference_and_numpy_give_the_same_bits(seed: int, n: int, views: bool) -> None:
    world = _world(seed, n, views)
    compiled = _run("compiled", world)
    _assert_same(compiled, _run("reference", world), "compiled vs reference")
    _assert_same(compiled, _run("numpy", world), "compiled vs numpy")


def test_a_larger_world_gives_the_same_bits_in_all_three() -> None:
    # 6,000 firms over a few hundred suppliers' edges: many more combinations of terms,
    # closed suppliers, pre-buys and overdue edges than the small worlds draw.
    world = _world(77, 6_000, views=True)
    compiled = _run("compiled", world)
    _assert_same(compiled, _run("numpy", world), "compiled vs numpy")
    _assert_same(compiled, _run("reference", world), "compiled vs reference")


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one core: one thread only")
def test_one_and_two_threads_give_the_same_bits() -> None:
    world = _world(2024, 6_000, views=True)
    one, two = on_one_and_two_threads(lambda: _run("compiled", world))
    _assert_same(one, two, "1 vs 2 threads")
    assert one[1].network_sales_cny.sum() > 0  # the network (the serial sum) was used


@pytest.mark.parametrize("name", ["compiled", "reference", "numpy"])
def test_a_buyer_and_its_supplier_by_hand(name: str) -> None:
    # Buyer 0 ("shop"): base 10,000, no shocks, a quarter sold on 1-month credit; stock
    # = 50 % of the sales a month ahead (+ its last network sales, 0), 40 % of it from
    # the network: 5,000 bought, 2,000 from supplier 1 and 3,000 outside, paid on
    # delivery; fixed 1,500 + 2,000 in arrears. Supplier 1 ("mill", open, 20 % cogs)
    # sells the 2,000.
    specs = {
        "shop": SectorConfig(
            **SECTOR,
            revenue_sigma=0.0,
            persistent_sigma=0.0,
            cogs_ratio=0.5,
            credit_sales_share=0.25,
            receivable_terms_months=1,
            payable_terms_months=0,
            network_purchase_share=0.4,
        ),
        "mill": SectorConfig(
            **SECTOR,
            revenue_sigma=0.0,
            persistent_sigma=0.0,
            cogs_ratio=0.2,
            credit_sales_share=0.0,
            receivable_terms_months=0,
            payable_terms_months=2,
            network_purchase_share=0.0,
        ),
    }
    table = SectorTable.from_config(FirmsConfig(sectors=specs))
    net = SupplyNetwork.from_edges(2, [0], [1], [1.0])
    f = FirmState.blank(2, net.n_edges)
    f.sector[:] = [0, 1]
    f.revenue_base_cny[:] = [10_000.0, 4_000.0]
    f.fixed_cost_cny[:] = [1_500.0, 500.0]
    f.cash_cny[:] = [100.0, 50.0]
    f.receivables_cny[1, 0] = 600.0  # falls due at step 5 (slot 5 % 4 = 1)
    f.overdue_cny[0] = 250.0
    f.fixed_arrears_cny[0] = 2_000.0
    f.edge_overdue_cny[0] = 70.0
    zero = np.zeros(2)
    draws = FirmDraws(z_persistent=zero, z_transitory=zero, u_exit=np.ones(2))
    with using(name):
        m = operate(
            f, net, table, draws, step=5, calendar_month=5, stock_lead_months=1,
            revenue_persistence=0.0,
        )  # fmt: skip
    assert m.outside_sales_cny.tolist() == [10_000.0, 4_000.0]
    # Cash sales 7,500 + the 600 due now; the mill sells for cash.
    assert m.collections_cny.tolist() == [8_100.0, 4_000.0]
    assert f.receivables_cny[2, 0] == 2_500.0  # due at step 6
    assert m.purchases_cny.tolist() == [5_000.0, 800.0]
    assert m.edge_due_cny.tolist() == [2_070.0]  # 2,000 on delivery + 70 overdue
    assert m.network_sales_cny.tolist() == [0.0, 2_000.0]
    assert f.revenue_cny.tolist() == [10_000.0, 6_000.0]
    assert m.supplier_due_outside_cny.tolist() == [3_250.0, 0.0]  # mill pays in 2 months
    assert f.payables_cny[(5 + 2) % 4, 1] == 800.0
    assert m.supplier_due_network_cny.tolist() == [2_070.0, 0.0]
    assert m.fixed_due_cny.tolist() == [3_500.0, 500.0]
    assert m.obligations_cny.tolist() == [3_500.0 + 3_250.0 + 2_070.0, 500.0]
    # Shop: 100 + 8,100 = 8,200 against 8,820 due: a gap of 620; the mill has 4,050.
    assert m.cash_available_cny.tolist() == [8_200.0, 4_050.0]
    assert m.gap_cny.tolist() == [620.0, 0.0]
    assert f.outflow_hist_cny[5 % 3].tolist() == [6_500.0, 1_300.0]
