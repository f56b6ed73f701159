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


#: Rare-event rates whose window drift exceeds their sampling error (a known defect: the
#: default and 90+ DPD rates step down by about 17 % three years into the window as the
#: starting book's riskiest accounts leave; see issue 16's closing note).
DRIFTING = ("dpd90_share", "default_rate")


@pytest.fixture(scope="module")
def default_book():
    config = make_run(
        "policy=static", "n_months=72", "burn_in_months=24", "population.n_borrowers=20000"
    )
    return stationarity(config, seeds=5, tolerance=0.05)


@pytest.mark.slow
def test_default_book_is_stationary_after_burn_in(default_book):
    """Every headline metric's trailing 12-month mean stays within 5 % of its long-run level
    (or its sampling error) over a 72-month window after the default burn-in, under
    `static` (5 seeds x 20,000 borrowers)."""
    table = default_book.table
    assert set(table["metric"]) == set(STATIONARY_METRICS)
    steady = table[~table["metric"].isin(DRIFTING)]
    bad = steady[~steady["stationary"]]
    assert bad.empty, bad.to_string()
    # Levels: the book keeps its size (20,000 lines at the start) and its firms.
    level = table.set_index("metric")["long_run_level"]
    assert 19_000 < level["n_open_lines"] < 21_500


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known defect: the rare-event rates drift (issue 16)")
def test_default_and_dpd90_rates_are_stationary_after_burn_in(default_book):
    table = default_book.table.set_index("metric")
    assert table.loc[list(DRIFTING), "stationary"].all()
