"""Checking a command line before Hydra writes anything: the CLI's fail-fast step.

``python -m experiments.run ...`` calls :func:`preflight` with its arguments before Hydra
starts. It reads them with Hydra's own argument parser, expands a ``-m`` sweep into its
jobs exactly as Hydra's basic sweeper will (Hydra's override parser, then
``BasicSweeper.split_arguments``, the sweeper's ``params`` included), composes every job
with Hydra's compose API and validates it (:func:`sim.config.to_run_config`), checks that
the machine can hold the largest job (:mod:`sim.runtime.resources`) and that the bundled
data load (:func:`sim.world.data.load_uci`). A mistake raises
:class:`~sim.runtime.errors.UserError` (one line) before any folder exists; a sweep that
expands to no job is one too.

A policy option beside a sweep over policies (``-m policy=static,pd_threshold
policy.cut_above_pd=0.08``) must be an option of every policy swept: otherwise the sweep
is refused, naming the policies that lack it, before any job runs. Overrides Hydra accepts
but a run must not (deleting a run key, a group's label, a ``*_schema`` choice, sweep jobs
that share a run folder) are refused first (:mod:`sim.runtime.override_checks`).

Invocations that only print (``--help``, ``--cfg``, ``--info``, ...), that change where the
configs come from (``--config-path``, ``--config-dir``, ``--experimental-rerun``) or that
use another sweeper are left to Hydra; the job itself still validates its config.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from sim.config import CONF_DIR, RunConfig, register_configs, to_run_config
from sim.config.registration import LIMITLAB_SWEEPER
from sim.interrupts import interrupt_behind
from sim.runtime.disk import check_output_disk
from sim.runtime.errors import (
    BASIC_LAUNCHER_NOTE,
    CONFIG_ERRORS,
    UserError,
    as_user_error,
    config_error,
)
from sim.runtime.job_configs import JobComposer
from sim.runtime.launcher_options import joblib_option_problem
from sim.runtime.output_folder import check_output_folder
from sim.runtime.override_checks import bool_problem, check_command_line, check_repeated_keys
from sim.runtime.policy_options import check_policy_options, policy_option_problem
from sim.runtime.resources import check_memory, check_sweep_memory
from sim.runtime.run_folders import check_job_folders, shown_job
from sim.runtime.sweep_settings import check_sweep_settings
from sim.runtime.validated_jobs import record_validated
from sim.world.data import DataFileError, load_uci

#: Hydra's argument flags with which the command runs no job, or reads configs from
#: elsewhere than ``conf/``: such invocations are left to Hydra.
_LEFT_TO_HYDRA = (
    "help",
    "hydra_help",
    "cfg",
    "info",
    "shell_completion",
    "config_path",
    "config_dir",
    "experimental_rerun",
)
#: Sweepers whose jobs preflight makes as they will (Hydra's basic one, and LimitLab's).
_SWEEPERS = ("hydra._internal.core_plugins.basic_sweeper.BasicSweeper", LIMITLAB_SWEEPER)
_COMPOSE_ERRORS = (HydraException, OmegaConfBaseException)


def preflight(argv: Sequence[str], *, config_dir: str | Path = CONF_DIR) -> list[RunConfig]:
    """Validate every job of the command line ``argv`` (``sys.argv[1:]``) without writing.

    Args:
        argv: the arguments of ``python -m experiments.run``.
        config_dir: the config folder (``conf/``).

    Returns:
        The validated run config of each job (none if Hydra handles the command alone).
        A sweep's jobs are recorded as validated (:mod:`sim.runtime.validated_jobs`), so
        that the sweeper ``hydra/sweeper=limitlab`` does not compose them again.

    Raises:
        UserError: a bad override or value (naming the field, the value and the range; for
            a sweep, the job), a sweep without jobs, a policy option some swept policy
            lacks, an override :mod:`sim.runtime.override_checks` refuses, an output
            folder that cannot be created, a run larger than the available memory, or a
            damaged data file.
    """
    args = _hydra_args(argv)
    if args is None:
        return []
    register_configs()
    with initialize_config_dir(config_dir=str(Path(config_dir)), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        parser = OverridesParser.create(config_loader=loader)
        name = args.config_name or "config"
        overrides = _parse(parser, list(args.overrides))
        check_command_line(overrides, loader)
        check_repeated_keys(overrides)
        # A sweep is `-m` or, as Hydra also reads it, the override hydra.mode=MULTIRUN.
        multirun = args.multirun or any(
            o.key_or_group == "hydra.mode" and str(o.value()).upper() == "MULTIRUN"
            for o in overrides
        )
        # `base`, with its hydra node: a sweep's fixed overrides, or the single run's config.
        composer = JobComposer(parser, loader, name)
        if multirun:
            swept = _sweep_jobs(parser, name, overrides, loader, composer)
            if swept is None:
                return []
            jobs, base = swept
        else:
            jobs = [[o.input_line or "" for o in overrides]]
            base = _composed(name, jobs[0])  # the run's config, with the hydra node
        check_policy_options(parser, jobs, multirun=multirun)
        first = None if multirun else _without_hydra(base)
        runs, repeats = _validate_jobs(parser, composer, name, jobs, multirun=multirun, first=first)
        if multirun:
            check_job_folders(parser, jobs, base, composer.compose, repeats)
        at_once = _jobs_at_once(base.hydra.launcher) if multirun else 1
        check_output_folder(name, jobs[0], multirun=multirun, composed=base)
        check_output_disk(runs, base, parser, jobs, multirun=multirun, job_config=composer.compose)
        # The jobs as Hydra's sweeper gets them: without the hydra overrides.
        tasks = [
            [o.input_line or "" for o in parser.parse_overrides(job) if not o.is_hydra_override()]
            for job in jobs
        ]
    for run in runs:
        _user(check_memory, run)
    if at_once > 1:
        _user(check_sweep_memory, runs, at_once)
    _user(load_uci)
    if multirun:
        # LimitLab's sweeper does not compose these jobs again (sim.runtime.validated_jobs).
        hydra_lines = [o.input_line or "" for o in overrides if o.is_hydra_override()]
        record_validated(config_dir, name, hydra_lines, tasks)
    return runs


def _composed(name: str, job: list[str]) -> DictConfig | None:
    """The config of ``job`` with its ``hydra`` node; None if Hydra cannot compose it."""
    try:
        return compose(config_name=name, overrides=job, return_hydra_config=True)
    except _COMPOSE_ERRORS:
        return None


def _without_hydra(cfg: DictConfig | None) -> DictConfig | None:
    """A copy of ``cfg`` without its ``hydra`` node: what ``compose`` returns without it."""
    if cfg is None:
        return None
    job = copy.deepcopy(cfg)
    with open_dict(job):
        del job["hydra"]
    return job


def _jobs_at_once(launcher: Any) -> int:
    """Jobs of a sweep that run at the same time on this machine.

    joblib's ``hydra.launcher.n_jobs`` (a negative value counts from the cores, as joblib
    does: -1 is every core); 1 for any other launcher (Hydra's basic one runs the jobs one
    after another; Ray and Submitit place them on their own resources).

    Args:
        launcher: the sweep's ``hydra.launcher`` node (of the config :func:`_sweep_jobs`
            composes).

    Raises:
        UserError: joblib's ``n_jobs`` is 0; an option given to the basic launcher.
    """
    target = str(launcher.get("_target_", ""))
    extra = [str(k) for k in launcher if k != "_target_"]
    if target.endswith(".BasicLauncher") and extra:  # Hydra's own error was a TypeError
        raise UserError(f"invalid config: hydra.launcher.{extra[0]}: {BASIC_LAUNCHER_NOTE}")
    if "joblib" not in target.lower():
        return 1
    n_jobs = launcher.get("n_jobs")
    if n_jobs == 0:  # joblib refuses it with a traceback, after multirun.yaml is written
        raise UserError(
            "invalid config: hydra.launcher.n_jobs = 0: joblib needs at least one worker "
            "(a positive number of workers, or a negative one counted from the cores: -1 is "
            "every core)"
        )
    _check_joblib_options(launcher)
    if not isinstance(n_jobs, int):
        return 1
    return n_jobs if n_jobs > 0 else max((os.cpu_count() or 1) + 1 + n_jobs, 1)


def _check_joblib_options(launcher: Any) -> None:
    """Refuse joblib options that ``joblib.Parallel`` refuses, before anything is written.

    Options it takes but cannot use (unknown keys, ``pre_dispatch=0``, a ``timeout`` of
    0, ...) are refused first (:func:`sim.runtime.launcher_options.joblib_option_problem`).
    The options are passed as Hydra's joblib launcher passes them (its ``backend`` is
    always ``loky``; ``batch_size``, ``pre_dispatch`` and ``max_nbytes`` read as whole
    numbers where they are), to ``Parallel``, which checks them without starting a worker.

    Raises:
        UserError: one line naming the option (``hydra.launcher.<key>``) and joblib's
            reason.
    """
    from joblib import Parallel

    options = OmegaConf.to_container(launcher, resolve=True)
    assert isinstance(options, dict)
    options.pop("_target_", None)
    for key in ("pre_dispatch", "batch_size", "max_nbytes"):  # as the launcher reads them
        with contextlib.suppress(TypeError, ValueError):
            if options.get(key):
                options[key] = int(options[key])
    # Options joblib takes but cannot use (sim.runtime.launcher_options): named first.
    problem = joblib_option_problem(options)
    if problem:
        raise UserError(f"invalid config: {problem}")
    options["backend"] = "loky"
    try:
        Parallel(**options)
    except (TypeError, ValueError) as err:
        for key in sorted(set(options) - {"backend"}):  # the one option at fault, if any
            try:
                Parallel(backend="loky", **{key: options[key]})
            except (TypeError, ValueError) as alone:
                raise UserError(
                    f"invalid config: hydra.launcher.{key} = {options[key]!r}: joblib "
                    f"refuses it ({alone})"
                ) from None
        raise UserError(f"invalid config: hydra.launcher: joblib refuses it ({err})") from None


def _hydra_args(argv: Sequence[str]) -> Any:
    """Hydra's reading of ``argv``, or None if the command is left to Hydra."""
    # Hydra's own parser (not public API, stable across 1.x), so flags mean what they
    # mean to Hydra; a usage error exits 2 here as it would there.
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(list(argv))
    if any(getattr(args, flag, None) for flag in _LEFT_TO_HYDRA):
        return None
    return args


def _user(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as err:
        user = as_user_error(err)
        if user is None:
            raise
        raise user from err


def _parse(parser: OverridesParser, lines: list[str]) -> list[Override]:
    try:
        return parser.parse_overrides(lines)
    except _COMPOSE_ERRORS as err:
        raise config_error(err) from err


def _sweep_jobs(
    parser: OverridesParser,
    name: str,
    overrides: list[Override],
    loader: Any,
    composer: JobComposer,
) -> tuple[list[list[str]], DictConfig] | None:
    """The jobs of a ``-m`` sweep, as Hydra's basic sweeper will make them, and its base.

    None if another sweeper decides them. The sweeper's ``params`` are checked as the
    command line is (:mod:`sim.runtime.override_checks`), and so is every job's run folder.
    The base is the config of the sweep's fixed (not swept) overrides with its ``hydra``
    node, as Hydra's sweeper composes it: its launcher and sweep folder are the sweep's.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    fixed = [o.input_line or "" for o in overrides if not o.is_sweep_override()]
    hydra_only = [o.input_line or "" for o in overrides if o.is_hydra_override()]
    try:
        base = compose(config_name=name, overrides=fixed, return_hydra_config=True)
    except _COMPOSE_ERRORS:
        # The job configs will say what is wrong; the sweeper's settings come from here.
        try:
            base = compose(config_name=name, overrides=hydra_only, return_hydra_config=True)
        except _COMPOSE_ERRORS as err:
            raise config_error(err) from err
        except Exception as err:  # an error inside Hydra or OmegaConf: Hydra reports it
            interrupt = interrupt_behind(err)
            if interrupt is not None:
                raise interrupt from None  # not swallowed: Ctrl-C stops the command
            return None
    sweeper = base.hydra.sweeper
    if sweeper.get("_target_") not in _SWEEPERS:
        return None
    node = sweeper.get("params")
    params = OmegaConf.to_container(node, resolve=False) if node else {}
    assert isinstance(params, dict)
    lines = [f"{k}={v}" for k, v in params.items()] + [o.input_line or "" for o in overrides]
    parsed = _parse(parser, lines)
    check_command_line(parsed, loader)
    try:
        jobs = BasicSweeper.split_arguments(parsed, None)[0]
    except HydraException as err:
        raise config_error(err) from err
    except OmegaConfBaseException as err:  # e.g. seed=range(0,2),5: Hydra cannot expand it
        raise UserError(
            "invalid sweep: Hydra cannot expand the swept values "
            f"({str(err).splitlines()[0]}): give each swept key one list (seed=0,1,5) or "
            "one range (seed=range(0,3))"
        ) from err
    if not jobs:
        empty = [o.input_line for o in parsed if o.is_sweep_override() and _no_values(o)]
        raise UserError(
            f"invalid sweep: {', '.join(map(str, empty)) or 'the sweep'} gives no values, "
            "so there is no job to run"
        )
    check_sweep_settings(parser, jobs, base)  # the jobs' own folders once they are valid
    return jobs, base


def _no_values(override: Override) -> bool:
    try:
        return next(iter(override.sweep_string_iterator()), None) is None
    except HydraException:
        return False


def _validate_jobs(
    parser: OverridesParser,
    composer: JobComposer,
    name: str,
    jobs: list[list[str]],
    *,
    multirun: bool,
    first: DictConfig | None = None,
) -> tuple[list[RunConfig], dict[int, int]]:
    """The jobs' run configs (one per distinct job) and their repeats.

    The repeats map a job to the earlier job of the same run (two spellings of one value,
    ``seed=1,01``); ``first`` is the first job's config, composed.
    """
    runs: dict[tuple[str, ...], RunConfig] = {}
    repeats: dict[int, int] = {}
    job_of: dict[str, int] = {}  # a run config (its repr: every field) -> its first job
    first_of: dict[tuple[str, ...], int] = {}  # a job's lines -> the first job with them
    for index, job in enumerate(jobs):
        key = tuple(job)
        if first_of.setdefault(key, index) != index:  # seed=0,0: one run twice, any folders
            repeats[index] = first_of[key]
            continue
        shown = " ".join(shown_job(parser, job))  # its own lines, as typed
        where = f" (sweep job #{index + 1} of {len(jobs)}: {shown})" if multirun else ""
        try:
            cfg = first if index == 0 and first is not None else composer.compose(job)
            problem = bool_problem(parser.parse_overrides(job), cfg)
            if problem:
                raise UserError(f"invalid config: {problem}{where}")
            run = to_run_config(cfg)
        except DataFileError:
            raise
        except (*_COMPOSE_ERRORS, *CONFIG_ERRORS) as err:
            policy_error = policy_option_problem(parser, name, job, multirun=multirun)
            raise (policy_error or config_error(err, where)) from err
        earlier = job_of.setdefault(repr(run), index)
        if earlier != index:  # two spellings of one value (seed=1,01): one run twice
            repeats[index] = earlier
            continue
        runs[key] = run
    return list(runs.values()), repeats


def checked_run_config(cfg: Any) -> RunConfig:
    """:func:`sim.config.to_run_config` plus the memory check, raising user errors.

    Raises:
        UserError: the config is invalid (one line naming the field).
        InsufficientMemoryError: the run cannot fit in the available memory.
    """
    try:
        run = to_run_config(cfg)
    except DataFileError:
        raise
    except CONFIG_ERRORS as err:
        raise config_error(err) from err
    check_memory(run)
    return run
