"""The stationarity check: hand-built series, and the default book under `static` (slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.empirical.stationarity import STATIONARY_METRICS, stationarity, summarise
from tests.conftest import make_run


def _series(values: np.ndarray, burn_in: int) -> pd.DataFrame:
    step = np.arange(1, len(values) + 1) - burn_in
    return pd.DataFrame({"step": step, "x": values})


def test_summarise_by_hand():
    # 12 burn-in months ramping from 0.5 to ~1, then a flat 1.0 for 48 window months.
    values = np.concatenate([np.linspace(0.5, 1.0, 12, endpoint=False), np.ones(48)])
    trailing, table = summarise(_series(values, 12), level_months=24, tolerance=0.05)
    row = table.iloc[0]
    assert row["long_run_level"] == 1.0
    assert row["stationary"] and row["max_window_deviation"] == 0.0
    # The trailing mean is within 5 % once at most ~2 ramp months remain in it.
    gap = np.abs(trailing["x"].to_numpy() - 1.0)
    first = int(np.flatnonzero(gap <= 0.05)[0])
    assert row["settles_by_month"] == first + 1 - 12
    # A drifting series is not stationary: +1 % a month.
    drift = 1.0 + 0.01 * np.arange(60)
    _, table = summarise(_series(drift, 12), level_months=24, tolerance=0.05)
    assert not table.iloc[0]["stationary"]


def test_summarise_rejects_short_windows():
    with pytest.raises(ValueError, match="at least 36"):
        summarise(_series(np.ones(40), 12), level_months=24)


@pytest.mark.slow
def test_default_book_is_stationary_after_burn_in():
    """Every headline metric's trailing 12-month mean stays within 5 % of its long-run level
    over a 72-month window after the default burn-in, under `static` (5 seeds)."""
    config = make_run(
        "policy=static", "n_months=72", "burn_in_months=24", "population.n_borrowers=20000"
    )
    result = stationarity(config, seeds=5, tolerance=0.05)
    assert set(result.table["metric"]) == set(STATIONARY_METRICS)
    bad = result.table[~result.table["stationary"]]
    assert bad.empty, bad.to_string()


def test_sampling_band_widens_the_tolerance_for_noisy_series():
    rng = np.random.default_rng(0)
    months = 60
    # Three seeds of a noisy rate around 1.0 (sd 0.5 a month): trailing means of 12 months
    # wander by ~0.08 in each seed, more than 5 %, but a seed mean within 3 SE is noise.
    seeds = [_series(1.0 + 0.5 * rng.standard_normal(months), 12) for _ in range(3)]
    mean = pd.concat(seeds).groupby("step", as_index=False).mean()
    _, plain = summarise(mean, level_months=24)
    _, banded = summarise(mean, level_months=24, per_seed=seeds)
    assert banded.iloc[0]["sampling_bound"] > 0.05
    assert banded.iloc[0]["stationary"] or not plain.iloc[0]["stationary"]
    # A real drift is not excused: +2 % a month in every seed.
    drift = [
        _series(1.0 + 0.02 * np.arange(months) + 0.01 * rng.standard_normal(months), 12)
        for _ in range(3)
    ]
    mean = pd.concat(drift).groupby("step", as_index=False).mean()
    _, table = summarise(mean, level_months=24, per_seed=drift)
    assert not table.iloc[0]["stationary"]
