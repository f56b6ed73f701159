"""Job configs composed once per choice of groups equal Hydra's composition of each job."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.config import CONF_DIR, register_configs
from sim.runtime.job_configs import JobComposer

JOBS = [
    ["policy=static", "seed=0", "population.n_borrowers=20000", "n_months=36"],
    ["policy=static", "seed=4", "population.n_borrowers=20000", "n_months=36"],
    ["policy=pd_threshold", "seed=1", "policy.cut_above_pd=0.08", "n_months=12"],
    ["policy=pd_threshold", "seed=2", "policy.cut_above_pd=0.1", "n_months=12"],
    ["scenario=downturn", "seed=3", "platform.over_limit_tolerance=0.05"],
    ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=7", "resume=true"],
    ["experiment_name=x y", "output.plots=false", "seed=1"],
    ["population=uci_2005", "seed=0", "burn_in_months=0"],
    # Composed by Hydra in full: an add, a list, a delete, a group without a value change.
    ["+population.extra=1", "seed=0"],
    ["seed=0", "scenario=baseline"],
    ["~burn_in_months", "seed=0"],
]
BAD = [
    ["seed=abc"],
    ["population.no_such_key=1", "seed=0"],
    ["policy=static", "policy.cut_above_pd=0.08", "seed=1"],
    ["n_months=[1,2]"],
]


@pytest.fixture(scope="module")
def hydra_ready():
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        yield JobComposer(OverridesParser.create(config_loader=loader), loader, "config")


@pytest.mark.parametrize("job", JOBS, ids=[" ".join(j) for j in JOBS])
def test_a_job_config_equals_hydras(hydra_ready: JobComposer, job: list[str]) -> None:
    try:
        expected = compose(config_name="config", overrides=job)
    except (HydraException, OmegaConfBaseException) as err:
        with pytest.raises(type(err)):
            hydra_ready.compose(job)
        return
    got = hydra_ready.compose(job)
    assert OmegaConf.to_yaml(got) == OmegaConf.to_yaml(expected)
    assert OmegaConf.is_struct(got) == OmegaConf.is_struct(expected)
    assert OmegaConf.is_readonly(got) == OmegaConf.is_readonly(expected)


@pytest.mark.parametrize("job", BAD, ids=[" ".join(j) for j in BAD])
def test_a_bad_job_raises_hydras_error(hydra_ready: JobComposer, job: list[str]) -> None:
    with pytest.raises((HydraException, OmegaConfBaseException)) as hydra_error:
        compose(config_name="config", overrides=job)
    with pytest.raises(type(hydra_error.value)) as ours:
        hydra_ready.compose(job)
    assert str(ours.value) == str(hydra_error.value)


def test_jobs_differing_in_values_share_one_composition(hydra_ready: JobComposer) -> None:
    loader = GlobalHydra.instance().config_loader()
    composer = JobComposer(OverridesParser.create(config_loader=loader), loader, "config")
    configs = [
        composer.compose([f"policy={p}", f"seed={s}", "n_months=36"])
        for p in ("static", "pd_threshold")
        for s in range(3)
    ]
    assert len(composer._bases) == 2
    assert [c.seed for c in configs] == [0, 1, 2, 0, 1, 2]
    assert [c.policy.name for c in configs] == ["static"] * 3 + ["pd_threshold"] * 3
    # Each job has its own copy: a change to one leaves the others alone.
    configs[0].n_months = 5
    assert configs[1].n_months == 36
