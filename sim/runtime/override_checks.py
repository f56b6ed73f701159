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

:func:`check_run_folders` refuses a sweep two of whose jobs would write one run folder
(the folder is named by the job's overrides without the config's ``exclude_keys``, as
Hydra names it, so jobs that differ only in an excluded option, or repeat a value, share
one).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override
from omegaconf import DictConfig, OmegaConf

from sim.outputs.folders import check_name_lengths, name_max
from sim.runtime.errors import UserError

__all__ = [
    "LABELS",
    "OverrideError",
    "bool_problem",
    "check_command_line",
    "check_overrides",
    "check_repeated_keys",
    "check_run_folders",
]

#: Fields that only name a config group's chosen option (the group is chosen instead).
LABELS = {"population.name": "population", "scenario.name": "scenario", "policy.name": "policy"}

_SCHEMA_SUFFIX = "_schema"
#: ``${hydra.job.override_dirname}`` in ``hydra.sweep.subdir``.
_DIRNAME = re.compile(r"\$\{hydra(:|\.)job\.override_dirname\}")


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


def _deletion_text(line: str, key: str, options: list[str]) -> str:
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


def check_run_folders(
    parser: OverridesParser, jobs: list[list[str]], hydra_cfg: DictConfig
) -> None:
    """Refuse a sweep two of whose jobs would write the same run folder.

    A job's folder is ``hydra.sweep.subdir``, by default ``run_${hydra.job.override_dirname}``:
    the job's non-hydra overrides, sorted, without the keys of
    ``hydra.job.config.override_dirname.exclude_keys``, joined with its ``item_sep`` and
    ``kv_sep`` (Hydra's own rule, ``get_overrides_dirname``). A ``subdir`` with the job
    number (``${hydra.job.num}``) or another interpolation that may differ between jobs is
    not checked. A folder name longer than the sweep folder's file system allows
    (``NAME_MAX``, 255 bytes) is refused too: Hydra's ``mkdir`` failed with a traceback.

    Args:
        parser: Hydra's override parser.
        jobs: the sweep's jobs, each its override lines (as the sweeper makes them).
        hydra_cfg: the config composed with its ``hydra`` node (the sweep's settings).

    Raises:
        UserError: ``invalid sweep: ...`` naming the two jobs, the folder and the fix
            (sweep an excluded option in separate sweep folders; drop a repeated value), or
            the job whose folder name is too long.
    """
    from hydra._internal.config_loader_impl import get_overrides_dirname

    sweep = OmegaConf.to_container(hydra_cfg.hydra.sweep, resolve=False)
    assert isinstance(sweep, dict)
    subdir = str(sweep.get("subdir") or "")
    _check_subdir(subdir)
    settings = hydra_cfg.hydra.job.config.override_dirname
    exclude = [str(k) for k in settings.exclude_keys]
    _check_resume_excluded(parser, jobs, exclude)
    others = _DIRNAME.sub("", subdir)
    if "${" in others:
        return
    try:
        limit = name_max(str(OmegaConf.select(hydra_cfg, "hydra.sweep.dir")))
    except Exception:  # noqa: BLE001 - an unresolvable folder is named by its own check
        limit = 255
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        task = [o for o in parser.parse_overrides(job) if not o.is_hydra_override()]
        name = get_overrides_dirname(task, exclude, str(settings.item_sep), str(settings.kv_sep))
        folder = _DIRNAME.sub(name.replace("\\", "\\\\"), subdir)
        try:
            check_name_lengths(folder, limit)
        except ValueError as err:
            raise UserError(
                f"invalid sweep: sweep job #{index + 1} of {len(jobs)} would write its run "
                f"folder under {err}: {_shorter_names_advice(parser, jobs, exclude)}"
            ) from None
        if folder in seen:
            first = seen[folder]
            raise UserError(_collision_text(parser, jobs, first, index, folder, exclude))
        seen[folder] = index


def _collision_text(
    parser: OverridesParser,
    jobs: list[list[str]],
    first: int,
    second: int,
    folder: str,
    exclude: list[str],
) -> str:
    a, b = jobs[first], jobs[second]
    where = (
        f"sweep jobs #{first + 1} ({' '.join(a)}) and #{second + 1} ({' '.join(b)}) of "
        f"{len(jobs)} would write the same run folder {folder}"
    )
    differ = sorted({o.key_or_group for o in parser.parse_overrides(sorted(set(a) ^ set(b)))})
    if differ and set(differ) <= set(exclude):
        return (
            f"invalid sweep: {where}: {', '.join(differ)} is left out of run folder names "
            "(hydra.job.config.override_dirname.exclude_keys), so it cannot be swept in one "
            "sweep folder: run one sweep per value, each in its own folder (hydra.sweep.dir=...)"
        )
    if differ:
        return (
            f"invalid sweep: {where}: hydra.sweep.subdir must name each job's own folder "
            "(with ${hydra.job.override_dirname} or ${hydra.job.num})"
        )
    return f"invalid sweep: {where}: drop the repeated value"


#: An interpolation in ``hydra.sweep.subdir`` (a job's number, its overrides, ...).
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def _check_subdir(subdir: str) -> None:
    """Refuse a ``hydra.sweep.subdir`` naming no folder of its own inside the sweep folder.

    Hydra joins it to ``hydra.sweep.dir``: an absolute path, or one climbing out with
    ``..``, writes the runs elsewhere (past the sweep folder's checks, over files of that
    name); an empty one, or ``.``, writes every run loose in the sweep folder itself.
    Interpolations are read as one plain name each.

    Raises:
        UserError: naming ``hydra.sweep.subdir``, its value and what it takes.
    """
    shape = posixpath.normpath(_INTERPOLATION.sub("x", subdir.strip())) if subdir.strip() else ""
    if shape in ("", ".") or subdir.startswith("/") or shape.split("/")[0] == "..":
        where = (
            "gives no run a folder of its own inside"
            if shape in ("", ".")
            else "puts the runs' folders outside"
        )
        raise UserError(
            f"invalid sweep: hydra.sweep.subdir = {subdir!r} {where} the sweep folder "
            "(hydra.sweep.dir): it takes a relative path inside it, different for each job, "
            "e.g. run_${hydra.job.override_dirname} (the default) or ${hydra.job.num}"
        )


def _check_resume_excluded(
    parser: OverridesParser, jobs: list[list[str]], exclude: list[str]
) -> None:
    """Refuse ``resume=...`` in a sweep whose run folder names would include it.

    Without ``resume`` in ``hydra.job.config.override_dirname.exclude_keys`` (as happens
    when that list is given on the command line), a resumed sweep's folders are named
    ``run_resume=true,...``: every finished run would be run again into new folders.

    Raises:
        UserError: naming the list and the fix.
    """
    if "resume" in exclude or not jobs:
        return
    keys = {o.key_or_group for o in parser.parse_overrides(jobs[0]) if not o.is_hydra_override()}
    if "resume" in keys:
        raise UserError(
            "invalid sweep: resume is not in hydra.job.config.override_dirname.exclude_keys "
            f"({_listed(exclude)}), so the run folders would be named anew and no finished "
            "run found: give hydra.job.config.override_dirname.exclude_keys="
            f"{_listed(['resume', *exclude])} (the list the sweep was started with, resume "
            "added)"
        )


def _listed(keys: Sequence[str]) -> str:
    return "[" + ",".join(keys) + "]"


def _shorter_names_advice(
    parser: OverridesParser, jobs: list[list[str]], exclude: list[str]
) -> str:
    """How to shorten the run folders' names: the shared options out of them, or a subdir."""
    lines = [
        {o.key_or_group: line for o, line in zip(parser.parse_overrides(job), job, strict=True)}
        for job in jobs
    ]
    shared = [
        key
        for key, line in lines[0].items()
        if key not in exclude
        and not key.startswith("hydra.")
        and all(other.get(key) == line for other in lines[1:])
    ]
    if not shared:
        return "set a shorter hydra.sweep.subdir, e.g. ${hydra.job.num}"
    return (
        "leave the options every job shares out of folder names, "
        f"hydra.job.config.override_dirname.exclude_keys={_listed([*exclude, *shared])} (the "
        "list as it is, with those keys added; give it again with resume=true), or set a "
        "shorter hydra.sweep.subdir, e.g. ${hydra.job.num}"
    )
