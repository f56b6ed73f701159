"""The scorecard's features computed from simulator state: history buffers and their use."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.config import PopulationConfig
from sim.platform.scorecard import fit_default_scorecard, uci_features
from sim.runtime.compose import load_run_config
from sim.world.borrowers import BorrowerState
from sim.world.data import load_uci
from sim.world.population import build_population


def test_record_history_by_hand():
    s = BorrowerState.blank(2, statement_cny=[300.0, 0.0], payment_ratio=[0.25, 1.0])
    # Month 4: slot 4 % 5 = 4 of the payments, 4 % 3 = 1 of the bills and ratios.
    s.record_history(4, np.array([100.0, 0.0]), np.array([50.0, 800.0]))
    np.testing.assert_array_equal(s.billed_cny, [350.0, 800.0])  # statement + early
    np.testing.assert_array_equal(s.billed_recent_cny[1], [350.0, 800.0])
    np.testing.assert_array_equal(s.payment_recent_cny[4], [150.0, 800.0])  # paid + early
    np.testing.assert_array_equal(s.payment_ratio_recent[1], [0.25, 1.0])
    # The other slots are untouched.
    assert s.payment_recent_cny[[0, 1, 2, 3]].sum() == 0.0
    np.testing.assert_array_equal(s.payment_ratio_recent[[0, 2]], 1.0)


@pytest.fixture(scope="module")
def september_book():
    """1,000 accounts started as of September 2005 with their UCI history."""
    config = load_run_config(["population.n_borrowers=1000"])
    population = dataclasses.replace(
        config.population, start_state="uci_september", starting_book="uci"
    )
    assert isinstance(population, PopulationConfig)
    uci = load_uci()
    state = build_population(uci, population, np.random.default_rng(5))
    return config, population, uci, state


def test_start_book_history_buffers_hold_the_uci_months(september_book):
    _, population, uci, s = september_book
    scale = population.cny_per_twd * population.limit_scale
    rows = uci.iloc[s.uci_row]
    # Lag j sits in slot -j % months: the September payment in slot 0, August in 4, ...
    for lag in range(5):
        np.testing.assert_allclose(
            s.payment_recent_cny[-lag % 5], rows[f"PAY_AMT{lag + 1}"] * scale, atol=0.005
        )
    np.testing.assert_allclose(
        s.billed_recent_cny[-1 % 3], np.clip(rows["BILL_AMT2"], 0, None) * scale, atol=0.005
    )
    np.testing.assert_array_equal(s.billed_recent_cny[0], s.statement_cny)


def test_platform_features_equal_the_uci_features_of_the_same_accounts(september_book):
    from sim.platform.agent import Platform

    config, population, uci, s = september_book
    platform = Platform(
        config.platform,
        policy=None,  # type: ignore[arg-type]  # features only
        scorecard=fit_default_scorecard(),
        rng=np.random.default_rng(0),
        twd_per_cny=1.0 / (population.cny_per_twd * population.limit_scale),
    )
    X_state = np.column_stack([np.asarray(c, float) for c in platform.features(s)])
    X_uci = uci_features(uci.iloc[s.uci_row])
    # Balances start at the September bill capped at the limit, and a start state marks
    # delinquency from PAY_0 at most 2 months, none without a balance: compare the
    # accounts within all three.
    pay_0 = uci["PAY_0"].to_numpy()[s.uci_row]
    bill = uci["BILL_AMT1"].to_numpy()[s.uci_row]
    same = (
        (bill <= uci["LIMIT_BAL"].to_numpy()[s.uci_row])
        & (pay_0 <= 2)
        & ((bill > 0) | (pay_0 <= 0))
    )
    assert same.mean() > 0.85
    np.testing.assert_allclose(X_state[same], X_uci[same], rtol=1e-6, atol=1e-6)
    # So the simulator scores those accounts as the card scores their UCI rows.
    card = platform.scorecard
    np.testing.assert_allclose(
        card.log_odds(X_state[same]), card.log_odds(X_uci[same]), rtol=0, atol=1e-9
    )


def test_twd_per_cny_must_be_positive():
    from sim.platform.agent import Platform

    config = load_run_config([])
    with pytest.raises(ValueError, match="twd_per_cny must be > 0"):
        Platform(
            config.platform,
            policy=None,  # type: ignore[arg-type]
            scorecard=fit_default_scorecard(),
            rng=np.random.default_rng(0),
            twd_per_cny=0.0,
        )
