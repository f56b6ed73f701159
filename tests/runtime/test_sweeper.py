"""hydra/sweeper=limitlab: the basic sweeper, without composing again what preflight validated."""

from __future__ import annotations

import errno
import os

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.callbacks import Callbacks
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext
from omegaconf.errors import OmegaConfBaseException

from sim.config import CONF_DIR, register_configs
from sim.runtime.preflight import preflight
from sim.runtime.validated_jobs import (
    clear_validated,
    record_validated,
    sweep_folder,
    sweeper_override,
    was_validated,
)
from tests.conftest import raised

HYDRA = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
TASK = ["policy=static,pd_threshold", "seed=range(0,2)", "population.n_borrowers=1000"]


@pytest.fixture(autouse=True)
def _fresh_record():
    clear_validated()
    yield
    clear_validated()


def _task_jobs(lines: list[str]) -> list[list[str]]:
    """The jobs Hydra's sweeper makes of the task overrides ``lines``."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
        return BasicSweeper.split_arguments(parser.parse_overrides(lines), None)[0]


def test_preflight_records_the_jobs_the_sweeper_will_make(tmp_path):
    sweep = [f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    runs = preflight(["-m", *TASK, *HYDRA, *sweep])
    jobs = _task_jobs(TASK)
    assert len(runs) == len(jobs) == 4
    # Hydra keeps the command line's hydra overrides and adds hydra.mode=MULTIRUN for -m.
    hydra_lines = [*HYDRA, *sweep, "hydra.mode=MULTIRUN"]
    assert all(was_validated(CONF_DIR, "config", hydra_lines, job) for job in jobs)
    assert not was_validated(CONF_DIR, "config", hydra_lines, ["policy=static", "seed=2"])
    assert not was_validated(CONF_DIR, "config", HYDRA, jobs[0])  # another sweep folder
    assert not was_validated(tmp_path, "config", hydra_lines, jobs[0])  # another config folder


def test_the_sweeper_is_chosen_for_a_validated_sweep_if_hydra_finds_it(tmp_path, monkeypatch):
    assert sweeper_override(["-m", "seed=0,1"]) == []  # nothing validated
    preflight(["-m", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert sweeper_override(["-m", "seed=0,1"]) == ["hydra/sweeper=limitlab"]
    assert sweeper_override(["-m", "seed=0,1", "hydra/sweeper=basic"]) == []  # the user's
    # An environment whose hydra_plugins folders Hydra cannot scan (an editable install by
    # setuptools >= 64): Hydra's basic sweeper, as before.
    from hydra.core.plugins import Plugins

    registry = dict(Plugins.instance().class_name_to_class)
    registry = {k: v for k, v in registry.items() if "limitlab" not in k}
    monkeypatch.setattr(Plugins.instance(), "class_name_to_class", registry)
    assert sweeper_override(["-m", "seed=0,1"]) == []


def test_a_single_run_or_a_failed_sweep_records_nothing(tmp_path):
    preflight(["seed=1", f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(Exception, match="seed"):
        preflight(["-m", "seed=0,abc", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert not was_validated(CONF_DIR, "config", [], ["seed=1"])
    assert not was_validated(
        CONF_DIR, "config", [f"hydra.sweep.dir={tmp_path / 'sweep'}"], ["seed=0"]
    )


def _sweeper(monkeypatch, hydra: list[str] = HYDRA) -> tuple[Sweeper, list[list[str]]]:
    """The sweeper of the default config, as Hydra makes it; the jobs Hydra's check composes."""
    loader = GlobalHydra.instance().config_loader()
    overrides = [*hydra, "hydra/sweeper=limitlab"]
    config = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    sweeper = Plugins.instance().instantiate_sweeper(
        hydra_context=HydraContext(config_loader=loader, callbacks=Callbacks()),
        task_function=lambda cfg: None,
        config=config,
    )
    assert type(sweeper).__name__ == "LimitLabSweeper"
    # Hydra's plugin scan may load the basic sweeper's module anew: spy on the class the
    # sweeper derives from.
    basic = type(sweeper).__mro__[1]
    assert basic.__name__ == "BasicSweeper"
    composed: list[list[str]] = []
    check = basic.validate_batch_is_legal

    def spy(self, batch):
        composed.extend(list(job) for job in batch)
        check(self, batch)

    monkeypatch.setattr(basic, "validate_batch_is_legal", spy)
    return sweeper, composed


def test_the_sweeper_composes_only_the_jobs_not_validated(monkeypatch):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        sweeper, composed = _sweeper(monkeypatch)
        jobs = [["policy=static", "seed=0"], ["policy=static", "seed=1"], ["seed=2"]]
        record_validated(CONF_DIR, "config", HYDRA, jobs[:2])
        sweeper.validate_batch_is_legal(jobs)
        assert composed == [["seed=2"]]
        composed.clear()
        # Not recorded: Hydra's check composes it and refuses it.
        with pytest.raises((HydraException, OmegaConfBaseException)):
            sweeper.validate_batch_is_legal([["policy=static", "seed=0"], ["population.nope=1"]])
        assert composed == [["population.nope=1"]]
        clear_validated()
        composed.clear()
        sweeper.validate_batch_is_legal(jobs)
        assert composed == jobs


def test_an_error_ctrl_c_caused_in_the_launcher_is_raised_as_the_interrupt(
    tmp_path, monkeypatch, capsys
):
    # Ctrl-C while the launcher composes a job can leave OmegaConf raising another error
    # with the interrupt behind it (__context__): the sweep raises the interrupt, so the
    # command prints its one-line "interrupted" message; other errors are unchanged.
    from hydra.errors import ConfigCompositionException

    import experiments.run as run_cli

    def composing_during_ctrl_c() -> BaseException:
        # OmegaConf's clean-up fails while the interrupt propagates; Hydra wraps that.
        failed = raised(lambda: AttributeError("no attribute 'x'"), KeyboardInterrupt())
        return raised(ConfigCompositionException, failed)

    monkeypatch.chdir(tmp_path)
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for error, expected in (
            (composing_during_ctrl_c(), KeyboardInterrupt),
            (ConfigCompositionException("bad"), ConfigCompositionException),
        ):
            sweeper, _ = _sweeper(monkeypatch)
            launched: list[object] = []

            def launch(batch, initial_job_idx, error=error, launched=launched):
                launched.append(list(batch))
                raise error

            monkeypatch.setattr(sweeper.launcher, "launch", launch)
            with pytest.raises(expected):
                sweeper.sweep(["seed=0,1"])
            assert [list(job) for job in launched[0]] == [["seed=0"], ["seed=1"]]
            # The sweep's folder is recorded as it starts, and names it in Ctrl-C's line
            # when no job ran in this process (a launcher with workers).
            folder = str(sweeper.config.hydra.sweep.dir)
            assert sweep_folder() == folder and (tmp_path / folder).is_dir()
            monkeypatch.setattr(run_cli, "_STARTED", {})
            assert run_cli.interrupted_line() == (
                f"interrupted: no run in {folder} had finished; to run them, run the same "
                f"command with resume=true hydra.sweep.dir={folder}"
            )
        # A full disk as Hydra writes a job's .hydra/ files: one line, exit code 2. Before
        # launching, a killed writer's temporary file among the shared burn-ins goes.
        sweeper, _ = _sweeper(monkeypatch)
        burn_ins = tmp_path / str(sweeper.config.hydra.sweep.dir) / ".burn_in"
        burn_ins.mkdir(parents=True)
        (burn_ins / ".tmp-0123456789ab-state.pkl").write_bytes(b"partial")
        (burn_ins / "state.pkl").write_bytes(b"kept")

        def disk_full(batch, initial_job_idx):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(sweeper.launcher, "launch", disk_full)
        monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
        with pytest.raises(SystemExit) as done:
            sweeper.sweep(["seed=0,1"])
        assert done.value.code == 2
        assert capsys.readouterr().err == (
            "disk full: [Errno 28] No space left on device; free some space and run the "
            "command again (a sweep keeps its finished runs: add resume=true)\n"
        )
        assert sorted(p.name for p in burn_ins.iterdir()) == ["state.pkl"]
    clear_validated()
    assert run_cli.interrupted_line() == "interrupted before any run started"


def test_a_subdir_known_only_when_a_job_runs_is_read_as_typed(monkeypatch):
    # hydra.sweep.subdir=${hydra.job.num} (what the folder-collision message suggests) has
    # no value before a job runs: reading the hydra overrides resolved was an
    # InterpolationToMissingValueError traceback; the recorded jobs are not composed again.
    hydra = [*HYDRA, "hydra.sweep.subdir=${hydra.job.num}"]
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        sweeper, composed = _sweeper(monkeypatch, hydra)
        jobs = [["seed=0"], ["seed=1"]]
        record_validated(CONF_DIR, "config", hydra, jobs)
        sweeper.validate_batch_is_legal(jobs)
        assert composed == []
        sweeper.validate_batch_is_legal([["seed=2"]])
        assert composed == [["seed=2"]]


@pytest.mark.slow  # two sweeps; the fast suite checks what the sweeper composes above
def test_a_sweep_makes_the_runs_of_hydras_basic_sweeper(tmp_path):
    from tests.runtime.test_pipeline import SMALL, digests, run_cli

    args = ["-m", "policy=static,behaviour_rules", "seed=3", *SMALL]
    ours = run_cli(*args, f"hydra.sweep.dir={tmp_path / 'ours'}")
    basic = run_cli(*args, "hydra/sweeper=basic", f"hydra.sweep.dir={tmp_path / 'basic'}")
    assert ours.returncode == 0 and basic.returncode == 0, ours.stderr + basic.stderr
    assert "LimitLabSweeper" in (tmp_path / "ours" / "multirun.yaml").read_text()
    ran = sorted(p.name for p in (tmp_path / "ours").iterdir() if p.is_dir())
    assert ran == sorted(p.name for p in (tmp_path / "basic").iterdir() if p.is_dir())
    assert len(ran) == 2
    assert digests(tmp_path / "ours") == digests(tmp_path / "basic")


def test_a_jobs_finished_run_folder_is_found_as_hydra_names_it(tmp_path, monkeypatch):
    # The sweeper marks such a job so that Hydra leaves the finished run's .hydra/ record
    # as it was (tests/runtime/test_pipeline.py::test_sweep_seeds_and_resume runs it).
    from sim.outputs.files import COMPLETE_MARKER
    from sim.runtime.run_folders import finished_job_folder

    monkeypatch.setenv("LIMITLAB_PART", "p")
    sweep = tmp_path / "s"
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())

        def folder(subdir: str, job: list[str], num: int):
            lines = [f"hydra.sweep.dir={sweep}", f"hydra.sweep.subdir={subdir}"]
            cfg = compose("config", overrides=lines, return_hydra_config=True)
            return finished_job_folder(cfg, parser, job, num)

        default = "run_${hydra.job.override_dirname}"
        job = ["seed=1", "policy=static", "resume=true"]  # resume is left out of the name
        named = sweep / "run_policy=static,seed=1"
        assert folder(default, job, 0) is None  # no finished run there yet
        named.mkdir(parents=True)
        (named / COMPLETE_MARKER).write_text("{}")
        assert folder(default, job, 0) == named
        assert folder(default, ["seed=2"], 0) is None
        numbered = sweep / "p_3"
        numbered.mkdir()
        (numbered / COMPLETE_MARKER).write_text("{}")
        assert folder("${oc.env:LIMITLAB_PART}_${hydra.job.num}", job, 3) == numbered
        assert folder("${oc.env:LIMITLAB_PART}_${hydra.job.num}", job, 2) is None
        assert folder("${hydra.job.id}", job, 3) is None  # known only once the job runs
        # The job's own choice and values, not the sweep's: the choice was the config's
        # default (behaviour_rules), so a finished run's record was written over.
        chosen = sweep / "static_s1"
        chosen.mkdir()
        (chosen / COMPLETE_MARKER).write_text("{}")
        assert folder("${hydra.runtime.choices.policy}_s${seed}", job, 0) == chosen
        assert folder("${hydra.runtime.choices.policy}_s${seed}", ["seed=1"], 0) is None
