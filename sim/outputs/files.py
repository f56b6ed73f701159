"""File output of a run: atomic writers, readers, figures, run-folder bookkeeping.

Everything written here is written atomically: the content goes to a temporary file in
the target's directory, which then replaces the target with :func:`os.replace`. A failure
at any point leaves the target as it was (absent, or with its old content) and removes
the temporary file, so a crashed or interrupted run never leaves a half-written result
that looks complete.

Matplotlib is imported with the non-interactive Agg backend, so figures can be saved
on machines without a display (CI, batch sweeps). The backend is only selected when
nobody chose one before: if :mod:`matplotlib.pyplot` is already imported or the
``MPLBACKEND`` environment variable is set (as Jupyter kernels do), the existing
choice is kept. :mod:`matplotlib.pyplot` itself is imported only when
:func:`save_figure` runs.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd

from sim.outputs.folders import check_output_dir, is_disk_full

if TYPE_CHECKING:
    from matplotlib.figure import Figure

if "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")

__all__ = [
    "check_output_dir",
    "git_commit",
    "read_json",
    "read_parquet",
    "save_figure",
    "write_csv_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]


# --------------------------------------------------------------------------- atomic writers


@contextmanager
def _atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds.

    The temporary name ends with the target's own name, so writers that infer the
    format or compression from the suffix (pandas, matplotlib) behave as for the
    target. It is created with mode 0o666 minus the umask (not mkstemp's 0o600), so
    the final file has ordinary permissions. On any exception, including
    ``KeyboardInterrupt``, the temporary file is removed and the target is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{secrets.token_hex(6)}-{target.name}")  # TEMPORARY_NAME
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if is_disk_full(err) and err.filename != str(target):
            # Name the target, not the temporary file; pyarrow's error names neither the
            # file nor its errno.
            code = err.errno or errno.ENOSPC
            raise OSError(code, os.strerror(code), str(target)) from err
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_parquet_atomic(
    df: pd.DataFrame, path: str | os.PathLike[str], compression: str = "snappy"
) -> Path:
    """Write a DataFrame to Parquet (pyarrow engine) atomically.

    Args:
        df: table to write; a non-default index is stored, as pandas does.
        path: target file; parent directories are created.
        compression: Parquet codec (``"snappy"``, ``"zstd"``, ...).

    Returns:
        The target path.

    Raises:
        Whatever the pandas/pyarrow writer raises (e.g. for unsupported column types);
        the target is then left as it was and no temporary file remains.
    """
    with _atomic_path(path) as tmp:
        df.to_parquet(tmp, engine="pyarrow", compression=compression)
    return Path(path)


def write_csv_atomic(
    df: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False
) -> Path:
    """Write a DataFrame to CSV (UTF-8, LF line endings) atomically.

    Compression follows the target's suffix (``.csv.gz`` writes gzip).

    Args:
        df: table to write.
        path: target file; parent directories are created.
        index: also write the index as the first column(s). Default False.

    Returns:
        The target path.

    Raises:
        Whatever the pandas writer raises; the target is then left as it was and no
        temporary file remains.
    """
    with _atomic_path(path) as tmp:
        df.to_csv(tmp, index=index, lineterminator="\n", encoding="utf-8")
    return Path(path)


def write_text_atomic(text: str, path: str | os.PathLike[str]) -> Path:
    """Write a string to a UTF-8 text file atomically, with no newline translation.

    Args:
        text: content to write.
        path: target file; parent directories are created.

    Returns:
        The target path.

    Raises:
        OSError: if the file cannot be written; the target is then left as it was.
    """
    with _atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


def _json_default(obj: Any) -> Any:
    """Convert NumPy scalars and arrays to Python numbers and lists; anything else to str."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_json_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write an object as JSON (sorted keys, indent 2, trailing newline) atomically.

    Objects that JSON cannot encode are converted: NumPy scalars to Python numbers,
    NumPy arrays to lists, anything else with ``str`` (paths, dates, enums).

    Args:
        obj: JSON-serialisable object (dict, list, numbers, strings, ...).
        path: target file; parent directories are created.

    Returns:
        The target path.

    Raises:
        TypeError: if ``obj`` has non-string dict keys that JSON cannot encode (e.g.
            tuples); nothing is written then.
        ValueError: for circular references; nothing is written then.
    """
    text = json.dumps(obj, sort_keys=True, indent=2, default=_json_default) + "\n"
    return write_text_atomic(text, path)


#: ``savefig`` metadata that leaves the date out, by format (the others carry none).
_NO_DATE: dict[str, dict[str, None]] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def save_figure(
    fig: Figure,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Save a Matplotlib figure in several formats, each atomically, then close it.

    The same figure gives the same bytes in every format (no date in SVG or PDF).

    The figure is closed with :func:`matplotlib.pyplot.close` even when saving fails,
    so a failed save never leaks an open figure.

    Args:
        fig: the figure to save.
        path_stem: target path without suffix; ``"out/fig1"`` writes ``out/fig1.png``
            and ``out/fig1.svg``. Parent directories are created.
        formats: file formats (suffixes) understood by ``Figure.savefig``.
        dpi: resolution in dots per inch for raster formats.

    Returns:
        The written paths, one per format, in the order of ``formats``.

    Raises:
        ValueError: if ``formats`` is empty or names a format Matplotlib cannot write.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    try:
        if not formats:
            raise ValueError("save_figure: formats must name at least one file format")
        stem = Path(path_stem)
        written: list[Path] = []
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            # The same figure gives the same bytes: no date in SVG or PDF, SVG's element
            # ids from a fixed salt (random by default).
            meta = _NO_DATE.get(fmt)
            with _atomic_path(target) as tmp, matplotlib.rc_context({"svg.hashsalt": "0"}):
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
            written.append(target)
            # Laid out once: the next formats keep the axes where the first save put them
            # (a layout engine would compute the same places again, at a third of a save).
            fig.set_layout_engine("none")
        return written
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- readers


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet_atomic`.

    Args:
        path: Parquet file.

    Returns:
        The stored table.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"{file_path}: file not found")
    return pd.read_parquet(file_path, engine="pyarrow")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a UTF-8 JSON file.

    Args:
        path: JSON file.

    Returns:
        The decoded object.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        json.JSONDecodeError: (a ``ValueError``) if the file is not valid JSON.
    """
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# --------------------------------------------------------------------------- provenance


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """Return the commit hash checked out in the Git work tree containing ``cwd``.

    Runs ``git rev-parse HEAD`` with a 5 s timeout. Uncommitted changes are not
    reported; record them separately if they matter.

    Args:
        cwd: directory inside the work tree; ``None`` for the current directory.

    Returns:
        The full hexadecimal commit hash, or ``None`` if Git is not installed, the
        directory is not in a repository, the repository has no commit yet, or the
        command fails or times out for any other reason.
    """
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = result.stdout.strip()
    if result.returncode != 0 or not commit:
        return None
    if len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit.lower()):
        return None
    return commit


# --------------------------------------------------------------------------- run outputs

#: Marker written last into a run folder: a run without it is incomplete.
COMPLETE_MARKER = "_COMPLETE.json"
RUN_TABLES = (
    "summary",
    "monthly",
    "events",
    "by_segment",
    "transitions",
    "vintage",
    "firms",
    "borrowers",
    "firm_outcomes",
    "agent_panel",
)


#: The per-agent tables (one row per borrower / firm, a monthly panel): zstd-compressed.
AGENT_TABLES = ("borrowers", "firm_outcomes", "agent_panel")


def run_is_complete(out_dir: str | os.PathLike[str], config_hash: str | None = None) -> bool:
    """Whether ``out_dir`` holds a complete run (and, if given, of the same config).

    Args:
        out_dir: the run folder.
        config_hash: the hash of the run's resolved config; a marker written for another
            config does not count.
    """
    marker = Path(out_dir) / COMPLETE_MARKER
    if not marker.is_file():
        return False
    try:
        info = read_json(marker)
    except (OSError, ValueError):
        return False
    if config_hash is not None and info.get("config_hash") != config_hash:
        return False
    return all((Path(out_dir) / f"{name}.parquet").is_file() for name in RUN_TABLES)


def write_run_outputs(
    tables: dict[str, pd.DataFrame],
    out_dir: str | os.PathLike[str],
    info: dict[str, Any],
    resolved_config_yaml: str,
) -> Path:
    """Write a run's tables and metadata atomically; the completion marker goes last.

    Writes ``resolved_config.yaml``, ``run_info.json``, one ``<name>.parquet`` per table
    (plus ``summary.csv``; the per-agent tables :data:`AGENT_TABLES` zstd-compressed),
    then ``_COMPLETE.json`` (the run info again). A crash at any
    point leaves no marker, so the run is seen as incomplete and re-run on resume.

    Args:
        tables: DataFrames keyed by :data:`RUN_TABLES` names (or an object with a
            ``write(path, compression=...)`` method, such as the run's
            :class:`sim.outputs.event_stream.EventsFile`).
        out_dir: the run folder (created if missing).
        info: run metadata (seed, version, git commit, config hash, timings).
        resolved_config_yaml: the resolved config as YAML text.

    Returns:
        The marker path.

    Raises:
        KeyError: a table named in :data:`RUN_TABLES` is missing.
    """
    out = Path(out_dir)
    marker = out / COMPLETE_MARKER
    marker.unlink(missing_ok=True)
    write_text_atomic(resolved_config_yaml, out / "resolved_config.yaml")
    write_json_atomic(info, out / "run_info.json")
    for name in RUN_TABLES:
        table, path = tables[name], out / f"{name}.parquet"
        codec = {"compression": "zstd"} if name in AGENT_TABLES else {}  # else the default
        if isinstance(table, pd.DataFrame):
            write_parquet_atomic(table, path, **codec)
        else:  # writes itself (sim.outputs.event_stream.EventsFile)
            with _atomic_path(path) as tmp:
                table.write(tmp, **codec)
    write_csv_atomic(tables["summary"], out / "summary.csv")
    return write_json_atomic(info, marker)
