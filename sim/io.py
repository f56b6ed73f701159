"""All file input and output of the library: the bundled UCI data, atomic writers, readers.

No other module in :mod:`sim` touches the file system. Everything written here is
written atomically: the content goes to a temporary file in the target's directory,
which then replaces the target with :func:`os.replace`. A failure at any point
leaves the target as it was (absent, or with its old content) and removes the
temporary file, so a crashed or interrupted run never leaves a half-written result
that looks complete.

Matplotlib is imported with the non-interactive Agg backend, so figures can be saved
on machines without a display (CI, batch sweeps). The backend is only selected when
nobody chose one before: if :mod:`matplotlib.pyplot` is already imported or the
``MPLBACKEND`` environment variable is set (as Jupyter kernels do), the existing
choice is kept. :mod:`matplotlib.pyplot` itself is imported only when
:func:`save_figure` runs.

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for
    the predictive accuracy of probability of default of credit card clients.
    Expert Systems with Applications, 36(2), 2473-2480.
    doi:10.1016/j.eswa.2007.12.020. Data: UCI Machine Learning Repository,
    "default of credit card clients", licence CC BY 4.0.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

if "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")

__all__ = [
    "PACKAGED_UCI_FILE",
    "UCI_COLUMNS",
    "UCI_ROWS",
    "DataFileError",
    "git_commit",
    "load_uci",
    "read_json",
    "read_parquet",
    "save_figure",
    "write_csv_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]

PACKAGED_UCI_FILE = "uci_credit_card_default.csv.gz"
"""File name of the bundled UCI data inside the ``sim.data`` package directory."""

_PAY_COLUMNS: tuple[str, ...] = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")

UCI_COLUMNS: tuple[str, ...] = (
    "ID",
    "LIMIT_BAL",
    "SEX",
    "EDUCATION",
    "MARRIAGE",
    "AGE",
    *_PAY_COLUMNS,
    *(f"BILL_AMT{i}" for i in range(1, 7)),
    *(f"PAY_AMT{i}" for i in range(1, 7)),
    "default payment next month",
)
"""The 25 columns of the UCI *default of credit card clients* file, in file order."""

UCI_ROWS = 30_000
"""Number of data rows (card holders) in the UCI file."""

_DEFAULT_FLAG = "default payment next month"
_MAX_EXAMPLES = 3


class DataFileError(ValueError):
    """A data file is missing, unreadable or breaks the documented format.

    The message names the file and says what is wrong (which column, which rows).
    """


# --------------------------------------------------------------------------- UCI data


def load_uci(
    path: str | os.PathLike[str] | None = None,
    *,
    expected_rows: int | None = UCI_ROWS,
) -> pd.DataFrame:
    """Load and validate the UCI *default of credit card clients* table.

    With ``path=None`` the copy bundled with the package (``sim/data/``, gzipped) is
    read through :mod:`importlib.resources`; that load is parsed and validated once
    per process and cached, and every call returns a fresh copy that the caller may
    modify. A user file may be plain CSV (``.csv``) or gzipped (``.csv.gz``); it must
    have the original named header row, with the columns in any order.

    Checks, in this order, each failing fast with :class:`DataFileError`: the file
    exists; it parses as CSV and has data rows; the columns are exactly
    :data:`UCI_COLUMNS`; every value is present, numeric and integral; IDs are
    unique; values lie in the documented domain (``LIMIT_BAL`` > 0, ``AGE`` in
    18..100, ``default payment next month`` in {0, 1}, ``PAY_0``, ``PAY_2`` ..
    ``PAY_6`` in -2..9); and the row count equals ``expected_rows``. ``SEX``, ``EDUCATION`` and
    ``MARRIAGE`` are not range-checked, because the original data contain
    undocumented codes (``EDUCATION`` 0, 5, 6; ``MARRIAGE`` 0).

    Args:
        path: CSV or gzipped-CSV file to read, or ``None`` for the bundled copy.
        expected_rows: required number of data rows, or ``None`` to accept any
            positive number. Defaults to :data:`UCI_ROWS` (30,000).

    Returns:
        DataFrame with ``expected_rows`` rows (or as many as the file has) and the 25
        columns of :data:`UCI_COLUMNS` in that order, all ``int64``, with the original
        column names (including ``PAY_0`` and ``default payment next month``) and a
        default ``RangeIndex``. Money columns (``LIMIT_BAL``, ``BILL_AMT*``,
        ``PAY_AMT*``) are New Taiwan dollars; ``AGE`` is in years; ``PAY_*`` is the
        monthly repayment status (-2, -1, 0, or months of delay 1..9).

    Raises:
        DataFileError: if the file is missing, empty or not parseable as CSV; if
            columns are missing or unexpected (both listed by name); if a column holds
            missing, non-numeric or non-integral values (column and first offending
            lines named); if IDs are duplicated; if a value lies outside its
            documented domain; or if the row count differs from ``expected_rows``.

    References:
        Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques
        for the predictive accuracy of probability of default of credit card clients.
        Expert Systems with Applications, 36(2), 2473-2480.
        doi:10.1016/j.eswa.2007.12.020. UCI Machine Learning Repository, "default of
        credit card clients" (CC BY 4.0).
    """
    if path is None:
        frame = _load_packaged_uci().copy()
        name = f"bundled file sim/data/{PACKAGED_UCI_FILE}"
    else:
        file_path = Path(path)
        name = str(file_path)
        if not file_path.exists():
            raise DataFileError(f"{name}: file not found")
        if not file_path.is_file():
            raise DataFileError(f"{name}: not a regular file")
        frame = _parse_and_validate(name, lambda: _read_csv(file_path, "infer"))
    if expected_rows is not None and len(frame) != expected_rows:
        raise DataFileError(f"{name}: expected {expected_rows:,} data rows, found {len(frame):,}")
    return frame


@functools.lru_cache(maxsize=1)
def _load_packaged_uci() -> pd.DataFrame:
    """Parse and validate the bundled UCI file once (row count is checked by the caller)."""
    resource = resources.files("sim").joinpath("data", PACKAGED_UCI_FILE)
    name = f"bundled file sim/data/{PACKAGED_UCI_FILE}"
    if not resource.is_file():
        raise DataFileError(f"{name}: file not found (is the package installed completely?)")

    def read() -> pd.DataFrame:
        with resource.open("rb") as handle:
            return _read_csv(handle, "gzip")

    return _parse_and_validate(name, read)


def _read_csv(source: Path | IO[bytes], compression: str) -> pd.DataFrame:
    # low_memory=False: type each column from all its rows (no mixed-type chunks, no DtypeWarning).
    return pd.read_csv(source, compression=compression, encoding="utf-8", low_memory=False)


def _parse_and_validate(name: str, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run ``read`` (which returns the parsed CSV) and validate it against the UCI format."""
    try:
        raw = read()
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{name}: file is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{name}: not a readable CSV file ({str(exc).strip()})") from exc
    except OSError as exc:  # e.g. gzip.BadGzipFile, permission denied
        raise DataFileError(f"{name}: cannot read file ({exc})") from exc

    present = [str(c) for c in raw.columns]
    missing = [c for c in UCI_COLUMNS if c not in present]
    extra = [c for c in present if c not in UCI_COLUMNS]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise DataFileError(f"{name}: " + "; ".join(parts))
    if raw.empty:
        raise DataFileError(f"{name}: header only, no data rows")

    columns: dict[str, np.ndarray] = {}
    for col in UCI_COLUMNS:
        columns[col] = _integer_column(name, col, raw[col])
    frame = pd.DataFrame(columns)

    ids = frame["ID"]
    duplicated = ids[ids.duplicated(keep=False)]
    if not duplicated.empty:
        values = sorted(set(duplicated.tolist()))[:_MAX_EXAMPLES]
        raise DataFileError(
            f"{name}: column 'ID' has duplicate values, e.g. {values} "
            f"({int(ids.duplicated().sum())} repeated row(s))"
        )

    _check_domain(name, frame, "LIMIT_BAL", frame["LIMIT_BAL"] > 0, "> 0")
    _check_domain(name, frame, "AGE", frame["AGE"].between(18, 100), "in 18..100 (years)")
    _check_domain(name, frame, _DEFAULT_FLAG, frame[_DEFAULT_FLAG].isin((0, 1)), "0 or 1")
    for col in _PAY_COLUMNS:
        _check_domain(name, frame, col, frame[col].between(-2, 9), "in -2..9")
    return frame


def _lines(mask: pd.Series | np.ndarray) -> list[int]:
    """File line numbers (header is line 1) of the first few rows where ``mask`` is true."""
    rows = np.flatnonzero(np.asarray(mask))[:_MAX_EXAMPLES]
    return [int(r) + 2 for r in rows]


def _integer_column(name: str, col: str, values: pd.Series) -> np.ndarray:
    """Convert one parsed column to int64, or raise naming the column and the first bad lines."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        text = values.astype("string")  # "True"/"False" are not numbers
    elif pd.api.types.is_integer_dtype(dtype):
        return values.to_numpy(dtype=np.int64)
    elif pd.api.types.is_float_dtype(dtype):
        text = None
    else:  # str / object: a column with at least one non-numeric cell
        text = values.astype("string").str.strip()
    if text is None:
        missing = values.isna().to_numpy(dtype=bool)
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        missing = (values.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        numbers = pd.to_numeric(text.mask(missing), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    if missing.any():
        raise DataFileError(
            f"{name}: column '{col}' has {int(missing.sum())} missing value(s), "
            f"first at line(s) {_lines(missing)}"
        )
    bad = ~np.isfinite(numbers)
    if bad.any():
        examples = values[bad].head(_MAX_EXAMPLES).tolist()
        raise DataFileError(
            f"{name}: column '{col}' has {int(bad.sum())} non-numeric value(s), "
            f"e.g. {examples} at line(s) {_lines(bad)}"
        )
    fractional = numbers != np.round(numbers)
    if fractional.any():
        raise DataFileError(
            f"{name}: column '{col}' has {int(fractional.sum())} non-integer value(s), "
            f"e.g. {numbers[fractional][:_MAX_EXAMPLES].tolist()} at line(s) {_lines(fractional)}"
        )
    return numbers.astype(np.int64)


def _check_domain(name: str, frame: pd.DataFrame, col: str, ok: pd.Series, rule: str) -> None:
    bad = ~ok.to_numpy()
    if bad.any():
        examples = frame[col].to_numpy()[bad][:_MAX_EXAMPLES].tolist()
        raise DataFileError(
            f"{name}: column '{col}' has {int(bad.sum())} value(s) outside its domain "
            f"(must be {rule}), e.g. {examples} at line(s) {_lines(bad)}"
        )


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
    tmp = target.with_name(f".tmp-{secrets.token_hex(6)}-{target.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_parquet_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a DataFrame to Parquet (pyarrow engine) atomically.

    Args:
        df: table to write; a non-default index is stored, as pandas does.
        path: target file; parent directories are created.

    Returns:
        The target path.

    Raises:
        Whatever the pandas/pyarrow writer raises (e.g. for unsupported column types);
        the target is then left as it was and no temporary file remains.
    """
    with _atomic_path(path) as tmp:
        df.to_parquet(tmp, engine="pyarrow")
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


def save_figure(
    fig: Figure,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Save a Matplotlib figure in several formats, each atomically, then close it.

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
    import matplotlib.pyplot as plt

    try:
        if not formats:
            raise ValueError("save_figure: formats must name at least one file format")
        stem = Path(path_stem)
        written: list[Path] = []
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            with _atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi)
            written.append(target)
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
RUN_TABLES = ("summary", "monthly", "events", "by_segment", "transitions", "vintage", "firms")


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
    (plus ``summary.csv``), then ``_COMPLETE.json`` (the run info again). A crash at any
    point leaves no marker, so the run is seen as incomplete and re-run on resume.

    Args:
        tables: DataFrames keyed by :data:`RUN_TABLES` names.
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
        write_parquet_atomic(tables[name], out / f"{name}.parquet")
    write_csv_atomic(tables["summary"], out / "summary.csv")
    return write_json_atomic(info, marker)
