"""Tests for sim.world.data: the bundled UCI data and the validation of user files."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from sim.world.data import UCI_COLUMNS, UCI_ROWS, DataFileError, load_uci

# --------------------------------------------------------------------------- bundled data


def test_packaged_data_matches_published_statistics():
    df = load_uci()
    assert df.shape == (30_000, 25)
    assert UCI_ROWS == 30_000
    assert tuple(df.columns) == UCI_COLUMNS
    assert (df.dtypes == np.int64).all()
    defaults = df["default payment next month"]
    assert defaults.sum() == 6_636
    assert defaults.mean() == pytest.approx(0.2212, abs=5e-5)
    assert df["LIMIT_BAL"].mean() == pytest.approx(167_484.32, abs=0.01)
    assert df["AGE"].mean() == pytest.approx(35.49, abs=0.01)
    assert df["ID"].tolist() == list(range(1, 30_001))
    # First row, as in the original file.
    assert df.iloc[0, :7].tolist() == [1, 20_000, 2, 2, 1, 24, 2]


def test_uci_columns_are_the_original_25_in_order():
    assert len(UCI_COLUMNS) == 25
    assert UCI_COLUMNS[:7] == ("ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0")
    assert UCI_COLUMNS[7:12] == ("PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
    assert UCI_COLUMNS[12] == "BILL_AMT1"
    assert UCI_COLUMNS[23] == "PAY_AMT6"
    assert UCI_COLUMNS[-1] == "default payment next month"


def test_packaged_load_returns_an_independent_copy():
    first = load_uci()
    first.loc[0, "LIMIT_BAL"] = -1
    second = load_uci()
    assert second.loc[0, "LIMIT_BAL"] == 20_000
    assert first is not second


def test_packaged_load_checks_expected_rows():
    assert len(load_uci(expected_rows=None)) == 30_000
    with pytest.raises(DataFileError, match="expected 29,999 data rows, found 30,000"):
        load_uci(expected_rows=29_999)


# --------------------------------------------------------------------------- user files


@pytest.fixture
def small_uci() -> pd.DataFrame:
    """First five rows of the bundled data."""
    return load_uci().head(5).copy()


def _write(df: pd.DataFrame, path) -> None:
    path.write_text(df.to_csv(index=False), encoding="utf-8")


def test_user_csv_and_gz_round_trip(tmp_path, small_uci):
    plain = tmp_path / "five.csv"
    _write(small_uci, plain)
    packed = tmp_path / "five.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed, str(plain)):
        loaded = load_uci(path, expected_rows=5)
        pd.testing.assert_frame_equal(loaded, small_uci)


def test_user_file_with_columns_reordered_is_returned_in_file_order(tmp_path, small_uci):
    path = tmp_path / "reordered.csv"
    _write(small_uci[list(reversed(UCI_COLUMNS))], path)
    loaded = load_uci(path, expected_rows=5)
    assert tuple(loaded.columns) == UCI_COLUMNS
    pd.testing.assert_frame_equal(loaded, small_uci)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataFileError, match=r"nope\.csv: file not found"):
        load_uci(path)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(DataFileError, match="not a regular file"):
        load_uci(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty\.csv: file is empty"):
        load_uci(path)


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(UCI_COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="header only, no data rows"):
        load_uci(path, expected_rows=None)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"this is not gzip data\n")
    with pytest.raises(DataFileError, match=r"broken\.csv\.gz"):
        load_uci(path)


def test_missing_column_is_named(tmp_path, small_uci):
    path = tmp_path / "no_age.csv"
    _write(small_uci.drop(columns=["AGE"]), path)
    with pytest.raises(DataFileError, match=r"no_age\.csv: missing column\(s\) \['AGE'\]"):
        load_uci(path, expected_rows=5)


def test_extra_column_is_named(tmp_path, small_uci):
    path = tmp_path / "extra.csv"
    _write(small_uci.assign(SCORE=1), path)
    with pytest.raises(DataFileError, match=r"unexpected column\(s\) \['SCORE'\]"):
        load_uci(path, expected_rows=5)


def test_missing_and_extra_columns_are_both_listed(tmp_path, small_uci):
    path = tmp_path / "renamed.csv"
    _write(small_uci.rename(columns={"PAY_0": "PAY_1"}), path)
    with pytest.raises(DataFileError) as info:
        load_uci(path, expected_rows=5)
    assert "missing column(s) ['PAY_0']" in str(info.value)
    assert "unexpected column(s) ['PAY_1']" in str(info.value)


def test_text_in_numeric_column_names_column_and_line(tmp_path, small_uci):
    bad = small_uci.astype(object)
    bad.loc[1, "LIMIT_BAL"] = "lots"  # second data row = line 3 of the file
    path = tmp_path / "text.csv"
    _write(bad, path)
    with pytest.raises(DataFileError) as info:
        load_uci(path, expected_rows=5)
    message = str(info.value)
    assert "text.csv" in message
    assert "column 'LIMIT_BAL' has 1 non-numeric value(s)" in message
    assert "['lots']" in message
    assert "line(s) [3]" in message


def test_missing_value_names_column(tmp_path, small_uci):
    bad = small_uci.astype(object)
    bad.loc[3, "BILL_AMT3"] = None
    path = tmp_path / "hole.csv"
    _write(bad, path)
    with pytest.raises(DataFileError, match=r"column 'BILL_AMT3' has 1 missing value\(s\).*\[5\]"):
        load_uci(path, expected_rows=5)


def test_non_integer_value_names_column(tmp_path, small_uci):
    bad = small_uci.astype(float)
    bad.loc[0, "PAY_AMT2"] = 10.5
    path = tmp_path / "fraction.csv"
    _write(bad, path)
    with pytest.raises(DataFileError, match=r"column 'PAY_AMT2' has 1 non-integer value\(s\)"):
        load_uci(path, expected_rows=5)


def test_float_formatted_integers_are_accepted(tmp_path, small_uci):
    # Re-exports of this data set (e.g. on Kaggle) write every value as 20000.0.
    path = tmp_path / "floats.csv"
    _write(small_uci.astype(float), path)
    pd.testing.assert_frame_equal(load_uci(path, expected_rows=5), small_uci)


def test_duplicate_id(tmp_path, small_uci):
    bad = small_uci.copy()
    bad.loc[4, "ID"] = 2
    path = tmp_path / "dup.csv"
    _write(bad, path)
    with pytest.raises(
        DataFileError, match=r"dup\.csv: column 'ID' has duplicate values, e\.g\. \[2\]"
    ):
        load_uci(path, expected_rows=5)


def test_wrong_row_count(tmp_path, small_uci):
    path = tmp_path / "five.csv"
    _write(small_uci, path)
    with pytest.raises(DataFileError, match=r"five\.csv: expected 30,000 data rows, found 5"):
        load_uci(path)
    with pytest.raises(DataFileError, match="expected 4 data rows, found 5"):
        load_uci(path, expected_rows=4)


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("LIMIT_BAL", 0, "> 0"),
        ("LIMIT_BAL", -5_000, "> 0"),
        ("AGE", 17, "in 18..100"),
        ("AGE", 101, "in 18..100"),
        ("default payment next month", 2, "0 or 1"),
        ("PAY_0", -3, "in -2..9"),
        ("PAY_4", 10, "in -2..9"),
        ("SEX", 7, "1 or 2"),
        ("EDUCATION", -99_999_999, "in 0..6"),
        ("MARRIAGE", 4, "in 0..3"),
    ],
)
def test_values_outside_documented_domain(tmp_path, small_uci, column, value, rule):
    bad = small_uci.copy()
    bad.loc[2, column] = value
    path = tmp_path / "domain.csv"
    _write(bad, path)
    with pytest.raises(DataFileError) as info:
        load_uci(path, expected_rows=5)
    message = str(info.value)
    assert f"column '{column}' has 1 value(s) outside its domain" in message
    assert f"(must be {rule}" in message
    assert f"e.g. [{value}] at line(s) [4]" in message


def test_undocumented_category_codes_are_accepted(tmp_path, small_uci):
    odd = small_uci.copy()
    odd.loc[0, "EDUCATION"] = 6  # occurs in the original data, undocumented
    odd.loc[1, "MARRIAGE"] = 0
    path = tmp_path / "codes.csv"
    _write(odd, path)
    assert load_uci(path, expected_rows=5).loc[0, "EDUCATION"] == 6
