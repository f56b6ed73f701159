"""The target statistics: every comparison statistic of a panel, and the checks on them.

One function (:func:`panel_statistics`) computes every statistic from an observed or a
simulated panel; :func:`summarise_seeds` gives the simulated mean and interval over seeds;
:func:`check_targets`, :func:`scorecard_check` and :func:`account_level` are the checks.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.empirical.validation.config import ScorecardCheck, TargetSpec
from sim.empirical.validation.panel import _D, GROUP_NAMES, Panel
from sim.platform.scorecard import (
    TARGET_COLUMN,
    auc,
    calibration_table,
    cross_validated_auc,
    fit_scorecard,
    holdout_mask,
    uci_features,
)
from sim.world.borrowers import BehaviourType

__all__ = [
    "AGE_BAND_EDGES",
    "AGE_BAND_LABELS",
    "account_level",
    "age_band",
    "check_targets",
    "limit_decile",
    "panel_statistics",
    "scorecard_check",
    "summarise_seeds",
    "transition_matrix",
]

#: Age bands (lower bounds, years) for default rates by age.
AGE_BAND_EDGES: tuple[int, ...] = (25, 30, 35, 40, 45, 50)
AGE_BAND_LABELS: tuple[str, ...] = ("<25", "25-29", "30-34", "35-39", "40-44", "45-49", "50+")


def limit_decile(uci: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """LIMIT_BAL decile of every UCI row (quantile edges, right-closed: unequal counts).

    Returns:
        ``(decile, labels)``: ``(n_rows,)`` int8 decile index 0..9 and a label per decile
        (e.g. ``"D1 (<=30k)"``, NT$).
    """
    limit = uci["LIMIT_BAL"].to_numpy(np.float64)
    edges = np.quantile(limit, np.linspace(0.0, 1.0, 11))
    decile = np.searchsorted(edges[1:-1], limit, side="left").astype(np.int8)
    labels = [f"D{k + 1} (<={edges[k + 1] / 1000:.0f}k)" for k in range(10)]
    return decile, labels


def age_band(uci: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Age band of every UCI row: <25, 25-29, ..., 45-49, 50+.

    Returns:
        ``(band, labels)``: ``(n_rows,)`` int8 band index and :data:`AGE_BAND_LABELS`.
    """
    band = np.searchsorted(np.asarray(AGE_BAND_EDGES), uci["AGE"].to_numpy(), side="right")
    return band.astype(np.int8), list(AGE_BAND_LABELS)


# --------------------------------------------------------------------------- statistics

_STAT_COLUMNS = ["stat", "family", "value", "n", "variance"]


def _rate_row(stat: str, family: str, hits: np.ndarray, mask: np.ndarray | None = None) -> tuple:
    hits = np.asarray(hits, dtype=bool)
    if mask is not None:
        hits = hits[mask]
    n = int(hits.size)
    p = float(hits.mean()) if n else float("nan")
    return (stat, family, p, n, p * (1 - p) / n if n else float("nan"))


def transition_matrix(panel: Panel, step: int) -> pd.DataFrame:
    """Row-normalised group transition matrix from column ``step`` to ``step + 1``.

    Returns:
        3 x 3 DataFrame (from group rows, to group columns, :data:`GROUP_NAMES`); a row
        with no accounts is NaN.
    """
    a, b = panel.group[:, step], panel.group[:, step + 1]
    counts = np.zeros((3, 3))
    np.add.at(counts, (a, b), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = counts / totals
    return pd.DataFrame(matrix, index=list(GROUP_NAMES), columns=list(GROUP_NAMES))


def panel_statistics(panel: Panel, uci: pd.DataFrame) -> pd.DataFrame:
    """Every comparison statistic of a panel (observed or simulated: the same code).

    Statistics (``stat`` names; months are calendar names):

    - ``share <month> <G>``: share of accounts in group G at the end of the month;
    - ``deep_arrears <month>``: share 60+ DPD (see :attr:`Panel.deep_arrears`);
    - ``transition <m0>-><m1> <G0>-><G1>``: share of the accounts in G0 in m0 that are
      in G1 in m1; ``... clean->D`` pools P and R as the origin (new delinquency), also
      ``... clean->D by limit_decile <label>``, and pooled over every month pair
      ``new_delinquency by limit_decile <label>`` (account-months as trials);
    - ``transition <m0>-><m1>-><m2> new_D->D``: of the accounts current in m0 and behind
      in m1 (new delinquency), the share still behind in m2 (its persistence);
    - ``payment_ratio <type>``: mean payment / previous bill (clipped to [0, 1]) of the
      accounts of a behaviour type with a positive previous bill, pooled over the
      months after the first;
    - ``utilisation <month> mean|median|p75|p90|over_limit`` for the last month and
      ``utilisation <month> mean`` for every month (balance / limit, negatives 0);
    - ``behind <month> by limit_decile <label>`` and ``... by age_band <label>``: share in
      group D at the end of every month after the first, by segment (the payment outcome
      the data observe, out of sample);
    - if ``default_next`` is known: ``default overall``, ``default by sep_group <G>``,
      ``default by limit_decile <label>``, ``default by age_band <label>``.

    Args:
        panel: the panel.
        uci: the UCI table (segments are looked up by ``panel.uci_row``).

    Returns:
        DataFrame with columns ``stat``, ``family`` (share, transition, payment_ratio,
        utilisation, behind, default), ``value`` (fraction), ``n`` (denominator) and ``variance``
        (sampling variance of the value: binomial for rates, var / n for means, NaN for
        quantiles).
    """
    rows: list[tuple] = []
    months = panel.months
    decile, decile_labels = limit_decile(uci)
    d = decile[panel.uci_row]
    band, band_labels = age_band(uci)
    age = band[panel.uci_row]
    for t, month in enumerate(months):
        g = panel.group[:, t]
        for code, name in enumerate(GROUP_NAMES):
            rows.append(_rate_row(f"share {month} {name}", "share", g == code))
        rows.append(_rate_row(f"deep_arrears {month}", "share", panel.deep_arrears[:, t]))
    for t in range(len(months) - 1):
        a, b = panel.group[:, t], panel.group[:, t + 1]
        pair = f"{months[t]}->{months[t + 1]}"
        for c0, g0 in enumerate(GROUP_NAMES):
            for c1, g1 in enumerate(GROUP_NAMES):
                rows.append(
                    _rate_row(f"transition {pair} {g0}->{g1}", "transition", b == c1, a == c0)
                )
        rows.append(_rate_row(f"transition {pair} clean->D", "transition", b == _D, a != _D))
        for k, label in enumerate(decile_labels):
            rows.append(
                _rate_row(
                    f"transition {pair} clean->D by limit_decile {label}",
                    "transition",
                    b == _D,
                    (a != _D) & (d == k),
                )
            )
    if len(months) > 1:  # pooled over the month pairs: a stationary model's time average
        fell, clean = (panel.group[:, 1:] == _D).ravel(), (panel.group[:, :-1] != _D).ravel()
        pooled_decile = np.repeat(d, len(months) - 1)
        for k, label in enumerate(decile_labels):
            mask = clean & (pooled_decile == k)
            rows.append(
                _rate_row(f"new_delinquency by limit_decile {label}", "transition", fell, mask)
            )
    for t in range(len(months) - 2):
        g0, g1, g2 = panel.group[:, t], panel.group[:, t + 1], panel.group[:, t + 2]
        path = f"{months[t]}->{months[t + 1]}->{months[t + 2]}"
        new = (g0 != _D) & (g1 == _D)
        rows.append(_rate_row(f"transition {path} new_D->D", "transition", g2 == _D, new))
    if len(months) > 1:
        ratios = panel.payment_ratio[:, 1:]
        types = np.repeat(panel.behaviour_type[:, None], ratios.shape[1], axis=1)
        for btype in BehaviourType:
            values = ratios[(types == btype) & np.isfinite(ratios)]
            n = int(values.size)
            mean = float(values.mean()) if n else float("nan")
            var = float(values.var(ddof=1)) / n if n > 1 else float("nan")
            rows.append((f"payment_ratio {btype.name.lower()}", "payment_ratio", mean, n, var))
    for t, month in enumerate(months):
        u = panel.utilisation[:, t]
        n = int(u.size)
        rows.append(
            (
                f"utilisation {month} mean",
                "utilisation",
                float(u.mean()),
                n,
                float(u.var(ddof=1)) / n,
            )
        )
    u = panel.utilisation[:, -1]
    last = months[-1]
    for name, q in (("median", 0.5), ("p75", 0.75), ("p90", 0.9)):
        rows.append(
            (f"utilisation {last} {name}", "utilisation", float(np.quantile(u, q)), u.size, np.nan)
        )
    rows.append(_rate_row(f"utilisation {last} over_limit", "utilisation", u > 1.0 + 1e-9))
    for t, month in enumerate(months[1:], start=1):
        behind = panel.group[:, t] == _D
        for k, label in enumerate(decile_labels):
            rows.append(
                _rate_row(f"behind {month} by limit_decile {label}", "behind", behind, d == k)
            )
        for k, label in enumerate(band_labels):
            rows.append(
                _rate_row(f"behind {month} by age_band {label}", "behind", behind, age == k)
            )
    if panel.default_next is not None:
        y = panel.default_next
        rows.append(_rate_row("default overall", "default", y))
        g = panel.group[:, -1]
        for code, name in enumerate(GROUP_NAMES):
            rows.append(_rate_row(f"default by sep_group {name}", "default", y, g == code))
        for k, label in enumerate(decile_labels):
            rows.append(_rate_row(f"default by limit_decile {label}", "default", y, d == k))
        for k, label in enumerate(band_labels):
            rows.append(_rate_row(f"default by age_band {label}", "default", y, age == k))
    return pd.DataFrame(rows, columns=_STAT_COLUMNS)


def summarise_seeds(per_seed: pd.DataFrame, interval: float = 0.95) -> pd.DataFrame:
    """Mean and percentile interval over seeds of every statistic.

    Args:
        per_seed: :func:`panel_statistics` outputs stacked with a ``seed`` column.
        interval: central coverage of the interval over seeds, in (0, 1).

    Returns:
        One row per ``stat`` (first-seen order) with ``family``, ``sim_mean``,
        ``sim_low``, ``sim_high`` (the ``(1 - interval) / 2`` and ``(1 + interval) / 2``
        percentiles over seeds) and ``n_seeds``.

    Raises:
        ValueError: ``interval`` not in (0, 1) or missing columns.
    """
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    missing = {"stat", "family", "value", "seed"} - set(per_seed.columns)
    if missing:
        raise ValueError(f"summarise_seeds: missing column(s) {sorted(missing)}")
    lo, hi = 100 * (1 - interval) / 2, 100 * (1 + interval) / 2
    grouped = per_seed.groupby("stat", sort=False)
    out = pd.DataFrame(
        {
            "family": grouped["family"].first(),
            "sim_mean": grouped["value"].mean(),
            "sim_low": grouped["value"].agg(
                lambda v: np.nanpercentile(v, lo) if v.notna().any() else np.nan
            ),
            "sim_high": grouped["value"].agg(
                lambda v: np.nanpercentile(v, hi) if v.notna().any() else np.nan
            ),
            "n_seeds": grouped["value"].count(),
        }
    )
    return out.reset_index()


# --------------------------------------------------------------------------- checks


def check_targets(table: pd.DataFrame, targets: Sequence[TargetSpec]) -> pd.DataFrame:
    """Attach tolerances and pass/fail to the results table.

    A row matched by several targets takes the first; a first match without a tolerance
    (``tolerance_pp`` None) leaves the row reported, not checked. Where ``observed_alt`` is given
    (the alternative reading of September's code 1), the check passes if the simulated
    mean lies within ``[min(observed, observed_alt) - tol, max(...) + tol]``; otherwise
    if ``|sim_mean - observed| <= tol``.

    Args:
        table: results with ``stat``, ``observed``, ``observed_alt`` and ``sim_mean``.
        targets: the targets.

    Returns:
        A copy with ``tolerance_pp`` (NaN if not a target), ``target_why`` and ``passed``
        (True / False, None if not a target).
    """
    out = table.copy()
    tol = np.full(len(out), np.nan)
    why = [""] * len(out)
    for i, stat in enumerate(out["stat"]):
        for target in targets:
            if fnmatch.fnmatchcase(stat, target.stat):
                tol[i] = np.nan if target.tolerance_pp is None else target.tolerance_pp
                why[i] = target.why
                break
    low = np.fmin(out["observed"], out["observed_alt"]).to_numpy(float)
    high = np.fmax(out["observed"], out["observed_alt"]).to_numpy(float)
    sim = out["sim_mean"].to_numpy(float)
    ok = (sim >= low - tol / 100 - 1e-12) & (sim <= high + tol / 100 + 1e-12)
    out["tolerance_pp"] = tol
    out["target_why"] = why
    out["passed"] = [None if np.isnan(t) else bool(o) for t, o in zip(tol, ok, strict=True)]
    return out


def scorecard_check(uci: pd.DataFrame, spec: ScorecardCheck) -> dict[str, Any]:
    """Hold-out AUC and calibration of the platform scorecard on the UCI data.

    The scorecard is fitted on the training rows of a stratified split and scored on the
    held-out rows (next-month default, the UCI scale: no re-levelling).

    Returns:
        ``auc`` (float), ``calibration`` (:func:`calibration_table` of the hold-out rows
        with ``error_pp``), ``max_error_pp``, ``holdout_rows``, ``auc_passed``,
        ``calibration_passed``, ``cv_auc`` (``(spec.cv_folds,)`` fold AUCs of
        :func:`sim.platform.scorecard.cross_validated_auc`, empty without folds),
        ``cv_auc_passed`` (None when not checked) and the ``spec``.
    """
    card = fit_scorecard(uci, holdout_share=spec.holdout_share, seed=spec.seed)
    cv = (
        cross_validated_auc(uci, folds=spec.cv_folds, seed=spec.seed)
        if spec.cv_folds >= 2
        else np.zeros(0)
    )
    cv_passed = (
        None if spec.min_cv_auc is None or cv.size == 0 else bool(cv.mean() >= spec.min_cv_auc)
    )
    y = uci[TARGET_COLUMN].to_numpy()
    test = holdout_mask(y.astype(float), spec.holdout_share, spec.seed)
    pd_test = card.predict_pd(uci_features(uci)[test])
    table = calibration_table(y[test], pd_test, n_bins=10)
    table["error_pp"] = 100 * (table["mean_predicted_pd"] - table["observed_default_rate"])
    max_err = float(table["error_pp"].abs().max())
    return {
        "auc": float(card.holdout_auc),
        "auc_check": float(auc(y[test], pd_test)),
        "calibration": table,
        "max_error_pp": max_err,
        "holdout_rows": int(test.sum()),
        "auc_passed": bool(card.holdout_auc >= spec.min_auc),
        "calibration_passed": bool(max_err <= spec.calibration_tolerance_pp),
        "cv_auc": cv,
        "cv_auc_passed": cv_passed,
        "spec": spec,
    }


def account_level(panels: Sequence[Panel], observed: Panel) -> dict[str, Any]:
    """Compare simulated accounts with the same UCI accounts' observed outcomes.

    Args:
        panels: simulated panels (one per seed), each with ``default_next``.
        observed: the observed panel over the same months (all UCI rows).

    Returns:
        ``default_auc``: AUC of each UCI row's simulated October default frequency (over
        all its resampled copies) against its observed default; ``behind_auc``: the same
        for being behind (group D) at the end of the last month, against the row's observed
        group (the payment outcome the data observe); ``persistence_behind_auc``: the AUC
        of the naive forecast "behind at the end if behind at the start"; ``rows``: rows sampled
        at least once; ``group_agreement``: share of simulated accounts whose group in the
        last month equals their row's observed group; ``persistence_agreement``: the same
        for the naive forecast "group stays as in the start month"; ``confusion``: last
        month's group, observed (rows) x simulated (columns), shares of all accounts.

    Raises:
        ValueError: no panel or a panel without ``default_next``.
    """
    if not panels or any(p.default_next is None for p in panels):
        raise ValueError("account_level: needs simulated panels with default_next")
    rows = np.concatenate([p.uci_row for p in panels])
    sim_default = np.concatenate([p.default_next for p in panels]).astype(float)
    freq = pd.Series(sim_default).groupby(rows).mean()
    y = observed.default_next[freq.index.to_numpy()] if observed.default_next is not None else None
    default_auc = float(auc(y.astype(int), freq.to_numpy())) if y is not None else float("nan")
    sim_last = np.concatenate([p.group[:, -1] for p in panels])
    sim_first = np.concatenate([p.group[:, 0] for p in panels])
    obs_last = observed.group[rows, -1]
    behind_freq = pd.Series(sim_last == _D).groupby(rows).mean()
    behind_rows = behind_freq.index.to_numpy()
    obs_behind = observed.group[behind_rows, -1] == _D
    behind_auc = float(auc(obs_behind.astype(int), behind_freq.to_numpy()))
    persistence_behind_auc = float(
        auc(obs_behind.astype(int), (observed.group[behind_rows, 0] == _D).astype(float))
    )
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (obs_last, sim_last), 1.0)
    return {
        "default_auc": default_auc,
        "behind_auc": behind_auc,
        "persistence_behind_auc": persistence_behind_auc,
        "rows": int(freq.size),
        "group_agreement": float((sim_last == obs_last).mean()),
        "persistence_agreement": float((sim_first == obs_last).mean()),
        "confusion": pd.DataFrame(
            confusion / confusion.sum(), index=list(GROUP_NAMES), columns=list(GROUP_NAMES)
        ),
    }
