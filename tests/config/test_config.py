"""The config package: its public names, and the sector and lender tables written only in conf/."""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest
import yaml
from omegaconf import OmegaConf

import sim.config
from sim.config import ChannelsConfig, FirmsConfig, RunConfig, to_run_config
from sim.runtime.compose import CONF_DIR, load_run_config

PUBLIC = (
    "CONF_DIR",
    "CREDIT_BANDS",
    "DEFAULT_SECTORS",
    "FUNDING_STEPS",
    "LIMIT_BASES",
    "REGIMES",
    "START_STATES",
    "STARTING_BOOKS",
    "BehaviourConfig",
    "BookConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "FirmsConfig",
    "OutputConfig",
    "PlatformConfig",
    "PopulationConfig",
    "RunConfig",
    "ScenarioConfig",
    "SectorConfig",
    "ShockConfig",
    "register_configs",
    "to_run_config",
)


def load_yaml(group: str) -> dict:
    raw = yaml.safe_load((CONF_DIR / group / "default.yaml").read_text())
    raw.pop("defaults")
    return raw


def test_every_public_name_is_importable_from_the_package():
    assert sorted(sim.config.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(sim.config, name) is not None, name
    with pytest.raises(AttributeError):
        _ = sim.config.NO_SUCH_NAME


def test_default_sectors_are_the_keys_of_the_firms_yaml():
    from sim.config import DEFAULT_SECTORS

    assert tuple(load_yaml("firms")["sectors"]) == DEFAULT_SECTORS


@pytest.mark.parametrize(("group", "table"), [("firms", "sectors"), ("channels", "lenders")])
def test_the_yaml_is_the_whole_config_of_its_group(group: str, table: str):
    # Every row states every field, and the schema adds nothing to the YAML.
    raw = load_yaml(group)
    run = load_run_config()
    assert dataclasses.asdict(getattr(run, group)) == raw
    assert list(getattr(getattr(run, group), table)) == list(raw[table])  # same row order


def test_the_sector_and_lender_tables_have_no_schema_default():
    assert OmegaConf.is_missing(OmegaConf.structured(FirmsConfig), "sectors")
    channels = OmegaConf.structured(ChannelsConfig)
    assert OmegaConf.is_missing(channels, "lenders") and OmegaConf.is_missing(channels, "order")
    with pytest.raises(TypeError, match="sectors"):
        FirmsConfig()
    with pytest.raises(TypeError, match="order.*lenders"):
        ChannelsConfig()
    with pytest.raises(TypeError, match="firms.*channels"):
        RunConfig()
    with pytest.raises(TypeError, match=r"run config: missing key\(s\) \['channels', 'firms'\]"):
        to_run_config({"seed": 1})
    with pytest.raises(TypeError, match=r"firms: missing key\(s\) \['sectors'\]"):
        to_run_config({"firms": {"owner_share": 0.2}, "channels": {}})


def test_a_yaml_table_replaces_the_whole_table(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    keep = {"firms": ("retail", "manufacturing_wholesale"), "channels": ("credit_card", "informal")}
    for group, table in (("firms", "sectors"), ("channels", "lenders")):
        path = conf / group / "default.yaml"
        raw = yaml.safe_load(path.read_text())
        raw[table] = {name: raw[table][name] for name in keep[group]}
        if group == "channels":
            raw["order"] = ["own_cash", "platform", *keep[group]]
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    run = load_run_config(config_dir=conf)
    assert tuple(run.firms.sectors) == keep["firms"]
    assert tuple(run.channels.lenders) == keep["channels"]


@pytest.mark.parametrize(
    ("override", "name"),
    [
        (
            "channels.lenders.credit_card.monthly_capacity_per_borrower_cny=-1.0",
            "channels.lenders.credit_card.monthly_capacity_per_borrower_cny",
        ),
        ("policy.min_firm_age_months=-1", "policy.min_firm_age_months"),
        ("policy.tranche_need_share=11.0", "policy.tranche_need_share"),
        ("policy.max_tranche_income_months=-0.5", "policy.max_tranche_income_months"),
    ],
)
def test_capacity_and_tranche_options_fail_naming_the_field(override: str, name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(name)):
        load_run_config(["policy=sme_aware", override])


def test_capacity_accepts_null_and_a_number() -> None:
    key = "channels.lenders.informal.monthly_capacity_per_borrower_cny"
    assert (
        load_run_config([f"{key}=null"])
        .channels.lenders["informal"]
        .monthly_capacity_per_borrower_cny
        is None
    )
    cfg = load_run_config([f"{key}=15.0"])
    assert cfg.channels.lenders["informal"].monthly_capacity_per_borrower_cny == 15.0


def test_an_empty_formats_list_is_refused_before_the_run():
    # It used to pass and fail only when the run's figure was saved, after the simulation.
    with pytest.raises(ValueError, match=r"output.formats = \[\] names no figure format"):
        load_run_config(["output.formats=[]"])
    assert load_run_config(["output.formats=[svg,pdf]"]).output.formats == ["svg", "pdf"]
