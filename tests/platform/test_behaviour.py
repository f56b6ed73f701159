"""Tests for sim.platform.scorecard.behaviour: the book's utilisation and arrears terms."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.config import PlatformConfig
from sim.platform.scorecard import behaviour_categories, behaviour_log_odds, utilisation_bands

BOUNDS = [0.3, 0.7, 0.95]
# Balance 0 (idle), 10 %, 50 %, 80 %, 100 % of a 100 CNY limit, and a closing line (limit 0).
BALANCE = np.array([0.0, 10.0, 50.0, 80.0, 100.0, 5.0])
LIMIT = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 0.0])
MISSED = np.array([0, 0, 1, 2, 5, 0], dtype=np.int16)


def test_categories_by_hand():
    band, dpd = behaviour_categories(BALANCE, LIMIT, MISSED, BOUNDS)
    # A bound belongs to the band above it (0.95 <= 1.0 -> top band); a balance on a zero
    # limit counts as utilisation 0, the first drawn band.
    assert band.tolist() == [0, 1, 2, 3, 4, 1]
    assert dpd.tolist() == [0, 0, 1, 2, 2, 0]
    assert utilisation_bands(BOUNDS) == [
        "idle",
        "(0, 0.3)",
        "[0.3, 0.7)",
        "[0.7, 0.95)",
        "[0.95, inf)",
    ]


def test_log_odds_add_the_band_and_dpd_terms():
    b = behaviour_log_odds(BALANCE, LIMIT, MISSED, BOUNDS, [-5.0, 0.0, 1.0, 2.0, 3.0], [4.0, 6.0])
    np.testing.assert_array_equal(b, [-5.0, 0.0, 5.0, 8.0, 9.0, 0.0])
    with pytest.raises(ValueError, match="5 utilisation terms and 2 DPD terms"):
        behaviour_log_odds(BALANCE, LIMIT, MISSED, BOUNDS, [0.0] * 4, [0.0, 0.0])


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"behaviour_utilisation_bounds": [0.7, 0.3]}, "platform.behaviour_utilisation_bounds"),
        ({"behaviour_utilisation_bounds": [0.0, 0.5]}, "platform.behaviour_utilisation_bounds"),
        ({"behaviour_utilisation_log_odds": [0.0] * 4}, "platform.behaviour_utilisation_log_odds"),
        ({"behaviour_dpd_log_odds": [0.0, 51.0]}, "platform.behaviour_dpd_log_odds"),
        ({"behaviour_calibration_log_odds": [1.0, 0.0]}, "platform.behaviour_calibration_log_odds"),
        ({"behaviour_calibration_pd": [0.2, 0.1]}, "platform.behaviour_calibration_pd"),
        ({"pd_calibration": "logit"}, "platform.pd_calibration"),
    ],
)
def test_config_rejects_bad_behavioural_values(values, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        PlatformConfig(**values)
