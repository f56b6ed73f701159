"""Notebooks are stored clean; the README's runnable commands run."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_expected_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01-quickstart.ipynb",
        "02-policy-comparison.ipynb",
        "03-calibration-and-validation.ipynb",
        "04-sme-cash-flow-stress.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs_and_with_kernel_python3(path: Path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name} has stored outputs"
            assert cell.get("execution_count") is None, f"{path.name} has execution counts"


def runnable_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- runnable -->\s*```(?:bash|sh)\n(.*?)```", text, re.DOTALL)
    commands = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [
            line.split("  #")[0].strip()
            for line in joined.splitlines()
            if line.strip() and not line.startswith("#")
        ]
    return commands


def test_readme_marks_runnable_commands():
    assert len(runnable_commands()) >= 3


def run_readme_commands(folder: Path) -> None:
    """Run the README's runnable commands, as written, in ``folder``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in runnable_commands():
        argv = shlex.split(command)
        if argv[0] == "make":
            continue  # the set-up commands themselves (they run this suite)
        if argv[0].endswith("python"):
            argv[0] = sys.executable
        done = subprocess.run(
            argv, cwd=folder, capture_output=True, text=True, env=env, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"


@pytest.mark.slow
def test_readme_runnable_commands_run_as_written(tmp_path: Path):
    # Every command exactly as written (options, groups, sweep syntax, the compare step),
    # at its sizes: slow, so only in `make test-slow`.
    run_readme_commands(tmp_path)
    assert (tmp_path / "multirun" / "readme" / "report" / "report.md").is_file()


def test_readme_runnable_python_runs(tmp_path: Path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- runnable -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert blocks, "the README shows no runnable Python example"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for code in blocks:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
        assert "DELINQUENCY" in done.stdout
