"""Is the book stationary after the burn-in? Trailing means of the headline metrics.

The default book is run under ``static`` for the burn-in and a long window over several
seeds; for each headline metric of :data:`STATIONARY_METRICS` the seed-mean monthly
series is smoothed by a trailing 12-month mean and compared with its long-run level (the
mean over the last ``level_months`` months of the window). A metric **settles** in the
first month from which its trailing mean stays within ``tolerance`` (relative) of the
long-run level, or within three standard errors of the seed-mean gap where sampling error
is larger (rare-event rates on a small book, see :func:`summarise`); the book is stationary
after the burn-in when every metric's trailing mean stays within that band over the
whole window (from its 12th month, the first with a full trailing year inside it).

Income and consumption per borrower are taken over every borrower in the world
(``n_borrowers`` grows with originations), savings (``mean_savings_cny``), lenders and
utilisation over the borrowers with an open line; the book's levels (open lines, open
firms, EAD) are totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config import RunConfig

#: Metric -> how it is computed from a monthly table (a column, or a ratio of columns).
STATIONARY_METRICS: dict[str, tuple[str, str | None]] = {
    "n_open_lines": ("n_open_lines", None),
    "n_open_firms": ("n_open_firms", None),
    "ead_cny": ("ead_cny", None),
    "mean_utilisation": ("mean_utilisation", None),
    "lenders_per_borrower": ("lenders_per_borrower", None),
    "multi_lender_share": ("multi_lender_share", None),
    "median_cash_buffer_days": ("median_cash_buffer_days", None),
    "dpd90_share": ("dpd90_share", None),
    "default_rate": ("default_rate", None),
    "mean_savings_cny": ("mean_savings_cny", None),
    "income_per_borrower_cny": ("income_cny", "n_borrowers"),
    "consumption_per_borrower_cny": ("consumption_cny", "n_borrowers"),
}

#: Months in the trailing mean.
TRAILING_MONTHS = 12


@dataclass
class StationarityResult:
    """Outcome of :func:`stationarity`.

    Attributes:
        series: one row per month (``step``: burn-in months <= 0) and one column per
            metric of :data:`STATIONARY_METRICS`: the seed mean.
        trailing: the trailing :data:`TRAILING_MONTHS`-month means of ``series``.
        table: one row per metric: ``long_run_level``, ``settles_by_month`` (window
            month, <= 0 inside the burn-in; NaN if never), ``max_window_deviation``
            (largest relative gap of the trailing mean from the level over the window's
            full trailing years) and ``stationary`` (that gap <= ``tolerance``).
        tolerance: the relative tolerance used.
        burn_in_months, n_seeds: the run set-up.
        targets: the window against its published levels
            (:func:`sim.empirical.book_targets.compare`; None with one seed).
    """

    series: pd.DataFrame
    trailing: pd.DataFrame
    table: pd.DataFrame
    tolerance: float
    burn_in_months: int
    n_seeds: int
    targets: pd.DataFrame | None = None

    @property
    def passed(self) -> bool:
        """Every metric stays within the tolerance over the window."""
        return bool(self.table["stationary"].all())


def metric_series(monthly: pd.DataFrame) -> pd.DataFrame:
    """The metrics of :data:`STATIONARY_METRICS` from one run's monthly table.

    Args:
        monthly: ``CreditMarketModel.monthly_table(include_burn_in=True)``.

    Returns:
        One row per month, ``step`` then one column per metric.
    """
    out = {"step": monthly["step"].to_numpy()}
    for name, (num, den) in STATIONARY_METRICS.items():
        value = monthly[num].to_numpy(dtype=float)
        if den is not None:
            value = value / monthly[den].to_numpy(dtype=float)
        out[name] = value
    return pd.DataFrame(out)


def summarise(
    series: pd.DataFrame,
    *,
    level_months: int = 24,
    tolerance: float = 0.05,
    per_seed: list[pd.DataFrame] | None = None,
    z: float = 3.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trailing means and the settle table of a metric series (see the module docstring).

    Args:
        series: :func:`metric_series` output (or a seed mean of it), sorted by ``step``.
        level_months: months at the end whose mean is the long-run level, >= 1.
        tolerance: relative tolerance, > 0.
        per_seed: each seed's :func:`metric_series` (optional; see above).
        z: standard errors of the sampling band.

    Returns:
        ``(trailing, table)``.

    With ``per_seed`` (the series of each seed, two or more), the allowed gap is the
    larger of ``tolerance`` and ``z`` standard errors of the seed-mean gap between the
    trailing value and the level, relative to the level: a rare-event rate (defaults,
    90+ DPD) cannot be pinned to 5 % by a small book. The standard error is the
    seed-to-seed spread of each seed's own gap, pooled over the window's months (under
    stationarity the spread is the same every month; a per-month spread from a handful
    of seeds is too noisy to bound anything), / sqrt(seeds). The table says which bound
    applied (``sampling_bound``).

    Raises:
        ValueError: for too short a window (fewer than ``TRAILING_MONTHS + level_months``
            window months) or bad arguments.
    """
    if level_months < 1 or not tolerance > 0:
        raise ValueError("summarise: level_months must be >= 1 and tolerance > 0")
    window = series["step"].to_numpy() >= 1
    if window.sum() < TRAILING_MONTHS + level_months:
        raise ValueError(
            f"summarise: the window has {int(window.sum())} months; at least "
            f"{TRAILING_MONTHS + level_months} are needed"
        )
    metrics = [c for c in series.columns if c != "step"]
    trailing = series.copy()
    trailing[metrics] = series[metrics].rolling(TRAILING_MONTHS, min_periods=TRAILING_MONTHS).mean()
    step = series["step"].to_numpy()
    full_window = step >= TRAILING_MONTHS  # a whole trailing year inside the window
    seed_trailing = [
        f[metrics].rolling(TRAILING_MONTHS, min_periods=TRAILING_MONTHS).mean()
        for f in (per_seed or [])
    ]
    rows = []
    for name in metrics:
        level = float(series.loc[window, name].tail(level_months).mean())
        gap = (
            np.abs(trailing[name].to_numpy() / level - 1.0) if level else np.full(len(step), np.inf)
        )
        band = np.full(len(step), tolerance)
        if len(seed_trailing) >= 2 and level:
            values = np.stack([t[name].to_numpy() for t in seed_trailing])
            seed_levels = np.array(
                [f.loc[window, name].tail(level_months).mean() for f in per_seed]
            )
            # Each seed's gap to its own level; its seed-to-seed variance, pooled over the
            # window's full-year months (constant for a stationary series), is the
            # sampling variance of the seed-mean gap (trailing mean and level both noisy).
            spread = np.var(values - seed_levels[:, None], axis=0, ddof=1)[full_window]
            if np.isfinite(spread).any():
                se = np.sqrt(np.nanmean(spread) / values.shape[0]) / abs(level)
                band = np.maximum(band, z * se)
        inside = gap <= band
        # First month from which the trailing mean stays inside (NaN gaps count as outside).
        outside_at = np.flatnonzero(~inside)
        settles = (
            step[outside_at[-1] + 1]
            if outside_at.size and outside_at[-1] + 1 < len(step)
            else (step[0] + TRAILING_MONTHS - 1 if not outside_at.size else np.nan)
        )
        worst = float(np.nanmax(gap[full_window])) if full_window.any() else np.nan
        excess = gap[full_window] - band[full_window]
        rows.append(
            {
                "metric": name,
                "long_run_level": level,
                "settles_by_month": settles,
                "max_window_deviation": worst,
                "sampling_bound": float(np.max(band[full_window])) if full_window.any() else np.nan,
                "stationary": bool(full_window.any() and np.nanmax(excess) <= 0),
            }
        )
    return trailing, pd.DataFrame(rows)


def stationarity(
    config: RunConfig,
    *,
    seeds: int = 5,
    level_months: int = 24,
    tolerance: float = 0.05,
    progress: bool = False,
) -> StationarityResult:
    """Run ``config`` (its policy, burn-in and window) over ``seeds`` seeds and summarise.

    Args:
        config: a run config (the seed is replaced by ``config.seed + i``).
        seeds: number of seeds, >= 1.
        level_months: months at the end of the window that define the long-run level.
        tolerance: relative tolerance of "settled".
        progress: print one line per finished run.

    Returns:
        The :class:`StationarityResult`.

    Raises:
        ValueError: ``seeds < 1``, or a window too short for ``level_months``.
    """
    from sim.model import CreditMarketModel

    if seeds < 1:
        raise ValueError(f"stationarity: seeds must be >= 1, got {seeds}")
    if config.n_months < TRAILING_MONTHS + level_months:
        raise ValueError(
            f"stationarity: n_months must be >= {TRAILING_MONTHS + level_months} "
            f"(trailing year + level_months), got {config.n_months}"
        )
    import dataclasses

    from sim.empirical.book_targets import compare, window_means

    frames, levels = [], []
    for i in range(seeds):
        run = dataclasses.replace(config, seed=config.seed + i)
        with CreditMarketModel(run) as model:
            model.run()
            frames.append(metric_series(model.monthly_table(include_burn_in=True)))
            levels.append(window_means(model))
        if progress:
            print(f"stationarity: run {i + 1}/{seeds} done (seed {run.seed})", flush=True)
    series = pd.concat(frames).groupby("step", as_index=False).mean()
    trailing, table = summarise(
        series, level_months=level_months, tolerance=tolerance, per_seed=frames
    )
    return StationarityResult(
        series=series,
        trailing=trailing,
        table=table,
        tolerance=tolerance,
        burn_in_months=config.burn_in_months,
        n_seeds=seeds,
        targets=compare(pd.DataFrame(levels)) if seeds >= 2 else None,
    )
