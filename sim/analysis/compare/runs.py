"""Collect a sweep: find its complete run folders and concatenate their tables.

A *sweep folder* holds one sub-folder per simulation run (at any depth); each run was
simulated for one ``(policy, scenario, seed)``.

Tables consumed (one run folder; a folder is complete when ``_COMPLETE.json`` exists):
``summary.parquet`` (one row: ``run_id, policy, scenario, seed, n_borrowers, n_months``
and the :data:`~sim.analysis.compare.headline.HEADLINE_METRICS`), ``monthly.parquet``,
``events.parquet``, ``by_segment.parquet``, ``transitions.parquet``, ``vintage.parquet``
and ``firms.parquet``.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.compare.seeds import balance_seeds
from sim.outputs import files as io

__all__ = [
    "AGENT_TABLES",
    "COMPLETE_MARKER",
    "ID_COLUMNS",
    "RUN_TABLES",
    "RunTables",
    "collect_runs",
    "config_difference",
    "read_study_config",
    "study_config",
]

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
    "borrowers",
    "firm_outcomes",
    "agent_panel",
)
"""Tables of a run folder (each stored as ``<name>.parquet``)."""

AGENT_TABLES: tuple[str, ...] = ("borrowers", "firm_outcomes", "agent_panel")
"""The per-agent tables (:mod:`sim.outputs.agents`); their identifier columns are
categoricals after collection (one row per agent of every run)."""

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
        borrowers: one row per borrower and run (``borrower_id``, attributes, decisions
            and window outcomes: :meth:`sim.outputs.agents.AgentOutcomes.borrower_table`).
        firm_outcomes: one row per firm and run (``firm_id``, ``owner_id``, ``sector``,
            stress and closure: :meth:`sim.outputs.agents.AgentOutcomes.firm_table`).
        agent_panel: monthly series of the sampled borrowers
            (:meth:`sim.outputs.agents.AgentOutcomes.panel_table`).
        incomplete: run folders found without ``_COMPLETE.json`` (ignored).
        run_dirs: folders of the complete runs, keyed by ``run_id``.
        seed_gaps: the seeds each policy lacks per scenario
            (:func:`sim.analysis.compare.seeds.seed_gaps`; empty when balanced).
        excluded_runs: ``run_id`` of complete runs left out to compare on common seeds.
    """

    summary: pd.DataFrame
    monthly: pd.DataFrame
    events: pd.DataFrame
    by_segment: pd.DataFrame
    transitions: pd.DataFrame
    vintage: pd.DataFrame
    firms: pd.DataFrame = field(default_factory=lambda: _concat([]))
    borrowers: pd.DataFrame = field(default_factory=lambda: _concat([]))
    firm_outcomes: pd.DataFrame = field(default_factory=lambda: _concat([]))
    agent_panel: pd.DataFrame = field(default_factory=lambda: _concat([]))
    incomplete: list[Path] = field(default_factory=list)
    run_dirs: dict[str, Path] = field(default_factory=dict)
    seed_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded_runs: list[str] = field(default_factory=list)

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


def _concat_agent_table(
    frames: list[tuple[int, pd.DataFrame]], runs: list[dict[str, object]]
) -> pd.DataFrame:
    """Concatenate per-agent tables; identifier columns as categoricals (built from codes).

    Per-agent tables have a row per agent of every run, so the identifiers are built
    once per column from the run index of each row rather than as Python strings.
    """
    frames = [(i, f) for i, f in frames if not f.empty]
    if not frames:
        return _concat([])
    body = pd.concat([f for _, f in frames], ignore_index=True)
    run_of_row = np.repeat([i for i, _ in frames], [len(f) for _, f in frames])
    front = {}
    for column in ("run_id", "policy", "scenario"):
        values = [str(r[column]) for r in runs]
        categories = sorted(set(values))
        codes = np.array([categories.index(v) for v in values], dtype=np.int32)
        front[column] = pd.Categorical.from_codes(codes[run_of_row], categories=categories)
    front["seed"] = np.array([int(r["seed"]) for r in runs], dtype=np.int64)[run_of_row]
    return pd.concat(
        [pd.DataFrame(front), body.drop(columns=list(ID_COLUMNS), errors="ignore")], axis=1
    )


#: Keys of a run's ``resolved_config.yaml`` that may differ between the runs compared: the
#: arms (policy), the pairing and the scenarios, and settings that move no number.
COMPARED_KEYS = frozenset(
    {"policy", "seed", "scenario", "output", "resume", "share_burn_in", "experiment_name"}
)


#: What two runs of different configs in one folder mean, and what to do.
_TWO_CONFIGS = (
    "the folder holds runs of different configs (a resume with other overrides adds runs "
    "beside the first ones); compare one config's runs, each config in a folder of its own"
)


def study_config(config: Mapping[str, object]) -> dict[str, object]:
    """What every run of one study shares: ``config`` without :data:`COMPARED_KEYS`.

    ``config`` is a run's resolved config, as its ``resolved_config.yaml`` reads.
    """
    return {k: v for k, v in config.items() if k not in COMPARED_KEYS}


def read_study_config(folder: Path) -> dict[str, object] | None:
    """:func:`study_config` of the run in ``folder``; None without ``resolved_config.yaml``."""
    import yaml

    path = folder / "resolved_config.yaml"
    if not path.is_file():
        return None
    return study_config(yaml.safe_load(path.read_text()) or {})


def config_difference(a: Mapping[str, object], b: Mapping[str, object]) -> list[str]:
    """The top-level keys whose values differ between ``a`` and ``b`` (sorted)."""
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _check_one_config(folders: list[Path]) -> None:
    """Refuse runs whose configs differ beyond :data:`COMPARED_KEYS` (runs of two studies).

    A resume with other overrides adds runs beside the first ones: pairing a 6-month
    ``static`` run with a 12-month ``pd_threshold`` one would be no comparison. Runs
    without ``resolved_config.yaml`` are not checked.

    Raises:
        ValueError: naming two runs and the keys (up to five) in which they differ.
    """
    first: tuple[Path, dict[str, object]] | None = None
    for folder in folders:
        config = read_study_config(folder)
        if config is None:
            continue
        if first is None:
            first = (folder, config)
            continue
        keys = config_difference(config, first[1])
        if keys:
            raise ValueError(
                f"runs {first[0]} and {folder} differ in {', '.join(keys[:5])} (not only in "
                f"policy, seed or scenario): {_TWO_CONFIGS}"
            )


def collect_runs(
    sweep_dir: str | os.PathLike[str], seeds: str = "common", skip: Collection[str] = ()
) -> RunTables:
    """Read every complete run below ``sweep_dir`` and concatenate their tables.

    Policies are compared fairly only on the same seeds: when the policies of a scenario
    ran different seed sets (a half-finished sweep), it warns naming each policy,
    scenario and missing seed, and by default keeps only the seeds every policy ran
    (:func:`sim.analysis.compare.seeds.balance_seeds`).

    A run folder is any folder (at any depth, ``sweep_dir`` itself included) that holds
    ``_COMPLETE.json`` or one of the run tables (``summary.parquet`` ...). Folders with
    tables but without ``_COMPLETE.json`` are incomplete (still running, or crashed):
    they are skipped and listed in :attr:`RunTables.incomplete`. In a complete run only
    ``summary.parquet`` is required; a missing other table contributes no rows.

    Args:
        sweep_dir: folder of a sweep (e.g. a Hydra multirun folder).
        seeds: ``"common"`` (default: only the seeds every policy of a scenario ran),
            ``"all"`` (every complete run, with the warning) or ``"refuse"`` (raise on
            unbalanced seed sets).
        skip: tables not to read (names of :data:`RUN_TABLES` other than ``summary``):
            they are left empty, with the identifier columns only. The report reads no
            ``events`` (45 demo runs: 3.5 M rows, a third of the reading time).

    Returns:
        :class:`RunTables` with each table's rows tagged by ``run_id, policy, scenario,
        seed`` (taken from the run's one-row ``summary.parquet``); ``summary`` is sorted
        by policy, scenario, seed.

    Raises:
        FileNotFoundError: if ``sweep_dir`` does not exist or is not a folder (message
            names it).
        ValueError: if ``sweep_dir`` holds no complete run; if a complete run has no
            ``summary.parquet``, or its summary does not have exactly one row or lacks
            an identifier column; if two complete runs share a ``run_id``, or a policy,
            scenario and seed, or differ in config beyond :data:`COMPARED_KEYS` (runs of
            two configs; message names the folders); if
            ``skip`` names ``summary`` or no table; or as
            :func:`~sim.analysis.compare.seeds.balance_seeds`.

    Warns:
        UnbalancedSeedsWarning: policies of a scenario ran different seed sets.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"sweep folder not found: {root}")
    skippable = [n for n in RUN_TABLES if n != "summary"]
    unknown = sorted(set(skip) - set(skippable))
    if unknown:
        raise ValueError(f"skip: {unknown} not among the tables that may be left out {skippable}")

    candidates = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    run_folders = [p for p in candidates if _is_run_folder(p, root)]
    complete = [p for p in run_folders if (p / COMPLETE_MARKER).is_file()]
    incomplete = [p for p in run_folders if not (p / COMPLETE_MARKER).is_file()]
    if not complete:
        detail = f" ({len(incomplete)} incomplete run folder(s) found)" if incomplete else ""
        raise ValueError(f"no complete run (no {COMPLETE_MARKER}) in {root}{detail}")

    _check_one_config(complete)  # before any table is read
    parts: dict[str, list[pd.DataFrame]] = {n: [] for n in RUN_TABLES if n not in AGENT_TABLES}
    agent_parts: dict[str, list[tuple[int, pd.DataFrame]]] = {n: [] for n in AGENT_TABLES}
    agent_runs: list[dict[str, object]] = []
    run_dirs: dict[str, Path] = {}
    arms: dict[tuple[object, ...], Path] = {}  # (policy, scenario, seed) -> its run
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
        same = (ids["policy"], ids["scenario"], ids["seed"])
        if same in arms:
            raise ValueError(
                f"runs {arms[same]} and {folder} are both policy {same[0]}, scenario "
                f"{same[1]}, seed {same[2]}: {_TWO_CONFIGS}"
            )
        arms[same] = folder
        for name in RUN_TABLES:
            path = folder / f"{name}.parquet"
            if name in skip or not path.is_file():
                continue
            if name in AGENT_TABLES:
                agent_parts[name].append((len(agent_runs), io.read_parquet(path)))
            else:
                parts[name].append(_with_ids(io.read_parquet(path), ids))
        agent_runs.append(ids)

    tables = {name: _concat(frames) for name, frames in parts.items()}
    for name, frames in agent_parts.items():
        tables[name] = _concat_agent_table(frames, agent_runs)
    tables["summary"] = (
        tables["summary"].sort_values(["policy", "scenario", "seed"]).reset_index(drop=True)
    )
    collected = RunTables(**tables, incomplete=incomplete, run_dirs=run_dirs)
    return balance_seeds(collected, seeds)
