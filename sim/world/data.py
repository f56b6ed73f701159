"""The bundled UCI *default of credit card clients* data: loading and checking it.

The loader parses, type-checks and range-checks the table and names the file, the line
and the rule of the first problems it finds (:class:`DataFileError`).

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for
    the predictive accuracy of probability of default of credit card clients.
    Expert Systems with Applications, 36(2), 2473-2480.
    doi:10.1016/j.eswa.2007.12.020. Data: UCI Machine Learning Repository,
    "default of credit card clients", licence CC BY 4.0.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from sim.interrupts import raise_if_interrupted

__all__ = [
    "PACKAGED_UCI_FILE",
    "RESTORE_HINT",
    "UCI_COLUMNS",
    "UCI_ROWS",
    "DataFileError",
    "load_uci",
]

PACKAGED_UCI_FILE = "uci_credit_card_default.csv.gz"
"""File name of the bundled UCI data inside the ``sim.data`` package directory."""

RESTORE_HINT = (
    "the package ships this file: restore it with `git checkout sim/data/` in a source "
    "checkout, or reinstall LimitLab (`pip install --force-reinstall limitlab`)"
)
"""How to get the bundled data back; ends every error about the bundled file."""

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
    ``PAY_6`` in -2..9, ``SEX`` in {1, 2}, ``EDUCATION`` in 0..6 and ``MARRIAGE`` in
    0..3: the documented codes and the undocumented ones the original data contain,
    ``EDUCATION`` 0, 5, 6 and ``MARRIAGE`` 0); and the row count equals ``expected_rows``.

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
        DataFileError: (for the bundled file, the message ends with
            :data:`RESTORE_HINT`) if the file is missing, empty or not parseable as CSV; if
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
        try:
            frame = _load_packaged_uci().copy()
        except DataFileError as exc:
            raise DataFileError(f"{exc}; {RESTORE_HINT}") from exc
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
        hint = f"; {RESTORE_HINT}" if path is None else ""
        raise DataFileError(
            f"{name}: expected {expected_rows:,} data rows, found {len(frame):,}{hint}"
        )
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
        # Ctrl-C while pandas reads surfaces as a ParserError ("Calling read(nbytes) on
        # source failed") with no interrupt behind it: the handler noted it.
        raise_if_interrupted()
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
    _check_domain(name, frame, "SEX", frame["SEX"].isin((1, 2)), "1 or 2")
    _check_domain(name, frame, "EDUCATION", frame["EDUCATION"].between(0, 6), "in 0..6")
    _check_domain(name, frame, "MARRIAGE", frame["MARRIAGE"].between(0, 3), "in 0..3")
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
