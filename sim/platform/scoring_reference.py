"""The monthly re-scoring written one account at a time: the readable reference.

The same rules as :meth:`sim.platform.agent.Platform.rescore` (NumPy) and
:mod:`sim.platform.scoring_kernel` (compiled), in plain Python: for each account, its
seven scorecard features, its segment's points, the platform's thin-history, lenders and
debt-service terms, the utilisation and arrears terms, the PD map and the APR tier. It is
the oracle of the tests (the compiled stage must give the same numbers on small books)
and the per-agent baseline of the benchmark; it is slow (about 100 k accounts a second).

The logarithms are :func:`math.log1p` and the bins :func:`bisect.bisect_right` on the
card's edges: NumPy's ``log1p`` may differ from the C library's in the last bit, which
changes a bin only for an amount within one part in 10^16 of an edge.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import numpy as np

from sim.platform.scorecard import Scorecard, SegmentedScorecard, shift_to_mean_pd

if TYPE_CHECKING:
    from sim.config import PlatformConfig
    from sim.platform.agent import Platform
    from sim.world.borrowers import BorrowerState

_FEATURE_INPUTS = (
    "payment_ratio_min_3m",
    "statement_twd",
    "limit_twd",
    "statement_mean_3m_twd",
    "payment_mean_5m_twd",
)


def account_features(s: BorrowerState, i: int, twd_per_cny: float) -> list[float]:
    """The seven scorecard features of account ``i`` (``FEATURE_NAMES`` order).

    Raises:
        ValueError: an input is NaN or infinite (named as ``features_from_state`` names it).
    """
    months_late = min(int(s.missed[i]), 3)
    delinquent = sum(int(s.delinquent_recent[m, i]) for m in range(s.delinquent_recent.shape[0]))
    ratio_min = min(float(r) for r in s.payment_ratio_recent[:, i])
    statement = float(s.billed_cny[i]) * twd_per_cny
    limit = float(s.limit_cny[i]) * twd_per_cny
    bills = [float(v) for v in s.billed_recent_cny[:, i]]
    payments = [float(v) for v in s.payment_recent_cny[:, i]]
    mean_bill = _total(bills) / len(bills) * twd_per_cny
    mean_payment = _total(payments) / len(payments) * twd_per_cny
    for name, value in zip(
        _FEATURE_INPUTS, (ratio_min, statement, limit, mean_bill, mean_payment), strict=True
    ):
        if not math.isfinite(value):
            raise ValueError(f"features_from_state: {name} contains NaN or infinite values")
    utilisation_3m = mean_bill / limit if limit > 0 else 1.5
    return [
        float(min(max(months_late, 0), 3)),
        float(min(max(delinquent, 0), 6)),
        min(max(ratio_min, 0.0), 1.0),
        min(max(utilisation_3m, 0.0), 1.5),
        math.log1p(max(limit - statement, 0.0)),
        math.log1p(max(limit - mean_bill, 0.0)),
        math.log1p(max(mean_payment, 0.0)),
    ]


def _total(values: list[float]) -> float:
    """Sum in order (NumPy's order for a few values)."""
    out = values[0]
    for v in values[1:]:
        out += v
    return out


def card_log_odds(card: Scorecard | SegmentedScorecard, x: list[float]) -> float:
    """The card's log-odds of one account's features ``x``."""
    if isinstance(card, SegmentedScorecard):
        months_late, delinquent = x[0], x[1]
        segment = 2 if months_late >= 2 else (1 if delinquent >= 1 else 0)
        card = card.segments[segment]
    if card.bin_edges is None or card.bin_points is None:  # linear form
        weights = [float(c) / float(sd) for c, sd in zip(card.coef, card.feature_std, strict=True)]
        offset = float(np.dot(weights, card.feature_mean))
        z = card.intercept - offset
        for w, value in zip(weights, x, strict=True):
            z += w * value
        return z
    z = card.intercept
    for edges, points, value in zip(card.bin_edges, card.bin_points, x, strict=True):
        z += float(points[bisect.bisect_right(edges.tolist(), value)])
    return z


def account_log_odds(platform: Platform, s: BorrowerState, i: int) -> float:
    """``z`` of account ``i``: the card plus the thin-history, lenders and DSR terms."""
    c = platform.config
    z = card_log_odds(platform.scorecard, account_features(s, i, platform.twd_per_cny))
    thin = 1.0 if int(s.history_months[i]) < c.thin_history_months else 0.0
    extra_lenders = max(int(s.lenders_count[i]) - 1, 0)
    dsr = float(s.debt_service_cny[i]) / max(float(s.income_cny[i]), 1.0)
    z = z + c.thin_history_log_odds * thin
    z = z + c.lenders_log_odds * extra_lenders
    return z + c.debt_service_log_odds * min(dsr, 5.0)


def behaviour_term(c: PlatformConfig, balance_cny: float, limit_cny: float, missed: int) -> float:
    """Log-odds of the line's utilisation band and arrears (idle: no balance)."""
    band = 0
    if balance_cny > 0:
        utilisation = balance_cny / limit_cny if limit_cny > 0 else 0.0
        band = 1 + bisect.bisect_right(list(c.behaviour_utilisation_bounds), utilisation)
    dpd_terms = [0.0, *c.behaviour_dpd_log_odds]
    return float(c.behaviour_utilisation_log_odds[band]) + float(dpd_terms[min(missed, 2)])


def interp(x: float, xp: list[float], fp: list[float]) -> float:
    """Piecewise-linear interpolation as ``np.interp`` (flat beyond the end knots)."""
    if math.isnan(x):
        return x
    if x > xp[-1]:
        return fp[-1]
    if x < xp[0]:
        return fp[0]
    j = bisect.bisect_right(xp, x) - 1
    if j == len(xp) - 1 or xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    y = slope * (x - xp[j]) + fp[j]
    if math.isnan(y):
        y = slope * (x - xp[j + 1]) + fp[j + 1]
        if math.isnan(y) and fp[j] == fp[j + 1]:
            y = fp[j]
    return y


def price(c: PlatformConfig, pd_12m: float, apr_cap: float) -> float:
    """APR of the risk tier of ``pd_12m`` (tier = number of bounds <= PD), capped.

    ``apr_cap`` is the run's cap: the lower of the platform's and the scenario's.
    """
    tier = sum(1 for bound in c.pd_tier_bounds if pd_12m >= bound)
    return min(float(c.apr_tiers[tier]), apr_cap)


def pd_of_account(c: PlatformConfig, z: float, b: float, shift: float | None) -> float:
    """The 12-month PD of one account from its ``z`` and behavioural term ``b``."""
    if c.pd_calibration == "behavioural":
        return interp(
            z + b, list(c.behaviour_calibration_log_odds), list(c.behaviour_calibration_pd)
        )
    if c.pd_calibration == "isotonic":
        return interp(z, list(c.pd_calibration_log_odds), list(c.pd_calibration_pd))
    return 1.0 / (1.0 + math.exp(-(z + shift)))  # expit


def rescore_reference(platform: Platform, s: BorrowerState) -> bool:
    """:meth:`Platform.rescore`, one account at a time; sets what it sets. Returns True.

    Raises:
        ValueError: a feature input is NaN or infinite.
    """
    c = platform.config
    behavioural = c.pd_calibration == "behavioural"
    z = np.empty(s.n)
    b = np.zeros(s.n)
    for i in range(s.n):
        z[i] = account_log_odds(platform, s, i)
        if behavioural:
            b[i] = behaviour_term(
                c, float(s.balance_cny[i]), float(s.limit_cny[i]), int(s.missed[i])
            )
    if platform.pd_shift is None and c.pd_calibration == "central_tendency":
        platform.pd_shift = shift_to_mean_pd(z, c.central_tendency_pd_12m)
    pd_12m, apr = np.empty(s.n), np.empty(s.n)
    for i in range(s.n):
        pd_12m[i] = pd_of_account(c, float(z[i]), float(b[i]), platform.pd_shift)
        apr[i] = price(c, pd_12m[i], platform.apr_cap)
    platform.score_log_odds, platform.score_behaviour_log_odds = z, b
    s.pd_12m, s.apr = pd_12m, apr
    return True
