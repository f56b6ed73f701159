"""Simulated-moments calibration: moments, weights, objective, the fit, the CLI helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.calibrate import update_population_yaml
from sim.empirical.calibration import (
    CalibrationConfig,
    CalibrationResult,
    ParameterSpec,
    calibrate,
    calibration_config_from_dict,
    data_moments,
    get_parameter,
    msm_standard_errors,
    objective_value,
    set_parameter,
)
from sim.runtime.compose import CONF_DIR, load_run_config
from sim.world.data import load_uci

CONFIG = Path(CONF_DIR) / "validation" / "uci_2005.yaml"


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci()


def _config(**changes) -> CalibrationConfig:
    values = yaml.safe_load(CONFIG.read_text())
    values["calibration"].update(changes)
    return calibration_config_from_dict(values)


def test_shipped_calibration_config_uses_april_to_july_only():
    cfg = _config()
    assert cfg.months == ["may", "june", "july"]
    assert {p.key for p in cfg.parameters} >= {
        "arrears_cure_prob",
        "delinquent_skip_prob_monthly",
    }
    with pytest.raises(ValueError, match="validation window"):
        _config(as_of="june", n_months=2)  # would reach August
    with pytest.raises(ValueError, match="unknown key"):
        calibration_config_from_dict({"calibration": {"max_eval": 3}})
    # a misspelt top-level key (it would drop the run's product terms) is refused too
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['overides'\]"):
        calibration_config_from_dict({"overides": []})
    with pytest.raises(ValueError, match=r"calibration.n_borrowers must be >= 1,000, got 10"):
        _config(n_borrowers=10)
    with pytest.raises(ValueError, match="bounds"):
        ParameterSpec("population.savings_income_months", 0.0, 1.0, start=2.0)


def test_data_moments_weights_are_inverse_variances(uci):
    cfg = _config()
    m = data_moments(uci, cfg).set_index("stat")
    row = m.loc["transition june->july D->D"]
    p, n = row["observed"], row["n"]
    assert row["fitted"] and row["variance"] == pytest.approx(p * (1 - p) / n)
    assert row["weight"] == pytest.approx(1.0 / row["variance"])
    # reported moments carry no weight
    assert (
        not m.loc["payment_ratio transactor", "fitted"]
        and m.loc["payment_ratio transactor", "weight"] == 0
    )
    # the observed moments come from May-July only; August onwards never appears
    assert not any(s for s in m.index if "august" in s or "september" in s or "default" in s)
    with pytest.raises(ValueError, match="matches no statistic"):
        data_moments(uci, _config(moments=["share august *"]))


def test_objective_is_the_weighted_sum_of_squares_on_a_hand_case():
    moments = pd.DataFrame(
        {
            "stat": ["a", "b", "c"],
            "observed": [0.5, 0.2, 0.9],
            "weight": [100.0, 400.0, 0.0],
            "fitted": [True, True, False],
        }
    )
    sim = pd.Series({"a": 0.6, "b": 0.1, "c": 0.0})
    assert objective_value(sim, moments) == pytest.approx(100 * 0.01 + 400 * 0.01)
    assert objective_value(pd.Series({"a": 0.6}), moments) == float("inf")


def test_set_and_get_parameter_by_path():
    run = load_run_config()
    set_parameter(run, "population.behaviour.arrears_cure_prob", 0.4)
    set_parameter(run, "population.behaviour.instalment_months", 3.6)
    assert get_parameter(run, "population.behaviour.arrears_cure_prob") == 0.4
    assert get_parameter(run, "population.behaviour.instalment_months") == 4  # ints stay ints
    with pytest.raises(AttributeError):
        set_parameter(run, "population.behaviour.no_such_thing", 1.0)


def test_calibrate_runs_a_tiny_fit_within_bounds(uci):
    cfg = _config(
        n_borrowers=1500,
        max_evals=6,
        report_seeds=2,
        parameters=[
            {
                "path": "population.behaviour.arrears_cure_prob",
                "lower": 0.0,
                "upper": 0.6,
                "start": 0.3,
            }
        ],
    )
    result = calibrate(cfg, uci)
    fitted = result.fitted["population.behaviour.arrears_cure_prob"]
    assert 0.0 <= fitted <= 0.6
    assert 1 <= result.n_evals <= 7  # Nelder-Mead may overshoot its budget by one evaluation
    assert result.objective_fitted <= result.objective_start + 1e-9 or result.n_evals < 3
    row = result.moments.set_index("stat").loc["transition june->july D->D"]
    assert row["sim_low"] <= row["sim_mean"] <= row["sim_high"]
    assert list(result.trace.columns) == ["eval", "objective", "arrears_cure_prob"]
    # the cure probability moves the D rows: a finite, positive standard error
    se = result.parameters.set_index("key").loc["arrears_cure_prob", "std_error"]
    assert np.isfinite(se) and 0.0 < se < 0.6


def test_msm_standard_errors_on_a_hand_case():
    # G = [[1, 0], [0, 2], [1, 1]], Var = (1, 4, 1), W = Var^-1, a simulated book of the
    # data's size (r = 1): G'WG = [[2, 1], [1, 2]] and V = (1 + r) (G'WG)^-1
    # = 2/3 [[2, -1], [-1, 2]], so both standard errors are sqrt(4/3).
    g = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    var = np.array([1.0, 4.0, 1.0])
    se = msm_standard_errors(g, 1.0 / var, var, simulation_ratio=1.0)
    np.testing.assert_allclose(se, [np.sqrt(4 / 3)] * 2)
    # without simulation noise (r = 0) the variance halves
    np.testing.assert_allclose(msm_standard_errors(g, 1.0 / var, var, 0.0), [np.sqrt(2 / 3)] * 2)
    # a parameter no moment moves: G'WG singular -> NaN
    assert np.isnan(msm_standard_errors(np.zeros((3, 2)), 1.0 / var, var, 1.0)).all()
    with pytest.raises(ValueError, match="jacobian"):
        msm_standard_errors(g, np.ones(2), var, 1.0)


def test_update_population_yaml_rewrites_only_the_fitted_lines(tmp_path):
    path = tmp_path / "pop.yaml"
    path.write_text(
        "name: x\nsavings_income_months: 3.0  # old note\n"
        "behaviour:\n  instalment_months: 12\n  other: 1\n"
    )
    result = CalibrationResult(
        config=None,  # type: ignore[arg-type]
        parameters=pd.DataFrame(
            {"key": ["savings_income_months", "instalment_months"], "fitted": [0.7712345, 3.0]}
        ),
        moments=pd.DataFrame(),
        objective_start=np.nan,
        objective_fitted=np.nan,
        n_evals=0,
        converged=True,
        message="",
        trace=pd.DataFrame(),
        seconds=0.0,
    )
    assert update_population_yaml(path, result, "today") == [
        "savings_income_months",
        "instalment_months",
    ]
    data = yaml.safe_load(path.read_text())
    assert data["savings_income_months"] == pytest.approx(0.7712)
    assert data["behaviour"] == {"instalment_months": 3, "other": 1}
    assert "old note" not in path.read_text() and path.read_text().count("fitted: MSM") == 2


def test_bounds_outside_the_run_schema_are_refused_before_fitting(uci):
    # arrears_seasoned_log_odds runs in [-10, 10]: a fit that could reach -20 would write a
    # value every later run refuses, so the bound is refused before any evaluation.
    cfg = _config(
        n_borrowers=1500,
        max_evals=3,
        report_seeds=1,
        parameters=[
            {
                "path": "population.behaviour.arrears_seasoned_log_odds",
                "lower": -30.0,
                "upper": 0.0,
                "start": -1.0,
            }
        ],
    )
    with pytest.raises(
        ValueError,
        match=r"arrears_seasoned_log_odds: lower = -30 is outside the run config's range",
    ):
        calibrate(cfg, uci)


def test_calibrate_usage_errors_are_one_line_and_name_the_option(capsys, tmp_path):
    from experiments.calibrate import _parser, main

    assert main(["--n-borrowers", "abc"]) == 2
    assert main(["--n-borrowers", "5", "--out", str(tmp_path / "out")]) == 2
    assert main(["--max-evals", "0", "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "invalid int value: 'abc'" in lines[0]
    assert lines[0].endswith("(see python -m experiments.calibrate --help)")
    assert lines[1].startswith("error: --n-borrowers (calibration.n_borrowers) must be >= 1,000")
    assert lines[2].startswith("error: --max-evals (calibration.max_evals) must be >= 1")
    assert not (tmp_path / "out").exists()
    assert ">= 1,000" in " ".join(_parser().format_help().split())
