"""Running the replication experiments over seeds and summarising them with seed intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.config import RunConfig
from sim.empirical.replication.config import ReplicationConfig
from sim.empirical.replication.estimates import COLUMNS, cut_effect_rows, firm_rows, mpb_rows
from sim.empirical.replication.policies import OneTimeLimitChange, PrePeakCut
from sim.empirical.replication.sme import CONTROLS, sme_rows
from sim.empirical.replication.trace import Trace, run_arm
from sim.platform.policies.base import PolicyConfig
from sim.platform.policies.registry import build_policy
from sim.platform.policies.static import StaticPolicy
from sim.runtime.compose import load_run_config

__all__ = ["ReplicationResult", "arms", "run_replication", "summarise"]


@dataclass
class ReplicationResult:
    """The experiments' results.

    Attributes:
        config: the design run.
        per_seed: one row per seed x arm x design x horizon x group x statistic
            (columns :data:`sim.empirical.replication.estimates.COLUMNS`).
        summary: :func:`summarise` of ``per_seed`` (mean and t interval over seeds).
        targets: the issue-17 checks (:func:`sim.empirical.replication.report.check_targets`).
    """

    config: ReplicationConfig
    per_seed: pd.DataFrame
    summary: pd.DataFrame
    targets: pd.DataFrame


def arms(cfg: ReplicationConfig) -> list[tuple[str, str, float | None]]:
    """The treatment arms of the chosen experiments: ``(experiment, arm, fraction)``.

    ``fraction`` is the limit change (+0.2 = +20 %) of a one-time arm; for a pre-peak arm
    it is the proportional cut, or None for zero headroom.
    """
    out: list[tuple[str, str, float | None]] = []
    if "increase" in cfg.experiments:
        out += [("increase", f"+{f:.0%}", f) for f in cfg.raise_fractions]
    if "decrease" in cfg.experiments:
        out.append(("decrease", f"-{cfg.cut_fraction:.0%}", -cfg.cut_fraction))
    if "household_cut" in cfg.experiments:
        f = cfg.household_cut_fraction
        out.append(("household_cut", f"-{f:.0%}", -f))
    if "prepeak" in cfg.experiments:
        out.append(("prepeak", "zero headroom", None))
        out.append(("prepeak", f"-{cfg.prepeak_cut_fraction:.0%}", cfg.prepeak_cut_fraction))
    return out


def run_replication(
    cfg: ReplicationConfig, progress: Callable[[str], None] | None = None
) -> ReplicationResult:
    """Run every arm and the ``static`` control under every seed; estimate and summarise.

    Args:
        cfg: the design.
        progress: called with a short message before each run (e.g. ``print``).

    Returns:
        The :class:`ReplicationResult`.

    Raises:
        ValueError: a run-config override is invalid (raised before any run).
    """
    from sim.empirical.replication.report import check_targets

    load_run_config(cfg.run_overrides(cfg.first_seed))  # fail before running anything
    rows: list[dict] = []
    t, horizons = cfg.treatment_month, cfg.horizons
    for seed in cfg.seed_list:
        run_cfg = load_run_config(cfg.run_overrides(seed))
        if progress:
            progress(f"seed {seed}: static")
        control = run_arm(run_cfg, StaticPolicy(PolicyConfig()), t, horizons)
        if "sme_aware" in cfg.experiments:
            rows += _sme_rows(seed, run_cfg, cfg, progress)
        for experiment, arm, fraction in arms(cfg):
            if progress:
                progress(f"seed {seed}: {experiment} {arm}")
            if experiment == "prepeak":
                policy = PrePeakCut(t, fraction)
                treated = run_arm(run_cfg, policy, t, horizons)
                rows += firm_rows(seed, arm, control, treated, cfg)
                continue
            assert fraction is not None
            policy = OneTimeLimitChange(t, fraction, seed, cfg.treated_share)
            treated = run_arm(run_cfg, policy, t, horizons)
            rows += _one_time_rows(seed, experiment, arm, control, treated, cfg)
    per_seed = pd.DataFrame(rows, columns=list(COLUMNS))
    summary = summarise(per_seed, cfg.interval)
    return ReplicationResult(cfg, per_seed, summary, check_targets(summary, cfg))


def _sme_rows(
    seed: int,
    run_cfg: RunConfig,
    cfg: ReplicationConfig,
    progress: Callable[[str], None] | None,
) -> list[dict]:
    """``sme_aware`` from the window's start against each of :data:`CONTROLS`."""
    whole = [cfg.n_months]
    runs = {}
    for name in ("sme_aware", *CONTROLS):
        if progress:
            progress(f"seed {seed}: sme_aware experiment, {name} over the window")
        policy = build_policy(load_run_config([*cfg.run_overrides(seed), f"policy={name}"]).policy)
        runs[name] = run_arm(run_cfg, policy, 0, whole)
    return [r for name in CONTROLS for r in sme_rows(seed, name, runs[name], runs["sme_aware"])]


def _one_time_rows(
    seed: int, experiment: str, arm: str, control: Trace, treated: Trace, cfg: ReplicationConfig
) -> list[dict]:
    if experiment == "increase":
        return mpb_rows(seed, experiment, arm, control, treated, cfg)
    if experiment == "decrease":
        return mpb_rows(seed, experiment, arm, control, treated, cfg) + cut_effect_rows(
            seed, experiment, arm, control, treated, cfg, kinds=("all", "credit")
        )
    return cut_effect_rows(seed, experiment, arm, control, treated, cfg, kinds=("credit",))


def summarise(per_seed: pd.DataFrame, interval: float = 0.95) -> pd.DataFrame:
    """Mean over seeds and a t interval of the per-seed values (NaN with one seed).

    Returns:
        One row per experiment x arm x design x horizon x group x statistic with
        ``seeds``, ``n`` (mean rows per seed), ``treated``, ``control`` (means),
        ``effect`` (mean), ``low`` and ``high`` (the interval of ``effect``).
    """
    keys = ["experiment", "arm", "design", "horizon", "group_kind", "group", "statistic"]
    out = []
    for key, g in per_seed.groupby(keys, sort=False, dropna=False):
        e = g["effect"].to_numpy(dtype=float)
        e = e[np.isfinite(e)]
        mean = float(e.mean()) if e.size else np.nan
        if e.size >= 2:
            half = stats.t.ppf(0.5 + interval / 2, e.size - 1) * e.std(ddof=1) / np.sqrt(e.size)
        else:
            half = np.nan
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "seeds": int(e.size),
                "n": float(g["n"].mean()),
                "treated": float(g["treated"].mean()),
                "control": float(g["control"].mean()),
                "effect": mean,
                "low": mean - half,
                "high": mean + half,
            }
        )
    return pd.DataFrame(out)
