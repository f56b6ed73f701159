"""Model-level tests: accounting identities, invariants, determinism, common random numbers."""

from __future__ import annotations

import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.agents import Borrower, MicroEnterprise
from sim.model import STAGE_ORDER, CreditMarketModel
from sim.month import RNG_STREAMS
from sim.outputs.segments import segment_labels
from sim.platform.agent import Platform
from sim.platform.policies import ReasonCode
from sim.platform.policies.base import LimitDecision, PolicyConfig
from sim.platform.policies.static import StaticPolicy
from sim.units import MISSES_TO_DEFAULT
from tests.conftest import CLOSED_BOOK, make_run, raised, review_limits


def step_with_checks(model: CreditMarketModel, months: int):
    """Step month by month, checking identities and invariants after each month.

    Money is conserved across households, firms and every lender: each book moves by its
    own flows, and the cash of households + firms + lenders changes only by the flows
    with the outside world (income, consumption, outside sales and suppliers, fixed
    costs, recoveries from debt sales).
    """
    s = model.borrowers
    firms = model.firms
    ch = model.channels
    model.release_month_fields = False  # the identities read the month's flows row by row
    for _ in range(months):
        balance_before = s.balance_cny.sum()
        savings_before = s.savings_cny.copy()
        cash_before = firms.cash_cny.copy()
        channel_before = ch.table("balance_cny").sum(axis=0)
        system_before = (
            s.savings_cny.sum()
            + firms.cash_cny.sum()
            + model.platform_cash_cny
            + ch.lender_cash_cny.sum()
        )
        missed_before = s.missed.copy()
        defaulted_before = s.defaulted.copy()
        model.step()
        h, f, t = model.month.household, model.month.servicing, model.month.transfers
        fm, ff, st = model.month.firm_month, model.month.firm_funding, model.month.settlement
        cm = ch.month
        # Platform book: change in balance = draws + interest - repayments - write-offs,
        # with the firms' draws on (and repayments of) their owners' lines.
        delta = s.balance_cny.sum() - balance_before
        flows = (
            h.draws_cny.sum()
            + t.firm_platform_draws_cny.sum()
            + f.interest_cny.sum()
            - h.repayments_cny.sum()
            - t.firm_platform_repaid_cny.sum()
            - f.write_off_cny.sum()
        )
        assert delta == pytest.approx(flows, rel=1e-9, abs=1e-6)
        # Every other lender's book: draws + fees + interest - payments - write-offs.
        channel_after = ch.table("balance_cny").sum(axis=0)
        expected_ch = (
            channel_before
            + cm.draws_cny
            + cm.upfront_fees_cny
            + cm.interest_cny
            + cm.monthly_fees_cny
            - cm.payments_cny
            - cm.write_off_cny
        )
        np.testing.assert_allclose(channel_after, expected_ch, rtol=1e-9, atol=1e-6)
        # Households, per borrower: savings change = income + platform draws - platform
        # repayments - other lenders' dues and prepayments - consumption + channel draws
        # (spent at once: they are in consumption) + owner draws - owner injections.
        expected = (
            savings_before
            + h.income_cny
            + h.draws_cny
            - h.repayments_cny
            - h.other_payment_cny
            - model.month.household_funding.consumption_cny
            + t.household_channel_draws_cny
            + t.per_borrower("owner_draw_cny", firms.owner)
            - t.per_borrower("owner_injection_cny", firms.owner)
            - t.household_prepay_cny
        )
        np.testing.assert_allclose(s.savings_cny, expected, atol=0.011)
        # Firms, per firm: cash change = collections + network receipts + funding - fixed
        # costs - supplier payments - debt repaid - owner draws.
        owners = firms.owner
        expected_cash = (
            cash_before
            + fm.collections_cny
            + st.network_receipts_cny
            + ff.funded_cny
            - st.fixed_paid_cny
            - st.supplier_paid_outside_cny
            - st.supplier_paid_network_cny
            - t.firm_channel_repaid_cny
            - t.firm_platform_repaid_cny
            - t.owner_draw_cny
        )
        np.testing.assert_allclose(firms.cash_cny, expected_cash, atol=0.011)
        np.testing.assert_allclose(ff.by_step["own_cash"], t.owner_injection_cny, atol=0.0)
        assert (t.per_borrower("owner_draw_cny", owners)[owners] == t.owner_draw_cny).all()
        # Sparse per-borrower channel totals equal the full sums over the channel tables.
        ch_balance = ch.table("balance_cny")
        np.testing.assert_allclose(ch.balance_total(), ch_balance.sum(axis=1), atol=1e-6)
        np.testing.assert_allclose(ch.due_total(), ch.table("min_due_cny").sum(axis=1), atol=0.006)
        np.testing.assert_array_equal(ch.lenders_count(), (ch_balance > 0).sum(axis=1))
        # The whole system: households + firms + lenders' cash, against the outside world.
        system_after = (
            s.savings_cny.sum()
            + firms.cash_cny.sum()
            + model.platform_cash_cny
            + ch.lender_cash_cny.sum()
        )
        outside = (
            h.income_cny.sum()
            - model.month.household_funding.consumption_cny.sum()
            + fm.collections_cny.sum()
            - st.supplier_paid_outside_cny.sum()
            - st.fixed_paid_cny.sum()
            + f.recoveries_cny.sum()
            + cm.recoveries_cny.sum()
        )
        assert system_after - system_before == pytest.approx(outside, rel=1e-9, abs=1e-3)
        # Network payments are one firm's outflow and another's collection.
        assert st.network_receipts_cny.sum() == pytest.approx(
            st.supplier_paid_network_cny.sum(), abs=1e-6
        )
        # Invariants.
        assert (
            (s.balance_cny >= 0).all() and (s.limit_cny >= 0).all() and (s.savings_cny >= 0).all()
        )
        assert (firms.cash_cny >= 0).all()
        assert (ch_balance >= 0).all()
        assert np.array_equal(np.round(ch_balance, 2), ch_balance)
        assert np.array_equal(np.round(s.balance_cny, 2), s.balance_cny)
        assert np.array_equal(np.round(firms.cash_cny, 2), firms.cash_cny)
        assert np.array_equal(s.dpd, s.missed * 30)
        assert (s.lenders_count == (s.balance_cny > 0) + ch.lenders_count()).all()
        # DPD moves by at most one bucket a month and only through misses or cures.
        open_before = ~defaulted_before
        moved = s.missed[open_before].astype(int) - missed_before[open_before].astype(int)
        assert set(np.unique(moved)) <= {1, 0} | set(-np.arange(1, MISSES_TO_DEFAULT))
        # Default exactly at the third consecutive miss; defaulted lines are closed.
        new = f.new_default
        assert (s.missed[new] == MISSES_TO_DEFAULT).all()
        assert (missed_before[new] == MISSES_TO_DEFAULT - 1).all()
        assert (s.limit_cny[s.defaulted] == 0).all()
        assert (s.missed[~s.defaulted] < MISSES_TO_DEFAULT).all()
        assert (s.balance_cny[s.charged_off] == 0).all()
        # Closed firms stay closed and hold no cash at the end of a month.
        assert (firms.cash_cny[~firms.is_open] == 0).all()
        assert np.isnan(firms.buffer_days[~firms.is_open]).all()


def test_identities_and_invariants_hold_every_month():
    model = CreditMarketModel(
        make_run("policy=behaviour_rules", "population.n_borrowers=3000", *CLOSED_BOOK)
    )
    step_with_checks(model, 24)
    assert model.borrowers.defaulted.sum() > 0  # the default path was exercised
    assert model.borrowers.charged_off.sum() > 0
    # Firms, other lenders and closures were exercised too.
    table = model.monthly_table()
    assert model.firms.n == 300
    assert table["firm_closures"].sum() > 0
    assert table["channel_draws_cny"].sum() > 0
    assert table["firm_platform_draws_cny"].sum() > 0


def test_identities_hold_with_every_channel_stressed():
    """Platform cuts to zero push households and firms onto every other lender."""
    run = make_run(
        "policy=static",
        "population.n_borrowers=1500",
        "firms.owner_share=0.3",
        "population.limit_scale=0.05",
        "channels.household_wants_seek_share=1.0",
        *CLOSED_BOOK,
    )
    model = CreditMarketModel(run)
    step_with_checks(model, 14)
    cm = model.monthly_table()
    assert (cm["channel_draws_cny"] > 0).all()
    ch = model.channels
    used = {name for name, lent in zip(ch.names, ch.draws_total_cny, strict=True) if lent > 0}
    assert {"credit_card", "online_lender_a", "online_lender_b", "informal"} <= used
    assert (cm["lenders_per_borrower"] > 1.0).all()


def test_identities_hold_in_a_downturn_with_delinquent_book():
    run = make_run(
        "policy=static", "population=uci_2005", "population.n_borrowers=2000", *CLOSED_BOOK
    )
    model = CreditMarketModel(run)
    step_with_checks(model, 8)
    assert model.borrowers.charged_off.sum() > 0


def test_mesa_structure_and_stage_order():
    model = CreditMarketModel(make_run("population.n_borrowers=300"))
    assert STAGE_ORDER == (
        "originations",
        "firm_entry",
        "scenario",
        "open_books",
        "household",
        "enterprise",
        "funding",
        "settlement",
        "servicing",
        "platform_review",
    )
    assert len(model.agents_by_type[Borrower]) == 300
    assert len(model.agents_by_type[Platform]) == 1
    firms = model.agents_by_type[MicroEnterprise]
    assert len(firms) == model.firms.n == 30
    firm = firms[0]
    assert firm.cash_cny == model.firms.cash_cny[firm.row]
    assert segment_labels(model.world)[firm.owner_row] == "sole_trader"
    b = model.agents_by_type[Borrower][0]
    assert b.limit_cny == model.borrowers.limit_cny[b.row]
    model.run(3)
    assert model.steps == 3
    table = model.monthly_table()
    assert list(table["step"]) == [1, 2, 3]
    assert isinstance(model.datacollector, mesa.DataCollector)


def test_same_seed_same_results_and_different_seed_differs():
    a = CreditMarketModel(make_run("seed=7")).run().monthly_table()
    b = CreditMarketModel(make_run("seed=7")).run().monthly_table()
    c = CreditMarketModel(make_run("seed=8")).run().monthly_table()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["drawn_balance_cny"], c["drawn_balance_cny"])


def test_same_seed_same_results_in_a_fresh_process():
    code = (
        "from tests.conftest import make_run; from sim.model import CreditMarketModel;"
        "m = CreditMarketModel(make_run('seed=11')).run();"
        "print(repr(float(m.monthly_table()['drawn_balance_cny'].sum())))"
    )
    here = CreditMarketModel(make_run("seed=11")).run()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) == float(here.monthly_table()["drawn_balance_cny"].sum())


def test_common_random_numbers_across_policies():
    """Under one seed every policy sees identical incomes, employment and world shocks."""
    models = {
        p: CreditMarketModel(make_run(f"policy={p}", "seed=3", "population.n_borrowers=1500"))
        for p in ("static", "behaviour_rules")
    }
    for m in models.values():
        m.release_month_fields = False  # the draws are compared after the month
    for _ in range(12):
        incomes = {}
        for p, m in models.items():
            m.step()
            incomes[p] = (
                m.borrowers.income_cny.copy(),
                m.borrowers.employed.copy(),
                m.month.lender_draws.copy(),
            )
        for i in range(3):  # incomes, employment, other lenders' approval uniforms
            np.testing.assert_array_equal(incomes["static"][i], incomes["behaviour_rules"][i])
    # ... while the policy does change limits.
    assert not np.array_equal(
        models["static"].borrowers.limit_cny, models["behaviour_rules"].borrowers.limit_cny
    )
    assert RNG_STREAMS == (
        "population",
        "world",
        "platform",
        "mesa",
        "firms",
        "arrivals",
        "entry",
        "lenders",
        "firm_finance",
        "habits",
    )


def test_common_random_numbers_for_firm_revenues():
    """Two policies under one seed see identical firms, network and revenue shocks."""
    models = {
        p: CreditMarketModel(make_run(f"policy={p}", "seed=4", "population.n_borrowers=2000"))
        for p in ("static", "behaviour_rules")
    }
    a, b = models["static"], models["behaviour_rules"]
    a.release_month_fields = b.release_month_fields = False  # draws compared after the month
    np.testing.assert_array_equal(a.firms.owner, b.firms.owner)
    np.testing.assert_array_equal(a.network.shares.toarray(), b.network.shares.toarray())
    for _ in range(12):
        a.step()
        b.step()
        np.testing.assert_array_equal(a.firms.uses_personal_credit, b.firms.uses_personal_credit)
        np.testing.assert_array_equal(a.firms.potential_sales_cny, b.firms.potential_sales_cny)
        np.testing.assert_array_equal(a.month.firm_draws.u_exit, b.month.firm_draws.u_exit)
        both = a.firms.is_open & b.firms.is_open
        outside = a.month.firm_month.outside_sales_cny
        np.testing.assert_array_equal(outside[both], b.month.firm_month.outside_sales_cny[both])
    assert not np.array_equal(a.borrowers.limit_cny, b.borrowers.limit_cny)


def test_borrower_population_unchanged_by_firms():
    """Firms are drawn after the borrowers: the borrower population is the same without them."""
    with_firms = CreditMarketModel(make_run("seed=2", "population.n_borrowers=500"))
    without = CreditMarketModel(
        make_run("seed=2", "population.n_borrowers=500", "firms.owner_share=0")
    )
    np.testing.assert_array_equal(with_firms.borrowers.limit_cny, without.borrowers.limit_cny)
    np.testing.assert_array_equal(with_firms.borrowers.savings_cny, without.borrowers.savings_cny)
    assert without.firms.n == 0
    without.run(3)
    table = without.monthly_table()
    assert table["median_cash_buffer_days"].isna().all()
    assert (segment_labels(without.world) == "household").all()


def test_limit_events_match_limit_changes():
    model = CreditMarketModel(make_run("policy=behaviour_rules")).run()
    ev = model.limit_events()
    assert (ev["reason"] != "NONE").all()
    assert len(ev) > 0
    # Replaying the events from the initial limits gives the final limits.
    limits = model.borrowers.initial_limit_cny.copy()
    for row in ev.sort_values("step", kind="stable").itertuples():
        assert limits[row.borrower_id] == pytest.approx(row.old_limit_cny)
        limits[row.borrower_id] = row.new_limit_cny
    np.testing.assert_allclose(limits, model.borrowers.limit_cny)
    table = model.monthly_table()
    closures = ("CLOSED_AT_DEFAULT", "CLOSED_VOLUNTARY", "CLOSED_INACTIVITY")
    counted = ev[~ev["reason"].isin(closures)]
    assert table["limit_cuts"].sum() + table["limit_raises"].sum() == len(counted)
    # One attrition event per decision on a line that still had a limit.
    assert (ev["reason"] == "CLOSED_VOLUNTARY").sum() <= table["close_requests"].sum()
    assert (ev["reason"] == "CLOSED_INACTIVITY").sum() <= table["closed_inactivity"].sum()
    # The borrower view gives the "why was my limit cut" history.
    bid = int(counted["borrower_id"].iloc[0])
    agent = next(a for a in model.agents_by_type[Borrower] if a.row == bid)
    history = agent.limit_history()
    assert len(history) == int((ev["borrower_id"] == bid).sum())
    assert set(history.columns) == {"step", "old_limit_cny", "new_limit_cny", "reason"}


def test_agents_are_views_made_on_first_use_and_close_frees_the_state():
    import weakref

    model = CreditMarketModel(make_run("population.n_borrowers=50", "n_months=1")).run()
    ids = [a.unique_id for a in model.agents]
    assert len(ids) == len(set(ids)) == 50 + model.firms.n + 1
    world = weakref.ref(model.world)
    model.close()
    assert world() is None  # by reference counting alone: no cycle holds the state
    assert len(model.agents) == 0
    assert model.monthly_table().shape[0] == 1  # the record outlives the state
    with pytest.raises(RuntimeError, match="closed"):
        model.step()


def test_a_model_never_asked_for_agents_holds_no_mesa_agent():
    model = CreditMarketModel(make_run("population.n_borrowers=50", "n_months=1"))
    assert model.world.platform.__dict__.get("model") is None
    model.run()
    assert len(model.agents_by_type[Borrower]) == 50  # made now, on first use


class _ScriptedPolicy(StaticPolicy):
    """Returns the decision a test writes into ``self.edit(new, reason, view)``."""

    edit = None

    def review(self, view, rng):
        new = view.limit_cny.copy()
        reason = np.zeros(view.n_borrowers, dtype=np.int64)
        type(self).edit(new, reason, view)
        return LimitDecision(new, reason)


def _open_rows(view):
    return np.flatnonzero(view.is_open)


def _drawn_rows(view):
    return np.flatnonzero(view.is_open & (view.balance_cny > 1.0))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda new, reason, v: new.__setitem__(_open_rows(v)[0], np.nan), "NaN or infinite"),
        (lambda new, reason, v: new.__setitem__(_open_rows(v)[0], -5.0), "negative limit"),
        (lambda new, reason, v: new.__setitem__(_open_rows(v)[0], 1.0), "without a reason"),
        (
            lambda new, reason, v: (
                new.__setitem__(_drawn_rows(v)[0], 0.0),
                reason.__setitem__(_drawn_rows(v)[0], ReasonCode.DELINQUENCY),
            ),
            "cut a limit to 0.00 CNY, below the drawn balance",
        ),
        (
            lambda new, reason, v: (
                new.__setitem__(_open_rows(v)[0], 1e12),
                reason.__setitem__(_open_rows(v)[0], ReasonCode.STABLE_USE_INCREASE),
            ),
            "above policy.max_limit_cny = 300,000.00",
        ),
        (
            lambda new, reason, v: (
                new.__setitem__(_open_rows(v)[0], 1.0),
                reason.__setitem__(_open_rows(v)[0], 99),
            ),
            "reason code 99, which is not a ReasonCode",
        ),
        (  # would wrap to a valid int8 code (263 - 256 = 7) if cast first
            lambda new, reason, v: (
                new.__setitem__(_open_rows(v)[0], 1.0),
                reason.__setitem__(_open_rows(v)[0], 263),
            ),
            "reason code 263",
        ),
        (
            lambda new, reason, v: (
                new.__setitem__(np.flatnonzero(~v.is_open)[0], 100.0),
                reason.__setitem__(np.flatnonzero(~v.is_open)[0], ReasonCode.STABLE_USE_INCREASE),
            ),
            "closed line",
        ),
    ],
)
def test_a_malformed_policy_decision_is_refused(edit, message):
    model = CreditMarketModel(
        make_run("population.n_borrowers=400", "n_months=1"),
        policy=_ScriptedPolicy(StaticPolicy.config_class()),
    )
    if "closed" in message:
        model.borrowers.defaulted[0] = True  # one closed line to propose a change on
        model.borrowers.limit_cny[0] = 0.0
    _ScriptedPolicy.edit = staticmethod(edit)
    with pytest.raises(ValueError, match=message):
        review_limits(model)


def test_a_policy_limit_is_rounded_to_the_cent_and_half_cent_proposals_apply():
    model = CreditMarketModel(
        make_run("population.n_borrowers=400", "n_months=1"),
        policy=_ScriptedPolicy(StaticPolicy.config_class()),
    )
    s = model.borrowers
    a, b = np.flatnonzero(s.is_open & (s.limit_cny > 100))[:2]
    before_a, before_b = s.limit_cny[a], s.limit_cny[b]

    def edit(new, reason, view):
        new[a] = before_a + 0.004  # rounds back to the current limit: no change
        new[b] = before_b - 12.3449  # rounds to 12.34 below (not a half-cent tie)
        reason[[a, b]] = ReasonCode.DELINQUENCY

    _ScriptedPolicy.edit = staticmethod(edit)
    rows, old, codes = review_limits(model)
    assert rows.tolist() == [b]
    assert old.tolist() == [before_b]
    assert codes.tolist() == [ReasonCode.DELINQUENCY]
    assert s.limit_cny[a] == before_a
    assert model.borrowers.limit_cny[b] == round(before_b - 12.34, 2)
    assert model.borrowers.cuts_count[b] == 1


def test_a_review_that_returns_no_decision_is_refused():
    model = CreditMarketModel(
        make_run("population.n_borrowers=100", "n_months=1"),
        policy=_ScriptedPolicy(StaticPolicy.config_class()),
    )
    model.platform.policy.review = lambda view, rng: None
    with pytest.raises(
        TypeError, match="returned NoneType; review\\(\\) must return a LimitDecision"
    ):
        review_limits(model)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "seed=99999999999999999999999",
            r"seed = 9+ is outside the allowed range \[0, 9223372036854775807\]",
        ),
        (
            "n_months=99999999999999999999999",
            r"n_months = 9+ is outside the allowed range \[1, 100000\]",
        ),
        (
            "policy.max_limit_cny=inf",
            r"policy.max_limit_cny = inf is outside the allowed range \(0.0, 1000000000000.0\]",
        ),
    ],
)
def test_out_of_range_numbers_name_their_field_even_beyond_int64(override, message):
    with pytest.raises(ValueError, match=message):
        make_run(override)


def test_a_config_value_that_is_not_a_number_names_its_field():
    with pytest.raises(ValueError, match="policy.max_limit_cny = 'abc' is not a number"):
        StaticPolicy.config_class(max_limit_cny="abc")


def test_champion_and_challenger_rows_are_held_to_their_own_arm_ceiling():
    model = CreditMarketModel(
        make_run(
            "population.n_borrowers=400",
            "n_months=1",
            "policy=champion_challenger",
            "+policy.challenger.max_limit_cny=500000",
        )
    )
    policy = model.platform.policy
    review_limits(model)  # the first review assigns the arms
    rows = np.arange(model.borrowers.n)
    low, high = policy.limit_bounds(rows)
    challenger = policy.arm == 1
    assert challenger.any() and (~challenger).any()
    champion = policy.champion.config
    assert np.all(high[challenger] == 500_000.0)  # the override above
    assert np.all(high[~challenger] == champion.max_limit_cny) and champion.max_limit_cny != 500_000
    assert np.all(low[~challenger] == champion.min_limit_cny)
    assert np.all(low[challenger] == policy.challenger.config.min_limit_cny)


def test_a_line_above_the_ceiling_may_still_be_cut():
    model = CreditMarketModel(
        make_run("population.n_borrowers=400", "n_months=1"),
        policy=_ScriptedPolicy(StaticPolicy.config_class()),
    )
    s = model.borrowers
    a = np.flatnonzero(s.is_open)[0]
    s.limit_cny[a] = 400_000.0  # e.g. a line granted before the ceiling was lowered

    def edit(new, reason, view):
        new[a] = 350_000.0  # still above max_limit_cny = 300,000: a cut, allowed
        reason[a] = ReasonCode.DELINQUENCY

    _ScriptedPolicy.edit = staticmethod(edit)
    rows, old, _ = review_limits(model)
    assert rows.tolist() == [a] and old.tolist() == [400_000.0]
    assert s.limit_cny[a] == 350_000.0


def test_a_decision_of_the_wrong_shape_or_dtype_is_refused_with_the_shapes():
    model = CreditMarketModel(
        make_run("population.n_borrowers=400", "n_months=1"),
        policy=_ScriptedPolicy(StaticPolicy.config_class()),
    )
    n = model.borrowers.n

    class Short(StaticPolicy):
        def review(self, view, rng):
            return LimitDecision(view.limit_cny[:-1].copy(), np.zeros(n - 1, dtype=np.int8))

    class FloatReasons(StaticPolicy):
        def review(self, view, rng):
            return LimitDecision(view.limit_cny.copy(), np.zeros(n))

    model.platform.policy = Short(StaticPolicy.config_class())
    with pytest.raises(ValueError, match=rf"shape \({n - 1},\).*must be \({n},\)"):
        review_limits(model)
    model.platform.policy = FloatReasons(StaticPolicy.config_class())
    with pytest.raises(ValueError, match="dtype float64; they must be integer"):
        review_limits(model)


def test_mesa_run_model_stops_after_the_configured_months_and_step_goes_on():
    model = CreditMarketModel(
        make_run("population.n_borrowers=200", "n_months=2", "burn_in_months=1")
    )
    assert model.running
    model.run_model()  # Mesa's loop: while model.running: model.step()
    assert model.steps == 3 and not model.running
    assert len(model.monthly_table()) == 2
    model.step()  # a month past the window is still simulated when asked for
    assert model.steps == 4 and not model.running
    model.close()


def test_a_closed_model_refuses_to_step_and_keeps_its_month_count():
    model = CreditMarketModel(make_run("population.n_borrowers=200", "n_months=3"))
    model.run(2)
    model.close()
    for attempt in (model.step, lambda: model.run(1)):
        with pytest.raises(RuntimeError, match=r"closed after month 2.*cannot simulate month 3"):
            attempt()
    assert model.steps == 2 and not model.running  # the failed steps counted no month
    with pytest.raises(RuntimeError, match="cannot read borrowers"):
        _ = model.borrowers
    assert len(model.monthly_table()) == 2


def test_a_month_that_fails_is_not_counted_and_the_model_refuses_more_months():
    # On Mesa 3.5 a step that raised used to stop the model's schedule: later steps
    # returned silently. Here the error surfaces, the month is not counted, and the
    # partly updated model refuses further months with a message saying why.
    from sim.platform.policies.static import StaticPolicy

    class FailsInMonthTwo(StaticPolicy):
        name = "fails_in_month_two"

        def review(self, view, rng):
            if view.step == 2:
                raise ValueError("policy bug")
            return super().review(view, rng)

    model = CreditMarketModel(
        make_run("population.n_borrowers=100"), policy=FailsInMonthTwo(PolicyConfig())
    )
    model.step()
    with pytest.raises(ValueError, match="policy bug"):
        model.run(2)
    with pytest.raises(RuntimeError, match="month 2 failed in stage 'platform_review'"):
        model.step()
    assert model.steps == 1 and len(model.monthly_table()) == 1


def test_ctrl_c_wrapped_by_a_compiled_kernel_surfaces_as_an_interrupt():
    # Ctrl-C landing as a numba kernel returns comes back as a SystemError caused by the
    # KeyboardInterrupt, and one landing in a future's wait as a RuntimeError raised while
    # handling it; the model raises the interrupt itself (a run then prints its one-line
    # "interrupted" message), and the month is not counted. The same errors without an
    # interrupt behind them are raised as they are.
    from sim.platform.policies.static import StaticPolicy

    class Interrupted(StaticPolicy):
        name = "interrupted"
        error: BaseException = SystemError("a plain system error")

        def review(self, view, rng):
            if view.step == 2:
                raise self.error
            return super().review(view, rng)

    def wrapped() -> SystemError:
        try:
            raise SystemError("CPUDispatcher returned a result with an exception set")
        except SystemError as err:
            err.__cause__ = KeyboardInterrupt()
            return err

    def in_a_wait() -> BaseException:
        # Ctrl-C inside a future's Condition.wait leaves the lock released: its exit
        # raises this RuntimeError while the interrupt is being handled.
        return raised(lambda: RuntimeError("cannot release un-acquired lock"), KeyboardInterrupt())

    cases = (
        (wrapped(), KeyboardInterrupt),
        (in_a_wait(), KeyboardInterrupt),
        (SystemError("x"), SystemError),
        (RuntimeError("cannot release un-acquired lock"), RuntimeError),
    )
    for error, expected in cases:
        policy = Interrupted(PolicyConfig())
        policy.error = error
        model = CreditMarketModel(make_run("population.n_borrowers=100"), policy=policy)
        model.step()
        with pytest.raises(expected):
            model.step()
        assert model.steps == 1
        model.close()
