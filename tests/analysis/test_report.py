import contextlib
import io as io_module
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments.compare import main
from sim.analysis.compare import HEADLINE_METRICS, collect_runs
from sim.analysis.report import write_report
from sim.outputs import files as io
from tests.analysis.html_check import parse_report

POLICIES = ("static", "early_repay_penalty", "pd_threshold")
LOSS = {"static": 100.0, "early_repay_penalty": 80.0, "pd_threshold": 120.0}
APR = {"static": 0.18, "early_repay_penalty": 0.22, "pd_threshold": 0.15}
N_MONTHS = 4
BURN_IN = 2


def _write_run(folder, policy, seed, complete=True):
    run_id = f"{policy}-s{seed}"
    headline = {m: 0.05 for m in HEADLINE_METRICS}
    headline |= {
        "realised_loss_cny": LOSS[policy] + seed,
        "effective_apr": APR[policy] + 0.001 * seed,
        "median_cash_buffer_days": 20.0 + seed + (5.0 if policy == "pd_threshold" else 0.0),
    }
    summary = pd.DataFrame(
        {
            "run_id": [run_id],
            "policy": [policy],
            "scenario": ["baseline"],
            "seed": [seed],
            "n_borrowers": [200],
            "n_months": [N_MONTHS],
            "burn_in_months": [BURN_IN],
        }
        | {k: [v] for k, v in headline.items()}
    )
    steps = np.arange(1, N_MONTHS + 1)
    monthly = pd.DataFrame(
        {
            "step": steps,
            "calendar_month": steps,
            "drawn_balance_cny": 1000.0 * steps,
            "ead_cny": 1500.0 * steps + seed,
            "expected_loss_cny": 10.0 * steps,
            "default_rate": 0.001 * steps,
            "dpd90_share": 0.002 * steps,
            "dpd30_share": 0.004 * steps,
            "effective_apr": np.full(N_MONTHS, APR[policy]),
            "mean_utilisation": np.full(N_MONTHS, 0.4),
            "limit_cuts": np.array([0.0, 2.0, 1.0, 0.0]),
            "limit_raises": np.array([1.0, 0.0, 0.0, 1.0]),
            "unmet_credit_need_cny": np.zeros(N_MONTHS),
            "median_cash_buffer_days": np.full(N_MONTHS, np.nan),
        }
    )
    events = pd.DataFrame(
        {
            "borrower_id": np.array([3], dtype=np.int64),
            "step": [2],
            "old_limit_cny": [5000.0],
            "new_limit_cny": [3000.0],
            "reason": ["EARLY_REPAYMENT"],
        }
    )
    by_segment = pd.DataFrame(
        {
            "group": ["income_decile"] * 10 + ["segment", "segment"],
            "level": [str(d) for d in range(1, 11)] + ["household", "sole_trader"],
            "n_borrowers": [20] * 10 + [150, 50],
            "limit_cuts": [float(11 - d) for d in range(1, 11)] + [5.0, 8.0],
            "limit_raises": [1.0] * 12,
            "cut_share": [0.1] * 12,
            "default_rate": [0.01] * 12,
            "effective_apr": [0.2] * 12,
            "interest_fees_share_of_income": [0.05] * 12,
        }
    )
    transitions = pd.DataFrame(
        {
            "step": [2, 2, 2, 3],
            "from_bucket": ["current", "current", "30-59", "60-89"],
            "to_bucket": ["current", "30-59", "60-89", "90+"],
            "count": [190, 10, 4, 2],
        }
    )
    vintage = pd.DataFrame(
        {
            "vintage": ["initial_book"] * 3,
            "months_on_book": [1, 2, 3],
            "n_accounts": [200, 200, 200],
            "cumulative_default_rate": [0.0, 0.005, 0.01],
        }
    )
    for name, table in [
        ("summary", summary),
        ("monthly", monthly),
        ("events", events),
        ("by_segment", by_segment),
        ("transitions", transitions),
        ("vintage", vintage),
    ]:
        io.write_parquet_atomic(table, folder / f"{name}.parquet")
    if complete:
        io.write_json_atomic({"run_id": run_id}, folder / "_COMPLETE.json")


def _make_sweep(root):
    for i, policy in enumerate(POLICIES):
        for seed in (0, 1, 2):
            _write_run(root / f"{i * 3 + seed}", policy, seed)
    _write_run(root / "99", "static", 3, complete=False)
    return root


@pytest.fixture
def sweep(tmp_path):
    return _make_sweep(tmp_path / "sweep")


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory):
    """Run the CLI once on the hand-made sweep (figure rendering is the slow part)."""
    root = _make_sweep(tmp_path_factory.mktemp("cli") / "sweep")
    out = root.parent / "report"
    stdout, stderr = io_module.StringIO(), io_module.StringIO()
    plt.close("all")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(root), "--formats", "png", "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue(), out


def _links(text):
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


def test_cli_writes_report_and_prints_its_path(cli_report):
    code, stdout, stderr, out = cli_report
    assert code == 0
    assert stdout.strip() == str(out / "report.md")
    assert "skipped 1 incomplete" in stderr
    assert plt.get_fignums() == []


def test_report_mentions_every_policy_and_links_existing_figures(cli_report):
    out = cli_report[3]
    text = (out / "report.md").read_text(encoding="utf-8")
    for policy in POLICIES:
        assert f"`{policy}`" in text
    links = _links(text)
    assert len(links) >= 7
    for link in links:
        assert not link.startswith("/")
        assert (out / link).is_file(), link
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in ("fan_charts", "tradeoff", "forest", "deciles_limit_cuts", "vintage", "roll_rates"):
        assert f"{stem}.png" in names
        assert f"figures/{stem}.png" in links
    assert not any(n.endswith(".svg") for n in names)
    assert "incomplete run folders skipped: 1" in text
    assert "Seeds: 0, 1, 2" in text
    assert (
        "Borrowers per run (at the end): 200; months compared per run: 4, "
        "after a burn-in of 2 months under `static`"
    ) in text


def test_report_findings_name_the_right_policies(cli_report):
    text = (cli_report[3] / "report.md").read_text(encoding="utf-8")
    # means over seeds 0..2: loss static 101, early_repay_penalty 81, pd_threshold 121;
    # APR 0.181, 0.221, 0.151; buffer days 21, 21, 26
    assert "lowest realised loss: **early_repay_penalty**" in text
    assert "lowest effective APR: **pd_threshold**" in text
    assert "highest median cash buffer: **pd_threshold**" in text
    # on (APR, loss) no policy dominates another: all three are on the Pareto front
    front_line = next(line for line in text.splitlines() if "Pareto front" in line)
    for policy in POLICIES:
        assert f"**{policy}**" in front_line
    # metrics equal to the baseline on every seed are listed, not plotted
    assert "Identical to `static` on every paired seed" in text


def test_html_report_has_every_section(cli_report):
    _, got = parse_report(cli_report[3])
    h2 = [text for level, text in got if level == 2]
    assert h2[:3] == ["What was run", "Who bears the cuts", "Key findings (portfolio)"]
    text = (cli_report[3] / "report.md").read_text(encoding="utf-8")
    assert "Not available: the runs wrote no per-agent tables." in text  # hand-made runs


def test_report_csv_tables(cli_report):
    out = cli_report[3]
    summary_csv = pd.read_csv(out / "comparison_summary.csv")
    assert len(summary_csv) == len(POLICIES) * len(HEADLINE_METRICS)
    row = summary_csv[
        (summary_csv.policy == "static") & (summary_csv.metric == "realised_loss_cny")
    ].iloc[0]
    assert row["mean"] == pytest.approx(101.0)
    assert row.n_seeds == 3
    paired_csv = pd.read_csv(out / "paired_differences.csv")
    assert set(paired_csv.policy) == {"early_repay_penalty", "pd_threshold"}
    diff = paired_csv[
        (paired_csv.policy == "early_repay_penalty") & (paired_csv.metric == "realised_loss_cny")
    ].iloc[0]
    assert diff.mean_diff == pytest.approx(-20.0)
    assert diff.n_pairs == 3
    assert diff.n_unpaired == 0  # seed 3 of static is incomplete, hence not collected


def test_write_report_missing_baseline_raises(sweep, tmp_path):
    tables = collect_runs(sweep)
    with pytest.raises(ValueError, match="'nope'"):
        write_report(tables, tmp_path / "r", baseline="nope", formats=("png",))


def test_cli_missing_folder_exit_code_2(tmp_path, capsys):
    code = main([str(tmp_path / "missing")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1
    assert "missing" in captured.err and "Traceback" not in captured.err


def test_cli_no_complete_run_exit_code_2(tmp_path, capsys):
    _write_run(tmp_path / "run", "static", 0, complete=False)
    assert main([str(tmp_path)]) == 2
    assert "no complete run" in capsys.readouterr().err


def test_cli_subprocess_exit_code_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.compare", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_one_seed_report_says_why_it_has_no_intervals(tmp_path, cli_report):
    root = tmp_path / "one_seed"
    for i, policy in enumerate(POLICIES):
        _write_run(root / str(i), policy, 0)
    plt.close("all")
    text = write_report(collect_runs(root), tmp_path / "r", formats=("png",)).read_text()
    note = "one seed here: no interval can be given, so the tables show the value alone"
    assert note in text
    # Three seeds: intervals, and no such note.
    assert note not in (cli_report[3] / "report.md").read_text()
