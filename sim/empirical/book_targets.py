"""The default book after the burn-in against its published levels (C1, A1, A3, U-A4).

The stationary book's delinquency is compared with Ant's consumer-credit book and its
firms' cash buffers with JPMCI's small businesses, over the comparison window only (the
burn-in left out), as the seed mean of the window means with a t interval over seeds.
Each :data:`BOOK_TARGETS` row gives the published range, the tolerance and why:

* **C1** (Ant Group prospectus, end-2017/2018/2019): 90+ DPD 0.68-1.05 % and 30+ DPD
  1.08-1.56 % of consumer-credit balances (the three year-end values are the range;
  +-10 %: Ant's book is not the UCI population the model resamples).
* **A1, U-A4** (JPMCI 2016/2018): cash buffer days of all small businesses, 25th
  percentile 13, median 27, 75th percentile 62 (US firms; +-25 %, a different country and
  firm mix).
* **A3** (JPMCI 2016, secondary): median buffer days by industry, restaurants about 16,
  retail about 19, personal services about 23 (+-25 %).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.config import RunConfig


@dataclass(frozen=True)
class BookTarget:
    """A published level the default book is compared with.

    Attributes:
        metric: the model's metric (a monthly-table column, or ``sector:<name>`` for the
            median buffer days of that sector from the ``firms`` table).
        source: CALIBRATION.md id.
        low, high: the published range (equal for a point value), in the metric's unit.
        tolerance: relative widening of the range, with ``reason``.
    """

    metric: str
    source: str
    low: float
    high: float
    tolerance: float
    reason: str


#: The targets of :func:`book_targets`.
BOOK_TARGETS: tuple[BookTarget, ...] = (
    BookTarget(
        "dpd90_share",
        "C1",
        0.0068,
        0.0105,
        0.10,
        "Ant's three year-ends; 10 %: Ant's book is not the resampled UCI population",
    ),
    BookTarget(
        "dpd30_share",
        "C1",
        0.0108,
        0.0156,
        0.10,
        "Ant's three year-ends; 10 %: Ant's book is not the resampled UCI population",
    ),
    BookTarget(
        "buffer_days_p25",
        "U-A4",
        13.0,
        13.0,
        0.25,
        "JPMCI all small businesses (US, 2015); 25 %: another country and firm mix",
    ),
    BookTarget(
        "median_cash_buffer_days",
        "A1",
        27.0,
        27.0,
        0.25,
        "JPMCI all small businesses (US, 2015); 25 %: another country and firm mix",
    ),
    BookTarget(
        "buffer_days_p75",
        "U-A4",
        62.0,
        62.0,
        0.25,
        "JPMCI all small businesses (US, 2015); 25 %: another country and firm mix",
    ),
    BookTarget(
        "sector:restaurants",
        "A3",
        16.0,
        16.0,
        0.25,
        "JPMCI restaurants (secondary quote); 25 %: another country and firm mix",
    ),
    BookTarget(
        "sector:retail",
        "A3",
        19.0,
        19.0,
        0.25,
        "JPMCI retail (secondary quote); 25 %: another country and firm mix",
    ),
    BookTarget(
        "sector:services",
        "A3",
        23.0,
        23.0,
        0.25,
        "JPMCI personal services (secondary quote); 25 %: another country and firm mix",
    ),
)


def window_means(model) -> dict[str, float]:  # noqa: ANN001 - a finished CreditMarketModel
    """The window means of every :data:`BOOK_TARGETS` metric of one finished run."""
    monthly = model.monthly_table()
    out = {}
    firms = model.firms_table()
    for t in BOOK_TARGETS:
        if t.metric.startswith("sector:"):
            rows = firms[(firms["sector"] == t.metric.split(":", 1)[1]) & (firms["step"] >= 1)]
            out[t.metric] = float(rows["buffer_days_p50"].mean())
        else:
            out[t.metric] = float(monthly[t.metric].mean())
    return out


def compare(per_seed: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The target table from each seed's window means.

    Args:
        per_seed: one row per seed, one column per target metric.
        level: confidence level of the t interval over seeds.

    Returns:
        One row per target: ``metric, source, model, ci_low, ci_high, published_low,
        published_high, tolerance, met, reason``; ``met`` when the seed mean lies inside
        the published range widened by the tolerance.
    """
    rows = []
    n = len(per_seed)
    for t in BOOK_TARGETS:
        values = per_seed[t.metric].to_numpy(dtype=float)
        mean = float(values.mean())
        half = (
            float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
            if n > 1
            else np.nan
        )
        lo, hi = t.low * (1 - t.tolerance), t.high * (1 + t.tolerance)
        rows.append(
            {
                "metric": t.metric,
                "source": t.source,
                "model": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "published_low": t.low,
                "published_high": t.high,
                "tolerance": t.tolerance,
                "met": bool(lo <= mean <= hi),
                "reason": t.reason,
            }
        )
    return pd.DataFrame(rows)


def book_targets(config: RunConfig, *, seeds: int = 5, progress: bool = False) -> pd.DataFrame:
    """Run ``config`` over ``seeds`` seeds (``config.seed + i``) and compare (:func:`compare`).

    Raises:
        ValueError: ``seeds < 2`` (an interval needs two).
    """
    from sim.model import CreditMarketModel

    if seeds < 2:
        raise ValueError(f"book_targets: seeds must be >= 2, got {seeds}")
    rows = []
    for i in range(seeds):
        run = dataclasses.replace(config, seed=config.seed + i)
        with CreditMarketModel(run) as model:
            model.run()
            rows.append(window_means(model))
        if progress:
            print(f"book targets: run {i + 1}/{seeds} done (seed {run.seed})", flush=True)
    return compare(pd.DataFrame(rows))
