"""What a validation runs and checks: targets, scorecard checks, the validation config.

Read from ``conf/validation/<name>.yaml`` by :func:`validation_config_from_dict`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sim.empirical.validation.panel import _offset, months_after
from sim.platform.scorecard import DEFAULT_SEED

__all__ = [
    "ACCOUNT_AUC_OUTCOMES",
    "check_top_level_keys",
    "reduced_size_note",
    "Explanation",
    "PDCalibrationCheck",
    "ScorecardCheck",
    "TargetSpec",
    "ValidationConfig",
    "validation_config_from_dict",
]

#: Smallest book a validation accepts (:attr:`ValidationConfig.n_borrowers`).
MIN_BORROWERS = 100

#: Outcomes of the account-level AUC check (:attr:`ValidationConfig.account_auc_outcome`).
ACCOUNT_AUC_OUTCOMES: tuple[str, ...] = ("behind", "default")


@dataclass
class TargetSpec:
    """A validation target: statistics matching ``stat`` must be within ``tolerance_pp``.

    Attributes:
        stat: ``fnmatch`` pattern over statistic names (e.g. ``"share august *"``); every
            matching row is a separate check.
        tolerance_pp: largest allowed |simulated mean - observed|, percentage points, > 0;
            None: the matching rows are reported, not checked (the pattern still takes
            them from the later patterns, and ``why`` says why they are not checked).
        why: the reason for the tolerance, or for reporting only (shown in the report).
    """

    stat: str
    tolerance_pp: float | None
    why: str = ""

    def __post_init__(self) -> None:
        if self.tolerance_pp is not None and not self.tolerance_pp > 0:
            raise ValueError(
                f"validation target {self.stat!r}: tolerance_pp must be > 0, or null "
                "(reported, not checked)"
            )


@dataclass
class Explanation:
    """Why a target is missed: shown in the report when one of its checks is missed.

    Attributes:
        stats: ``fnmatch`` patterns over the names of checks (statistic names, and
            ``scorecard auc``, ``scorecard cv auc``, ``scorecard calibration``, ``account
            default auc``, ``pd decile *``, ``pd expected loss``, ``pd tier *``).
        text: the explanation (one paragraph of Markdown).
    """

    stats: list[str]
    text: str


@dataclass
class ScorecardCheck:
    """Hold-out checks of the platform scorecard (:func:`sim.platform.scorecard.fit_scorecard`).

    Attributes:
        holdout_share: fraction of UCI rows held out, in (0, 1).
        seed: seed of the stratified split.
        min_auc: smallest acceptable hold-out AUC.
        calibration_tolerance_pp: largest acceptable |mean predicted PD - observed
            default rate| in any decile of predicted PD, pp.
        cv_folds: folds of the stratified cross-validation reported next to the hold-out
            AUC (0: none), so that one split's luck shows.
        min_cv_auc: smallest acceptable mean cross-validated AUC (None: reported only).
    """

    holdout_share: float = 0.3
    seed: int = DEFAULT_SEED
    min_auc: float = 0.77
    calibration_tolerance_pp: float = 5.0
    cv_folds: int = 0
    min_cv_auc: float | None = None


@dataclass
class PDCalibrationCheck:
    """In-simulator checks of the platform's 12-month PD (issue 17; see pd_calibration).

    The default open book is run for each seed (the default run config: its population,
    burn-in and ``static`` policy); the lines open at the end of window month
    ``score_month`` are followed for ``horizon`` months. The seeds must not be those the
    PD maps were estimated on (``conf/platform/default.yaml``: 100-104, 100-114).

    Attributes:
        seeds: the seeds run (held out from the map's estimation).
        overrides: Hydra overrides of the run config.
        score_month: window month at whose end the lines are scored, >= 1.
        horizon: months of outcome, >= 1.
        rel_tolerance: largest |predicted - realised| / realised default rate in a PD
            decile.
        abs_tolerance_pp: largest |predicted - realised|, pp, where the realised rate is
            under 1 %.
        loss_tolerance: largest |expected loss / realised loss - 1| of the portfolio.
        min_tier_share: smallest share of lines in every APR tier (the spread fills the
            tiers).
        why: the reasons of the tolerances (shown in the report).
    """

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    overrides: list[str] = field(default_factory=list)
    score_month: int = 12
    horizon: int = 12
    rel_tolerance: float = 0.30
    abs_tolerance_pp: float = 0.3
    loss_tolerance: float = 0.25
    min_tier_share: float = 0.001
    why: str = ""

    def __post_init__(self) -> None:
        if not self.seeds or self.score_month < 1 or self.horizon < 1:
            raise ValueError("pd_calibration: needs seeds, score_month >= 1 and horizon >= 1")
        for name in ("rel_tolerance", "abs_tolerance_pp", "loss_tolerance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"pd_calibration.{name} must be > 0")
        if not 0.0 <= self.min_tier_share < 1.0:
            raise ValueError("pd_calibration.min_tier_share must be in [0, 1)")


@dataclass
class ValidationConfig:
    """What :func:`run_validation` runs and checks (``conf/validation/<name>.yaml``).

    Attributes:
        name: calibration name being validated.
        population: population config name (``conf/population/``).
        policy: policy config name; ``static`` (limits did not change in the data window).
        overrides: further Hydra overrides of the run (e.g. product terms of the UCI book).
        as_of: start month (the state of the UCI accounts at its end).
        n_months: months simulated; 3 from July = August, September and the October payment.
        n_borrowers: borrowers per seed (30,000 = the data's size).
        seeds: number of seeds; seeds are ``first_seed .. first_seed + seeds - 1``.
        first_seed: first seed.
        interval: central coverage of the interval over seeds.
        behaviour_window: months of history for the observed panel's behaviour types (must
            equal ``population.behaviour_window_months`` of the run).
        targets: the checks on simulated statistics.
        scorecard: the scorecard checks.
        pd_calibration: the in-simulator PD checks on the default open book (None: not
            run).
        min_account_auc: smallest acceptable account-level AUC (None: not checked).
        account_auc_outcome: the outcome of the account-level AUC check: ``behind`` (the
            accounts' simulated frequency of being behind at the end of the last month
            against their observed status) or ``default`` (of the October default against
            the data's default flag).
        explanations: why known misses happen; the report prints each one whose patterns
            match a missed check.
    """

    name: str = "uci_2005"
    population: str = "uci_2005"
    policy: str = "static"
    overrides: list[str] = field(default_factory=list)
    as_of: str = "july"
    n_months: int = 3
    n_borrowers: int = 30_000
    seeds: int = 10
    first_seed: int = 0
    interval: float = 0.95
    behaviour_window: int = 2
    targets: list[TargetSpec] = field(default_factory=list)
    scorecard: ScorecardCheck = field(default_factory=ScorecardCheck)
    pd_calibration: PDCalibrationCheck | None = None
    min_account_auc: float | None = 0.70
    account_auc_outcome: str = "default"
    explanations: list[Explanation] = field(default_factory=list)

    def __post_init__(self) -> None:
        _offset(self.as_of)
        if self.as_of == "september" or self.n_months < 1:
            raise ValueError("validation: as_of must be before September and n_months >= 1")
        if len(months_after(self.as_of, self.n_months)) < self.n_months:
            raise ValueError(
                f"validation: {self.n_months} months from {self.as_of} go past October"
            )
        if self.n_borrowers < MIN_BORROWERS:
            raise ValueError(
                f"validation.n_borrowers must be >= {MIN_BORROWERS} (a smaller book may hold "
                f"no account behind), got {self.n_borrowers}"
            )
        if self.seeds < 1 or self.first_seed < 0:
            raise ValueError(
                f"validation.seeds must be >= 1 and first_seed >= 0, got {self.seeds} and "
                f"{self.first_seed}"
            )
        if self.account_auc_outcome not in ACCOUNT_AUC_OUTCOMES:
            raise ValueError(
                f"validation.account_auc_outcome must be one of {list(ACCOUNT_AUC_OUTCOMES)}, "
                f"got {self.account_auc_outcome!r}"
            )
        if not 0.0 < self.interval < 1.0:
            raise ValueError(f"validation.interval must be in (0, 1), got {self.interval}")
        self.targets = [t if isinstance(t, TargetSpec) else TargetSpec(**t) for t in self.targets]
        self.explanations = [
            e if isinstance(e, Explanation) else Explanation(**e) for e in self.explanations
        ]
        if isinstance(self.scorecard, dict):
            self.scorecard = ScorecardCheck(**self.scorecard)
        if isinstance(self.pd_calibration, dict):
            self.pd_calibration = PDCalibrationCheck(**self.pd_calibration)

    @property
    def seed_list(self) -> list[int]:
        """The seeds run."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


def reduced_size_note(config: ValidationConfig, configured: ValidationConfig) -> str:
    """Why a verdict at a smaller size than the configured one means little, or "".

    The tolerances are set for the configured book (the data's 30,000 accounts x 10
    seeds): with fewer borrowers or seeds the simulated means carry more sampling noise,
    so targets can be missed by noise alone.

    Args:
        config: the config run (e.g. with ``--n-borrowers`` / ``--seeds`` applied).
        configured: the config as its file sets it.

    Returns:
        One sentence naming the smaller sizes; "" when neither is smaller.
    """
    smaller = []
    if config.n_borrowers < configured.n_borrowers:
        smaller.append(
            f"{config.n_borrowers:,} borrowers per seed (configured {configured.n_borrowers:,})"
        )
    if config.seeds < configured.seeds:
        smaller.append(f"{config.seeds} seed(s) (configured {configured.seeds})")
    if not smaller:
        return ""
    return (
        f"Run at a smaller size than the targets are set for: {' and '.join(smaller)}. "
        "Misses at this size are expected sampling noise; the verdict is only meaningful "
        "at the configured size."
    )


def check_top_level_keys(values: dict[str, Any]) -> None:
    """Refuse a ``conf/validation`` file with a top-level key no reader knows.

    Allowed: the :class:`ValidationConfig` fields and the ``validation`` and
    ``calibration`` sections (a misspelt ``overrides`` would otherwise drop the run's
    product terms silently).

    Raises:
        ValueError: an unknown top-level key, named with the allowed ones.
    """
    allowed = {f.name for f in dataclasses.fields(ValidationConfig)} | {
        "validation",
        "calibration",
    }
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(
            f"validation config: unknown top-level key(s) {unknown}; allowed: {sorted(allowed)}"
        )


def validation_config_from_dict(values: dict[str, Any]) -> ValidationConfig:
    """Build a :class:`ValidationConfig` from a plain mapping (a parsed YAML file).

    The file may hold other sections (``calibration``); the keys of
    :class:`ValidationConfig` are read from the top level and from a ``validation``
    section, which wins.

    Raises:
        ValueError: an unknown key (top level or ``validation`` section) or a value out
            of range.
    """
    check_top_level_keys(values)
    allowed = {f.name for f in dataclasses.fields(ValidationConfig)}
    section = dict(values.get("validation") or {})
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ValueError(f"validation: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    merged = {k: v for k, v in values.items() if k in allowed}
    merged.update(section)
    return ValidationConfig(**merged)
