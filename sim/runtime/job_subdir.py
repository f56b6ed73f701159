"""A sweep job's run folder name (``hydra.sweep.subdir``) as Hydra will make it, before it runs.

Hydra resolves ``hydra.sweep.subdir`` in each job's own config: ``${hydra.job.num}`` and
``${hydra.job.override_dirname}`` are the job's, and so are ``${hydra.runtime.choices.G}``
and ``${key}`` for a group or key the job overrides; any other interpolation
(``${experiment_name}``, ``${oc.env:HOME}``, ``${now:%H}``) resolves alike in every job of
a sweep. :func:`job_subdir` computes the name from the sweep's config and the job's
override lines, without composing the job, so a sweep's folders can be checked before its
first job (:func:`sim.runtime.run_folders.check_run_folders`) and a finished job's folder
found (:func:`sim.runtime.run_folders.finished_job_folder`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

__all__ = ["job_dirname", "job_subdir", "resolve_subdir", "subdir_as_typed"]

#: ``${hydra.job.override_dirname}`` in ``hydra.sweep.subdir``.
DIRNAME = re.compile(r"\$\{hydra(:|\.)job\.override_dirname\}")
#: ``${hydra.job.num}`` in ``hydra.sweep.subdir``.
JOB_NUM = re.compile(r"\$\{hydra(:|\.)job\.num\}")
#: A job's own value (``${hydra.job.num}``, ``${hydra:job.override_dirname}``, ...).
JOB_VALUE = re.compile(r"\$\{hydra(:|\.)job\.[^}]*\}")
#: One interpolation, its text inside the braces as group 1.
_REF = re.compile(r"\$\{([^}]*)\}")
#: ``hydra.runtime.choices.<group>``: the group's option chosen for the job.
_CHOICE = re.compile(r"hydra[.:]runtime\.choices\.(.+)")
#: The ``hydra:`` resolver's form of a Hydra value (``${hydra:runtime.choices.policy}``).
_HYDRA_RESOLVER = re.compile(r"\$\{\s*hydra:")
#: A plain key (``seed``, ``policy.raise_step``): no resolver, no nesting.
_KEY = re.compile(r"[A-Za-z_][\w.]*")
#: Placeholders for the job's number and override_dirname while the rest resolves
#: (Hydra does not resolve the text of a job's overrides inside its folder name either).
_NUM, _NAME = "\x00N", "\x00D"


class _PerJob(Exception):
    """An interpolation whose value for the job cannot be told without composing it."""


def subdir_as_typed(hydra_cfg: DictConfig) -> str:
    """``hydra.sweep.subdir`` as typed (unresolved)."""
    sweep = OmegaConf.to_container(hydra_cfg.hydra.sweep, resolve=False)
    assert isinstance(sweep, dict)
    return str(sweep.get("subdir") or "")


def job_dirname(hydra_cfg: DictConfig, parser: OverridesParser, job: Sequence[str]) -> str:
    """The job's ``hydra.job.override_dirname``, by Hydra's own rule."""
    from hydra._internal.config_loader_impl import get_overrides_dirname

    settings = hydra_cfg.hydra.job.config.override_dirname
    task = [o for o in parser.parse_overrides(list(job)) if not o.is_hydra_override()]
    exclude = [str(k) for k in settings.exclude_keys]
    return get_overrides_dirname(task, exclude, str(settings.item_sep), str(settings.kv_sep))


def resolve_subdir(hydra_cfg: DictConfig, subdir: str) -> str:
    """``subdir`` with its interpolations resolved in ``hydra_cfg`` (as Hydra would).

    Raises:
        omegaconf.errors.OmegaConfBaseException: one that does not resolve.
    """
    if "${" not in subdir:
        return subdir
    # ${hydra:x} reads Hydra's global config, set only inside a job: the node itself here.
    subdir = _HYDRA_RESOLVER.sub("${hydra.", subdir)
    cfg = OmegaConf.masked_copy(hydra_cfg, list(hydra_cfg.keys()))
    OmegaConf.update(cfg, "hydra.sweep.subdir", subdir, force_add=True)
    return str(cfg.hydra.sweep.subdir)


def job_subdir(
    hydra_cfg: DictConfig,
    parser: OverridesParser,
    job: Sequence[str],
    num: int,
    resolved: dict[str, str] | None = None,
    job_config: Callable[[list[str]], DictConfig] | None = None,
) -> str | None:
    """Sweep job ``num``'s ``hydra.sweep.subdir`` as Hydra will resolve it; None if unknown.

    Args:
        hydra_cfg: the sweep's config with its ``hydra`` node (its fixed overrides).
        parser: Hydra's override parser.
        job: the job's override lines, as the sweeper makes them.
        num: the job's number in the sweep (``hydra.job.num``), from 0.
        resolved: a cache of texts already resolved in ``hydra_cfg`` (shared over a
            sweep's jobs: an interpolation alike for every job resolves once).
        job_config: the job's composed config (without its ``hydra`` node), asked for only
            when the subdir reads a key inside a group or node the job changes
            (``${policy.name}`` in a policy sweep, ``${oc.select:seed}``).

    Returns:
        The folder name relative to ``hydra.sweep.dir``. None when it holds a value known
        only once the job runs (``${hydra.job.id}``), a key inside a group or node the job
        changes without ``job_config``, or an interpolation that does not resolve (the
        subdir's own check, or the job's, names that one).
    """
    text = JOB_NUM.sub(_NUM, DIRNAME.sub(_NAME, subdir_as_typed(hydra_cfg)))
    if JOB_VALUE.search(text):
        return None
    overrides = [o for o in parser.parse_overrides(list(job)) if not o.is_hydra_override()]
    context = hydra_cfg
    try:
        text = _REF.sub(lambda m: _own_value(m, overrides, typed=job_config is None), text)
    except _PerJob:
        if job_config is None:
            return None
        # The job's choices by their text; the rest resolved in the job's own config.
        text = _REF.sub(lambda m: _own_value(m, overrides, choices_only=True), text)
        try:
            context = _with_task(hydra_cfg, job_config(list(job)))
        except Exception:  # noqa: BLE001 - a job that does not compose: its own check says
            return None
        resolved = None
    if "${" in text:
        cache = {} if resolved is None else resolved
        if text not in cache:
            try:
                cache[text] = resolve_subdir(context, text)
            except OmegaConfBaseException:
                return None
        text = cache[text]
    if _NAME in text:
        text = text.replace(_NAME, job_dirname(hydra_cfg, parser, job))
    return text.replace(_NUM, str(num))


def _with_task(hydra_cfg: DictConfig, task: DictConfig) -> DictConfig:
    """The sweep's ``hydra`` node beside the job's own config, as Hydra resolves a job's."""
    nodes = {"hydra": OmegaConf.to_container(hydra_cfg.hydra, resolve=False)}
    task_nodes = OmegaConf.to_container(task, resolve=False)
    assert isinstance(task_nodes, dict)
    nodes.update({str(k): v for k, v in task_nodes.items() if k != "hydra"})
    return OmegaConf.create(nodes)


def _own_value(
    match: re.Match[str], overrides: list[Override], choices_only: bool = False, typed: bool = True
) -> str:
    """The job's value of one interpolation it overrides; else the interpolation as is.

    Args:
        match: one ``${...}`` of the subdir.
        overrides: the job's overrides (not Hydra's own settings).
        choices_only: only ``${hydra.runtime.choices.<group>}`` is replaced.
        typed: a key the job sets is replaced by its value as typed (``seed=01`` gives
            ``01``, where the config holds 1); else it is left to the job's own config.

    Raises:
        _PerJob: the job's value cannot be told from its override lines.
    """
    ref = match.group(1)
    choice = _CHOICE.fullmatch(ref)
    if choices_only and not choice:
        return match.group(0)
    key = choice.group(1) if choice else ref
    if not choice and not _KEY.fullmatch(ref):
        # A resolver (now:, oc.env:): alike for every job unless it reads a key the job sets.
        if any(o.key_or_group in ref for o in overrides):
            raise _PerJob
        return match.group(0)
    for o in overrides:
        k = o.key_or_group
        if k == key and (not choice or not o.is_delete()):
            if not choice and not typed:
                raise _PerJob  # as the job's config holds it
            value = o.value()
            text = str(value)
            if not isinstance(value, str | int | float | bool) or any(c in text for c in "${}\\"):
                raise _PerJob
            return text
        if k == key or (not choice and (key.startswith(k + ".") or k.startswith(key + "."))):
            raise _PerJob  # a group deleted, or a key inside a group or node the job changes
    return match.group(0)
