"""Overrides Hydra accepts but a run must not: refused in one line, exit 2, nothing written.

Deletions (``~seed``), label fields (``population.name=``), ``*_schema`` group choices,
key-less overrides, sweeps whose jobs share a run folder, experiment names that are not
plain folder names and output folders that cannot be created. The command-line cases run
``python -m experiments.run`` (a few seconds each); their variants call
:func:`sim.runtime.preflight.preflight` or :func:`sim.runtime.compose.load_run_config`.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from sim.config import CONF_DIR
from sim.runtime.compose import load_run_config
from sim.runtime.errors import USER_ERROR_EXIT, UserError
from sim.runtime.override_checks import OverrideError
from sim.runtime.preflight import preflight
from tests.runtime.test_fail_fast import run_cli

POLICIES = (
    "behaviour_rules, champion_challenger, counter_cyclical, exposure_cap, parametric, "
    "pd_threshold, sme_aware, static, utilisation_cli"
)

CLI_CASES = {
    # ~scenario used to crash after Hydra had made outputs/default/<time>/.
    "delete group": (
        ["~scenario"],
        "invalid config: ~scenario would delete the config group scenario, which every run "
        "needs (only hydra settings may be deleted): choose an option instead "
        "(scenario=<option>: apr_cap, baseline, covid_shock, downturn, funding_squeeze, "
        "peak_season_stress)",
    ),
    # Two jobs, one run folder (experiment_name is left out of folder names).
    "shared folder": (
        ["-m", "experiment_name=a,b", "n_months=1"],
        "invalid sweep: sweep jobs #1 (experiment_name=a n_months=1) and #2 "
        "(experiment_name=b n_months=1) of 2 would write the same run folder "
        "run_n_months=1: experiment_name is left out of run folder names "
        "(hydra.job.config.override_dirname.exclude_keys), so it cannot be swept in one "
        "sweep folder: run one sweep per value, each in its own folder (hydra.sweep.dir=...)",
    ),
    "schema glob": (
        ["-m", "policy=glob(*)", "n_months=1"],
        "invalid sweep: policy=glob(*) also picks behaviour_rules_schema, "
        "champion_challenger_schema, counter_cyclical_schema, exposure_cap_schema, "
        "parametric_schema, pd_threshold_schema, sme_aware_schema, static_schema, "
        "utilisation_cli_schema: config schemas, not options to pick; sweep the options "
        "only with policy='glob(*,exclude=*_schema)'",
    ),
    "escape": (
        ["experiment_name=../escape", "n_months=1"],
        "invalid config: experiment_name = '../escape' is not a plain folder name",
    ),
    "unwritable": (
        ["hydra.run.dir=/proc/nope", "n_months=1"],
        "output folder /proc/nope: cannot write in /proc (No such file or directory): "
        "choose another folder (hydra.run.dir=...)",
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_refused_overrides_are_one_line_exit_2_and_leave_nothing(tmp_path: Path, case: str):
    args, expected = CLI_CASES[case]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = run_cli(*args, cwd=cwd)
    assert done.returncode == USER_ERROR_EXIT, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # Nothing written: no outputs/, no multirun/, nothing beside the working folder.
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "~seed",
            "~seed would delete seed, which every run needs (only hydra settings may be "
            "deleted): set a value instead (seed=...)",
        ),
        (
            "~n_months",
            "~n_months would delete n_months, which every run needs (only hydra settings may "
            "be deleted): set a value instead (n_months=...)",
        ),
        ("~resume", "~resume would delete resume, which every run needs"),
        ("~experiment_name", "~experiment_name would delete experiment_name, which"),
        ("~seed=0", "~seed=0 would delete seed, which every run needs"),
        ("~population.n_borrowers", "~population.n_borrowers would delete population.n_bor"),
        (
            "~population",
            "~population would delete the config group population, which every run needs "
            "(only hydra settings may be deleted): choose an option instead "
            "(population=<option>: jiebei_baseline, uci_2005)",
        ),
        (
            "~policy",
            "~policy would delete the config group policy, which every run needs (only "
            f"hydra settings may be deleted): choose an option instead (policy=<option>: "
            f"{POLICIES})",
        ),
        ("=3", "'=3' has no key: write key=value (for example seed=3)"),
    ],
)
def test_deleting_a_run_key_or_group_is_refused(override: str, message: str):
    with pytest.raises(UserError) as err:
        preflight([override])
    assert str(err.value).startswith(f"invalid config: {message}")
    assert "\n" not in str(err.value)
    # In a sweep too, and in Python (load_run_config): the same line, without the prefix.
    with pytest.raises(UserError, match="^invalid config: "):
        preflight(["-m", "seed=0,1", override])
    with pytest.raises(OverrideError) as python_err:
        load_run_config([override])
    assert str(python_err.value).startswith(message)


def test_hydra_settings_may_still_be_deleted_or_changed():
    # Deleting a hydra key is Hydra's business (refused by Hydra's own schema here).
    with pytest.raises(UserError, match="HydraConf .* does not support deletion"):
        preflight(["~hydra.run"])
    assert len(preflight(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "n_months=1"])) == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "population.name=uci_2005",
            "invalid config: population.name=uci_2005 would only relabel the run (its "
            "population stays the one chosen): choose the population instead "
            "(population=uci_2005)",
        ),
        (
            "scenario.name=whatever",
            "invalid config: scenario.name=whatever would only relabel the run (its scenario "
            "stays the one chosen): choose the scenario instead (scenario=<option>: apr_cap, "
            "baseline, covid_shock, downturn, funding_squeeze, peak_season_stress)",
        ),
        (
            "policy.name=static",
            "invalid config: policy.name=static would only relabel the run (its policy stays "
            "the one chosen): choose the policy instead (policy=static)",
        ),
        (
            "+policy.name=static",
            "invalid config: +policy.name=static would only relabel the run",
        ),
    ],
)
def test_a_label_is_not_overridden_the_group_is_chosen(override: str, message: str):
    with pytest.raises(UserError) as err:
        preflight([override])
    assert str(err.value).startswith(message)
    with pytest.raises(OverrideError):
        load_run_config([override])
    # The arms of champion_challenger are chosen by name: not a label.
    run = load_run_config(["policy=champion_challenger", "policy.challenger.name=static"])
    assert run.policy["challenger"]["name"] == "static"


def test_a_sweep_over_labels_is_refused_as_a_sweep():
    with pytest.raises(UserError, match=r"^invalid sweep: scenario.name=a,b would only relabel"):
        preflight(["-m", "scenario.name=a,b"])


def test_schemas_are_not_options_to_pick():
    with pytest.raises(UserError) as err:
        preflight(["policy=static_schema"])
    assert str(err.value) == (
        "invalid config: policy=static_schema picks static_schema: a config schema, not an "
        f"option to pick; the options of policy are: {POLICIES}"
    )
    with pytest.raises(UserError, match="^invalid config: scenario=scenario_schema picks"):
        preflight(["scenario=scenario_schema"])
    with pytest.raises(UserError) as err:
        preflight(["-m", "policy=static,static_schema"])
    assert str(err.value).startswith("invalid sweep: policy=static,static_schema picks static_")
    with pytest.raises(OverrideError, match="population=population_schema picks"):
        load_run_config(["population=population_schema"])
    # The glob the refusal suggests is Hydra's own: it sweeps every policy, no schema.
    runs = preflight(["-m", "policy=glob(*,exclude=*_schema)", "n_months=1"])
    assert sorted(r.policy["name"] for r in runs) == POLICIES.split(", ")


def test_a_sweeper_param_is_checked_as_the_command_line(tmp_path: Path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    text = (conf / "config.yaml").read_text()
    assert "\nhydra:\n" in text
    text = text.replace("\nhydra:\n", "\nhydra:\n  sweeper:\n    params:\n      policy: glob(*)\n")
    (conf / "config.yaml").write_text(text)
    with pytest.raises(UserError, match=r"^invalid sweep: policy=glob\(\*\) also picks"):
        preflight(["-m", "n_months=1"], config_dir=conf)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            ["output.plots=true,false"],
            "invalid sweep: sweep jobs #1 (output.plots=True) and #2 (output.plots=False) of 2 "
            "would write the same run folder run_: output.plots is left out of run folder "
            "names (hydra.job.config.override_dirname.exclude_keys), so it cannot be swept in "
            "one sweep folder: run one sweep per value, each in its own folder "
            "(hydra.sweep.dir=...)",
        ),
        (
            ["seed=0,0", "n_months=1"],
            "invalid sweep: sweep jobs #1 (seed=0 n_months=1) and #2 (seed=0 n_months=1) of 2 "
            "are the same run: drop the repeated value",
        ),
        (  # two spellings of one value, named (and before the folders)
            ["seed=0,00", "n_months=1"],
            "invalid sweep: sweep jobs #1 (seed=0 n_months=1) and #2 (seed=00 n_months=1) of 2 "
            "are the same run (the same config, in two folders): seed repeats one value; drop "
            "one",
        ),
        (
            ["seed=0,1", "resume=true,false"],
            "invalid sweep: sweep jobs #1 (seed=0 resume=True) and #2 (seed=0 resume=False) "
            "of 4 would write the same run folder run_seed=0: resume is left out",
        ),
        (  # a value the field refuses is named as such first (was "repeats one value")
            ["share_burn_in=true,yes", "n_months=1"],
            "invalid config: share_burn_in = 'yes': expected true or false (bool) (sweep job "
            "#2 of 2: share_burn_in=yes n_months=1)",
        ),
        (  # ... whatever the folders would be
            ["seed=abc,abc", "n_months=1"],
            "invalid config: seed = 'abc': expected a whole number (int)",
        ),
        (  # one seed written two ways: was "hydra.sweep.subdir must name each job's own"
            ["seed=1,01", "n_months=1", "hydra.sweep.subdir=s${seed}"],
            "invalid sweep: sweep jobs #1 (seed=1 n_months=1) and #2 (seed=01 n_months=1) of "
            "2 are the same run (the same config, in two folders): seed repeats one value; "
            "drop one",
        ),
        (  # a comma meant in a folder's name: was a folder collision naming the subdir
            ["seed=0,1", "hydra.sweep.dir=multirun/a,b"],
            "invalid sweep: hydra.sweep.dir takes one value per sweep, but it is swept over "
            "multirun/a, b (a comma reads as a list of values): to keep a comma in a name, "
            "quote the value, 'hydra.sweep.dir=\"multirun/a,b\"'",
        ),
        (
            ["seed=0,1", "hydra.sweep.subdir=one"],
            "invalid sweep: sweep jobs #1 (seed=0) and #2 (seed=1) of 2 would write the "
            "same run folder one: hydra.sweep.subdir must name each job's own folder",
        ),
    ],
)
def test_a_sweep_whose_jobs_share_a_run_folder_is_refused(sweep: list[str], message: str):
    with pytest.raises(UserError) as err:
        preflight(["-m", *sweep])
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_sweeps_with_one_folder_per_job_pass():
    assert len(preflight(["-m", "seed=0,1", "n_months=1", "resume=true"])) == 2
    # Folders numbered by job: each job its own folder.
    assert len(preflight(["-m", "seed=0,1", "hydra.sweep.subdir=${hydra.job.num}"])) == 2
    # ... but a repeated value is one run twice, as in any other folders (was allowed,
    # with a "[2/1]" progress line and a comparison that refuses the duplicate).
    with pytest.raises(UserError, match=r"are the same run: drop the repeated value$"):
        preflight(["-m", "seed=0,0", "hydra.sweep.subdir=${hydra.job.num}"])
    # A folder named by its own item and key separators.
    sep = ["hydra.job.config.override_dirname.kv_sep=-", "n_months=1"]
    assert len(preflight(["-m", "seed=0,1", *sep])) == 2


@pytest.mark.parametrize("name", ["../escape", "/tmp/x", "", ".", "..", "a/b", "a\\b"])
def test_experiment_name_is_a_plain_folder_name(name: str):
    with pytest.raises(UserError) as err:
        preflight([f"experiment_name={name}"])
    assert str(err.value).startswith(
        f"invalid config: experiment_name = {name!r} is not a plain folder name: give a name "
        "without '/' or '\\' (not empty, '.' or '..')"
    )
    with pytest.raises(ValueError, match="is not a plain folder name"):
        load_run_config([f"experiment_name={name}"])


def test_a_plain_experiment_name_passes():
    assert len(preflight(["experiment_name=my study-2", "n_months=1"])) == 1


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path: Path):
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", "hydra.sweep.dir=/proc/nope/deeper"])
    assert str(err.value) == (
        "output folder /proc/nope/deeper: cannot write in /proc (No such file or directory): "
        "choose another folder (hydra.sweep.dir=...)"
    )
    # A folder that can be made is not made (nor its parents) by the check.
    assert len(preflight([f"hydra.run.dir={tmp_path / 'a' / 'b'}", "n_months=1"])) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_bad_start_state_is_named_before_the_starting_book():
    with pytest.raises(UserError) as err:
        preflight(["population.start_state=bogus"])
    assert str(err.value) == (
        "invalid config: population.start_state = 'bogus'; allowed: ['current', "
        "'uci_september', 'uci_august', 'uci_july', 'uci_june', 'uci_may', 'uci_april']"
    )


@pytest.mark.parametrize(
    ("override", "reason", "example"),
    [
        (
            "hydra.sweep.dir={dir}/a=b",
            "mismatched input '=' expecting <EOF>",
            "\"hydra.sweep.dir='...'\"",
        ),
        (
            "hydra.sweep.dir={dir}/café",
            "a character it does not take unquoted",
            "\"hydra.sweep.dir='...'\"",
        ),
        (
            "hydra.sweep.dir={dir}/it's",
            "a character it does not take unquoted",
            '"hydra.sweep.dir=\\"...\\""',
        ),
        ("seed=[1", "no viable alternative at input '[1'", "\"seed='...'\""),
    ],
)
def test_an_override_hydra_cannot_read_says_to_quote_its_value(
    tmp_path: Path, override: str, reason: str, example: str
):
    # Hydra's grammar error named neither the override's fix nor, for a character beyond
    # ASCII, the reason (LexerNoViableAltException).
    override = override.format(dir=tmp_path / "s")
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", "n_months=1", override])
    assert str(err.value) == (
        f"invalid config: {override!r} is not an override Hydra can read ({reason}): a value "
        "holding '=', ',', quotes, brackets or characters beyond ASCII goes in quotes, e.g. "
        f"{example}"
    )
    assert not (tmp_path / "s").exists()
    if override.startswith("hydra.sweep.dir="):
        # The advice as a shell reads it, the folder in place of the dots, is taken.
        folder = override.partition("=")[2]
        (typed,) = shlex.split(example.replace("...", folder))
        assert len(preflight(["-m", "seed=0,1", "n_months=1", typed])) == 2
