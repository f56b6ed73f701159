"""A sweep's shared burn-in: the same numbers as simulating it, for every policy."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import pandas as pd
import pytest

from sim.model import CreditMarketModel
from sim.platform.policies import policy_names
from sim.runtime.burn_in import BURN_IN_FOLDER, BurnInStore, burn_in_key, state_after
from sim.runtime.runner import simulate
from tests.conftest import make_run
from tests.runtime.test_pipeline import digests, run_cli

SIZE = ("population.n_borrowers=1500", "n_months=5", "burn_in_months=4", "seed=11")


def _tables(policy: str, store: BurnInStore | None) -> dict[str, pd.DataFrame]:
    run = make_run(*SIZE, f"policy={policy}")
    with simulate(run, burn_in=store) as model:
        tables = model.tables("run")
        tables["monthly_with_burn_in"] = model.monthly_table(include_burn_in=True)
        assert model.steps == run.burn_in_months + run.n_months
    return tables


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.mark.parametrize(
    "policies",
    # Two policies in `make test` (a rule-based one and the one that saved it); all: slow.
    [("behaviour_rules", "pd_threshold"), pytest.param(None, marks=pytest.mark.slow)],
    ids=["two", "all"],
)
def test_every_policy_continues_from_a_burn_in_saved_under_another(
    tmp_path: Path, policies: tuple[str, ...] | None
):
    store = BurnInStore(tmp_path)
    _tables("pd_threshold", store)  # simulates the burn-in and saves it
    saved = sorted(tmp_path.iterdir())
    assert [p.name for p in saved] == [f"{burn_in_key(make_run(*SIZE))}.pkl"]
    written = saved[0].stat().st_mtime_ns
    for policy in policies or policy_names():
        _assert_same(_tables(policy, store), _tables(policy, None))
    assert saved[0].stat().st_mtime_ns == written  # read, never simulated again


def test_the_key_is_the_config_but_its_policy():
    run = make_run(*SIZE)
    assert burn_in_key(run) == burn_in_key(make_run(*SIZE, "policy=exposure_cap"))
    for other in ("seed=12", "n_months=6", "burn_in_months=3", "output.agent_panel_share=0.2"):
        assert burn_in_key(make_run(*SIZE, other)) != burn_in_key(run), other


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (b"not a saved state", "unreadable ("),
        (pickle.dumps(42), "unreadable (not a saved burn-in)"),
        (pickle.dumps({"key": "x", "months": 4, "state": {}}), "is of another config (key 'x'"),
        ("other seed", "is of another config"),
    ],
)
def test_a_damaged_or_foreign_state_is_simulated_again_and_replaced(
    tmp_path: Path, caplog, damage, said
):
    store = BurnInStore(tmp_path)
    path = store.path(make_run(*SIZE))
    if damage == "other seed":  # a file renamed to this key: another seed's state
        other = make_run(*SIZE[:3], "seed=12")
        with simulate(other, burn_in=store):
            pass
        store.path(other).rename(path)
    else:
        path.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="sim.runtime.burn_in"):
        shared = _tables("static", store)
    assert said in caplog.text and "simulating the burn-in" in caplog.text
    _assert_same(shared, _tables("static", None))
    with path.open("rb") as f:  # replaced by this run's state
        assert pickle.load(f)["key"] == burn_in_key(make_run(*SIZE))


def test_a_model_of_other_inputs_than_its_config_shares_no_burn_in(tmp_path: Path):
    with pytest.raises(ValueError, match=r"keyed by the run config alone, not by \['uci'\]"):
        simulate(make_run(*SIZE), burn_in=BurnInStore(tmp_path), uci=None)
    assert not any(tmp_path.iterdir())


def test_a_model_continues_only_from_month_zero(tmp_path: Path):
    run = make_run(*SIZE)
    with CreditMarketModel(run) as model:
        model.run(1)
        with pytest.raises(ValueError, match="from month 0"):
            BurnInStore(tmp_path).run_burn_in(model)
        with pytest.raises(ValueError, match="not 4"):
            state_after(model, 4)


@pytest.mark.slow
def test_a_sweep_shares_one_burn_in_per_seed_with_the_same_bytes(tmp_path: Path):
    sweep = ["-m", "policy=static,pd_threshold", "seed=1,2", *SIZE[:3], "output.plots=false"]
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    done = run_cli(*sweep, f"hydra.sweep.dir={shared}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    off = run_cli(*sweep, "share_burn_in=false", f"hydra.sweep.dir={alone}", cwd=tmp_path)
    assert off.returncode == 0, off.stderr
    assert len(list((shared / BURN_IN_FOLDER).iterdir())) == 2  # one per seed
    assert not (alone / BURN_IN_FOLDER).exists()
    assert len({key.split("/")[0] for key in digests(shared)}) == 4  # runs complete
    assert digests(shared) == digests(alone)
    read = {
        p.parent.name: json.loads(p.read_text())["burn_in_months_read"]
        for p in sorted(shared.rglob("run_info.json"))
    }
    assert sorted(read.values()) == [0, 0, 4, 4]  # each seed's second run read it
