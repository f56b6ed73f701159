"""The golden reference: 16 runs whose every table and final state array must not move.

Exact (SHA-256) on the stack that wrote the reference; on another Python/NumPy stack the
sums of every column and array are compared at a relative tolerance of 1e-9 (NumPy
versions may differ in the last digit of a float; integer and text columns stay exact).
Regenerate only on purpose: ``.venv/bin/python tests/golden/regenerate.py`` and a line in
CHANGELOG.md saying what moved and why.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pytest

from tests.golden.fingerprint import compute_one, runs

REFERENCE = Path(__file__).parent / "golden" / "reference.json"
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


#: The reference runs by key: one test each (so that parallel test processes share them).
RUNS = dict(runs())


def _same_stack(reference: dict) -> bool:
    stack = reference["stack"]
    return stack["python"] == platform.python_version() and stack["numpy"] == np.__version__


def _differences(ref: dict, new: dict, exact: bool, where: str) -> list[str]:
    out = []
    for name in sorted(set(ref) | set(new)):
        if name not in ref or name not in new:
            out.append(f"{where}.{name}: {'added' if name in new else 'missing'}")
            continue
        a, b = ref[name], new[name]
        if a["shape"] != b["shape"] or a["dtype"] != b["dtype"]:
            before, after = f"{a['shape']} {a['dtype']}", f"{b['shape']} {b['dtype']}"
            out.append(f"{where}.{name}: shape/dtype {before} -> {after}")
        elif exact or a["dtype"] == "str" or a["dtype"][0] in "iub":
            if a["sha256"] != b["sha256"]:
                out.append(f"{where}.{name}: values differ")
        else:
            for k in ("sum", "abs_sum", "weighted_sum"):
                if b[k] != pytest.approx(a[k], rel=REL_TOL, abs=1e-9):
                    out.append(f"{where}.{name}: {k} {a[k]!r} -> {b[k]!r}")
            if a["n_nan"] != b["n_nan"]:
                out.append(f"{where}.{name}: NaN count {a['n_nan']} -> {b['n_nan']}")
    return out


def test_the_reference_holds_every_run(reference: dict) -> None:
    assert sorted(RUNS) == sorted(reference["runs"])


@pytest.mark.parametrize("key", sorted(RUNS))
def test_golden_reference_is_unchanged(reference: dict, key: str) -> None:
    exact = _same_stack(reference)
    ref, new = reference["runs"][key], compute_one(RUNS[key])
    problems: list[str] = []
    for table, tref in ref["tables"].items():
        tnew = new["tables"].get(table)
        if tnew is None:
            problems.append(f"{key} {table}: table missing")
            continue
        if tnew["columns"] != tref["columns"] or tnew["n_rows"] != tref["n_rows"]:
            problems.append(f"{key} {table}: columns or row count changed")
            continue
        problems += _differences(tref["values"], tnew["values"], exact, f"{key} {table}")
    problems += _differences(ref["state"], new["state"], exact, f"{key} state")
    assert not problems, f"{len(problems)} differences, first: " + "; ".join(problems[:15])


def test_the_reference_covers_firms_lenders_and_limit_changes(reference: dict) -> None:
    # The safety net is only as good as what it exercises.
    run = reference["runs"]["behaviour_rules/covid_shock/seed=11"]
    assert run["tables"]["events"]["n_rows"] > 100
    assert run["state"]["firms.cash_cny"]["abs_sum"] > 0
    assert run["state"]["channels.accounts.balance_cny"]["abs_sum"] > 0
    assert run["tables"]["monthly"]["n_rows"] == 24
