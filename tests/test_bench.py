"""The benchmark's command line: inputs refused before anything runs, and its report."""

from __future__ import annotations

import numba
import pandas as pd
import pytest

from experiments import bench


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "10k"], "--sizes and --threads take comma-separated whole numbers"),
        (["--sizes", "0"], "--sizes needs borrower counts, each >= 1"),
        (["--implementations", "compiled,fast"], "--implementations must be among"),
        (["--threads", "0"], "--threads must each be in [1, "),
        (["--threads", str(numba.config.NUMBA_NUM_THREADS + 1)], "(this machine)"),
        (["--months", "12", "--reference-months", "13"], "--reference-months must be in"),
        (["--sizes", "1000000", "--implementations", "reference"], "only up to 100,000"),
        (["--sizes", "60000000", "--implementations", "numpy"], "population.n_borrowers"),
    ],
)
def test_bad_inputs_fail_before_any_run(argv, message, capsys, monkeypatch) -> None:
    def no_child(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(bench, "_child", no_child)
    with pytest.raises(SystemExit) as exit_:
        bench.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def _row(n: int, impl: str, threads: int, months: int, run_s: float) -> dict:
    return {
        "n_borrowers": n,
        "n_firms": n // 10,
        "implementation": impl,
        "threads": threads,
        "months_run": months,
        "setup_s": 0.5,
        "run_s": run_s,
        "borrower_months_per_s": n * months / run_s,
        "peak_rss_gb": 0.3,
        "final_balance_cny": 1.0 if months == 12 else float(len(impl)),
        "stage_seconds": {"household": run_s / 2, "enterprise": run_s / 4},
    }


def test_report_scales_the_short_reference_run_and_gives_the_speed_ups() -> None:
    rows = [
        _row(1_000, "compiled", 1, 12, 2.0),
        _row(1_000, "compiled", 2, 12, 1.0),
        _row(1_000, "numpy", 1, 12, 6.0),
        _row(1_000, "reference", 1, 3, 15.0),  # 3 of 12 months: 60 s for 12
        _row(1_000, "compiled", 1, 3, 0.3),  # the same 3 months, compiled
    ]
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "stage_seconds"} for r in rows])
    text = bench._report(table, 12)
    assert "| 1,000 | 100 | reference | 1 | 0.50 | 60.00 * (15.00 s for 3) |" in text
    assert (
        "x 12 months, 1 thread(s): compiled is 3.0x as fast as numpy (run 6.00 s / 2.00 s)" in text
    )
    assert "x 12 months, 2 thread(s): compiled is 6.0x as fast as numpy" in text
    # Against the reference: the compiled run of the same 3 months, not the scaled time.
    assert "x 3 months, 1 thread(s): compiled is 50.0x as fast as reference (run 15.00" in text
    assert "1,000 borrowers x 12 months: final balances the same in every run" in text
    assert "1,000 borrowers x 3 months: final balances DIFFERENT (2 values)" in text
    stages = bench._stage_table(rows)
    # Milliseconds per month: 15 s over 3 months, half of it in the household stage.
    assert stages.loc["household", "1,000 reference t1"] == 2_500.0
    assert stages.loc["total", "1,000 numpy t1"] == pytest.approx(1e3 * 6.0 * 0.75 / 12)


def test_jobs_run_numpy_and_reference_once_and_skip_large_references() -> None:
    argv = ["--sizes", "1000,200000", "--threads", "1,2", "--months", "12"]
    args = bench._parse([*argv, "--reference-months", "6"])
    jobs = bench._jobs(args)
    assert (1_000, "reference", 1, 6) in jobs
    assert (1_000, "compiled", 1, 6) in jobs  # beside the reference: same months
    assert [j for j in jobs if j[0] == 200_000 and j[1] == "reference"] == []
    assert [j[2:] for j in jobs if j[:2] == (1_000, "compiled")] == [(1, 12), (2, 12), (1, 6)]
    assert [j[2] for j in jobs if j[:2] == (1_000, "numpy")] == [1]
