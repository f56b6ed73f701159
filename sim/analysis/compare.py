"""Compare limit policies over seeds: collect a sweep, summarise, pair against a baseline.

A *sweep folder* holds one sub-folder per simulation run (at any depth). Each run was
simulated for one ``(policy, scenario, seed)``; under common random numbers the same
``(scenario, seed)`` gives every policy the same exogenous shocks, so the difference
between a policy's run and the baseline policy's run of the same ``(scenario, seed)`` is
attributable to the policy. :func:`paired_differences` exploits that pairing, which gives
much narrower confidence intervals than comparing the two policies' means.

Tables consumed (one run folder; a folder is complete when ``_COMPLETE.json`` exists):
``summary.parquet`` (one row: ``run_id, policy, scenario, seed, n_borrowers, n_months``
and the :data:`HEADLINE_METRICS`), ``monthly.parquet``, ``events.parquet``,
``by_segment.parquet``, ``transitions.parquet``, ``vintage.parquet`` and ``firms.parquet``.

Statistics are computed with :mod:`scipy.stats`: Student-t intervals over seeds,
paired t-tests (:func:`scipy.stats.ttest_rel`) and bootstrap intervals
(:func:`scipy.stats.bootstrap`, BCa).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.outputs import files as io
from sim.outputs.tables import HEADLINE_METRICS

__all__ = [
    "HEADLINE_METRICS",
    "HIGHER_IS_WORSE",
    "ID_COLUMNS",
    "RUN_TABLES",
    "RunTables",
    "collect_runs",
    "comparison_table",
    "format_estimate",
    "paired_differences",
    "summarise",
]

"""The 15 headline metrics of ``summary.parquet``, in file order.

Families: default exposure (``cumulative_default_rate`` .. ``dpd90_share``; fractions
and CNY), borrowing cost (``effective_apr`` .. ``unmet_credit_need_cny``; fractions and
CNY), small-business cash-flow stress (``median_cash_buffer_days`` ..
``late_supplier_payments_cny``; days, fractions, CNY) and the platform's result
(``platform_net_interest_income_cny``)."""

HIGHER_IS_WORSE: dict[str, bool] = {
    "cumulative_default_rate": True,
    "peak_ead_cny": True,
    "mean_ead_cny": True,
    "expected_loss_cny": True,
    "realised_loss_cny": True,
    "dpd90_share": True,
    "effective_apr": True,
    "interest_fees_share_of_income": True,
    "high_cost_channel_share": True,
    "unmet_credit_need_cny": True,
    "median_cash_buffer_days": False,
    "share_buffer_under_15d": True,
    "closure_rate": True,
    "late_supplier_payments_cny": True,
    "platform_net_interest_income_cny": False,
}
"""Direction of harm for each headline metric: ``True`` when a larger value is worse.

Convention: each metric is judged from the point of view of the party it describes.
Exposure and loss metrics are bad for the platform when high; cost metrics
(``effective_apr``, interest and fees share, high-cost channel share, unmet need) are bad
for borrowers when high; stress metrics are bad for small businesses when high, except
``median_cash_buffer_days`` (more days of cash is better); the platform's
``platform_net_interest_income_cny`` is better when high. EAD is counted as "worse when
higher" because it is exposure at risk, even though a larger book can also mean more
credit supplied."""

ID_COLUMNS: tuple[str, ...] = ("run_id", "policy", "scenario", "seed")
"""Identifier columns added to every collected table, in this order."""

RUN_TABLES: tuple[str, ...] = (
    "summary",
    "monthly",
    "events",
    "by_segment",
    "transitions",
    "vintage",
    "firms",
)
"""Tables of a run folder (each stored as ``<name>.parquet``)."""

COMPLETE_MARKER = "_COMPLETE.json"
"""File a run writes last; a run folder without it is incomplete and ignored."""


@dataclass
class RunTables:
    """All tables of the complete runs of a sweep, concatenated over runs.

    Every table starts with the identifier columns ``run_id`` (str), ``policy`` (str),
    ``scenario`` (str) and ``seed`` (int64), taken from the run's ``summary.parquet``,
    followed by the table's own columns (see the module docstring and the data contract).
    A table no run wrote is an empty DataFrame with just the identifier columns.

    Attributes:
        summary: one row per run: ``run_id, policy, scenario, seed, n_borrowers,
            n_months`` and the :data:`HEADLINE_METRICS` (float), sorted by policy,
            scenario, seed.
        monthly: one row per run and month (``step`` 1..n_months, ``calendar_month``,
            metric columns such as ``ead_cny``, ``default_rate``).
        events: limit-change events (``borrower_id, step, old_limit_cny, new_limit_cny,
            reason``).
        by_segment: distribution table (``group, level, n_borrowers, limit_cuts,
            limit_raises, cut_share, default_rate, effective_apr,
            interest_fees_share_of_income``).
        transitions: DPD-bucket transition counts (``step, from_bucket, to_bucket,
            count``).
        vintage: vintage default curves (``vintage, months_on_book, n_accounts,
            cumulative_default_rate``).
        firms: monthly firm statistics by sector (``step, sector, n_open,
            buffer_days_p10 .. buffer_days_p90, share_buffer_under_15d, closures_shortfall,
            closures_exit, ...``; empty for runs without firms or written before firms).
        incomplete: run folders found without ``_COMPLETE.json`` (ignored).
        run_dirs: folders of the complete runs, keyed by ``run_id``.
    """

    summary: pd.DataFrame
    monthly: pd.DataFrame
    events: pd.DataFrame
    by_segment: pd.DataFrame
    transitions: pd.DataFrame
    vintage: pd.DataFrame
    firms: pd.DataFrame = field(default_factory=lambda: _concat([]))
    incomplete: list[Path] = field(default_factory=list)
    run_dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def policies(self) -> list[str]:
        """Sorted policy names of the complete runs."""
        return sorted(self.summary["policy"].unique().tolist())

    @property
    def scenarios(self) -> list[str]:
        """Sorted scenario names of the complete runs."""
        return sorted(self.summary["scenario"].unique().tolist())

    @property
    def seeds(self) -> list[int]:
        """Sorted seeds of the complete runs."""
        return sorted(int(s) for s in self.summary["seed"].unique())


# --------------------------------------------------------------------------- collection


def _is_run_folder(path: Path, root: Path | None = None) -> bool:
    """Whether a folder is a (possibly incomplete) run folder.

    It is if it holds a completion marker, a run table, or (below the sweep ``root``) a
    Hydra job record (``.hydra/``: a job that started but has written nothing yet).
    """
    if (path / COMPLETE_MARKER).is_file():
        return True
    if path != root and (path / ".hydra").is_dir():
        return True
    return any((path / f"{name}.parquet").is_file() for name in RUN_TABLES)


def _with_ids(table: pd.DataFrame, ids: dict[str, object]) -> pd.DataFrame:
    """Return ``table`` with the identifier columns (overwritten if present) in front."""
    rest = table.drop(columns=[c for c in ID_COLUMNS if c in table.columns])
    front = pd.DataFrame({name: [value] * len(rest) for name, value in ids.items()})
    front.index = rest.index
    out = pd.concat([front, rest], axis=1)
    out["seed"] = out["seed"].astype("int64")
    return out.reset_index(drop=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate non-empty frames; an empty list gives an empty frame with ID columns."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        empty = pd.DataFrame({name: pd.Series(dtype=object) for name in ID_COLUMNS})
        empty["seed"] = empty["seed"].astype("int64")
        return empty
    return pd.concat(frames, ignore_index=True)


def collect_runs(sweep_dir: str | os.PathLike[str]) -> RunTables:
    """Read every complete run below ``sweep_dir`` and concatenate their tables.

    A run folder is any folder (at any depth, ``sweep_dir`` itself included) that holds
    ``_COMPLETE.json`` or one of the run tables (``summary.parquet`` ...). Folders with
    tables but without ``_COMPLETE.json`` are incomplete (still running, or crashed):
    they are skipped and listed in :attr:`RunTables.incomplete`. In a complete run only
    ``summary.parquet`` is required; a missing other table contributes no rows.

    Args:
        sweep_dir: folder of a sweep (e.g. a Hydra multirun folder).

    Returns:
        :class:`RunTables` with each table's rows tagged by ``run_id, policy, scenario,
        seed`` (taken from the run's one-row ``summary.parquet``); ``summary`` is sorted
        by policy, scenario, seed.

    Raises:
        FileNotFoundError: if ``sweep_dir`` does not exist or is not a folder (message
            names it).
        ValueError: if ``sweep_dir`` holds no complete run; if a complete run has no
            ``summary.parquet``, or its summary does not have exactly one row or lacks
            an identifier column; or if two complete runs share a ``run_id`` (message
            names the folders).
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"sweep folder not found: {root}")

    candidates = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    run_folders = [p for p in candidates if _is_run_folder(p, root)]
    complete = [p for p in run_folders if (p / COMPLETE_MARKER).is_file()]
    incomplete = [p for p in run_folders if not (p / COMPLETE_MARKER).is_file()]
    if not complete:
        detail = f" ({len(incomplete)} incomplete run folder(s) found)" if incomplete else ""
        raise ValueError(f"no complete run (no {COMPLETE_MARKER}) in {root}{detail}")

    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in RUN_TABLES}
    run_dirs: dict[str, Path] = {}
    for folder in complete:
        summary_path = folder / "summary.parquet"
        if not summary_path.is_file():
            raise ValueError(f"complete run {folder} has no summary.parquet")
        summary = io.read_parquet(summary_path)
        if len(summary) != 1:
            raise ValueError(f"{summary_path}: expected one row, found {len(summary)}")
        missing = [c for c in ID_COLUMNS if c not in summary.columns]
        if missing:
            raise ValueError(f"{summary_path}: missing identifier column(s) {missing}")
        row = summary.iloc[0]
        ids: dict[str, object] = {
            "run_id": str(row["run_id"]),
            "policy": str(row["policy"]),
            "scenario": str(row["scenario"]),
            "seed": int(row["seed"]),
        }
        run_id = str(ids["run_id"])
        if run_id in run_dirs:
            raise ValueError(f"run_id {run_id!r} appears twice: {run_dirs[run_id]} and {folder}")
        run_dirs[run_id] = folder
        for name in RUN_TABLES:
            path = folder / f"{name}.parquet"
            if path.is_file():
                parts[name].append(_with_ids(io.read_parquet(path), ids))

    tables = {name: _concat(frames) for name, frames in parts.items()}
    tables["summary"] = (
        tables["summary"].sort_values(["policy", "scenario", "seed"]).reset_index(drop=True)
    )
    return RunTables(**tables, incomplete=incomplete, run_dirs=run_dirs)


# --------------------------------------------------------------------------- statistics


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
        example = summary_df.loc[duplicated, keys].iloc[0].tolist()
        raise ValueError(f"(policy, scenario, seed) {example} occurs more than once")

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


# --------------------------------------------------------------------------- tables


def format_estimate(mean: float, low: float = math.nan, high: float = math.nan) -> str:
    """Format an estimate as ``"mean [low, high]"`` for humans.

    Numbers of magnitude >= 1000 get thousands separators and no decimals; smaller ones
    four significant digits. A NaN interval is left out; a NaN mean gives ``"n/a"``.

    Args:
        mean: point estimate.
        low: lower interval bound (NaN for none).
        high: upper interval bound (NaN for none).

    Returns:
        The formatted text, e.g. ``"1,234 [1,100, 1,368]"`` or ``"0.1235"``.
    """

    def fmt(x: float) -> str:
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.4g}"

    if not np.isfinite(mean):
        return "n/a"
    if np.isfinite(low) and np.isfinite(high):
        return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"
    return fmt(mean)


def comparison_table(
    summary_df: pd.DataFrame,
    baseline: str | None = "static",
    metrics: Sequence[str] = HEADLINE_METRICS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Wide, human-readable table: one row per (scenario, policy), one column per metric.

    Each cell is ``"mean [ci_low, ci_high]"`` over seeds (see :func:`summarise` and
    :func:`format_estimate`), in the metric's own unit (fractions stay fractions).

    Args:
        summary_df: one row per run (as for :func:`summarise`).
        baseline: policy listed first within each scenario (if present); ``None`` keeps
            alphabetical order.
        metrics: metric columns, in the order of the output columns.
        confidence: two-sided confidence level in (0, 1).

    Returns:
        DataFrame with columns ``scenario``, ``policy``, ``n_seeds`` (int, largest
        number of finite values over the metrics) and one str column per metric, rows
        sorted by scenario then policy (baseline first).

    Raises:
        ValueError: as :func:`summarise`.
    """
    stats_df = summarise(summary_df, metrics=metrics, confidence=confidence)
    metrics = list(metrics)
    rows = []
    for (scenario, policy), group in stats_df.groupby(["scenario", "policy"], sort=True):
        cells = {r.metric: format_estimate(r.mean, r.ci_low, r.ci_high) for r in group.itertuples()}
        n_seeds = int(group["n_seeds"].max()) if len(group) else 0
        rows.append(
            {"scenario": scenario, "policy": policy, "n_seeds": n_seeds}
            | {m: cells[m] for m in metrics}
        )
    out = pd.DataFrame(rows, columns=["scenario", "policy", "n_seeds", *metrics])
    if baseline is not None:
        order = out["policy"].ne(baseline).astype(int)
        out = (
            out.assign(_order=order)
            .sort_values(["scenario", "_order", "policy"], kind="stable")
            .drop(columns="_order")
        )
    return out.reset_index(drop=True)
