import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.ticker import PercentFormatter

from sim.analysis import plotting
from sim.analysis.compare import paired_differences, summarise
from sim.analysis.delinquency import roll_rate_matrix

POLICIES = ["rule", "static"]


@pytest.fixture(autouse=True)
def no_open_pyplot_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == []


@pytest.fixture
def monthly():
    # 2 policies x seeds 1..3 x steps 1..4; ead_cny = 100 * seed + step (+ 1000 for rule)
    rows = []
    for policy in POLICIES:
        for seed in (1, 2, 3):
            for step in (1, 2, 3, 4):
                ead = 100.0 * seed + step + (1000.0 if policy == "rule" else 0.0)
                rows.append((policy, "base", seed, step, ead, 0.01 * seed, 0.1 + 0.01 * step))
    return pd.DataFrame(
        rows,
        columns=["policy", "scenario", "seed", "step", "ead_cny", "default_rate", "effective_apr"],
    )


@pytest.fixture
def summary():
    rows = []
    for seed in (1, 2, 3):
        rows.append(("static", "base", seed, 100.0 + seed, 0.20, np.nan))
        rows.append(("cut_hard", "base", seed, 50.0 + seed, 0.30, np.nan))
        rows.append(("dominated", "base", seed, 120.0 + seed, 0.35, np.nan))
        rows.append(("cheap", "base", seed, 150.0 + seed, 0.15, np.nan))
    return pd.DataFrame(
        rows,
        columns=[
            "policy",
            "scenario",
            "seed",
            "realised_loss_cny",
            "effective_apr",
            "median_cash_buffer_days",
        ],
    )


def _line_labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_metric_labels_and_units():
    assert plotting.metric_label("effective_apr") == "Effective APR (%)"
    assert plotting.metric_label("ead_cny") == "EAD (CNY)"
    assert plotting.metric_label("median_cash_buffer_days") == "Median cash buffer (days)"
    assert plotting.metric_label("dpd90_share", difference=True) == "Δ 90+ DPD share (pp)"
    assert plotting.metric_label("some_new_cny") == "Some new (CNY)"
    assert plotting.is_fraction("interest_fees_share_of_income")
    assert not plotting.is_fraction("late_supplier_payments_cny")


def test_fan_chart_medians_and_labels(monthly):
    fig = plotting.fan_chart(monthly, "ead_cny")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert _line_labels(ax) == POLICIES
    rule = next(line for line in ax.get_lines() if line.get_label() == "rule")
    # median over seeds 1..3 of 1000 + 100 * seed + step is 1200 + step
    assert list(rule.get_xdata()) == [1, 2, 3, 4]
    assert list(rule.get_ydata()) == pytest.approx([1201, 1202, 1203, 1204])
    assert "CNY" in ax.get_ylabel()
    assert ax.get_xlabel() == "Month (step)"


def test_fan_chart_percent_axis_for_rates(monthly):
    fig = plotting.fan_chart(monthly, "default_rate")
    assert isinstance(fig.axes[0].yaxis.get_major_formatter(), PercentFormatter)


def test_fan_chart_on_given_axes_and_band_check(monthly):
    fig = Figure()
    ax = fig.add_subplot()
    assert plotting.fan_chart(monthly, "ead_cny", ax=ax) is fig
    with pytest.raises(ValueError, match="band"):
        plotting.fan_chart(monthly, "ead_cny", band=(0.9, 0.1))


def test_fan_chart_refuses_mixed_scenarios(monthly):
    other = monthly.assign(scenario="downturn")
    with pytest.raises(ValueError, match="scenario"):
        plotting.fan_chart(pd.concat([monthly, other]), "ead_cny")


def test_fan_charts_grid(monthly):
    fig = plotting.fan_charts(monthly, ["ead_cny", "default_rate", "effective_apr"])
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert _line_labels(ax) == POLICIES


def test_policy_timeseries(monthly):
    fig = plotting.policy_timeseries(monthly, ["ead_cny", "effective_apr"], seed=2)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert _line_labels(ax) == POLICIES
    static = next(line for line in ax.get_lines() if line.get_label() == "static")
    assert list(static.get_ydata()) == pytest.approx([201, 202, 203, 204])
    with pytest.raises(ValueError, match="seed"):
        plotting.policy_timeseries(monthly, ["ead_cny"])


def test_pareto_front_hand_case():
    df = pd.DataFrame(
        {
            "policy": ["A", "B", "C", "D", "E", "F"],
            "cost": [1.0, 2.0, 3.0, 5.0, 2.0, np.nan],
            "loss": [5.0, 2.0, 3.0, 1.0, 2.0, 0.0],
        }
    )
    # C is dominated by B; B and E tie (neither dominates); F has no cost
    assert plotting.pareto_front(df, "cost", "loss") == ["A", "B", "E", "D"]
    # from the index when there is no policy column
    indexed = df.set_index("policy")
    assert plotting.pareto_front(indexed, "loss", "cost") == ["D", "B", "E", "A"]


def test_tradeoff_frontier_from_summary(summary):
    fig = plotting.tradeoff_frontier(summary)
    assert len(fig.axes) == 1  # stress all NaN: neutral colour, no colour bar
    ax = fig.axes[0]
    labels = {c.get_label() for c in ax.collections}
    assert {"static", "cut_hard", "dominated", "cheap"} <= labels
    front = next(line for line in ax.get_lines() if line.get_label().startswith("Pareto"))
    # means: cheap (0.15, 152), static (0.20, 102), cut_hard (0.30, 52); dominated is not
    assert list(front.get_xdata()) == pytest.approx([0.15, 0.20, 0.30])
    assert list(front.get_ydata()) == pytest.approx([152, 102, 52])
    assert isinstance(ax.xaxis.get_major_formatter(), PercentFormatter)


def test_tradeoff_frontier_labels_coinciding_policies_once(summary):
    # "twin" lands exactly on static (a wrapper whose condition never fires): one label
    # naming both, instead of two overprinted ones; the other policies keep their own.
    twin = summary[summary["policy"] == "static"].assign(policy="twin")
    fig = plotting.tradeoff_frontier(pd.concat([summary, twin], ignore_index=True))
    labels = sorted(t.get_text() for t in fig.axes[0].texts if isinstance(t, Annotation))
    assert labels[:3] == ["cheap", "cut_hard", "dominated"]
    assert labels[3] in ("static\ntwin", "twin\nstatic")
    assert len(labels) == 4


def test_tradeoff_frontier_with_stress_has_colour_bar(summary):
    df = summary.assign(median_cash_buffer_days=summary["seed"] * 10.0)
    stats_df = summarise(df, ["realised_loss_cny", "effective_apr", "median_cash_buffer_days"])
    fig = plotting.tradeoff_frontier(stats_df)
    assert len(fig.axes) == 2
    assert "days" in fig.axes[1].get_ylabel()


def test_forest_plot(summary):
    paired = paired_differences(summary, "static", metrics=["realised_loss_cny", "effective_apr"])
    fig = plotting.forest_plot(paired)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert sorted(c.get_label() for c in containers) == ["cheap", "cut_hard", "dominated"]
    cut = next(c for c in containers if c.get_label() == "cut_hard")
    assert cut.lines[0].get_xdata()[0] == pytest.approx(-50.0)
    zero_lines = [line for line in ax.get_lines() if list(line.get_xdata()) == [0, 0]]
    assert zero_lines
    one = plotting.forest_plot(paired, metrics=["effective_apr"])
    assert len(one.axes) == 1


@pytest.fixture
def by_segment():
    rows = []
    for policy in POLICIES:
        for seed in (1, 2):
            for decile in range(1, 11):
                cuts = float(decile + seed) + (5.0 if policy == "rule" else 0.0)
                rows.append((policy, "base", seed, "income_decile", str(decile), cuts))
            rows.append((policy, "base", seed, "segment", "household", 1.0))
    return pd.DataFrame(
        rows, columns=["policy", "scenario", "seed", "group", "level", "limit_cuts"]
    )


def test_decile_bars(by_segment):
    fig = plotting.decile_bars(by_segment)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == POLICIES
    rule = bars[0]
    assert len(rule.patches) == 10
    # mean over seeds 1, 2 of decile + seed + 5 = decile + 6.5; deciles in numeric order
    assert [p.get_height() for p in rule.patches] == pytest.approx([d + 6.5 for d in range(1, 11)])
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(1, 11)]
    with pytest.raises(ValueError, match="behaviour_type"):
        plotting.decile_bars(by_segment, group="behaviour_type")


def test_vintage_plot_pools_seeds_by_accounts():
    df = pd.DataFrame(
        {
            "policy": ["static", "static", "rule", "static", "static"],
            "scenario": "base",
            "seed": [1, 2, 1, 1, 2],
            "vintage": ["v1", "v1", "v1", "v2", "v2"],
            "months_on_book": [1, 1, 1, 1, 1],
            "n_accounts": [100, 300, 10, 50, 50],
            "cumulative_default_rate": [0.1, 0.2, 0.5, 0.0, 0.2],
        }
    )
    fig = plotting.vintage_plot(df)
    assert len(fig.axes) == 2  # one panel per policy
    static_ax = next(ax for ax in fig.axes if ax.get_title() == "policy static")
    assert _line_labels(static_ax) == ["v1", "v2"]
    v1 = static_ax.get_lines()[0]
    assert v1.get_ydata()[0] == pytest.approx((0.1 * 100 + 0.2 * 300) / 400)


def test_roll_rate_heatmaps():
    transitions = pd.DataFrame(
        {
            "policy": ["static", "static", "rule", "rule"],
            "from_bucket": ["30-59", "30-59", "current", "current"],
            "to_bucket": ["current", "60-89", "current", "30-59"],
            "count": [1, 3, 9, 1],
        }
    )
    single = plotting.roll_rate_heatmap(roll_rate_matrix(transitions))
    assert len(single.axes) == 1
    texts = [t.get_text() for t in single.axes[0].texts]
    assert "75.0%" in texts and texts.count("no exposure") == 2  # 1-29 and 60-89
    fig = plotting.roll_rate_heatmaps(transitions)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["policy rule", "policy static"]


def test_vintage_plot_pools_runs_only_as_far_as_every_run_observed_the_vintage():
    # Q1 seen 3 months in run a, 2 in run b (a later member): pooled only to month 2,
    # so the pooled curve cannot fall where run b's accounts drop out.
    df = pd.DataFrame(
        {
            "run_id": ["a", "a", "a", "b", "b", "a"],
            "policy": "static",
            "scenario": "base",
            "vintage": ["Q1", "Q1", "Q1", "Q1", "Q1", "starting_book"],
            "months_on_book": [1, 2, 3, 1, 2, 1],
            "n_accounts": [10, 10, 10, 90, 90, 5],
            "cumulative_default_rate": [0.0, 0.1, 0.1, 0.2, 0.3, 0.0],
        }
    )
    ax = plotting.vintage_plot(df).axes[0]
    q1, book = ax.get_lines()
    assert q1.get_xdata().tolist() == [1, 2]
    assert q1.get_ydata().tolist() == pytest.approx([0.18, (1 + 27) / 100])
    assert book.get_label() == "starting_book (months since start)"
