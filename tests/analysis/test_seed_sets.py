"""Unbalanced seed sets (a half-finished sweep): named, and compared on common seeds only."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from experiments.compare import main
from sim.analysis.compare import (
    UnbalancedSeedsWarning,
    balance_seeds,
    collect_runs,
    paired_differences,
    seed_gaps,
)
from sim.runtime.runner import run_to_folder
from tests.conftest import make_run

#: (policy, seed) of the finished runs: static lacks seed 2; behaviour_rules has 0-2.
FINISHED = [("static", 0), ("static", 1), ("behaviour_rules", 0), ("behaviour_rules", 1)]
FINISHED += [("behaviour_rules", 2)]


@pytest.fixture(scope="module")
def half_finished_sweep(tmp_path_factory):
    """Five tiny real runs; static's seed 2 never finished (a folder without the marker)."""
    root = tmp_path_factory.mktemp("sweep")
    for policy, seed in FINISHED:
        run = make_run(
            f"policy={policy}", f"seed={seed}", "population.n_borrowers=200", "n_months=2"
        )
        run_to_folder(
            run,
            root / f"run_policy={policy},seed={seed}",
            resolved={"policy": policy, "seed": seed},
            resolved_yaml="",
            run_id=f"{policy}|seed={seed}",
        )
    (root / "run_policy=static,seed=2" / ".hydra").mkdir(parents=True)
    return root


def test_seed_gaps_names_policy_scenario_and_seed():
    summary = pd.DataFrame(
        {
            "policy": ["a", "a", "b", "b", "b", "a", "b"],
            "scenario": ["x", "x", "x", "x", "x", "y", "y"],
            "seed": [0, 1, 0, 1, 2, 5, 5],
        }
    )
    gaps = seed_gaps(summary)
    assert gaps.to_dict("records") == [
        {"scenario": "x", "policy": "a", "missing_seeds": [2], "n_seeds": 2, "common_seeds": [0, 1]}
    ]
    assert seed_gaps(summary[summary.scenario == "y"]).empty


def test_collect_runs_warns_and_keeps_common_seeds_by_default(half_finished_sweep):
    with pytest.warns(UnbalancedSeedsWarning) as caught:
        tables = collect_runs(half_finished_sweep)
    message = str(caught[0].message)
    assert "'static' in scenario 'baseline' lacks seed(s) 2" in message
    assert "comparing only the seeds every policy ran" in message
    assert tables.seeds == [0, 1]
    assert tables.excluded_runs == ["behaviour_rules|seed=2"]
    for name in ("summary", "monthly", "transitions", "vintage"):
        assert set(getattr(tables, name)["seed"]) == {0, 1}, name
    assert "behaviour_rules|seed=2" not in tables.run_dirs
    assert len(tables.incomplete) == 1
    paired = paired_differences(tables.summary, baseline="static", metrics=["mean_ead_cny"])
    assert paired.n_pairs.tolist() == [2] and paired.n_unpaired.tolist() == [0]
    # the same tables, balanced again: nothing to do, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = balance_seeds(tables)
    assert again.seed_gaps.empty and again.seeds == [0, 1]


def test_collect_runs_all_or_refuse(half_finished_sweep):
    with pytest.warns(UnbalancedSeedsWarning, match="different seeds"):
        every = collect_runs(half_finished_sweep, seeds="all")
    assert every.seeds == [0, 1, 2] and every.excluded_runs == []
    assert len(every.seed_gaps) == 1
    with pytest.raises(ValueError, match="'static' in scenario 'baseline' lacks seed"):
        collect_runs(half_finished_sweep, seeds="refuse")
    with pytest.raises(ValueError, match="seed mode"):
        collect_runs(half_finished_sweep, seeds="some")


def test_compare_cli_says_what_it_does_and_warns_on_seed_gaps(half_finished_sweep, capsys):
    out = half_finished_sweep.parent / "report"
    code = main([str(half_finished_sweep), "--formats", "png", "--out", str(out), "--serial"])
    captured = capsys.readouterr()
    assert code == 0
    # the report's path first; then, as the runs wrote per-agent tables, the key numbers
    # of the effects on the treated
    path, header, *key = captured.out.strip().splitlines()
    assert path == str(out / "report.md")
    assert header.startswith("Effects on the borrowers cut")
    assert key == (out / "key_numbers.txt").read_text(encoding="utf-8").strip().splitlines()
    assert key and key[0].startswith("[baseline] `behaviour_rules` cut ")
    err = captured.err
    assert "warning: unbalanced seed sets: 'static' in scenario 'baseline' lacks seed(s) 2" in err
    assert "compare: 4 complete run(s): 2 policies x 1 scenario(s) x 2 seed(s)" in err
    assert "compare: reading the runs" in err and "compare: report written in" in err
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "**Unbalanced seed sets**: 'static' in scenario 'baseline' lacks seed(s) 2" in text
    assert "1 run(s) left out" in text
    assert "- Seeds: 0, 1 (" in text
    assert main([str(half_finished_sweep), "--seeds", "refuse", "--out", str(out)]) == 2
    assert "lacks seed(s) 2" in capsys.readouterr().err
