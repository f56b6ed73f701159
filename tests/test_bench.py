"""The benchmark's command line: inputs refused before anything runs, and its report."""

from __future__ import annotations

import numba
import pandas as pd
import pytest

from experiments import bench
from sim import compiled
from sim.outputs import folders

_TOP = int(numba.config.NUMBA_NUM_THREADS)
_SIZES = "in [1, 50,000,000] (population.n_borrowers)"
_POLICIES = (
    "behaviour_rules, champion_challenger, counter_cyclical, exposure_cap, parametric, "
    "pd_threshold, sme_aware, static, utilisation_cli"
)


def _refused(argv: list[str], capsys, monkeypatch) -> str:
    """The one error line of ``bench.main(argv)``, which must exit 2 before any run."""

    def no_child(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(bench, "_child", no_child)
    with pytest.raises(SystemExit) as exit_:
        bench.main(argv)
    assert exit_.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    prog, sep, message = last.partition(": error: ")  # argparse's "PROG: error: ..."
    assert sep and " " not in prog
    return message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # Only the offending option and its value are named.
        (["--sizes", "abc"], f"--sizes takes comma-separated whole numbers {_SIZES}, got 'abc'"),
        (
            ["--threads", "1,x"],
            f"--threads takes comma-separated whole numbers in [1, {_TOP}] (this machine), "
            "got '1,x'",
        ),
        # The range of sizes, both ends, before the config or the memory check.
        (["--sizes", "0"], f"--sizes must each be {_SIZES}, got '0'"),
        (["--sizes", "2000,60000000"], f"--sizes must each be {_SIZES}, got '2000,60000000'"),
        # Trailing or doubled commas and repeated values are refused.
        (
            ["--sizes", "2000,"],
            f"--sizes takes comma-separated whole numbers {_SIZES}, got '2000,'",
        ),
        (["--sizes", "2000,,3000"], "--sizes takes comma-separated whole numbers"),
        (
            ["--sizes", "2000,2000"],
            f"--sizes must each be {_SIZES} and given once, got '2000,2000'",
        ),
        (
            ["--threads", "1,1"],
            f"--threads must each be in [1, {_TOP}] (this machine) and given once, got '1,1'",
        ),
        (["--threads", "0"], f"--threads must each be in [1, {_TOP}] (this machine), got '0'"),
        (["--threads", str(_TOP + 1)], f"--threads must each be in [1, {_TOP}] (this machine)"),
        (
            ["--implementations", "compiled,"],
            "--implementations takes comma-separated names among ['compiled', 'numpy', "
            "'reference'], each at most once, got 'compiled,'",
        ),
        (["--implementations", "compiled,fast"], "each at most once, got 'compiled,fast'"),
        (["--implementations", "numpy,numpy"], "each at most once, got 'numpy,numpy'"),
        (["--months", "0"], "--months must be in [1, 100,000] (n_months), got 0"),
        (
            ["--months", "12", "--reference-months", "13"],
            "--reference-months must be in [1, 12] (--months), got 13",
        ),
        (
            ["--months", "3", "--reference-months", "0", "--implementations", "numpy"],
            "--reference-months must be in [1, 3] (--months), got 0",
        ),
        (["--repeat", "0"], "--repeat must be a whole number >= 1, got 0"),
        (["--firm-share", "nan"], "--firm-share must be in [0, 1] (firms.owner_share), got nan"),
        (["--sizes", "1000000", "--implementations", "reference"], "only up to 100,000"),
        # One line naming the policy and the policies there are (no search path, no schemas).
        (
            ["--policy", "nosuch"],
            "--policy nosuch: invalid config: In 'config': Could not find 'policy/nosuch'; "
            f"Available options in 'policy': {_POLICIES}",
        ),
    ],
)
def test_bad_inputs_fail_before_any_run(argv, message, capsys, monkeypatch) -> None:
    line = _refused(argv, capsys, monkeypatch)
    assert message in line
    assert "_schema" not in line


def test_limits_are_those_of_the_config() -> None:
    """The bench's own size and month limits are the config's ranges, both ends."""
    from sim.config.population import PopulationConfig
    from sim.runtime.compose import load_run_config

    assert PopulationConfig(n_borrowers=bench.MAX_BORROWERS).n_borrowers == bench.MAX_BORROWERS
    with pytest.raises(ValueError, match="population.n_borrowers"):
        PopulationConfig(n_borrowers=bench.MAX_BORROWERS + 1)
    assert load_run_config([f"n_months={bench.MAX_MONTHS}"]).n_months == bench.MAX_MONTHS
    with pytest.raises(ValueError, match="n_months"):
        load_run_config([f"n_months={bench.MAX_MONTHS + 1}"])


def test_reference_months_follow_months_unless_given(tmp_path) -> None:
    # Not given: 6, or --months if fewer; no reference asked for, no complaint.
    out = ["--out", str(tmp_path)]
    short = bench._parse([*out, "--sizes", "2000", "--months", "3", "--implementations", "numpy"])
    assert short.reference_months == 3
    assert bench._jobs(short) == [(2_000, "numpy", 1, 3)]
    full = bench._parse(
        [*out, "--sizes", "2000", "--months", "12", "--implementations", "reference"]
    )
    assert full.reference_months == 6
    assert bench._jobs(full) == [(2_000, "reference", 1, 6)]


def test_results_folder_checked_before_any_run(tmp_path, capsys, monkeypatch) -> None:
    a_file = tmp_path / "bench"
    a_file.write_text("not a folder")
    base = ["--sizes", "2000", "--months", "3", "--implementations", "numpy"]
    line = _refused([*base, "--out", str(a_file)], capsys, monkeypatch)
    assert line == (
        f"--out {a_file}: exists and is not a folder "
        "(it must be a folder that can be created and written)"
    )
    line = _refused([*base, "--out", str(a_file / "sub")], capsys, monkeypatch)
    assert line.startswith(f"--out {a_file / 'sub'}: cannot write there (Not a directory)")
    # The default folder, outputs/bench, is checked the same way (here a file).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").write_text("")
    line = _refused(base, capsys, monkeypatch)
    assert line.startswith("--out outputs/bench: cannot write there (Not a directory)")


def test_results_folder_unwritable_is_refused(tmp_path, capsys, monkeypatch) -> None:
    """A folder the probe file cannot be written into (root passes os.access checks)."""
    out = tmp_path / "out"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(folders.tempfile, "NamedTemporaryFile", refuse)
    base = ["--sizes", "2000", "--months", "3", "--implementations", "numpy"]
    line = _refused([*base, "--out", str(out)], capsys, monkeypatch)
    assert line == (
        f"--out {out}: cannot write there (Permission denied) "
        "(it must be a folder that can be created and written)"
    )


def test_results_folder_made_and_used(tmp_path) -> None:
    out = tmp_path / "a" / "b"
    args = bench._parse(["--sizes", "2000", "--months", "3", "--out", str(out)])
    assert args.out == out
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is gone


@pytest.fixture
def child_settings():
    """A child run sets the implementation and numba's threads process-wide: restored."""
    implementation, threads = compiled.implementation(), compiled.threads()
    yield
    compiled.set_implementation(implementation)
    compiled.set_threads(threads)


def _row(n: int, impl: str, threads: int, months: int, run_s: float) -> dict:
    return {
        "n_borrowers": n,
        "n_firms": n // 10,
        "implementation": impl,
        "threads": threads,
        "months_run": months,
        "warm_up_s": 0.2,
        "setup_s": 0.5,
        "run_s": run_s,
        "borrower_months_per_s": n * months / run_s,
        "borrower_rows_end": n + n // 100 * months,
        "row_months_per_s": n * months / run_s,
        "book": "open",
        "peak_rss_gib": 0.3,
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
    assert "| 1,000 | 100 | 1,030 | reference | 1 | 0.50 | 60.00 * (15.00 s for 3) |" in text
    assert (
        "x 12 months, 1 thread(s): compiled is 3.0x as fast as numpy (run 6.00 s / 2.00 s)" in text
    )
    assert "x 12 months, 2 thread(s): compiled is 6.0x as fast as numpy" in text
    # Against the reference: the compiled run of the same 3 months, not the scaled time.
    assert "x 3 months, 1 thread(s): compiled is 50.0x as fast as reference (run 15.00" in text
    assert "1,000 borrowers x 12 months: final balances the same in every run (3 runs)" in text
    assert "1,000 borrowers x 3 months: final balances DIFFERENT (2 values) in every" in text
    # A single run has nothing to compare with: its balance is given instead.
    one = bench._report(table.iloc[[0]], 12)
    assert "1,000 borrowers x 12 months: one run, final balance 1.00 CNY" in one
    assert "the same" not in one
    stages = bench._stage_table(rows)
    # Milliseconds per month: 15 s over 3 months, half of it in the household stage.
    assert stages.loc["household", "1,000 reference t1"] == 2_500.0
    assert stages.loc["total", "1,000 numpy t1"] == pytest.approx(1e3 * 6.0 * 0.75 / 12)


def test_jobs_run_numpy_and_reference_once_and_skip_large_references(tmp_path) -> None:
    argv = ["--sizes", "1000,200000", "--threads", "1,2", "--months", "12"]
    args = bench._parse([*argv, "--reference-months", "6", "--out", str(tmp_path)])
    jobs = bench._jobs(args)
    assert (1_000, "reference", 1, 6) in jobs
    assert (1_000, "compiled", 1, 6) in jobs  # beside the reference: same months
    assert [j for j in jobs if j[0] == 200_000 and j[1] == "reference"] == []
    assert [j[2:] for j in jobs if j[:2] == (1_000, "compiled")] == [(1, 12), (2, 12), (1, 6)]
    assert [j[2] for j in jobs if j[:2] == (1_000, "numpy")] == [1]


def test_closed_book_keeps_the_borrower_rows_and_counts_the_rows_simulated(
    child_settings,
) -> None:
    common = ["--child", "run", "--sizes", "3000", "--months", "4", "--threads", "1"]
    common += ["--implementations", "compiled"]
    open_ = bench._one(bench._parse(common))
    closed = bench._one(bench._parse([*common, "--book", "closed"]))
    # The small untimed run before the timed one, in the same process.
    assert open_["warm_up_s"] > 0 and closed["warm_up_s"] > 0
    assert closed["book"] == "closed" and closed["borrower_rows_end"] == 3000
    assert open_["book"] == "open" and open_["borrower_rows_end"] > 3000  # applicants arrived
    # Rows simulated per second: the rows of each month summed, over the run time.
    assert closed["row_months_per_s"] == pytest.approx(closed["borrower_months_per_s"], abs=1)
    assert open_["row_months_per_s"] > open_["borrower_months_per_s"]


def test_warm_cache_skips_the_compile_probe_and_keeps_the_cache(tmp_path, monkeypatch, capsys):
    # The probe compiles every kernel in an empty cache (about 75 s here) before any timed
    # run; --warm-cache times with the checkout's cache instead.
    calls: list[tuple[list[str], dict]] = []

    def child(cmd, env, what):  # noqa: ANN001, ANN202
        calls.append((cmd, env))
        return _row(2000, "compiled", 1, 3, 1.0)

    monkeypatch.setattr(bench, "_child", child)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    common = ["--sizes", "2000", "--months", "3", "--implementations", "compiled"]
    common += ["--threads", "1", "--out", str(tmp_path)]
    assert bench.main([*common, "--warm-cache"]) == 0
    assert "numba first call: not measured (--warm-cache" in capsys.readouterr().out
    assert [c[c.index("--child") + 1] for c, _ in calls] == ["run"]
    assert "NUMBA_CACHE_DIR" not in calls[0][1]
    calls.clear()
    monkeypatch.setattr(bench, "_child", lambda cmd, env, what: calls.append((cmd, env)) or {
        "hot_s": 1.0, "first_s": 2.0, "import_s": 0.5, **_row(2000, "compiled", 1, 3, 1.0)
    })  # fmt: skip
    assert bench.main(common) == 0
    # No separate warm-up run: each timed run warms up in its own process (see _one).
    assert [c[c.index("--child") + 1] for c, _ in calls] == ["probe", "probe", "run"]
    assert all("limitlab-numba-cache-" in env["NUMBA_CACHE_DIR"] for _, env in calls)


def test_report_gives_the_median_of_repeated_runs() -> None:
    rows = [_row(1_000, "compiled", 1, 12, t) for t in (3.0, 1.0, 2.0)]
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "stage_seconds"} for r in rows])
    assert "| 1,000 | 100 | 1,120 | compiled | 1 | 0.50 | 1.00 (median of 3: 2.00) |" in (
        bench._report(table, 12)
    )


@pytest.mark.parametrize("made", [True, False])
def test_ctrl_c_is_one_line_exit_130_and_leaves_no_folder_it_made(
    tmp_path, monkeypatch, capsys, made
) -> None:
    out = tmp_path / "new" if made else tmp_path

    def interrupted(cmd, env, what):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "_child", interrupted)
    argv = ["--sizes", "2000", "--months", "3", "--implementations", "numpy", "--out", str(out)]
    assert bench.main(argv) == 130
    err = capsys.readouterr().err
    assert err == "bench.py: interrupted (Ctrl-C): no results written\n"
    assert out.exists() is not made  # a folder the bench made is removed; another is kept


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "0"], "--sizes must each be in [1, 50,000,000]"),
        (["--sizes", "1000,2000"], "--child run takes one value of --sizes, got '1000,2000'"),
        (["--threads", "1,2"], "--child run takes one value of --threads, got '1,2'"),
        (["--threads", "99"], "--threads must each be in [1, "),
        (["--implementations", "compiled,numpy"], "--child run takes one implementation"),
        (["--months", "0"], "--months must be in [1, 100,000] (n_months), got 0"),
        (["--firm-share", "5"], "--firm-share must be in [0, 1] (firms.owner_share), got 5.0"),
        (["--policy", "nope"], "--policy nope: "),
    ],
)
def test_a_child_run_checks_its_one_size_thread_count_and_implementation(
    argv, message, capsys
) -> None:
    base = {"--sizes": "1000", "--threads": "1", "--implementations": "compiled"}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    with pytest.raises(SystemExit) as stop:
        bench._parse(["--child", "run", *flat])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_during_the_checks_is_the_same_one_line(monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "_check_config", interrupted)
    assert bench.main(["--sizes", "2000", "--months", "3"]) == 130
    assert capsys.readouterr().err == "bench.py: interrupted (Ctrl-C): no results written\n"


def test_stage_columns_keep_every_repeat() -> None:
    rows = [_row(1_000, "compiled", 1, 12, t) | {"repeat": k} for k, t in enumerate((3.0, 1.0))]
    stages = bench._stage_table(rows)
    assert list(stages.columns) == ["1,000 compiled t1 #1", "1,000 compiled t1 #2"]
    assert stages.loc["household", "1,000 compiled t1 #2"] == pytest.approx(
        1e3 * 0.5 / 12, abs=0.05
    )


def test_a_book_of_a_few_borrowers_warms_up_at_its_own_size(monkeypatch, child_settings) -> None:
    # A table of one row is contiguous: numba compiles other versions for such a book,
    # which its own warm-up compiles before the timer starts.
    sizes = []
    real = bench._config
    monkeypatch.setattr(bench, "_config", lambda n, *a, **k: sizes.append(n) or real(n, *a, **k))
    argv = ["--child", "run", "--sizes", "3", "--months", "2", "--threads", "1"]
    row = bench._one(bench._parse([*argv, "--implementations", "numpy"]))
    assert sizes[-2:] == [3, 3] and row["n_borrowers"] == 3  # the run, then its warm-up
