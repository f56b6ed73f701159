"""The resampled population keeps the UCI data's marginals and joint structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import PopulationConfig
from sim.world.borrowers import BehaviourType
from sim.world.data import load_uci
from sim.world.population import build_population, classify_behaviour


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci()


def test_resampled_marginals_match_the_data(uci):
    n = 50_000
    cfg = PopulationConfig(n_borrowers=n, cny_per_twd=1.0)
    s = build_population(uci, cfg, np.random.default_rng(0))
    limit = uci["LIMIT_BAL"].to_numpy(float)
    se = limit.std() / np.sqrt(n)
    assert abs(s.initial_limit_cny.mean() - limit.mean()) < 4 * se
    types = classify_behaviour(uci)
    for t in BehaviourType:
        p = (types == t).mean()
        se = np.sqrt(p * (1 - p) / n)
        assert abs((s.behaviour_type == t).mean() - p) < 4 * se + 1e-12
    age = uci["AGE"].to_numpy(float)
    assert abs(s.age_years.mean() - age.mean()) < 4 * age.std() / np.sqrt(n)


def test_joint_structure_is_kept_row_by_row(uci):
    cfg = PopulationConfig(n_borrowers=2000, cny_per_twd=1.0)
    s = build_population(uci, cfg, np.random.default_rng(1))
    pairs = set(zip(uci["LIMIT_BAL"].astype(float), uci["AGE"], strict=True))
    assert all(
        (lim, age) in pairs for lim, age in zip(s.initial_limit_cny, s.age_years, strict=True)
    )


def test_uci_september_start_keeps_repayment_status(uci):
    n = 40_000
    cfg = PopulationConfig(n_borrowers=n, start_state="uci_september", starting_book="uci")
    s = build_population(uci, cfg, np.random.default_rng(2))
    # k months late -> k misses (at most 2); rows without a positive bill are current.
    late = ((uci["PAY_0"] >= 1) & (uci["BILL_AMT1"] > 0)).mean()
    se = np.sqrt(late * (1 - late) / n)
    assert abs((s.missed >= 1).mean() - late) < 4 * se
    assert s.missed.max() == 2
    cur = build_population(uci, PopulationConfig(n_borrowers=1000), np.random.default_rng(2))
    assert (cur.missed == 0).all()


def test_classify_behaviour_hand_cases():
    base = {"ID": 1, "LIMIT_BAL": 10_000, "SEX": 1, "EDUCATION": 1, "MARRIAGE": 1, "AGE": 30}

    def row(status, bills, pays):
        r = dict(base)
        r.update(
            {
                c: v
                for c, v in zip(
                    ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"], status, strict=True
                )
            }
        )
        r.update({f"BILL_AMT{k + 1}": v for k, v in enumerate(bills)})
        r.update({f"PAY_AMT{k + 1}": v for k, v in enumerate(pays)})
        r["default payment next month"] = 0
        return r

    df = pd.DataFrame(
        [
            row([-1] * 6, [1000] * 6, [1000] * 6),  # pays every bill in full
            row([0] * 6, [5000] * 6, [200, 300, 150, 400, 100, 250]),  # about the minimum
            row([0] * 6, [5000] * 6, [1000] * 6),  # steady 20 % payments
            row([0, 2, 0, 0, 0, 0], [5000] * 6, [500] * 6),  # two months late once
            row([-2] * 6, [0] * 6, [0] * 6),  # never used
        ]
    )
    assert classify_behaviour(df).tolist() == [
        BehaviourType.TRANSACTOR,
        BehaviourType.REVOLVER,
        BehaviourType.INSTALMENT,
        BehaviourType.DELINQUENT_PRONE,
        BehaviourType.INACTIVE,
    ]


def test_income_is_imputed_from_the_limit(uci):
    cfg = PopulationConfig(n_borrowers=20_000, limit_income_sigma=0.0)
    s = build_population(uci, cfg, np.random.default_rng(3))
    ratio = s.initial_limit_cny / s.income_base_cny
    big = s.income_base_cny > 200  # the 100-CNY floor aside
    np.testing.assert_allclose(ratio[big], cfg.limit_income_multiple, rtol=1e-3)
    assert set(np.unique(s.income_decile)) == set(range(1, 11))


def test_savings_buffers_rise_with_income_at_the_configured_elasticity(uci):
    # Same seed, no noise on savings or incomes: with elasticity e the buffer is
    # months x (income / reference) ** e, the reference being the income of the table's
    # median limit (140,000 NT$ x 0.25 CNY/NT$ / 3 months of income = 11,666.67 CNY).
    flat = PopulationConfig(n_borrowers=5_000, savings_sigma=0.0, limit_income_sigma=0.0)
    steep = PopulationConfig(
        n_borrowers=5_000, savings_sigma=0.0, limit_income_sigma=0.0, savings_income_elasticity=0.5
    )
    a = build_population(uci, flat, np.random.default_rng(9))
    b = build_population(uci, steep, np.random.default_rng(9))
    np.testing.assert_array_equal(a.income_base_cny, b.income_base_cny)  # no draw is added
    reference = 140_000 * flat.cny_per_twd * flat.limit_scale / flat.limit_income_multiple
    expected = a.income_base_cny * flat.savings_income_months
    expected *= (a.income_base_cny / reference) ** 0.5
    np.testing.assert_allclose(b.savings_cny, expected, atol=0.006)
    np.testing.assert_array_equal(b.savings_target_cny, b.savings_cny)
    # the mechanism: months of income held rise from the lowest to the highest decile
    months = b.savings_cny / b.income_base_cny
    low, high = months[b.income_decile == 1].mean(), months[b.income_decile == 10].mean()
    assert high > 2 * low
    flat_months = a.savings_cny / a.income_base_cny
    np.testing.assert_allclose(flat_months, flat.savings_income_months, atol=1e-3)


def test_habits_run_past_the_limit_only_as_far_as_the_lender_authorises_draws(uci):
    # The same resampled rows with and without a 5 % over-limit tolerance: habits are the
    # window's bills / limit capped at 1 and at 1.05, so they differ only on rows with a
    # bill past the limit, and only upwards.
    cfg = PopulationConfig(n_borrowers=20_000, behaviour_window_months=6)
    strict = build_population(uci, cfg, np.random.default_rng(4))
    card = build_population(uci, cfg, np.random.default_rng(4), over_limit_tolerance=0.05)
    assert np.array_equal(strict.uci_row, card.uci_row)
    assert strict.target_utilisation.max() <= 1.0
    assert card.target_utilisation.max() <= 1.05 + 1e-12
    bills = uci[[f"BILL_AMT{k}" for k in range(1, 7)]].to_numpy(float)[card.uci_row]
    over = (bills > uci["LIMIT_BAL"].to_numpy(float)[card.uci_row, None]).any(axis=1)
    gap = card.target_utilisation - strict.target_utilisation
    assert np.all(gap[~over] == 0.0) and np.all(gap[over] > 0.0)
    assert 0.05 < over.mean() < 0.25
