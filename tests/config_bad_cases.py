"""Hypothesis strategies of invalid run configs: one thing wrong, and what the error must name.

Each case is a valid config with one fault: a field out of the range its schema checks
(:mod:`tests.config_space`), a value of the wrong type, an unknown key or group option, or
a broken cross-field rule. ``Case.names`` lists what the error message must contain: the
field's dotted path (the container path and the field's name for a list element, whose
messages say ``scenario.shocks[]``), or the unknown key's name. Numbers are wrong in every
way on every level, the nested policy configs (``policy.base``, the arms) included: a bool,
a fraction for a whole number, a fraction of a cent for a policy's floor or ceiling.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from sim.config import (
    BehaviourConfig,
    ChannelConfig,
    ChannelsConfig,
    FirmsConfig,
    OutputConfig,
    PlatformConfig,
    PopulationConfig,
    ScenarioConfig,
    SectorConfig,
    ShockConfig,
)
from sim.config.registration import _HydraRunSchema
from sim.platform.policies import policy_class, policy_names
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig
from tests.config_cases import ARMS, KEYWORDS, WRAPPERS, Case, _bool_paths
from tests.config_space import (
    CHOICES,
    DRAW_CAPS,
    Bound,
    base_bounds,
    bounds,
    default_run,
    fmt,
    options,
    policy_bounds,
    policy_defaults,
    shock_bounds,
)

WORDS = st.from_regex(r"[a-z][a-z_]{0,9}", fullmatch=True).filter(lambda w: w not in KEYWORDS)
BOOL_WORDS = {"y", "yes", "on", "true", "1", "n", "no", "off", "false", "0"}  # OmegaConf's bools
SHOCK = "scenario.shocks.0"  # the one shock of conf/scenario/downturn.yaml


def _names(path: str) -> tuple[str, ...]:
    """What an error about ``path`` must name (a list element: the list and the field)."""
    if path.startswith(SHOCK):
        return ("scenario.shocks", path.rsplit(".", 1)[-1])
    return (path,)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _field_table(draw) -> tuple[list[str], dict[str, Bound], bool]:
    """A context (group overrides) and the bounds it offers; True if nested (Any dicts)."""
    where = draw(st.sampled_from(["run", "shock", "policy", "base", "arm"]))
    if where == "run":
        return [], bounds(), False
    if where == "shock":
        return ["scenario=downturn"], {f"{SHOCK}.{f}": b for f, b in shock_bounds().items()}, False
    if where == "policy":
        name = draw(st.sampled_from(policy_names()))
        return [f"policy={name}"], policy_bounds(name), False
    if where == "base":
        return [f"policy={draw(st.sampled_from(WRAPPERS))}"], base_bounds(), True
    arm, arm_name = draw(st.sampled_from(ARMS)), draw(st.sampled_from(_arm_names()))
    context = ["policy=champion_challenger", f"policy.{arm}.name={arm_name}"]
    return context, policy_bounds(arm_name, f"policy.{arm}"), True


def _arm_names() -> list[str]:
    return [n for n in policy_names() if n != "champion_challenger"]


def _bad_number(draw, b: Bound) -> str:
    kinds = ["nonfinite", "text", "null", "list"] + (["below"] if b.low is not None else [])
    kinds += ["above"] if b.high is not None else []
    kinds += ["bool"] + (["fraction"] if b.kind is int else [])
    kinds += ["subcent"] if b.is_whole_cents else []
    kind = draw(st.sampled_from(kinds))
    if kind == "below" and b.kind is int:
        return str(draw(st.integers(max_value=int(b.low) - 1 + b.low_open)))
    if kind == "above" and b.kind is int:
        return str(draw(st.integers(min_value=int(b.high) + 1)))
    if kind == "below":
        closed = st.floats(max_value=b.low, allow_nan=False, allow_infinity=False)
        if b.low_open:
            return repr(draw(closed.filter(lambda v: v <= b.low)))
        return repr(draw(closed.filter(lambda v: v < b.low)))
    if kind == "above":
        above = st.floats(min_value=b.high, allow_nan=False, allow_infinity=False)
        return repr(draw(above.filter(lambda v: v > b.high)))
    if kind == "subcent":  # inside the range, between two cents
        cents = draw(st.integers(0, int(min(b.high, DRAW_CAPS[b.name]) * 100) - 1))
        return repr((cents + draw(st.sampled_from([0.5, 0.25, 0.001]))) / 100)
    if kind == "fraction":
        return repr(draw(st.floats(-1e6, 1e6).filter(lambda v: v != int(v))))
    return draw(
        {
            "nonfinite": st.sampled_from(["nan", "inf", "-inf", "1e999"]),
            "text": WORDS,
            "null": st.just("null"),
            "list": st.sampled_from(["[]", "[1]", "{a: 1}"]),
            "bool": st.sampled_from(["true", "false"]),
        }[kind]
    )


def out_of_range(draw) -> Case:
    context, table, nested = _field_table(draw)
    path = draw(st.sampled_from(sorted(table)))
    value = _bad_number(draw, table[path])
    return Case((*context, f"{'++' if nested else ''}{path}={value}"), names=_names(path))


def bad_choice(draw) -> Case:
    lenders = list(default_run().channels.lenders)
    context, path = draw(
        st.sampled_from(
            [
                ([], "population.start_state"),
                ([], f"channels.lenders.{lenders[0]}.limit_basis"),
                ([], f"channels.lenders.{lenders[-1]}.limit_basis"),
                (["scenario=downturn"], f"{SHOCK}.regime"),
                (["policy=exposure_cap"], "policy.budget_metric"),
                ([], "output.formats"),
            ]
        )
    )
    allowed = set(CHOICES[path if path in CHOICES else path.rsplit(".", 1)[-1]])
    word = draw(WORDS.filter(lambda w: w not in allowed))
    value = f"[{word}]" if path == "output.formats" else word
    return Case((*context, f"{path}={value}"), names=_names(path))


def bad_bool(draw) -> Case:
    path = draw(st.sampled_from(_bool_paths()))
    text = WORDS.filter(lambda w: w not in BOOL_WORDS)
    fraction = st.floats(-10, 10).filter(lambda v: v != int(v)).map(repr)
    value = draw(st.one_of(text, fraction, st.sampled_from(["null", "[true]", "{a: 1}"])))
    return Case((f"{path}={value}",), names=(path,))


def bad_option(draw) -> Case:
    group = draw(
        st.sampled_from(
            ["population", "platform", "scenario", "policy", "firms", "channels", "output"]
        )
    )
    taken = set(options(group))
    word = draw(WORDS.filter(lambda w: w not in taken and not w.endswith("_schema")))
    return Case((f"{group}={word}",), names=(f"{group}/{word}",))


def _containers(draw) -> tuple[list[str], str, set[str], bool]:
    """(context, container path, its keys, nested) of a config node that takes no new keys."""
    run = default_run()
    sector = draw(st.sampled_from(list(run.firms.sectors)))
    lender = draw(st.sampled_from(list(run.channels.lenders)))
    policy = draw(st.sampled_from(policy_names()))
    wrapper = draw(st.sampled_from(WRAPPERS))
    arm = draw(st.sampled_from(ARMS))
    rows = [
        ([], "", _fields(_HydraRunSchema) | {"hydra"}, False),
        ([], "population", _fields(PopulationConfig), False),
        ([], "population.behaviour", _fields(BehaviourConfig), False),
        ([], "platform", _fields(PlatformConfig), False),
        ([], "scenario", _fields(ScenarioConfig), False),
        (["scenario=downturn"], SHOCK, _fields(ShockConfig), False),
        ([], "firms", _fields(FirmsConfig), False),
        ([], f"firms.sectors.{sector}", _fields(SectorConfig), False),
        ([], "channels", _fields(ChannelsConfig), False),
        ([], f"channels.lenders.{lender}", _fields(ChannelConfig), False),
        ([], "output", _fields(OutputConfig), False),
        ([f"policy={policy}"], "policy", _fields(policy_class(policy).config_class), False),
        ([f"policy={wrapper}"], "policy.base", _fields(BehaviourRulesConfig), True),
        (["policy=champion_challenger"], f"policy.{arm}", _arm_keys(arm), True),
    ]
    return draw(st.sampled_from(rows))


def _arm_keys(arm: str) -> set[str]:
    """The keys of an arm of conf/policy/champion_challenger.yaml: its policy's options."""
    name = policy_defaults("champion_challenger")[arm]["name"]
    return _fields(policy_class(name).config_class)


def unknown_key(draw) -> Case:
    context, container, keys, _ = _containers(draw)
    real = sorted(keys - {"hydra"})
    typo = st.tuples(st.sampled_from(real), st.integers(0, 40)).map(
        lambda ki: ki[0][: ki[1] % len(ki[0])] + ki[0][ki[1] % len(ki[0]) + 1 :]
    )
    key = draw(st.one_of(typo, WORDS).filter(lambda k: k and k not in keys and k[0].isalpha()))
    mode = draw(st.sampled_from(["", "+", "++"]))
    path = f"{container}.{key}" if container else key
    return Case((*context, f"{mode}{path}=1"), names=(key,))


def broken_rule(draw) -> Case:
    """A cross-field rule broken; each row cites the schema that checks it."""
    run = default_run()
    sector = draw(st.sampled_from(list(run.firms.sectors)))
    lenders = list(run.channels.lenders)
    small, large = sorted(draw(st.lists(st.floats(1e-3, 1.0), min_size=2, max_size=2, unique=True)))
    rule = draw(st.sampled_from(range(13)))
    if rule == 0:  # sim/platform/policies/base.py PolicyConfig: min_limit_cny <= max_limit_cny
        name = draw(st.sampled_from(policy_names()))
        cap = DRAW_CAPS["min_limit_cny"]
        low = round(small * cap, 2)  # whole cents (base.py: check_whole_cents)
        high = max(round(large * cap, 2), round(low + 0.01, 2))
        ov = (
            f"policy={name}",
            f"policy.min_limit_cny={high!r}",
            f"policy.max_limit_cny={low!r}",
        )
        return Case(ov, names=("policy.min_limit_cny", "policy.max_limit_cny"))
    if rule == 1:  # sim/platform/policies/pd_threshold.py: raise_below_pd <= cut_above_pd
        ov = (
            "policy=pd_threshold",
            f"policy.raise_below_pd={large!r}",
            f"policy.cut_above_pd={small!r}",
        )
        return Case(ov, names=("policy.raise_below_pd", "policy.cut_above_pd"))
    if rule == 2:  # behaviour_rules.py: stable_max_utilisation >= stable_min_utilisation
        nested = draw(st.booleans())
        prefix = "++policy.base" if nested else "policy"
        context = (
            f"policy={draw(st.sampled_from(WRAPPERS))}" if nested else "policy=behaviour_rules"
        )
        ov = (
            context,
            f"{prefix}.stable_min_utilisation={large!r}",
            f"{prefix}.stable_max_utilisation={small!r}",
        )
        return Case(ov, names=(f"{prefix.lstrip('+')}.stable_max_utilisation",))
    if rule == 3:  # sim/config/platform.py: central_tendency_pd_12m where the shift reaches
        value = draw(st.sampled_from(["0.0", "1.0", "-0.0", "0", "1", "1e-20", "0.9999999999999"]))
        return Case(
            (f"platform.central_tendency_pd_12m={value}",),
            names=("platform.central_tendency_pd_12m",),
        )
    if rule == 4:  # sim/config/platform.py: apr_tiers non-decreasing, in [0, 10]
        tiers = sorted(draw(st.lists(st.floats(0, 10), min_size=4, max_size=4, unique=True)))
        bad = draw(
            st.sampled_from(
                [
                    tiers[::-1],
                    [*tiers[:3], draw(st.floats(10, exclude_min=True, allow_infinity=False))],
                ]
            )
        )
        return Case((f"platform.apr_tiers={fmt(bad)}",), names=("platform.apr_tiers",))
    if (
        rule == 5
    ):  # sim/config/platform.py: pd_tier_bounds one fewer than apr_tiers, ascending in (0, 1)
        inside = st.floats(1e-6, 1 - 1e-6)
        size = draw(st.sampled_from([0, 1, 2, 4, 5, 6]))
        a, b = sorted(draw(st.lists(inside, min_size=2, max_size=2, unique=True)))
        outside = draw(st.sampled_from([0.0, 1.0, -0.5, 1.5]))
        wrong_size = sorted(draw(st.lists(inside, min_size=size, max_size=size)))
        bad = draw(st.sampled_from([wrong_size, sorted([a, b, outside]), [b, a, 0.999999]]))
        return Case((f"platform.pd_tier_bounds={fmt(bad)}",), names=("platform.pd_tier_bounds",))
    if rule == 6:  # sim/config/scenario.py: 12 multipliers >= 0
        size = draw(st.integers(0, 20).filter(lambda n: n != 12))
        bad = draw(st.sampled_from([[1.0] * size, [1.0] * 11 + [-draw(st.floats(1e-9, 10))]]))
        return Case(
            (f"scenario.seasonal_spending={fmt(bad)}",), names=("scenario.seasonal_spending",)
        )
    if rule == 7:  # sim/config/firms.py SectorConfig.check: 12 multipliers in [0, 100]
        bad = draw(
            st.sampled_from([[1.0] * 11, [1.0] * 13, [1.0] * 11 + [100.5], [-1.0] + [1.0] * 11])
        )
        path = f"firms.sectors.{sector}.seasonality"
        return Case((f"{path}={fmt(bad)}",), names=(path,))
    if rule == 8:  # sim/config/firms.py FirmsConfig: supplier sectors name sectors
        word = draw(WORDS.filter(lambda w: w not in run.firms.sectors))
        path = f"firms.sectors.{sector}.supplier_sectors"
        return Case((f"{path}=[{word}]",), names=(path,))
    if rule == 9:  # sim/config/channels.py ChannelsConfig: the waterfall's order
        word = draw(WORDS.filter(lambda w: w not in lenders and w not in ("own_cash", "platform")))
        bad = draw(
            st.sampled_from(
                [
                    ["own_cash", *lenders],
                    ["platform", *lenders],
                    ["platform", "own_cash", *lenders],
                    ["own_cash", "platform", lenders[0], lenders[0]],
                    ["own_cash", "platform", word],
                ]
            )
        )
        return Case((f"channels.order={fmt(bad)}",), names=("channels.order",))
    if rule == 10:  # counter_cyclical.py: downturn and boom regimes disjoint
        shared = draw(st.sampled_from(CHOICES["regime"]))
        ov = (
            "policy=counter_cyclical",
            f"policy.downturn_regimes=[{shared}]",
            f"policy.boom_regimes=[{shared}]",
        )
        return Case(ov, names=("policy.downturn_regimes", "policy.boom_regimes"))
    if rule == 11:
        return all_shares_zero()
    # champion_challenger.py: an arm is a registered policy other than itself.
    arm = draw(st.sampled_from(ARMS))
    name = draw(
        st.one_of(st.just("champion_challenger"), WORDS.filter(lambda w: w not in policy_names()))
    )
    return Case(
        ("policy=champion_challenger", f"policy.{arm}.name={name}"), names=(f"policy.{arm}.name",)
    )


def all_shares_zero() -> Case:
    """sim/config/firms.py FirmsConfig: the sector shares must not all be 0."""
    zeros = tuple(f"firms.sectors.{s}.share=0.0" for s in default_run().firms.sectors)
    return Case(zeros, names=("firms.sectors",))


@st.composite
def bad_cases(draw) -> Case:
    """An invalid run config: a valid one with one fault."""
    make = draw(
        st.sampled_from(
            [out_of_range, out_of_range, bad_choice, bad_bool, bad_option, unknown_key, broken_rule]
        )
    )
    case = make(draw)
    if not any(o.startswith("population=") for o in case.overrides) and draw(st.booleans()):
        # The fault still shows with the other population (a valid group switch).
        population = f"population={draw(st.sampled_from(options('population')))}"
        case = dataclasses.replace(case, overrides=(population, *case.overrides))
    return case
