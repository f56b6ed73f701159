"""Tests for sim.empirical.behaviour_score: the behavioural terms' estimator and the EL split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.empirical.behaviour_score import (
    fit_behaviour_score,
    fit_behaviour_terms,
    loss_decomposition,
)
from sim.empirical.pd_calibration import loss_check

BOUNDS = [0.3, 0.7, 0.95]


def _cells() -> pd.DataFrame:
    """Six cells whose default odds are exactly additive in log-odds.

    Odds 1/9 at z = 0 drawn 10 % and current; z = 1 multiplies them by 3 (c_z = ln 3); the
    idle band divides them by 3 (c = -ln 3, term -1); 30 DPD multiplies them by 9 (c =
    ln 9, term 2). The logistic MLE reproduces additive cells exactly.
    """
    cells = [  # (z, drawn, missed, lines, defaults): rate = odds / (1 + odds)
        (0.0, 10.0, 0, 100, 10),  # odds 1/9
        (1.0, 10.0, 0, 100, 25),  # odds 1/3
        (0.0, 0.0, 0, 280, 10),  # idle: odds 1/27
        (1.0, 0.0, 0, 100, 10),  # idle: odds 1/9
        (0.0, 10.0, 1, 100, 50),  # 30 DPD: odds 1
        (1.0, 10.0, 1, 100, 75),  # 30 DPD: odds 3
    ]
    rows = []
    for z, drawn, missed, n, k in cells:
        rows += [(z, drawn, 100.0, missed, i < k) for i in range(n)]
    return pd.DataFrame(rows, columns=["log_odds", "drawn_cny", "limit_cny", "missed", "default"])


def test_fit_behaviour_terms_by_hand():
    u_terms, d_terms = fit_behaviour_terms(_cells(), BOUNDS)
    # Idle -ln 3 / ln 3 = -1; the reference band 0; bands without lines 0; 30 DPD
    # ln 9 / ln 3 = 2; no line 60+ DPD: 0.
    np.testing.assert_allclose(u_terms, [-1.0, 0.0, 0.0, 0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(d_terms, [2.0, 0.0], atol=1e-4)


def test_fit_behaviour_score_maps_the_sum_to_the_cell_rates():
    fit = fit_behaviour_score(_cells(), BOUNDS)
    # z + b is -1 (idle z 0), 0 (drawn z 0 and idle z 1, both at 10 %: up to the fit's
    # 1e-4, two knots), 1, 2, 3; each knot's PD is its cell's realised rate.
    knots, knot_pd = fit["behaviour_calibration_log_odds"], fit["behaviour_calibration_pd"]
    assert len(knots) in (5, 6)
    pd_at = np.interp([-1.0, 0.0, 1.0, 2.0, 3.0], knots, knot_pd)
    np.testing.assert_allclose(pd_at, [1 / 28, 0.1, 0.25, 0.5, 0.75], atol=1e-3)
    np.testing.assert_allclose(fit["behaviour_dpd_log_odds"], [2.0, 0.0], atol=1e-4)


def test_fit_behaviour_terms_refuses_what_it_cannot_estimate():
    panel = _cells()
    no_idle_default = panel.assign(default=panel["default"] & (panel["drawn_cny"] > 0))
    with pytest.raises(ValueError, match="no default among the utilisation idle lines"):
        fit_behaviour_terms(no_idle_default, BOUNDS)
    with pytest.raises(ValueError, match="do not rank defaults"):
        fit_behaviour_terms(panel.assign(log_odds=-panel["log_odds"]), BOUNDS)


def test_loss_decomposition_by_hand():
    # Bins of two lines (PD 0.1, 0.2 | 0.3, 0.3), EAD 100, 300 | 100, 100; the second and
    # third default with balances 400 and 50 (LGD 0.5: losses 200 and 25).
    panel = pd.DataFrame(
        {
            "pd_12m": [0.1, 0.2, 0.3, 0.3],
            "ead_cny": [100.0, 300.0, 100.0, 100.0],
            "default": [False, True, True, False],
            "loss_cny": [0.0, 200.0, 25.0, 0.0],
        }
    )
    out = loss_decomposition(panel, lgd=0.5, n_bins=2)
    # count 0.9 / 2; sum_b n p E = 2 x 0.15 x 200 + 2 x 0.3 x 100 = 120, sum_b k E = 300;
    # sum p E = 130; defaulters' EAD 400 against 300; balance at default 450.
    assert out["count"] == pytest.approx(0.45)
    assert out["between_bins"] == pytest.approx(120 / 300 / 0.45)
    assert out["within_bin_pd"] == pytest.approx(130 / 120)
    assert out["defaulter_exposure"] == pytest.approx(0.75)
    assert out["ead_growth"] == pytest.approx(400 / 450)
    assert out["ratio"] == pytest.approx(130 / 450)
    el = panel.assign(expected_loss_cny=panel["pd_12m"] * 0.5 * panel["ead_cny"])
    assert loss_check(el)["ratio"] == pytest.approx(out["ratio"])
