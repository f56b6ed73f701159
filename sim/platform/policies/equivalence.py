"""Parametric configs that reproduce other policies' configs (:func:`equivalent_config`).

See :mod:`sim.platform.policies.parametric` for the equivalences and their limits.
"""

from __future__ import annotations

from typing import Any

from sim.platform.policies.base import PolicyConfig
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig
from sim.platform.policies.parametric import DISABLED, ParametricConfig
from sim.platform.policies.pd_threshold import PDThresholdConfig


def equivalent_config(config: PolicyConfig) -> ParametricConfig:
    """The parametric config that reproduces another policy's config.

    Args:
        config: a ``static`` :class:`PolicyConfig`, a :class:`PDThresholdConfig` or a
            :class:`BehaviourRulesConfig` (reproduced only on views without high-risk
            flags; see the module docstring).

    Returns:
        The equivalent :class:`ParametricConfig` (same ``min_limit_cny``/``max_limit_cny``).

    Raises:
        TypeError: no parametric equivalent is known for this policy.
    """
    bounds: dict[str, Any] = {
        "min_limit_cny": config.min_limit_cny,
        "max_limit_cny": config.max_limit_cny,
    }
    if isinstance(config, PDThresholdConfig):
        return ParametricConfig(
            **bounds,
            **DISABLED
            | {
                "pd_cut_above": config.cut_above_pd,
                "pd_raise_below": config.raise_below_pd,
            },
            pd_cut_fraction=config.cut_fraction,
            pd_raise_fraction=config.raise_fraction,
            pd_raise_min_on_time_months=float(config.min_on_time_months_for_raise),
            raise_cooldown_months=config.raise_cooldown_months,
            cut_cooldown_months=config.cut_cooldown_months,
        )
    if isinstance(config, BehaviourRulesConfig):
        return ParametricConfig(
            **bounds,
            **DISABLED
            | {
                "delinquency_dpd": float(config.delinquency_dpd),
                "early_repayment_threshold": float(config.early_repayment_threshold),
                "frequent_draws_threshold": float(config.frequent_draws_threshold),
                "thin_history_months": float(config.thin_history_months),
                "low_diversity_threshold": config.low_diversity_threshold,
                "stable_on_time_months": float(config.stable_on_time_months),
            },
            delinquency_cut=config.delinquency_cut,
            early_repayment_cut=config.early_repayment_cut,
            frequent_draws_cut=config.frequent_draws_cut,
            thin_history_cut=config.thin_history_cut,
            low_diversity_cut=config.low_diversity_cut,
            stable_min_utilisation=config.stable_min_utilisation,
            stable_max_utilisation=config.stable_max_utilisation,
            stable_raise_fraction=config.raise_step,
            raise_cooldown_months=config.raise_cooldown_months,
            cut_cooldown_months=config.cut_cooldown_months,
        )
    if type(config) is PolicyConfig and config.name == "static":
        return ParametricConfig(**bounds, **DISABLED)
    raise TypeError(f"no parametric equivalent of policy {config.name!r}")
