"""Compose a run config from ``conf/`` in Python (Hydra's compose API), for notebooks and tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from sim.config import CONF_DIR, RunConfig, register_configs, to_run_config
from sim.runtime.override_checks import OverrideError, bool_problem
from sim.runtime.override_checks import check_overrides as _check_overrides


def compose_config(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    *,
    check_overrides: bool = False,
) -> DictConfig:
    """Compose ``conf/config.yaml`` with command-line style ``overrides``.

    Args:
        overrides: e.g. ``["policy=static", "population.n_borrowers=5000"]``.
        config_dir: the config folder; ``conf/`` of the checkout by default.
        check_overrides: first refuse the overrides the command line refuses
            (:func:`sim.runtime.override_checks.check_overrides`: deletions, labels,
            ``*_schema`` choices), then a true/false field given another value
            (:func:`sim.runtime.override_checks.bool_problem`).

    Returns:
        The composed (unvalidated) config.

    Raises:
        FileNotFoundError: the config folder does not exist.
        hydra.errors.ConfigCompositionException: an unknown key or group option.
        sim.runtime.override_checks.OverrideError: (a ValueError) a refused override,
            with ``check_overrides``.
    """
    folder = Path(config_dir) if config_dir is not None else CONF_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"config folder not found: {folder}")
    register_configs()
    with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
        if not check_overrides:
            return compose(config_name="config", overrides=list(overrides))
        loader = GlobalHydra.instance().config_loader()
        parsed = OverridesParser.create(config_loader=loader).parse_overrides(list(overrides))
        _check_overrides(parsed, loader)
        cfg = compose(config_name="config", overrides=list(overrides))
        problem = bool_problem(parsed, cfg)
        if problem:
            raise OverrideError(problem)
        return cfg


def load_run_config(
    overrides: Sequence[str] = (), config_dir: str | Path | None = None
) -> RunConfig:
    """Compose and validate: the :class:`RunConfig` a CLI run with these overrides would use.

    Raises:
        ValueError: a value outside its range, or an override the command line refuses
            (``~seed``, ``population.name=...``, ``policy=static_schema``; one line).
        TypeError, KeyError: see :func:`sim.config.to_run_config`.
        hydra.errors.ConfigCompositionException: an unknown key or group option.
    """
    return to_run_config(compose_config(overrides, config_dir, check_overrides=True))
