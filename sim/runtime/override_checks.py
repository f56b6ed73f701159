"""Overrides refused before any composition: what Hydra would accept but a run must not.

Checked on the parsed command line (:func:`check_overrides`), before Hydra composes or
writes anything, by :func:`sim.runtime.preflight.preflight` and
:func:`sim.runtime.compose.load_run_config`:

- a deletion (``~seed``, ``~population``, ``~policy.cut_above_pd``) of anything outside
  ``hydra``: every key and group of the run config is needed (the run would fall back to a
  schema default, or fail half way);
- an override without a key (``=3``);
- a label of a config group (``population.name=uci_2005``): it would relabel the run
  without changing its parameters; the group is chosen instead (``population=uci_2005``);
- a group choice ending in ``_schema`` (``policy=static_schema``, or a glob or list that
  picks one): those are the structured-config schemas, not options to pick.

:func:`check_repeated_keys` refuses a key the command line gives twice, once swept: Hydra
applies both and keeps the last, so ``-m seed=0,1 seed=5`` would silently run one job. A
value given twice stays Hydra's "the last counts" (scripts add a tweak to a base list),
and so does a command-line override of a sweep's configured ``params``.

A sweep's run folders are checked in :mod:`sim.runtime.run_folders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.types import Glob, Override
from omegaconf import DictConfig, OmegaConf

from sim.runtime.errors import UserError

__all__ = [
    "LABELS",
    "OverrideError",
    "bool_problem",
    "check_command_line",
    "check_overrides",
    "check_repeated_keys",
]

#: Fields that only name a config group's chosen option (the group is chosen instead).
LABELS = {"population.name": "population", "scenario.name": "scenario", "policy.name": "policy"}

_SCHEMA_SUFFIX = "_schema"


class OverrideError(ValueError):
    """A refused override; ``sweep`` is True when a sweep's values are at fault."""

    def __init__(self, message: str, *, sweep: bool = False) -> None:
        super().__init__(message)
        self.sweep = sweep


def check_overrides(overrides: Sequence[Override], loader: ConfigLoader) -> None:
    """Refuse deletions, key-less overrides, label overrides and ``*_schema`` choices.

    Args:
        overrides: the parsed command line (Hydra's ``OverridesParser``), a sweep's
            overrides before they are expanded into jobs included.
        loader: the config loader, to tell config groups from values and list options.

    Raises:
        OverrideError: one line naming the override and what to write instead
            (``sweep`` set when a sweep's values pick a schema).
    """
    for o in overrides:
        line = o.input_line or o.key_or_group
        key = o.key_or_group
        if o.is_hydra_override():
            continue
        if not key:
            raise OverrideError(f"{line!r} has no key: write key=value (for example seed=3)")
        options = _options(loader, key)
        if o.is_delete():
            raise OverrideError(_deletion_text(line, key, options))
        if key in LABELS and o.package is None:
            group = LABELS[key]
            raise OverrideError(
                f"{line} would only relabel the run (its {group} stays the one chosen): "
                f"choose the {group} instead ({_choice_hint(o, group, _options(loader, group))})",
                sweep=o.is_sweep_override(),
            )
        if options:
            _check_group_choice(o, line, key, options)


def check_command_line(overrides: Sequence[Override], loader: ConfigLoader) -> None:
    """:func:`check_overrides` for the command line: its refusal as a one-line user error.

    Raises:
        UserError: ``invalid config: ...`` (``invalid sweep: ...`` for a sweep's values).
    """
    try:
        check_overrides(overrides, loader)
    except OverrideError as err:
        raise UserError(f"invalid {'sweep' if err.sweep else 'config'}: {err}") from err


def check_repeated_keys(overrides: Sequence[Override]) -> None:
    """Refuse a key (with its package) the command line ``overrides`` give twice, once swept.

    Hydra keeps the last: a sweep's values, or the value beside them, are lost silently. A
    plain value given twice is left to it; so are ``hydra`` settings.

    Raises:
        UserError: ``invalid sweep: <key> is given twice (...), once swept, ...``.
    """
    given: dict[tuple[str, str | None], Override] = {}
    for o in overrides:
        if o.is_hydra_override() or not o.key_or_group:
            continue
        key = (o.key_or_group, o.package)
        earlier = given.get(key)
        if earlier is not None and (earlier.is_sweep_override() or o.is_sweep_override()):
            first, line = earlier.input_line, o.input_line
            swept = (
                "swept" if earlier.is_sweep_override() and o.is_sweep_override() else "once swept"
            )
            raise UserError(
                f"invalid sweep: {o.key_or_group} is given twice ({first} and {line}), {swept}, "
                "and only the last would count: give it once (a sweep lists its "
                f"values in one override: {o.key_or_group}=a,b)"
            )
        given[key] = o


def bool_problem(overrides: Sequence[Override], cfg: DictConfig) -> str | None:
    """A true/false field given ``2``, ``yes`` or ``on`` (OmegaConf reads them as true).

    Only ``true`` and ``false`` (any case, as Hydra parses them) are taken, as the message
    for a value OmegaConf refuses (``maybe``) says. ``cfg`` is the config composed with
    ``overrides`` (one job: no sweep values).

    Returns:
        ``"<key> = '<value>': expected true or false (bool)"``, or None.
    """
    for o in overrides:
        if o.is_hydra_override() or o.is_sweep_override() or not o.key_or_group:
            continue
        target = OmegaConf.select(cfg, o.key_or_group, default=None)
        value = o.value()
        if isinstance(target, bool) and not isinstance(value, bool):
            text = o.get_value_element_as_str()
            if "${" in str(value) or "${" in text:
                continue  # an interpolation: resolved, and checked, by the config
            quoted = " (unquoted)" if str(value).lower() in ("true", "false") else ""
            return f"{o.key_or_group} = {text!r}: expected true or false{quoted} (bool)"
    return None


def _options(loader: ConfigLoader, key: str) -> list[str]:
    """The options of config group ``key`` without the schemas (none if not a group)."""
    if "." in key:
        return []
    return [n for n in loader.get_group_options(key) if not n.endswith(_SCHEMA_SUFFIX)]


def _as_spelled(key: str) -> str | None:
    """``key`` as the run config spells it (``Seed`` -> ``seed``); None if it has no such key.

    Read from :class:`sim.config.RunConfig`'s dataclasses and the run-only keys
    (:data:`sim.config.run.RUN_ONLY_KEYS`), ignoring case; ``policy.<option>`` from the
    registered policies' options (:func:`sim.runtime.policy_options.policy_fields`); below
    another mapping the rest is returned as given.
    """
    import dataclasses
    import typing

    from sim.config import RunConfig
    from sim.config.run import RUN_ONLY_KEYS
    from sim.platform.policies import policy_names
    from sim.runtime.policy_options import policy_fields

    node: Any = RunConfig
    spelled: list[str] = []
    parts = key.split(".")
    for i, part in enumerate(parts):
        if spelled == ["policy"] and len(parts) == 2:  # an option of some policy, or none
            names = sorted(set().union(*(policy_fields(p) for p in policy_names())))
        elif dataclasses.is_dataclass(node):
            names = [f.name for f in dataclasses.fields(node)]
            names += sorted(RUN_ONLY_KEYS) if node is RunConfig else []
        else:
            return ".".join([*spelled, *parts[i:]])
        name = (
            part if part in names else next((n for n in names if n.lower() == part.lower()), None)
        )
        if name is None:
            return None
        spelled.append(name)
        node = typing.get_type_hints(node).get(name) if dataclasses.is_dataclass(node) else None
    return ".".join(spelled)


def _deletion_text(line: str, key: str, options: list[str]) -> str:
    spelled = key if options else _as_spelled(key)
    if spelled is None:
        return f"{line}: {key} does not exist (and only hydra settings may be deleted)"
    if spelled != key:
        return (
            f"{line}: {key} does not exist; did you mean {spelled}? (only hydra settings may "
            "be deleted)"
        )
    if options:
        return (
            f"{line} would delete the config group {key}, which every run needs (only hydra "
            f"settings may be deleted): choose an option instead ({key}=<option>: "
            f"{', '.join(options)})"
        )
    return (
        f"{line} would delete {key}, which every run needs (only hydra settings may be "
        f"deleted): set a value instead ({key}=...)"
    )


def _choice_hint(o: Override, group: str, options: list[str]) -> str:
    value = str(o.value()) if not o.is_sweep_override() else ""
    if value in options:
        return f"{group}={value}"
    return f"{group}=<option>: {', '.join(options)}"


def _values(o: Override) -> list[str]:
    if o.is_sweep_override():
        return [str(v) for v in o.sweep_string_iterator()]
    value = o.value()
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _check_group_choice(o: Override, line: str, key: str, options: list[str]) -> None:
    schemas = [v for v in _values(o) if v.endswith(_SCHEMA_SUFFIX)]
    if not schemas:
        return
    what = "config schemas, not options" if len(schemas) > 1 else "a config schema, not an option"
    picked = f"{', '.join(schemas)}: {what} to pick"
    if isinstance(o.value(), Glob):
        raise OverrideError(
            f"{line} also picks {picked}; sweep the options only with "
            f"{key}='glob(*,exclude=*{_SCHEMA_SUFFIX})'",
            sweep=True,
        )
    raise OverrideError(
        f"{line} picks {picked}; the options of {key} are: {', '.join(options)}",
        sweep=o.is_sweep_override(),
    )
