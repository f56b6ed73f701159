"""The household month's compiled kernel against its per-borrower reference and NumPy.

The oracle: on small random worlds (Hypothesis) the compiled kernel, the plain-Python
reference and the NumPy blocks leave every state array and every flow identical to the
bit, month after month; one and two threads give the same; a hand-computed month.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sim import BorrowerState
from sim.compiled import set_threads, threads, using
from sim.config import BehaviourConfig
from sim.units import round_cny
from sim.world import household_kernel, household_reference
from sim.world.borrowers import BehaviourType
from sim.world.draws import draw_world
from sim.world.households import household_month
from tests.world.test_households import MACRO, QUIET, quiet_draws

T = BehaviourType
UNIFORMS = (
    "u_job",
    "u_expense_shock",
    "u_skip",
    "u_habit",
    "u_race",
    "u_high_risk",
    "u_line_draws",
)


@numba.njit
def _compiled_logit_expit(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, ex = np.empty_like(p), np.empty_like(t)
    for i in range(p.size):
        lo[i] = household_kernel.logit(p[i])
    for i in range(t.size):
        ex[i] = household_kernel.expit(t[i])
    return lo, ex


def _arrays(flows: object) -> list[np.ndarray]:
    """The flows' arrays themselves (``dataclasses.astuple`` would copy them)."""
    return [getattr(flows, f.name) for f in dataclasses.fields(flows)]


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).view(np.uint8)


def test_logit_expit_and_cents_match_scipy_and_round_cny_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    eps = 1e-12
    p = np.concatenate(
        [
            rng.random(100_000),
            rng.uniform(0.29, 0.66, 50_000),  # both sides of SciPy's log1p branch
            np.nextafter([0.3, 0.3, 0.65, 0.65], [0.0, 1.0, 0.0, 1.0]),
            [eps, 1 - eps, 0.3, 0.65, 0.5, 0.03, 0.82, 0.91],
        ]
    )
    edges = np.concatenate([np.linspace(-710.0, -708.0, 70), [-745.2, -800.0, 0.0, 40.0]])
    t = np.concatenate([edges, rng.normal(0.0, 6.0, 100_000), rng.uniform(-800, 800, 20_000)])
    want_logit, want_expit = special.logit(p), special.expit(t)
    got_logit, got_expit = _compiled_logit_expit(p, t)
    np.testing.assert_array_equal(_bits(got_logit), _bits(want_logit))
    np.testing.assert_array_equal(_bits(got_expit), _bits(want_expit))
    ref_logit = np.array([household_reference.logit(float(x)) for x in p])
    ref_expit = np.array([household_reference.expit(float(x)) for x in t])
    np.testing.assert_array_equal(_bits(ref_logit), _bits(want_logit))
    np.testing.assert_array_equal(_bits(ref_expit), _bits(want_expit))
    assert household_reference.expit(-1e6) == 0.0 == special.expit(-1e6)
    money = np.concatenate([rng.normal(0, 1e4, 100_000), np.arange(-2_000, 2_001) * 0.005])
    cents = np.array([household_reference.cents(float(x)) for x in money])
    np.testing.assert_array_equal(_bits(cents), _bits(round_cny(money)))


def _random_world(rng: np.random.Generator, n: int, grown: bool) -> BorrowerState:
    """``n`` borrowers with mixed types, states and amounts (many exact ties)."""

    def money(hi: float) -> np.ndarray:
        round_values = np.array([0.0, 100.0, 150.0, 300.0, 1_000.0, 5_000.0, 10_000.0])
        pick = rng.random(n) < 0.3
        return np.where(pick, rng.choice(round_values, n), np.round(rng.uniform(0, hi, n), 2))

    limit = money(20_000)
    values = dict(
        behaviour_type=rng.integers(0, len(T), n),
        employed=rng.random(n) < 0.8,
        savvy=rng.random(n) < 0.3,
        full_payer=rng.random(n) < 0.4,
        defaulted=rng.random(n) < 0.1,
        missed=rng.integers(0, 4, n) * (rng.random(n) < 0.4),
        income_base_cny=money(20_000),
        savings_cny=money(40_000),
        savings_target_cny=money(40_000),
        limit_cny=limit,
        initial_limit_cny=np.where(rng.random(n) < 0.5, limit, money(20_000)),
        balance_cny=money(20_000),
        statement_cny=money(20_000),
        min_due_cny=money(1_000),
        arrears_cny=money(600) * (rng.random(n) < 0.5),
        earmarked_cny=money(3_000) * (rng.random(n) < 0.2),
        target_utilisation=rng.uniform(0.0, 1.2, n),  # habits past the limit too
        months_since_draw=rng.integers(0, 10_001, n),
        delinquent_recent=rng.random((6, n)) < 0.3,
        draws_recent=rng.integers(0, 5, (3, n)),
        early_recent=rng.integers(0, 5, (3, n)),
    )
    if not grown:
        return BorrowerState.blank(n, **values)
    # A grown book: its arrays are views of wider buffers (sim.rows), as in a long run.
    k = n // 2
    head = BorrowerState.blank(k, **{f: v[..., :k] for f, v in values.items()})
    head.append(BorrowerState.blank(n - k, **{f: v[..., k:] for f, v in values.items()}))
    return head


@st.composite
def _configs(draw: st.DrawFn) -> BehaviourConfig:
    roll = draw(st.sampled_from([0.0, 0.03, 0.3]))
    return BehaviourConfig(
        income_sigma=draw(st.sampled_from([0.0, 0.1, 0.4])),
        needs_sigma=draw(st.sampled_from([0.0, 0.1])),
        discretionary_sigma=draw(st.sampled_from([0.0, 0.35])),
        job_loss_prob_monthly=draw(st.sampled_from([0.0025, 0.3])),
        job_find_prob_monthly=draw(st.sampled_from([0.15, 0.6])),
        unemployment_replacement=draw(st.sampled_from([0.0, 0.5])),
        expense_shock_prob_monthly=draw(st.sampled_from([0.0, 0.02, 0.5])),
        arrears_roll_prob=roll,
        arrears_cure_prob=draw(st.sampled_from([0.0, 0.18, 0.7])),
        arrears_full_cure_share=draw(st.sampled_from([0.0, 0.5, 1.0])),
        arrears_cash_sensitivity=draw(st.sampled_from([0.0, 0.25, 2.0])),
        arrears_seasoned_log_odds=draw(st.sampled_from([0.0, -1.266, 0.8])),
        current_miss_prob=draw(st.sampled_from([0.0, 0.05437, 1.0])),
        full_to_revolving_prob=draw(st.sampled_from([0.05, 0.5])),
        revolving_to_full_prob=draw(st.sampled_from([0.05, 0.5])),
        race_to_default_prob=draw(st.sampled_from([0.3, 1.0])),
        mpb_unconstrained_share=draw(st.sampled_from([0.0, 0.1, 1.0])),
        transactor_draws_per_month=draw(st.sampled_from([0.5, 2.5, 12.0])),
        high_risk_txn_prob_monthly=draw(st.sampled_from([0.005, 0.5])),
        instalment_months=draw(st.sampled_from([1, 12])),
    )


def _run(
    impl: str,
    seed: int,
    n: int,
    grown: bool,
    b: BehaviourConfig,
    months: int,
    others: bool,
    tolerance: float = 0.0,
    recycle: bool = False,
):
    """``months`` household months of a random world under implementation ``impl``.

    ``recycle``: the flows are written over the month's uniforms (checked to happen).
    """
    rng = np.random.default_rng(seed)
    state = _random_world(rng, n, grown)
    flows = []
    for step in range(1, months + 1):
        macro = dataclasses.replace(
            MACRO,
            job_loss_multiplier=float(rng.choice([1.0, 2.5])),
            income_multiplier=float(rng.choice([1.0, 0.8])),
            seasonal_spending=float(rng.choice([1.0, 1.15])),
        )
        draws = draw_world(rng, n, b, habit_rng=rng)
        due = np.round(rng.uniform(0, 3_000, n), 2) * (rng.random(n) < 0.5) if others else None
        debt = np.round(rng.uniform(0, 20_000, n), 2) if others else None
        with using(impl):
            flows.append(
                household_month(
                    state,
                    draws,
                    macro,
                    b,
                    step,
                    other_due_cny=due,
                    other_debt_cny=debt,
                    over_limit_tolerance=tolerance,
                    recycle_draws=recycle,
                )
            )
        if recycle:
            uniforms = {id(getattr(draws, f)) for f in UNIFORMS}
            assert sum(id(x) in uniforms for x in _arrays(flows[-1])) == 7
    return state, flows


def _assert_identical(a, b) -> None:
    (sa, fa), (sb, fb) = a, b
    for f in dataclasses.fields(sa):
        x, y = getattr(sa, f.name), getattr(sb, f.name)
        assert x.dtype == y.dtype and np.array_equal(_bits(x), _bits(y)), f.name
    for month, (x_flows, y_flows) in enumerate(zip(fa, fb, strict=True)):
        for f in dataclasses.fields(x_flows):
            x, y = getattr(x_flows, f.name), getattr(y_flows, f.name)
            assert x.dtype == y.dtype and np.array_equal(_bits(x), _bits(y)), (month, f.name)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    grown=st.booleans(),
    others=st.booleans(),
    b=_configs(),
    tolerance=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_compiled_reference_and_numpy_give_the_same_months_to_the_bit(
    seed: int, n: int, grown: bool, others: bool, b: BehaviourConfig, tolerance: float
) -> None:
    compiled = _run("compiled", seed, n, grown, b, 3, others, tolerance)
    _assert_identical(compiled, _run("reference", seed, n, grown, b, 3, others, tolerance))
    # The flows written over the month's uniforms (the model releases the draws).
    _assert_identical(compiled, _run("compiled", seed, n, grown, b, 3, others, tolerance, True))
    # NumPy's SIMD log may differ from libm's by 1 ULP (0.04 % of values); a decision
    # would move only if a uniform fell within that ULP of its threshold: exact here.
    _assert_identical(compiled, _run("numpy", seed, n, grown, b, 3, others, tolerance))


def test_only_the_compiled_kernel_writes_over_writeable_uniforms_of_their_own() -> None:
    n, b = 50, BehaviourConfig()
    rng = np.random.default_rng(4)
    for impl, shared in (("compiled", 7), ("reference", 0), ("numpy", 0)):
        draws = draw_world(rng, n, b, habit_rng=rng)
        uniforms = {id(getattr(draws, f)) for f in UNIFORMS}
        with using(impl):
            flows = household_month(
                _random_world(rng, n, False), draws, MACRO, b, 1, recycle_draws=True
            )
        assert sum(id(x) in uniforms for x in _arrays(flows)) == shared, impl
    # A read-only, a shared or a strided uniform is left alone.
    draws = draw_world(rng, n, b, habit_rng=rng)
    wide = np.random.default_rng(1).random(2 * n)
    draws = dataclasses.replace(
        draws, u_habit=np.broadcast_to(1.0, n), u_race=draws.u_skip, u_job=wide[::2]
    )
    left = {id(getattr(draws, f)) for f in ("u_expense_shock", "u_high_risk", "u_line_draws")}
    with using("compiled"):
        flows = household_month(
            _random_world(rng, n, False), draws, MACRO, b, 1, recycle_draws=True
        )
    assert {id(x) for x in _arrays(flows)} & {id(getattr(draws, f)) for f in UNIFORMS} == left


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_one_and_two_threads_give_the_same_months() -> None:
    b = BehaviourConfig(current_miss_prob=0.05, arrears_seasoned_log_odds=-1.0)
    before = threads()
    try:
        set_threads(1)
        one = _run("compiled", 11, 30_000, True, b, 2, True)
        set_threads(2)
        two = _run("compiled", 11, 30_000, True, b, 2, True)
    finally:
        set_threads(before)
    _assert_identical(one, two)
    assert one[1][0].draws_cny.sum() > 0 and one[1][1].repayments_cny.sum() > 0


@pytest.mark.parametrize("impl", ["compiled", "reference", "numpy"])
def test_a_household_month_by_hand(impl: str) -> None:
    # QUIET: income 10,000 (5,000 out of work), needs 5,000, no shocks; reserve 10,000.
    n = 6
    s = BorrowerState.blank(
        n,
        behaviour_type=[T.REVOLVER, T.REVOLVER, T.REVOLVER, T.TRANSACTOR, T.TRANSACTOR, T.REVOLVER],
        savvy=[False, False, False, False, True, False],
        employed=[True, True, False, True, True, True],
        savings_cny=[5_000.0, 0.0, 0.0, 20_000.0, 20_000.0, 0.0],
        savings_target_cny=[5_000.0, 0.0, 0.0, 20_000.0, 20_000.0, 0.0],
        limit_cny=[10_000.0, 5_000.0, 4_000.0, 10_000.0, 10_000.0, 0.0],
        initial_limit_cny=[10_000.0, 5_000.0, 4_000.0, 10_000.0, 10_000.0, 0.0],
        balance_cny=[2_000.0, 3_000.0, 1_000.0, 0.0, 0.0, 0.0],
        statement_cny=[2_000.0, 3_000.0, 1_000.0, 0.0, 0.0, 0.0],
        min_due_cny=[200.0, 300.0, 0.0, 0.0, 0.0, 0.0],
        arrears_cny=[0.0, 150.0, 0.0, 0.0, 0.0, 0.0],
        missed=[0, 1, 2, 0, 0, 0],
        months_since_draw=12,
    )
    # Row 1 is behind with x = log(10,000 / 300): latent 0.25 x + logit(0.5) = 0.88 lies
    # between logit(0.03) and logit(0.82): it holds (pays the instalment 150 first). Row 2
    # races to default (u_race 0.1 < 0.3). Rows 3-4 use the line twice (u 0.4: Poisson(2.5)
    # CDF 0.287 <= u < 0.544).
    draws = quiet_draws(n, u_skip=[0.999, 0.5, 0.999, 0.999, 0.999, 0.999], u_line_draws=0.4)
    draws = dataclasses.replace(draws, u_race=np.array([0.999, 0.999, 0.1, 0.999, 0.999, 0.999]))
    other_due = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 6_000.0])
    other_debt = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 20_000.0])
    with using(impl):
        f = household_month(
            s, draws, MACRO, QUIET, 1, other_due_cny=other_due, other_debt_cny=other_debt
        )
    # Row 0 pays 200 x 1.05 = 210, spends needs only (cash 9,790 is below its reserve) and
    # draws 0.6 x (3,000 - 1,790) = 726 towards its habitual balance. Row 1: needs 5,000
    # from cash, hold 150. Row 2: benefit 5,000 pays needs, then draws its 3,000 headroom.
    # Rows 3-4 spend 5,000 from cash above the reserve and put 30 % of 10,000 on the line:
    # the naive one twice, repaid at once; the savvy one once, repaid at the due date.
    # Row 5 pays 5,000 of its 6,000 other dues; its other debt leaves no wish to borrow.
    assert f.income_cny.tolist() == [10_000.0, 10_000.0, 5_000.0, 10_000.0, 10_000.0, 10_000.0]
    assert f.scheduled_payment_cny.tolist() == [210.0, 150.0, 0.0, 0.0, 0.0, 0.0]
    assert f.draws_cny.tolist() == [726.0, 0.0, 3_000.0, 3_000.0, 3_000.0, 0.0]
    assert f.draw_count.tolist() == [1, 0, 1, 2, 1, 0]
    assert f.early_repayment_cny.tolist() == [0.0, 0.0, 0.0, 3_000.0, 0.0, 0.0]
    assert f.early_repayment_count.tolist() == [0, 0, 0, 2, 0, 0]
    assert f.repayments_cny.tolist() == [210.0, 150.0, 0.0, 3_000.0, 0.0, 0.0]
    assert f.consumption_cny.tolist() == [5_726.0, 5_000.0, 5_000.0, 10_000.0, 10_000.0, 5_000.0]
    assert f.other_payment_cny.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 5_000.0]
    assert f.unmet_need_cny.tolist() == [0.0] * n
    assert s.savings_cny.tolist() == [9_790.0, 4_850.0, 3_000.0, 20_000.0, 23_000.0, 0.0]
    assert s.balance_cny.tolist() == [2_516.0, 2_850.0, 4_000.0, 0.0, 3_000.0, 0.0]
    assert s.months_since_draw.tolist() == [0, 13, 0, 0, 0, 13]
    assert s.draws_recent[1].tolist() == [1, 0, 1, 2, 1, 0]
    # The money identity, per borrower.
    before = np.array([5_000.0, 0.0, 0.0, 20_000.0, 20_000.0, 0.0])
    flows = before + f.income_cny + f.draws_cny - f.repayments_cny - f.other_payment_cny
    np.testing.assert_allclose(s.savings_cny, flows - f.consumption_cny, atol=1e-9)
