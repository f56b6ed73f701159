"""Compose a run config from ``conf/`` in Python (Hydra's compose API), for notebooks and tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from sim.config import CONF_DIR, RunConfig, register_configs, to_run_config


def compose_config(
    overrides: Sequence[str] = (), config_dir: str | Path | None = None
) -> DictConfig:
    """Compose ``conf/config.yaml`` with command-line style ``overrides``.

    Args:
        overrides: e.g. ``["policy=static", "population.n_borrowers=5000"]``.
        config_dir: the config folder; ``conf/`` of the checkout by default.

    Returns:
        The composed (unvalidated) config.

    Raises:
        FileNotFoundError: the config folder does not exist.
        hydra.errors.ConfigCompositionException: an unknown key or group option.
    """
    folder = Path(config_dir) if config_dir is not None else CONF_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"config folder not found: {folder}")
    register_configs()
    with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def load_run_config(
    overrides: Sequence[str] = (), config_dir: str | Path | None = None
) -> RunConfig:
    """Compose and validate: the :class:`RunConfig` a CLI run with these overrides would use."""
    return to_run_config(compose_config(overrides, config_dir))
