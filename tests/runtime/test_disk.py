"""The disk check: a lower bound of a run's bytes, refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.outputs.files import COMPLETE_MARKER
from sim.runtime import disk
from sim.runtime.disk import check_disk, estimate_burn_in_bytes, estimate_output_bytes
from sim.runtime.errors import UserError
from sim.runtime.preflight import preflight
from sim.runtime.runner import run_to_folder
from tests.conftest import make_run

SMALL = ["population.n_borrowers=3000", "n_months=6", "burn_in_months=2", "output.plots=false"]


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "less",
    [
        ["policy=static"],  # changes no limit: the fewest events
        ["policy=behaviour_rules"],  # among the most
        ["output.events=false", "output.agent_tables=false"],
    ],
)
def test_the_estimate_is_a_lower_bound_of_what_a_run_writes_and_not_far_below(tmp_path, less):
    run = make_run(*SMALL, *less)
    run_to_folder(run, tmp_path, resolved={"seed": 0}, resolved_yaml="seed: 0\n", run_id="r")
    written, estimate = _bytes(tmp_path), estimate_output_bytes(run)
    assert estimate <= written  # a run that fits is never refused
    assert estimate >= 0.3 * written  # and the bound is not empty


def test_the_estimate_by_hand():
    run = make_run("population.n_borrowers=10000", "n_months=10", "burn_in_months=0")
    rows_end = 10_000 * (1 + run.book.applicants_per_month_share * 10)
    firms = run.firms.owner_share * 10_000
    panel = min(0.1 * 10_000, 20_000)
    expected = 150_000 + 0.05 * 10_000 * 10 + 26 * rows_end + 8 * panel * 10
    expected += 40 * firms
    assert estimate_output_bytes(run) == int(expected)
    assert estimate_burn_in_bytes(run) == 0  # no burn-in, no state
    with_burn_in = make_run("population.n_borrowers=10000", "burn_in_months=24")
    rows = 10_000 * (1 + with_burn_in.book.applicants_per_month_share * 24)
    assert estimate_burn_in_bytes(with_burn_in) == int(450 * rows)


def test_check_disk_counts_each_burn_in_once_and_names_what_to_change(tmp_path):
    a = make_run("population.n_borrowers=10000", "burn_in_months=24", "policy=static", "seed=0")
    b = make_run("population.n_borrowers=10000", "burn_in_months=24", "policy=sme_aware", "seed=0")
    c = make_run("population.n_borrowers=10000", "burn_in_months=24", "policy=static", "seed=1")
    tables = sum(estimate_output_bytes(r) for r in (a, b, c))
    state = estimate_burn_in_bytes(a)
    assert state > 0
    # Two policies share seed 0's burn-in; seed 1 has its own.
    needed = check_disk([a, b, c], tmp_path, option="hydra.sweep.dir", shared_burn_ins=True)
    assert needed == tables + 2 * state
    assert check_disk([a, b, c], tmp_path, option="x", free=tables) == tables
    assert check_disk([a], tmp_path, option="x", free=tables // 3) == estimate_output_bytes(a)
    with pytest.raises(UserError) as err:
        check_disk([a, b, c], tmp_path, option="hydra.sweep.dir", shared_burn_ins=True, free=10**6)
    assert str(err.value) == (
        f"disk: the runs would write at least {tables / 1e6:.1f} MB of tables and "
        f"{2 * state / 1e6:.1f} MB of shared burn-in states to {tmp_path}, but its file "
        "system has 1.0 MB free: free some space, choose another folder "
        "(hydra.sweep.dir=...), or write less (output.events=false, "
        "output.agent_tables=false, share_burn_in=false)"
    )


def test_the_command_line_refuses_a_sweep_that_cannot_fit_before_writing(tmp_path, monkeypatch):
    sweep = tmp_path / "s"
    argv = ["-m", "seed=0,1", *SMALL, f"hydra.sweep.dir={sweep}"]
    assert len(preflight(argv)) == 2  # this disk has room
    monkeypatch.setattr(disk, "free_bytes", lambda folder: 1000)
    with pytest.raises(UserError, match=r"^disk: the runs would write at least .* to "):
        preflight(argv)
    assert not sweep.exists()
    single = tmp_path / "one"
    with pytest.raises(UserError, match=r"but its file system has 0.0 MB free"):
        preflight([*SMALL, f"hydra.run.dir={single}"])
    assert not single.exists()
    # Resumed with every run finished (and the burn-ins kept): nothing left to write.
    for seed in (0, 1):
        name = sweep / f"run_burn_in_months=2,n_months=6,population.n_borrowers=3000,seed={seed}"
        (name / ".hydra").mkdir(parents=True)
        (name / COMPLETE_MARKER).write_text("{}")
    (sweep / ".burn_in").mkdir()
    assert len(preflight([*argv, "resume=true"])) == 2
    (name / COMPLETE_MARKER).unlink()  # one left to run: refused again
    with pytest.raises(UserError, match=r"^disk: the run would write at least"):
        preflight([*argv, "resume=true"])
    # With room for the one left to run: accepted.
    monkeypatch.setattr(disk, "free_bytes", lambda folder: 10**9)
    assert len(preflight([*argv, "resume=true"])) == 2
    # A folder named by a key inside a swept group: its finished runs are found too.
    named = tmp_path / "n"
    argv = ["-m", "policy=static,sme_aware", *SMALL, f"hydra.sweep.dir={named}"]
    for policy in ("static", "sme_aware"):
        (named / policy / ".hydra").mkdir(parents=True)
        (named / policy / COMPLETE_MARKER).write_text("{}")
    (named / ".burn_in").mkdir()
    monkeypatch.setattr(disk, "free_bytes", lambda folder: 1000)
    assert len(preflight([*argv, "hydra.sweep.subdir=${policy.name}", "resume=true"])) == 2
