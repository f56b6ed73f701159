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


@pytest.fixture(scope="module")
def default_book():
    config = make_run(
        "policy=static", "n_months=72", "burn_in_months=24", "population.n_borrowers=20000"
    )
    return stationarity(config, seeds=10, tolerance=0.05)


@pytest.mark.slow
def test_default_book_is_stationary_after_burn_in(default_book):
    """Every headline metric's trailing 12-month mean stays within 5 % of its long-run level
    (or 3 standard errors of the seed mean, for the rare-event rates) over a 72-month
    window after the default burn-in, under `static` (10 seeds x 20,000 borrowers)."""
    table = default_book.table
    assert set(table["metric"]) == set(STATIONARY_METRICS)
    bad = table[~table["stationary"]]
    assert bad.empty, bad.to_string()
    level = table.set_index("metric")
    # Levels: the book keeps its size (20,000 lines at the start) and its firms (2,000).
    assert 19_000 < level.loc["n_open_lines", "long_run_level"] < 21_500
    assert 1_800 < level.loc["n_open_firms", "long_run_level"] < 2_200
    # The sampling band of the rare-event rates stays narrow enough to mean something.
    assert level.loc[["default_rate", "dpd90_share"], "sampling_bound"].max() < 0.2
    # The window against Ant's delinquency (C1) and JPMCI's buffer days (A1, A3, U-A4),
    # each within its stated tolerance (sim/empirical/book_targets.py).
    targets = default_book.targets
    assert targets["met"].all(), targets.to_string()


def test_sampling_band_pools_the_seed_spread_over_months():
    """Two seeds, each a constant level plus an alternating +-d: each seed's gap to its own
    level is constant, so the seed spread of the gap is 0 and only the tolerance bounds."""
    base = np.ones(60)
    seeds = [_series(base * 1.0, 12), _series(base * 1.2, 12)]
    mean = _series(base * 1.1, 12)
    _, table = summarise(mean, level_months=24, tolerance=0.05, per_seed=seeds)
    assert table.iloc[0]["sampling_bound"] == 0.05 and table.iloc[0]["stationary"]
    # One seed steps up by 0.2 at window month 25; its gap to its own level (1.2, the last
    # 12 months) is -0.2 for the 13 full-year months before the step, ramps to 0 over 11
    # months, then 0 for 13 months: pooled spread = (13 x 0.04 + 0.04 x 506 / 144) / 2 / 37
    # = 0.0089264, SE = sqrt(0.0089264 / 2) = 0.066806, band = 3 x SE / level 1.1.
    step_up = np.where(np.arange(60) < 36, 0.0, 0.2)
    seeds = [_series(base, 12), _series(base + step_up, 12)]
    mean = _series(base + step_up / 2, 12)
    _, table = summarise(mean, level_months=12, tolerance=0.05, per_seed=seeds)
    row = table.iloc[0]
    assert row["sampling_bound"] == pytest.approx(3 * 0.066806 / 1.1, rel=1e-4)
    assert row["max_window_deviation"] == pytest.approx(0.1 / 1.1) and row["stationary"]


def test_book_targets_compare_by_hand():
    """Three seeds of window means: the t interval and the widened published range."""
    from sim.empirical.book_targets import BOOK_TARGETS, compare

    values = {t.metric: [1.0, 2.0, 3.0] for t in BOOK_TARGETS}
    values["dpd90_share"] = [0.0060, 0.0062, 0.0064]  # mean 0.0062, sd 0.0002
    table = compare(pd.DataFrame(values)).set_index("metric")
    row = table.loc["dpd90_share"]
    half = 4.302653 * 0.0002 / np.sqrt(3)  # t(0.975, 2)
    assert row["model"] == pytest.approx(0.0062)
    assert row["ci_high"] == pytest.approx(0.0062 + half, rel=1e-6)
    # Met by the mean: 0.0068 x 0.9 = 0.00612 <= 0.0062; buffer days of 1-3 are far below 13.
    assert row["met"]
    assert not table.loc["buffer_days_p25", "met"]
    # A mean just outside the widened range is not met, however wide its interval.
    values["dpd90_share"] = [0.0001, 0.0060, 0.0119]  # mean 0.0060 < 0.00612
    assert not compare(pd.DataFrame(values)).set_index("metric").loc["dpd90_share", "met"]


def test_cli_refuses_bad_input_before_running(tmp_path, capsys):
    from experiments.stationarity import COULD_NOT_RUN, main

    out = tmp_path / "st"
    assert main(["--out", str(out), "population.n_borrowers=foo"]) == COULD_NOT_RUN
    assert "population.n_borrowers" in capsys.readouterr().err and not out.exists()
    assert main(["--out", "/proc/nope/st", "population.n_borrowers=100"]) == COULD_NOT_RUN
    assert "--out /proc/nope/st" in capsys.readouterr().err
    for fixed in ("policy=pd_threshold", "n_months=40"):
        with pytest.raises(SystemExit) as info:
            main(["--out", str(out), fixed])
        assert info.value.code == COULD_NOT_RUN and "--months" in capsys.readouterr().err
    assert not out.exists()
