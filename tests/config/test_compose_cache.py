"""compose_config keeps its compositions: the same config as Hydra's, its own copy each
call, and an edited config file composes afresh."""

from __future__ import annotations

import os
import shutil

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.config import CONF_DIR, register_configs
from sim.runtime import compose as composing
from sim.runtime.compose import compose_config, load_run_config
from sim.runtime.override_checks import OverrideError

OVERRIDES = ["population.n_borrowers=700", "policy=behaviour_rules", "seed=5"]


def hydras(folder, overrides):
    register_configs()
    with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


@pytest.fixture
def conf(tmp_path):
    folder = tmp_path / "conf"
    shutil.copytree(CONF_DIR, folder)
    return folder


def test_a_kept_composition_is_hydras_and_each_call_gets_its_own_copy(conf):
    first = compose_config(OVERRIDES, conf)
    again = compose_config(OVERRIDES, conf)
    expected = OmegaConf.to_container(hydras(conf, OVERRIDES), resolve=True)
    assert OmegaConf.to_container(first, resolve=True) == expected
    assert OmegaConf.to_container(again, resolve=True) == expected
    assert again is not first
    again.seed = 99
    assert compose_config(OVERRIDES, conf).seed == 5
    assert first.seed == 5
    assert type(again) is type(first) and OmegaConf.is_struct(again) == OmegaConf.is_struct(first)


def test_an_edited_file_composes_afresh(conf):
    assert load_run_config(["seed=1"], conf).population.n_borrowers == 20_000
    path = conf / "population" / "jiebei_baseline.yaml"
    text = path.read_text()
    assert "n_borrowers: 20000" in text
    path.write_text(text.replace("n_borrowers: 20000", "n_borrowers: 1234"))
    assert load_run_config(["seed=1"], conf).population.n_borrowers == 1234
    # Same size, same name, the modification time kept (as `cp -p` or `rsync -t` copy).
    info = path.stat()
    path.write_text(text.replace("n_borrowers: 20000", "n_borrowers: 43210"))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert load_run_config(["seed=1"], conf).population.n_borrowers == 43_210


def test_overrides_given_as_an_iterator_are_read_once_and_kept_under_their_own_key(conf):
    # tuple(overrides) for the key had used up an iterator: the defaults were composed,
    # and then served for the same overrides given as a list.
    lines = ["n_months=8", "seed=3"]
    run = load_run_config((line for line in lines), conf)
    assert (run.n_months, run.seed) == (8, 3)
    run = load_run_config(lines, conf)
    assert (run.n_months, run.seed) == (8, 3)
    assert compose_config(map(str, ["n_months=7"]), conf).n_months == 7
    with pytest.raises(TypeError, match=r"a list of override strings, e.g. \['n_months=2'\]"):
        compose_config("n_months=2", conf)


def test_a_new_file_in_the_folder_composes_afresh(conf):
    with pytest.raises(Exception, match="extra"):
        compose_config(["policy=extra"], conf)
    shutil.copy(conf / "policy" / "static.yaml", conf / "policy" / "extra.yaml")
    assert compose_config(["policy=extra"], conf).policy.name == "static"


def test_refusals_are_never_kept(conf):
    for _ in range(2):
        with pytest.raises(OverrideError):
            compose_config(["~seed"], conf, check_overrides=True)
    assert all("~seed" not in key[2] for key in composing._composed)


def test_the_cache_holds_at_most_its_size(monkeypatch, conf):
    monkeypatch.setattr(composing, "_composed", type(composing._composed)())
    monkeypatch.setattr(composing, "CACHE_SIZE", 2)
    for seed in range(3):
        compose_config([f"seed={seed}"], conf)
    assert [key[2] for key in composing._composed] == [("seed=1",), ("seed=2",)]


def test_it_composes_inside_the_callers_own_hydra_block_and_leaves_it_as_it_was(tmp_path):
    # Hydra refused: "GlobalHydra is already initialized" (a notebook composing its own
    # config around a call).
    from hydra.core.global_hydra import GlobalHydra

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "own.yaml").write_text("x: 1\n")
    with initialize_config_dir(config_dir=str(mine), version_base="1.3"):
        assert load_run_config(["seed=5", "population.n_borrowers=900"]).seed == 5
        assert compose(config_name="own") == {"x": 1}  # the caller's folder, still
        assert compose_config(["seed=6"]).seed == 6
        assert compose(config_name="own") == {"x": 1}
    assert not GlobalHydra.instance().is_initialized()  # left as Hydra leaves it
    assert load_run_config(["seed=7"]).seed == 7


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "population.n_borrower=5",
            "invalid config: population.n_borrower does not exist; did you mean "
            "population.n_borrowers?",
        ),
        (
            "platform.over_limit_tolerance=abc",
            "invalid config: platform.over_limit_tolerance = 'abc': expected a number "
            "(float) in the allowed range [0.0, 1.0]",
        ),
        (
            "policy=statc",
            "invalid config: In 'config': Could not find 'policy/statc'; did you mean "
            "policy=static?; Available options in 'policy': behaviour_rules, "
            "champion_challenger, counter_cyclical, "
            "exposure_cap, parametric, pd_threshold, sme_aware, static, utilisation_cli",
        ),
        (  # another case is close too (was no suggestion)
            "policy=STATIC",
            "invalid config: In 'config': Could not find 'policy/STATIC'; did you mean "
            "policy=static?; Available options in 'policy': behaviour_rules, "
            "champion_challenger, counter_cyclical, "
            "exposure_cap, parametric, pd_threshold, sme_aware, static, utilisation_cli",
        ),
        (  # was Hydra's defaults-list syntax: "To override a value use 'override policy: ..."
            "+policy=static",
            "invalid config: +policy=static adds a policy, but the config chooses one "
            "already: give policy=static (without '+') to choose it",
        ),
        (
            "population.N_Borrowers=5",
            "invalid config: population.N_Borrowers does not exist; did you mean "
            "population.n_borrowers?",
        ),
    ],
)
def test_composition_errors_read_as_the_command_lines(override, line):
    # They were Hydra's own ("Could not override 'population.n_borrower'", "Error merging
    # override ...", the options with their schemas), still of Hydra's type.
    from hydra.errors import ConfigCompositionException

    from sim.runtime.errors import config_error

    with pytest.raises(ConfigCompositionException) as err:
        load_run_config([override])
    assert str(err.value) == line
    assert isinstance(err.value.__cause__, ConfigCompositionException)
    assert str(config_error(err.value, " (where)")) == f"{line} (where)"  # not said twice
