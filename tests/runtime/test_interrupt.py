"""Ctrl-C during a sweep: one line saying the finished runs are kept and how to resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.outputs.files import COMPLETE_MARKER

ROOT = Path(__file__).resolve().parents[2]


# The launchers: Hydra's basic one runs the jobs in this process, joblib in workers (the
# command then runs no job itself: the sweeper's folder names the sweep).
LAUNCHERS = [
    pytest.param([], "seed=0,1", "[1/2]", id="basic"),
    pytest.param(
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], "seed=0,1,2,3", "[1/4]",
        id="joblib", marks=pytest.mark.slow,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("launcher", "seeds", "first_done"), LAUNCHERS)
def test_ctrl_c_in_a_sweep_is_one_line_naming_the_folder_and_resume(
    tmp_path: Path, launcher: list[str], seeds: str, first_done: str
):
    sweep = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["PYTHONPATH"] = str(ROOT)
    # Each job runs a few seconds (600 months of a tiny book): the ones still running when
    # the first finishes are interrupted.
    job = ["population.n_borrowers=300", "n_months=600", "burn_in_months=0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "-m", seeds, *launcher, *job,
         f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT: restore Ctrl-C's default for the run,
        # in a process group of its own, which Ctrl-C signals whole (workers included).
        preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()),
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    line = ""
    while first_done not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr == (
        f"interrupted: the finished runs in {sweep} are kept; to run the rest, run the same "
        f"command with resume=true hydra.sweep.dir={sweep}\n"
    )
    finished = len(list(sweep.rglob(COMPLETE_MARKER)))
    assert finished == 1 if not launcher else 1 <= finished < 4
