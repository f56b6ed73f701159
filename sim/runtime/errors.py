"""User errors of a command-line run: one line, exit code 2, nothing left behind.

A value outside its range, a damaged data file or a run too large for the machine is the
user's to fix, not a bug in the simulator: the entry point (``experiments/run.py``) shows
one line naming the field or the file and exits with :data:`USER_ERROR_EXIT` (2, as
argparse does for a usage error). ``HYDRA_FULL_ERROR=1`` (Hydra's own switch) prints the
traceback above that line, for developers.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
import sys
import traceback
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from hydra.errors import ConfigCompositionException, HydraException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    KeyValidationError,
    OmegaConfBaseException,
    ValidationError,
)

from sim.interrupts import interrupt_behind
from sim.outputs.folders import is_disk_full
from sim.runtime.resources import InsufficientMemoryError
from sim.world.data import DataFileError

#: Exit code of a run refused for a user error (config, data, size).
USER_ERROR_EXIT = 2

#: What :func:`sim.config.to_run_config` raises for a bad config.
CONFIG_ERRORS = (TypeError, ValueError, KeyError)

#: What Hydra writes into a job folder when the job starts (and nothing else).
_HYDRA_JOB_FILES = {".hydra", "run.log"}
_HYDRA_CONFIG_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}


class UserError(Exception):
    """A mistake in the command line, the config, the data or the run's size.

    ``str()`` is the one line shown to the user; ``__cause__`` keeps the original error.
    """


class ComposeError(ConfigCompositionException):
    """Hydra's composition error as the Python API raises it: the command line's one line.

    ``str()`` is :func:`config_error`'s line (an unknown key and the closest one, a wrong
    type and the allowed range, a group's options without the schemas); ``__cause__`` is
    Hydra's own error. A ``ConfigCompositionException``, so code catching Hydra's errors
    still catches it.
    """


def one_line(text: object) -> str:
    """``text`` on one line: its lines stripped and joined with ``; ``."""
    lines = [line.strip().rstrip(".;") for line in str(text).splitlines()]
    return "; ".join(line for line in lines if line)


def config_error(err: BaseException, where: str = "") -> UserError:
    """``invalid config: <what is wrong>`` (plus ``where``, e.g. the sweep job).

    A value of the wrong type for a schema field names the field, the value, the expected
    type and the field's allowed range (``platform.over_limit_tolerance = 'abc': expected
    a number (float) in the allowed range [0.0, 1.0]``); a key no schema has names it and
    the closest existing key (``population.n_borrower does not exist; did you mean
    population.n_borrowers?``). For Hydra's other composition errors, the option lists
    lose their ``*_schema`` entries (the schemas are not options to pick), the config
    search path is left out and the first line of the underlying OmegaConf error is added
    (it names the key).
    """
    if isinstance(err, ComposeError):
        return UserError(f"{err}{where}")
    if isinstance(err, KeyError) and err.args:
        text = str(err.args[0])
    elif isinstance(err, OverrideParseException):
        text = _grammar_text(err)
    elif isinstance(err, HydraException):
        text = _schema_text(err.__cause__) or _hydra_text(err)
    else:
        text = str(err)
    return UserError(f"invalid config: {one_line(text)}{where}")


def _grammar_text(err: OverrideParseException) -> str:
    r"""An override Hydra cannot parse: the override, Hydra's reason and how to quote a value.

    Hydra's override grammar takes unquoted values of plain characters only: an ``=``,
    ``,``, quote, bracket or a character beyond ASCII (``/tmp/café``) needs the value in
    quotes (``key='value'``, or ``key="it's"``; in a shell, the whole override quoted too:
    ``"key='value'"``, ``"key=\"it's\""``).
    """
    reason = one_line(err.message).split("; See https://hydra.cc")[0]
    if reason.startswith("LexerNoViableAltException"):
        reason = "a character it does not take unquoted"
    key, sep, value = err.override.partition("=")
    key = key if sep else "key"
    # As typed in a shell: the whole override quoted too, its own quotes kept.
    example = f'"{key}=\\"...\\""' if "'" in value else f"\"{key}='...'\""
    return (
        f"{err.override!r} is not an override Hydra can read ({reason}): a value holding "
        "'=', ',', quotes, brackets or characters beyond ASCII goes in quotes, e.g. "
        f"{example}"
    )


def _schema_text(cause: BaseException | None) -> str | None:
    """The message for a wrong type or an unknown key of a schema (dataclass), else None."""
    if not isinstance(cause, OmegaConfBaseException) or not cause.full_key:
        return None
    owner = cause.object_type
    if not (isinstance(owner, type) and dataclasses.is_dataclass(owner)):
        return None
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.key is not None:
        return _unknown_key_text(cause)
    if isinstance(cause, ValidationError) and not isinstance(cause, KeyValidationError):
        try:
            hint = typing.get_type_hints(owner).get(str(cause.key))
        except Exception:  # noqa: BLE001 - an unresolvable annotation: no type to name
            hint = None
        if hint is None:
            return None
        allowed = _allowed_range(cause)
        return f"{cause.full_key} = {cause.value!r}: expected {_type_name(hint)}" + (
            f" in the allowed range {allowed}" if allowed else ""
        )
    return None


#: How an expected type reads in a message.
_TYPE_NAMES = {
    float: "a number (float)",
    int: "a whole number (int)",
    bool: "true or false (bool)",
    str: "a string",
}


def _type_name(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return f"{_type_name(args[0])} or null"
    if typing.get_origin(hint) in (list, tuple):
        return "a list"
    if typing.get_origin(hint) is dict:
        return "a mapping"
    return _TYPE_NAMES.get(hint, getattr(hint, "__name__", str(hint)))


#: Why an option of ``hydra.launcher`` fails without ``hydra/launcher=joblib``.
BASIC_LAUNCHER_NOTE = (
    "Hydra's basic launcher, the default, takes no options and runs the jobs one after "
    "another; for jobs side by side choose hydra/launcher=joblib"
)


def closest_name(word: str, names: list[str]) -> list[str]:
    """The name closest to ``word`` (``[]`` if none is close): difflib, ignoring case.

    Args:
        word: the name as typed.
        names: the names it may stand for.

    Returns:
        ``[name]`` as ``names`` spell it (the first of names equal but for case), or ``[]``.
    """
    by_lower = {name.lower(): name for name in reversed(names)}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return [by_lower[close[0]]] if close else []


#: Hydra's own config groups, chosen on the command line as ``hydra/<group>=<option>``.
HYDRA_GROUPS = tuple(
    f"hydra/{g}"
    for g in (
        "launcher", "sweeper", "job_logging", "hydra_logging", "output", "help", "hydra_help",
        "env",
    )
)  # fmt: skip


def _unknown_key_text(cause: OmegaConfBaseException) -> str:
    """``<key> does not exist; did you mean <closest key>?`` (difflib over its siblings).

    A key with a ``/`` is a config group's (``hydra/LAUNCHER``), matched with the groups;
    a key closest to a group's label (``scenario.NAME``), which the command line refuses
    (:data:`sim.runtime.override_checks.LABELS`), gets the group's options instead.
    """
    from sim.config.paths import CONF_DIR
    from sim.runtime.override_checks import LABELS  # imports this module: here, not on top

    key = str(cause.key)
    parent = cause.parent_node
    siblings = [str(k) for k in (parent.keys() if parent is not None else []) if k != "hydra"]
    head = str(cause.full_key).rpartition(".")[0]
    if "/" in key and not head:
        groups = [*HYDRA_GROUPS, *sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir())]
        close = closest_name(key, groups)
        if close:
            return f"{key} does not exist; did you mean the config group {close[0]}?"
    close = closest_name(key, siblings)
    if close and f"{head}.{close[0]}" in LABELS:  # a label, refused: the group's options
        options = sorted(p.stem for p in (CONF_DIR / head).glob("*.yaml"))
        return (
            f"{cause.full_key} does not exist; to run another {head}, choose it: "
            f"{head}=<option>, one of {', '.join(options)}"
        )
    if close:
        return (
            f"{cause.full_key} does not exist; did you mean {head + '.' if head else ''}{close[0]}?"
        )
    where = f"of {head}" if head else "at the top level"
    text = f"{cause.full_key} does not exist; the keys {where} are: {', '.join(siblings)}"
    target = str(parent.get("_target_", "")) if parent is not None else ""
    if head == "hydra.launcher" and target.endswith(".BasicLauncher"):
        text += f" ({BASIC_LAUNCHER_NOTE})"
    return text


def _allowed_range(cause: OmegaConfBaseException) -> str | None:
    """The allowed range of ``cause.full_key``, as its schema's range check states it.

    The config being composed (without the schemas' typing) gets the bad value and is
    validated by :func:`sim.config.to_run_config`; the range is read from the check's
    message about that field (``... allowed range [0.0, 1.0]``, ``... integers in [1, 5]``).
    None where the field has no range check, or the path is not a plain dotted one.
    """
    from sim.config import to_run_config

    path = str(cause.full_key).split(".")
    parent = cause.parent_node
    if parent is None or any("[" in part for part in path):
        return None
    try:
        root = parent._get_root()
        values = {
            str(k): OmegaConf.to_container(root[k], resolve=True)
            if OmegaConf.is_config(root[k])
            else root[k]
            for k in root
            if k != "hydra"
        }
        node = values
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = cause.value
        to_run_config(values)
    except ValueError as probe:
        field = re.escape(str(cause.full_key))
        found = re.match(
            rf"{field} = .*(?:allowed range|integers in) ([\[(][^\])]*[\])])", str(probe)
        )
        return found.group(1) if found else None
    except Exception:  # noqa: BLE001 - another problem first: no range to give
        return None
    return None


#: Hydra's line for an unknown option of a config group: the group and the option.
_MISSING_OPTION = re.compile(r"Could not find '(.+)/([^/']+)'")
#: Hydra's refusal of ``+group=option`` for a group the config already chooses, written in
#: its defaults-list syntax.
_GROUP_ADDED = re.compile(
    r"^Multiple values for (\S+)\. To override a value use 'override \S+: (.+)'$"
)


def _hydra_text(err: HydraException) -> str:
    lines: list[str] = []
    options: list[str] = []
    for line in str(err).split("\nConfig search path")[0].splitlines():
        if line.startswith("\t"):
            if not line.strip().endswith("_schema"):
                options.append(line.strip())
        elif line.strip():
            lines.append(line)
    if options:
        lines[-1] = f"{lines[-1].rstrip(':')}: {', '.join(options)}"
        missing = _MISSING_OPTION.search(lines[0]) if lines else None
        close = closest_name(missing.group(2), options) if missing else []
        if missing and close:
            lines.insert(1, f"did you mean {missing.group(1)}={close[0]}?")
    added = _GROUP_ADDED.match(lines[0]) if lines else None
    if added:
        group, option = added.groups()
        lines[0] = (
            f"+{group}={option} adds a {group}, but the config chooses one already: give "
            f"{group}={option} (without '+') to choose it"
        )
    cause = err.__cause__
    if isinstance(cause, OmegaConfBaseException) and str(cause).strip():
        lines.append(str(cause).strip().splitlines()[0])
    return "\n".join(lines)


def as_user_error(err: BaseException) -> UserError | None:
    """The one-line user error for ``err``, or None if ``err`` is not the user's to fix.

    Data file problems (:class:`sim.world.data.DataFileError`), runs too large for the
    machine (:class:`sim.runtime.resources.InsufficientMemoryError`) and a full disk or
    quota (:func:`sim.outputs.folders.is_disk_full`) are;
    other errors are bugs, shown with their traceback.
    """
    if isinstance(err, UserError):
        return err
    if isinstance(err, DataFileError):
        return UserError(f"data error: {one_line(err)}")
    if isinstance(err, InsufficientMemoryError):
        return UserError(f"not enough memory: {one_line(err)}")
    if is_disk_full(err):
        # Every output is written to a temporary file renamed into place, which names the
        # target in its error (sim.outputs.files): a full disk leaves no partial table,
        # and a run without its completion marker runs again.
        return UserError(
            f"disk full: {one_line(err)}; free some space and run the command again (a "
            "sweep keeps its finished runs: add resume=true)"
        )
    return None


def exit_with(err: UserError) -> NoReturn:
    """Print ``err`` as one line on stderr and exit with :data:`USER_ERROR_EXIT`.

    Under ``HYDRA_FULL_ERROR=1`` the traceback (with the original error) comes first.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        traceback.print_exception(err)
    print(str(err), file=sys.stderr, flush=True)
    raise SystemExit(USER_ERROR_EXIT)


def remove_unused_job_folder(folder: str | Path) -> bool:
    """Remove a job folder that holds only what Hydra wrote when the job started.

    Only ``.hydra/`` (with Hydra's three YAML files) and ``run.log`` may be there: a folder
    with anything else (a previous run's outputs, the user's files) is left alone.

    Returns:
        True if the folder was removed.
    """
    path = Path(folder)
    try:
        names = {p.name for p in path.iterdir()}
        hydra = path / ".hydra"
        if not names <= _HYDRA_JOB_FILES or (
            hydra.exists() and not {p.name for p in hydra.iterdir()} <= _HYDRA_CONFIG_FILES
        ):
            return False
        if (path / "run.log").is_symlink() or hydra.is_symlink():
            return False
        shutil.rmtree(path)
    except OSError:
        return False
    return True


@contextmanager
def user_errors(job_folder: str | Path | None = None) -> Iterator[None]:
    """Show a user error raised inside as one line and exit with :data:`USER_ERROR_EXIT`.

    Other errors pass through with their traceback; one raised from or while handling a
    Ctrl-C is raised as that ``KeyboardInterrupt`` (:func:`interrupt_behind`).

    Args:
        job_folder: a folder Hydra made for this job, removed on a user error if it
            holds nothing but Hydra's files (:func:`remove_unused_job_folder`).
    """
    try:
        yield
    except Exception as err:
        interrupt = interrupt_behind(err)
        if interrupt is not None:
            raise interrupt from None  # Ctrl-C surfacing as another error (its docs)
        user = as_user_error(err)
        if user is None:
            raise
        if job_folder is not None:
            remove_unused_job_folder(job_folder)
        exit_with(user)
