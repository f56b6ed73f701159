"""The command line's checks of its output folder, before anything is written.

:func:`check_output_folder` is called by :func:`sim.runtime.preflight.preflight` with the
first job of the command line: the folder (``hydra.run.dir``, or ``hydra.sweep.dir`` for a
sweep) must be a folder that can be made, must not be empty or name a missing key, and
must not hold finished runs that the command would overwrite or mix with its own, nor
entries that are not a run's (a sweep's).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

from hydra import compose
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

from sim.outputs.files import COMPLETE_MARKER, RUN_TABLES
from sim.outputs.folders import (
    RUN_FILES_ROOM,
    TEMPORARY_NAME,
    check_creatable,
    check_path_lengths,
    not_a_folder,
)
from sim.runtime.errors import CONFIG_ERRORS, UserError
from sim.runtime.job_subdir import DIRNAME
from sim.runtime.runner import config_hash, overwrite_refusal

__all__ = ["check_output_folder"]

_COMPOSE_ERRORS = (HydraException, OmegaConfBaseException)
#: An interpolation of Hydra's own values (``${hydra.job.name}``, ``${hydra:runtime.cwd}``).
_HYDRA_VALUE = re.compile(r"\$\{\s*hydra[.:]")
#: What a run writes into its folder (:func:`sim.outputs.files.write_run_outputs`, the
#: runner's ``portfolio`` figure, Hydra's ``.hydra`` folder and its job's log).
_RUN_ENTRIES = frozenset(
    {".hydra", COMPLETE_MARKER, "resolved_config.yaml", "run_info.json", "summary.csv"}
    | {f"{name}.parquet" for name in RUN_TABLES}
)
_RUN_ENTRY = re.compile(r"^(portfolio\.[a-z]+|[^/]+\.log)$")
#: What a sweep writes into its folder besides its runs' folders: Hydra's record of the
#: sweep, the shared burn-ins (:mod:`sim.runtime.burn_in`) and the comparison's report.
_SWEEP_ENTRIES = frozenset({"multirun.yaml", ".burn_in", "report"})
#: The config keys a folder's name interpolates (``${experiment_name}``, ``${now:...}``).
_CONFIG_KEY = re.compile(r"\$\{([A-Za-z_][\w.]*)[}:]")


def check_output_folder(
    name: str,
    job: list[str],
    *,
    multirun: bool,
    composed: DictConfig | None = None,
    named: str | None = None,
) -> None:
    """Refuse an output folder that is a file, or that holds a finished run to overwrite.

    The folder is ``hydra.run.dir`` (``hydra.sweep.dir`` for a sweep), as composed for the
    job ``job``. A single run refuses a folder holding a complete run (its marker,
    :data:`sim.outputs.files.COMPLETE_MARKER`) unless ``resume=true`` and it is a run of
    the same config (which the job skips; :func:`sim.runtime.runner.overwrite_refusal`);
    a sweep refuses a folder holding complete runs unless ``resume=true`` (an interrupted
    sweep keeps its finished runs and runs the rest; a job whose folder holds a run of
    another config is refused by :func:`sim.runtime.runner.run_to_folder`).
    An empty folder, or the current folder itself (either would put the run's files loose
    in it), or one naming a key that is not in the config (``${oops}``, a missing
    ``${oc.env:...}``) is refused, as is an existing folder holding entries that a run (a
    sweep) does not write, e.g. ``hydra.run.dir=/`` or a folder of other files: the
    results would be written among them, and could replace a file of the same name. A
    folder naming Hydra's own values (``${hydra...}``,
    some of which Hydra sets only when the job runs, e.g. ``hydra.job.name``) is left to the
    job: resolved here, it could name another folder. A sweep resumed (``resume=true``) in
    a folder whose finished runs are of another study is refused; ``resume=true`` into a
    folder that does not exist prints one ``note:`` line on stderr.

    Args:
        name: the config's name (``config``).
        job: the command line's first job, as override lines.
        multirun: a sweep (``-m``).
        composed: the config of ``job`` with its ``hydra`` node, if composed already (for a
            sweep, that of its fixed overrides: its folder and ``resume`` are the sweep's).
        named: the option the messages name (a tool's ``--out`` that sets the folder);
            default the Hydra setting.

    Raises:
        UserError: one line naming the option (``hydra.run.dir`` or ``hydra.sweep.dir``),
            the folder and what to do.
    """
    setting = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    option = named or setting
    try:
        cfg = (
            composed
            if composed is not None
            else compose(config_name=name, overrides=job, return_hydra_config=True)
        )
    except (*_COMPOSE_ERRORS, *CONFIG_ERRORS):
        return
    raw = str(OmegaConf.to_container(cfg.hydra.sweep if multirun else cfg.hydra.run)["dir"])
    if _HYDRA_VALUE.search(raw):
        unknown = [k for k in _CONFIG_KEY.findall(raw) if not _has_key(cfg, k)]
        if unknown:  # Hydra's own report of it was a traceback
            raise UserError(
                f"output folder {option}={raw}: {unknown[0]} is not a key of the config: "
                f"choose another folder ({option}=...)"
            )
        return  # some are set only when the job runs: the job resolves them
    try:
        folder_text = str(OmegaConf.select(cfg, setting, throw_on_resolution_failure=True))
    except InterpolationResolutionError as err:  # a missing key or environment variable
        reason = str(err.msg).splitlines()[0]
        raise UserError(
            f"output folder {option}={raw}: {reason}: choose another folder ({option}=...)"
        ) from err
    except (*_COMPOSE_ERRORS, *CONFIG_ERRORS):
        return
    try:
        resume = bool(cfg.get("resume", False))
        digest = config_hash(_resolved(name, job)) if resume and not multirun else ""
    except (*_COMPOSE_ERRORS, *CONFIG_ERRORS):
        return  # the job's config: checked and named before this
    if not folder_text.strip() or Path(folder_text).resolve() == Path.cwd().resolve():
        what = "is empty" if not folder_text.strip() else f"({folder_text}) is the current folder"
        raise UserError(
            f"output folder {option} {what}: it would write the run's files loose in the "
            f"current folder; give a folder ({option}=...)"
        )
    folder = Path(folder_text)
    try:
        check_path_lengths(folder, room=RUN_FILES_ROOM)
    except ValueError as err:
        # A name made from an option (outputs/${experiment_name}/...): that option too.
        keys = dict.fromkeys(k for k in _CONFIG_KEY.findall(raw) if k != "now")
        shorter = " or ".join([*(f"{k}=..." for k in keys), f"{option}=..."])
        shown = f"{option} = {raw}" if keys else option
        raise UserError(f"output folder {shown}: {err}: choose a shorter one ({shorter})") from None
    where = not_a_folder(folder)  # a file, or a link to nothing, on the way
    if where:
        raise UserError(f"output folder {folder} {where}: choose another folder ({option}=...)")
    try:
        check_creatable(folder)
    except ValueError as err:
        raise UserError(
            f"output folder {folder}: {err}: choose another folder ({option}=...)"
        ) from err
    if not folder.is_dir():
        if resume:
            # Not an error: a script may always add resume=true ("run, or finish"); but a
            # mistyped folder would silently start again, so say so.
            what = "sweep" if multirun else "run"
            if "${now:" in raw and not any(
                line.lstrip("+").startswith(f"{setting}=") for line in job
            ):
                where = f"the output folder is a new dated one ({option} not given)"
                check = f"give {option}=<its folder> to resume an earlier {what}"
            else:
                where = f"{folder} does not exist yet"
                check = f"check {option}= if you meant an earlier {what}"
            print(
                f"note: resume=true, but {where}: nothing to resume, "
                f"{'every run starts' if multirun else 'the run starts'} ({check})",
                file=sys.stderr,
                flush=True,
            )
        return
    foreign = _foreign_entries(folder, multirun)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        what = "a sweep's" if multirun else "a run's"
        raise UserError(
            f"output folder {folder} already holds entries that are not {what} ({shown}): "
            "the results would be written among them; choose a new or empty folder "
            f"({option}=...)"
        )
    if multirun and not resume:
        finished = sum(1 for _ in folder.rglob(COMPLETE_MARKER))
        if finished:
            raise UserError(
                f"sweep folder {folder} already holds {finished} finished run(s) of an "
                f"earlier sweep: choose a new folder ({option}=...), or add resume=true "
                "with that sweep's overrides to keep them and run the rest"
            )
    elif multirun:
        _check_same_folder_names(folder, cfg, job)
        _check_same_study(folder, _resolved(name, job), option)
    else:
        refusal = overwrite_refusal(folder, digest, resume=resume, option=option)
        if refusal:
            raise UserError(refusal)


def _foreign_entries(folder: Path, multirun: bool, limit: int = 4) -> list[str]:
    """Up to ``limit`` names in ``folder`` that the command would not have written there.

    A run folder holds only a run's files (:data:`_RUN_ENTRIES`, its figure and log, the
    temporary files of an interrupted write) beside Hydra's ``.hydra`` folder, which a run
    writes first, or its completion marker: without either, files named like a run's are
    someone else's (a
    ``summary.csv`` of one's own was replaced); a sweep folder only a sweep's entries
    (:data:`_SWEEP_ENTRIES`) and its runs' folders: a folder holding a ``.hydra`` folder at
    most three levels down (``hydra.sweep.subdir`` may name nested folders), or empty.
    """
    foreign = []
    a_run = multirun or (folder / ".hydra").is_dir() or (folder / COMPLETE_MARKER).is_file()
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if TEMPORARY_NAME.match(name):
            continue
        if not a_run:
            ours = False
        elif multirun:
            ours = name in _SWEEP_ENTRIES or (
                entry.is_dir() and not entry.is_symlink() and _holds_a_run(entry)
            )
        else:
            kind_ok = entry.is_dir() if name == ".hydra" else entry.is_file()
            ours = kind_ok and (name in _RUN_ENTRIES or bool(_RUN_ENTRY.match(name)))
        if not ours:
            foreign.append(name)
            if len(foreign) == limit:
                break
    return foreign


def _holds_a_run(folder: Path) -> bool:
    """``folder`` is empty or holds a ``.hydra`` folder, at most three levels down."""
    try:
        if not any(folder.iterdir()):
            return True
    except OSError:
        return False
    return any(any(folder.glob("/".join(["*"] * depth + [".hydra"]))) for depth in range(3))


#: The settings that name a sweep's run folders, as ``multirun.yaml`` keeps them.
_FOLDER_NAMING = (
    ("hydra.sweep.subdir", ("sweep", "subdir")),
    ("hydra.job.config.override_dirname.kv_sep", ("job", "config", "override_dirname", "kv_sep")),
    (
        "hydra.job.config.override_dirname.item_sep",
        ("job", "config", "override_dirname", "item_sep"),
    ),
    (
        "hydra.job.config.override_dirname.exclude_keys",
        ("job", "config", "override_dirname", "exclude_keys"),
    ),
)


def _check_same_folder_names(folder: Path, cfg: DictConfig, job: list[str]) -> None:
    """Refuse resuming a sweep whose run folders would be named otherwise than before.

    Hydra writes the sweep's settings to ``multirun.yaml`` as the sweep starts (and again
    at each resume), and each run's to its ``.hydra/hydra.yaml``, read when the former is
    missing or unreadable. Resumed with another ``hydra.sweep.subdir`` (or another
    ``override_dirname`` separator, or ``exclude_keys`` differing in a key the jobs set,
    ``resume`` aside), the jobs look for their finished runs in other folders: each ran
    again into a new one, the sweep's ``[done/total]`` counter passed its total, and the
    comparison refused the duplicated runs. A folder with neither record is not checked.

    Args:
        folder: the sweep folder.
        cfg: the sweep's config with its ``hydra`` node.
        job: the sweep's first job, as override lines (the keys the jobs set).

    Raises:
        UserError: naming the setting, both values and the one to resume with.
    """
    found = _earlier_settings(folder)
    if found is None:
        return
    earlier, record = found
    ours = OmegaConf.to_container(cfg.hydra, resolve=False)
    named = DIRNAME.search(str(_part(ours, _FOLDER_NAMING[0][1])))
    keys = {line.split("=", 1)[0].lstrip("+~") for line in job} - {"resume"}
    # The override_dirname's settings name folders only through that interpolation.
    for key, path in _FOLDER_NAMING if named else _FOLDER_NAMING[:1]:
        before, now = _part(earlier, path), _part(ours, path)
        if isinstance(before, list) and isinstance(now, list):
            if set(map(str, before)) & keys == set(map(str, now)) & keys:
                continue  # the same keys left out of these jobs' folder names
            before, now = _listed(before), _listed(now)
        if before is None or before == now:
            continue
        raise UserError(
            f"sweep folder {folder} was run with {key}={before} ({record}), and is resumed "
            f"with {key}={now}: the finished runs would not be found, and would run again "
            f"into new folders; resume with {shlex.quote(f'{key}={before}')}"
        )


def _earlier_settings(folder: Path) -> tuple[dict[str, Any], str] | None:
    """The ``hydra`` node the sweep folder's runs were made with, and the file it is from."""
    import yaml

    records = [folder / "multirun.yaml"]
    records += [m.parent / ".hydra" / "hydra.yaml" for m in sorted(folder.rglob(COMPLETE_MARKER))]
    for path in records:
        try:
            node = yaml.safe_load(path.read_text(encoding="utf-8"))["hydra"]
        except (OSError, UnicodeError, yaml.YAMLError, KeyError, TypeError):
            continue
        if isinstance(node, dict) and isinstance(node.get("sweep"), dict):
            return node, "its multirun.yaml" if path.parent == folder else str(
                path.relative_to(folder)
            )
    return None


def _part(tree: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _listed(keys: list[Any]) -> str:
    return "[" + ",".join(map(str, keys)) + "]"


def _check_same_study(folder: Path, resolved: dict[str, Any], option: str) -> None:
    """Refuse resuming a sweep in a folder whose finished runs are of another config.

    Runs may differ from this sweep's first job only in the keys the comparison lets vary
    (:data:`sim.analysis.compare.runs.COMPARED_KEYS`: policy, seed, scenario, settings that
    move no number), as it requires of one folder's runs; a resume with other overrides
    would add runs that the comparison then refuses. Compared as the runs'
    ``resolved_config.yaml`` reads (:func:`~sim.analysis.compare.runs.read_study_config`).
    """
    import yaml

    from sim.analysis.compare.runs import config_difference, read_study_config, study_config

    ours = study_config(yaml.safe_load(OmegaConf.to_yaml(OmegaConf.create(resolved))))
    for marker in sorted(folder.rglob(COMPLETE_MARKER)):
        theirs = read_study_config(marker.parent)
        keys = [] if theirs is None else config_difference(theirs, ours)
        if keys:
            raise UserError(
                f"sweep folder {folder} holds finished runs of another config "
                f"({marker.parent.name} differs from this sweep in {', '.join(keys[:5])}): "
                "resume it with that sweep's overrides, or choose a new folder "
                f"({option}=...)"
            )


def _resolved(name: str, job: list[str]) -> dict[str, Any]:
    """The job's resolved config as a plain dict, as the job hashes it for resume."""
    resolved = OmegaConf.to_container(compose(config_name=name, overrides=job), resolve=True)
    assert isinstance(resolved, dict)
    return resolved


def _has_key(cfg: DictConfig, key: str) -> bool:
    """Whether ``cfg`` has the dotted ``key`` (a value Hydra sets later, ``???``, counts)."""
    node: Any = OmegaConf.to_container(cfg, resolve=False)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
