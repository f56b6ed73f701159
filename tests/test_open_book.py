"""The open book: originations, attrition, firm entry, growth and the burn-in window."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim import BorrowerState, CreditMarketModel
from sim.build import build_world
from sim.month import Month
from sim.outputs.audit import audit
from sim.platform.policies import build_policy
from sim.platform.underwriting import close_for_attrition, finish_limits, initial_limits
from sim.rows import (
    MIN_CAPACITY,
    OWN_PAGES_BYTES,
    append_rows,
    empty_rows,
    flat_rows,
    pad_rows,
)
from sim.world.borrowers import ClosureReason
from tests.conftest import make_run

ROOT = Path(__file__).resolve().parents[1]


def _model(*overrides: str) -> CreditMarketModel:
    return CreditMarketModel(make_run("population.n_borrowers=1500", *overrides))


# ---------------------------------------------------------------------- growth
def test_append_rows_keeps_rows_and_grows_in_place():
    s = BorrowerState.blank(3, limit_cny=[1.0, 2.0, 3.0])
    s.append(BorrowerState.blank(2, limit_cny=[4.0, 5.0]))
    assert s.n == 5
    assert s.limit_cny.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert s.draws_recent.shape == (3, 5)
    buffer = s._row_buffers["limit_cny"]()
    assert s.limit_cny.base is buffer and buffer.shape == (64,)  # MIN_CAPACITY rows
    # A second small append writes into the same buffer (no reallocation).
    s.append(BorrowerState.blank(1, limit_cny=[6.0]))
    assert s.limit_cny.base is buffer
    assert s.limit_cny.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    # A field replaced by a new array frees its buffer at once (the table holds it
    # weakly), and the next append copies it into an array of its exact size ...
    del buffer
    s.limit_cny = s.limit_cny * 10
    assert s._row_buffers["limit_cny"]() is None
    assert s._row_buffers["balance_cny"]() is s.balance_cny.base  # untouched: kept
    s.append(BorrowerState.blank(1, limit_cny=[7.0]))
    assert s.limit_cny.tolist() == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 7.0]
    assert s.limit_cny.base.shape == (7,) and s.balance_cny.base.shape == (64,)
    # ... which grows (twice its rows, at least MIN_CAPACITY) when an append finds it full.
    s.append(BorrowerState.blank(1, limit_cny=[8.0]))
    assert s.limit_cny.base.shape == (64,) and s.limit_cny[-2:].tolist() == [7.0, 8.0]


def test_flat_rows_reads_and_writes_a_fresh_and_a_grown_table_alike():
    fresh = BorrowerState.blank(3)
    fresh.draws_recent[:] = np.arange(9).reshape(3, 3)
    grown = BorrowerState.blank(3)
    grown.draws_recent[:] = np.arange(9).reshape(3, 3)
    grown.append(BorrowerState.blank(2))
    grown.draws_recent[:, 3:] = [[30, 31], [32, 33], [34, 35]]
    assert fresh.draws_recent.flags.c_contiguous and not grown.draws_recent.flags.c_contiguous
    for table, stride in ((fresh.draws_recent, 3), (grown.draws_recent, 64)):
        flat, step = flat_rows(table, writes=True)
        assert step == stride and flat.ndim == 1 and flat.flags.c_contiguous
        k, n = table.shape
        assert [[flat[r * step + i] for i in range(n)] for r in range(k)] == table.tolist()
        flat[2 * step + 1] = -1  # writes land in the table
        assert table[2, 1] == -1
    # Empty tables give an empty flat array; a strided last axis cannot be written through.
    assert flat_rows(np.zeros((3, 0)))[0].size == 0
    strided = np.zeros((2, 6))[:, ::2]
    assert flat_rows(strided)[1] == 3
    with pytest.raises(ValueError, match=r"flat_rows: a \(2, 3\) table with strides"):
        flat_rows(strided, writes=True)


@pytest.mark.slow
def test_a_growing_book_compiles_each_kernel_once():
    # A fresh state's (k, n) tables are C-contiguous; once grown they are views of wider
    # buffers. A kernel given such a table directly compiled a second version (found for
    # the firms' settlement: outflow history, payables); flat_rows gives one type.
    code = textwrap.dedent(
        """
        import gc
        from numba.core.registry import CPUDispatcher
        from experiments.bench import _config
        from sim.model import CreditMarketModel
        for n, months in ((1000, 8), (1500, 8), (2000, 12)):
            CreditMarketModel(_config(n, months, "behaviour_rules", 0.1)).run()
        twice = sorted(
            f"{d.py_func.__module__}.{d.py_func.__name__}: {len(d.signatures)}"
            for d in gc.get_objects()
            if isinstance(d, CPUDispatcher) and d.py_func.__module__.startswith("sim")
            and len(d.signatures) > 1
        )
        print(twice)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_append_rows_rejects_mismatched_rows():
    s = BorrowerState.blank(2)
    bad = BorrowerState.blank(2)
    bad.limit_cny = np.zeros(3)
    with pytest.raises(ValueError, match="disagree"):
        append_rows(s, bad)


def test_pad_rows_grows_its_own_buffers_in_place_and_never_writes_another_array():
    first = np.array([1, 2, 3], dtype=np.int32)
    a = pad_rows(first, 5, -1)
    assert a.tolist() == [1, 2, 3, -1, -1] and a.dtype == np.int32
    assert first.tolist() == [1, 2, 3]  # the input is never changed
    buffer = a.base
    assert buffer.shape == (MIN_CAPACITY,)
    # Its own buffer has room: the rows are added in place, the earlier view unchanged.
    b = pad_rows(a, 9, 7)
    assert b.base is buffer and b.tolist() == [1, 2, 3, -1, -1, 7, 7, 7, 7]
    assert a.tolist() == [1, 2, 3, -1, -1]
    # Full: a new buffer of twice the rows, the rows copied.
    c = pad_rows(b, MIN_CAPACITY + 1, 0)
    assert c.base is not buffer and c.base.shape == (2 * (MIN_CAPACITY + 1),)
    assert c[:9].tolist() == b.tolist() and not c[9:].any()
    # A prefix view of some other array is copied: that array's rows are never written.
    other = np.arange(100.0)
    d = pad_rows(other[:10], 12, -5.0)
    assert d.base is not other and other[10:12].tolist() == [10.0, 11.0]
    assert d.tolist() == [*range(10), -5.0, -5.0]
    # Leading axes are kept (ring buffers); shrinking is refused.
    ring = pad_rows(np.ones((2, 3)), 4, 0.0)
    assert ring.shape == (2, 4) and ring[:, 3].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="cannot shrink"):
        pad_rows(np.zeros(3), 2, 0)


def test_large_row_buffers_are_maps_of_their_own_zeroed_and_picklable():
    import mmap
    import pickle

    rows = OWN_PAGES_BYTES // 8 + 1  # one row over the threshold, float64
    big = empty_rows((2, rows), np.float64)
    assert isinstance(big.base, mmap.mmap) and big.flags.writeable and big.flags.c_contiguous
    assert big.shape == (2, rows) and not big.any()  # fresh pages are zeros
    view = big[..., :5]
    assert view.base is big  # what append_rows and pad_rows recognise as their buffer
    view[1] = 3.0
    back = pickle.loads(pickle.dumps(view))  # a burn-in state pickles its arrays
    assert back.tolist() == [[0.0] * 5, [3.0] * 5]
    np.testing.assert_array_equal(back, view)
    small = empty_rows((4,), np.int32, zeroed=True)
    assert small.base is None and small.tolist() == [0, 0, 0, 0]
    # The tables grow into them: a large field's buffer is a map, its rows the same.
    s = BorrowerState.blank(rows, limit_cny=np.arange(rows, dtype=float))
    s.append(BorrowerState.blank(1, limit_cny=[-1.0]))
    assert isinstance(s._row_buffers["limit_cny"]().base, mmap.mmap)
    assert s.limit_cny[-2:].tolist() == [rows - 1.0, -1.0] and s.limit_cny.dtype == np.float64


def test_policies_grow_their_memory():
    for name in ("behaviour_rules", "sme_aware", "counter_cyclical", "pd_threshold", "parametric"):
        policy = build_policy({"name": name})
        policy.reset(4)
        policy.grow(7)  # raises if any per-borrower array is not extended

    class Stateful(type(build_policy({"name": "static"}))):
        name = "stateful_test"

        def reset(self, n_borrowers: int) -> None:
            self.memory = np.zeros(n_borrowers)

    with pytest.raises(NotImplementedError, match="grow"):
        Stateful(build_policy({"name": "static"}).config).grow(5)


# ---------------------------------------------------------------------- underwriting
def test_starting_book_is_underwritten_like_applicants():
    """population.starting_book=underwritten: the same people (UCI row, income, savings) as
    the data's own book where they pass, with the screen and the initial-limit rule of
    originations, and each account's UCI utilisation kept on its new limit."""
    config = make_run("population.n_borrowers=3000")
    world = build_world(config)
    raw = build_world(
        dataclasses.replace(
            config, population=dataclasses.replace(config.population, starting_book="uci")
        )
    )
    s, book = world.borrowers, config.book
    assert s.n == 3000
    # The screen and the limit rule read the application record (the UCI row with its own
    # limit, as for applicants): the rows drawn first and approved are the data book's
    # rows, in order, with their income, savings and UCI utilisation on the new limit.
    pd_raw = world.platform.pd_of(raw.borrowers)
    assert (pd_raw > book.approval_max_pd).mean() > 0.01  # the screen declines some
    first = np.flatnonzero(pd_raw <= book.approval_max_pd)
    k = 100
    r = raw.borrowers
    rows = first[:k]
    np.testing.assert_array_equal(s.uci_row[:k], r.uci_row[rows])
    np.testing.assert_array_equal(s.income_base_cny[:k], r.income_base_cny[rows])
    np.testing.assert_array_equal(s.savings_cny[:k], r.savings_cny[rows])
    expected = finish_limits(book, initial_limits(book, r.income_base_cny[rows], pd_raw[rows]))
    np.testing.assert_array_equal(s.limit_cny[:k], expected)
    np.testing.assert_array_equal(s.initial_limit_cny[:k], expected)
    util_raw = r.balance_cny[rows] / r.limit_cny[rows]
    np.testing.assert_allclose(s.balance_cny[:k], np.round(util_raw * expected, 2), atol=0.005)
    assert (s.balance_cny <= s.limit_cny).all() and (s.min_due_cny <= s.balance_cny).all()


def test_starting_book_screen_that_approves_no_one_fails_naming_the_field():
    config = make_run(
        "population.n_borrowers=300",
        "platform.pd_calibration=central_tendency",
        "platform.central_tendency_pd_12m=0.5",
    )
    with pytest.raises(ValueError, match=r"book\.approval_max_pd = 0\.015 approves 0 of the 300"):
        build_world(config)


def test_initial_limit_rule_by_hand():
    book = make_run().book
    book = dataclasses.replace(book, approval_max_pd=0.1, initial_limit_pd_haircut=0.5)
    limits = initial_limits(book, np.array([10_000.0, 10_000.0]), np.array([0.0, 0.1]))
    # 10,000 x 3 x (1 - 0.5 x PD / 0.1): 30,000 at PD 0 and 15,000 at the cut-off.
    assert limits.tolist() == [30_000.0, 15_000.0]
    assert finish_limits(book, np.array([12_345.0, 10.0, 1e9])).tolist() == [
        12_300.0,
        book.initial_limit_min_cny,
        book.initial_limit_cap_cny,
    ]


def test_attrition_decisions_rates_and_pay_down():
    n = 40_000
    config = make_run(
        "book.voluntary_close_prob_monthly=0.1",
        "book.inactivity_close_prob_monthly=0.5",
        "book.inactivity_close_months=6",
    )
    world = build_world(
        config,
        borrowers=BorrowerState.blank(
            n,
            balance_cny=np.where(np.arange(n) % 2 == 0, 0.0, 100.0),
            months_since_draw=np.where(np.arange(n) % 4 < 2, 12, 1),
        ),
    )
    s = world.borrowers
    requests, voluntary, inactivity = close_for_attrition(world, Month(step=1))
    idle = np.arange(n) % 2 == 0
    # Decisions do not depend on the state: 10 % of every current line (4 standard errors).
    decided = s.closing | (s.closure_reason == ClosureReason.VOLUNTARY)
    assert requests == decided.sum()
    assert abs(requests / n - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)
    assert abs(decided[idle].mean() - decided[~idle].mean()) < 4 * np.sqrt(0.1 * 0.9 * 2 / n * 2)
    # A decided line takes no new draws; it closes now if it has no balance, else it is
    # paid down first.
    assert (s.limit_cny[decided] == 0).all()
    vol = s.closure_reason == ClosureReason.VOLUNTARY
    assert voluntary == vol.sum() == (decided & idle).sum()
    assert s.closing[decided & ~idle].all() and not s.closed[decided & ~idle].any()
    assert s.is_open[s.closing].all()
    # Inactivity: idle lines unused for >= 6 months, not being closed, half of them.
    dormant = s.closure_reason == ClosureReason.INACTIVITY
    assert inactivity == dormant.sum()
    assert not dormant[s.months_since_draw < 6].any() and not dormant[~idle].any()
    eligible = idle & (s.months_since_draw >= 6) & ~decided
    assert abs(dormant.sum() / eligible.sum() - 0.5) < 4 * np.sqrt(0.25 / eligible.sum())
    assert (s.closed_step[s.closed] == 1).all() and not s.is_open[s.closed].any()
    assert not s.defaulted.any()
    # Paid down: the closing lines close next month, as voluntary closures.
    paying = np.flatnonzero(s.closing)
    s.balance_cny[paying] = 0.0
    _, voluntary_2, _ = close_for_attrition(world, Month(step=2))
    assert s.closed[paying].all() and (s.closed_step[paying] == 2).all()
    assert voluntary_2 >= paying.size


def test_arrivals_follow_the_configured_rate():
    months = 24
    model = _model("book.applicants_per_month_share=0.05", f"n_months={months}")
    model.run()
    table = model.monthly_table()
    mean = 0.05 * model.world.initial_open_lines  # Poisson mean per month
    total = table["applicants"].sum()
    assert abs(total - months * mean) < 4 * np.sqrt(months * mean)
    # Every approved applicant is a new row with origination_step = its month.
    s = model.borrowers
    assert s.n == 1500 + table["originations"].sum()
    new = np.flatnonzero(s.origination_step >= 1)
    assert new.size == table["originations"].sum()
    counts = np.bincount(s.origination_step[new], minlength=months + 1)[1:]
    assert counts.tolist() == table["originations"].tolist()
    model.close()


def test_originations_draw_the_arrivals_stream_as_drawn_in_order():
    """The stage fills the attrition uniforms in a second thread while it draws the
    applicants: the same closures, accounts, events and stream state as drawing the
    uniforms, then the applicants, in order."""
    import copy

    from sim.platform.underwriting import draw_applicants, open_accounts, originations_stage

    model = _model("book.applicants_per_month_share=0.05", "book.voluntary_close_prob_monthly=0.05")
    model.step()
    world = model.world
    twin = copy.deepcopy(world)
    month, twin_month = Month(step=2), Month(step=2)
    originations_stage(world, month)
    close_for_attrition(twin, twin_month)  # draws its uniforms here, first
    applicants = draw_applicants(twin, twin_month)
    assert applicants is not None and applicants.n > 0
    rows = open_accounts(twin, twin_month, applicants)
    assert rows.size == month.book.originations > 0
    assert month.book.close_requests > 0 and world.borrowers.n == twin.borrowers.n
    for f in dataclasses.fields(world.borrowers):
        got, want = getattr(world.borrowers, f.name), getattr(twin.borrowers, f.name)
        np.testing.assert_array_equal(got, want, err_msg=f.name)
    assert len(month.limit_events) == len(twin_month.limit_events) > 0
    for got, want in zip(month.limit_events, twin_month.limit_events, strict=True):
        np.testing.assert_array_equal(got.rows, want.rows)
        np.testing.assert_array_equal(got.old_limit_cny, want.old_limit_cny)
        assert (got.reason == want.reason).all()
    arrivals = world.rngs["arrivals"].bit_generator.state
    assert arrivals == twin.rngs["arrivals"].bit_generator.state
    model.close()


def test_new_accounts_open_clean_and_are_serviced_like_the_book():
    model = _model("book.applicants_per_month_share=0.05", "n_months=3")
    model.step()
    s = model.borrowers
    new = np.flatnonzero(s.origination_step == 1)
    assert new.size > 0
    pd_at_open = model.platform.pd_of(s)[new]  # noqa: F841 - scored like the book
    model.step()
    s = model.borrowers
    assert (s.mob[new] == 2).all()  # on book in months 1 and 2
    opened = s.initial_limit_cny[new]
    assert (opened >= model.config.book.initial_limit_min_cny).all()
    assert (opened % 100 == 0).all()
    # The minimum due follows the book's rule: rate x statement, floored, at most the statement.
    pc = model.config.platform
    bal = s.statement_cny[new]
    due = np.minimum(bal, np.maximum(pc.min_payment_rate * bal, pc.min_payment_floor_cny))
    current = s.missed[new] == 0
    assert np.allclose(s.min_due_cny[new][current], np.round(due[current], 2), atol=0.011)
    # Priced by the tier of their PD, like every line.
    assert np.array_equal(s.apr[new], model.platform.apr_of(s.pd_12m[new]))
    model.close()


def test_money_identity_holds_with_arrivals_and_firm_entry(tmp_path):
    model = _model(
        "book.applicants_per_month_share=0.05",
        "book.firm_entry_per_month_share=0.1",
        "n_months=6",
    )
    model.run()
    table = model.monthly_table()
    assert table["originations"].sum() > 0 and table["new_firms"].sum() > 0
    assert table["arrivals_savings_cny"].sum() > 0 and table["firm_entry_cash_cny"].sum() > 0
    table.to_parquet(tmp_path / "monthly.parquet")
    result = audit(tmp_path / "monthly.parquet")
    assert result.passed, result.report()
    model.close()


def test_firm_entry_appends_young_firms_linked_to_owners():
    model = _model("book.firm_entry_per_month_share=0.2", "n_months=2")
    n0 = model.firms.n
    model.step()
    f, world = model.firms, model.world
    new = np.arange(n0, f.n)
    assert new.size > 0
    assert (f.age_months[new] <= 1).all() and f.is_open[new].all()
    # Each new firm's owner points back at it, and owned no firm before.
    assert np.array_equal(world.firm_of[f.owner[new]], new)
    assert world.sole_trader[f.owner[new]].all()
    assert np.unique(f.owner).size == f.n
    # The network's edge arrays match the network.
    assert f.edge_overdue_cny.shape == (world.network.n_edges,)
    assert world.network.n_firms == f.n
    # New buyers' edges: distinct suppliers among the older firms of their supplier
    # sectors, shares summing to 1 per buyer.
    net = world.network
    new_edge = net.buyer >= n0
    assert new_edge.any()
    b, sup = net.buyer[new_edge], net.supplier[new_edge]
    assert (sup < n0).all()
    assert np.unique(b * f.n + sup).size == b.size
    for buyer_sector in np.unique(f.sector[b]):
        allowed = world.sectors.supplier_sectors[int(buyer_sector)]
        assert np.isin(f.sector[sup[f.sector[b] == buyer_sector]], allowed).all()
    np.testing.assert_allclose(np.bincount(b, weights=net.share[new_edge])[np.unique(b)], 1.0)
    model.close()


# ---------------------------------------------------------------------- burn-in and CRN
def test_burn_in_is_identical_across_policies_and_ids_match():
    runs = {}
    for policy in ("static", "behaviour_rules"):
        model = _model(f"policy={policy}", "burn_in_months=6", "n_months=4")
        model.run(6)
        runs[policy] = {"state": model.borrowers.copy(), "firms": model.firms.n}
        model.run()
        runs[policy]["burn"] = model.monthly_table(include_burn_in=True).query("step <= 0")
        runs[policy]["window"] = model.monthly_table()
        runs[policy]["final"] = model.borrowers.copy()
        model.close()
    a, b = runs["static"], runs["behaviour_rules"]
    # The burn-in path is the same bit for bit.
    assert a["burn"].drop(columns=["regime"]).equals(b["burn"].drop(columns=["regime"]))
    for f in dataclasses.fields(a["state"]):
        assert np.array_equal(getattr(a["state"], f.name), getattr(b["state"], f.name)), f.name
    assert a["firms"] == b["firms"]
    # The window starts at step 1 and the policies differ in it.
    assert a["window"]["step"].tolist() == [1, 2, 3, 4]
    assert b["window"]["limit_cuts"].sum() > 0 and a["window"]["limit_cuts"].sum() == 0
    # The same applicants arrive: row i is the same person in both runs.
    fa, fb = a["final"], b["final"]
    assert fa.n == fb.n
    for name in ("uci_row", "income_base_cny", "age_years", "origination_step"):
        assert np.array_equal(getattr(fa, name), getattr(fb, name)), name


def test_mesa_agent_views_cover_new_rows():
    from sim.agents import Borrower, MicroEnterprise

    model = _model("book.applicants_per_month_share=0.05", "book.firm_entry_per_month_share=0.2")
    model.step()
    assert len(model.agents_by_type[Borrower]) == model.borrowers.n
    model.step()
    n, n_firms = model.borrowers.n, model.firms.n
    assert len(model.agents_by_type[Borrower]) == n
    assert len(model.agents_by_type[MicroEnterprise]) == n_firms
    model.close()
