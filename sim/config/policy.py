"""The ``policy`` group (``conf/policy/*.yaml``): validated by each policy's own schema.

A run keeps its policy options as a plain mapping (:attr:`sim.config.RunConfig.policy`);
the schema of policy ``<name>`` is the ``config_class`` of its class in
:mod:`sim.platform.policies` (a :class:`sim.platform.policies.base.PolicyConfig`
dataclass), registered in
Hydra's ConfigStore as ``policy/<name>_schema``.
"""

from __future__ import annotations

from typing import Any


def check_policy(policy: Any) -> None:
    """Build the policy once, so that a bad policy option fails at config time.

    Args:
        policy: the policy config mapping (``name`` plus the policy's options).

    Raises:
        TypeError: an unknown option.
        ValueError: an option outside its allowed range.
        KeyError: an unknown policy name.
    """
    from sim.platform.policies import build_policy

    build_policy(policy)


def store_policy_schemas(cs: Any) -> None:
    """Store ``policy/<name>_schema`` for every registered policy in ConfigStore ``cs``."""
    from sim.platform.policies import policy_class, policy_names

    for name in policy_names():
        cs.store(group="policy", name=f"{name}_schema", node=policy_class(name).config_class)
