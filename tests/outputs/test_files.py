"""Tests for sim.outputs.files: atomic writers, figures and git_commit."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sim.outputs import files as io
from sim.outputs.files import (
    git_commit,
    read_json,
    read_parquet,
    save_figure,
    write_csv_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)


def _listing(path):
    return sorted(p.name for p in path.iterdir())


def test_write_parquet_round_trip_creates_parents(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, np.nan], "c": ["x", "y", "z"]})
    target = tmp_path / "deep" / "er" / "table.parquet"
    assert write_parquet_atomic(df, target) == target
    pd.testing.assert_frame_equal(read_parquet(target), df)
    assert _listing(target.parent) == ["table.parquet"]


def test_read_parquet_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.parquet"):
        read_parquet(tmp_path / "absent.parquet")


def test_failed_parquet_write_leaves_no_file(tmp_path, monkeypatch):
    def half_write(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_write)
    target = tmp_path / "out" / "table.parquet"
    with pytest.raises(RuntimeError, match="disk full"):
        write_parquet_atomic(pd.DataFrame({"a": [1]}), target)
    assert not target.exists()
    assert _listing(target.parent) == []


def test_failed_csv_write_leaves_existing_target_untouched(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    write_csv_atomic(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    assert before == b"a\n1\n2\n"

    def half_write(self, path, *args, **kwargs):
        with open(path, "w") as handle:
            handle.write("a\n9")
        raise OSError("interrupted")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(OSError, match="interrupted"):
        write_csv_atomic(pd.DataFrame({"a": [9, 9]}), target)
    assert target.read_bytes() == before
    assert _listing(tmp_path) == ["table.csv"]


def test_write_csv_gz_follows_target_suffix(tmp_path):
    target = tmp_path / "table.csv.gz"
    write_csv_atomic(pd.DataFrame({"x": [1.25], "y": ["b"]}), target)
    assert gzip.decompress(target.read_bytes()) == b"x,y\n1.25,b\n"


def test_write_text_atomic_and_permissions(tmp_path):
    target = tmp_path / "notes" / "a.txt"
    write_text_atomic("héllo\nworld\n", target)
    assert target.read_bytes() == "héllo\nworld\n".encode()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_write_json_atomic_is_sorted_indented_and_handles_numpy(tmp_path):
    target = tmp_path / "meta.json"
    obj = {"b": np.int64(2), "a": [np.float64(0.5), np.arange(2)], "p": tmp_path / "x"}
    write_json_atomic(obj, target)
    expected = (
        "{\n"
        '  "a": [\n    0.5,\n    [\n      0,\n      1\n    ]\n  ],\n'
        '  "b": 2,\n'
        f'  "p": "{tmp_path / "x"}"\n'
        "}\n"
    )
    assert target.read_text(encoding="utf-8") == expected
    assert read_json(target) == {"a": [0.5, [0, 1]], "b": 2, "p": str(tmp_path / "x")}


def test_failed_json_write_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "meta.json"
    write_json_atomic({"v": 1}, target)

    def failing_replace(src, dst):
        raise OSError("replace failed")

    monkeypatch.setattr(io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="replace failed"):
        write_json_atomic({"v": 2}, target)
    assert read_json(target) == {"v": 1}
    assert _listing(tmp_path) == ["meta.json"]


def test_save_figure_writes_png_and_svg_and_closes(tmp_path):
    plt.close("all")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = save_figure(fig, tmp_path / "figs" / "line")
    assert paths == [tmp_path / "figs" / "line.png", tmp_path / "figs" / "line.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()
    assert _listing(tmp_path / "figs") == ["line.png", "line.svg"]
    assert plt.get_fignums() == []


def test_save_figure_bad_format_closes_figure_and_leaves_no_temp(tmp_path):
    plt.close("all")
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="nosuchformat"):
        save_figure(fig, tmp_path / "fig", formats=("nosuchformat",))
    assert plt.get_fignums() == []
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- git_commit


def test_git_commit_outside_a_repository_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) is None


def test_git_commit_returns_hash_from_git(monkeypatch):
    sha = "0123456789abcdef0123456789abcdef01234567"
    seen = {}

    def fake_run(args, **kwargs):
        seen.update(args=args, **kwargs)
        return subprocess.CompletedProcess(args, 0, stdout=sha + "\n", stderr="")

    monkeypatch.setattr(io.subprocess, "run", fake_run)
    assert git_commit("/somewhere") == sha
    assert seen["args"] == ["git", "rev-parse", "HEAD"]
    assert seen["cwd"] == "/somewhere"
    assert seen["timeout"] == 5


@pytest.mark.parametrize(
    "failure",
    [
        subprocess.TimeoutExpired(["git"], 5),
        FileNotFoundError("git"),
        PermissionError("denied"),
    ],
)
def test_git_commit_failures_are_none(monkeypatch, failure):
    def fake_run(args, **kwargs):
        raise failure

    monkeypatch.setattr(io.subprocess, "run", fake_run)
    assert git_commit() is None


def test_git_commit_nonzero_exit_or_garbage_is_none(monkeypatch):
    outputs = iter([(128, "fatal: not a git repository\n"), (0, "HEAD\n")])

    def fake_run(args, **kwargs):
        code, out = next(outputs)
        return subprocess.CompletedProcess(args, code, stdout=out, stderr="")

    monkeypatch.setattr(io.subprocess, "run", fake_run)
    assert git_commit() is None
    assert git_commit() is None


def test_check_output_dir_refuses_files_empty_paths_full_folders_and_unwritable_places(
    tmp_path,
):
    from sim.outputs.files import check_output_dir

    # A new folder is created (and probed), ready for the results.
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert (tmp_path / "new" / "deeper").is_dir()
    assert not any((tmp_path / "new" / "deeper").iterdir())  # the probe is gone
    a_file = tmp_path / "report.md"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="--out .*report.md: exists and is not a folder"):
        check_output_dir(a_file)
    with pytest.raises(ValueError, match="report.md/sub: cannot write there"):
        check_output_dir(a_file / "sub")
    with pytest.raises(ValueError, match="--out: empty path; give a folder"):
        check_output_dir("")
    # A folder holding results is refused when asked, and left as it was.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "report.md").write_text("finished run")
    with pytest.raises(ValueError, match="already holds files .* give a new or empty folder"):
        check_output_dir(earlier, new_or_empty=True)
    assert (earlier / "report.md").read_text() == "finished run"
    assert check_output_dir(earlier) == earlier  # without the flag it is writable, fine
    # An unwritable place: nothing of it is left behind.
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores the mode: a read-only /proc instead
            target = Path("/proc/limitlab-no-such/out")
        else:
            target = locked / "a" / "b"
        with pytest.raises(ValueError, match="cannot write there"):
            check_output_dir(target)
        assert not (locked / "a").exists()
    finally:
        locked.chmod(0o700)


def test_the_same_figure_gives_the_same_bytes_in_every_format(tmp_path):
    # SVG carried the date and random element ids, PDF its creation time: two identical
    # runs' figures differed byte for byte.
    made = []
    for name in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 3], label="x")
        ax.legend()
        made.append(save_figure(fig, tmp_path / name, formats=("png", "svg", "pdf")))
    for first, second in zip(*made, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    svg = made[0][1].read_text()
    assert "<dc:date>" not in svg
