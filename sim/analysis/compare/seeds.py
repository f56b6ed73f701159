"""Seed sets of a sweep: which policy lacks which seed, and restricting to the common ones.

Paired differences and means over seeds compare policies fairly only on the same seeds:
under common random numbers a seed is a draw of the world, and a policy that ran on a
luckier set of seeds looks better for it. A half-finished sweep (some runs still running
or failed) has unbalanced seed sets; :func:`balance_seeds` finds the gaps per scenario,
warns naming every ``(scenario, policy)`` and the seeds it lacks, and by default keeps
only the seeds every policy of the scenario ran.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from sim.analysis.compare.runs import RunTables

__all__ = ["SEED_MODES", "UnbalancedSeedsWarning", "balance_seeds", "seed_gaps", "seed_note"]

SEED_MODES: tuple[str, ...] = ("common", "all", "refuse")
"""What :func:`balance_seeds` does with unbalanced seed sets: keep only the common seeds
(default), keep every run (statistics then rest on different seed sets), or refuse."""


class UnbalancedSeedsWarning(UserWarning):
    """Policies of a scenario were run on different seed sets."""


def seed_gaps(summary: pd.DataFrame) -> pd.DataFrame:
    """The seeds each policy lacks, per scenario, among the seeds any policy ran there.

    Args:
        summary: one row per run with ``policy``, ``scenario``, ``seed``.

    Returns:
        One row per ``(scenario, policy)`` that lacks a seed, sorted: ``scenario``,
        ``policy`` (str), ``missing_seeds`` (sorted list of int), ``n_seeds`` (int, seeds
        it ran), ``common_seeds`` (sorted list of int: the seeds every policy of the
        scenario ran). Empty (same columns) when every seed set is balanced.
    """
    rows = []
    for scenario, group in summary.groupby("scenario", sort=True):
        by_policy = {
            str(p): {int(s) for s in g["seed"]} for p, g in group.groupby("policy", sort=True)
        }
        every = set().union(*by_policy.values())
        common = set.intersection(*by_policy.values())
        for policy, seeds in by_policy.items():
            if seeds != every:
                rows.append(
                    (str(scenario), policy, sorted(every - seeds), len(seeds), sorted(common))
                )
    return pd.DataFrame(
        rows, columns=["scenario", "policy", "missing_seeds", "n_seeds", "common_seeds"]
    )


def _gap_text(gaps: pd.DataFrame) -> str:
    parts = [
        f"{r.policy!r} in scenario {r.scenario!r} lacks seed(s) {_seeds(r.missing_seeds)}"
        for r in gaps.itertuples()
    ]
    return "; ".join(parts)


def _seeds(seeds: list[int]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else "none"


def balance_seeds(tables: RunTables, mode: str = "common") -> RunTables:
    """Check that every policy of a scenario ran the same seeds; restrict to them.

    Args:
        tables: collected runs.
        mode: one of :data:`SEED_MODES`: ``"common"`` keeps, per scenario, only the
            seeds every policy ran (the other runs are left out of every table and
            listed in :attr:`RunTables.excluded_runs`); ``"all"`` keeps every run;
            ``"refuse"`` raises.

    Returns:
        ``tables`` (``mode="all"`` or balanced seed sets) or a restricted copy; its
        :attr:`RunTables.seed_gaps` is :func:`seed_gaps` of the runs found.

    Warns:
        UnbalancedSeedsWarning: when seed sets differ (``"common"`` and ``"all"``); the
            message names each policy, scenario and the seeds it lacks, and what was done.

    Raises:
        ValueError: for an unknown ``mode``; with ``mode="refuse"`` when seed sets
            differ (the message names the gaps); with ``"common"`` when a scenario has no
            seed every policy ran.
    """
    if mode not in SEED_MODES:
        raise ValueError(f"seed mode must be one of {list(SEED_MODES)}, got {mode!r}")
    summary = tables.summary
    gaps = seed_gaps(summary)
    if gaps.empty:
        return dataclasses.replace(tables, seed_gaps=gaps)
    text = _gap_text(gaps)
    if mode == "refuse":
        raise ValueError(f"unbalanced seed sets: {text}")
    if mode == "all":
        warnings.warn(
            f"unbalanced seed sets: {text}; comparing every run as asked, so policies' "
            "means rest on different seeds (paired differences use the shared seeds)",
            UnbalancedSeedsWarning,
            stacklevel=2,
        )
        return dataclasses.replace(tables, seed_gaps=gaps)
    common = gaps.drop_duplicates("scenario").set_index("scenario")["common_seeds"]
    empty = [s for s, seeds in common.items() if not seeds]
    if empty:
        raise ValueError(
            f"no seed was run by every policy in scenario(s) {empty}: {text}; "
            "finish the sweep, or compare every run (seeds='all', --seeds all)"
        )
    keep = pd.Series(True, index=summary.index)
    for scenario, seeds in common.items():
        in_scenario = summary["scenario"] == scenario
        keep &= ~in_scenario | summary["seed"].isin(seeds)
    excluded = summary.loc[~keep, "run_id"].astype(str).tolist()
    warnings.warn(
        f"unbalanced seed sets: {text}; comparing only the seeds every policy ran "
        f"({'; '.join(f'{s!r}: {_seeds(v)}' for s, v in common.items())}), "
        f"leaving out {len(excluded)} run(s) (compare every run: seeds='all', --seeds all)",
        UnbalancedSeedsWarning,
        stacklevel=2,
    )
    kept_ids = set(summary.loc[keep, "run_id"].astype(str))
    restricted = {
        f.name: _only(getattr(tables, f.name), kept_ids)
        for f in dataclasses.fields(tables)
        if isinstance(getattr(tables, f.name), pd.DataFrame) and f.name != "seed_gaps"
    }
    run_dirs = {k: v for k, v in tables.run_dirs.items() if k in kept_ids}
    return dataclasses.replace(
        tables, **restricted, run_dirs=run_dirs, seed_gaps=gaps, excluded_runs=excluded
    )


def _only(table: pd.DataFrame, run_ids: set[str]) -> pd.DataFrame:
    if "run_id" not in table.columns:
        return table
    return table[table["run_id"].astype(str).isin(run_ids)].reset_index(drop=True)


def seed_note(tables: RunTables) -> list[str]:
    """Markdown bullets for a report: the seed gaps found and what was compared.

    Returns:
        An empty list when seed sets were balanced, else one or two bullet lines.
    """
    gaps = getattr(tables, "seed_gaps", None)
    if gaps is None or gaps.empty:
        return []
    lines = [f"- **Unbalanced seed sets**: {_gap_text(gaps)}."]
    if tables.excluded_runs:
        lines.append(
            f"- Compared on the seeds every policy ran only; {len(tables.excluded_runs)} "
            "run(s) left out."
        )
    else:
        lines.append("- Every run compared: means rest on different seed sets.")
    return lines
