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
    run = make_run("population.n_borrowers=20000", "n_months=36", "burn_in_months=24")
    # Burn-in months are simulated too: 20,000 x (24 + 36) borrower-months.
    one = resources.RUN_FIXED_SECONDS + resources.BORROWER_MONTH_SECONDS * 1_200_000
    assert resources.estimate_run_seconds(run) == pytest.approx(one)
    per_job = one + resources.JOB_OVERHEAD_SECONDS
    sweep = resources.estimate_sweep_seconds([run] * 45, n_jobs=2, cores=2)
    assert sweep == pytest.approx(resources.SWEEP_START_SECONDS + 45 * per_job / 2)
    # more workers than runs: each run on its own worker
    assert resources.estimate_sweep_seconds([run] * 2, n_jobs=8, cores=8) == pytest.approx(
        resources.SWEEP_START_SECONDS + per_job
    )
    # more workers than cores: the cores are shared (999 workers on 2 cores, 45 runs)
    assert resources.estimate_sweep_seconds([run] * 45, n_jobs=999, cores=2) == sweep
    assert resources.estimate_sweep_seconds([run] * 45, n_jobs=3, cores=4) == pytest.approx(
        resources.SWEEP_START_SECONDS + 45 * per_job / 3
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
    monkeypatch.setattr("experiments.compare.main", lambda argv, **_: 0)
    monkeypatch.setattr(demo, "estimate_compile_seconds", lambda: 0.0)  # kernels cached
    monkeypatch.setattr(demo.os, "getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle machine
    shared = tmp_path / "sweep" / ".burn_in"  # the runs' shared burn-ins
    shared.mkdir(parents=True)
    code = demo.main(
        ["--seeds", "2", "--policies", "static", "--borrowers", "1000", "--months", "6"]
        + ["--out", str(tmp_path / "sweep")]
    )
    assert code == 0 and len(calls) == 1
    assert not shared.exists()  # removed once every run is complete
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "demo: 2 runs (1 policy x 2 seeds, 1,000 borrowers x 6 months) on 2 parallel jobs"
    )
    run = make_run("population.n_borrowers=1000", "n_months=6")
    sweep = resources.estimate_sweep_seconds([run] * 2, 2, burn_ins=2)
    expected = sweep + demo.estimate_compare_seconds(2, 1)
    assert f"expected duration about {expected:.0f} s" in out[0]
    assert "compile" not in out[0] and "busy" not in out[1]
    jobs = [line for line in out if re.match(r"^\[\d+/2\] ", line)]
    assert len(jobs) == 2 and not any("HYDRA" in line for line in out)
    assert out.index(jobs[0]) > 0  # the estimate comes first
    # A cold kernel cache (a fresh clone) adds the compilation to the estimate, once;
    # 1 seed, 1 job: singular; other work keeping 2 cores busy (load 2.7) is a warning.
    monkeypatch.setattr(demo, "estimate_compile_seconds", lambda: 25.0)
    monkeypatch.setattr(demo.os, "getloadavg", lambda: (2.7, 2.0, 2.0))
    monkeypatch.setattr(demo.os, "cpu_count", lambda: 2)
    demo.main(
        ["--seeds", "1", "--policies", "static", "--borrowers", "1000", "--months", "6"]
        + ["--jobs", "1", "--out", str(tmp_path / "sweep2")]
    )
    out = capsys.readouterr().out.splitlines()
    sweep = resources.estimate_sweep_seconds([run], 1, burn_ins=1)
    total = sweep + demo.estimate_compare_seconds(1, 1) + 25.0
    assert out[0].startswith("demo: 1 run (1 policy x 1 seed, 1,000 borrowers x 6 months) on 1 ")
    assert f"expected duration about {total:.0f} s" in out[0]
    assert "+ 25 s to compile the numba kernels, once: their cache is empty" in out[0]
    # (2.7 + 1) / 2 = 1.85
    assert out[1] == (
        "demo: this machine is busy (load average 2.7 on 2 cores, beside the demo's 1 job): "
        "expect it to take up to about 1.9x as long"
    )
    # More jobs than runs: the sweep gets one worker per run, not idle ones.
    demo.main(
        ["--seeds", "2", "--policies", "static", "--borrowers", "1000", "--months", "6"]
        + ["--jobs", "999", "--out", str(tmp_path / "sweep3")]
    )
    out = capsys.readouterr().out.splitlines()
    assert " on 2 parallel jobs, then" in out[0]
    assert "hydra.launcher.n_jobs=2" in calls[-1]


def test_busy_factor_by_hand():
    assert demo.busy_factor(2.7, 2, 2) == pytest.approx(2.35)  # 2 jobs + 2.7 share 2 cores
    assert demo.busy_factor(0.5, 2, 2) == pytest.approx(1.25)  # below the warning's 1.5
    assert demo.busy_factor(0.0, 2, 1) == 1.0  # an idle core for the one job
    assert demo.busy_factor(4.0, 2, 4) == pytest.approx(2.0)  # 4 jobs already share 2 cores
    assert demo.busy_factor(0.0, 0, 0) == 1.0


def test_cold_kernel_cache_is_detected_from_numba_index_files(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    root = tmp_path / "sim"
    (root / "world").mkdir(parents=True)
    sources = [root / "world" / "household_kernel.py", root / "a_kernel.py"]
    for source in sources:
        source.write_text("@kernel(parallel=True)\ndef f(): ...\n")
    (root / "helpers.py").write_text("@numba.njit(cache=True)\n")  # not a kernel module
    (root / "glue_kernel.py").write_text("from a_kernel import f\n")  # compiles nothing
    assert resources.kernel_sources(root) == sorted(sources)
    assert resources.cold_kernel_sources(root) == sorted(sources)  # nothing cached
    assert resources.estimate_compile_seconds(root) == resources.KERNEL_COMPILE_SECONDS
    cache = root / "world" / "__pycache__"
    cache.mkdir()
    index = cache / "household_kernel._household_kernel-56.py311.nbi"
    index.write_text("")
    assert resources.cold_kernel_sources(root) == [root / "a_kernel.py"]
    assert resources.estimate_compile_seconds(root) == resources.KERNEL_COMPILE_SECONDS / 2
    # An index older than its source (the kernel was edited since): compiled again.
    source_time = sources[0].stat().st_mtime
    os.utime(index, (source_time - 60, source_time - 60))
    assert len(resources.cold_kernel_sources(root)) == 2
    # NUMBA_CACHE_DIR: the index files are looked for there.
    elsewhere = tmp_path / "numba_cache" / "sim_world_abc"
    elsewhere.mkdir(parents=True)
    (elsewhere / "household_kernel.f-1.py311.nbi").write_text("")
    (elsewhere / "a_kernel.g-2.py311.nbi").write_text("")
    assert resources.cold_kernel_sources(root, cache_dir=tmp_path / "numba_cache") == []


def test_demo_estimate_matches_the_issue_measurement():
    """The demo (45 runs of 20 k x (24 + 36) months on 2 jobs): sweep 40 s, compare 13 s.

    Measured with `python -m experiments.demo` at load average 1.3-1.9, three times
    (sweep 39-42 s, comparison 12.7-13.6 s; docs/performance.md); the estimates are
    rough guides, within 30 % of the measurement. Its 5 seeds share 5 burn-ins.
    """
    run = make_run("population.n_borrowers=20000", "n_months=36", "burn_in_months=24")
    sweep = resources.estimate_sweep_seconds([run] * 45, n_jobs=2, burn_ins=5, cores=2)
    assert 0.7 * 40 <= sweep <= 1.3 * 40
    assert 0.7 * 13 <= demo.estimate_compare_seconds(45, 9) <= 1.3 * 13


def test_demo_refuses_a_bad_size_before_writing(tmp_path, capfd):
    out = tmp_path / "sweep"
    code = demo.main(
        ["--borrowers", "-5", "--seeds", "1", "--policies", "static"] + ["--out", str(out)]
    )
    captured = capfd.readouterr()
    assert code == 2 and not out.exists()
    assert "population.n_borrowers = -5 is outside the allowed range [1, 50000000]" in captured.err
    assert "nothing was run" in captured.out and "Traceback" not in captured.err


def test_shared_burn_ins_take_their_months_off_the_sweep_estimate():
    run = make_run("population.n_borrowers=10000", "n_months=12", "burn_in_months=24")
    alone = resources.estimate_sweep_seconds([run] * 10, 2)
    shared = resources.estimate_sweep_seconds([run] * 10, 2, burn_ins=2)
    # 8 runs continue from a saved burn-in: 8 x 10,000 borrowers x 24 months, on 2 workers.
    saved = 8 * resources.BORROWER_MONTH_SECONDS * 10_000 * 24 / 2
    assert alone - shared == pytest.approx(saved)
    assert resources.estimate_sweep_seconds([run] * 10, 2, burn_ins=10) == pytest.approx(alone)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--jobs", "0"], "error: --jobs 0: must be >= 1"),
        (["--seeds", "-1"], "error: --seeds -1: must be >= 1"),
        (["--policies", "nosuch,static"], "error: --policies 'nosuch,static': unknown ['nosuch']"),
        (["--policies", "static,static"], "a policy named twice; the policies: behaviour_rules"),
    ],
)
def test_demo_refuses_its_own_bad_options_before_starting_the_sweep(
    tmp_path, monkeypatch, capsys, options, message
):
    started = []
    monkeypatch.setattr(demo.subprocess, "Popen", lambda *a, **k: started.append(a))
    with pytest.raises(SystemExit) as exit_:
        demo.main([*options, "--out", str(tmp_path / "sweep")])
    assert exit_.value.code == 2 and started == [] and not (tmp_path / "sweep").exists()
    assert message in capsys.readouterr().err


def test_demo_stops_its_sweep_when_it_fails_itself(tmp_path, monkeypatch):
    stopped = []

    class Sweep:
        stdout = io.StringIO("")
        returncode = None

        def __init__(self, cmd, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def terminate(self):
            stopped.append(True)

    def broken(*args):
        raise RuntimeError("the estimate failed")

    monkeypatch.setattr(demo.subprocess, "Popen", Sweep)
    monkeypatch.setattr(demo, "_announce", broken)
    with pytest.raises(RuntimeError, match="the estimate failed"):
        demo.main(["--seeds", "1", "--policies", "static", "--out", str(tmp_path / "s")])
    assert stopped == [True]
