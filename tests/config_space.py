"""The space of run configs, read from the schemas, for the config fuzz tests.

The numeric ranges are not written here: :func:`bounds` records every
``check_range`` call the schemas make (``sim/config/*.py`` and the policy configs in
``sim/platform/policies/``) while the default config and every registered policy are
validated, so a range changed in a schema changes the fuzz with it. What the schemas
check in other ways is listed in the tables below, each with the line that checks it.
The sizes (borrowers, months) and the caps on ranges without an upper bound are this
module's choice, to keep the runs small and the amounts sane.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
import typing
from typing import Any
from unittest import mock

from hypothesis import strategies as st
from omegaconf import OmegaConf

import sim.platform.policies.base as policy_base
from sim.config import (
    CONF_DIR,
    LIMIT_BASES,
    REGIMES,
    START_STATES,
    STARTING_BOOKS,
    RunConfig,
    ShockConfig,
)
from sim.platform.policies import policy_class, policy_names
from sim.platform.policies.common import INHERITED_FIELDS
from sim.platform.policies.exposure_cap import BUDGET_METRICS
from sim.platform.policies.registry import build_config
from sim.runtime.compose import load_run_config

#: The run's size (the fuzz's choice: a few hundred borrowers, a few months).
N_BORROWERS = (1, 400)
N_MONTHS = (2, 4)
#: Upper ends to draw from where a schema sets no upper bound (keyed by field name).
DRAW_CAPS = {
    "cny_per_twd": 10.0,  # population: x40 the NT$ rate
    "limit_scale": 10.0,  # population
    "min_payment_floor_cny": 10_000.0,  # platform, every lender
    "max_limit_cny": 10_000_000.0,  # every lender; the policies' ceiling
    "min_limit_cny": 1_000_000.0,  # the policies' floor
    "budget_cny": 1e10,  # exposure_cap
    "stable_max_utilisation": 2.0,  # behaviour_rules (its lower end is stable_min_utilisation)
    "seasonal_spending": 10.0,  # scenario: 12 multipliers >= 0
}
#: Fields a schema checks besides check_range (path pattern -> allowed values).
CHOICES = {
    "population.start_state": START_STATES,  # sim/config/population.py, PopulationConfig
    "population.starting_book": STARTING_BOOKS,  # sim/config/population.py
    "limit_basis": LIMIT_BASES,  # sim/config/channels.py, ChannelConfig.check
    "regime": REGIMES,  # sim/config/scenario.py, ShockConfig
    "budget_metric": BUDGET_METRICS,  # sim/platform/policies/exposure_cap.py
    "output.formats": ("png", "svg", "pdf"),  # sim/config/output.py, OutputConfig
}
#: Pairs ``low <= high`` a policy config checks (sim/platform/policies/base.py PolicyConfig;
#: pd_threshold.py PDThresholdConfig; behaviour_rules.py BehaviourRulesConfig).
RELATIONS = {
    "PolicyConfig": ("min_limit_cny", "max_limit_cny"),
    "PDThresholdConfig": ("raise_below_pd", "cut_above_pd"),
    "BehaviourRulesConfig": ("stable_min_utilisation", "stable_max_utilisation"),
    "BookConfig": ("initial_limit_min_cny", "initial_limit_cap_cny"),
}
#: Fields drawn apart from the table: the run's size.
APART = {"n_months", "burn_in_months", "population.n_borrowers"}
#: Burn-in months drawn for a valid case (a few: the burn-in runs `static` first).
BURN_IN_MONTHS = (0, 3)
#: Lower ends that are another field's value (behaviour_rules.py: stable_max_utilisation >=
#: stable_min_utilisation): drawn from this constant, then ordered by RELATIONS.
DYNAMIC_LOW = {("BehaviourRulesConfig", "stable_max_utilisation"): 0.0}
#: Policy fields (policy.*, the arms too) that take whole cents only (sim/platform/policies/
#: base.py PolicyConfig, check_whole_cents): valid draws are rounded to the cent.
WHOLE_CENTS = {"min_limit_cny", "max_limit_cny"}
GROUPS = ("population", "platform", "scenario", "firms", "channels", "book", "output", "policy", "")


@dataclasses.dataclass(frozen=True)
class Bound:
    """One range check: ``path`` (an override key) in ``[low, high]`` of type ``kind``."""

    path: str
    low: float | None
    high: float | None
    low_open: bool
    kind: type
    owner: type

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def is_whole_cents(self) -> bool:
        """A policy's floor or ceiling (whole cents only)."""
        return self.path.startswith("policy.") and self.name in WHOLE_CENTS

    @property
    def group(self) -> str:
        return self.path.split(".", 1)[0] if "." in self.path else ""

    def values(self) -> st.SearchStrategy:
        """Valid values (with -0.0 where 0 is allowed: the schemas accept it)."""
        high = self.high if self.high is not None else DRAW_CAPS[self.name]
        if self.kind is int:
            return st.integers(int(self.low) + self.low_open, int(high))
        strict = self.low_open
        values = st.floats(self.low, high, exclude_min=strict)
        if self.low == 0.0 and not strict:
            values = values | st.just(-0.0)
        if self.is_whole_cents:
            values = values.map(lambda v: round(v, 2)).filter(lambda v: v > 0 or not strict)
        return values


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def default_run() -> RunConfig:
    return load_run_config()


@functools.cache
def _recorded() -> tuple[list[tuple], dict[str, list[tuple]]]:
    """``check_range`` calls ``(obj, prefix, field, low, high, low_open)``: run, per policy."""
    original = policy_base.check_range
    calls: list[tuple] = []
    policy_names()  # imports every policy module, so that each is patched below

    def record(obj, field, low, high, *, low_open=False, prefix="policy"):
        calls.append((obj, prefix, field, low, high, low_open))
        return original(obj, field, low, high, low_open=low_open, prefix=prefix)

    modules = [
        m
        for n, m in list(sys.modules.items())
        if n.startswith("sim.") and getattr(m, "check_range", None) is original
    ]
    with contextlib.ExitStack() as stack:
        for module in modules:
            stack.enter_context(mock.patch.object(module, "check_range", record))
        run_calls = _calls_of(calls, load_run_config)
        run_calls += _calls_of(calls, ShockConfig)
        per_policy = {
            n: _calls_of(calls, lambda n=n: build_config({"name": n})) for n in policy_names()
        }
    return run_calls, per_policy


def _calls_of(calls: list, make) -> list[tuple]:
    start = len(calls)
    make()
    return calls[start:]


def _bound(path: str, obj: Any, field: str, low, high, low_open) -> Bound:
    low = DYNAMIC_LOW.get((type(obj).__name__, field), low)
    return Bound(path, low, high, low_open, _hints(type(obj))[field], type(obj))


@functools.cache
def bounds() -> dict[str, Bound]:
    """Every range the run's groups check, by override path (``policy.*`` apart)."""
    run_calls, _ = _recorded()
    out = {}
    for obj, prefix, field, low, high, low_open in run_calls:
        if prefix == "policy" or prefix.startswith("scenario.shocks"):
            continue
        path = f"{prefix}.{field}" if prefix else field
        out.setdefault(path, _bound(path, obj, field, low, high, low_open))
    return out


@functools.cache
def shock_bounds() -> dict[str, Bound]:
    run_calls, _ = _recorded()
    return {
        f: _bound(f"scenario.shocks.0.{f}", obj, f, lo, hi, op)
        for obj, prefix, f, lo, hi, op in run_calls
        if prefix.startswith("scenario.shocks")
    }


@functools.cache
def policy_bounds(name: str, prefix: str = "policy") -> dict[str, Bound]:
    """The ranges of policy ``name``'s own fields, as ``<prefix>.<field>``."""
    _, per_policy = _recorded()
    cls = policy_class(name).config_class
    out = {}
    for obj, _, field, low, high, low_open in per_policy[name]:
        if type(obj) is cls:
            path = f"{prefix}.{field}"
            out.setdefault(path, _bound(path, obj, field, low, high, low_open))
    return out


def base_bounds(prefix: str = "policy.base") -> dict[str, Bound]:
    """The ranges of the ``behaviour_rules`` options a wrapping policy's ``base`` takes."""
    own = policy_bounds("behaviour_rules", prefix)
    return {p: b for p, b in own.items() if b.name not in INHERITED_FIELDS}


def policy_defaults(name: str) -> dict[str, Any]:
    """Policy ``name``'s options as ``conf/policy/<name>.yaml`` sets them."""
    raw = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "policy" / f"{name}.yaml"))
    raw.pop("defaults", None)
    return dataclasses.asdict(build_config(raw))


def options(group: str) -> list[str]:
    """The options of a config group: its YAML files in ``conf/``."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def fmt(value: Any) -> str:
    """A value as Hydra's override grammar reads it back (floats by ``repr``: exact)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def lookup(run: RunConfig, path: str) -> Any:
    """The value at an override ``path`` of a validated run (dataclasses and dicts)."""
    node: Any = run
    for part in path.split("."):
        if isinstance(node, dict):
            node = node[part]
        elif isinstance(node, list):
            node = node[int(part)]
        else:
            node = getattr(node, part)
    return node


def unbounded_fields() -> set[str]:
    """Names of the table's fields without an upper bound (each needs a DRAW_CAP)."""
    every = list(bounds().values()) + [b for n in policy_names() for b in policy_bounds(n).values()]
    return {b.name for b in every if b.high is None and b.path not in APART}
