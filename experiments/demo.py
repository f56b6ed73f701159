"""The demo: every registered policy x the baseline scenario x 5 seeds, then the comparison.

    python -m experiments.demo                 # what `make demo` runs
    python -m experiments.demo --seeds 10 --borrowers 50000 --months 60

Prints its expected duration (estimated from the sizes:
:func:`sim.runtime.resources.estimate_sweep_seconds` and :func:`estimate_compare_seconds`,
plus the numba kernels' one-time compilation when their cache is empty, as on a fresh
clone: :func:`sim.runtime.resources.estimate_compile_seconds`), and a warning when other
work already keeps the cores busy,
runs the Hydra entry point as a multirun (joblib launcher: local parallel jobs) on the
shipped default config and the bundled UCI data, printing one line per finished run
(``[done/total] ...``), then ``experiments.compare`` on the sweep folder (which says what
it is doing), and prints where the outputs and the report are.

Its own options are checked first (one line naming the option, exit code 2), ``--out``
too (:func:`_out_problem`: the sweep's own check names ``hydra.sweep.dir``).
"""

from __future__ import annotations

import signal
import sys

from experiments.cli import exit_not_started

if __name__ == "__main__":
    # Ctrl-C while the libraries below are imported (a second or two): the same one line
    # as later, not an import's traceback; the default handler is back before any work.
    signal.signal(signal.SIGINT, exit_not_started)
    signal.signal(signal.SIGTERM, exit_not_started)  # `kill`, as Ctrl-C

import argparse
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from experiments.cli import INTERRUPTED_EXIT, RESUME_COMMAND_ENV, OneLineParser
from sim.config.paths import CONF_DIR
from sim.platform.policies import policy_names
from sim.runtime.resources import estimate_compile_seconds, estimate_sweep_seconds

#: Exit code when the demo's output is closed early (``| head``): 128 + SIGPIPE, as shells
#: report a command that SIGPIPE ended.
BROKEN_PIPE_EXIT = 141


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m experiments.demo",
        description="Every registered policy x the baseline scenario x N seeds on the "
        "default config and the bundled UCI data, then the comparison report.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds per policy, >= 1")
    parser.add_argument(
        "--borrowers", type=int, default=20_000, help="borrowers per run (population.n_borrowers)"
    )
    parser.add_argument(
        "--months", type=int, default=36, help="months of the comparison window (n_months)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="parallel jobs (joblib), >= 1; at most the runs"
    )
    parser.add_argument(
        "--policies", default=",".join(policy_names()), help="comma-separated policy names"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        # "%(default).0s" prints nothing; it keeps the formatter from adding "(default: None)".
        help="sweep folder (default: a new one under multirun/demo)%(default).0s",
    )
    args = parser.parse_args(argv)
    # What the demo itself decides is checked here; the config's ranges (--borrowers,
    # --months) by the sweep's own check of every job, before anything is written.
    for option, value in (("--seeds", args.seeds), ("--jobs", args.jobs)):
        if value < 1:
            parser.error(f"{option} {value}: must be >= 1")
    known = sorted(p.stem for p in (CONF_DIR / "policy").glob("*.yaml"))
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in known]
    if not policies or unknown or len(set(policies)) < len(policies):
        what = f"unknown {unknown}" if unknown else "a policy named twice"
        what = what if policies else "names no policy"
        parser.error(f"--policies {args.policies!r}: {what}; the policies: {', '.join(known)}")
    if BASELINE not in policies:  # the comparison pairs every policy with it
        parser.error(
            f"--policies {args.policies!r}: the comparison pairs every policy with "
            f"{BASELINE!r}, so it must be among them"
        )
    n_runs = len(policies) * args.seeds
    # A worker beyond the runs would sit idle, yet count in the sweep's memory check.
    args.jobs = min(args.jobs, n_runs)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    sweep_dir = args.out or Path("multirun") / "demo" / f"{stamp}-{time.time_ns() % 10**6:06d}"
    folder = f"hydra.sweep.dir={_hydra_value(sweep_dir)}"
    sizes = [f"population.n_borrowers={args.borrowers}", f"n_months={args.months}"]
    if args.out is not None:  # the sweep's own check would name hydra.sweep.dir
        # The sweep's first job; resume=true as an existing folder gets below.
        first = [f"policy={policies[0]}", "seed=0", *sizes, "experiment_name=demo"]
        problem = _out_problem(args.out, [*first, folder, "resume=true"])
        if problem:
            parser.error(problem)
    cmd = [
        sys.executable,
        "-m",
        "experiments.run",
        "-m",
        f"policy={','.join(policies)}",
        f"seed=range(0,{args.seeds})",
        *sizes,
        "output.plots=false",
        "experiment_name=demo",
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={args.jobs}",
        folder,
        # Finishing a stopped demo (--out <its folder>) keeps its finished runs.
        *(["resume=true"] if sweep_dir.is_dir() else []),
    ]
    t0 = time.time()
    # The sweep starts at once: its start-up (imports, checking every job) overlaps the
    # estimate below and the comparison's imports. Each job prints one "[done/total] ..."
    # line when it finishes (experiments.run); Hydra's own launch log is left out. A bad
    # option is refused by the sweep's own check, before anything is written.
    # Ctrl-C's line (experiments.run) names this command, with the folder, to finish it.
    rest = list(sys.argv[1:] if argv is None else argv)
    if args.out is None:
        rest += ["--out", str(sweep_dir)]
    resume = shlex.join([sys.executable, "-m", "experiments.demo", *rest])
    env = {**os.environ, RESUME_COMMAND_ENV: resume}
    # Ctrl-C is held while the sweep starts, so that it arrives once `sweep` exists (and is
    # passed on to it below). The sweep inherits it held and takes it only once its own
    # handler is set (experiments.run's first statements): one that reached it earlier,
    # while its interpreter started, stays pending until then instead of being lost.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        sweep = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    with sweep:
        assert sweep.stdout is not None
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            _announce(args, cmd, n_runs, len(policies))
            from experiments import compare  # while the sweep starts: one core is free

            for line in sweep.stdout:
                if _JOB_LINE.match(line):
                    print(f"{line.rstrip()} (at {time.time() - t0:.0f} s)", flush=True)
        except KeyboardInterrupt:
            _stop_interrupted(sweep)
            # The sweep is done and said so: end here. Through the interpreter's shutdown
            # the demo sometimes ended as killed by the signal (exit -2 instead of 130, in a
            # stress test of Ctrl-C at start-up; the cause was not found).
            sys.stdout.flush()
            os._exit(INTERRUPTED_EXIT)
        except BrokenPipeError:
            # Its reader stopped reading (`... | head`): the sweep stops as after `kill`
            # (its workers too), and the demo ends quietly, as a command killed by SIGPIPE.
            sweep.terminate()
            sweep.wait()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            os._exit(BROKEN_PIPE_EXIT)
        except BaseException:
            sweep.terminate()  # no sweep left running without the demo (it stops as on kill)
            raise
    from sim.runtime.errors import USER_ERROR_EXIT  # after the sweep started: pandas

    if sweep.returncode == USER_ERROR_EXIT:
        print(
            f"demo: nothing was run (exit {sweep.returncode}): see the error above "
            "(--borrowers sets population.n_borrowers, --months n_months, --jobs "
            "hydra.launcher.n_jobs)"
        )
        return sweep.returncode
    if sweep.returncode != 0:
        print(f"the sweep failed (exit {sweep.returncode}); finished runs are kept in {sweep_dir}")
        return sweep.returncode
    report = [str(sweep_dir), "--baseline", BASELINE, "--formats", "png,svg"]
    try:
        print(f"sweep finished in {time.time() - t0:.0f} s: {sweep_dir}", flush=True)
        # Every run is complete: the shared burn-ins (sim.runtime.burn_in) have served.
        from sim.runtime.burn_in import BURN_IN_FOLDER

        shutil.rmtree(sweep_dir / BURN_IN_FOLDER, ignore_errors=True)
        return compare.main(report, raise_interrupt=True)
    except KeyboardInterrupt:
        print(
            f"interrupted: every run in {sweep_dir} is complete; to write the report: "
            + shlex.join([sys.executable, "-m", "experiments.compare", *report]),
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(INTERRUPTED_EXIT) from None


#: The policy the demo's comparison pairs every other with (``compare --baseline``).
BASELINE = "static"

#: Bytes kept below ``--out`` for the sweep's own paths: a run's folder (``run_`` and its
#: overrides), its ``.hydra/`` and an atomic write's ``.tmp-<12 hex>-<table>.parquet``.
SWEEP_PATH_ROOM = 256


def _out_problem(out: Path, job: list[str]) -> str:
    """What is wrong with ``--out``, as one line naming it; "" if nothing.

    Names and path the system takes, a folder that can be made; an existing one as the
    sweep checks it (:func:`sim.runtime.output_folder.check_output_folder` on ``job``).
    """
    from sim.outputs.folders import check_creatable, check_path_lengths, not_a_folder

    try:
        check_path_lengths(out, room=SWEEP_PATH_ROOM)
    except ValueError as err:
        return f"--out: {err}: choose a shorter one"
    where = not_a_folder(out)
    if where:
        return f"--out {out} {where}: choose another folder"
    try:
        check_creatable(out)
    except ValueError as err:
        return f"--out {out}: {err}: choose another folder"
    if not out.is_dir():
        return ""
    from hydra import initialize_config_dir

    from sim.config import register_configs
    from sim.interrupts import HELD_SIGNALS
    from sim.runtime.errors import UserError
    from sim.runtime.output_folder import check_output_folder

    register_configs()
    # Ctrl-C held while Hydra composes (it can swallow one): it arrives after.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            check_output_folder("config", job, multirun=True, named="--out")
    except UserError as err:
        return str(err).replace("that sweep's overrides", "the demo options it was started with")
    except Exception:  # noqa: BLE001 - not the folder's: the sweep's own check says it
        pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return ""


def _hydra_value(folder: Path) -> str:
    r"""``folder`` quoted as a Hydra override's value that reads back as the same text.

    Unquoted, ``a,b`` was a sweep over two folders, ``null`` none, ``~``, ``é`` or a quote
    an error and ``${x}`` an interpolation. A quote and the backslashes before it or at
    the end are escaped, and ``${`` is written as OmegaConf's ``\${``.
    """
    text = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), str(folder))
    return "'" + text.replace("${", "\\${") + "'"


def _stop_interrupted(sweep: subprocess.Popen[str], grace_s: float = 60.0) -> None:
    """Let the sweep stop after Ctrl-C: it stops its workers and prints its one line.

    A terminal's Ctrl-C reaches the sweep too (one process group); a SIGINT sent to the
    demo alone is passed on. Killing the sweep at once (as before) left its joblib
    workers running without it. Only a sweep still running after ``grace_s`` is killed.
    """
    try:
        sweep.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        sweep.send_signal(signal.SIGINT)
    try:
        sweep.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        sweep.kill()
        sweep.wait()


def _announce(args: argparse.Namespace, cmd: list[str], n_runs: int, n_policies: int) -> None:
    """Print the demo's size, its expected duration and a busy-machine warning."""
    from sim.runtime.compose import load_run_config

    try:
        run = load_run_config(
            [f"population.n_borrowers={args.borrowers}", f"n_months={args.months}"]
        )
    except Exception as err:  # the sweep's own check names the bad option, on stderr
        from sim.interrupts import interrupt_behind

        interrupt = interrupt_behind(err)  # OmegaConf may wrap a Ctrl-C in its own error
        if interrupt is not None:
            raise interrupt from None
        print("demo: checking the options ...", flush=True)
        return
    # share_burn_in: one burn-in per seed, whatever the policies.
    sweep_s = estimate_sweep_seconds([run] * n_runs, args.jobs, burn_ins=args.seeds)
    compare_s = estimate_compare_seconds(n_runs, n_policies)
    compile_s = estimate_compile_seconds()
    compile_note = (
        f" + {_minutes(compile_s)} to compile the numba kernels, once: their cache is empty"
        if compile_s > 0
        else ""
    )
    print(
        f"demo: {_count(n_runs, 'run')} ({_count(n_policies, 'policy', 'policies')} x "
        f"{_count(args.seeds, 'seed')}, {args.borrowers:,} borrowers x "
        f"{_count(args.months, 'month')}) on {_count(args.jobs, 'parallel job')}, then the "
        f"comparison; expected duration about {_minutes(sweep_s + compare_s + compile_s)} "
        f"({_minutes(sweep_s)} of runs + {_minutes(compare_s)} of comparison{compile_note}; "
        "more on a busy machine)",
        flush=True,
    )
    busy = _busy_note(args.jobs)
    if busy:
        print(busy, flush=True)
    print("running:", shlex.join(cmd), flush=True)  # as a shell takes it


#: Seconds of ``experiments.compare`` besides its runs and policies (imports, set-up).
COMPARE_FIXED_SECONDS = 3.0
#: Seconds per run (reading its tables, its share of the effects on the treated) and per
#: policy (its figure panels).
COMPARE_RUN_SECONDS = 0.1
COMPARE_POLICY_SECONDS = 0.5


def estimate_compare_seconds(n_runs: int, n_policies: int) -> float:
    """Rough wall time of ``experiments.compare`` on a sweep, seconds.

    ``COMPARE_FIXED_SECONDS + COMPARE_RUN_SECONDS x runs + COMPARE_POLICY_SECONDS x
    policies``, from the demo (45 runs of 9 policies: 12.7-13.6 s, of which 3.3-3.4 s
    reading the runs, then the figures in a second process while the effects on the
    treated are computed, on the 2-core machine of ``docs/performance.md`` at load
    average 1.3-1.9; one process: about 21 s).
    """
    return (
        COMPARE_FIXED_SECONDS + COMPARE_RUN_SECONDS * n_runs + COMPARE_POLICY_SECONDS * n_policies
    )


_JOB_LINE = re.compile(r"^\[\d+/(\d+|\?)\] ")


#: Smallest slowdown worth a warning (below it, the estimate's own spread covers it).
BUSY_WARNING_FACTOR = 1.5


def busy_factor(load: float, cores: int, jobs: int) -> float:
    """How much slower the demo's jobs run beside ``load`` runnable processes, >= 1.

    ``jobs`` busy workers beside ``load`` other runnable processes (the load average
    before the demo starts) share ``cores`` cores: each gets ``cores / (load + jobs)`` of
    a core if that is below 1, against ``cores / jobs`` (at most 1) on an idle machine.
    E.g. 2 jobs on 2 cores at load 2.7: (2.7 + 2) / 2 = 2.35; at load 0.5: 1.25.
    """
    cores, jobs = max(cores, 1), max(jobs, 1)
    return max(1.0, (load + jobs) / cores) / max(1.0, jobs / cores)


def _busy_note(jobs: int) -> str:
    """A warning when other processes would slow the demo's ``jobs`` workers, else ""."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return ""
    factor = busy_factor(load, cores, jobs)
    if factor < BUSY_WARNING_FACTOR:
        return ""
    return (
        f"demo: this machine is busy (load average {load:.1f} on {cores} cores, beside the "
        f"demo's {_count(jobs, 'job')}): expect it to take up to about {factor:.1f}x as long"
    )


def _count(n: int, word: str, plural: str = "") -> str:
    """``1 seed``, ``2 seeds`` (``plural`` where adding s is wrong)."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    try:
        # The imports are done. Inside the try: a Ctrl-C that came during the last import
        # is handled by the handler set when Python gets to it, which may be this one.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # `kill` (SIGTERM, as a scheduler sends at a time limit) stops it as Ctrl-C does:
        # its one line, the same clean-up (a sweep's workers, a half-written file).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        code = main()
    except KeyboardInterrupt:  # outside the sweep and the comparison: before either
        exit_not_started(signal.SIGINT)  # the line, then os._exit (as above)
    raise SystemExit(code)
