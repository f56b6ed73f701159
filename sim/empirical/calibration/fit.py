"""The fit: minimise the simulated-moments distance and tabulate the fitted moments."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from sim.config import RunConfig
from sim.empirical.calibration.config import (
    CalibrationConfig,
    ParameterSpec,
    check_parameter_values,
    get_parameter,
    set_parameter,
)
from sim.empirical.calibration.moments import data_moments, msm_standard_errors, objective_value
from sim.empirical.validation import build_run_config, panel_statistics, simulate_panel
from sim.platform.scorecard import Scorecard

__all__ = ["CalibrationResult", "calibrate"]


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes:
        config: the calibration config.
        parameters: ``path``, ``key``, ``lower``, ``upper``, ``start``, ``fitted``,
            ``std_error`` (asymptotic MSM standard error; NaN for integer parameters), ``why``.
        moments: one row per moment: ``stat``, ``family``, ``fitted`` (bool), ``observed``,
            ``weight``, ``start`` (simulated at the start values, fit seed), ``sim_mean``,
            ``sim_low``, ``sim_high`` (fitted values over ``report_seeds`` seeds),
            ``error_pp`` (100 x (sim_mean - observed)) and ``z`` ((sim_mean - observed) /
            data standard error).
        objective_start: objective at the start values.
        objective_fitted: objective at the fitted values.
        n_evals: objective evaluations used.
        converged: the optimiser's own convergence flag (False if the budget ran out).
        message: the optimiser's message.
        trace: one row per evaluation: ``eval``, ``objective`` and the parameter values.
        seconds: wall time.
    """

    config: CalibrationConfig
    parameters: pd.DataFrame
    moments: pd.DataFrame
    objective_start: float
    objective_fitted: float
    n_evals: int
    converged: bool
    message: str
    trace: pd.DataFrame
    seconds: float

    @property
    def fitted(self) -> dict[str, float]:
        """Fitted value of every parameter, keyed by path."""
        return dict(zip(self.parameters["path"], self.parameters["fitted"], strict=True))


def _simulated_stats(
    run: RunConfig, uci: pd.DataFrame, scorecard: Scorecard | None, stats: Sequence[str]
) -> pd.Series:
    panel = simulate_panel(run, uci=uci, scorecard=scorecard)
    table = panel_statistics(panel, uci).set_index("stat")["value"]
    return table.reindex(list(stats))


#: Step of the numerical Jacobian, as a share of each parameter's range.
JACOBIAN_STEP = 0.02


def _standard_errors(
    best: np.ndarray,
    specs: Sequence[ParameterSpec],
    run_at: Callable[[np.ndarray], RunConfig],
    uci: pd.DataFrame,
    scorecard: Scorecard | None,
    moments: pd.DataFrame,
    config: CalibrationConfig,
) -> np.ndarray:
    """Standard errors of the continuous parameters (NaN for integer ones).

    Central differences of the fitted moments at the fit seed (common random numbers), a
    step of :data:`JACOBIAN_STEP` of each range, one-sided at a bound; then
    :func:`msm_standard_errors` with the simulated book's size against the data's.
    """
    fitted = moments[moments["fitted"]]
    base_run = run_at(best)
    continuous = [
        i for i, p in enumerate(specs) if not isinstance(get_parameter(base_run, p.path), int)
    ]
    jac = np.zeros((len(fitted), len(continuous)))
    for j, i in enumerate(continuous):
        h = JACOBIAN_STEP * (specs[i].upper - specs[i].lower)
        up, down = best.copy(), best.copy()
        up[i] = min(best[i] + h, specs[i].upper)
        down[i] = max(best[i] - h, specs[i].lower)
        m_up = _simulated_stats(run_at(up), uci, scorecard, fitted["stat"])
        m_down = _simulated_stats(run_at(down), uci, scorecard, fitted["stat"])
        jac[:, j] = (m_up.to_numpy(float) - m_down.to_numpy(float)) / (up[i] - down[i])
    out = np.full(len(specs), np.nan)
    out[continuous] = msm_standard_errors(
        jac,
        fitted["weight"].to_numpy(float),
        fitted["variance"].to_numpy(float),
        simulation_ratio=len(uci) / config.n_borrowers,
    )
    return out


def calibrate(
    config: CalibrationConfig,
    uci: pd.DataFrame,
    *,
    scorecard: Scorecard | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CalibrationResult:
    """Fit the parameters by the method of simulated moments (see :mod:`sim.empirical.calibration`).

    Args:
        config: the calibration set-up.
        uci: the UCI table.
        scorecard: the platform's PD model (the default fit if None).
        progress: called with ``(evaluation, objective)`` after each evaluation.

    Returns:
        The :class:`CalibrationResult`.

    Raises:
        ValueError: the run's behaviour window differs from ``config.behaviour_window``; a
            parameter's bounds or start lie outside the run config's range; the objective
            at the fit is not finite.
    """
    started = time.time()
    base = build_run_config(
        population=config.population,
        policy=config.policy,
        as_of=config.as_of,
        n_months=config.n_months,
        n_borrowers=config.n_borrowers,
        seed=config.seed,
        overrides=config.overrides,
    )
    if base.population.behaviour_window_months != config.behaviour_window:
        raise ValueError(
            f"calibration.behaviour_window = {config.behaviour_window} but the population "
            f"types borrowers on {base.population.behaviour_window_months} months"
        )
    check_parameter_values(base, config.parameters)
    moments = data_moments(uci, config)
    specs = config.parameters
    lower = np.array([p.lower for p in specs])
    width = np.array([p.upper - p.lower for p in specs])

    def run_for(values: np.ndarray, seed: int) -> RunConfig:
        run = copy.deepcopy(base)
        run.seed = seed
        for spec, value in zip(specs, values, strict=True):
            set_parameter(run, spec.path, float(value))
        return run

    trace: list[tuple] = []

    def q(u: np.ndarray) -> float:
        values = lower + width * np.clip(u, 0.0, 1.0)
        sim = _simulated_stats(run_for(values, config.seed), uci, scorecard, moments["stat"])
        value = objective_value(sim, moments)
        trace.append((len(trace) + 1, value, *values))
        if progress is not None:
            progress(len(trace), value)
        return value

    u0 = (np.array([p.start for p in specs]) - lower) / width
    start_stats = _simulated_stats(
        run_for(lower + width * u0, config.seed), uci, scorecard, moments["stat"]
    )
    objective_start = objective_value(start_stats, moments)
    # Initial simplex: the start plus a step of 25 % of each range (towards the far bound).
    simplex = [u0]
    for i in range(len(specs)):
        v = u0.copy()
        v[i] = v[i] + 0.25 if v[i] <= 0.5 else v[i] - 0.25
        simplex.append(v)
    res = optimize.minimize(
        q,
        u0,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(specs),
        options={
            "maxfev": config.max_evals,
            "initial_simplex": np.array(simplex),
            "xatol": 1e-3,
            "fatol": 1e-2,
        },
    )
    # The values as applied (integer parameters rounded), which is what the fit used.
    best_run = run_for(lower + width * np.clip(res.x, 0.0, 1.0), config.seed)
    best = np.array([get_parameter(best_run, p.path) for p in specs], dtype=float)

    std_errors = _standard_errors(
        best, specs, lambda values: run_for(values, config.seed), uci, scorecard, moments, config
    )

    # Fitted moments over several seeds (the first is the fit seed).
    seeds = [config.seed + k for k in range(config.report_seeds)]
    sims = pd.DataFrame(
        {s: _simulated_stats(run_for(best, s), uci, scorecard, moments["stat"]) for s in seeds}
    )
    table = moments.copy()
    table["start"] = start_stats.reindex(table["stat"]).to_numpy()
    table["sim_mean"] = sims.mean(axis=1).reindex(table["stat"]).to_numpy()
    table["sim_low"] = sims.quantile(0.025, axis=1).reindex(table["stat"]).to_numpy()
    table["sim_high"] = sims.quantile(0.975, axis=1).reindex(table["stat"]).to_numpy()
    table["error_pp"] = 100 * (table["sim_mean"] - table["observed"])
    table["z"] = (table["sim_mean"] - table["observed"]) / np.sqrt(table["variance"])
    params = pd.DataFrame(
        {
            "path": [p.path for p in specs],
            "key": [p.key for p in specs],
            "lower": lower,
            "upper": lower + width,
            "start": [p.start for p in specs],
            "fitted": best,
            "std_error": std_errors,
            "why": [p.why for p in specs],
        }
    )
    columns = ["eval", "objective", *[p.key for p in specs]]
    objective_fitted = objective_value(sims[config.seed], moments)
    if not np.isfinite(objective_fitted):
        raise ValueError(
            "calibration: the objective at the fit is not finite (a fitted moment has no "
            "simulated value, e.g. no account behind in a book this small); nothing is written"
        )
    return CalibrationResult(
        config=config,
        parameters=params,
        moments=table[
            [
                "stat",
                "family",
                "fitted",
                "observed",
                "weight",
                "start",
                "sim_mean",
                "sim_low",
                "sim_high",
                "error_pp",
                "z",
            ]
        ],
        objective_start=objective_start,
        objective_fitted=objective_fitted,
        n_evals=len(trace),
        converged=bool(res.success),
        message=str(res.message),
        trace=pd.DataFrame(trace, columns=columns),
        seconds=time.time() - started,
    )
