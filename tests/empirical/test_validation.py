"""Validation against the UCI data: status groups, the "as of" builder, statistics, report, CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.config import PopulationConfig
from sim.empirical.validation import (
    Panel,
    TargetSpec,
    ValidationConfig,
    account_level,
    check_targets,
    limit_decile,
    observed_panel,
    panel_statistics,
    reduced_size_note,
    run_validation,
    simulate_panel,
    state_status_group,
    summarise_seeds,
    transition_matrix,
    uci_status_group,
    validation_config_from_dict,
    write_validation_report,
)
from sim.empirical.validation.flag import flag_evidence, monthly_new_delinquency
from sim.runtime.compose import CONF_DIR
from sim.world.data import load_uci
from sim.world.population import build_population, classify_behaviour

CONFIG = Path(CONF_DIR) / "validation" / "uci_2005.yaml"
P, R, D = 0, 1, 2


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci()


# --------------------------------------------------------------------------- status groups


def test_uci_status_group_hand_cases():
    status = np.array([-2, -1, 0, 2, 5, 1, 1, 0, 3, -1])
    bill = np.array([0, 500, 800, 900, 100, 300, 0, 0, -10, -5])
    # nothing owed (bill <= 0) is P whatever the code; code 1 with a bill is D (main reading)
    assert uci_status_group(status, bill).tolist() == [P, P, R, D, D, D, P, P, P, P]
    # the alternative reading of September's code 1 changes that row only
    assert uci_status_group(status, bill, code1_as="R").tolist() == [P, P, R, D, D, R, P, P, P, P]
    with pytest.raises(ValueError, match="code1_as"):
        uci_status_group(status, bill, code1_as="P")
    with pytest.raises(ValueError, match="differ"):
        uci_status_group(status, bill[:-1])


def test_state_status_group_hand_cases():
    state = SimpleNamespace(
        defaulted=np.array([False, False, False, False, True]),
        missed=np.array([0, 0, 1, 2, 3]),
        paid_in_full=np.array([True, False, True, False, False]),
    )
    # current & paid in full -> P; current & balance carried -> R; behind or defaulted -> D
    assert state_status_group(state).tolist() == [P, R, D, D, D]


# --------------------------------------------------------------------------- the "as of" builder


def _july_population(uci: pd.DataFrame, n: int = 4000, seed: int = 7):
    cfg = PopulationConfig(
        n_borrowers=n,
        cny_per_twd=1.0,
        start_state="uci_july",
        starting_book="uci",
        behaviour_window_months=2,
    )
    return build_population(uci, cfg, np.random.default_rng(seed))


def test_as_of_july_keeps_row_identities_and_the_july_state(uci):
    s = _july_population(uci)
    rows = uci.iloc[s.uci_row]
    # identity: limit and age are the sampled rows' own
    np.testing.assert_array_equal(s.initial_limit_cny, rows["LIMIT_BAL"].to_numpy(float))
    np.testing.assert_array_equal(s.age_years, rows["AGE"].to_numpy())
    # the July bill (BILL_AMT3) is the balance, negatives 0, over the limit where the data's
    # is (5.5 % of these rows)
    expected = np.clip(rows["BILL_AMT3"].to_numpy(float), 0, None)
    np.testing.assert_allclose(s.balance_cny, expected)
    assert (s.balance_cny > s.initial_limit_cny).mean() == pytest.approx(0.055, abs=0.01)
    # July status (PAY_3): code 2 is the first miss, code k >= 2 -> k - 1 misses (at most 2)
    code = rows["PAY_3"].to_numpy()
    owes = rows["BILL_AMT3"].to_numpy() > 0
    expected_missed = np.where(owes & (code >= 2), np.clip(code - 1, 1, 2), 0)
    expected_missed = np.where(owes & (code == 1), 1, expected_missed)
    np.testing.assert_array_equal(s.missed, expected_missed)
    # the simulator's group at the start equals the data's July group of the same rows
    np.testing.assert_array_equal(
        state_status_group(s), uci_status_group(code, rows["BILL_AMT3"].to_numpy())
    )
    # behaviour types from June-July only
    np.testing.assert_array_equal(s.behaviour_type, classify_behaviour(rows, offset=2, window=2))


def test_as_of_july_uses_nothing_after_july(uci):
    future = uci.copy()
    rng = np.random.default_rng(0)
    for col in ("PAY_0", "PAY_2"):
        future[col] = rng.integers(-2, 9, len(uci))
    for col in ("BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2"):
        future[col] = rng.integers(0, 100_000, len(uci))
    future["default payment next month"] = 1 - future["default payment next month"]
    a, b = _july_population(uci), _july_population(future)
    for f in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def test_september_start_is_unchanged_by_the_hook(uci):
    # the default window and September start keep the original six-month typing
    cfg = PopulationConfig(n_borrowers=3000, start_state="uci_september", starting_book="uci")
    s = build_population(uci, cfg, np.random.default_rng(1))
    np.testing.assert_array_equal(s.behaviour_type, classify_behaviour(uci.iloc[s.uci_row]))
    assert s.missed.max() == 2


# --------------------------------------------------------------------------- statistics


def _tiny_uci() -> pd.DataFrame:
    """Four accounts, July -> August (Aug/Sep/other months filled with harmless values)."""
    base = {"ID": 0, "LIMIT_BAL": 1000, "SEX": 1, "EDUCATION": 1, "MARRIAGE": 1, "AGE": 30}
    rows = []
    # (PAY_3 Jul, BILL_AMT3 Jul, PAY_2 Aug, BILL_AMT2 Aug, PAY_AMT2 Aug payment)
    for i, (s3, b3, s2, b2, p2) in enumerate(
        [(-1, 200, -1, 100, 200), (0, 500, 0, 600, 50), (0, 400, 2, 450, 0), (2, 800, 0, 700, 400)]
    ):
        r = dict(base, ID=i + 1, AGE=[22, 31, 44, 55][i])
        r.update(PAY_0=0, PAY_2=s2, PAY_3=s3, PAY_4=0, PAY_5=0, PAY_6=0)
        r.update(BILL_AMT1=b2, BILL_AMT2=b2, BILL_AMT3=b3, BILL_AMT4=b3, BILL_AMT5=b3, BILL_AMT6=b3)
        r.update(PAY_AMT1=0, PAY_AMT2=p2, PAY_AMT3=0, PAY_AMT4=0, PAY_AMT5=0, PAY_AMT6=0)
        r["default payment next month"] = 0
        rows.append(r)
    return pd.DataFrame(rows)


def test_observed_panel_and_statistics_on_a_hand_made_frame():
    df = _tiny_uci()
    panel = observed_panel(df, ["july", "august"], behaviour_window=2)
    assert panel.group.tolist() == [[P, P], [R, R], [R, D], [D, R]]
    # August payment / July bill, clipped to [0, 1]
    np.testing.assert_allclose(panel.payment_ratio[:, 1], [1.0, 0.1, 0.0, 0.5])
    assert panel.default_next is None  # the default flag belongs to September panels
    stats = panel_statistics(panel, df).set_index("stat")
    assert stats.loc["share july R", "value"] == pytest.approx(0.5)
    assert stats.loc["share august D", "value"] == pytest.approx(0.25)
    assert stats.loc["transition july->august R->D", "value"] == pytest.approx(0.5)
    assert stats.loc["transition july->august R->D", "n"] == 2
    assert stats.loc["transition july->august R->D", "variance"] == pytest.approx(0.25 / 2)
    assert stats.loc["transition july->august clean->D", "value"] == pytest.approx(1 / 3)
    assert stats.loc["transition july->august D->R", "value"] == pytest.approx(1.0)
    assert stats.loc["utilisation august mean", "value"] == pytest.approx(
        (100 + 600 + 450 + 700) / 4000
    )
    assert stats.loc["deep_arrears july", "value"] == 0.0
    matrix = transition_matrix(panel, 0)
    np.testing.assert_allclose(matrix.sum(axis=1).dropna(), 1.0)


def test_statistics_of_the_october_default_by_segment():
    df = _tiny_uci()
    panel = Panel(
        months=("august", "september"),
        uci_row=np.array([0, 1, 2, 3, 3]),  # row 3 resampled twice
        group=np.array([[P, P], [R, R], [R, D], [D, D], [D, R]], dtype=np.int8),
        payment_ratio=np.full((5, 2), np.nan),
        utilisation=np.array([[0.1, 0.2], [0.5, 0.6], [0.4, 1.2], [0.8, 0.9], [0.8, 0.7]]),
        deep_arrears=np.zeros((5, 2), dtype=bool),
        behaviour_type=np.zeros(5, dtype=np.int8),
        default_next=np.array([False, False, True, True, False]),
    )
    stats = panel_statistics(panel, df).set_index("stat")["value"]
    assert stats["default overall"] == pytest.approx(0.4)
    assert stats["default by sep_group D"] == pytest.approx(1.0)
    assert stats["default by sep_group R"] == pytest.approx(0.0)
    assert stats["default by age_band 50+"] == pytest.approx(0.5)  # row 3 (age 55) twice
    assert stats["utilisation september over_limit"] == pytest.approx(0.2)
    assert stats["utilisation september median"] == pytest.approx(0.7)
    # behind (D) in September by age band: row 2 (age 44, D); row 3 (age 55) twice (D, R)
    assert stats["behind september by age_band 40-44"] == pytest.approx(1.0)
    assert stats["behind september by age_band 50+"] == pytest.approx(0.5)
    assert "behind august by age_band 50+" not in stats  # the start month is not a result
    assert stats["behind september by age_band <25"] == pytest.approx(0.0)


def test_persistence_of_new_delinquency_and_new_delinquency_by_limit_decile():
    df = _tiny_uci()  # four rows, one LIMIT_BAL: every row in the first limit decile
    panel = Panel(
        months=("july", "august", "september"),
        uci_row=np.array([0, 1, 2, 3, 3]),
        # rows 0 and 1 fall behind in August; row 0 stays behind, row 1 cures;
        # row 2 falls behind only in September; row 3's copies were behind in July
        group=np.array([[P, D, D], [R, D, R], [R, R, D], [D, D, D], [D, R, R]], dtype=np.int8),
        payment_ratio=np.full((5, 3), np.nan),
        utilisation=np.zeros((5, 3)),
        deep_arrears=np.zeros((5, 3), dtype=bool),
        behaviour_type=np.zeros(5, dtype=np.int8),
    )
    stats = panel_statistics(panel, df).set_index("stat")
    row = stats.loc["transition july->august->september new_D->D"]
    assert row["value"] == pytest.approx(0.5) and row["n"] == 2  # rows 0 and 1
    label = limit_decile(df)[1][0]
    by_decile = stats.loc[f"transition july->august clean->D by limit_decile {label}"]
    assert by_decile["value"] == pytest.approx(2 / 3) and by_decile["n"] == 3  # rows 0, 1, 2
    aug_sep = stats.loc[f"transition august->september clean->D by limit_decile {label}"]
    assert aug_sep["value"] == pytest.approx(1 / 2) and aug_sep["n"] == 2  # rows 2 and 3b
    # Pooled over both pairs: 5 clean account-months (3 + 2), 3 of them fall behind.
    pooled = stats.loc[f"new_delinquency by limit_decile {label}"]
    assert pooled["value"] == pytest.approx(3 / 5) and pooled["n"] == 5
    assert pooled["variance"] == pytest.approx(0.6 * 0.4 / 5)
    assert np.isnan(stats.loc[f"new_delinquency by limit_decile {limit_decile(df)[1][1]}", "value"])


def test_account_level_behind_auc_by_hand():
    # Three UCI rows; row 0 resampled twice. Observed in September: rows 0 and 2 behind.
    observed = Panel(
        months=("august", "september"),
        uci_row=np.arange(3),
        group=np.array([[R, D], [R, R], [D, D]], dtype=np.int8),
        payment_ratio=np.full((3, 2), np.nan),
        utilisation=np.zeros((3, 2)),
        deep_arrears=np.zeros((3, 2), dtype=bool),
        behaviour_type=np.zeros(3, dtype=np.int8),
        default_next=np.array([True, False, False]),
    )
    sim = dataclasses.replace(
        observed,
        uci_row=np.array([0, 0, 1, 2]),
        group=np.array([[R, D], [R, R], [R, D], [D, D]], dtype=np.int8),
        payment_ratio=np.full((4, 2), np.nan),
        utilisation=np.zeros((4, 2)),
        deep_arrears=np.zeros((4, 2), dtype=bool),
        behaviour_type=np.zeros(4, dtype=np.int8),
        default_next=np.array([True, False, True, False]),
    )
    out = account_level([sim], observed)
    # behind frequencies 0.5, 1.0, 1.0 for rows 0, 1, 2; observed behind rows 0, 2:
    # pairs (behind, current) = (0.5 vs 1.0: lose), (1.0 vs 1.0: tie) -> AUC 0.25
    assert out["behind_auc"] == pytest.approx(0.25)
    # persistence: behind at the start (row 2 only) -> (0 vs 0: tie), (1 vs 0: win) -> 0.75
    assert out["persistence_behind_auc"] == pytest.approx(0.75)
    # default frequencies 0.5, 1.0, 0.0; observed default row 0 only -> (0.5 vs 1, 0.5 vs 0)
    assert out["default_auc"] == pytest.approx(0.5)


def test_flag_evidence_on_a_hand_made_frame():
    df = _tiny_uci()
    # row 0: never billed and flagged; row 3 flagged and behind in September (PAY_0 = 2)
    df.loc[0, [f"BILL_AMT{k}" for k in range(1, 7)]] = 0
    df["default payment next month"] = [1, 0, 0, 1]
    df.loc[3, "PAY_0"] = 2
    df.loc[3, "BILL_AMT1"] = 500
    table = flag_evidence(df).set_index("segment")
    assert table.loc["all accounts", "flag_rate"] == pytest.approx(0.5)
    none_billed = table.loc["no bill in any of the six months"]
    assert none_billed["accounts"] == 1 and none_billed["flag_rate"] == 1.0
    assert not none_billed["payment_due_in_october"]
    assert table.loc["September group D", "accounts"] == 1
    assert table.loc["September group D", "flag_rate"] == 1.0
    assert table.loc["never behind in the six months", "accounts"] == 2  # rows 0 and 1
    # Row 3 is behind in September, not in August; nobody is behind in both.
    assert table.loc["behind in September, not in August", "accounts"] == 1
    assert table.loc["behind in September, not in August", "flag_rate"] == 1.0
    assert table.loc["behind in August and September", "accounts"] == 0
    # In sample (April-August) only row 3 falls behind (July) and it is current in August:
    # new delinquency's persistence 0 of 1; nobody was behind two months running (NaN).
    assert table.loc["behind in September, not in August", "behind_next_month_in_sample"] == 0.0
    assert np.isnan(table.loc["behind in August and September", "behind_next_month_in_sample"])
    assert np.isnan(table.loc["all accounts", "behind_next_month_in_sample"])
    new = monthly_new_delinquency(df)
    assert list(new.index)[0] == "april->may" and list(new.index)[-1] == "august->september"
    # August -> September: rows 0, 1, 3 current in August (row 2 is behind); row 3 falls behind
    assert new["august->september"] == pytest.approx(1 / 3)


def test_summarise_seeds_and_bracket_checks():
    per_seed = pd.DataFrame(
        {
            "stat": ["a", "a", "a", "b", "b", "b"],
            "family": ["share"] * 6,
            "value": [0.10, 0.12, 0.14, 0.50, 0.50, 0.50],
            "seed": [0, 1, 2, 0, 1, 2],
        }
    )
    summary = summarise_seeds(per_seed, interval=0.5).set_index("stat")
    assert summary.loc["a", "sim_mean"] == pytest.approx(0.12)
    assert summary.loc["a", "sim_low"] == pytest.approx(0.11)
    assert summary.loc["a", "sim_high"] == pytest.approx(0.13)
    table = pd.DataFrame(
        {
            "stat": ["share x D", "share x R", "other"],
            "observed": [0.17, 0.50, 0.3],
            "observed_alt": [0.10, np.nan, np.nan],
            "sim_mean": [0.145, 0.56, 0.3],
        }
    )
    checked = check_targets(table, [TargetSpec("share x *", 3.0)])
    # within the two readings (0.10..0.17) -> pass; plain row 6 pp off -> miss; no target -> None
    assert checked["passed"].tolist() == [True, False, None]
    assert checked["tolerance_pp"].iloc[0] == 3.0 and np.isnan(checked["tolerance_pp"].iloc[2])


# --------------------------------------------------------------------------- simulator mapping


class _StubModel:
    """Three accounts: one cures, one misses October, one defaults in September."""

    def __init__(self, run, uci=None, scorecard=None):
        n = 3
        self.steps = 0
        self.borrowers = SimpleNamespace(
            n=n,
            uci_row=np.array([5, 6, 7]),
            behaviour_type=np.zeros(n, dtype=np.int8),
            initial_limit_cny=np.full(n, 1000.0),
            balance_cny=np.array([100.0, 200.0, 300.0]),
            statement_cny=np.array([100.0, 200.0, 300.0]),
            payment_ratio=np.ones(n),
            defaulted=np.zeros(n, dtype=bool),
            missed=np.array([1, 0, 2]),
            paid_in_full=np.zeros(n, dtype=bool),
        )
        self.month = None

    def step(self):
        self.steps += 1
        s = self.borrowers
        if self.steps == 1:  # August: account 0 cures, account 2 misses a third time
            s.missed = np.array([0, 0, 3])
            s.defaulted = np.array([False, False, True])
        missed_now = np.array([False, self.steps == 3, False])
        self.month = SimpleNamespace(servicing=SimpleNamespace(missed_now=missed_now))


def test_simulated_october_default_is_a_missed_payment_or_a_line_in_default():
    run = SimpleNamespace(population=SimpleNamespace(start_state="uci_july"), n_months=3)
    panel = simulate_panel(run, uci=None, model_factory=_StubModel)
    assert panel.months == ("july", "august", "september")
    assert panel.group.tolist() == [[D, R, R], [R, R, R], [D, D, D]]
    # account 1 missed the October payment; account 2 was already in default (closed)
    assert panel.default_next.tolist() == [False, True, True]
    assert panel.uci_row.tolist() == [5, 6, 7]


# --------------------------------------------------------------------------- config and report


def test_shipped_validation_config_parses_and_matches_the_population():
    values = yaml.safe_load(CONFIG.read_text())
    cfg = validation_config_from_dict(values)
    assert cfg.as_of == "july" and cfg.n_months == 3 and cfg.policy == "static"
    # The flag's levels are reported, not checked (flag.py): risk by segment is checked on
    # the payment status, and the AUC on being behind.
    patterns = {t.stat: t.tolerance_pp for t in cfg.targets}
    assert not any(p.startswith("default ") for p in patterns)
    assert patterns["behind august by limit_decile *"] == 3
    assert "behind september by limit_decile *" not in patterns  # code 1 is ambiguous there
    assert cfg.account_auc_outcome == "behind" and cfg.min_account_auc == 0.70
    with pytest.raises(ValueError, match="account_auc_outcome must be one of"):
        ValidationConfig(account_auc_outcome="flag")
    population = yaml.safe_load(
        (Path(CONF_DIR) / "population" / f"{cfg.population}.yaml").read_text()
    )
    assert population["behaviour_window_months"] == cfg.behaviour_window
    with pytest.raises(ValueError, match="unknown key"):
        validation_config_from_dict({"validation": {"seedz": 3}})
    misspelt = {("overides" if k == "overrides" else k): v for k, v in values.items()}
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['overides'\]"):
        validation_config_from_dict(misspelt)
    with pytest.raises(ValueError, match=r"validation.n_borrowers must be >= 100 \(.*\), got 99"):
        ValidationConfig(n_borrowers=99)
    with pytest.raises(ValueError, match="past October"):
        ValidationConfig(as_of="july", n_months=4)


def test_monthly_rows_by_limit_decile_are_reported_and_the_pooled_rows_checked(uci):
    """Each month pair's clean->D rows by limit decile are reported (not the P/R churn
    catch-all's +-5 pp); the pooled new delinquency by decile is the check (+-3 pp)."""
    cfg = validation_config_from_dict(yaml.safe_load(CONFIG.read_text()))
    panel = observed_panel(uci, ["july", "august", "september"], behaviour_window=2)
    stats = panel_statistics(panel, uci)
    table = stats[["stat"]].assign(observed=0.1, observed_alt=np.nan, sim_mean=0.1)
    checked = check_targets(table, cfg.targets).set_index("stat")
    for pair in ("july->august", "august->september"):
        rows = checked[checked.index.str.startswith(f"transition {pair} clean->D by limit_decile")]
        assert len(rows) == 10
        assert rows["passed"].isna().all() and rows["tolerance_pp"].isna().all()
        assert rows["target_why"].str.contains("pooled over the month pairs").all()
    pooled = checked[checked.index.str.startswith("new_delinquency by limit_decile")]
    assert len(pooled) == 10 and (pooled["tolerance_pp"] == 3).all()
    assert checked.loc["transition july->august P->R", "tolerance_pp"] == 5  # the catch-all
    assert checked.loc["transition july->august clean->D", "tolerance_pp"] == 2
    with pytest.raises(ValueError, match="tolerance_pp must be > 0, or null"):
        TargetSpec("share x *", 0.0)


def test_a_run_below_the_configured_size_says_its_verdict_means_little():
    configured = ValidationConfig(n_borrowers=30_000, seeds=10)
    assert reduced_size_note(configured, configured) == ""
    assert reduced_size_note(ValidationConfig(n_borrowers=50_000, seeds=12), configured) == ""
    assert reduced_size_note(ValidationConfig(n_borrowers=100, seeds=1), configured) == (
        "Run at a smaller size than the targets are set for: 100 borrowers per seed "
        "(configured 30,000) and 1 seed(s) (configured 10). Misses at this size are expected "
        "sampling noise; the verdict is only meaningful at the configured size."
    )
    only_seeds = reduced_size_note(ValidationConfig(n_borrowers=30_000, seeds=3), configured)
    assert "3 seed(s) (configured 10)" in only_seeds and "borrowers" not in only_seeds


def test_report_writer_on_a_tiny_run(uci, tmp_path):
    values = yaml.safe_load(CONFIG.read_text())
    values["validation"].update(n_borrowers=400, seeds=2)
    # The open-book PD check on one small run (its full size is the slow held-out test).
    values["validation"]["pd_calibration"].update(
        seeds=[0], overrides=["population.n_borrowers=1000", "burn_in_months=6"]
    )
    cfg = validation_config_from_dict(values)
    result = run_validation(cfg, uci)
    table = result.table
    assert {"observed", "sim_mean", "sim_low", "sim_high", "error_pp", "passed"} <= set(
        table.columns
    )
    overall = table.set_index("stat").loc["default overall"]
    assert overall["observed"] == pytest.approx(0.2212, abs=1e-4)
    assert overall["sim_low"] <= overall["sim_mean"] <= overall["sim_high"]
    assert result.accounts["rows"] > 0
    section = "## Virtual experiments: response to limit changes\n\n(a section)"
    note = reduced_size_note(cfg, validation_config_from_dict(yaml.safe_load(CONFIG.read_text())))
    report = write_validation_report(
        result, tmp_path / "report", extra_sections=[section], size_note=note
    )
    text = report.read_text()
    result_line = next(line for line in text.splitlines() if line.startswith("**Result: "))
    assert result_line.endswith(f" **{note}**")
    assert "Closing note" in text and "default overall" in text
    assert text.index(section) < text.index("## Figures")
    for name in ("results.csv", "per_seed.csv", "transitions.csv", "scorecard_calibration.csv"):
        assert (tmp_path / "report" / name).is_file()
    assert (tmp_path / "report" / "transitions_july_to_august.png").is_file()
    assert (tmp_path / "report" / "scorecard_calibration.png").is_file()
    assert len(pd.read_csv(tmp_path / "report" / "per_seed.csv")["seed"].unique()) == 2


# --------------------------------------------------------------------------- the CLI (slow)


def _write_config(tmp_path: Path, **changes) -> Path:
    values = yaml.safe_load(CONFIG.read_text())
    values["validation"].update(changes)
    path = tmp_path / "validation.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.slow
def test_validate_cli_exit_codes(tmp_path):
    from experiments.validate import main

    small = ["--seeds", "2", "--n-borrowers", "3000", "--quiet"]
    # every target loose -> 0 (families a 3,000-account book always measures: it may have
    # no inactive account with a bill, whose payment ratio is then NaN, a miss)
    families = ("share", "transition", "utilisation", "behind", "new_delinquency", "default")
    loose = _write_config(
        tmp_path,
        targets=[{"stat": f"{family} *", "tolerance_pp": 100} for family in families],
        min_account_auc=None,
        scorecard={"min_auc": 0.5, "calibration_tolerance_pp": 100},
        pd_calibration={
            "seeds": [0],
            "overrides": ["population.n_borrowers=2000"],
            "rel_tolerance": 100.0,
            "abs_tolerance_pp": 100.0,
            "loss_tolerance": 100.0,
            "min_tier_share": 0.0,
        },
    )
    assert main(["--config", str(loose), "--out", str(tmp_path / "a"), *small]) == 0
    assert (tmp_path / "a" / "report.md").is_file()
    # a target that no simulation meets -> 1
    strict = _write_config(tmp_path, targets=[{"stat": "default overall", "tolerance_pp": 1e-6}])
    assert main(["--config", str(strict), "--out", str(tmp_path / "b"), *small]) == 1
    assert "default overall" in (tmp_path / "b" / "report.md").read_text()
    # usage, config and data errors -> 2
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert main(["--bogus-flag"]) == 2
    bad = _write_config(tmp_path, seedz=3)
    assert main(["--config", str(bad)]) == 2
    assert main(["--config", str(loose), "--data", str(tmp_path / "no.csv")]) == 2
