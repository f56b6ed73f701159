"""A sweep's run folders: each job its own, inside the sweep folder, with a name that fits.

:func:`check_run_folders` is called by :func:`sim.runtime.preflight.preflight` before
Hydra writes anything.

A job's folder is ``hydra.sweep.subdir`` joined to ``hydra.sweep.dir``, by default
``run_${hydra.job.override_dirname}`` (the job's overrides without the config's
``exclude_keys``, as Hydra names it): jobs that differ only in an excluded option, or
repeat a value, share one, and a subdir outside the sweep folder writes past its checks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import BooleanNode, DictConfig, FloatNode, IntegerNode, OmegaConf
from omegaconf.errors import OmegaConfBaseException, ValidationError

from sim.outputs.folders import RUN_FILES_ROOM, check_name_lengths, check_path_lengths, name_max
from sim.runtime.errors import UserError
from sim.runtime.job_subdir import (
    DIRNAME,
    JOB_VALUE,
    job_subdir,
    resolve_subdir,
    subdir_as_typed,
)

__all__ = ["KEEP_RECORD", "as_typed", "check_run_folders", "finished_job_folder"]

#: Added by the sweeper (``hydra/sweeper=limitlab``) to a job whose run folder holds a
#: finished run: Hydra then writes no ``.hydra/`` record there. It used to replace the
#: finished run's record with the new sweep's (its overrides, e.g. ``resume=true`` or
#: another ``output.plots``) before the job skipped or refused the folder.
KEEP_RECORD = "hydra.output_subdir=null"


def check_run_folders(
    parser: OverridesParser,
    jobs: list[list[str]],
    hydra_cfg: DictConfig,
    job_config: Callable[[list[str]], DictConfig] | None = None,
) -> None:
    """Refuse a sweep whose jobs would not each write a run folder of their own that fits.

    A job's folder is ``hydra.sweep.subdir``, by default ``run_${hydra.job.override_dirname}``:
    the job's non-hydra overrides, sorted, without the keys of
    ``hydra.job.config.override_dirname.exclude_keys``, joined with its ``item_sep`` and
    ``kv_sep`` (Hydra's own rule, ``get_overrides_dirname``). Another ``subdir`` is
    resolved for each job as Hydra will (:func:`sim.runtime.job_subdir.job_subdir`: its
    number, its choices and values, the rest alike for all), so one that names no job's own
    folder (``${hydra.runtime.choices.policy}`` in a seed sweep, ``${now:%H}``) is refused
    before the first job rather than met by the second; one holding a value known only once
    a job runs (``${hydra.job.id}``) is not checked. A folder name longer than the sweep
    folder's file system allows
    (``NAME_MAX``, 255 bytes), or a whole path over ``PATH_MAX`` less
    :data:`sim.outputs.folders.RUN_FILES_ROOM`, is refused too: Hydra's ``mkdir`` failed
    with a traceback. Also refused first: a ``subdir`` outside the sweep folder or naming
    none (:func:`_check_subdir`), a ``hydra.*`` setting swept (a comma in a folder's name),
    and ``resume`` in a job while the folder names would include it.

    Args:
        parser: Hydra's override parser.
        jobs: the sweep's jobs, each its override lines (as the sweeper makes them).
        hydra_cfg: the config composed with its ``hydra`` node (the sweep's settings).
        job_config: a job's composed config, for a subdir reading keys the jobs change
            (:func:`sim.runtime.job_subdir.job_subdir`).

    Raises:
        UserError: ``invalid sweep: ...`` naming the two jobs, the folder and the fix
            (sweep an excluded option in separate sweep folders; drop a repeated value), the
            job whose folder name or path is too long, the ``subdir``, the swept setting,
            or the ``exclude_keys`` list lacking ``resume``.
    """
    subdir = subdir_as_typed(hydra_cfg)
    keys = {
        o.key_or_group
        for job in jobs
        for o in parser.parse_overrides(job)
        if not o.is_hydra_override()
    }
    _check_subdir(subdir, _resolved_subdir(subdir, hydra_cfg, keys))
    _check_hydra_settings_not_swept(parser, jobs)
    exclude = [str(k) for k in hydra_cfg.hydra.job.config.override_dirname.exclude_keys]
    if DIRNAME.search(subdir):  # else exclude_keys names no folder
        _check_resume_excluded(parser, jobs, exclude)
    resolved: dict[str, str] = {}
    folders = [
        job_subdir(hydra_cfg, parser, job, num, resolved, job_config)
        for num, job in enumerate(jobs)
    ]
    try:
        sweep_dir: str | None = str(OmegaConf.select(hydra_cfg, "hydra.sweep.dir"))
        limit = name_max(sweep_dir)
    except Exception:  # noqa: BLE001 - an unresolvable folder is named by its own check
        sweep_dir, limit = None, 255
    seen: dict[str, int] = {}
    for index, folder in enumerate(folders):
        if folder is None:  # known only once the job runs: the others are still checked
            continue
        try:
            check_name_lengths(folder, limit)
        except ValueError as err:
            raise UserError(
                f"invalid sweep: sweep job #{index + 1} of {len(jobs)} would write its run "
                f"folder under {err}: {_shorter_names_advice(parser, jobs, exclude)}"
            ) from None
        try:  # the whole path: Hydra's mkdir failed after the sweep had started
            if sweep_dir is not None:
                check_path_lengths(posixpath.join(sweep_dir, folder), room=RUN_FILES_ROOM)
        except ValueError as err:
            raise UserError(
                f"invalid sweep: sweep job #{index + 1} of {len(jobs)} would write its run "
                f"folder at {err}: choose a shorter hydra.sweep.dir, or shorter run folder "
                "names (hydra.sweep.subdir)"
            ) from None
        if folder in seen:
            first = seen[folder]
            text = _collision_text(parser, jobs, first, index, folder, exclude, hydra_cfg)
            raise UserError(text)
        seen[folder] = index


def _collision_text(
    parser: OverridesParser,
    jobs: list[list[str]],
    first: int,
    second: int,
    folder: str,
    exclude: list[str],
    hydra_cfg: DictConfig,
) -> str:
    a, b = (_shown(parser, jobs[i]) for i in (first, second))
    where = (
        f"sweep jobs #{first + 1} ({' '.join(a)}) and #{second + 1} ({' '.join(b)}) of "
        f"{len(jobs)} would write the same run folder {folder}"
    )
    values: dict[str, set[Any]] = {}
    for o in parser.parse_overrides(sorted(set(jobs[first]) ^ set(jobs[second]))):
        values.setdefault(o.key_or_group, set()).add(_setting(hydra_cfg, o))
    differ = sorted(values)
    if differ and all(len(v) == 1 for v in values.values()):
        # share_burn_in=true,yes: two spellings of one value.
        return f"invalid sweep: {where}: {', '.join(differ)} repeats one value; drop one"
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


def _shown(parser: OverridesParser, job: list[str]) -> list[str]:
    """A job's own override lines, as typed (not the sweep's ``hydra.*`` settings)."""
    parsed = parser.parse_overrides(job)
    own = [line for o, line in zip(parsed, job, strict=True) if not o.is_hydra_override()]
    return [as_typed(line) for line in own or job]


def as_typed(line: str) -> str:
    r"""An override line as typed: Hydra's sweeper escapes ``${`` and ``}`` (``$\{x\}``)."""
    return line.replace("$\\{", "${").replace("\\}", "}")


#: An interpolation in ``hydra.sweep.subdir`` (a job's number, its overrides, ...).
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
#: What ``hydra.sweep.subdir`` takes besides a relative path, as the refusals say it.
_SUBDIR_TAKES = (
    "different for each job, e.g. run_${hydra.job.override_dirname} (the default) or "
    "${hydra.job.num}"
)


def finished_job_folder(
    hydra_cfg: DictConfig,
    parser: OverridesParser,
    job: Sequence[str],
    num: int,
    job_config: Callable[[list[str]], DictConfig] | None = None,
) -> Path | None:
    """The run folder of sweep job number ``num`` if it holds a finished run, else None.

    The folder is ``hydra.sweep.dir`` joined with ``hydra.sweep.subdir`` as Hydra makes it
    for the job (:func:`sim.runtime.job_subdir.job_subdir`: its ``override_dirname`` by
    Hydra's own rule, its number, its choices and values, the other interpolations resolved
    in ``hydra_cfg``); a finished run is one with a completion
    marker (:data:`sim.outputs.files.COMPLETE_MARKER`). None too when the subdir holds
    another value known only once the job runs, or does not resolve.

    Args:
        hydra_cfg: the sweep's config with its ``hydra`` node.
        parser: Hydra's override parser.
        job: the job's override lines, as the sweeper makes them.
        num: the job's number in the sweep (``hydra.job.num``), from 0.
        job_config: the job's composed config, for a subdir reading keys the job changes.
    """
    from sim.outputs.files import COMPLETE_MARKER

    subdir = job_subdir(hydra_cfg, parser, job, num, job_config=job_config)
    if subdir is None:
        return None
    try:
        folder = Path(str(hydra_cfg.hydra.sweep.dir)) / subdir
    except OmegaConfBaseException:
        return None
    return folder if (folder / COMPLETE_MARKER).is_file() else None


def _resolved_subdir(subdir: str, hydra_cfg: DictConfig, keys: set[str]) -> str | None:
    """``subdir`` with its interpolations other than a job's own resolved, or None.

    A job's values (``${hydra.job.num}``, ``${hydra.job.override_dirname}``, ...) are not
    known before it runs and stay one plain name each (``x``), as do keys and choices the
    jobs set (``${seed}``, ``${policy.base.delinquency_cut}`` added with ``+``); the others
    (``${oc.env:HOME}``, ``${experiment_name}``, ``${hydra.runtime.choices.policy}``) are
    resolved in ``hydra_cfg``. None if there are none.

    Raises:
        UserError: an interpolation that cannot be resolved (an unset environment variable,
            an unknown key, ``${hydra.runtime.output_dir}``, which is made from the subdir):
            Hydra's traceback once the sweep had written ``multirun.yaml``.
    """
    plain = JOB_VALUE.sub("x", _INTERPOLATION.sub(lambda m: _jobs_own(m, keys), subdir))
    if "${" not in plain:
        return None
    try:
        return resolve_subdir(hydra_cfg, plain)
    except OmegaConfBaseException as err:
        reason = str(err).splitlines()[0]  # without OmegaConf's full_key / object_type lines
        raise UserError(
            f"invalid sweep: hydra.sweep.subdir = {subdir!r}: {reason}: it takes a relative "
            f"path inside the sweep folder, {_SUBDIR_TAKES}"
        ) from None


def _jobs_own(match: re.Match[str], keys: set[str]) -> str:
    """``x`` for an interpolation of a key or group choice the jobs set, else as is."""
    ref = re.sub(r"^\$\{\s*hydra[.:]runtime\.choices\.", "${", match.group(0))[2:-1]
    for key in keys:
        if ref == key or ref.startswith(key + ".") or key.startswith(ref + ".") or key in ref:
            return "x"
    return match.group(0)


def _check_subdir(subdir: str, resolved: str | None = None) -> None:
    """Refuse a ``hydra.sweep.subdir`` naming no folder of its own inside the sweep folder.

    Hydra joins it to ``hydra.sweep.dir``: an absolute path, or one climbing out with
    ``..``, writes the runs elsewhere (past the sweep folder's checks, over files of that
    name); an empty one, or ``.``, writes every run loose in the sweep folder itself.
    Interpolations are read as one plain name each, and ``resolved`` (the value with the
    interpolations known before the jobs run resolved: :func:`_resolved_subdir`) is
    checked too.

    Raises:
        UserError: naming ``hydra.sweep.subdir``, its value (and what it resolves to) and
            what it takes.
    """
    for value in (subdir, resolved):
        if value is not None:
            _check_subdir_shape(subdir, value)


def _check_subdir_shape(subdir: str, value: str) -> None:
    shape = posixpath.normpath(_INTERPOLATION.sub("x", value.strip())) if value.strip() else ""
    if shape in ("", ".") or value.startswith("/") or shape.split("/")[0] == "..":
        where = (
            "gives no run a folder of its own inside"
            if shape in ("", ".")
            else "puts the runs' folders outside"
        )
        if value != subdir:
            where = f"(resolved: {value!r}) {where}"
        raise UserError(
            f"invalid sweep: hydra.sweep.subdir = {subdir!r} {where} the sweep folder "
            f"(hydra.sweep.dir): it takes a relative path inside it, {_SUBDIR_TAKES}"
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


def _setting(hydra_cfg: DictConfig, override: Override) -> Any:
    """An override's value as the config reads it.

    A true/false field's spellings as bool, a whole-number field's as int (``seed=01`` is
    ``seed=1``), a number field's as float; a value the field would refuse, as typed.
    """
    value = override.value()
    current = OmegaConf.select(hydra_cfg, override.key_or_group, default=None)
    node = {bool: BooleanNode, int: IntegerNode, float: FloatNode}.get(type(current))
    if node is not None and isinstance(value, str | bool | int | float):
        try:
            return OmegaConf.create({"v": node(value=value)}).v
        except ValidationError:
            return value
    return value if isinstance(value, Hashable) else str(value)


def _check_hydra_settings_not_swept(parser: OverridesParser, jobs: list[list[str]]) -> None:
    """Refuse a ``hydra.*`` setting with different values across the jobs.

    ``hydra.sweep.dir=/data/a,b`` reads as a sweep over two folders (Hydra's comma), and
    the jobs of one sweep share its settings: a comma meant in a folder's name is quoted.

    Raises:
        UserError: naming the setting, its values and the quoted form.
    """
    values: dict[str, list[str]] = {}
    for job in jobs:
        for o, line in zip(parser.parse_overrides(job), job, strict=True):
            if o.key_or_group.startswith("hydra."):
                seen = values.setdefault(o.key_or_group, [])
                value = line.split("=", 1)[1]
                if value not in seen:
                    seen.append(value)
    for key, seen in values.items():
        if len(seen) > 1:
            raise UserError(
                f"invalid sweep: {key} takes one value per sweep, but it is swept over "
                f"{', '.join(seen)} (a comma reads as a list of values): to keep a comma "
                f"in a name, quote the value, '{key}=\"{','.join(seen)}\"'"
            )
