"""Statistics over seeds: means with Student-t intervals, paired differences to a baseline.

Under common random numbers the same ``(scenario, seed)`` gives every policy the same
exogenous shocks, so the difference between a policy's run and the baseline policy's run
of the same ``(scenario, seed)`` is attributable to the policy. :func:`paired_differences`
exploits that pairing, which gives much narrower confidence intervals than comparing the
two policies' means.

Statistics are computed with :mod:`scipy.stats`: Student-t intervals over seeds,
paired t-tests (:func:`scipy.stats.ttest_rel`) and bootstrap intervals
(:func:`scipy.stats.bootstrap`, BCa).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.compare.headline import HEADLINE_METRICS

__all__ = ["paired_differences", "summarise"]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}")


def _t_interval(values: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Mean, sample std (ddof=1) and Student-t interval of finite ``values``."""
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    # Identical values: exactly zero spread (np.std would return rounding noise).
    std = 0.0 if np.all(values == values[0]) else float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def summarise(
    summary_df: pd.DataFrame,
    metrics: Sequence[str] = HEADLINE_METRICS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean over seeds with a Student-t confidence interval, per policy and scenario.

    For each ``(policy, scenario, metric)`` the finite (non-NaN) values over seeds
    ``x_1..x_n`` give ``mean``, the sample standard deviation ``std`` (ddof = 1) and the
    interval ``mean ± t_{(1+confidence)/2, n-1} · std / sqrt(n)``. With one seed the
    ``std`` and the interval are NaN; with none (all NaN) the mean is NaN too.

    Args:
        summary_df: one row per run with columns ``policy``, ``scenario``, ``seed`` and
            the ``metrics`` (e.g. :attr:`RunTables.summary`).
        metrics: metric columns to summarise; default the :data:`HEADLINE_METRICS`.
        confidence: two-sided confidence level in (0, 1); default 0.95.

    Returns:
        Long table, one row per ``(policy, scenario, metric)``, sorted by policy and
        scenario with metrics in the given order. Columns: ``policy`` (str),
        ``scenario`` (str), ``metric`` (str), ``n_seeds`` (int64, finite values used),
        ``mean``, ``std``, ``ci_low``, ``ci_high`` (float64, in the metric's unit).

    Raises:
        ValueError: if ``confidence`` is not in (0, 1), or a required column is missing
            (message lists them).
    """
    _check_confidence(confidence)
    metrics = list(metrics)
    _check_columns(summary_df, ["policy", "scenario", "seed", *metrics], "summary_df")
    rows = []
    for (policy, scenario), group in summary_df.groupby(["policy", "scenario"], sort=True):
        for metric in metrics:
            values = group[metric].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            mean, std, low, high = _t_interval(values, confidence)
            rows.append((policy, scenario, metric, values.size, mean, std, low, high))
    columns = ["policy", "scenario", "metric", "n_seeds", "mean", "std", "ci_low", "ci_high"]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"n_seeds": "int64"} | {c: "float64" for c in columns[4:]})


def _paired_t(
    policy: np.ndarray, base: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """Paired t-test of ``policy - base``: (ci_low, ci_high, p_value)."""
    with warnings.catch_warnings():
        # Nearly identical differences: scipy warns about precision loss; the result is
        # still the best available estimate.
        warnings.filterwarnings("ignore", message="Precision loss", category=RuntimeWarning)
        result = stats.ttest_rel(policy, base)
        ci = result.confidence_interval(confidence_level=confidence)
    return float(ci.low), float(ci.high), float(result.pvalue)


def _paired_bootstrap(
    diff: np.ndarray, confidence: float, n_resamples: int, seed: int
) -> tuple[float, float, float]:
    """BCa bootstrap interval of the mean difference (percentile if BCa is degenerate)."""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", stats.DegenerateDataWarning)
            try:
                result = stats.bootstrap(
                    (diff,),
                    np.mean,
                    confidence_level=confidence,
                    n_resamples=n_resamples,
                    method=method,
                    rng=np.random.default_rng(seed),
                )
            except stats.DegenerateDataWarning:
                continue
        ci = result.confidence_interval
        return float(ci.low), float(ci.high), math.nan
    return math.nan, math.nan, math.nan


def paired_differences(
    summary_df: pd.DataFrame,
    baseline: str = "static",
    metrics: Sequence[str] = HEADLINE_METRICS,
    confidence: float = 0.95,
    method: str = "t",
    n_resamples: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired differences of each policy against ``baseline`` under common random numbers.

    Every run of a policy is paired with the baseline's run of the same
    ``(scenario, seed)``; the per-seed differences ``d_i = policy_i - baseline_i`` (in
    the metric's unit; a rate difference is in fraction points) are summarised by their
    mean and a confidence interval:

    * ``method="t"``: paired t-test (:func:`scipy.stats.ttest_rel` of policy against
      baseline) and its ``confidence_interval``: ``mean(d) ± t · sd(d) / sqrt(n)``;
      ``p_value`` is two-sided for H0: mean difference = 0.
    * ``method="bootstrap"``: :func:`scipy.stats.bootstrap` of ``mean(d)`` (BCa,
      falling back to the percentile method when BCa is degenerate), ``n_resamples``
      resamples from ``numpy.random.default_rng(seed)`` (the same for every cell, so
      results do not depend on table order); ``p_value`` is NaN.

    Seeds run for only one of the two policies are dropped and counted in
    ``n_unpaired``; pairs where either value is NaN are dropped from ``n_pairs``. With
    fewer than two pairs the interval and p-value are NaN. When all differences are
    identical (e.g. a metric the policy cannot change) the interval is ``[d, d]`` and
    the p-value is 1 if ``d == 0``, else 0.

    Args:
        summary_df: one row per run with ``policy``, ``scenario``, ``seed`` and the
            ``metrics``; at most one run per ``(policy, scenario, seed)``.
        baseline: name of the baseline policy; default ``"static"``.
        metrics: metric columns; default the :data:`HEADLINE_METRICS`.
        confidence: two-sided confidence level in (0, 1).
        method: ``"t"`` or ``"bootstrap"``.
        n_resamples: bootstrap resamples (``method="bootstrap"`` only), >= 1.
        seed: seed of the bootstrap generator.

    Returns:
        Long table, one row per ``(policy, scenario, metric)`` for every policy other
        than the baseline (sorted by policy and scenario, metrics in the given order),
        with columns ``policy``, ``scenario``, ``metric``, ``baseline`` (str),
        ``n_pairs``, ``n_unpaired`` (int64), ``mean_diff``, ``ci_low``, ``ci_high``,
        ``p_value`` (float64). Scenarios the baseline was not run in have
        ``n_pairs == 0`` and NaN statistics.

    Raises:
        ValueError: if ``baseline`` is not among the policies (message names it and the
            policies present); if ``method`` is unknown; if ``confidence`` or
            ``n_resamples`` is out of range; if a column is missing; or if a
            ``(policy, scenario, seed)`` occurs more than once.
    """
    _check_confidence(confidence)
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    metrics = list(metrics)
    keys = ["policy", "scenario", "seed"]
    _check_columns(summary_df, [*keys, *metrics], "summary_df")
    policies = sorted(summary_df["policy"].unique().tolist())
    if baseline not in policies:
        raise ValueError(f"baseline policy {baseline!r} not found; policies present: {policies}")
    duplicated = summary_df.duplicated(keys, keep=False)
    if duplicated.any():
        policy, scenario, seed = summary_df.loc[duplicated, keys].iloc[0].tolist()
        raise ValueError(
            f"policy {policy}, scenario {scenario}, seed {seed} occurs more than once (runs "
            "of two configs?): compare one config's runs"
        )

    table = summary_df[[*keys, *metrics]]
    base = table[table["policy"] == baseline].drop(columns="policy")
    rows = []
    for (policy, scenario), group in table[table["policy"] != baseline].groupby(
        ["policy", "scenario"], sort=True
    ):
        base_s = base[base["scenario"] == scenario]
        merged = group.merge(base_s, on=["scenario", "seed"], suffixes=("", "__base"))
        own_seeds = set(group["seed"].tolist())
        base_seeds = set(base_s["seed"].tolist())
        n_unpaired = len(own_seeds ^ base_seeds)
        for metric in metrics:
            values = merged[metric].to_numpy(dtype=float)
            base_values = merged[f"{metric}__base"].to_numpy(dtype=float)
            ok = np.isfinite(values) & np.isfinite(base_values)
            values, base_values = values[ok], base_values[ok]
            diff = values - base_values
            n = diff.size
            mean = float(np.mean(diff)) if n else math.nan
            if n < 2:
                low = high = p_value = math.nan
            elif np.all(diff == diff[0]):
                low = high = float(diff[0])
                p_value = 1.0 if diff[0] == 0 else 0.0
                if method == "bootstrap":
                    p_value = math.nan
            elif method == "t":
                low, high, p_value = _paired_t(values, base_values, confidence)
            else:
                low, high, p_value = _paired_bootstrap(diff, confidence, n_resamples, seed)
            rows.append(
                (policy, scenario, metric, baseline, n, n_unpaired, mean, low, high, p_value)
            )
    columns = [
        "policy",
        "scenario",
        "metric",
        "baseline",
        "n_pairs",
        "n_unpaired",
        "mean_diff",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype(
        {"n_pairs": "int64", "n_unpaired": "int64"} | {c: "float64" for c in columns[6:]}
    )
