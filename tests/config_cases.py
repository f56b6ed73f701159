"""Hypothesis strategies of valid and invalid run configs (as override lists).

The ranges come from :mod:`tests.config_space` (recorded from the schemas); this module
combines them into runs: every group is touched, the policy and scenario groups are
switched, and the nested policy configs (``base`` of the wrapping policies, the arms of
``champion_challenger``) are filled in too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from sim.config import BookConfig, ChannelConfig, ChannelsConfig, OutputConfig
from sim.platform.policies import policy_class, policy_names
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig
from sim.platform.policies.registry import build_config
from tests.config_space import (
    APART,
    BURN_IN_MONTHS,
    CHOICES,
    DRAW_CAPS,
    GROUPS,
    N_BORROWERS,
    N_MONTHS,
    RELATIONS,
    Bound,
    base_bounds,
    bounds,
    default_run,
    fmt,
    lookup,
    options,
    policy_bounds,
    policy_defaults,
    shock_bounds,
)

WRAPPERS = ("counter_cyclical", "sme_aware")  # policies with a ``base`` behaviour_rules config
ARMS = ("champion", "challenger")
#: Words Hydra's override grammar reads as something other than a string.
KEYWORDS = {"true", "false", "null", "nan", "inf", "yes", "no", "on", "off", "y", "n"}


@dataclasses.dataclass(frozen=True)
class Case:
    """Overrides for ``load_run_config``.

    ``expected``: (path, value) pairs a valid case must find in the loaded config;
    ``names``: strings the error of an invalid case must name (the field's path or name).
    """

    overrides: tuple[str, ...]
    expected: tuple[tuple[str, Any], ...] = ()
    names: tuple[str, ...] = ()


class _Overrides:
    """Ordered overrides: group choices first, ``++`` for the keys of nested dicts."""

    def __init__(self) -> None:
        self.groups: list[str] = []
        self.values: dict[str, Any] = {}
        self.nested: set[str] = set()

    def set(self, path: str, value: Any, nested: bool = False) -> None:
        self.values[path] = value
        if nested:
            self.nested.add(path)

    def case(self, names: tuple[str, ...] = ()) -> Case:
        items = [f"{'++' if p in self.nested else ''}{p}={fmt(v)}" for p, v in self.values.items()]
        checked = tuple(
            (p, v) for p, v in self.values.items() if not p.startswith("scenario.shocks")
        )
        return Case(tuple(self.groups + items), checked, names)


#: Pairs of fields whose sum a schema caps at 1 (ChannelsConfig's credit bands;
#: BehaviourConfig's arrears roll and cure probabilities).
SUMS_AT_MOST_ONE = (
    ("channels.prime_share", "channels.subprime_share"),
    ("population.behaviour.arrears_roll_prob", "population.behaviour.arrears_cure_prob"),
)


def _bool_paths() -> list[str]:
    run = default_run()
    paths = [f"channels.{f.name}" for f in dataclasses.fields(ChannelsConfig) if f.type == "bool"]
    paths += [f"output.{f.name}" for f in dataclasses.fields(OutputConfig) if f.type == "bool"]
    for lender in run.channels.lenders:
        paths += [
            f"channels.lenders.{lender}.{f.name}"
            for f in dataclasses.fields(ChannelConfig)
            if f.type == "bool"
        ]
    return paths


def _order(ov: _Overrides, prefix: str, cls: type, defaults: dict[str, Any]) -> None:
    """Order the pairs of RELATIONS of ``cls`` (swap a drawn pair that breaks one)."""
    for klass in cls.__mro__:
        pair = RELATIONS.get(klass.__name__)
        if pair is None:
            continue
        lo, hi = (f"{prefix}.{f}" for f in pair)
        a, b = (ov.values.get(p, defaults[f]) for p, f in zip((lo, hi), pair, strict=True))
        if a > b:
            ov.set(lo, b, nested=lo in ov.nested or hi in ov.nested)
            ov.set(hi, a, nested=lo in ov.nested or hi in ov.nested)


def _draw_fields(draw, ov: _Overrides, table: dict[str, Bound], most: int, nested=False) -> None:
    if not table:
        return
    chosen = draw(st.lists(st.sampled_from(sorted(table)), max_size=most, unique=True))
    for path in chosen:
        ov.set(path, draw(table[path].values()), nested=nested)


def _policy(draw, ov: _Overrides, name: str) -> None:
    _draw_fields(draw, ov, policy_bounds(name), 4)
    if name == "exposure_cap" and draw(st.booleans()):
        ov.set("policy.budget_metric", draw(st.sampled_from(CHOICES["budget_metric"])))
    if name in WRAPPERS:
        _draw_fields(draw, ov, base_bounds(), 3, nested=True)
        base = dataclasses.asdict(BehaviourRulesConfig())
        _order(ov, "policy.base", BehaviourRulesConfig, base)
    if name == "counter_cyclical" and draw(st.booleans()):
        which = draw(st.lists(st.sampled_from(["downturn", "boom", None]), min_size=4, max_size=4))
        for key in ("downturn", "boom"):
            regimes = [r for r, w in zip(CHOICES["regime"], which, strict=True) if w == key]
            ov.set(f"policy.{key}_regimes", regimes)
    if name == "champion_challenger":
        for arm in ARMS:
            if draw(st.booleans()):
                arm_name = draw(st.sampled_from([n for n in policy_names() if n != name]))
                ov.set(f"policy.{arm}.name", arm_name)
                _draw_fields(draw, ov, policy_bounds(arm_name, f"policy.{arm}"), 3, nested=True)
                arm_cls = policy_class(arm_name).config_class
                defaults = dataclasses.asdict(build_config({"name": arm_name}))
                _order(ov, f"policy.{arm}", arm_cls, defaults)
    _order(ov, "policy", policy_class(name).config_class, policy_defaults(name))


def _lists(draw, ov: _Overrides) -> None:
    """The list-valued options, each with probability 1/2."""
    run = default_run()
    sectors, lenders = list(run.firms.sectors), list(run.channels.lenders)
    if draw(st.booleans()):  # sim/config/platform.py: tiers ascending in [0, 10], bounds in (0, 1)
        k = draw(st.integers(1, 5))
        ov.set(
            "platform.apr_tiers", sorted(draw(st.lists(st.floats(0, 10), min_size=k, max_size=k)))
        )
        inside = st.floats(0, 1, exclude_min=True, exclude_max=True)
        ov.set(
            "platform.pd_tier_bounds",
            sorted(draw(st.lists(inside, min_size=k - 1, max_size=k - 1))),
        )
    if draw(st.booleans()):  # sim/config/scenario.py: 12 multipliers >= 0
        months = st.floats(0, DRAW_CAPS["seasonal_spending"])
        ov.set("scenario.seasonal_spending", draw(st.lists(months, min_size=12, max_size=12)))
    if draw(st.booleans()):
        shocks = []
        for _ in range(draw(st.integers(0, 3))):
            shock = {"regime": draw(st.sampled_from(CHOICES["regime"]))}
            for field in draw(st.lists(st.sampled_from(sorted(shock_bounds())), unique=True)):
                shock[field] = draw(shock_bounds()[field].values())
            shocks.append(shock)
        ov.set("scenario.shocks", shocks)
    for sector in draw(st.lists(st.sampled_from(sectors), max_size=2, unique=True)):
        # sim/config/firms.py SectorConfig.check: 12 multipliers in [0, 100]
        season = st.lists(st.floats(0, 100), min_size=12, max_size=12)
        ov.set(f"firms.sectors.{sector}.seasonality", draw(season))
        suppliers = st.lists(st.sampled_from(sectors), unique=True)
        ov.set(f"firms.sectors.{sector}.supplier_sectors", draw(suppliers))
    if draw(st.booleans()):  # sim/config/channels.py: own_cash first, platform included
        used = draw(st.permutations(lenders))[: draw(st.integers(0, len(lenders)))]
        used.insert(draw(st.integers(0, len(used))), "platform")
        ov.set("channels.order", ["own_cash", *used])
    if draw(st.booleans()):
        ov.set(
            "output.formats",
            # at least one (sim/config/output.py refuses an empty list)
            draw(st.lists(st.sampled_from(CHOICES["output.formats"]), min_size=1, unique=True)),
        )
    for lender in draw(st.lists(st.sampled_from(lenders), max_size=2, unique=True)):
        ov.set(
            f"channels.lenders.{lender}.limit_basis", draw(st.sampled_from(CHOICES["limit_basis"]))
        )
    if draw(st.booleans()):
        start = draw(st.sampled_from(CHOICES["population.start_state"]))
        ov.set("population.start_state", start)
        # PopulationConfig: a book as of a UCI month is the data's own (not underwritten).
        book = "underwritten" if start == "current" else "uci"
        ov.set("population.starting_book", draw(st.sampled_from(("uci", book))))


def _keep_a_sector(ov: _Overrides) -> None:
    """sim/config/firms.py FirmsConfig: the sector shares must not all be 0."""
    run = default_run()
    shares = {
        f"firms.sectors.{s}.share": ov.values.get(f"firms.sectors.{s}.share", c.share)
        for s, c in run.firms.sectors.items()
    }
    if not any(shares.values()):
        for path in shares:
            ov.values.pop(path, None)


@st.composite
def valid_cases(draw) -> Case:
    """A valid run config: every group touched, each field within its schema's range."""
    ov = _Overrides()
    policy = draw(st.sampled_from(options("policy")))
    for group, name in (
        ("population", draw(st.sampled_from(options("population")))),
        ("scenario", draw(st.sampled_from(options("scenario")))),
        ("policy", policy),
    ):
        ov.groups.append(f"{group}={name}")
    ov.set("seed", draw(bounds()["seed"].values()))
    ov.set("n_months", draw(st.integers(*N_MONTHS)))
    ov.set("population.n_borrowers", draw(st.integers(*N_BORROWERS)))
    ov.set("burn_in_months", draw(st.integers(*BURN_IN_MONTHS)))
    table = {p: b for p, b in bounds().items() if p not in APART and p != "seed"}
    for group in GROUPS:
        if group != "policy":
            _draw_fields(draw, ov, {p: b for p, b in table.items() if b.group == group}, 3)
    _order(ov, "book", BookConfig, dataclasses.asdict(BookConfig()))
    # Pairs of shares whose sum a schema caps at 1: the second gives way.
    for first, second in SUMS_AT_MOST_ONE:
        a, b = (ov.values.get(p, lookup(default_run(), p)) for p in (first, second))
        if a + b > 1:
            ov.set(second, 1.0 - a)
    _policy(draw, ov, policy)
    _lists(draw, ov)
    for path in draw(st.lists(st.sampled_from(_bool_paths()), max_size=3, unique=True)):
        ov.set(path, draw(st.booleans()))
    _keep_a_sector(ov)
    return ov.case()
