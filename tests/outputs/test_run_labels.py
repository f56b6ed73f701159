"""Every run is labelled with the policy that actually ran, not the config's policy name."""

from __future__ import annotations

import pytest

from sim.model import CreditMarketModel
from sim.outputs.tables import policy_label
from sim.platform.policies import build_policy
from sim.platform.policies.static import StaticPolicy
from tests.conftest import make_run


class CapEverything(StaticPolicy):
    """A custom subclass that keeps the registered name it inherits ("static")."""


class OwnName(StaticPolicy):
    name = "my_rule"  # not registered


class NoName:
    pass


def test_policy_label_names_the_class_of_a_custom_object():
    run = make_run("policy=behaviour_rules")
    assert policy_label(build_policy(run.policy)) == "behaviour_rules"
    config = StaticPolicy.config_class()
    assert policy_label(StaticPolicy(config)) == "static"
    assert policy_label(CapEverything(config)) == "static (CapEverything)"
    assert policy_label(OwnName(config)) == "my_rule (OwnName)"
    assert policy_label(NoName()) == "NoName"


def test_a_custom_policy_run_is_labelled_with_its_class_in_every_table():
    run = make_run("policy=behaviour_rules", "population.n_borrowers=300", "n_months=2")
    custom = CapEverything(StaticPolicy.config_class())
    with CreditMarketModel(run, policy=custom) as model:
        model.run()
        summary = model.tables("r")["summary"]
    assert summary["policy"].tolist() == ["static (CapEverything)"]
    assert summary["policy_class"].iloc[0].endswith("test_run_labels.CapEverything")
    with pytest.raises(RuntimeError, match=r"policy 'static \(CapEverything\)'"):
        model.step()
    with CreditMarketModel(run) as model:
        model.run()
        summary = model.tables("r")["summary"]
    assert summary["policy"].tolist() == ["behaviour_rules"]
    assert summary["policy_class"].iloc[0] == (
        "sim.platform.policies.behaviour_rules.BehaviourRulesPolicy"
    )
