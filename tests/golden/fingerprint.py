"""Fingerprints of a run: every output table and every final state array.

A fingerprint of one array is its SHA-256 (exact, for the default stack) plus three sums
(plain, absolute, and weighted by position) that are compared with a relative tolerance
on other stacks, where NumPy may differ in the last digit.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

#: The reference set: 2 seeds x 4 policies x 2 scenarios, 3,000 borrowers x (12 burn-in +
#: 24) months.
SEEDS = (11, 12)
POLICIES = ("behaviour_rules", "exposure_cap", "sme_aware", "champion_challenger")
SCENARIOS = ("baseline", "covid_shock")
SIZE = ("population.n_borrowers=3000", "n_months=24", "burn_in_months=12", "output.plots=false")


def runs() -> list[tuple[str, list[str]]]:
    """``(key, overrides)`` of every reference run."""
    out = []
    for seed in SEEDS:
        for policy in POLICIES:
            for scenario in SCENARIOS:
                key = f"{policy}/{scenario}/seed={seed}"
                run = [*SIZE, f"policy={policy}", f"scenario={scenario}", f"seed={seed}"]
                out.append((key, run))
    return out


def array_print(values: np.ndarray) -> dict[str, Any]:
    """Hash and sums of one array (booleans and integers as float64 for the sums)."""
    a = np.ascontiguousarray(values)
    if a.dtype == object:
        a = a.astype(str)
    if a.dtype.kind in "US":
        digest = hashlib.sha256("\x1f".join(map(str, a.ravel())).encode()).hexdigest()
        return {"sha256": digest, "shape": list(a.shape), "dtype": "str"}
    digest = hashlib.sha256(a.tobytes()).hexdigest()
    x = a.astype(np.float64).ravel()
    finite = np.where(np.isfinite(x), x, 0.0)
    weights = np.arange(1, x.size + 1, dtype=np.float64)
    return {
        "sha256": digest,
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "sum": float(finite.sum()),
        "abs_sum": float(np.abs(finite).sum()),
        "weighted_sum": float((finite * weights).sum()),
        "n_nan": int(np.isnan(x).sum()),
    }


def table_print(df: pd.DataFrame) -> dict[str, Any]:
    """Column names and one :func:`array_print` per column."""
    cols = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            cols[str(c)] = array_print(s.astype(str).to_numpy())
        else:
            cols[str(c)] = array_print(s.to_numpy())
    return {"columns": [str(c) for c in df.columns], "n_rows": len(df), "values": cols}


def _arrays_of(obj: Any, prefix: str) -> dict[str, np.ndarray]:
    out = {}
    for name, value in sorted(vars(obj).items()):
        if not name.startswith("_") and isinstance(value, np.ndarray):
            out[f"{prefix}.{name}"] = value
    return out


def state_arrays(model: Any) -> dict[str, np.ndarray]:
    """Every final state array of a model: borrowers, firms, network, lenders, platform.

    This is the one place that knows where a model keeps its state; a restructure that
    moves state updates this function, never the stored fingerprints.
    """
    from sim.lending.channels import ACCOUNT_FIELDS

    out: dict[str, np.ndarray] = {}
    out |= _arrays_of(model.borrowers, "borrowers")
    out |= _arrays_of(model.firms, "firms")
    out |= _arrays_of(model.network, "network")
    ch = model.channels
    out |= _arrays_of(ch, "channels")
    out.pop("channels.slot_of", None)  # storage layout, not state
    for field in ACCOUNT_FIELDS:
        out[f"channels.accounts.{field}"] = ch.table(field)
    out["platform.cash_cny"] = np.array([model.platform_cash_cny])
    return out


def fingerprint(model: Any, run_id: str) -> dict[str, Any]:
    """Fingerprint of a finished run: its tables and its final state arrays."""

    tables = model.tables(run_id)
    return {
        "tables": {name: table_print(df) for name, df in sorted(tables.items())},
        "state": {name: array_print(a) for name, a in sorted(state_arrays(model).items())},
    }


def compute_one(overrides: list[str]) -> dict[str, Any]:
    """Run one reference run (its overrides from :func:`runs`); its fingerprint."""
    from sim.model import CreditMarketModel
    from sim.runtime.compose import load_run_config

    model = CreditMarketModel(load_run_config(overrides)).run()
    out = fingerprint(model, "golden")
    model.close()
    return out


def compute_all() -> dict[str, Any]:
    """Run the reference set; ``{run key: fingerprint}``."""
    return {key: compute_one(overrides) for key, overrides in runs()}
