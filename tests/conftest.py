"""Shared fixtures: small configs and models (kept small so the fast suite stays fast)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from sim.compose import load_run_config  # noqa: E402
from sim.config import RunConfig  # noqa: E402


@pytest.fixture(scope="session")
def small_overrides() -> list[str]:
    return ["population.n_borrowers=2000", "n_months=12", "output.plots=false"]


def make_run(*overrides: str) -> RunConfig:
    """A validated run config from conf/ with small defaults and the given overrides."""
    base = ["population.n_borrowers=2000", "n_months=12", "output.plots=false"]
    return load_run_config([*base, *overrides])
