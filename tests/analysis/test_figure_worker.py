"""The report's figure process: the same files as drawing in the caller, errors carried."""

import contextlib
import io as io_module
import multiprocessing
import os

import matplotlib
import pytest

from experiments.compare import main
from sim.analysis.report.figure_worker import FigureWorker, _settings
from tests.analysis.test_report import _make_sweep


def _report(root, out, *extra):
    sink = io_module.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main([str(root), "--formats", "png", "--out", str(out), *extra])
    assert code == 0, sink.getvalue()
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_second_process_writes_the_same_files_as_the_caller(tmp_path):
    root = _make_sweep(tmp_path / "sweep")
    serial = _report(root, tmp_path / "serial", "--serial")
    parallel = _report(root, tmp_path / "parallel")
    figures = [p for p in serial if p.suffix == ".png"]
    assert len(figures) >= 6  # fan charts, trade-off, forest, deciles, vintage, roll rates
    assert serial.keys() == parallel.keys()
    assert [p for p in serial if serial[p] != parallel[p]] == []


def _die_in_a_worker() -> str:
    if multiprocessing.parent_process() is not None:
        os._exit(3)  # the worker process ends without an answer
    return "drawn here"


def test_worker_carries_errors_and_settings_and_a_dead_one_leaves_the_work_here():
    with FigureWorker(process=True) as worker:
        failed = worker.submit(int, "not a number")
        with matplotlib.rc_context({"lines.linewidth": 3.25}):
            seen = worker.submit(_settings)
        with pytest.raises(ValueError, match="not a number"):
            failed.result()
        assert seen.result()["lines.linewidth"] == 3.25
        died = worker.submit(_die_in_a_worker)
        with pytest.warns(UserWarning, match="figure process stopped"):
            assert died.result() == "drawn here"
        assert worker.submit(int, "17").result() == 17  # later calls: drawn here at once
    in_caller = FigureWorker(process=False).submit(int, "also not")
    with pytest.raises(ValueError, match="also not"):
        in_caller.result()


@pytest.mark.slow  # a caller process and its worker start (about 5 s)
def test_a_worker_outlives_no_caller_and_ignores_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    # A caller killed outright cannot shut its worker down: the worker, once its parent is
    # gone, exits by itself (it was left idle, about 100 MB, after `kill` on a comparison).
    caller = (
        "import os, signal\n"
        "from sim.analysis.report.figure_worker import FigureWorker\n"
        "w = FigureWorker(process=True).__enter__()\n"
        "print(w.submit(os.getpid).result(), flush=True)\n"
        "print(w.submit(signal.getsignal, signal.SIGINT).result(), flush=True)\n"
        "os._exit(9)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    # Files, not pipes: a worker left running would hold a pipe open, and the wait with it.
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        code = subprocess.run([sys.executable, "-c", caller], stdout=out, stderr=err, env=env)
    assert code.returncode == 9, (tmp_path / "err").read_text()
    worker, handler = (tmp_path / "out").read_text().split()
    assert handler == str(signal.Handlers.SIG_IGN)  # Ctrl-C is the caller's to handle
    deadline = time.monotonic() + 10
    while not _gone(int(worker)):
        if time.monotonic() > deadline:
            os.kill(int(worker), signal.SIGKILL)
            pytest.fail(f"the worker {worker} outlived its caller by 10 s")
        time.sleep(0.1)


def _gone(pid: int) -> bool:
    """Process ``pid`` has exited (a zombie not yet reaped by its new parent counts)."""
    from pathlib import Path

    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
