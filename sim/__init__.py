"""LimitLab: an agent-based simulator of an online credit platform's portfolio.

The import package is ``sim``; the distribution is ``limitlab``. The public API::

    from sim import CreditMarketModel, load_run_config            # run a model
    from sim import LimitPolicy, PolicyConfig, LimitDecision, PortfolioView
    from sim import ReasonCode, finish, register_policy           # write a policy
    from sim import BorrowerState, build_world, World, Month, STAGES

Names are imported on first use, so ``import sim`` stays light.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# Idle threads of the compiled kernels' OpenMP pool sleep rather than spin, so they do not
# take the core the next NumPy pass needs (set before any OpenMP runtime loads; a value
# already in the environment wins). See docs/performance.md.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("limitlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "CreditMarketModel": "sim.model",
    "STAGES": "sim.model",
    "load_run_config": "sim.runtime.compose",
    "simulate": "sim.runtime.runner",
    "LimitPolicy": "sim.platform.policies.base",
    "PolicyConfig": "sim.platform.policies.base",
    "LimitDecision": "sim.platform.policies.base",
    "PortfolioView": "sim.platform.policies.base",
    "ReasonCode": "sim.platform.policies.reasons",
    "register_policy": "sim.platform.policies.registry",
    "finish": "sim.platform.policies.common",
    "BorrowerState": "sim.world.borrowers",
    "build_world": "sim.build",
    "World": "sim.month",
    "Month": "sim.month",
    "RunConfig": "sim.config",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
