"""The scenario stage's split world stream draws the numbers of one stream drawn in order."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import BehaviourConfig
from sim.world.draws import _world_shocks, draw_world, uniforms_ahead

FIELDS = (
    "u_job", "u_expense_shock", "u_skip", "u_race", "u_high_risk", "u_line_draws",
    "z_income", "z_needs", "z_discretionary", "e_expense_shock",
)  # fmt: skip


@pytest.mark.parametrize("n", [0, 1, 7, 1000, 4099])
@pytest.mark.parametrize("half_word", [False, True])
def test_split_draws_equal_the_in_order_draws_and_leave_the_same_state(n, half_word):
    behaviour = BehaviourConfig()
    ordered, split = np.random.default_rng(11), np.random.default_rng(11)
    if half_word:  # an odd number of float32 draws leaves half a 64-bit word buffered
        ordered.random(3, dtype=np.float32)
        split.random(3, dtype=np.float32)
        assert split.bit_generator.state["has_uint32"] == 1
    expected = draw_world(ordered, n, behaviour)
    filler, rest = uniforms_ahead(split, n, 6)
    assert rest is split
    shocks = _world_shocks(rest, n)  # drawn before the uniforms, as the stage may
    uniforms = tuple(np.empty(n) for _ in range(6))
    filler(uniforms)
    for name, got in zip(FIELDS, (*uniforms, *shocks), strict=True):
        want = getattr(expected, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert split.bit_generator.state == ordered.bit_generator.state
    # and the next month's draws go on identically
    np.testing.assert_array_equal(split.standard_normal(5), ordered.standard_normal(5))


def test_a_bit_generator_without_advance_is_drawn_in_order():
    ordered = np.random.Generator(np.random.MT19937(3))
    split = np.random.Generator(np.random.MT19937(3))
    filler, rest = uniforms_ahead(split, 10, 6)
    six = tuple(np.empty(10) for _ in range(6))
    filler(six)
    np.testing.assert_array_equal(six[5], [ordered.random(10) for _ in range(6)][5])
    np.testing.assert_array_equal(rest.random(4), ordered.random(4))


def test_the_scenario_stage_draws_every_stream_as_drawn_in_order():
    from sim import BorrowerState, Month, build_world, load_run_config
    from sim.platform.scorecard import FEATURE_NAMES, Scorecard
    from sim.world.draws import draw_firm_world, draw_lender_world, scenario_stage

    config = load_run_config(["n_months=6", "burn_in_months=0"])
    card = Scorecard(coef=np.zeros(len(FEATURE_NAMES)), intercept=-4.0)
    world = build_world(config, borrowers=BorrowerState.blank(301), scorecard=card)
    assert world.firms.n > 0 and world.channels.k > 0
    names = ("world", "habits", "firms", "lenders")
    twins = {name: np.random.default_rng(0) for name in names}
    for name in names:
        twins[name].bit_generator.state = world.rngs[name].bit_generator.state
    for step in (1, 2):  # the second month starts from a half-used word if one is left
        month = Month(step=step)
        scenario_stage(world, month)
        n = world.borrowers.n
        want = draw_world(twins["world"], n, config.population.behaviour, habit_rng=twins["habits"])
        for name in (*FIELDS, "u_habit"):
            np.testing.assert_array_equal(getattr(month.draws, name), getattr(want, name))
        firms = draw_firm_world(twins["firms"], world.firms.n)
        for name in ("z_persistent", "z_transitory", "u_exit"):
            np.testing.assert_array_equal(getattr(month.firm_draws, name), getattr(firms, name))
        lenders = draw_lender_world(twins["lenders"], world.channels.k, n)
        np.testing.assert_array_equal(month.lender_draws, lenders)
        assert month.lender_draws.dtype == np.float32
        for name in names:
            assert world.rngs[name].bit_generator.state == twins[name].bit_generator.state
