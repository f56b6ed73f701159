"""Registry of limit policies, keyed by their config-group name (``conf/policy/<name>.yaml``)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from sim.platform.policies.base import LimitPolicy, PolicyConfig

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
        raise KeyError(
            f"policy.name = {name!r} is not a registered policy; known: {policy_names()}"
        ) from None


def build_config(config: Mapping[str, Any] | Any) -> PolicyConfig:
    """Validate a policy config and return it as the policy's config dataclass.

    Args:
        config: a mapping (plain ``dict`` or OmegaConf ``DictConfig``, resolved here) with
            a ``name`` key, or an instance of a policy config dataclass.

    Returns:
        An instance of ``policy_class(name).config_class``.

    Raises:
        KeyError: unknown policy name.
        TypeError: unknown config key, or ``config`` is not a mapping.
        ValueError: a value outside its allowed range.
    """
    values = _as_dict(config)
    cls = policy_class(values.get("name", ""))
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise TypeError(
            f"policy {cls.name!r}: unknown config key(s) {unknown}; allowed: {sorted(fields)}"
        )
    return cls.config_class(**values)


def build_policy(config: Mapping[str, Any] | Any) -> LimitPolicy:
    """Instantiate a policy from its config (a mapping or a config dataclass).

    The mapping is validated by the policy's config dataclass (:func:`build_config`), so
    an unknown key or an out-of-range value raises with the field's name. An OmegaConf
    ``DictConfig`` (e.g. Hydra's composed ``cfg.policy``) is accepted and resolved.

    Raises:
        KeyError: unknown policy name.
        TypeError: unknown config key.
        ValueError: a value outside its allowed range.
    """
    built = build_config(config)
    return policy_class(built.name)(built)


def _as_dict(config: Mapping[str, Any] | Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: copy.deepcopy(getattr(config, f.name)) for f in dataclasses.fields(config)}
    from omegaconf import OmegaConf

    if OmegaConf.is_config(config):
        values = OmegaConf.to_container(config, resolve=True)
        if not isinstance(values, dict):
            raise TypeError(f"policy config must be a mapping, got a {type(values).__name__}")
        return {str(k): v for k, v in values.items()}
    if not isinstance(config, Mapping):
        raise TypeError(f"policy config must be a mapping, got a {type(config).__name__}")
    return dict(config)


def _load_builtin() -> None:
    # Importing the package registers every built-in policy module.
    import sim.platform.policies  # noqa: F401
