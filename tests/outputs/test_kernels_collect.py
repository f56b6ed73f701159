"""The compiled collection (sim.outputs.collect_kernel) against NumPy and the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import CreditMarketModel
from sim.compiled import set_threads, threads, using
from sim.outputs.collect_kernel import (
    liquidity_days_kernel,
    transition_counts_kernel,
    window_default_counts_kernel,
)
from sim.outputs.collect_reference import (
    borrower_totals_reference,
    liquidity_days_reference,
    pairwise_sum,
    transition_counts_reference,
    window_default_counts_reference,
)
from sim.outputs.firm_metrics import liquidity_buffer_days
from sim.outputs.pairwise_kernel import combine_leaves, pairwise_leaves
from sim.outputs.recorder import transition_counts
from sim.outputs.totals import borrower_totals_compiled, borrower_totals_numpy
from sim.units import N_BUCKETS
from tests.conftest import make_run

SIZES = st.one_of(st.integers(0, 300), st.sampled_from([1023, 1024, 1025, 4097, 20_011]))


def _bits(x: float) -> bytes:
    return np.float64(x).tobytes()


def _compiled_totals(x: dict) -> dict:
    return borrower_totals_compiled(**x)


def random_book(seed: int, n: int) -> dict:
    """Borrower arrays drawn at random: zero limits, closed and charged-off lines included."""
    rng = np.random.default_rng(seed)

    def money(scale: float) -> np.ndarray:
        x = np.round(rng.lognormal(np.log(scale), 2.0, n), 2)
        return np.where(rng.random(n) < 0.2, 0.0, x)

    defaulted = rng.random(n) < 0.15
    return {
        "balance": money(3_000.0),
        "limit": money(8_000.0),
        "pd_12m": rng.random(n),
        "savings": money(20_000.0),
        "missed": rng.integers(0, 6, n).astype(np.int16),
        "defaulted": defaulted,
        "closed": rng.random(n) < 0.1,
        "charged_off": defaulted & (rng.random(n) < 0.5),
        "employed": rng.random(n) < 0.9,
        "lenders": rng.integers(0, 5, n).astype(np.int16),
        "sole": rng.random(int(rng.integers(0, n + 1))) < 0.3,
        "new_default": rng.random(n) < 0.05,
        "ccf": float(rng.choice([0.0, 0.2, 0.75])),
        "lgd": float(rng.uniform(0.3, 1.0)),
    }


def assert_same(a: dict, b: dict, what: str) -> None:
    assert list(a) == list(b), what
    for k in a:
        assert type(a[k]) is type(b[k]) or isinstance(a[k], int), (what, k)
        assert _bits(a[k]) == _bits(b[k]), (what, k, a[k], b[k])


@settings(max_examples=40, deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**32 - 1))
def test_pairwise_blocks_add_up_to_numpy_sum(n, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 9, n)
    starts, sizes = pairwise_leaves(n)
    assert sizes.sum() == n and (np.diff(starts) == sizes[:-1]).all()
    # Each block summed as NumPy sums up to 128 values (np.sum of the block itself).
    leaf = np.array([[x[a : a + m].sum()] for a, m in zip(starts, sizes, strict=True)])
    assert _bits(combine_leaves(leaf.reshape(-1, 1), n)[0]) == _bits(x.sum())
    assert _bits(pairwise_sum(x.tolist())) == _bits(x.sum())


@settings(max_examples=40, deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**32 - 1))
def test_borrower_totals_compiled_equals_reference_and_numpy(n, seed) -> None:
    x = random_book(seed, n)
    numpy_out = borrower_totals_numpy(**x)
    assert_same(borrower_totals_reference(**x), numpy_out, "reference")
    assert_same(_compiled_totals(x), numpy_out, "compiled")


def test_borrower_totals_hand_computed() -> None:
    # Row 0: open, 100 drawn of 400, 1 miss; row 1: defaulted, charged off, 3 misses;
    # row 2: open, no limit, a sole trader with 4 misses (90+ DPD, on the book).
    x = {
        "balance": np.array([100.0, 50.0, 30.0]),
        "limit": np.array([400.0, 200.0, 0.0]),
        "pd_12m": np.array([0.1, 0.9, 0.5]),
        "savings": np.array([10.0, 20.0, 40.0]),
        "missed": np.array([1, 3, 4], dtype=np.int16),
        "defaulted": np.array([False, True, False]),
        "closed": np.zeros(3, dtype=bool),
        "charged_off": np.array([False, True, False]),
        "employed": np.array([True, False, True]),
        "lenders": np.array([2, 1, 0], dtype=np.int16),
        "sole": np.array([False, False, True]),
        "new_default": np.array([False, True, False]),
        "ccf": 0.5,
        "lgd": 0.6,
    }
    for out in (borrower_totals_numpy(**x), borrower_totals_reference(**x), _compiled_totals(x)):
        assert out["balance"] == 180.0 and out["limit"] == 600.0
        assert out["ead"] == (100.0 + 0.5 * 300.0) + 30.0  # the defaulted line has none
        assert out["expected_loss"] == pytest.approx(0.1 * 0.6 * 250.0 + 0.5 * 0.6 * 30.0)
        assert out["utilisation"] == 0.25  # 100 / 400; no limit counts 0
        assert out["dpd30_balance"] == 130.0 and out["dpd90_balance"] == 30.0
        assert out["open_pd"] == pytest.approx(0.6) and out["open_savings"] == 50.0
        assert out["sole_balance"] == 30.0 and out["sole_dpd90_balance"] == 30.0
        assert (out["n_open"], out["n_with_limit"], out["n_indebted"]) == (2, 1, 1)
        assert (out["n_multi_lender"], out["n_lender_slots"], out["n_dpd90"]) == (1, 2, 1)
        assert (out["n_sole"], out["n_new_default"], out["n_employed"]) == (1, 1, 2)


def test_borrower_pass_one_and_two_threads_identical() -> None:
    x = random_book(7, 50_000)
    before = threads()
    try:
        set_threads(1)
        one = _compiled_totals(x)
        set_threads(2)
        two = _compiled_totals(x)
    finally:
        set_threads(before)
    assert_same(one, two, "threads")


def random_firms(seed: int, n_firms: int, k: int) -> tuple:
    """Firms, their owners' platform lines and a small book of other lenders' accounts."""
    rng = np.random.default_rng(seed)
    nb = 2 * n_firms + 1
    slots = 2 + nb // 2
    slot_of = np.where(rng.random(nb) < 0.5, rng.integers(1, slots, nb), 0).astype(np.int32)

    def money(shape, scale):
        return np.where(rng.random(shape) < 0.2, 0.0, np.round(rng.uniform(0, scale, shape), 2))

    t_limit, t_balance = money((slots, k), 9_000.0), money((slots, k), 9_000.0)
    t_limit[0], t_balance[0] = 0.0, 0.0  # slot 0: blank
    return (
        rng.integers(0, nb, n_firms), rng.random(n_firms) < 0.8, rng.random(n_firms) < 0.5,
        money(n_firms, 50_000.0), money(n_firms, 30_000.0),
        money(nb, 10_000.0), money(nb, 10_000.0), rng.random(nb) < 0.1, rng.random(nb) < 0.1,
        money(nb, 5_000.0), slot_of, t_limit, t_balance, rng.random((slots, k)) < 0.1,
        rng.integers(0, 12, (slots, k)).astype(np.int32), 6, rng.random(k) < 0.7,
        rng.random(k) < 0.5, 365.0 / 12.0,
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 200), k=st.integers(0, 4), seed=st.integers(0, 2**32 - 1))
def test_liquidity_days_compiled_equals_reference(n, k, seed) -> None:
    args = random_firms(seed, n, k)
    np.testing.assert_array_equal(liquidity_days_kernel(*args), liquidity_days_reference(*args))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
def test_transition_counts_compiled_equals_reference_and_numpy(n, seed) -> None:
    rng = np.random.default_rng(seed)
    defaulted = rng.random(n) < 0.2
    args = (
        rng.integers(0, N_BUCKETS, n).astype(np.int8),
        rng.integers(0, 6, n).astype(np.int16),
        defaulted & (rng.random(n) < 0.5),
        defaulted,
        np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0).astype(np.int8),
        N_BUCKETS,
    )
    from types import SimpleNamespace

    from sim.units import bucket_index

    state = SimpleNamespace(missed=args[1], charged_off=args[2], defaulted=args[3],
                            closure_reason=args[4])  # fmt: skip
    pair = args[0].astype(np.int64) * N_BUCKETS + bucket_index(state)
    expected = np.bincount(pair, minlength=N_BUCKETS**2)
    np.testing.assert_array_equal(transition_counts_kernel(*args), expected)
    np.testing.assert_array_equal(transition_counts_reference(*args), expected)


@pytest.fixture(scope="module")
def runs() -> dict:
    """A small model (firms and other lenders included) run 8 months per implementation."""
    out = {}
    for how in ("numpy", "compiled", "reference"):
        with using(how):
            model = CreditMarketModel(
                make_run("population.n_borrowers=1500", "burn_in_months=3", "n_months=5")
            )
            model.run()
            out[how] = {
                "monthly": model.monthly_table(include_burn_in=True),
                "firms": model.firms_table(),
                "transitions": model.transitions_table(),
                "liquidity": liquidity_buffer_days(model.world),
                "counts": transition_counts(model.world, model.month),
            }
            model.close()
    return out


@pytest.mark.parametrize("how", ["compiled", "reference"])
def test_model_outputs_identical_in_every_implementation(runs, how) -> None:
    a, b = runs["numpy"], runs[how]
    for name in ("monthly", "firms", "transitions"):
        if how == "compiled":
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=f"{how} {name}")
        else:  # the references add lenders' month totals one account at a time: to the cent
            pd.testing.assert_frame_equal(
                a[name], b[name], check_exact=False, rtol=0.0, atol=0.005, obj=f"{how} {name}"
            )
    assert (a["monthly"]["n_firms"] > 0).all() and a["firms"]["n_open"].gt(0).any()
    np.testing.assert_array_equal(a["liquidity"], b["liquidity"])
    np.testing.assert_array_equal(a["counts"], b["counts"])


def test_transition_counts_blocks_and_threads() -> None:
    # Several blocks of TRANSITION_BLOCK rows (the last one partial): the same counts as
    # the reference and with one or two threads.
    from sim.outputs.collect_kernel import TRANSITION_BLOCK

    n = 2 * TRANSITION_BLOCK + 123
    rng = np.random.default_rng(5)
    defaulted = rng.random(n) < 0.2
    args = (
        rng.integers(0, N_BUCKETS, n).astype(np.int8),
        rng.integers(-1, 6, n).astype(np.int16),
        defaulted & (rng.random(n) < 0.5),
        defaulted,
        np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0).astype(np.int8),
        N_BUCKETS,
    )
    expected = transition_counts_reference(*args)
    before = threads()
    try:
        for k in (1, 2):
            set_threads(k)
            np.testing.assert_array_equal(transition_counts_kernel(*args), expected)
    finally:
        set_threads(before)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 400), start=st.integers(0, 12), seed=st.integers(0, 2**32 - 1))
def test_window_default_counts_compiled_equals_reference_and_numpy(n, start, seed) -> None:
    from types import SimpleNamespace

    from sim.month import World

    rng = np.random.default_rng(seed)
    default_step = np.where(rng.random(n) < 0.3, rng.integers(0, 15, n), -1).astype(np.int32)
    closed_step = np.where(rng.random(n) < 0.3, rng.integers(0, 15, n), -1).astype(np.int32)
    state = SimpleNamespace(default_step=default_step, closed_step=closed_step)
    world = SimpleNamespace(borrowers=state, window_start=start)
    exposed = int(np.count_nonzero(World.exposed_in_window(world)))
    expected = (exposed, int(np.count_nonzero(default_step >= start)))
    got = window_default_counts_kernel(default_step, closed_step, start)
    assert tuple(int(v) for v in got) == expected
    assert window_default_counts_reference(default_step, closed_step, start) == expected


def test_liquidity_days_of_closed_firms_read_nothing() -> None:
    # A closed firm's days are NaN whatever its owner's rows hold (they are not read).
    args = list(random_firms(3, 50, 3))
    args[1] = np.zeros(50, dtype=bool)  # every firm closed
    args[5] = np.full_like(args[5], np.nan)  # the owners' limits unreadable
    out = liquidity_days_kernel(*args)
    assert np.isnan(out).all()
    np.testing.assert_array_equal(out, liquidity_days_reference(*args))


def test_open_month_reuses_the_closing_stocks_exactly() -> None:
    from sim.outputs.money import MONEY_STOCKS, money_stocks

    model = CreditMarketModel(make_run("population.n_borrowers=800", "n_months=4"))
    for _ in range(4):
        fresh = money_stocks(model.world)
        model.step()
        for name in MONEY_STOCKS:
            assert _bits(model.record.metrics[f"opening_{name}"]) == _bits(fresh[name]), name
    model.close()


def test_panel_rows_grown_and_debt_of_the_rows() -> None:
    from sim.outputs.agents import AgentOutcomes, panel_rows

    acc = AgentOutcomes(panel_share=0.2, panel_max=1000)
    acc._n_initial = 3000
    for n in (3000, 3000, 3100, 4000, 3500):
        np.testing.assert_array_equal(acc._panel_rows(n), panel_rows(n, 0.2, 1000, 3000))
    model = CreditMarketModel(make_run("population.n_borrowers=800", "n_months=3"))
    model.run()
    ch = model.world.channels
    rows = np.arange(0, model.world.borrowers.n, 3)
    np.testing.assert_array_equal(ch.balance_total_of(rows), ch.balance_total()[rows])
    model.close()


def test_firm_side_in_the_worker_thread_equals_one_thread(monkeypatch) -> None:
    """The firms' side of ``collect`` taken beside the borrowers' side gives the same bits."""
    import sim.outputs.recorder as recorder

    def run(inline: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        # The worker thread whatever numba's layer here, or the recorder's inline executor.
        monkeypatch.setattr(recorder, "kernels_in_two_threads", lambda: True)
        if inline:
            monkeypatch.setattr(recorder, "worker", lambda: recorder._INLINE)
        model = CreditMarketModel(
            make_run("population.n_borrowers=1500", "n_months=5", "firms.owner_share=0.2")
        )
        model.run()
        out = model.monthly_table(include_burn_in=True), model.firms_table()
        model.close()
        monkeypatch.undo()
        return out

    (metrics, firms), (metrics_1, firms_1) = run(False), run(True)
    assert len(firms) and metrics["median_cash_buffer_days"].notna().all()
    pd.testing.assert_frame_equal(metrics, metrics_1, check_exact=True)
    pd.testing.assert_frame_equal(firms, firms_1, check_exact=True)


@pytest.mark.parametrize("safe", [True, False])
def test_firm_side_thread_follows_numba_threading_layer(monkeypatch, safe) -> None:
    """The firms' side runs in the worker only where numba allows kernels in two threads."""
    import threading

    import sim.outputs.recorder as recorder

    where: list[int] = []
    firm_side = recorder._firm_side

    def spy(*args):  # noqa: ANN002, ANN202
        where.append(threading.get_ident())
        return firm_side(*args)

    monkeypatch.setattr(recorder, "kernels_in_two_threads", lambda: safe)
    monkeypatch.setattr(recorder, "_firm_side", spy)
    model = CreditMarketModel(make_run("population.n_borrowers=600", "n_months=2"))
    model.run()
    model.close()
    assert where  # the firms' side ran every month
    main = threading.get_ident()
    assert all((ident != main) == safe for ident in where)


def test_kernels_in_two_threads_reads_the_layer(monkeypatch) -> None:
    import numba

    from sim import compiled

    for layer, expected in (("omp", True), ("tbb", True), ("workqueue", False)):
        monkeypatch.setattr(numba, "threading_layer", lambda layer=layer: layer)
        assert compiled.kernels_in_two_threads() is expected

    def not_chosen() -> str:
        raise ValueError("Threading layer is not initialized.")

    monkeypatch.setattr(numba, "threading_layer", not_chosen)
    assert compiled.kernels_in_two_threads() is False
