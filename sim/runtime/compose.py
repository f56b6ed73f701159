"""Compose a run config from ``conf/`` in Python (Hydra's compose API), for notebooks and tests.

Hydra reads and merges every YAML file of the config folder on each composition (about
0.3 s here); the experiments, notebooks and tests compose the same overrides again and
again. :func:`compose_config` therefore keeps its last :data:`CACHE_SIZE` compositions,
keyed by the overrides and by every file of the config folder (name and a digest of its
bytes): an edited file composes afresh. Each call returns its own copy.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig

from sim.config import CONF_DIR, RunConfig, register_configs, to_run_config
from sim.interrupts import interrupt_behind
from sim.runtime.errors import ComposeError, config_error
from sim.runtime.override_checks import OverrideError, bool_problem
from sim.runtime.override_checks import check_overrides as _check_overrides

#: Compositions kept by :func:`compose_config` (the least recently used is dropped first;
#: about 0.4 MiB each).
CACHE_SIZE = 32
_composed: OrderedDict[tuple, DictConfig] = OrderedDict()


def _folder_key(folder: Path) -> tuple:
    """Every file under ``folder``: relative name and a digest of its bytes.

    The bytes, not the modification time: a copy that keeps the times (``cp -p``,
    ``rsync -t``) changes a file without changing them. The config folder is small (about
    80 kB; well under a millisecond).
    """
    entries = []
    for path in folder.rglob("*"):
        if path.is_file():
            digest = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
            entries.append((str(path.relative_to(folder)), digest))
    return tuple(sorted(entries))


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
        TypeError: ``overrides`` is one string, not a list of them.
        FileNotFoundError: the config folder does not exist.
        sim.runtime.errors.ComposeError: (a ``hydra.errors.ConfigCompositionException``)
            an unknown key or group option, or a value of the wrong type, as the command
            line says it (``invalid config: population.n_borrower does not exist; did you
            mean population.n_borrowers?``).
        sim.runtime.override_checks.OverrideError: (a ValueError) a refused override,
            with ``check_overrides``.
    """
    if isinstance(overrides, str | bytes):
        raise TypeError(
            f"overrides: a list of override strings, e.g. [{str(overrides)!r}], not one string"
        )
    lines = list(overrides)  # once: an iterator is read here only
    folder = Path(config_dir) if config_dir is not None else CONF_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"config folder not found: {folder}")
    key = (str(folder.resolve()), _folder_key(folder), tuple(lines), check_overrides)
    if key in _composed:
        _composed.move_to_end(key)
        return copy.deepcopy(_composed[key])
    cfg = _compose(folder, lines, check_overrides)
    _composed[key] = copy.deepcopy(cfg)
    while len(_composed) > CACHE_SIZE:
        _composed.popitem(last=False)
    return cfg


def _compose(folder: Path, overrides: list[str], check_overrides: bool) -> DictConfig:
    """Hydra's composition of :func:`compose_config` (no cache).

    Called inside the caller's own ``hydra.initialize_config_dir`` (or ``initialize``)
    block, Hydra's global state is the caller's: it is set aside for the composition and
    put back after, where Hydra refused ("GlobalHydra is already initialized").
    """
    register_configs()
    theirs = GlobalHydra.instance()
    if not theirs.is_initialized():
        return _compose_here(folder, overrides, check_overrides)
    saved = theirs.hydra
    theirs.clear()
    try:
        return _compose_here(folder, overrides, check_overrides)
    finally:
        ours = GlobalHydra.instance()  # Hydra restores its state as a copy on leaving
        ours.clear()
        ours.initialize(saved)


def _compose_here(folder: Path, overrides: list[str], check_overrides: bool) -> DictConfig:
    with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
        if not check_overrides:
            return _hydra_compose(overrides)
        loader = GlobalHydra.instance().config_loader()
        parsed = OverridesParser.create(config_loader=loader).parse_overrides(overrides)
        _check_overrides(parsed, loader)
        cfg = _hydra_compose(overrides)
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
        sim.runtime.errors.ComposeError: (a ``hydra.errors.ConfigCompositionException``)
            an unknown key or group option, or a value of the wrong type.
    """
    return to_run_config(compose_config(overrides, config_dir, check_overrides=True))


def _hydra_compose(overrides: list[str]) -> DictConfig:
    """Hydra's ``compose``; its errors as :class:`sim.runtime.errors.ComposeError`."""
    try:
        return compose(config_name="config", overrides=overrides)
    except HydraException as err:
        if interrupt_behind(err) is not None:
            raise
        raise ComposeError(str(config_error(err))) from err
