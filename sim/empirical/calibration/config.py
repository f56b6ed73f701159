"""The calibration set-up: parameters with bounds, moments, and dotted-path access to a run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sim.config import RunConfig
from sim.empirical.validation import months_after
from sim.empirical.validation.config import check_top_level_keys

__all__ = [
    "MIN_BORROWERS",
    "CalibrationConfig",
    "ParameterSpec",
    "calibration_config_from_dict",
    "check_parameter_values",
    "get_parameter",
    "set_parameter",
]

#: Smallest fitted book (:attr:`CalibrationConfig.n_borrowers`): a smaller one holds too
#: few accounts behind for the moments of arrears.
MIN_BORROWERS = 1000


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
        n_borrowers: borrowers in the fitted book, >= :data:`MIN_BORROWERS`.
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
        for name, least in (
            ("max_evals", 1),
            ("report_seeds", 1),
            ("n_borrowers", MIN_BORROWERS),
        ):
            if getattr(self, name) < least:
                raise ValueError(
                    f"calibration.{name} must be >= {least:,}, got {getattr(self, name)}"
                    + (" (a book that small has no accounts behind)" if least > 1 else "")
                )

    @property
    def months(self) -> list[str]:
        """Months of the fitted panel (the start month first)."""
        return [self.as_of, *months_after(self.as_of, self.n_months)]


def calibration_config_from_dict(values: dict[str, Any]) -> CalibrationConfig:
    """Build a :class:`CalibrationConfig` from a parsed ``conf/validation`` file.

    Shared keys (``population``, ``policy``, ``overrides``) come from the top level; the
    ``calibration`` section adds or overrides the rest.

    Raises:
        ValueError: an unknown key (top level or ``calibration`` section) or a value out
            of range.
    """
    check_top_level_keys(values)
    allowed = {f.name for f in dataclasses.fields(CalibrationConfig)}
    section = dict(values.get("calibration") or {})
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ValueError(f"calibration: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
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


def check_parameter_values(run: RunConfig, specs: list[ParameterSpec]) -> None:
    """Check each parameter's bounds and start against the run config's own schema.

    Each value is set on a copy of ``run`` and the dataclass holding it is rebuilt, so its
    range checks run: a fit can then never write a value that runs refuse.

    Raises:
        ValueError: a bound or start outside the schema's range, naming the parameter.
    """
    import copy

    for spec in specs:
        for label, value in (("lower", spec.lower), ("upper", spec.upper), ("start", spec.start)):
            trial = copy.deepcopy(run)
            set_parameter(trial, spec.path, value)
            node: Any = trial
            for part in spec.path.split(".")[:-1]:
                node = getattr(node, part)
            try:
                dataclasses.replace(node)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"calibration parameter {spec.path}: {label} = {value:g} is outside the "
                    f"run config's range ({exc})"
                ) from None
