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
``by_segment.parquet``, ``transitions.parquet``, ``vintage.parquet``, ``firms.parquet``
and the per-agent ``borrowers.parquet``, ``firm_outcomes.parquet`` and
``agent_panel.parquet``, which :mod:`~sim.analysis.compare.treated` joins on
``(scenario, seed, agent id)`` for the effects on the treated.

Statistics are computed with :mod:`scipy.stats`: Student-t intervals over seeds,
paired t-tests (:func:`scipy.stats.ttest_rel`) and bootstrap intervals
(:func:`scipy.stats.bootstrap`, BCa).
"""

from sim.analysis.compare.headline import HEADLINE_METRICS, HIGHER_IS_WORSE
from sim.analysis.compare.identical import identical_policies
from sim.analysis.compare.runs import (
    COMPLETE_MARKER,
    ID_COLUMNS,
    RUN_TABLES,
    RunTables,
    collect_runs,
)
from sim.analysis.compare.seeds import (
    SEED_MODES,
    UnbalancedSeedsWarning,
    balance_seeds,
    seed_gaps,
)
from sim.analysis.compare.statistics import paired_differences, summarise
from sim.analysis.compare.tables import comparison_table, format_estimate
from sim.analysis.compare.treated import event_study, treated_effects, treatment_groups

__all__ = [
    "COMPLETE_MARKER",
    "HEADLINE_METRICS",
    "HIGHER_IS_WORSE",
    "ID_COLUMNS",
    "RUN_TABLES",
    "RunTables",
    "SEED_MODES",
    "UnbalancedSeedsWarning",
    "balance_seeds",
    "collect_runs",
    "comparison_table",
    "event_study",
    "format_estimate",
    "identical_policies",
    "paired_differences",
    "seed_gaps",
    "summarise",
    "treated_effects",
    "treatment_groups",
]
