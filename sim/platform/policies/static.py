"""The ``static`` policy: limits never change (the control arm of every comparison)."""

from __future__ import annotations

import numpy as np

from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.registry import register_policy


@register_policy
class StaticPolicy(LimitPolicy):
    """Keep every limit as it is; lines still close at default (done by the platform)."""

    name = "static"
    config_class = PolicyConfig

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Return the current limits unchanged."""
        return LimitDecision.unchanged(view)
