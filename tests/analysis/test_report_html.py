"""The report leads with who bears the cuts; report.html parses and holds every section."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sim.analysis.compare import collect_runs
from sim.analysis.report import write_report
from sim.model import CreditMarketModel
from sim.outputs import files as io
from tests.analysis.html_check import parse_report
from tests.conftest import make_run


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    for policy in ("static", "behaviour_rules"):
        for seed in (1, 2):
            model = CreditMarketModel(
                make_run(
                    f"policy={policy}", "population.n_borrowers=800", "n_months=8", f"seed={seed}"
                )
            ).run()
            tables = model.tables(f"{policy}-{seed}")
            model.close()
            io.write_run_outputs(tables, root / f"{policy}-{seed}", {"run_id": "x"}, "seed: 1\n")
    # a second name for behaviour_rules' runs: the same decisions on every borrower
    for seed in (1, 2):
        twin = root / f"twin-{seed}"
        shutil.copytree(root / f"behaviour_rules-{seed}", twin)
        summary = io.read_parquet(twin / "summary.parquet")
        summary = summary.assign(policy="twin", run_id=f"twin-{seed}")
        io.write_parquet_atomic(summary, twin / "summary.parquet")
    out = root / "report"
    write_report(collect_runs(root), out, formats=("png",))
    return out


@pytest.mark.slow
def test_html_report_parses_with_every_section(report_dir):
    parser, got = parse_report(report_dir)
    h2 = [t for level, t in got if level == 2]
    assert h2[:3] == ["What was run", "Who bears the cuts", "Key findings (portfolio)"]
    assert "Comparison table" in h2 and "Paired differences vs static" in h2
    h3 = [t for level, t in got if level == 3]
    assert "Borrowers cut: effect on them, and on the portfolio" in h3
    assert "Firms whose owner was cut" in h3
    assert any(t.startswith("Event study around the first cut") for t in h3)
    assert any(t.startswith("Three-way trade-off") for t in h3)
    assert parser.tables >= 5


@pytest.mark.slow
def test_identical_policies_reported_once(report_dir):
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    assert (
        text.count("Identical decisions on every borrower and seed: **behaviour_rules = twin**")
        == 1
    )
    section = text.split("## Who bears the cuts")[1].split("## Key findings")[0]
    table = section.split("### Borrowers cut: effect on them, and on the portfolio")[1]
    table = table.split("### Firms whose owner was cut")[0]
    rows = [line for line in table.splitlines() if line.startswith("| behaviour_rules")]
    assert len(rows) == 1 and rows[0].startswith("| behaviour_rules = twin |")
    assert "| twin |" not in section
    effects = pd.read_csv(report_dir / "treated_effects.csv")
    assert {"behaviour_rules", "twin"} <= set(effects["policy"])
    key = (report_dir / "key_numbers.txt").read_text(encoding="utf-8")
    assert "`behaviour_rules = twin` cut" in key and "default probability" in key


def test_the_report_writes_exactly_the_entries_compare_takes_as_its_own(report_dir):
    # experiments.compare refuses an --out holding anything else (REPORT_FILES and
    # REPORT_FOLDERS): a new file of the report left out of them would make compare refuse
    # to write again over its own earlier report. These runs have per-borrower tables, so
    # every file is written.
    from experiments import compare

    kinds = {p.name: p.is_dir() for p in report_dir.iterdir()}
    assert kinds == {n: False for n in compare.REPORT_FILES} | {"figures": True}
    assert {"figures"} == compare.REPORT_FOLDERS
