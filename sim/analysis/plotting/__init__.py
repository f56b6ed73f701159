"""Figures for comparing limit policies. Every function returns a Matplotlib ``Figure``.

Figures are built with :class:`matplotlib.figure.Figure` directly, not through
:mod:`matplotlib.pyplot`, so they are never registered with pyplot, need no display
and leave no open pyplot figures behind. Nothing here writes files: save a figure with
:func:`sim.outputs.files.save_figure`.

Units on axes: money columns (``*_cny``) are labelled "CNY" with compact ticks (12.5k, 3.2M);
rates and shares (fractions in the data, including APR) are shown in percent; paired
differences of fractions are in percentage points (pp). Each policy keeps the same
colour in every figure (:func:`policy_colours`).

Tables read here are those of :class:`sim.analysis.compare.RunTables` (columns
``policy``, ``scenario``, ``seed`` plus the table's own). Functions that pool over seeds
refuse tables mixing several scenarios (filter to one first), because pooling scenarios
would mix different exogenous worlds.
"""

from sim.analysis.plotting.delinquency import roll_rate_heatmap, roll_rate_heatmaps, vintage_plot
from sim.analysis.plotting.distribution import decile_bars
from sim.analysis.plotting.firms import buffer_days_distribution
from sim.analysis.plotting.forest import forest_plot
from sim.analysis.plotting.paired_tradeoff import pareto_set, pareto_set_ci, tradeoff_three_way
from sim.analysis.plotting.style import is_fraction, metric_label, metric_unit, policy_colours
from sim.analysis.plotting.timeseries import fan_chart, fan_charts, policy_timeseries
from sim.analysis.plotting.tradeoff import pareto_front, tradeoff_frontier
from sim.analysis.plotting.treated import event_study_plot, who_bears_cuts
from sim.analysis.plotting.validation import (
    observed_vs_simulated_bars,
    scorecard_calibration_plot,
    transition_heatmaps,
)

__all__ = [
    "buffer_days_distribution",
    "decile_bars",
    "event_study_plot",
    "fan_chart",
    "fan_charts",
    "forest_plot",
    "is_fraction",
    "metric_label",
    "metric_unit",
    "observed_vs_simulated_bars",
    "pareto_front",
    "pareto_set",
    "pareto_set_ci",
    "policy_colours",
    "policy_timeseries",
    "roll_rate_heatmap",
    "roll_rate_heatmaps",
    "scorecard_calibration_plot",
    "tradeoff_frontier",
    "tradeoff_three_way",
    "transition_heatmaps",
    "vintage_plot",
    "who_bears_cuts",
]
