"""Firm settlement compiled: the kernel against the per-firm reference and NumPy.

On random small worlds (Hypothesis) the three implementations of
:func:`sim.world.firms.settle` give the same bits in every output and every state array;
the kernel gives the same bits with one and two threads; and a buyer's closing month
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
from sim.world.draws import FirmDraws
from sim.world.firms import ClosureCause, ExitModel, FirmMonth, FirmState, operate, settle
from sim.world.firms.settlement import Settlement
from sim.world.network import SupplyNetwork
from tests.stage_oracle import on_one_and_two_threads
from tests.world.test_kernels_firms import _world as _operating_world


def _world(seed: int, n: int, views: bool) -> tuple:
    """A firm month after ``operate`` (NumPy), with random settlement inputs."""
    f, net, table, draws, kwargs = _operating_world(seed, n, views)
    rng = np.random.default_rng(seed + 1)
    with using("numpy"):
        month = operate(f, net, table, draws, **kwargs)
    # Funding: none, part of or more than the gap; a few whole-cent rounding cases.
    funding = np.round(month.gap_cny * rng.choice([0.0, 0.5, 1.0, 1.2], n), 2)
    f.shortfall_months = rng.integers(0, 4, n).astype(np.int16)
    f.shortfall_memory = rng.uniform(0.0, 3.0, n)
    f.buffer_days = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0.0, 40.0, n))
    f.age_months = rng.integers(0, 60, n).astype(np.int32)
    f.target_buffer_days = rng.uniform(0.0, 60.0, n)
    model = None
    if rng.random() < 0.8:
        model = ExitModel(
            nonfinancial=float(rng.uniform(0.0, 0.1)),
            young_excess=float(rng.uniform(0.0, 2.0)),
            young_decay_months=float(rng.uniform(1.0, 30.0)),
            low_buffer_days=float(rng.uniform(1.0, 15.0)),
            w_buffer=float(rng.uniform(0.0, 0.5)),
            w_shortfall=float(rng.uniform(0.0, 0.3)),
            w_unpaid=float(rng.uniform(0.0, 0.3)),
            w_default=float(rng.uniform(0.0, 0.5)),
        )
    args = {
        "step": kwargs["step"],
        "close_after_shortfall_months": int(rng.integers(1, 5)),
        "exit_hazard_monthly": float(rng.uniform(0.0, 0.3)),
        "exit_model": model,
        "owner_defaulted": rng.random(n) < 0.2 if rng.random() < 0.7 else None,
        "shortfall_memory_decay": float(rng.uniform(0.0, 1.0)),
    }
    draws = dataclasses.replace(draws, u_exit=rng.random(n))
    return f, net, month, funding, draws, args


def _run(name: str, world: tuple) -> tuple[FirmState, Settlement]:
    f, net, month, funding, draws, args = copy.deepcopy(world)
    with using(name):
        out = settle(f, net, month, funding, draws, **args)
    return f, out


def _bits(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def _assert_same(a: tuple, b: tuple, what: str) -> None:
    """Every output and every state array of ``a`` and ``b`` identical, bit for bit."""
    (fa, sa), (fb, sb) = a, b
    for record, other, kind in ((sa, sb, Settlement), (fa, fb, FirmState)):
        for field in dataclasses.fields(kind):
            x, y = getattr(record, field.name), getattr(other, field.name)
            assert x.dtype == y.dtype and x.shape == y.shape, f"{what}: {field.name}"
            assert _bits(x) == _bits(y), f"{what}: {field.name} {x} != {y}"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(0, 12), views=st.booleans())
def test_compiled_reference_and_numpy_give_the_same_bits(seed: int, n: int, views: bool) -> None:
    world = _world(seed, n, views)
    compiled = _run("compiled", world)
    _assert_same(compiled, _run("reference", world), "compiled vs reference")
    _assert_same(compiled, _run("numpy", world), "compiled vs numpy")


def test_a_larger_world_gives_the_same_bits_in_all_three() -> None:
    world = _world(78, 6_000, views=True)
    compiled = _run("compiled", world)
    _assert_same(compiled, _run("numpy", world), "compiled vs numpy")
    _assert_same(compiled, _run("reference", world), "compiled vs reference")
    settled = compiled[1]
    assert settled.new_closure.sum() > 50  # closures, winding-up and bad debts were met
    assert settled.supplier_bad_debt_cny.sum() > 0
    assert (settled.supplier_paid_outside_cny > 0).sum() > 1_000


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one core: one thread only")
def test_one_and_two_threads_give_the_same_bits() -> None:
    world = _world(2025, 6_000, views=True)
    one, two = on_one_and_two_threads(lambda: _run("compiled", world))
    _assert_same(one, two, "1 vs 2 threads")
    assert one[1].network_receipts_cny.sum() > 0  # the network (the serial sum) was used


@pytest.mark.parametrize("name", ["compiled", "reference", "numpy"])
def test_a_closing_buyer_and_its_supplier_by_hand(name: str) -> None:
    # Buyer 0 has 980 cash + 100 funding against 200 fixed costs, 300 due outside and 500
    # due to supplier 1: all paid, 80 left. Its exit draw (0 < 0.5) closes it: it still
    # owes 1,000 outside and 400 to the supplier (payables not yet due), and pays
    # 80 / 1,400 of each, rounded down to the cent; the rest is written off.
    net = SupplyNetwork.from_edges(2, [0], [1], [1.0])
    f = FirmState.blank(2, net.n_edges)
    f.payables_cny[2, 0] = 1_000.0
    f.edge_payables_cny[3, 0] = 400.0
    month = _month()
    draws = FirmDraws(
        z_persistent=np.zeros(2), z_transitory=np.zeros(2), u_exit=np.array([0.0, 1.0])
    )
    with using(name):
        s = settle(
            f, net, month, np.array([100.0, 0.0]), draws, step=7,
            close_after_shortfall_months=3, exit_hazard_monthly=0.5,
        )  # fmt: skip
    assert s.fixed_paid_cny.tolist() == [200.0, 0.0]
    assert s.new_closure.tolist() == [True, False]
    assert s.closure_cause.tolist() == [int(ClosureCause.EXIT), 0]
    # 80 / 1,400 = 0.0571428...: 1,000 x that = 57.14 (down), 400 x that = 22.85 (down).
    assert s.supplier_paid_outside_cny.tolist() == [300.0 + 57.14, 0.0]
    assert s.edge_paid_cny.tolist() == [500.0 + 22.85]
    assert s.written_off_outside_cny.tolist() == [942.86, 0.0]
    assert s.supplier_bad_debt_cny.tolist() == [0.0, 377.15]
    assert s.network_receipts_cny.tolist() == [0.0, 522.85]
    assert f.cash_cny.tolist() == [0.01, 1_522.85]  # 80 - 57.14 - 22.85; 1,000 + receipts
    assert f.is_open.tolist() == [False, True]
    assert f.closed_step.tolist() == [7, -1]
    assert f.payables_cny[:, 0].tolist() == [0.0] * 4
    assert f.edge_payables_cny[:, 0].tolist() == [0.0] * 4
    assert f.age_months.tolist() == [1, 1]
    assert s.unmet_gap_cny.tolist() == [0.0, 0.0]
    assert s.late_supplier_payments_cny.tolist() == [0.0, 0.0]


def _month() -> FirmMonth:
    zero = np.zeros(2)
    return FirmMonth(
        outside_sales_cny=zero,
        network_sales_cny=np.array([0.0, 500.0]),
        collections_cny=zero,
        purchases_cny=zero,
        fixed_due_cny=np.array([200.0, 0.0]),
        supplier_due_outside_cny=np.array([300.0, 0.0]),
        edge_due_cny=np.array([500.0]),
        supplier_due_network_cny=np.array([500.0, 0.0]),
        new_supplier_due_cny=np.array([800.0, 0.0]),
        obligations_cny=np.array([1_000.0, 0.0]),
        cash_available_cny=np.array([980.0, 1_000.0]),
        gap_cny=np.array([100.0, 0.0]),
    )
