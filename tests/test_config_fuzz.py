"""Property-based fuzz over run configs (Hypothesis).

1. A random VALID config (overrides over every group, each field within the range its
   schema checks; the policy and scenario groups switched) composes, runs a few hundred
   borrowers for 2-4 months, and keeps every invariant after every month: the money
   identities of ``tests/test_model.py::step_with_checks``, no negative or -0.0 balance,
   limit or due on the platform's or any lender's book, DPD = 30 x missed, defaulted iff
   missed >= 3, charged off only if defaulted, limits finite, PD in [0, 1].
2. A random INVALID config (one field out of its range, a wrong type, an unknown key or
   group option, a broken cross-field rule) fails in ``load_run_config`` with an error
   whose message names the field (its dotted path, or its name).

Examples: the fast suite runs 12 valid and 32 invalid configs (the file takes about
25 s of one core); ``make test-slow`` runs 200 valid and 300 invalid ones (about 3 min).
Both are derandomized (the same examples on every run, so a failure reproduces) and keep
no example database. Ranges are read from the schemas (``tests/config_space.py``); the
identities are replicated with tolerances that scale with the amounts
(``tests/month_checks.py``). Bugs the fuzz found are the tests at the end, one minimal
reproducer each (all fixed; a bug still open would be a strict xfail there, and the
strategies would step around it so that the fuzz keeps looking).
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException
from hypothesis import given, note, settings

from sim.model import CreditMarketModel
from sim.platform.policies import policy_names
from sim.platform.policies.registry import build_config
from sim.runtime.compose import load_run_config
from sim.runtime.errors import UserError
from sim.runtime.preflight import preflight
from tests.config_bad_cases import bad_cases
from tests.config_cases import Case, valid_cases
from tests.config_space import (
    DRAW_CAPS,
    base_bounds,
    bounds,
    lookup,
    policy_bounds,
    shock_bounds,
    unbounded_fields,
)
from tests.month_checks import assert_state_is_sound, step_and_check

FAST_VALID, FAST_INVALID = 8, 16  # in make test (under 5 minutes); SLOW_ in make test-slow
SLOW_VALID, SLOW_INVALID = 200, 300
settings.register_profile(
    "config-fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
)
FUZZ = settings.get_profile("config-fuzz")


def run_and_check(case: Case) -> None:
    note(f"load_run_config({list(case.overrides)!r})")
    run = load_run_config(case.overrides)
    for path, value in case.expected:  # the overrides reached the config as drawn
        got = lookup(run, path)
        assert got == value or (isinstance(value, float) and math.isnan(value)), (path, got, value)
    # The month checks follow each row's money by hand, so the book is closed here (no
    # rows appended, no attrition payoffs); the open book's money identity is checked on
    # the monthly totals by tests/test_open_book.py and tests/outputs/test_audit.py.
    closed = dataclasses.replace(
        run.book,
        applicants_per_month_share=0.0,
        voluntary_close_prob_monthly=0.0,
        inactivity_close_months=0,
        firm_entry_per_month_share=0.0,
    )
    run = dataclasses.replace(run, book=closed)
    with CreditMarketModel(run) as model:
        assert_state_is_sound(model)
        for _ in range(run.n_months):
            step_and_check(model)
            assert_state_is_sound(model)


@settings(FUZZ, max_examples=FAST_VALID)
@given(valid_cases())
def test_valid_configs_run_and_keep_the_invariants(case: Case):
    run_and_check(case)


@pytest.mark.slow
@settings(FUZZ, max_examples=SLOW_VALID)
@given(valid_cases())
def test_valid_configs_run_and_keep_the_invariants_many(case: Case):
    run_and_check(case)


def test_every_unbounded_range_has_a_draw_cap():
    assert unbounded_fields() <= set(DRAW_CAPS)


#: What load_run_config raises for a bad config: the schemas' ValueError / TypeError, the
#: policy registry's KeyError, Hydra's ConfigCompositionException (omegaconf's
#: ValidationError or ConfigKeyError as its cause; MissingConfigException for an unknown
#: group option is a subclass).
CONFIG_ERRORS = (ValueError, TypeError, KeyError, ConfigCompositionException)


def fails_naming_the_field(case: Case) -> None:
    note(f"load_run_config({list(case.overrides)!r})")
    with pytest.raises(CONFIG_ERRORS) as info:
        load_run_config(case.overrides)
    message = str(info.value)
    for name in case.names:  # as a whole word: "months" is not named by "start_months"
        named = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message)
        assert named, f"{name!r} not named in {type(info.value).__name__}: {message}"


@settings(FUZZ, max_examples=FAST_INVALID)
@given(bad_cases())
def test_invalid_configs_fail_naming_the_field(case: Case):
    fails_naming_the_field(case)


@pytest.mark.slow
@settings(FUZZ, max_examples=SLOW_INVALID)
@given(bad_cases())
def test_invalid_configs_fail_naming_the_field_many(case: Case):
    fails_naming_the_field(case)


def test_the_ranges_are_read_from_every_schema():
    groups = {b.group for b in bounds().values()}
    assert groups == {"", "population", "platform", "scenario", "firms", "channels", "book"}
    assert {"months", "start_month", "income_multiplier"} <= set(shock_bounds())
    for name in policy_names():
        assert {"policy.min_limit_cny", "policy.max_limit_cny"} <= set(policy_bounds(name))


# Bugs found by the fuzz, one minimal reproducer each (all fixed): the config is rejected
# when it is loaded, naming the field and what it allows, before anything is written; or
# it runs.


def accepted_configs_run(overrides: list[str], field: str, months: int = 1) -> None:
    try:
        run = load_run_config(overrides)
    except CONFIG_ERRORS as exc:
        assert field in str(exc)
        return
    with CreditMarketModel(run) as model:
        model.run(run.burn_in_months + months)  # ``months`` of the window, under the policy


def test_an_unknown_top_level_key_is_rejected():
    # Found by the fuzz: '+n_month=3' was accepted and ignored.
    for override in ("+n_month=3", "++n_month=3", "+foo.bar=1"):
        with pytest.raises(TypeError, match=r"unknown key\(s\) \['(n_month|foo)'\]"):
            load_run_config([override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["policy=sme_aware", "++policy.base.delinquency_dpd=1.5"],
            "policy.base.delinquency_dpd = 1.5 is not a whole number (allowed: integers in "
            "[0, 10000])",
        ),
        (
            ["policy=sme_aware", "++policy.base.delinquency_cut=true"],
            "policy.base.delinquency_cut = True is not a number (allowed range [0.0, 1.0])",
        ),
        (
            ["policy=counter_cyclical", "++policy.base.raise_cooldown_months=6.0"],
            "policy.base.raise_cooldown_months = 6.0 is not a whole number (allowed: integers "
            "in [0, 10000])",
        ),
        (
            ["policy=champion_challenger", "++policy.champion.delinquency_dpd=2.5"],
            "policy.champion.delinquency_dpd = 2.5 is not a whole number (allowed: integers in "
            "[0, 10000])",
        ),
        (
            ["policy=champion_challenger", "++policy.challenger.cut_above_pd=false"],
            "policy.challenger.cut_above_pd = False is not a number (allowed range [0.0, 1.0])",
        ),
    ],
    ids=["base-int", "base-float", "counter-cyclical-base", "champion", "challenger"],
)
def test_nested_policy_options_reject_wrong_types(overrides: list[str], message: str):
    # Found by the fuzz: the nested configs are plain dicts that OmegaConf does not type,
    # so 1.5 for a whole number and a bool for a number were taken (a bool read as 0 or 1).
    with pytest.raises(ValueError) as info:
        load_run_config(overrides)
    assert str(info.value) == message  # (on the top level OmegaConf's typing refuses them)


def test_every_numeric_policy_option_is_type_checked_on_every_level():
    # A bool is never a number and a fraction never a whole number, whichever policy, arm or
    # base holds the option: every numeric field is range-checked (tests/config_space.py
    # records each check) and the range check refuses both, naming the nested field. (The
    # composed path is the test above; here the nested mappings are built directly.)
    nests = [("sme_aware", "base", None), ("counter_cyclical", "base", None)]
    nests += [
        ("champion_challenger", arm, name)
        for arm in ("champion", "challenger")
        for name in policy_names()
        if name != "champion_challenger"
    ]
    checked = 0
    for outer, nest, name in nests:
        table = base_bounds(f"policy.{nest}") if name is None else policy_bounds(name, "")
        for path, bound in table.items():
            field = path.rsplit(".", 1)[-1]
            for bad in [True, 2.5] if bound.kind is int else [True]:
                inner = {field: bad} | ({"name": name} if name else {})
                with pytest.raises(ValueError, match=rf"^policy\.{nest}\.{field} = {bad!r} is "):
                    build_config({"name": outer, nest: inner})
                checked += 1
    assert checked > 100


def test_a_mean_pd_the_shift_cannot_reach_is_rejected_at_load():
    # Found by the fuzz: 1e-20 was accepted and the build failed ('target_mean_pd=1e-20
    # cannot be reached'); the intercept shift in [-30, 30] reaches [1.5e-14, 1 - 6e-13] on
    # the default book, and the allowed range [1e-6, 1 - 1e-6] on any book whose log-odds
    # lie within +-16.
    for value in ("1e-20", "0.0", "0.9999999", "1.0"):
        with pytest.raises(ValueError) as info:
            load_run_config(["platform.pd_calibration=central_tendency",
                             f"platform.central_tendency_pd_12m={value}"])  # fmt: skip
        assert str(info.value) == (
            f"platform.central_tendency_pd_12m = {float(value)!r} is outside the allowed "
            "range [1e-06, 0.999999]"
        )
    # Both ends of the range are reached on a small book of the data's own accounts (the
    # mean PD is re-levelled to the target exactly; an underwritten book at a mean PD near 1
    # has no applicant under book.approval_max_pd, tests/test_open_book.py).
    for target in (1e-6, 1.0 - 1e-6):
        run = load_run_config(["platform.pd_calibration=central_tendency",
                               f"platform.central_tendency_pd_12m={target!r}",
                               "population.n_borrowers=300",
                               "population.starting_book=uci"])  # fmt: skip
        with CreditMarketModel(run) as model:
            assert model.borrowers.pd_12m.mean() == pytest.approx(target, rel=1e-9)


@pytest.mark.parametrize("field", ["firms.age_mean_months", "population.history_months_mean"])
def test_a_negative_zero_mean_runs_as_zero(field: str):
    # Found by the fuzz: -0.0 is inside the range [0, ...] (-0.0 == 0) but NumPy's
    # exponential refused a scale with the sign bit set ('ValueError: scale < 0'). It now
    # builds the very world of 0.0: the same draws, every firm and history 0 months old.
    size = ["population.n_borrowers=300", "burn_in_months=0", "n_months=1"]
    with (
        CreditMarketModel(load_run_config([f"{field}=-0.0", *size])) as negative,
        CreditMarketModel(load_run_config([f"{field}=0.0", *size])) as zero,
    ):
        if field.startswith("firms"):
            assert negative.firms.n > 0 and (negative.firms.age_months == 0).all()
        else:
            assert (negative.borrowers.history_months == 0).all()
        for name in ("history_months", "limit_cny", "pd_12m"):
            np.testing.assert_array_equal(getattr(negative.borrowers, name),
                                          getattr(zero.borrowers, name))  # fmt: skip
        negative.run()
        zero.run()
        np.testing.assert_array_equal(negative.borrowers.balance_cny, zero.borrowers.balance_cny)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "policy.min_limit_cny=10000.625",
            "policy.min_limit_cny = 10000.625 is not a whole number of cents (allowed: amounts "
            "in steps of 0.01 CNY in [0.0, 1e12])",
        ),
        (
            "policy.max_limit_cny=5000.675",
            "policy.max_limit_cny = 5000.675 is not a whole number of cents (allowed: amounts "
            "in steps of 0.01 CNY in (0.0, 1e12])",
        ),
        (
            "++policy.champion.max_limit_cny=5000.675",
            "policy.champion.max_limit_cny = 5000.675 is not a whole number of cents (allowed: "
            "amounts in steps of 0.01 CNY in (0.0, 1e12])",
        ),
    ],
    ids=["floor", "ceiling", "arm-ceiling"],
)
def test_a_sub_cent_floor_or_ceiling_is_rejected_at_load(override: str, message: str):
    # Found by the fuzz: LimitPolicy.clip rounds every limit to the cent, so a limit clipped
    # to a floor of 10,000.625 became 10,000.62 (under the floor) and the platform refused
    # the decision mid-run. Now the config is refused before any run folder is made.
    policy = "policy=champion_challenger" if "champion" in override else "policy=behaviour_rules"
    with pytest.raises(ValueError) as info:
        load_run_config([policy, override])
    assert str(info.value) == message
    # Whole cents run (a cut lands on the floor exactly): the reproducer of the bug.
    run = load_run_config(["policy=behaviour_rules", "population.n_borrowers=400",
                           "burn_in_months=0", "policy.min_limit_cny=10000.62"])  # fmt: skip
    with CreditMarketModel(run) as model:
        events = model.run(1).limit_events()
    assert (events["new_limit_cny"] == 10000.62).any()


def test_the_command_line_refuses_them_before_any_run():
    # The command line validates every job with the same checks before anything is written
    # (sim/runtime/preflight.py; no folder is made: tests/runtime/test_fail_fast.py).
    cases = [
        (["policy=sme_aware", "++policy.base.delinquency_cut=true"],
         "policy.base.delinquency_cut = True is not a number (allowed range [0.0, 1.0])"),
        (["platform.central_tendency_pd_12m=1e-20"],
         "platform.central_tendency_pd_12m = 1e-20 is outside the allowed range "
         "[1e-06, 0.999999]"),
        (["policy.min_limit_cny=10000.625"],
         "policy.min_limit_cny = 10000.625 is not a whole number of cents"),
    ]  # fmt: skip
    for overrides, message in cases:
        with pytest.raises(UserError) as info:
            preflight(overrides)
        assert str(info.value).startswith(f"invalid config: {message}")


# Found by the fuzz: a 0 / 0 RuntimeWarning at the lowest concentration (fixed).
def test_the_lowest_spending_concentration_builds_without_warnings():
    overrides = ["population.behaviour.diversity_concentration=1e-06", "population.n_borrowers=1"]
    accepted_configs_run(overrides, "population.behaviour.diversity_concentration")
