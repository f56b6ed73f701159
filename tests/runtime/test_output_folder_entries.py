"""Output folders holding other files or names too long, joblib options joblib refuses.

Each is one line before any run.

A run (``hydra.run.dir``) or a sweep (``hydra.sweep.dir``) pointed at an existing folder
that holds entries it does not write (``/``, a folder of documents) would write its results
among them, replacing any file of the same name; an interrupted run's or sweep's own folder
is taken again. Checked through :func:`sim.runtime.preflight.preflight`, which the command
line runs before Hydra writes anything (``tests/runtime/test_fail_fast.py`` shows its
refusals reach the user as one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.outputs.folders import check_name_lengths, name_max
from sim.runtime.errors import UserError
from sim.runtime.preflight import preflight

RUN = ["n_months=1", "population.n_borrowers=200"]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_folder_holding_other_files_is_refused_and_left_as_it_was(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "summary.csv").write_text("not a run's\n")  # a name a run writes
    before = files(tmp_path)
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])
    assert str(err.value) == (
        f"output folder {tmp_path} already holds entries that are not a run's (notes.txt, "
        "summary.csv): the results would be written among them; choose a new or empty folder "
        "(hydra.run.dir=...)"
    )
    assert files(tmp_path) == before
    # Only a file named like a run's, no Hydra record (.hydra/) beside it: one's own, kept.
    (tmp_path / "notes.txt").unlink()
    with pytest.raises(UserError, match=r"not a run's \(summary\.csv\)"):
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])
    (tmp_path / "summary.csv").unlink()
    # Many: three are named.
    for name in ("a.csv", "b", "c.txt", "d.parquet"):
        (tmp_path / name).mkdir() if name == "b" else (tmp_path / name).write_text("x")
    with pytest.raises(UserError, match=r"not a run's \(a\.csv, b, c\.txt, \.\.\.\)"):
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])


def test_an_interrupted_runs_own_folder_is_taken_again(tmp_path: Path):
    # What a run killed while writing leaves: Hydra's folder and log, some tables, its
    # figure and an atomic write's temporary file; a new folder and an empty one pass too.
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- n_months=1\n")
    for name in (
        "run.log",
        "monthly.parquet",
        "portfolio.png",
        ".tmp-0123456789ab-vintage.parquet",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path.parent / "empty").mkdir()
    for folder in (tmp_path, tmp_path.parent / "new", tmp_path.parent / "empty"):
        assert len(preflight([*RUN, f"hydra.run.dir={folder}"])) == 1
    # A folder named like a table is not a table.
    (tmp_path / "events.parquet").mkdir()
    with pytest.raises(UserError, match=r"not a run's \(events\.parquet\)"):
        preflight([*RUN, f"hydra.run.dir={tmp_path}"])


def test_a_sweep_folder_takes_its_own_entries_and_refuses_others(tmp_path: Path):
    sweep = ["-m", "seed=0", *RUN, f"hydra.sweep.dir={tmp_path}", "resume=true"]
    # An interrupted sweep's folder: Hydra's record, the burn-ins, a report, runs' folders
    # (one nested, as a hydra.sweep.subdir with '/' makes) and a folder Hydra made empty.
    (tmp_path / "multirun.yaml").write_text("x: 1\n")
    for folder in (".burn_in", "report/figures", "run_seed=0/.hydra", "by/seed=1/.hydra", "e"):
        (tmp_path / folder).mkdir(parents=True)
    assert len(preflight(sweep)) == 1
    for stray, kind in (("data.csv", "file"), ("photos", "folder")):
        path = tmp_path / stray
        path.mkdir() if kind == "folder" else path.write_text("x")
        if kind == "folder":
            (path / "x.jpg").write_bytes(b"x")  # a folder that holds no run
        with pytest.raises(UserError) as err:
            preflight(sweep)
        assert str(err.value) == (
            f"output folder {tmp_path} already holds entries that are not a sweep's "
            f"({stray}): the results would be written among them; choose a new or empty "
            "folder (hydra.sweep.dir=...)"
        )
        (path / "x.jpg").unlink() if kind == "folder" else path.unlink()
        if kind == "folder":
            path.rmdir()
    assert len(preflight(sweep)) == 1


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "batch_size=0",
            "invalid config: hydra.launcher.batch_size = 0: joblib refuses it (batch_size "
            "must be 'auto' or a positive integer, got: 0)",
        ),
        pytest.param(
            "prefer=cores",  # joblib refused it; now named with the launcher's other options
            "invalid config: hydra.launcher.prefer = 'cores': not a joblib backend hint "
            "(allowed: 'processes' or null)",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_joblib_options_joblib_refuses_are_named(option: str, message: str):
    # Both were joblib's traceback, exit 1, after Hydra had written multirun.yaml.
    sweep = ["-m", "seed=0,1", *RUN, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.launcher.{option}"])
    assert str(err.value) == message
    assert len(preflight([*sweep, "hydra.launcher.batch_size=2"])) == 2


def test_names_longer_than_the_file_system_allows_are_refused(tmp_path: Path):
    # By hand: bytes, not characters, count ("é" is two).
    check_name_lengths("abc/de/ééx", limit=5)
    with pytest.raises(ValueError) as err:
        check_name_lengths("abc/ééé", limit=5)
    assert str(err.value) == ("a name of 6 bytes (ééé...), more than the 5 this file system allows")
    limit = name_max(tmp_path)
    assert limit >= 14  # POSIX's least NAME_MAX
    # A run folder: was an OSError traceback (ENAMETOOLONG) from the folder checks.
    long = "x" * (limit + 1)
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={tmp_path / long / 'run'}"])
    assert str(err.value) == (
        f"output folder hydra.run.dir: a name of {limit + 1} bytes ({'x' * 40}...), more "
        f"than the {limit} this file system allows: choose a shorter one (hydra.run.dir=...)"
    )
    # A sweep whose run folders, named by the jobs' overrides, are too long: Hydra's mkdir
    # failed with a traceback once the sweep had started.
    # (The sweeper writes a job's values as parsed: 0.10 becomes 0.1 in the folder name.)
    keys = [f"{k}_borrow_propensity" for k in ("revolver", "delinquent", "instalment")]
    keys += ["arrears_cure_prob", "arrears_roll_prob", "expense_shock_mean_income_months"]
    shared = [f"population.behaviour.{k}=0.10" for k in keys]
    sweep = ["-m", "seed=0", *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    assert len(preflight([*sweep, *shared[:2]])) == 1
    name = ",".join(sorted([*RUN, "seed=0", *(line[:-1] for line in shared)]))
    assert len(name) + len("run_") > limit
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", *sweep[2:], *shared])
    # The advice gives the whole list to set: the configured keys (resume among them, so a
    # resumed sweep finds its folders) and the options both jobs share (seed differs).
    configured = "resume,share_burn_in,experiment_name,output.progress,output.plots"
    added = ",".join(
        ["n_months", "population.n_borrowers", *(f"population.behaviour.{k}" for k in keys)]
    )
    assert str(err.value) == (
        f"invalid sweep: sweep job #1 of 2 would write its run folder under a name of "
        f"{len(name) + 4} bytes (run_{name[:36]}...), more than the {limit} this file system "
        "allows: leave the options every job shares out of folder names, "
        f"hydra.job.config.override_dirname.exclude_keys=[{configured},output.formats,{added}] "
        "(the list as it is, with those keys added; give it again with resume=true), or set "
        "a shorter hydra.sweep.subdir, e.g. ${hydra.job.num}"
    )
    # The advice works: with that list the sweep is accepted, and resumed.
    advice = str(err.value).split(", hydra.job.config")[1].split(" (the list")[0]
    advised = ["-m", "seed=0,1", *sweep[2:], *shared, f"hydra.job.config{advice}"]
    assert len(preflight(advised)) == 2
    assert len(preflight([*advised, "resume=true"])) == 2
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("subdir", "where"),
    [
        ("/tmp/mine", "puts the runs' folders outside"),
        ("../..", "puts the runs' folders outside"),
        ("x/../../y", "puts the runs' folders outside"),
        ("", "gives no run a folder of its own inside"),
        ("a/..", "gives no run a folder of its own inside"),
    ],
)
def test_a_subdir_outside_the_sweep_folder_or_none_is_refused(tmp_path: Path, subdir, where):
    # Hydra joins hydra.sweep.subdir to the sweep folder: outside it, a run wrote its
    # summary.csv over a file of one's own of that name, past the sweep folder's checks;
    # an empty one wrote the runs loose beside multirun.yaml.
    sweep = ["-m", "seed=0,1", *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.sweep.subdir={subdir}"])
    assert str(err.value) == (
        f"invalid sweep: hydra.sweep.subdir = {subdir!r} {where} the sweep folder "
        "(hydra.sweep.dir): it takes a relative path inside it, different for each job, "
        "e.g. run_${hydra.job.override_dirname} (the default) or ${hydra.job.num}"
    )
    assert not (tmp_path / "s").exists()


def test_a_subdir_is_checked_as_it_resolves_before_the_jobs_run(tmp_path: Path, monkeypatch):
    # Interpolations known before a job runs are resolved: ${oc.env:HOME} had put the
    # runs' folders in the home folder; an unset variable was Hydra's traceback once
    # multirun.yaml was written. A job's own values stay plain names.
    sweep = ["-m", "seed=0,1", *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    monkeypatch.setenv("LIMITLAB_ELSEWHERE", str(tmp_path / "elsewhere"))
    subdir = "${oc.env:LIMITLAB_ELSEWHERE}/${hydra.job.num}"
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.sweep.subdir={subdir}"])
    assert str(err.value) == (
        f"invalid sweep: hydra.sweep.subdir = {subdir!r} (resolved: "
        f"'{tmp_path / 'elsewhere'}/x') puts the runs' folders outside the sweep folder "
        "(hydra.sweep.dir): it takes a relative path inside it, different for each job, "
        "e.g. run_${hydra.job.override_dirname} (the default) or ${hydra.job.num}"
    )
    monkeypatch.delenv("LIMITLAB_ELSEWHERE")
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.sweep.subdir={subdir}"])
    assert str(err.value) == (
        f"invalid sweep: hydra.sweep.subdir = {subdir!r}: KeyError raised while resolving "
        "interpolation: \"Environment variable 'LIMITLAB_ELSEWHERE' not found\": it takes a "
        "relative path inside the sweep folder, different for each job, e.g. "
        "run_${hydra.job.override_dirname} (the default) or ${hydra.job.num}"
    )
    with pytest.raises(UserError, match=r"Missing mandatory value: hydra.runtime.output_dir"):
        preflight([*sweep, "hydra.sweep.subdir=${hydra.runtime.output_dir}_${hydra.job.num}"])
    assert not (tmp_path / "s").exists()
    inside = "hydra.sweep.subdir=${experiment_name}/${hydra.runtime.choices.policy}_"
    inside += "${hydra.job.num}"
    assert len(preflight([*sweep, inside])) == 2


@pytest.mark.parametrize(
    ("swept", "subdir", "folder", "jobs"),
    [
        ("seed=0,1", "${hydra.runtime.choices.policy}", "behaviour_rules", "#1 and #2 of 2"),
        # Variants of the same check run in make test-slow (every landing runs them too).
        pytest.param(
            "seed=0,1",
            "${hydra:runtime.choices.policy}",
            "behaviour_rules",
            "#1 and #2 of 2",
            marks=pytest.mark.slow,
        ),
        pytest.param(  # the year, as a prefix
            "seed=0,1", "run_${now:%Y}", "run_2", "#1 and #2 of 2", marks=pytest.mark.slow
        ),
        pytest.param(
            "policy=static,sme_aware", "s${seed}", "s0", "#1 and #2 of 2", marks=pytest.mark.slow
        ),
        # A key inside the group the jobs choose: each job's own config is composed.
        ("policy=static,sme_aware seed=0,1", "${policy.name}", "static", "#1 and #2 of 4"),
        pytest.param(
            "policy=static,sme_aware seed=0,1",
            "x${oc.select:seed}",
            "x0",
            "#1 and #3 of 4",
            marks=pytest.mark.slow,
        ),
        (
            "policy=static,sme_aware seed=0,1 experiment_name=x${seed}",
            "${experiment_name}",
            "x0",
            "#1 and #3 of 4",
        ),
    ],
)
def test_a_subdir_alike_for_two_jobs_is_refused_before_the_first(
    tmp_path: Path, swept, subdir, folder, jobs
):
    # Such a subdir was met by job 2 at job 1's finished folder: a half-made sweep, advice
    # (resume=true) that did not fit, and job 1's .hydra/ record written over. A subdir
    # reading a key inside a swept group was not checked at all.
    sweep = ["-m", *swept.split(), *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    with pytest.raises(UserError) as err:
        preflight([*sweep, f"hydra.sweep.subdir={subdir}"])
    message = str(err.value)
    first, _, rest = jobs.partition(" and ")
    second, _, total = rest.partition(" of ")
    assert message.startswith(f"invalid sweep: sweep jobs {first} (")
    assert f") and {second} (" in message
    assert f"of {total} would write the same run folder {folder}" in message
    assert "hydra.sweep" not in message.split(": hydra.sweep.subdir must")[0]  # jobs' own
    assert "\\{" not in message  # as typed, not as Hydra's sweeper escapes it
    assert message.endswith(
        "hydra.sweep.subdir must name each job's own folder "
        "(with ${hydra.job.override_dirname} or ${hydra.job.num})"
    )
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("swept", "subdir"),
    [
        # Variants of the same check run in make test-slow (every landing runs them too).
        pytest.param(
            "policy=static,sme_aware", "${hydra.runtime.choices.policy}", marks=pytest.mark.slow
        ),
        ("policy=static,sme_aware", "${hydra:runtime.choices.policy}"),  # was refused
        pytest.param("seed=0,1", "s${seed}", marks=pytest.mark.slow),
        ("policy=static,sme_aware", "${policy.name}"),
        pytest.param("seed=0,1", "${oc.select:seed}_x", marks=pytest.mark.slow),
        # A key added with +: was refused as not found in the sweep's config.
        (
            "policy=counter_cyclical +policy.base.delinquency_cut=0.3,0.4",
            "c${policy.base.delinquency_cut}",
        ),
    ],
)
def test_a_subdir_of_each_jobs_own_values_passes(tmp_path: Path, swept, subdir):
    sweep = ["-m", *swept.split(), *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    assert len(preflight([*sweep, f"hydra.sweep.subdir={subdir}"])) == 2


def test_resume_named_in_run_folders_is_refused(tmp_path: Path):
    # An exclude_keys list given on the command line without resume: a resumed sweep's
    # folders were named run_resume=true,... and every finished run ran again.
    sweep = ["-m", "seed=0,1", *RUN, f"hydra.sweep.dir={tmp_path / 's'}"]
    mine = ["hydra.job.config.override_dirname.exclude_keys=[n_months]"]
    assert len(preflight([*sweep, *mine])) == 2  # a first sweep is not affected
    with pytest.raises(UserError) as err:
        preflight([*sweep, *mine, "resume=true"])
    assert str(err.value) == (
        "invalid sweep: resume is not in hydra.job.config.override_dirname.exclude_keys "
        "([n_months]), so the run folders would be named anew and no finished run found: "
        "give hydra.job.config.override_dirname.exclude_keys=[resume,n_months] (the list the "
        "sweep was started with, resume added)"
    )
    # Folders not named by the overrides: the list names none, resume passes.
    numbered = "hydra.sweep.subdir=${hydra.job.num}"
    assert len(preflight([*sweep, *mine, numbered, "resume=true"])) == 2
    fixed = ["hydra.job.config.override_dirname.exclude_keys=[resume,n_months]"]
    inside = "hydra.sweep.subdir=a/../${hydra.job.num}"  # a subdir inside the sweep folder
    assert len(preflight([*sweep, *fixed, inside, "resume=true"])) == 2


def test_a_long_name_from_an_option_names_that_option(tmp_path: Path, monkeypatch):
    # The default run folder is outputs/${experiment_name}/<time>: a long experiment name
    # was blamed on hydra.run.dir alone, which the user never set.
    monkeypatch.chdir(tmp_path)
    limit = name_max(tmp_path)
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"experiment_name={'e' * (limit + 1)}"])
    assert str(err.value) == (
        "output folder hydra.run.dir = outputs/${experiment_name}/${now:%Y-%m-%d_%H-%M-%S-%f}: "
        f"a name of {limit + 1} bytes ({'e' * 40}...), more than the {limit} this file system "
        "allows: choose a shorter one (experiment_name=... or hydra.run.dir=...)"
    )
    assert list(tmp_path.iterdir()) == []


def test_paths_the_system_cannot_take_are_refused(tmp_path: Path):
    # Each was an OSError or Hydra traceback: a link to a folder that does not exist, a
    # whole path over PATH_MAX (every name under NAME_MAX), a ${hydra...} key mistyped.
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={tmp_path / 'link' / 'run'}"])
    assert str(err.value) == (
        f"output folder {tmp_path / 'link' / 'run'} is inside {tmp_path / 'link'}, a link to "
        f"{tmp_path / 'nowhere'}, which does not exist: choose another folder "
        "(hydra.run.dir=...)"
    )
    deep = tmp_path.joinpath(*["d" * 200] * 20)
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={deep}"])
    assert str(err.value) == (
        f"output folder hydra.run.dir: a path of {len(str(deep).encode())} bytes "
        f"({str(deep)[:40]}...), more than the {4095 - 64} this file system allows, 64 kept "
        "for the files written in it: choose a shorter one (hydra.run.dir=...)"
    )
    mistyped = f"{tmp_path}/run_${{hydra.job.nmae}}"
    with pytest.raises(UserError) as err:
        preflight([*RUN, f"hydra.run.dir={mistyped}"])
    assert str(err.value) == (
        f"output folder hydra.run.dir={mistyped}: hydra.job.nmae is not a key of the config: "
        "choose another folder (hydra.run.dir=...)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link"]


def test_a_sweep_whose_run_folders_paths_are_too_long_is_refused(tmp_path: Path):
    # The sweep folder's path fits, its runs' do not: Hydra's mkdir failed with a traceback
    # after multirun.yaml and the first run's .hydra/ were written.
    deep = tmp_path
    while len(str(deep).encode()) < 4000:  # a path of 4,000 bytes, names of 200 at most
        deep = deep / ("s" * max(1, min(200, 4000 - len(str(deep).encode()) - 1)))
    name = "run_n_months=1,population.n_borrowers=200,seed=0"
    whole = f"{deep}/{name}"
    assert len(str(deep).encode()) + 64 <= 4095 < len(whole.encode()) + 64
    with pytest.raises(UserError) as err:
        preflight(["-m", "seed=0,1", *RUN, f"hydra.sweep.dir={deep}"])
    assert str(err.value) == (
        f"invalid sweep: sweep job #1 of 2 would write its run folder at a path of "
        f"{len(whole.encode())} bytes ({whole[:40]}...), more than the {4095 - 64} this file "
        "system allows, 64 kept for the files written in it: choose a shorter "
        "hydra.sweep.dir, or shorter run folder names (hydra.sweep.subdir)"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_quoted_tilde_is_refused_where_it_names_no_home_folder(tmp_path: Path, monkeypatch):
    # Hydra and pathlib make a folder named '~' here, pandas writes into the home folder:
    # compare failed with a traceback, the demo wrote its runs in ./~ and read from $HOME.
    from experiments import compare

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        preflight([*RUN, 'hydra.run.dir="~/x"'])
    assert str(err.value) == (
        "output folder ~/x starts with '~', which names a folder '~' here, not a home folder "
        "(the shell expands it only unquoted): choose another folder (hydra.run.dir=...)"
    )
    (tmp_path / "sweep").mkdir()
    assert compare.main([str(tmp_path / "sweep"), "--out", "~/report"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
