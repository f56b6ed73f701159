"""`python -m experiments.validate`: options checked first; misses (1) apart from crashes (2)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import sim.empirical.validation as validation
from experiments.validate import main
from sim.config import OutputConfig


def _err_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_formats_are_checked_with_the_values_runs_accept(capsys):
    with pytest.raises(ValueError, match="allowed: png, svg, pdf"):
        OutputConfig(formats=["jpg"])  # what a run says
    assert main(["--formats", "jpg"]) == 2
    (line,) = _err_lines(capsys)
    assert line == "error: --formats 'jpg': output.formats has ['jpg']; allowed: png, svg, pdf"
    assert main(["--formats", "png,JPG"]) == 2
    assert main(["--formats", ","]) == 2
    assert "--formats must name at least one format" in _err_lines(capsys)[-1]


@pytest.mark.parametrize(
    ("option", "least", "value"),
    [
        ("--seeds", 1, "0"),
        ("--seeds", 1, "-2"),
        ("--n-borrowers", 100, "0"),
        ("--n-borrowers", 100, "-2"),
        ("--n-borrowers", 100, "99"),
    ],
)
def test_counts_below_their_minimum_name_the_option(capsys, option, least, value):
    assert main([option, value]) == 2
    assert _err_lines(capsys) == [f"error: {option} must be >= {least}, got {value}"]


def test_unwritable_out_and_a_too_large_book_fail_before_simulating(
    capsys, tmp_path: Path, monkeypatch
):
    a_file = tmp_path / "report.md"
    a_file.write_text("x")
    assert main(["--out", str(a_file)]) == 2
    assert _err_lines(capsys) == [f"error: --out {a_file}: exists and is not a folder"]
    # a machine with 1 MB available: the book is refused before any seed is simulated
    import sim.runtime.resources as resources

    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 1_000_000)
    assert main(["--n-borrowers", "1000", "--out", str(tmp_path / "big")]) == 2
    (line,) = _err_lines(capsys)
    assert line.startswith("error: InsufficientMemoryError: population.n_borrowers=1000 ")
    assert "but this machine has 0.0 GB available" in line
    assert not (tmp_path / "big").exists()


def test_an_earlier_report_is_never_overwritten_and_an_empty_out_is_refused(capsys, tmp_path: Path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "report.md").write_text("a finished 10-seed validation")
    assert main(["--seeds", "1", "--out", str(earlier)]) == 2
    (line,) = _err_lines(capsys)
    assert line == (
        f"error: --out {earlier}: the folder already holds files (results of an earlier run "
        "are never overwritten); give a new or empty folder"
    )
    assert [p.name for p in earlier.iterdir()] == ["report.md"]
    assert (earlier / "report.md").read_text() == "a finished 10-seed validation"
    assert main(["--seeds", "1", "--out", ""]) == 2
    assert _err_lines(capsys)[-1].startswith("error: --out")


def test_usage_errors_are_one_line_and_exit_2(capsys, tmp_path: Path):
    assert main(["--bogus-flag"]) == 2
    assert main(["--seeds", "two"]) == 2
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "--bogus-flag" in lines[0] and "--seeds" in lines[1] and "missing.yaml" in lines[2]


def test_a_crash_is_could_not_run_never_a_miss(capsys, monkeypatch, tmp_path: Path):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated failure\nin two lines")

    monkeypatch.setattr(validation, "run_validation", crash)
    assert main(["--quiet", "--out", str(tmp_path)]) == 2
    assert _err_lines(capsys) == [
        "error: the validation could not run: RuntimeError: simulated failure in two lines"
    ]


def _result(passed_rows: list[bool | None]) -> SimpleNamespace:
    n = len(passed_rows)
    table = pd.DataFrame(
        {
            "stat": [f"stat {i}" for i in range(n)],
            "sim_mean": [0.30] * n,
            "observed": [0.22] * n,
            "error_pp": [8.0] * n,
            "tolerance_pp": [2.0] * n,
            "passed": passed_rows,
        }
    )
    missed = table[table["passed"].eq(False)]
    scorecard = {"auc_passed": True, "calibration_passed": True}
    return SimpleNamespace(
        table=table, missed=missed, passed=missed.empty, scorecard=scorecard, accounts={}
    )


@pytest.mark.parametrize("rows, code", [([True, None, True], 0), ([True, False, None, False], 1)])
def test_missed_targets_exit_1_with_a_summary(capsys, monkeypatch, tmp_path: Path, rows, code):
    monkeypatch.setattr(validation, "run_validation", lambda *a, **k: _result(rows))
    monkeypatch.setattr(
        validation, "write_validation_report", lambda result, out, **k: out / "report.md"
    )
    assert main(["--quiet", "--out", str(tmp_path)]) == code
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "report.md")
    if code == 0:
        assert captured.err.strip() == "all validation targets met"
        return
    err = captured.err.strip().splitlines()
    assert err[0].startswith("validation: the model missed 2 of 3 statistic targets")
    assert "not a crash" in err[0]
    assert err[1:3] == [
        "  stat 1: simulated 0.3000, observed 0.2200 (+8.00 pp; tolerance 2 pp)",
        "  stat 3: simulated 0.3000, observed 0.2200 (+8.00 pp; tolerance 2 pp)",
    ]
    assert err[-1] == f"  report: {tmp_path / 'report.md'}"


def test_a_run_below_the_configured_size_says_misses_are_expected_noise(
    capsys, monkeypatch, tmp_path: Path
):
    notes = []

    def write(result, out, **kwargs):
        notes.append(kwargs["size_note"])
        return out / "report.md"

    monkeypatch.setattr(validation, "run_validation", lambda *a, **k: _result([True, False]))
    monkeypatch.setattr(validation, "write_validation_report", write)
    argv = ["--quiet", "--seeds", "1", "--n-borrowers", "100", "--out", str(tmp_path / "a")]
    assert main(argv) == 1  # the exit codes stay those documented
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("validation: the model missed 1 of 2 statistic targets")
    assert err[1] == "  " + notes[0]
    assert "100 borrowers per seed (configured 30,000) and 1 seed(s) (configured 10)" in err[1]
    assert "expected sampling noise" in err[1] and "only meaningful at the configured" in err[1]
    # At the configured size: no note.
    monkeypatch.setattr(validation, "run_validation", lambda *a, **k: _result([True]))
    assert main(["--quiet", "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err.strip() == "all validation targets met" and notes[1] == ""


def test_a_config_that_is_not_yaml_names_the_option(capsys, tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nkey: value: more\n")
    assert main(["--config", str(readme), "--out", str(tmp_path / "out")]) == 2
    lines = _err_lines(capsys)
    assert lines == [
        f"error: --config {readme}: not a YAML file (mapping values are not allowed here)"
    ]
    assert not (tmp_path / "out").exists()
