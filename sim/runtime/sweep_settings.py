"""A sweep's settings that hold for all its jobs: where their run folders go, what they name.

:func:`check_sweep_settings` is called by :func:`sim.runtime.preflight.preflight` before it
composes the jobs; :func:`sim.runtime.run_folders.check_job_folders` checks each job's own
folder after.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sim.runtime.errors import UserError
from sim.runtime.job_subdir import DIRNAME, JOB_VALUE, resolve_subdir, subdir_as_typed

__all__ = ["check_sweep_settings", "listed_keys"]


def check_sweep_settings(
    parser: OverridesParser, jobs: list[list[str]], hydra_cfg: DictConfig
) -> None:
    """Refuse a sweep whose settings name no run folder of each job's own, for all its jobs.

    The part of :func:`sim.runtime.run_folders.check_run_folders` that needs no job's
    config: a ``subdir`` outside the sweep folder or naming none, a ``hydra.*`` setting
    swept, and ``resume`` in a job while the folder names would include it. The preflight
    checks these before it composes the jobs, and each job's folder after (so a value the
    config refuses is named as such, not as the folder it would share).

    Args:
        parser: Hydra's override parser.
        jobs: the sweep's jobs, each its override lines (as the sweeper makes them).
        hydra_cfg: the config composed with its ``hydra`` node (the sweep's settings).

    Raises:
        UserError: ``invalid sweep: ...`` naming the ``subdir`` (and what it resolves
            to), the swept setting, or the ``exclude_keys`` list lacking ``resume``.
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


#: An interpolation in ``hydra.sweep.subdir`` (a job's number, its overrides, ...).
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


#: What ``hydra.sweep.subdir`` takes besides a relative path, as the refusals say it.
_SUBDIR_TAKES = (
    "different for each job, e.g. run_${hydra.job.override_dirname} (the default) or "
    "${hydra.job.num}"
)


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
            f"({listed_keys(exclude)}), so the run folders would be named anew and no finished "
            "run found: give hydra.job.config.override_dirname.exclude_keys="
            f"{listed_keys(['resume', *exclude])} (the list the sweep was started with, resume "
            "added)"
        )


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


def listed_keys(keys: Sequence[str]) -> str:
    """``[a,b]``: a list of keys as the command line writes it."""
    return "[" + ",".join(keys) + "]"
