"""Progress: a run's bar over months, a sweep's line per finished run, the demo's estimate."""

from __future__ import annotations

import io
import os
import re
import time

import pytest

from experiments import demo
from experiments.run import SWEEP_JOBS_ENV, _sweep_line
from sim.model import CreditMarketModel
from sim.outputs.files import COMPLETE_MARKER
from sim.runtime import resources
from tests.conftest import make_run


def test_run_progress_bar_counts_months_and_names_the_policy(capsys):
    run = make_run("policy=static", "population.n_borrowers=200", "n_months=3")
    with CreditMarketModel(run) as model:
        model.run(progress=True)
    err = capsys.readouterr().err
    assert "static seed 0: months" in err and "0/3 [" in err
    with CreditMarketModel(run) as model:
        model.run()
    assert capsys.readouterr().err == ""  # off unless asked (the CLI asks in a terminal)


def test_run_and_sweep_time_estimates_by_hand():
    run = make_run("population.n_borrowers=20000", "n_months=36")
    one = resources.RUN_FIXED_SECONDS + resources.BORROWER_MONTH_SECONDS * 720_000
    assert resources.estimate_run_seconds(run) == pytest.approx(one)
    per_job = one + resources.JOB_OVERHEAD_SECONDS
    sweep = resources.estimate_sweep_seconds([run] * 45, n_jobs=2)
    assert sweep == pytest.approx(resources.SWEEP_START_SECONDS + 45 * per_job / 2)
    # more workers than runs: each run on its own worker
    assert resources.estimate_sweep_seconds([run] * 2, n_jobs=8) == pytest.approx(
        resources.SWEEP_START_SECONDS + per_job
    )
    assert resources.estimate_sweep_seconds([], n_jobs=2) == 0.0
    with pytest.raises(ValueError, match="n_jobs"):
        resources.estimate_sweep_seconds([run], n_jobs=0)


def test_sweep_line_counts_runs_in_the_order_they_finished(tmp_path, monkeypatch):
    monkeypatch.setenv(SWEEP_JOBS_ENV, "3")
    folders = [tmp_path / f"run_{i}" for i in range(3)]
    for i, folder in enumerate(folders):
        folder.mkdir()
        (folder / COMPLETE_MARKER).write_text("{}")
        stamp = time.time_ns() - 10**9 + i * 10**6  # finished one after the other
        os.utime(folder / COMPLETE_MARKER, ns=(stamp, stamp))
    run = make_run("policy=static", "seed=4")
    # the second run to finish reads 2/3 even though all three are complete by now
    line = _sweep_line(tmp_path, run, True, folders[1])
    assert line == f"[2/3] static | baseline | seed 4: wrote {folders[1]}"
    assert _sweep_line(tmp_path, run, False, folders[2]).startswith("[3/3] ")
    assert "skipped, already complete:" in _sweep_line(tmp_path, run, False, folders[2])
    monkeypatch.delenv(SWEEP_JOBS_ENV)
    assert _sweep_line(tmp_path, run, True, folders[0]).startswith("[1/?] ")


def test_demo_prints_its_expected_duration_before_it_starts(tmp_path, monkeypatch, capsys):
    calls = []

    class FakeSweep:
        returncode = 0

        def __init__(self, cmd, **kwargs):
            calls.append(cmd)
            self.stdout = io.StringIO(
                "[2026-01-01 00:00:00,000][HYDRA] Launching 2 jobs locally\n"
                "[1/2] static | baseline | seed 0: wrote a\n"
                "[2/2] static | baseline | seed 1: wrote b\n"
            )

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(demo.subprocess, "Popen", FakeSweep)
    monkeypatch.setattr(demo.compare, "main", lambda argv: 0)
    code = demo.main(
        ["--seeds", "2", "--policies", "static", "--borrowers", "1000", "--months", "6"]
        + ["--out", str(tmp_path / "sweep")]
    )
    assert code == 0 and len(calls) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("demo: 2 runs (1 policies x 2 seeds, 1,000 borrowers x 6 months)")
    run = make_run("population.n_borrowers=1000", "n_months=6")
    expected = resources.estimate_sweep_seconds([run] * 2, 2) + demo.estimate_compare_seconds(2, 1)
    assert f"expected duration about {expected:.0f} s" in out[0]
    jobs = [line for line in out if re.match(r"^\[\d+/2\] ", line)]
    assert len(jobs) == 2 and not any("HYDRA" in line for line in out)
    assert out.index(jobs[0]) > 0  # the estimate comes first


def test_demo_estimate_matches_the_issue_measurement():
    """The demo (45 runs of 20 k x 36 months on 2 jobs) took about 2 min + 50 s of compare."""
    run = make_run("population.n_borrowers=20000", "n_months=36")
    sweep = resources.estimate_sweep_seconds([run] * 45, n_jobs=2)
    assert 80 <= sweep <= 150
    assert 35 <= demo.estimate_compare_seconds(45, 9) <= 70
