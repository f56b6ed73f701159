"""Registry of limit policies, keyed by their config-group name (``conf/policy/<name>.yaml``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from sim.policies.base import LimitPolicy

_REGISTRY: dict[str, type[LimitPolicy]] = {}


def register_policy(cls: type[LimitPolicy]) -> type[LimitPolicy]:
    """Class decorator: add a policy class under ``cls.name``.

    Raises:
        ValueError: the name is already registered by another class.
    """
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"policy name {cls.name!r} is already registered by {existing!r}")
    _REGISTRY[cls.name] = cls
    return cls


def policy_names() -> list[str]:
    """Names of all registered policies, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def policy_class(name: str) -> type[LimitPolicy]:
    """The class registered under ``name``.

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"policy.name = {name!r} is not a registered policy; known: {policy_names()}") from None


def build_policy(config: Mapping[str, Any] | Any) -> LimitPolicy:
    """Instantiate a policy from its config (a mapping or a config dataclass).

    The mapping is validated by the policy's config dataclass, so an unknown key or an
    out-of-range value raises with the field's name.

    Raises:
        KeyError: unknown policy name.
        TypeError: unknown config key.
        ValueError: a value outside its allowed range.
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        values = dataclasses.asdict(config)
    else:
        values = dict(config)
    cls = policy_class(values.get("name", ""))
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise TypeError(f"policy {cls.name!r}: unknown config key(s) {unknown}; allowed: {sorted(fields)}")
    return cls(_build_config(cls.config_class, values))


def _build_config(config_class: Callable[..., Any], values: dict[str, Any]) -> Any:
    return config_class(**values)


def _load_builtin() -> None:
    # Importing the package registers every built-in policy module.
    import sim.policies  # noqa: F401
