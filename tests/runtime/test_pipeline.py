"""Experiment pipeline: Hydra runs and sweeps, outputs, resume, atomic completion, launchers."""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from sim.outputs.files import COMPLETE_MARKER, RUN_TABLES, run_is_complete
from sim.runtime.runner import config_hash, run_to_folder
from tests.conftest import make_run

ROOT = Path(__file__).resolve().parents[2]
#: A tiny run; no burn-in (what these tests check, the folders, seeds, resume and bytes,
#: does not depend on it; the burn-in's own CLI run is the README's, tests/test_docs.py).
SMALL = ["population.n_borrowers=300", "n_months=3", "burn_in_months=0", "output.plots=false"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )


def digests(sweep: Path) -> dict[str, str]:
    """sha256 of every table file of every complete run, keyed by run folder / file."""
    out = {}
    for marker in sorted(sweep.rglob(COMPLETE_MARKER)):
        for name in RUN_TABLES:
            path = marker.parent / f"{name}.parquet"
            out[f"{marker.parent.name}/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_single_run_writes_every_output_under_the_hydra_folder(tmp_path: Path):
    out = tmp_path / "single"
    done = run_cli(*SMALL, "output.plots=true", f"hydra.run.dir={out}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in RUN_TABLES:
        assert (out / f"{name}.parquet").is_file()
    assert (out / "portfolio.png").is_file() and (out / "resolved_config.yaml").is_file()
    info = json.loads((out / "run_info.json").read_text())
    assert (
        info["seed"] == 0 and info["policy"] == "behaviour_rules" and len(info["config_hash"]) == 16
    )
    assert "limitlab_version" in info and "git_commit" in info
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 1 and summary.loc[0, "seed"] == 0
    # Nothing written into the current directory besides the requested folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["single"]


@pytest.mark.slow
def test_invalid_config_fails_fast_with_the_field_name(tmp_path: Path):
    # In-process, and through the command line for a range error: tests/runtime/test_fail_fast.py.
    done = run_cli("population.n_borrowers=-1", f"hydra.run.dir={tmp_path / 'x'}")
    assert done.returncode != 0
    assert "population.n_borrowers" in done.stderr and "allowed range" in done.stderr
    assert not (tmp_path / "x" / COMPLETE_MARKER).exists()
    done = run_cli("population.no_such_key=1", f"hydra.run.dir={tmp_path / 'y'}")
    assert done.returncode != 0 and "no_such_key" in done.stderr


def _sweep(sweep: Path) -> tuple[list[str], list[Path]]:
    """Run a 2 policies x 2 seeds sweep into ``sweep``; its arguments and run folders."""
    args = [
        "-m",
        "policy=static,behaviour_rules",
        "seed=range(0,2)",
        *SMALL,
        f"hydra.sweep.dir={sweep}",
    ]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    runs = sorted(p.parent for p in sweep.rglob(COMPLETE_MARKER))
    assert len(runs) == 4
    seeds = sorted(json.loads((r / "run_info.json").read_text())["seed"] for r in runs)
    assert seeds == [0, 0, 1, 1]
    return args, runs


def test_sweep_seeds_and_resume(tmp_path: Path):
    sweep = tmp_path / "sweep"
    args, runs = _sweep(sweep)
    before = digests(sweep)

    # Delete one run's outputs; resume re-runs only that one, with identical bytes.
    victim = runs[0]
    (victim / COMPLETE_MARKER).unlink()
    (victim / "summary.parquet").unlink()
    mtimes = {r: (r / COMPLETE_MARKER).stat().st_mtime_ns for r in runs[1:]}
    records = {p: p.read_bytes() for r in runs[1:] for p in (r / ".hydra").iterdir()}
    again = run_cli(*args, "resume=true")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipped, already complete") == 3
    assert all((r / COMPLETE_MARKER).stat().st_mtime_ns == t for r, t in mtimes.items())
    assert digests(sweep) == before
    # The finished runs' Hydra records are theirs still: Hydra had rewritten them with the
    # resumed sweep's overrides (resume=true) before the jobs skipped them.
    assert len(records) == 9 and all(p.read_bytes() == b for p, b in records.items())
    assert "resume=true" in (victim / ".hydra" / "overrides.yaml").read_text().lower()


@pytest.mark.slow
def test_a_fresh_sweep_reproduces_the_bytes(tmp_path: Path):
    # The same jobs in another process write the same bytes (in the fast suite: the joblib
    # test below, whose launchers run the same jobs in different processes).
    args, _ = _sweep(tmp_path / "sweep")
    third = run_cli(*args[:-1], f"hydra.sweep.dir={tmp_path / 'sweep2'}")
    assert third.returncode == 0, third.stderr
    assert digests(tmp_path / "sweep2") == digests(tmp_path / "sweep")


@pytest.mark.slow
def test_joblib_launcher_gives_the_same_results_as_the_basic_launcher(tmp_path: Path):
    args = ["-m", "policy=static,behaviour_rules", "seed=3", *SMALL]
    basic = run_cli(*args, f"hydra.sweep.dir={tmp_path / 'basic'}")
    joblib = run_cli(
        *args,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={tmp_path / 'joblib'}",
    )
    assert basic.returncode == 0 and joblib.returncode == 0, joblib.stderr
    assert digests(tmp_path / "basic") == digests(tmp_path / "joblib")
    assert len(digests(tmp_path / "basic")) == 2 * len(RUN_TABLES)


def test_interrupted_run_leaves_no_complete_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import sim.outputs.files as io

    run = make_run("population.n_borrowers=200", "n_months=2", "output.plots=true")
    real = io.write_parquet_atomic

    def failing(df, path):
        if Path(path).name == "vintage.parquet":
            raise KeyboardInterrupt  # as if the job were killed mid-way
        return real(df, path)

    monkeypatch.setattr(io, "write_parquet_atomic", failing)
    resolved = {"seed": 0}
    with pytest.raises(KeyboardInterrupt):
        run_to_folder(run, tmp_path, resolved=resolved, resolved_yaml="seed: 0\n", run_id="r")
    assert not (tmp_path / COMPLETE_MARKER).exists()
    assert not run_is_complete(tmp_path)
    assert not list(tmp_path.glob(".tmp-*"))
    assert (tmp_path / "portfolio.png").is_file()  # drawn before the tables
    monkeypatch.setattr(io, "write_parquet_atomic", real)
    # Run again without figures: the earlier attempt's figure does not stay behind.
    run = make_run("population.n_borrowers=200", "n_months=2", "output.plots=false")
    out, ran = run_to_folder(
        run, tmp_path, resolved=resolved, resolved_yaml="seed: 0\n", run_id="r", resume=True
    )
    assert ran and run_is_complete(tmp_path, config_hash(resolved))
    assert not list(tmp_path.glob("portfolio.*"))
    # A complete run of another config does not count as done.
    assert not run_is_complete(tmp_path, config_hash({"seed": 1}))


def test_two_runs_started_together_get_distinct_folders(tmp_path: Path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.run", *SMALL, "experiment_name=same"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    folders = list((tmp_path / "outputs" / "same").iterdir())
    assert len(folders) == 2


def _live_worlds() -> int:
    from sim.month import World

    return sum(isinstance(o, World) for o in gc.get_objects())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_sequential_sweep(tmp_path: Path):
    # Automatic collection is off during the loop: the memory must be released by the
    # runner (close()) and reference counting alone, never by a lucky collection.
    rss, live = {}, {}
    gc.collect()
    held = _live_worlds()  # worlds other tests' fixtures still hold
    gc.disable()
    try:
        for i in range(1, 31):
            run = make_run(
                f"seed={i}", "population.n_borrowers=2000", "n_months=12", "output.plots=true"
            )
            run_to_folder(
                run, tmp_path / f"run{i}", resolved={"seed": i}, resolved_yaml="", run_id=str(i)
            )
            assert plt.get_fignums() == []
            live[i] = _live_worlds()
            rss[i] = _rss_mb()
    finally:
        gc.enable()
    assert set(live.values()) == {held}, live
    assert rss[30] <= 1.2 * rss[5], rss


def test_finished_runs_leave_no_state_behind_without_a_collection(tmp_path: Path):
    gc.collect()
    held = _live_worlds()  # worlds other tests' fixtures still hold
    gc.disable()
    try:
        for i in range(3):
            run = make_run(f"seed={i}", "population.n_borrowers=300", "n_months=2")
            run_to_folder(
                run, tmp_path / f"r{i}", resolved={"seed": i}, resolved_yaml="", run_id="x"
            )
            assert _live_worlds() == held
        # The simple notebook loop (no close()): Mesa's model refers to itself (its wrapped
        # step), so a dropped model waits for a collection; each new model runs one when an
        # unclosed one exists, so at most the model in hand and the one before are alive.
        from sim.model import CreditMarketModel

        for i in range(5):
            model = CreditMarketModel(make_run(f"seed={i}", "population.n_borrowers=300")).run(2)
            assert _live_worlds() <= held + 2
        # Views made: Mesa's registries refer to the model; close() still frees the state.
        model.agents  # noqa: B018
        world = weakref.ref(model.world)
        model.close()
        assert world() is None
    finally:
        gc.enable()


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["submitit_local", "ray"])
def test_cluster_launchers_match_the_basic_launcher(tmp_path: Path, launcher: str):
    module = {
        "submitit_local": "hydra_plugins.hydra_submitit_launcher",
        "ray": "hydra_plugins.hydra_ray_launcher",
    }
    if importlib.util.find_spec(module[launcher]) is None:
        pytest.skip(f"the {launcher} launcher extra is not installed")
    args = ["-m", "policy=static,behaviour_rules", "seed=range(0,2)", *SMALL]
    basic = run_cli(*args, f"hydra.sweep.dir={tmp_path / 'basic'}")
    extra = (
        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]
        if launcher == "submitit_local"
        else ["hydra/launcher=ray"]
    )
    other = run_cli(*args, *extra, f"hydra.sweep.dir={tmp_path / launcher}")
    assert basic.returncode == 0, basic.stderr
    assert other.returncode == 0, other.stderr
    assert len(digests(tmp_path / "basic")) == 4 * len(RUN_TABLES)
    assert digests(tmp_path / "basic") == digests(tmp_path / launcher)
