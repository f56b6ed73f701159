"""A sweep's run folders: each job its own, inside the sweep folder, with a name that fits.

:func:`check_job_folders` is called by :func:`sim.runtime.preflight.preflight` before
Hydra writes anything, once the jobs' configs are valid and the sweep's settings passed
:func:`sim.runtime.sweep_settings.check_sweep_settings`.

A job's folder is ``hydra.sweep.subdir`` joined to ``hydra.sweep.dir``, by default
``run_${hydra.job.override_dirname}`` (the job's overrides without the config's
``exclude_keys``, as Hydra names it): jobs that differ only in an excluded option, or
repeat a value, share one, and a subdir outside the sweep folder writes past its checks.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import BooleanNode, DictConfig, FloatNode, IntegerNode, OmegaConf
from omegaconf.errors import OmegaConfBaseException, ValidationError

from sim.outputs.folders import RUN_FILES_ROOM, check_name_lengths, check_path_lengths, name_max
from sim.runtime.errors import UserError
from sim.runtime.job_subdir import job_subdir
from sim.runtime.sweep_settings import listed_keys

__all__ = [
    "KEEP_RECORD",
    "as_typed",
    "check_job_folders",
    "check_run_folders",
    "finished_job_folder",
    "same_run_text",
    "shown_job",
]

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
    skip: frozenset[int] = frozenset(),
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
    with a traceback. The sweep's settings (a ``subdir`` outside the sweep folder, a
    ``hydra.*`` setting swept, ``resume`` in the folder names) are checked before, by
    :func:`sim.runtime.sweep_settings.check_sweep_settings`.

    Args:
        parser: Hydra's override parser.
        jobs: the sweep's jobs, each its override lines (as the sweeper makes them).
        hydra_cfg: the config composed with its ``hydra`` node (the sweep's settings).
        job_config: a job's composed config, for a subdir reading keys the jobs change
            (:func:`sim.runtime.job_subdir.job_subdir`).
        skip: indices of jobs not checked (repeats of an earlier job's run).

    Raises:
        UserError: ``invalid sweep: ...`` naming the two jobs, the folder and the fix
            (sweep an excluded option in separate sweep folders; drop a repeated value), the
            job whose folder name or path is too long.
    """
    exclude = [str(k) for k in hydra_cfg.hydra.job.config.override_dirname.exclude_keys]
    resolved: dict[str, str] = {}
    folders = [
        None if num in skip else job_subdir(hydra_cfg, parser, job, num, resolved, job_config)
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


def check_job_folders(
    parser: OverridesParser,
    jobs: list[list[str]],
    hydra_cfg: DictConfig,
    job_config: Callable[[list[str]], DictConfig] | None,
    repeats: dict[int, int],
) -> None:
    """Refuse a sweep repeating a run, or whose jobs share a run folder (one line).

    A repeated run (two spellings of one value, ``seed=1,01``) is named first, with the
    keys repeated; where the jobs left would still share a folder (their
    ``hydra.sweep.subdir``), the same line says so.

    Args:
        parser: Hydra's override parser.
        jobs: the sweep's jobs, each its override lines (as the sweeper makes them).
        hydra_cfg: the config composed with its ``hydra`` node (the sweep's settings).
        job_config: a job's composed config (see :func:`check_run_folders`).
        repeats: job index -> the index of the earlier job of the same run.

    Raises:
        UserError: as :func:`check_run_folders`, or naming the repeated run.
    """
    if not repeats:
        check_run_folders(parser, jobs, hydra_cfg, job_config)
        return
    second, first = next(iter(repeats.items()))
    values = _differing_values(parser, jobs, first, second, hydra_cfg)
    text = same_run_text(parser, jobs, first, second, values)
    if any(len(v) > 1 for v in values.values()):
        # Keys that do not change the run (experiment_name, resume): a shared folder first.
        check_run_folders(parser, jobs, hydra_cfg, job_config)
        raise UserError(text)
    try:
        check_run_folders(parser, jobs, hydra_cfg, job_config, skip=frozenset(repeats))
    except UserError as err:
        text += "; then " + str(err).removeprefix("invalid sweep: ")
    raise UserError(text)


def _differing_values(
    parser: OverridesParser, jobs: list[list[str]], first: int, second: int, hydra_cfg: DictConfig
) -> dict[str, set[Any]]:
    """The keys two jobs set differently -> their values as the config reads them."""
    values: dict[str, set[Any]] = {}
    for o in parser.parse_overrides(sorted(set(jobs[first]) ^ set(jobs[second]))):
        if not o.is_hydra_override():
            values.setdefault(o.key_or_group, set()).add(_setting(hydra_cfg, o))
    return values


def _collision_text(
    parser: OverridesParser,
    jobs: list[list[str]],
    first: int,
    second: int,
    folder: str,
    exclude: list[str],
    hydra_cfg: DictConfig,
) -> str:
    a, b = (shown_job(parser, jobs[i]) for i in (first, second))
    where = (
        f"sweep jobs #{first + 1} ({' '.join(a)}) and #{second + 1} ({' '.join(b)}) of "
        f"{len(jobs)} would write the same run folder {folder}"
    )
    values = _differing_values(parser, jobs, first, second, hydra_cfg)
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


def same_run_text(
    parser: OverridesParser,
    jobs: list[list[str]],
    first: int,
    second: int,
    values: dict[str, set[Any]],
) -> str:
    """The refusal of two sweep jobs that are one run (``values``: :func:`_differing_values`)."""
    a, b = (shown_job(parser, jobs[i]) for i in (first, second))
    where = (
        f"invalid sweep: sweep jobs #{first + 1} ({' '.join(a)}) and #{second + 1} "
        f"({' '.join(b)}) of {len(jobs)} are the same run"
    )
    keys = ", ".join(sorted(values))
    if not values:  # the same lines twice
        return f"{where}: drop the repeated value"
    if all(len(v) == 1 for v in values.values()):  # two spellings of one value: seed=1,01
        return f"{where} (the same config, in two folders): {keys} repeats one value; drop one"
    return (
        f"{where} (the same config, in two folders): {keys} does not change the run; drop "
        "one of them"
    )


def shown_job(parser: OverridesParser, job: list[str]) -> list[str]:
    """A job's own override lines, as typed (not the sweep's ``hydra.*`` settings)."""
    parsed = parser.parse_overrides(job)
    own = [line for o, line in zip(parsed, job, strict=True) if not o.is_hydra_override()]
    return [as_typed(line) for line in own or job]


def as_typed(line: str) -> str:
    r"""An override line as typed: Hydra's sweeper escapes ``${`` and ``}`` (``$\{x\}``)."""
    return line.replace("$\\{", "${").replace("\\}", "}")


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
        f"hydra.job.config.override_dirname.exclude_keys={listed_keys([*exclude, *shared])} (the "
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
