"""What the replication experiments run: ``conf/replication/<name>.yaml`` as a checked dataclass.

Every field is checked when the config is built; a bad value raises ``ValueError`` naming
the field (``replication.<field>``) and its allowed range.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "EXPERIMENTS",
    "ReplicationConfig",
    "TargetConfig",
    "load_replication_config",
    "replication_config_from_dict",
]

#: The experiments, in report order: (a) increases, (b) a decrease, (c) the household
#: -75 % cut by prime/subprime, (d) the pre-peak cut of sole traders, (e) sme_aware's tranche.
EXPERIMENTS: tuple[str, ...] = ("increase", "decrease", "household_cut", "prepeak", "sme_aware")

#: Largest number of seeds, borrowers and months the runner accepts.
MAX_SEEDS, MAX_BORROWERS, MAX_MONTHS = 200, 2_000_000, 600


def _check(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low <= value <= high``."""
    kind = int if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = float(value) == float(value)  # not NaN
    if not ok or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} = {value!r} must be {what} in [{low}, {high}]")


@dataclass
class TargetConfig:
    """The issue-17 targets for the increase experiment.

    Attributes:
        raise_fraction: the arm the targets are checked on (one of ``raise_fractions``).
        horizon: months after treatment (one of ``horizons``).
        mpb_low, mpb_high: the band the overall Δdebt/Δlimit must reach (its seed
            interval overlapping it), Gross & Souleles (2002), CALIBRATION.md F1.
        weak_to_strong_min: weakest PD quintile at least this multiple of the strongest
            (Agarwal et al. 2018, F2).
        strongest_max: the strongest PD quintile strictly below this.
    """

    raise_fraction: float = 0.20
    horizon: int = 12
    mpb_low: float = 0.10
    mpb_high: float = 0.14
    weak_to_strong_min: float = 3.0
    strongest_max: float = 0.10

    def __post_init__(self) -> None:
        _check("replication.targets.raise_fraction", self.raise_fraction, 0.0, 10.0)
        _check("replication.targets.horizon", self.horizon, 1, MAX_MONTHS, integer=True)
        _check("replication.targets.mpb_low", self.mpb_low, -10.0, 10.0)
        _check("replication.targets.mpb_high", self.mpb_high, self.mpb_low, 10.0)
        _check("replication.targets.weak_to_strong_min", self.weak_to_strong_min, 0.0, 1e6)
        _check("replication.targets.strongest_max", self.strongest_max, -10.0, 10.0)


@dataclass
class ReplicationConfig:
    """The experiments' design (``conf/replication/default.yaml`` documents each field).

    Attributes:
        name: config name.
        population: population config group (``conf/population/<name>.yaml``).
        overrides: extra run-config overrides (Hydra syntax) applied to every run.
        seeds, first_seed: seeds ``first_seed .. first_seed + seeds - 1``.
        n_borrowers: borrowers per run.
        n_months: window months simulated (after the run config's ``burn_in_months``
            under ``static``); at least ``treatment_month + max(horizons)``.
        treatment_month: the window month whose review changes the limits (1-based:
            ``view.step`` of the policies, the burn-in excluded).
        horizons: months after treatment at which effects are measured, increasing.
        treated_share: share of eligible accounts assigned to treatment, in (0, 1).
        raise_fractions: limit increases of the increase experiment, each in (0, 10].
        cut_fraction: the decrease of the decrease experiment, in (0, 1].
        household_cut_fraction: the household cut, in (0, 1] (CFPB median 0.75).
        subprime_pd_quantile: PD quantile at treatment above which a borrower is subprime.
        utilisation_edges: inner edges of the utilisation bands at treatment, increasing.
        pd_quantiles: number of PD groups at treatment (5: quintiles), 2..20.
        prepeak_cut_fraction: the proportional arm of the pre-peak cut, in (0, 1].
        interval: confidence level of the t interval over seeds, in (0, 1).
        targets: :class:`TargetConfig`.
        experiments: which experiments run (a subset of :data:`EXPERIMENTS`).
    """

    name: str = "default"
    population: str = "jiebei_baseline"
    overrides: list[str] = field(default_factory=list)
    seeds: int = 5
    first_seed: int = 0
    n_borrowers: int = 20_000
    n_months: int = 36
    treatment_month: int = 12
    horizons: list[int] = field(default_factory=lambda: [3, 6, 12, 24])
    treated_share: float = 0.5
    raise_fractions: list[float] = field(default_factory=lambda: [0.10, 0.20, 0.50])
    cut_fraction: float = 0.20
    household_cut_fraction: float = 0.75
    subprime_pd_quantile: float = 0.8
    utilisation_edges: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.9])
    pd_quantiles: int = 5
    prepeak_cut_fraction: float = 0.5
    interval: float = 0.95
    targets: TargetConfig = field(default_factory=TargetConfig)
    experiments: list[str] = field(default_factory=lambda: list(EXPERIMENTS))

    def __post_init__(self) -> None:
        p = "replication."
        if isinstance(self.targets, dict):
            self.targets = _build(TargetConfig, self.targets, "replication.targets")
        _check(p + "seeds", self.seeds, 1, MAX_SEEDS, integer=True)
        _check(p + "first_seed", self.first_seed, 0, 2**32 - 1, integer=True)
        _check(p + "n_borrowers", self.n_borrowers, 10, MAX_BORROWERS, integer=True)
        _check(p + "treatment_month", self.treatment_month, 1, MAX_MONTHS - 1, integer=True)
        if not self.horizons:
            raise ValueError("replication.horizons must list at least one horizon")
        for h in self.horizons:
            _check(p + "horizons[]", h, 1, MAX_MONTHS, integer=True)
        if list(self.horizons) != sorted(set(self.horizons)):
            raise ValueError(f"replication.horizons = {self.horizons} must be increasing")
        need = self.treatment_month + max(self.horizons)
        _check(p + "n_months", self.n_months, need, MAX_MONTHS, integer=True)
        _check(p + "treated_share", self.treated_share, 0.01, 0.99)
        if not self.raise_fractions:
            raise ValueError("replication.raise_fractions must list at least one increase")
        for f in self.raise_fractions:
            _check(p + "raise_fractions[]", f, 0.001, 10.0)
        _check(p + "cut_fraction", self.cut_fraction, 0.001, 1.0)
        _check(p + "household_cut_fraction", self.household_cut_fraction, 0.001, 1.0)
        _check(p + "subprime_pd_quantile", self.subprime_pd_quantile, 0.01, 0.99)
        for e in self.utilisation_edges:
            _check(p + "utilisation_edges[]", e, 0.0, 10.0)
        if list(self.utilisation_edges) != sorted(set(self.utilisation_edges)):
            raise ValueError(
                f"replication.utilisation_edges = {self.utilisation_edges} must be increasing"
            )
        _check(p + "pd_quantiles", self.pd_quantiles, 2, 20, integer=True)
        _check(p + "prepeak_cut_fraction", self.prepeak_cut_fraction, 0.001, 1.0)
        _check(p + "interval", self.interval, 0.5, 0.999)
        unknown = sorted(set(self.experiments) - set(EXPERIMENTS))
        if unknown or not self.experiments:
            raise ValueError(
                f"replication.experiments = {self.experiments}: choose one or more of "
                f"{list(EXPERIMENTS)}"
            )
        if "increase" in self.experiments and not any(
            abs(f - self.targets.raise_fraction) < 1e-12 for f in self.raise_fractions
        ):
            raise ValueError(
                f"replication.targets.raise_fraction = {self.targets.raise_fraction} must be "
                f"one of replication.raise_fractions {self.raise_fractions}"
            )
        if self.targets.horizon not in self.horizons:
            raise ValueError(
                f"replication.targets.horizon = {self.targets.horizon} must be one of "
                f"replication.horizons {self.horizons}"
            )

    @property
    def seed_list(self) -> list[int]:
        """The seeds run, in order."""
        return list(range(self.first_seed, self.first_seed + self.seeds))

    def run_overrides(self, seed: int) -> list[str]:
        """Run-config overrides of one run (the control policy ``static``)."""
        return [
            f"population={self.population}",
            f"population.n_borrowers={self.n_borrowers}",
            f"n_months={self.n_months}",
            f"seed={seed}",
            "policy=static",
            *self.overrides,
        ]


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{prefix}: unknown key(s) {unknown}; allowed: {sorted(names)}")
    return cls(**values)


def replication_config_from_dict(values: dict[str, Any]) -> ReplicationConfig:
    """Build and check a config from a mapping (a parsed YAML file plus any changes).

    Raises:
        ValueError: an unknown key, or a value outside its range (the message names it).
    """
    return _build(ReplicationConfig, dict(values), "replication")


def load_replication_config(path: str | Path, **changes: Any) -> ReplicationConfig:
    """Read ``path`` (YAML), apply ``changes`` (field -> value, None skipped), check it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: see :func:`replication_config_from_dict`.
    """
    values = yaml.safe_load(Path(path).read_text()) or {}
    values.update({k: v for k, v in changes.items() if v is not None})
    return replication_config_from_dict(values)
