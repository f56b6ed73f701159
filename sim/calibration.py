"""Method-of-simulated-moments calibration of ``uci_2005`` on April-July 2005 (issue #6).

The behavioural parameters that drive delinquency dynamics are fitted so that the
simulator, started from the UCI accounts' state **as of May** and run through June and
July, reproduces the data's moments of those months. August, September and the October
default are never used here: they are the out-of-sample validation (:mod:`sim.validation`).

Why start as of May (not April): behaviour types are classified from the months of
history up to the start (no look-ahead), and the validation starts as of July with the
``behaviour_window_months`` (2) months June-July. Starting the fit as of May with April-May
keeps the meaning of every type (in particular "delinquent-prone") the same in the fit
and in the validation; a fit typed on April-July would label every account that becomes
delinquent in May-July as delinquent-prone in advance, and the fitted skip rates would
not carry over.

Method
------
For parameters ``theta`` the objective is the weighted distance

    Q(theta) = sum_k w_k (m_k(theta) - m_k^data)^2,   w_k = 1 / Var(m_k^data),

a diagonal weight matrix of inverse sampling variances of the data moments (binomial for
shares and transition rates, var / n for means: :func:`sim.validation.panel_statistics`).
Simulated moments use one seed for every evaluation (common random numbers), so ``Q`` is
a deterministic function of ``theta``. ``Q`` is minimised with ``scipy.optimize.minimize``
(Nelder-Mead on the parameters rescaled to [0, 1], with bounds, a fixed evaluation
budget). The fitted moments are then re-simulated over several seeds for the table.

The moments (``stat`` names of :func:`sim.validation.panel_statistics`) and the
parameters with their bounds are listed in the ``calibration`` section of
``conf/validation/uci_2005.yaml``.

References:
    McFadden, D. (1989). A method of simulated moments for estimation of discrete
    response models without numerical integration. Econometrica, 57(5), 995-1026.
    Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data).
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from sim.config import RunConfig
from sim.platform.scorecard import Scorecard
from sim.validation import (
    build_run_config,
    months_after,
    observed_panel,
    panel_statistics,
    simulate_panel,
)

__all__ = [
    "CalibrationConfig",
    "CalibrationResult",
    "ParameterSpec",
    "calibrate",
    "calibration_config_from_dict",
    "data_moments",
    "get_parameter",
    "objective_value",
    "set_parameter",
]


@dataclass
class ParameterSpec:
    """One calibrated parameter.

    Attributes:
        path: dotted path in the run config, e.g. ``population.behaviour.job_loss_prob_monthly``.
        lower: lower bound.
        upper: upper bound (> lower).
        start: starting value, inside the bounds.
        why: what the parameter is meant to match (shown in reports).
    """

    path: str
    lower: float
    upper: float
    start: float
    why: str = ""

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"calibration parameter {self.path}: lower must be < upper")
        if not self.lower <= self.start <= self.upper:
            raise ValueError(f"calibration parameter {self.path}: start must be within the bounds")

    @property
    def key(self) -> str:
        """The last part of the path (the parameter's name in its YAML file)."""
        return self.path.rsplit(".", 1)[-1]


@dataclass
class CalibrationConfig:
    """The calibration set-up (the ``calibration`` section of ``conf/validation/*.yaml``).

    Attributes:
        population: population config name.
        policy: policy config name (``static``).
        overrides: further Hydra overrides (shared with the validation).
        as_of: start month of the fit (the state at its end).
        n_months: months simulated (June and July from May).
        n_borrowers: borrowers in the fitted book.
        seed: the seed of every objective evaluation (common random numbers).
        report_seeds: seeds for the fitted-moments table.
        behaviour_window: months of history for behaviour types (= the population's).
        moments: ``fnmatch`` patterns over statistic names; the matching statistics are
            fitted.
        reported: further patterns: reported beside the fitted moments, not fitted.
        parameters: the calibrated parameters.
        max_evals: budget of objective evaluations.
    """

    population: str = "uci_2005"
    policy: str = "static"
    overrides: list[str] = field(default_factory=list)
    as_of: str = "may"
    n_months: int = 2
    n_borrowers: int = 30_000
    seed: int = 2005
    report_seeds: int = 5
    behaviour_window: int = 2
    moments: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    parameters: list[ParameterSpec] = field(default_factory=list)
    max_evals: int = 300

    def __post_init__(self) -> None:
        self.parameters = [
            p if isinstance(p, ParameterSpec) else ParameterSpec(**p) for p in self.parameters
        ]
        months = months_after(self.as_of, self.n_months)
        if (
            len(months) < self.n_months
            or "august" in months
            or "september" in months
            or "october" in months
        ):
            raise ValueError(
                f"calibration: {self.n_months} months from {self.as_of} reach past July "
                "(August-October are the validation window)"
            )
        if not self.parameters or not self.moments:
            raise ValueError("calibration: needs at least one parameter and one moment pattern")
        if self.max_evals < 1 or self.report_seeds < 1 or self.n_borrowers < 1:
            raise ValueError("calibration: max_evals, report_seeds and n_borrowers must be >= 1")

    @property
    def months(self) -> list[str]:
        """Months of the fitted panel (the start month first)."""
        return [self.as_of, *months_after(self.as_of, self.n_months)]


def calibration_config_from_dict(values: dict[str, Any]) -> CalibrationConfig:
    """Build a :class:`CalibrationConfig` from a parsed ``conf/validation`` file.

    Shared keys (``population``, ``policy``, ``overrides``) come from the top level; the
    ``calibration`` section adds or overrides the rest.

    Raises:
        TypeError: an unknown key in the ``calibration`` section.
        ValueError: a value out of range.
    """
    allowed = {f.name for f in dataclasses.fields(CalibrationConfig)}
    section = dict(values.get("calibration") or {})
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise TypeError(f"calibration: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    merged = {k: v for k, v in values.items() if k in {"population", "policy", "overrides"}}
    merged.update(section)
    return CalibrationConfig(**merged)


def get_parameter(run: RunConfig, path: str) -> float:
    """Read a dotted-path parameter of a run config.

    Raises:
        AttributeError: the path does not exist.
    """
    node: Any = run
    for part in path.split("."):
        node = getattr(node, part)
    return node


def set_parameter(run: RunConfig, path: str, value: float) -> None:
    """Set a dotted-path parameter of a run config in place (ints stay ints).

    Raises:
        AttributeError: the path does not exist.
    """
    *parents, leaf = path.split(".")
    node: Any = run
    for part in parents:
        node = getattr(node, part)
    if not hasattr(node, leaf):
        raise AttributeError(f"run config has no parameter {path!r}")
    current = getattr(node, leaf)
    setattr(
        node,
        leaf,
        int(round(value))
        if isinstance(current, int) and not isinstance(current, bool)
        else float(value),
    )


def _select(stats: pd.DataFrame, patterns: Sequence[str]) -> pd.DataFrame:
    keep = [any(fnmatch.fnmatchcase(s, p) for p in patterns) for s in stats["stat"]]
    return stats[keep]


def data_moments(uci: pd.DataFrame, config: CalibrationConfig) -> pd.DataFrame:
    """The observed moments of the fit window and their weights.

    Returns:
        One row per moment (fitted first, then reported): ``stat``, ``family``,
        ``observed``, ``n``, ``variance``, ``weight`` (1 / variance for fitted moments,
        0 for reported ones) and ``fitted`` (bool).

    Raises:
        ValueError: a pattern matches nothing, or a fitted moment has no positive variance.
    """
    panel = observed_panel(uci, config.months, behaviour_window=config.behaviour_window)
    stats = panel_statistics(panel, uci)
    for pattern in [*config.moments, *config.reported]:
        if not any(fnmatch.fnmatchcase(s, pattern) for s in stats["stat"]):
            raise ValueError(f"calibration: moment pattern {pattern!r} matches no statistic")
    fitted = _select(stats, config.moments).assign(fitted=True)
    reported = _select(stats, config.reported)
    reported = reported[~reported["stat"].isin(fitted["stat"])].assign(fitted=False)
    out = pd.concat([fitted, reported], ignore_index=True).rename(columns={"value": "observed"})
    bad = out["fitted"] & ~(out["variance"] > 0)
    if bad.any():
        names = out.loc[bad, "stat"].tolist()
        raise ValueError(f"calibration: fitted moment(s) without a positive variance: {names}")
    out["weight"] = np.where(
        out["fitted"], 1.0 / out["variance"].where(out["variance"] > 0, 1.0), 0.0
    )
    return out[["stat", "family", "observed", "n", "variance", "weight", "fitted"]]


def objective_value(simulated: pd.Series, moments: pd.DataFrame) -> float:
    """``sum_k w_k (m_k^sim - m_k^data)^2`` over the fitted moments.

    Args:
        simulated: simulated values indexed by ``stat``.
        moments: :func:`data_moments` output.

    Returns:
        The objective (``inf`` if a fitted simulated moment is NaN).
    """
    fitted = moments[moments["fitted"]]
    sim = simulated.reindex(fitted["stat"]).to_numpy(float)
    if not np.all(np.isfinite(sim)):
        return float("inf")
    return float(np.sum(fitted["weight"].to_numpy() * (sim - fitted["observed"].to_numpy()) ** 2))


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes:
        config: the calibration config.
        parameters: ``path``, ``key``, ``lower``, ``upper``, ``start``, ``fitted``, ``why``.
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


def calibrate(
    config: CalibrationConfig,
    uci: pd.DataFrame,
    *,
    scorecard: Scorecard | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CalibrationResult:
    """Fit the parameters by the method of simulated moments (see the module docstring).

    Args:
        config: the calibration set-up.
        uci: the UCI table.
        scorecard: the platform's PD model (the default fit if None).
        progress: called with ``(evaluation, objective)`` after each evaluation.

    Returns:
        The :class:`CalibrationResult`.

    Raises:
        ValueError: the run's behaviour window differs from ``config.behaviour_window``.
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
            "why": [p.why for p in specs],
        }
    )
    columns = ["eval", "objective", *[p.key for p in specs]]
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
        objective_fitted=objective_value(sims[config.seed], moments),
        n_evals=len(trace),
        converged=bool(res.success),
        message=str(res.message),
        trace=pd.DataFrame(trace, columns=columns),
        seconds=time.time() - started,
    )
