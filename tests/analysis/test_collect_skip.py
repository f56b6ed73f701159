"""collect_runs(skip=...): tables left unread; the report is the same without the events."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from sim.analysis.compare import collect_runs
from sim.analysis.compare.runs import ID_COLUMNS
from sim.analysis.report import write_report
from tests.analysis.test_report import _make_sweep


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_the_report_is_the_same_without_the_events(tmp_path):
    root = _make_sweep(tmp_path / "sweep")
    full = collect_runs(root)
    lean = collect_runs(root, skip=("events",))
    assert len(full.events) == 9 and full.events["borrower_id"].tolist() == [3] * 9
    assert lean.events.empty and list(lean.events.columns) == list(ID_COLUMNS)
    for f in dataclasses.fields(full):
        if f.name != "events" and isinstance(getattr(full, f.name), pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(lean, f.name), getattr(full, f.name))
    assert lean.run_dirs == full.run_dirs and lean.incomplete == full.incomplete
    write_report(full, tmp_path / "full", formats=("png",))
    write_report(lean, tmp_path / "lean", formats=("png",))
    full_files, lean_files = _files(tmp_path / "full"), _files(tmp_path / "lean")
    assert sorted(lean_files) == sorted(full_files) and len(full_files) > 5
    assert [n for n in full_files if lean_files[n] != full_files[n]] == []


@pytest.mark.parametrize("skip", [("summary",), ("event",), ("events", "nope")])
def test_skip_names_tables_that_may_be_left_out(tmp_path, skip):
    root = _make_sweep(tmp_path / "sweep")
    with pytest.raises(ValueError, match="skip: .* not among the tables that may be left out"):
        collect_runs(root, skip=skip)
