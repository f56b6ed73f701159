"""Registration of the schemas in Hydra's ConfigStore, and the top-level composition schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.config.book import BookConfig
from sim.config.channels import ChannelsConfig
from sim.config.firms import FirmsConfig
from sim.config.output import OutputConfig
from sim.config.platform import PlatformConfig
from sim.config.policy import store_policy_schemas
from sim.config.population import PopulationConfig
from sim.config.scenario import ScenarioConfig


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (idempotent).

    Names: ``run_schema`` (top level), ``population/population_schema``,
    ``platform/platform_schema``, ``scenario/scenario_schema``, ``output/output_schema``,
    ``firms/firms_schema``, ``channels/channels_schema``, ``book/book_schema``, and
    ``policy/<name>_schema`` for every registered policy; and ``hydra/sweeper/limitlab``
    (``hydra_plugins/limitlab_sweeper``: Hydra's basic sweeper that does not compose again
    the jobs :func:`sim.runtime.preflight.preflight` validated; ``experiments.run`` picks
    it for the sweeps preflight checked, :func:`sim.runtime.validated_jobs.sweeper_override`).
    """
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=_HydraRunSchema)
    cs.store(group="population", name="population_schema", node=PopulationConfig)
    cs.store(group="platform", name="platform_schema", node=PlatformConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="output", name="output_schema", node=OutputConfig)
    cs.store(group="firms", name="firms_schema", node=FirmsConfig)
    cs.store(group="channels", name="channels_schema", node=ChannelsConfig)
    cs.store(group="book", name="book_schema", node=BookConfig)
    store_policy_schemas(cs)
    cs.store(group="hydra/sweeper", name="limitlab", node=LimitLabSweeperConf, provider="limitlab")


#: The sweeper class of ``hydra/sweeper=limitlab`` (Hydra loads plugins from ``hydra_plugins``).
LIMITLAB_SWEEPER = "hydra_plugins.limitlab_sweeper.limitlab_sweeper.LimitLabSweeper"


@dataclass
class LimitLabSweeperConf:
    """Settings of ``hydra/sweeper=limitlab``: those of Hydra's basic sweeper."""

    _target_: str = LIMITLAB_SWEEPER
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


@dataclass
class _HydraRunSchema:
    """Top-level schema for composition (groups are typed by their own schemas)."""

    seed: int = 0
    n_months: int = 36
    burn_in_months: int = 24
    population: Any = None
    platform: Any = None
    scenario: Any = None
    policy: Any = None
    output: Any = None
    firms: Any = None
    channels: Any = None
    book: Any = None
    resume: bool = False
    share_burn_in: bool = True
    experiment_name: str = "default"
