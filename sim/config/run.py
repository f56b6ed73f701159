"""The top-level run config (``conf/config.yaml``) and its validation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config._checks import _from_dict, _rng_check
from sim.config.book import BookConfig
from sim.config.channels import ChannelsConfig
from sim.config.firms import FirmsConfig
from sim.config.output import OutputConfig
from sim.config.platform import PlatformConfig
from sim.config.policy import check_policy
from sim.config.population import PopulationConfig
from sim.config.scenario import ScenarioConfig


@dataclass
class RunConfig:
    """One simulation run: population x platform x policy x scenario under one seed.

    Attributes:
        seed: root seed of the run's ``SeedSequence``, integer >= 0.
        n_months: months of the comparison window, >= 1 (what every table, summary
            and report covers).
        burn_in_months: months simulated before the window, >= 0, under the ``static``
            policy for every run (so every policy under one seed starts its window from
            the same book); the policy under study makes its first review at the end of
            the window's first month.
        book: originations, attrition and firm entry (:class:`sim.config.BookConfig`).
        population, platform, scenario, output, firms, channels: see their classes;
            ``firms`` and ``channels`` are required (their sector and lender tables have
            no schema default: build a run from ``conf/`` with
            :func:`sim.runtime.compose.load_run_config`).
        policy: the policy config mapping (validated by the policy's own dataclass).
    """

    seed: int = 0
    n_months: int = 36
    burn_in_months: int = 24
    population: PopulationConfig = field(default_factory=PopulationConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: Any = field(default_factory=lambda: {"name": "static"})
    output: OutputConfig = field(default_factory=OutputConfig)
    firms: FirmsConfig = field(kw_only=True)
    channels: ChannelsConfig = field(kw_only=True)
    book: BookConfig = field(default_factory=BookConfig)

    def __post_init__(self) -> None:
        _rng_check(
            self,
            "",
            {"seed": (0, 2**63 - 1), "n_months": (1, 100_000), "burn_in_months": (0, 100_000)},
        )
        for name, cls in (
            ("population", PopulationConfig),
            ("platform", PlatformConfig),
            ("scenario", ScenarioConfig),
            ("output", OutputConfig),
            ("firms", FirmsConfig),
            ("channels", ChannelsConfig),
            ("book", BookConfig),
        ):
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, _from_dict(cls, value, name))


#: Top-level keys of ``conf/config.yaml`` that steer the command line, not the run.
RUN_ONLY_KEYS = frozenset({"resume", "share_burn_in", "experiment_name"})


def check_experiment_name(name: Any) -> None:
    r"""Refuse an ``experiment_name`` that is not a plain folder name.

    It names the folder of the runs (``outputs/<experiment_name>/``,
    ``multirun/<experiment_name>/``), so it must stay one folder inside them.

    Args:
        name: the value of ``experiment_name``.

    Raises:
        ValueError: empty, ``.`` or ``..``, or holding a path separator (``/``, ``\``).
    """
    text = str(name) if name is not None else ""
    if text.strip() in ("", ".", "..") or "/" in text or "\\" in text or "\0" in text:
        raise ValueError(
            f"experiment_name = {text!r} is not a plain folder name: give a name without "
            "'/' or '\\' (not empty, '.' or '..'); the runs are written to "
            "outputs/<experiment_name>/ (multirun/<experiment_name>/ for a sweep)"
        )


def to_run_config(cfg: DictConfig | dict[str, Any]) -> RunConfig:
    """Validate a composed config and return it as :class:`RunConfig`.

    Also builds the policy once, so that a bad policy option fails here too.

    Args:
        cfg: the Hydra-composed config (or a plain nested dict).

    Returns:
        The validated run config; ``policy`` stays a plain dict.

    Raises:
        TypeError: an unknown key, or a missing group or table without a schema default.
        ValueError: a value outside its allowed range (the message names the field), or
            an ``experiment_name`` that is not a plain folder name.
        KeyError: an unknown policy name.
    """
    if isinstance(cfg, DictConfig):
        values = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    else:
        values = dict(cfg)
    assert isinstance(values, dict)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - fields - RUN_ONLY_KEYS)
    if unknown:
        raise TypeError(
            f"run config: unknown key(s) {unknown}; the top-level keys are "
            f"{sorted(fields | RUN_ONLY_KEYS)}"
        )
    if "experiment_name" in values:
        check_experiment_name(values["experiment_name"])
    values = {k: v for k, v in values.items() if k in fields}
    run = _from_dict(RunConfig, values, "run config")
    check_policy(run.policy)
    return run
