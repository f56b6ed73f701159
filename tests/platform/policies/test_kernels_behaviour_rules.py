"""The compiled behaviour_rules review against NumPy and the per-account reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compiled import set_threads, threads, using
from sim.platform.policies import ReasonCode
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig, BehaviourRulesPolicy
from tests.platform.policies.test_policies_library import make_view

MEMORY = ("_months_since_cut", "_months_since_raise", "_restore_limit_cny", "_clean_months")


def random_case(seed: int, n: int):
    """A random view and a policy with random memory (both from ``seed``)."""
    rng = np.random.default_rng(seed)
    limit = np.round(rng.choice([0.0, 500.0, 3000.0, 12345.67], n) * rng.uniform(0.5, 2, n), 2)
    balance = np.round(np.minimum(limit, rng.uniform(0, 1.1, n) * limit), 2)
    view = make_view(
        n,
        limit_cny=limit,
        initial_limit_cny=np.round(limit * rng.uniform(0.8, 1.3, n), 2),
        balance_cny=balance,
        utilisation=np.where(limit > 0, balance / np.where(limit > 0, limit, 1.0), 0.0),
        is_open=rng.random(n) < 0.9,
        dpd=30 * rng.integers(0, 3, n),
        high_risk_flag=rng.random(n) < 0.15,
        early_repayments_3m=rng.integers(0, 4, n),
        draws_3m=rng.integers(0, 9, n),
        history_months=rng.integers(0, 30, n),
        spending_diversity=rng.uniform(0, 1, n),
        on_time_months=rng.integers(0, 12, n),
    )
    policy = BehaviourRulesPolicy(
        BehaviourRulesConfig(min_limit_cny=float(rng.choice([0.0, 1000.0])))
    )
    policy.reset(n)
    policy._months_since_cut[:] = rng.integers(0, 8, n)
    policy._months_since_raise[:] = rng.integers(0, 8, n)
    policy._restore_limit_cny[:] = np.where(rng.random(n) < 0.3, np.round(limit * 1.5, 2), 0.0)
    policy._clean_months[:] = rng.integers(0, 5, n)
    return view, policy


def reviewed(seed: int, n: int, how: str):
    view, policy = random_case(seed, n)
    with using(how):
        d = policy.review(view, np.random.default_rng(0))
    return d, [getattr(policy, m) for m in MEMORY]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_compiled_equals_reference_and_numpy(seed, n) -> None:
    base, base_memory = reviewed(seed, n, "numpy")
    for how in ("compiled", "reference"):
        d, memory = reviewed(seed, n, how)
        np.testing.assert_array_equal(d.new_limit_cny, base.new_limit_cny, err_msg=how)
        np.testing.assert_array_equal(d.reason, base.reason, err_msg=how)
        assert d.reason.dtype == base.reason.dtype
        for name, a, b in zip(MEMORY, memory, base_memory, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{how} {name}")
            assert a.dtype == b.dtype


def test_one_and_two_threads_identical() -> None:
    before = threads()
    try:
        set_threads(1)
        one, m1 = reviewed(9, 50_000, "compiled")
        set_threads(2 if before >= 2 else 1)
        two, m2 = reviewed(9, 50_000, "compiled")
    finally:
        set_threads(before)
    np.testing.assert_array_equal(one.new_limit_cny, two.new_limit_cny)
    np.testing.assert_array_equal(one.reason, two.reason)
    for a, b in zip(m1, m2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_hand_computed_rows() -> None:
    # Row 0: 30 DPD -> cut by half, 10,000 -> 5,000 (balance 2,000 allows it).
    # Row 1: high-risk flag -> cut by half to 5,000 and 10,000 remembered for restoration.
    # Row 2: stable use (24 on-time months, 50 % used, no early repayment) -> +10 %.
    # Row 3: closed line -> 0 (a cut for the clocks).
    view = make_view(
        4,
        limit_cny=10_000.0,
        balance_cny=[2_000.0, 1_000.0, 5_000.0, 0.0],
        dpd=[30, 0, 0, 0],
        high_risk_flag=[False, True, False, False],
        is_open=[True, True, True, False],
        on_time_months=24,
        history_months=24,
        spending_diversity=0.8,
    )
    for how in ("compiled", "reference", "numpy"):
        policy = BehaviourRulesPolicy(BehaviourRulesConfig())
        policy.reset(4)
        with using(how):
            d = policy.review(view, np.random.default_rng(0))
        assert d.new_limit_cny.tolist() == [5_000.0, 5_000.0, 11_000.0, 0.0], how
        assert d.reason.tolist() == [
            ReasonCode.DELINQUENCY,
            ReasonCode.HIGH_RISK_TRANSACTION,
            ReasonCode.STABLE_USE_INCREASE,
            ReasonCode.NONE,  # the policy gives no reason; closed lines hold limit 0 in runs
        ], how
        assert policy._restore_limit_cny.tolist() == [0.0, 10_000.0, 0.0, 0.0], how
        never = np.iinfo(np.int16).max // 2
        assert policy._months_since_cut.tolist() == [0, 0, never + 1, 0], how
        assert policy._months_since_raise.tolist() == [never + 1, never + 1, 0, never + 1], how
