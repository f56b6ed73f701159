import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.compare import (
    HEADLINE_METRICS,
    HIGHER_IS_WORSE,
    UnbalancedSeedsWarning,
    collect_runs,
    comparison_table,
    format_estimate,
    paired_differences,
    summarise,
)
from sim.outputs import files as io

T_975_DF2 = 4.302652729911275  # Student-t 97.5 % quantile, 2 degrees of freedom (tables)


def _summary(rows):
    """rows: (policy, scenario, seed, realised_loss_cny, effective_apr)."""
    df = pd.DataFrame(
        rows, columns=["policy", "scenario", "seed", "realised_loss_cny", "effective_apr"]
    )
    df.insert(0, "run_id", [f"{p}-{s}-{k}" for p, s, k, *_ in rows])
    return df


@pytest.fixture
def summary_df():
    return _summary(
        [
            ("static", "base", 1, 10.0, 0.10),
            ("static", "base", 2, 12.0, 0.12),
            ("static", "base", 3, 14.0, 0.14),
            ("rule", "base", 1, 9.0, 0.11),
            ("rule", "base", 2, 10.0, 0.13),
            ("rule", "base", 3, 12.0, 0.15),
            ("rule", "base", 4, 5.0, 0.20),  # no baseline run for seed 4
        ]
    )


METRICS = ["realised_loss_cny", "effective_apr"]


def test_headline_metrics_and_directions():
    assert len(HEADLINE_METRICS) == 15
    assert len(set(HEADLINE_METRICS)) == 15
    assert HEADLINE_METRICS[0] == "cumulative_default_rate"
    assert HEADLINE_METRICS[-1] == "platform_net_interest_income_cny"
    assert set(HIGHER_IS_WORSE) == set(HEADLINE_METRICS)
    assert HIGHER_IS_WORSE["effective_apr"] is True
    assert HIGHER_IS_WORSE["median_cash_buffer_days"] is False
    assert HIGHER_IS_WORSE["platform_net_interest_income_cny"] is False


def test_summarise_mean_and_t_interval_by_hand(summary_df):
    out = summarise(summary_df, metrics=METRICS)
    assert list(out.columns) == [
        "policy",
        "scenario",
        "metric",
        "n_seeds",
        "mean",
        "std",
        "ci_low",
        "ci_high",
    ]
    row = out[(out.policy == "static") & (out.metric == "realised_loss_cny")].iloc[0]
    # values 10, 12, 14: mean 12, sd 2, half-width t(0.975, 2) * 2 / sqrt(3)
    half = T_975_DF2 * 2.0 / math.sqrt(3.0)
    assert row.n_seeds == 3
    assert row["mean"] == pytest.approx(12.0)
    assert row["std"] == pytest.approx(2.0)
    assert row.ci_low == pytest.approx(12.0 - half)
    assert row.ci_high == pytest.approx(12.0 + half)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) * 2 / math.sqrt(3))
    rule = out[(out.policy == "rule") & (out.metric == "realised_loss_cny")].iloc[0]
    assert rule.n_seeds == 4
    assert rule["mean"] == pytest.approx(9.0)


def test_summarise_confidence_level_changes_interval(summary_df):
    out90 = summarise(summary_df, metrics=["realised_loss_cny"], confidence=0.90)
    row = out90[out90.policy == "static"].iloc[0]
    half = stats.t.ppf(0.95, 2) * 2.0 / math.sqrt(3.0)
    assert row.ci_high - row["mean"] == pytest.approx(half)
    with pytest.raises(ValueError, match="confidence"):
        summarise(summary_df, metrics=METRICS, confidence=1.5)


def test_summarise_single_seed_and_nan(summary_df):
    df = summary_df.copy()
    df.loc[(df.policy == "static") & (df.seed == 3), "realised_loss_cny"] = np.nan
    one = _summary([("solo", "base", 7, 3.0, 0.1)])
    out = summarise(pd.concat([df, one], ignore_index=True), metrics=METRICS)
    static = out[(out.policy == "static") & (out.metric == "realised_loss_cny")].iloc[0]
    assert static.n_seeds == 2
    assert static["mean"] == pytest.approx(11.0)
    solo = out[(out.policy == "solo") & (out.metric == "realised_loss_cny")].iloc[0]
    assert solo.n_seeds == 1
    assert solo["mean"] == 3.0
    assert math.isnan(solo.ci_low) and math.isnan(solo.ci_high) and math.isnan(solo["std"])


def test_summarise_missing_metric_column_raises(summary_df):
    with pytest.raises(ValueError, match="peak_ead_cny"):
        summarise(summary_df, metrics=["peak_ead_cny"])


def test_paired_t_matches_hand_computation_and_ttest_rel(summary_df):
    out = paired_differences(summary_df, baseline="static", metrics=METRICS)
    assert list(out.columns) == [
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
    assert set(out.policy) == {"rule"}  # the baseline is not compared with itself
    row = out[out.metric == "realised_loss_cny"].iloc[0]
    # differences rule - static on seeds 1..3: -1, -2, -2; seed 4 has no baseline run
    assert row.baseline == "static"
    assert row.n_pairs == 3
    assert row.n_unpaired == 1
    assert row.mean_diff == pytest.approx(-5.0 / 3.0)
    se = math.sqrt(1.0 / 3.0) / math.sqrt(3.0)  # sd of differences sqrt(1/3)
    assert se == pytest.approx(1.0 / 3.0)
    assert row.ci_low == pytest.approx(-5.0 / 3.0 - T_975_DF2 * se)
    assert row.ci_high == pytest.approx(-5.0 / 3.0 + T_975_DF2 * se)
    # t = -5 on 2 degrees of freedom
    assert row.p_value == pytest.approx(2 * stats.t.sf(5.0, 2))
    ref = stats.ttest_rel([9.0, 10.0, 12.0], [10.0, 12.0, 14.0])
    assert row.p_value == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high))


def test_pairing_is_by_scenario_and_seed_not_row_order():
    rows = [
        ("static", "base", 1, 10.0, 0.1),
        ("static", "base", 2, 20.0, 0.1),
        ("static", "downturn", 1, 100.0, 0.1),
        ("static", "downturn", 2, 200.0, 0.1),
        ("rule", "downturn", 2, 170.0, 0.1),
        ("rule", "base", 2, 19.0, 0.1),
        ("rule", "downturn", 1, 90.0, 0.1),
        ("rule", "base", 1, 7.0, 0.1),
    ]
    df = _summary(rows).sample(frac=1.0, random_state=3)
    out = paired_differences(df, baseline="static", metrics=["realised_loss_cny"])
    base = out[out.scenario == "base"].iloc[0]
    down = out[out.scenario == "downturn"].iloc[0]
    assert base.mean_diff == pytest.approx(((7 - 10) + (19 - 20)) / 2)  # -2
    assert down.mean_diff == pytest.approx(((90 - 100) + (170 - 200)) / 2)  # -20
    assert base.n_pairs == down.n_pairs == 2
    assert base.n_unpaired == down.n_unpaired == 0


def test_unpaired_seeds_counted_on_both_sides():
    rows = [
        ("static", "base", 1, 10.0, 0.1),
        ("static", "base", 2, 12.0, 0.1),
        ("static", "base", 5, 99.0, 0.1),  # baseline only
        ("rule", "base", 1, 11.0, 0.1),
        ("rule", "base", 2, 14.0, 0.1),
        ("rule", "base", 6, 0.0, 0.1),  # policy only
    ]
    out = paired_differences(_summary(rows), metrics=["realised_loss_cny"])
    row = out.iloc[0]
    assert row.n_pairs == 2
    assert row.n_unpaired == 2
    assert row.mean_diff == pytest.approx(1.5)


def test_identical_differences_give_degenerate_interval(summary_df):
    df = summary_df.copy()
    df.loc[df.policy == "rule", "effective_apr"] = df.loc[df.policy == "rule", "seed"].map(
        {1: 0.10, 2: 0.12, 3: 0.14, 4: 0.3}
    )
    out = paired_differences(df, metrics=["effective_apr"])
    row = out.iloc[0]
    assert row.mean_diff == 0.0
    assert (row.ci_low, row.ci_high, row.p_value) == (0.0, 0.0, 1.0)


def test_missing_baseline_raises(summary_df):
    with pytest.raises(ValueError, match="'pd_threshold'"):
        paired_differences(summary_df, baseline="pd_threshold", metrics=METRICS)


def test_duplicate_run_for_same_seed_raises(summary_df):
    dup = pd.concat([summary_df, summary_df.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError) as err:
        paired_differences(dup, metrics=METRICS)
    first = dup.iloc[0]
    assert str(err.value) == (
        f"policy {first.policy}, scenario {first.scenario}, seed {first.seed} occurs more "
        "than once (runs of two configs?): compare one config's runs"
    )


def test_bootstrap_matches_scipy_bootstrap(summary_df):
    out = paired_differences(
        summary_df, metrics=["effective_apr"], method="bootstrap", n_resamples=999, seed=7
    )
    row = out.iloc[0]
    assert row.mean_diff == pytest.approx(0.01)
    assert math.isnan(row.p_value)
    # all three differences are 0.01 up to rounding: the interval collapses
    assert row.ci_low == pytest.approx(0.01) and row.ci_high == pytest.approx(0.01)
    out = paired_differences(
        summary_df, metrics=["realised_loss_cny"], method="bootstrap", n_resamples=999, seed=7
    )
    row = out.iloc[0]
    diff = np.array([-1.0, -2.0, -2.0])
    ref = stats.bootstrap(
        (diff,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(7)
    )
    assert (row.ci_low, row.ci_high) == pytest.approx(
        (ref.confidence_interval.low, ref.confidence_interval.high)
    )
    assert -2.0 <= row.ci_low <= row.mean_diff <= row.ci_high <= -1.0


def test_bad_method_raises(summary_df):
    with pytest.raises(ValueError, match="method"):
        paired_differences(summary_df, metrics=METRICS, method="wilcoxon")


def test_comparison_table_cells_and_baseline_first(summary_df):
    table = comparison_table(summary_df, baseline="static", metrics=METRICS)
    assert list(table.columns) == ["scenario", "policy", "n_seeds", *METRICS]
    assert table.policy.tolist() == ["static", "rule"]
    half = T_975_DF2 * 2.0 / math.sqrt(3.0)
    expected = f"12 [{12 - half:.4g}, {12 + half:.4g}]"
    assert table.loc[0, "realised_loss_cny"] == expected == "12 [7.032, 16.97]"
    assert table.loc[0, "n_seeds"] == 3


def test_format_estimate():
    assert format_estimate(1234.4, 1000.0, 1500.6) == "1,234 [1,000, 1,501]"
    assert format_estimate(0.5) == "0.5"
    assert format_estimate(float("nan")) == "n/a"


# --------------------------------------------------------------------------- collect_runs


def _write_run(folder, run_id, policy, seed, loss, complete=True, n_months=3):
    summary = pd.DataFrame(
        {
            "run_id": [run_id],
            "policy": [policy],
            "scenario": ["base"],
            "seed": [seed],
            "n_borrowers": [50],
            "n_months": [n_months],
        }
        | {m: [float(loss) if m == "realised_loss_cny" else 0.1] for m in HEADLINE_METRICS}
    )
    monthly = pd.DataFrame(
        {
            "step": np.arange(1, n_months + 1),
            "calendar_month": np.arange(1, n_months + 1),
            "ead_cny": 1000.0 * np.arange(1, n_months + 1),
        }
    )
    events = pd.DataFrame(
        {
            "borrower_id": np.array([1, 2], dtype=np.int64),
            "step": [1, 2],
            "old_limit_cny": [5000.0, 8000.0],
            "new_limit_cny": [4000.0, 9000.0],
            "reason": ["DELINQUENCY", "STABLE_USE_INCREASE"],
        }
    )
    io.write_parquet_atomic(summary, folder / "summary.parquet")
    io.write_parquet_atomic(monthly, folder / "monthly.parquet")
    io.write_parquet_atomic(events, folder / "events.parquet")
    if complete:
        io.write_json_atomic({"run_id": run_id}, folder / "_COMPLETE.json")


def test_collect_runs_reads_complete_runs_and_skips_incomplete(tmp_path):
    _write_run(tmp_path / "static" / "0", "r0", "static", 0, 10.0)
    _write_run(tmp_path / "static" / "1", "r1", "static", 1, 12.0)
    _write_run(tmp_path / "deep" / "rule" / "0", "r2", "rule", 0, 8.0)
    _write_run(tmp_path / "rule" / "1", "r3", "rule", 1, 7.0, complete=False)
    (tmp_path / ".hydra").mkdir()  # unrelated folder: neither complete nor incomplete

    # rule's seed 1 is unfinished: seeds="all" keeps every complete run (with a warning)
    with pytest.warns(UnbalancedSeedsWarning, match="'rule' in scenario 'base' lacks seed"):
        tables = collect_runs(tmp_path, seeds="all")
    assert tables.incomplete == [tmp_path / "rule" / "1"]
    assert sorted(tables.summary.run_id) == ["r0", "r1", "r2"]
    assert tables.summary.policy.tolist() == ["rule", "static", "static"]
    assert tables.summary.seed.dtype == np.int64
    assert tables.policies == ["rule", "static"]
    assert tables.seeds == [0, 1]
    assert len(tables.monthly) == 9
    assert list(tables.monthly.columns[:4]) == ["run_id", "policy", "scenario", "seed"]
    r2 = tables.monthly[tables.monthly.run_id == "r2"]
    assert r2.policy.unique().tolist() == ["rule"]
    assert r2.ead_cny.tolist() == [1000.0, 2000.0, 3000.0]
    assert len(tables.events) == 6
    assert tables.vintage.empty and "run_id" in tables.vintage.columns
    assert tables.run_dirs["r2"] == tmp_path / "deep" / "rule" / "0"


def test_collect_runs_missing_folder_raises(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        collect_runs(missing)


def test_collect_runs_without_complete_run_raises(tmp_path):
    _write_run(tmp_path / "a", "r0", "static", 0, 1.0, complete=False)
    with pytest.raises(ValueError, match="no complete run"):
        collect_runs(tmp_path)


def test_collect_runs_duplicate_run_id_raises(tmp_path):
    _write_run(tmp_path / "a", "same", "static", 0, 1.0)
    _write_run(tmp_path / "b", "same", "static", 1, 1.0)
    with pytest.raises(ValueError, match="same"):
        collect_runs(tmp_path)


def test_collect_runs_of_two_configs_in_one_folder_names_both(tmp_path):
    # A resume with other overrides (n_months) adds runs of the same policy and seed.
    _write_run(tmp_path / "run_n_months=3,seed=0", "r0", "static", 0, 1.0)
    _write_run(tmp_path / "run_n_months=6,seed=0", "r1", "static", 0, 2.0, n_months=6)
    with pytest.raises(ValueError) as err:
        collect_runs(tmp_path)
    assert str(err.value) == (
        f"runs {tmp_path / 'run_n_months=3,seed=0'} and {tmp_path / 'run_n_months=6,seed=0'} "
        "are both policy static, scenario base, seed 0: the folder holds runs of different "
        "configs (a resume with other overrides adds runs beside the first ones); compare "
        "one config's runs, each config in a folder of its own"
    )


def test_collect_runs_refuses_arms_of_different_configs_naming_the_keys(tmp_path):
    # static over 6 months beside pd_threshold over 12 (a resume with other overrides):
    # no (policy, scenario, seed) repeats, but pairing them would be no comparison.
    def config(policy, months, seed, plots):
        return (
            f"seed: {seed}\nn_months: {months}\nburn_in_months: 0\npolicy:\n  name: {policy}\n"
            f"scenario:\n  name: base\noutput:\n  plots: {plots}\nresume: true\n"
        )

    runs = [("a", "static", 6, 0, "true"), ("b", "static", 6, 1, "false"),
            ("c", "pd_threshold", 6, 0, "false"), ("d", "pd_threshold", 12, 1, "true")]  # fmt: skip
    for name, policy, months, seed, plots in runs:
        _write_run(tmp_path / name, name, policy, seed, 1.0, n_months=months)
        (tmp_path / name / "resolved_config.yaml").write_text(config(policy, months, seed, plots))
    with pytest.raises(ValueError) as err:
        collect_runs(tmp_path, seeds="all")
    assert str(err.value).startswith(
        f"runs {tmp_path / 'a'} and {tmp_path / 'd'} differ in n_months (not only in policy, "
        "seed or scenario): the folder holds runs of different configs"
    )
    # Policies, seeds and output settings differing is a comparison: collected.
    (tmp_path / "d" / "resolved_config.yaml").write_text(config("pd_threshold", 6, 1, "true"))
    assert len(collect_runs(tmp_path, seeds="all").summary) == 4
