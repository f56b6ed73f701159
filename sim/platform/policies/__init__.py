"""Limit policies: one module per policy, one shared interface, a registry.

Importing this package registers every built-in policy. To add a policy, write a module
here with a ``@register_policy`` class and a ``conf/policy/<name>.yaml`` (see
``docs/adding-a-policy.md``), and import the module below.
"""

from sim.platform.policies import (  # noqa: F401  (registration)
    behaviour_rules,
    champion_challenger,
    counter_cyclical,
    exposure_cap,
    parametric,
    pd_threshold,
    sme_aware,
    static,
    utilisation_cli,
)
from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.reasons import RAISE_REASONS, ReasonCode
from sim.platform.policies.registry import (
    build_config,
    build_policy,
    policy_class,
    policy_names,
    register_policy,
)

__all__ = [
    "RAISE_REASONS",
    "LimitDecision",
    "LimitPolicy",
    "PolicyConfig",
    "PortfolioView",
    "ReasonCode",
    "build_config",
    "build_policy",
    "policy_class",
    "policy_names",
    "register_policy",
]
