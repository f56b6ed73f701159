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

Examples: the fast suite runs 25 valid and 64 invalid configs (the file takes about
35 s on 2 cores); ``make test-slow`` runs 200 valid and 300 invalid ones (about 3 min).
Both are derandomized (the same examples on every run, so a failure reproduces) and keep
no example database. Ranges are read from the schemas (``tests/config_space.py``); the
identities are replicated with tolerances that scale with the amounts
(``tests/month_checks.py``). Bugs the fuzz found are the xfail tests at the end, one
minimal reproducer each; the strategies step around them so the fuzz keeps looking.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hydra.errors import ConfigCompositionException
from hypothesis import given, note, settings

from sim.model import CreditMarketModel
from sim.platform.policies import policy_names
from sim.runtime.compose import load_run_config
from tests.config_bad_cases import bad_cases
from tests.config_cases import Case, valid_cases
from tests.config_space import (
    DRAW_CAPS,
    bounds,
    lookup,
    policy_bounds,
    shock_bounds,
    unbounded_fields,
)
from tests.month_checks import assert_state_is_sound, step_and_check

FAST_VALID, FAST_INVALID = 25, 64
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


# Known bugs found by the fuzz, one minimal reproducer each. Each test states the property
# (a config is rejected naming the field, or it runs), so a fix either way makes it pass
# and strict xfail then asks for the marker to go.


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


@pytest.mark.xfail(
    strict=True,
    reason="The nested policy configs (policy.base, the champion_challenger arms) are plain "
    "dicts, so OmegaConf does not type them and check_range only checks ranges: "
    "load_run_config(['policy=sme_aware', '++policy.base.delinquency_dpd=1.5']) and "
    "load_run_config(['policy=sme_aware', '++policy.base.delinquency_cut=true']) are "
    "accepted (an int field given 1.5; a float field given a bool, read as 1), while the "
    "same values for policy=behaviour_rules are rejected.",
)
@pytest.mark.parametrize(
    "override", ["++policy.base.delinquency_dpd=1.5", "++policy.base.delinquency_cut=true"]
)
def test_nested_policy_options_reject_wrong_types(override: str):
    name = override.removeprefix("++").split("=")[0]
    fails_naming_the_field(Case(("policy=sme_aware", override), names=(name,)))


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="platform.central_tendency_pd_12m is accepted anywhere inside (0, 1), but the "
    "scorecard's intercept shift (within +-30 log-odds) reaches mean PDs of about "
    "[1.7e-14, 1 - 1e-13] only: CreditMarketModel(load_run_config(["
    "'platform.pd_calibration=central_tendency', "
    "'platform.central_tendency_pd_12m=1e-20', 'population.n_borrowers=1'])) raises "
    "'ValueError: target_mean_pd=1e-20 cannot be reached' while building the world.",
)
def test_a_mean_pd_near_zero_is_rejected_or_runs():
    overrides = [
        "platform.pd_calibration=central_tendency",
        "platform.central_tendency_pd_12m=1e-20",
        "population.n_borrowers=1",
    ]
    accepted_configs_run(overrides, "platform.central_tendency_pd_12m")


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="-0.0 passes the [0, 1200] / [0, 1000] range checks, but NumPy's exponential "
    "rejects a scale with the sign bit set: CreditMarketModel(load_run_config(["
    "'firms.age_mean_months=-0.0', 'population.n_borrowers=300'])) and the same with "
    "'population.history_months_mean=-0.0' raise 'ValueError: scale < 0' while building.",
)
@pytest.mark.parametrize("field", ["firms.age_mean_months", "population.history_months_mean"])
def test_a_negative_zero_mean_is_rejected_or_runs(field: str):
    accepted_configs_run([f"{field}=-0.0", "population.n_borrowers=300"], field)


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="A policy floor or ceiling with a fraction of a cent is accepted, but "
    "LimitPolicy.clip rounds the clipped limit to the nearest cent, past the floor or the "
    "ceiling, and the platform refuses the decision mid-run: CreditMarketModel("
    "load_run_config(['policy=behaviour_rules', 'population.n_borrowers=400', "
    "'policy.min_limit_cny=10000.625'])).run(1) raises 'cut a limit to 10,000.62 CNY, "
    "below ... policy.min_limit_cny (10,000.62 CNY)'; with ['policy=behaviour_rules', "
    "'population.n_borrowers=400', 'policy.max_limit_cny=5000.675', "
    "'policy.raise_cooldown_months=0'] and run(3): 'raised a limit to 5,000.68 CNY, above "
    "policy.max_limit_cny = 5,000.68'.",
)
@pytest.mark.parametrize(
    ("overrides", "months"),
    [
        (["policy.min_limit_cny=10000.625"], 1),
        (["policy.max_limit_cny=5000.675", "policy.raise_cooldown_months=0"], 3),
    ],
    ids=["floor", "ceiling"],
)
def test_a_sub_cent_floor_or_ceiling_is_rejected_or_kept(overrides: list[str], months: int):
    base = ["policy=behaviour_rules", "population.n_borrowers=400"]
    field = overrides[0].split("=")[0]
    accepted_configs_run(base + overrides, field, months)


# Found by the fuzz: a 0 / 0 RuntimeWarning at the lowest concentration (fixed).
def test_the_lowest_spending_concentration_builds_without_warnings():
    overrides = ["population.behaviour.diversity_concentration=1e-06", "population.n_borrowers=1"]
    accepted_configs_run(overrides, "population.behaviour.diversity_concentration")
