"""The lender-access sensitivity harness on a tiny config, and its ranking logic by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.sensitivity import main
from sim.empirical.sensitivity import (
    LENDER_ACCESS_PARAMETERS,
    OUTCOME_FAMILIES,
    SensitivityParameter,
    ranking_changes,
)
from sim.runtime.compose import load_run_config


def test_every_parameter_is_a_valid_override_at_both_ends():
    for level in ("low", "high"):  # distinct keys: one composition per end
        run = load_run_config([o for p in LENDER_ACCESS_PARAMETERS for o in p.override(level)])
        assert run.channels.household_wants_seek_share == getattr(
            LENDER_ACCESS_PARAMETERS[0], level
        )
        assert run.channels.lenders["credit_card"].approval_prob == getattr(
            LENDER_ACCESS_PARAMETERS[1], level
        )


def _results(low_static: float) -> pd.DataFrame:
    """Two policies, one parameter; only static's loss at the low end moves."""
    rows = []
    for level, s_loss in (("base", 1.0), ("low", low_static), ("high", 1.0)):
        for policy, loss in (("static", s_loss), ("other", 2.0)):
            rows.append(
                {
                    "parameter": "(default)" if level == "base" else "x",
                    "level": level,
                    "value": "",
                    "policy": policy,
                    "seed": 0,
                    "realised_loss_cny": loss,
                    "effective_apr": 0.1,
                    "late_supplier_payments_cny": 5.0,
                }
            )
    return pd.DataFrame(rows)


def test_ranking_changes_by_hand():
    same = ranking_changes(_results(low_static=1.5))
    loss = same[same["family"] == "platform_loss"].iloc[0]
    assert loss["base_order"] == "static > other" and not loss["changes"]
    # Mean over policies: (1.5 + 2) / 2 - (1 + 2) / 2.
    assert loss["swing_low"] == pytest.approx(0.25) and loss["swing_high"] == 0.0
    flipped = ranking_changes(_results(low_static=3.0))
    loss = flipped[flipped["family"] == "platform_loss"].iloc[0]
    assert loss["changes"] and loss["low_order"] == "other > static"
    # Ties are ordered by name and never count as a change.
    assert not flipped[flipped["family"] == "borrower_cost"]["changes"].any()


def test_the_harness_runs_on_a_tiny_config(tmp_path):
    code = main(
        [
            "--n",
            "100",
            "--months",
            "2",
            "--seeds",
            "1",
            "--policies",
            "static,behaviour_rules",
            "--params",
            "household_wants_seek_share",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    runs = pd.read_csv(tmp_path / "sensitivity_runs.csv")
    # 1 default + 1 parameter x 2 ends, x 2 policies x 1 seed.
    assert len(runs) == 6
    assert set(runs["level"]) == {"base", "low", "high"}
    ranks = pd.read_csv(tmp_path / "sensitivity_rankings.csv")
    assert len(ranks) == len(OUTCOME_FAMILIES)
    for family in OUTCOME_FAMILIES:
        assert (tmp_path / f"tornado_{family}.png").stat().st_size > 0
    assert "ranking changes" in (tmp_path / "sensitivity.md").read_text()


def test_unknown_parameter_is_refused(capsys):
    assert main(["--params", "no_such_thing"]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_override_formats_lists_like_yaml():
    p = SensitivityParameter(
        "channels.lenders.x.approval_prob", [1, 1, 1], [0.5, 0.25, 0.0], [1.0, 1.0, 1.0], "why"
    )
    assert p.override("low") == ["channels.lenders.x.approval_prob=[0.5,0.25,0.0]"]
    assert p.override("base") == [] and p.label == "x.approval_prob"
