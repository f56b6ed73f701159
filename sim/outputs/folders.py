"""Output folders: checked before any work, so a bad ``--out`` fails before results exist."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import tempfile
from pathlib import Path

__all__ = [
    "RUN_FILES_ROOM",
    "DISK_FULL_ERRNOS",
    "TEMPORARY_NAME",
    "check_creatable",
    "check_name_lengths",
    "check_output_dir",
    "check_path_lengths",
    "foreign_entries",
    "is_disk_full",
    "move_entries",
    "name_max",
    "not_a_folder",
    "path_max",
    "remove_stale_temporaries",
]


def check_output_dir(
    path: str | os.PathLike[str], option: str = "--out", *, new_or_empty: bool = False
) -> Path:
    """Check, before any work, that an output folder can be created and written.

    The folder is created (with its parents) and a probe file written and removed in it;
    if that fails, the folders this call created are removed again.

    Args:
        path: the folder (it need not exist yet); not empty.
        option: the option or field named in the error.
        new_or_empty: refuse a folder that already holds files (so a finished run's
            results are never overwritten, nor mixed with other files).

    Returns:
        The path.

    Raises:
        ValueError: the path is empty or an existing file, holds files while
            ``new_or_empty``, or cannot be created or written.
    """
    if not str(path).strip():
        raise ValueError(f"{option}: empty path; give a folder")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {out}: exists and is not a folder")
    if new_or_empty and out.is_dir() and any(out.iterdir()):
        raise ValueError(
            f"{option} {out}: the folder already holds files (results of an earlier run are "
            "never overwritten); give a new or empty folder"
        )
    missing = []
    ancestor = out
    while not ancestor.exists():
        missing.append(ancestor)
        ancestor = ancestor.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-probe-"):
            pass
    except OSError as exc:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise ValueError(f"{option} {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def check_creatable(path: str | os.PathLike[str]) -> None:
    """Check, leaving nothing behind, that folder ``path`` can be created and written.

    A probe folder is made and removed in ``path`` if it exists, else in its nearest
    existing parent (where the first missing folder would be created).

    Args:
        path: the folder (it need not exist yet).

    Raises:
        ValueError: ``cannot write in <folder> (<reason>)``: a folder that does not accept
            new entries, or cannot be looked in (read-only, no permission, a pseudo-file
            system such as ``/proc``).
    """
    ancestor = Path(path).absolute()
    try:
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        os.rmdir(tempfile.mkdtemp(prefix=".write-probe-", dir=ancestor))
    except OSError as exc:  # also a folder that cannot be looked in (/proc/1/cwd)
        raise ValueError(f"cannot write in {ancestor} ({exc.strerror or exc})") from None


def not_a_folder(path: str | os.PathLike[str]) -> str:
    """What keeps folder ``path`` from being made or used, as words to follow it; "" if none.

    ``starts with '~' ...`` (a quoted ``~``: the folder code would make a folder named
    ``~``, pandas write into the home folder), ``is a file, not a folder``, ``is a link to
    <target>, which does not exist`` (no folder
    can be made through it), or ``is inside <parent>, a file, not a folder`` (``a link
    ...``) for a parent. One that cannot be looked in is passed over
    (:func:`check_creatable` names it).
    """
    folder = Path(path)
    if str(folder).startswith("~"):  # pandas would expand it, Hydra and pathlib do not
        return (
            "starts with '~', which names a folder '~' here, not a home folder (the shell "
            "expands it only unquoted)"
        )
    for entry in (folder, *folder.parents):
        try:
            if entry.is_symlink() and not entry.exists():
                what = f"a link to {os.readlink(entry)}, which does not exist"
            elif entry.exists() and not entry.is_dir():
                what = "a file, not a folder"
            else:
                continue
        except OSError:
            continue
        return f"is {what}" if entry == folder else f"is inside {entry}, {what}"
    return ""


def name_max(path: str | os.PathLike[str]) -> int:
    """The longest file name in bytes that the file system of ``path`` allows.

    Read (``NAME_MAX``) on ``path`` or its nearest existing parent; 255, Linux's usual
    value, if it cannot be read.
    """
    try:
        return int(os.pathconf(_nearest_existing(path), "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def path_max(path: str | os.PathLike[str]) -> int:
    """The longest path in bytes that the file system of ``path`` takes.

    ``PATH_MAX`` (read on ``path`` or its nearest existing parent) less its final NUL
    byte; 4095, Linux's usual value, if it cannot be read.
    """
    try:
        return int(os.pathconf(_nearest_existing(path), "PC_PATH_MAX")) - 1
    except (OSError, ValueError):
        return 4095


def _nearest_existing(path: str | os.PathLike[str]) -> Path:
    """``path`` (made absolute) or its nearest parent that exists; ``/`` at worst."""
    ancestor = Path(os.path.abspath(path))
    while ancestor != ancestor.parent:
        try:
            if ancestor.exists():
                break
        except OSError:  # a name or path too long to look up, a folder not to be looked in
            pass
        ancestor = ancestor.parent
    return ancestor


def check_name_lengths(path: str | os.PathLike[str], limit: int | None = None) -> None:
    """Check that no folder or file name in ``path`` is longer than its file system allows.

    Args:
        path: the path (it need not exist).
        limit: the longest name in bytes; None: :func:`name_max` of ``path``.

    Raises:
        ValueError: ``a name of <n> bytes (<its start>...), more than the <limit> this file
            system allows``.
    """
    limit = name_max(path) if limit is None else limit
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise ValueError(
                f"a name of {size} bytes ({part[:40]}...), more than the {limit} this file "
                "system allows"
            )


#: Bytes a run's own names need below its folder (``.hydra/overrides.yaml``, an atomic
#: write's ``.tmp-<12 hex>-<table>.parquet``): the room :func:`check_path_lengths` keeps.
RUN_FILES_ROOM = 64


def check_path_lengths(path: str | os.PathLike[str], room: int = 0) -> None:
    """Check that the system takes ``path``: its names, and the whole path made absolute.

    Args:
        path: the path (it need not exist).
        room: bytes kept below ``path`` for the names of the files to be written in it.

    Raises:
        ValueError: as :func:`check_name_lengths`, or ``a path of <n> bytes (<its
            start>...), more than the <limit> this file system allows`` (``, <room> kept
            for the files written in it`` with ``room``; :func:`path_max`).
    """
    check_name_lengths(path)
    whole = os.path.abspath(path)
    size, limit = len(os.fsencode(whole)), path_max(path) - room
    if size > limit:
        kept = f", {room} kept for the files written in it" if room else ""
        raise ValueError(
            f"a path of {size} bytes ({whole[:40]}...), more than the {limit} this file "
            f"system allows{kept}"
        )


def foreign_entries(
    folder: str | os.PathLike[str],
    files: frozenset[str],
    folders: frozenset[str] = frozenset(),
    limit: int = 4,
) -> list[str]:
    """Up to ``limit`` names in ``folder`` that a writer of ``files`` and ``folders`` did not make.

    An entry is the writer's if it is a file named in ``files`` or a folder named in
    ``folders`` (not a symbolic link to either), or the temporary file of an interrupted
    atomic write (:data:`TEMPORARY_NAME`); what the writer's folders hold is not looked
    at. Empty if ``folder`` does not exist.

    Raises:
        OSError: ``folder`` exists but cannot be listed.
    """
    path = Path(folder)
    if not path.is_dir():
        return []
    foreign = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        name = entry.name
        if entry.is_symlink():
            ours = False
        elif TEMPORARY_NAME.match(name):
            ours = True
        else:
            ours = (name in files and entry.is_file()) or (name in folders and entry.is_dir())
        if not ours:
            foreign.append(name)
            if len(foreign) == limit:
                break
    return foreign


#: The temporary file of an atomic write (:mod:`sim.outputs.files`): ``.tmp-``, 12 hex
#: digits, ``-`` and the target's name.
TEMPORARY_NAME = re.compile(r"^\.tmp-[0-9a-f]{12}-.")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files an atomic write left in ``folder``; returns them.

    A writer killed before its clean-up (a joblib worker stopped after Ctrl-C, a full disk
    in another process) leaves its ``.tmp-<hex>-<name>``; a run folder about to be
    written is the only writer of its files, so any such file there is stale.
    """
    path = Path(folder)
    if not path.is_dir():
        return []
    stale = [p for p in path.iterdir() if TEMPORARY_NAME.match(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


#: errno values of a full disk or an exhausted quota.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` is a full disk or an exhausted quota.

    That is an ``OSError`` with an errno of :data:`DISK_FULL_ERRNOS`, or one without an
    errno (pyarrow's) whose text says so.
    """
    if not isinstance(err, OSError):
        return False
    if err.errno is not None:
        return err.errno in DISK_FULL_ERRNOS
    return any(os.strerror(code) in str(err) for code in DISK_FULL_ERRNOS)


def move_entries(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> list[str]:
    """Move every file of folder ``source`` into ``target``, replacing those of the same name.

    For output written whole into a temporary folder first (a report): each file is
    renamed into place (``target`` and its subfolders created if missing; same file
    system) with Ctrl-C and ``kill`` (SIGTERM) held, so an interrupt leaves either the old
    files or the new ones, never a mix. A subfolder is merged, not replaced: a file of
    ``target`` that ``source`` does not have is left alone, in any subfolder. ``source`` is
    removed.

    Returns:
        The names moved at the top level, sorted.

    Raises:
        OSError: a rename failed (the files moved before it stay moved).
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        return _merge(Path(source), Path(target))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _merge(src: Path, dst: Path) -> list[str]:
    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in src.iterdir())
    for name in names:
        new, old = src / name, dst / name
        if new.is_dir() and not new.is_symlink() and old.is_dir() and not old.is_symlink():
            _merge(new, old)
        else:
            os.replace(new, old)
    src.rmdir()
    return names
