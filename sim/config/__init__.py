"""Structured-config schemas: every option of a run, validated before the run starts.

The dataclasses here are registered in Hydra's ConfigStore (:func:`register_configs`),
so the YAML files in ``conf/`` are merged onto them: an unknown key or a wrong type
fails at compose time with the field's path. Range checks live in ``__post_init__`` and
run when :func:`to_run_config` turns the composed config into these objects, before
any simulation work.

One module per config group of ``conf/``: :mod:`~sim.config.book`, :mod:`~sim.config.population`,
:mod:`~sim.config.platform`, :mod:`~sim.config.scenario`, :mod:`~sim.config.output`,
:mod:`~sim.config.firms`, :mod:`~sim.config.channels` and :mod:`~sim.config.policy`
(policies carry their own schemas); :mod:`~sim.config.run` holds the top-level
:class:`RunConfig` and :mod:`~sim.config.registration` the ConfigStore entries. Every
public name is importable from ``sim.config``. The schemas validate; the default sector
and lender tables are written only in ``conf/firms/default.yaml`` and
``conf/channels/default.yaml`` (so ``firms`` and ``channels`` are required:
:func:`sim.runtime.compose.load_run_config` builds a run config from ``conf/`` without the CLI).

Conventions (all configs): money in CNY; rates are nominal annual fractions (APR)
unless the name ends in ``_monthly``; probabilities are fractions in [0, 1]; one step is
one month.
"""

from __future__ import annotations

from typing import Any

from sim.config import firms as _firms
from sim.config.book import BookConfig
from sim.config.channels import (
    CREDIT_BANDS,
    FUNDING_STEPS,
    LIMIT_BASES,
    ChannelConfig,
    ChannelsConfig,
)
from sim.config.firms import FirmsConfig, SectorConfig
from sim.config.output import OutputConfig
from sim.config.paths import CONF_DIR
from sim.config.platform import PlatformConfig
from sim.config.population import (
    START_STATES,
    STARTING_BOOKS,
    BehaviourConfig,
    PopulationConfig,
)
from sim.config.registration import register_configs
from sim.config.run import RunConfig, to_run_config
from sim.config.scenario import REGIMES, ScenarioConfig, ShockConfig

__all__ = [
    "CONF_DIR",
    "DEFAULT_SECTORS",
    "CREDIT_BANDS",
    "FUNDING_STEPS",
    "LIMIT_BASES",
    "REGIMES",
    "START_STATES",
    "STARTING_BOOKS",
    "BehaviourConfig",
    "BookConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "FirmsConfig",
    "OutputConfig",
    "PlatformConfig",
    "PopulationConfig",
    "RunConfig",
    "ScenarioConfig",
    "SectorConfig",
    "ShockConfig",
    "register_configs",
    "to_run_config",
]


def __getattr__(name: str) -> Any:
    """``DEFAULT_SECTORS``: see :mod:`sim.config.firms` (read from the YAML on first use)."""
    if name == "DEFAULT_SECTORS":
        return _firms.DEFAULT_SECTORS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
