"""The compiled re-scoring (sim.platform.scoring_kernel) against NumPy and the reference."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import BorrowerState, CreditMarketModel
from sim.compiled import set_threads, threads, using
from sim.platform.scorecard import FEATURE_NAMES, Scorecard
from sim.platform.scoring_kernel import _amount_thresholds, card_tables, interp_scalar
from tests.conftest import make_run

CALIBRATIONS = ("behavioural", "isotonic", "central_tendency")


@pytest.fixture(scope="module")
def platform():
    """The default platform (segmented card, behavioural map) of a small model."""
    model = CreditMarketModel(make_run("population.n_borrowers=200"))
    out = model.world.platform
    model.close()
    return out


def random_book(seed: int, n: int) -> BorrowerState:
    """``n`` accounts with every scoring input drawn at random (zeros and edges included)."""
    rng = np.random.default_rng(seed)

    def money(shape, scale):
        x = np.round(rng.lognormal(np.log(scale), 1.5, shape), 2)
        return np.where(rng.random(shape) < 0.25, 0.0, x)

    limit = money(n, 8_000.0)
    return BorrowerState.blank(
        n,
        missed=rng.integers(0, 5, n),
        delinquent_recent=rng.random((6, n)) < 0.2,
        payment_ratio_recent=np.where(
            rng.random((3, n)) < 0.5, 1.0, rng.uniform(-0.2, 1.3, (3, n))
        ),
        billed_cny=money(n, 3_000.0),
        limit_cny=limit,
        balance_cny=np.where(rng.random(n) < 0.3, limit, money(n, 3_000.0)),
        billed_recent_cny=money((3, n), 3_000.0),
        payment_recent_cny=money((5, n), 1_000.0),
        debt_service_cny=money(n, 500.0),
        income_cny=np.where(rng.random(n) < 0.1, 0.0, money(n, 9_000.0)),
        history_months=rng.integers(0, 40, n),
        lenders_count=rng.integers(0, 5, n),
    )


def scored(platform, s: BorrowerState, how: str, calibration: str):
    """``(z, b, pd_12m, apr, shift)`` of rescoring ``s`` with a fresh copy of ``platform``."""
    p = copy.copy(platform)
    p.config = dataclasses.replace(platform.config, pd_calibration=calibration)
    p.pd_shift = None
    s = copy.copy(s)
    with using(how):
        p.rescore(s)
        p.rescore(s)  # the second call uses the shift fixed by the first
    return p.score_log_odds, p.score_behaviour_log_odds, s.pd_12m, s.apr, p.pd_shift


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), calibration=st.sampled_from(CALIBRATIONS)
)
def test_compiled_equals_reference_and_numpy(platform, seed, n, calibration) -> None:
    s = random_book(seed, n)
    numpy_out = scored(platform, s, "numpy", calibration)
    for how in ("compiled", "reference"):
        out = scored(platform, s, how, calibration)
        for name, a, b in zip(("z", "b", "pd", "apr"), numpy_out[:4], out[:4], strict=True):
            np.testing.assert_array_equal(b, a, err_msg=f"{how} {name}")
        assert out[4] == numpy_out[4]


def test_one_and_two_threads_identical(platform) -> None:
    s = random_book(3, 20_000)  # several check blocks
    before = threads()
    try:
        set_threads(1)
        one = scored(platform, s, "compiled", "behavioural")
        set_threads(min(2, before if before > 1 else 2))
        two = scored(platform, s, "compiled", "behavioural")
    finally:
        set_threads(before)
    for a, b in zip(one[:4], two[:4], strict=True):
        np.testing.assert_array_equal(a, b)


def test_hand_computed_card(platform) -> None:
    # One binned card: months_late 0 | 1+ (+1.0), log_payment_5m below / at or above
    # log1p(99) (+0.5 / -0.5); the other features in one bin each (0 points).
    edges = [np.array([0.5]), np.array([]), np.array([]), np.array([]), np.array([]),
             np.array([]), np.array([np.log1p(99.0)])]  # fmt: skip
    points = [np.array([0.0, 1.0])] + [np.array([0.0])] * 5 + [np.array([0.5, -0.5])]
    card = Scorecard(coef=np.ones(7), intercept=-2.0, bin_edges=edges, bin_points=points)
    p = copy.copy(platform)
    p.scorecard = card
    p.twd_per_cny = 1.0
    p.config = dataclasses.replace(
        platform.config,
        pd_calibration="isotonic",
        pd_calibration_log_odds=[-3.0, 1.0],
        pd_calibration_pd=[0.0, 0.4],
        thin_history_log_odds=0.3,
        lenders_log_odds=0.25,
        debt_service_log_odds=1.0,
    )
    # Row 0: current, paid 99 a month on average (exactly the edge: upper bin), thin
    # history, 3 lenders, DSR 0.5: z = -2 + 0 - 0.5 + 0.3 + 2 x 0.25 + 0.5 = -1.2.
    # Row 1: 1 missed, paid 98.99, DSR capped at 5: z = -2 + 1 + 0.5 + 0 + 0 + 5 = 4.5.
    s = BorrowerState.blank(
        2,
        missed=[0, 1],
        payment_recent_cny=[[99.0, 98.99]] * 5,
        history_months=[6, 24],
        lenders_count=[3, 0],
        debt_service_cny=[5_000.0, 90_000.0],
        income_cny=[10_000.0, 0.0],
    )
    for how in ("compiled", "reference", "numpy"):
        t = copy.copy(s)
        with using(how):
            p.rescore(t)
        assert p.score_log_odds == pytest.approx([-1.2, 4.5], abs=1e-12), how
        # PD: interp(-1.2) = 0.4 x 1.8 / 4 = 0.18 (top tier, 0.1825); 4.5 is beyond the knots.
        assert t.pd_12m == pytest.approx([0.18, 0.4], abs=1e-12), how
        assert t.apr.tolist() == [0.1825, 0.1825], how


def test_amount_thresholds_match_numpy_log1p(platform) -> None:
    tables = card_tables(platform.scorecard)
    cards = platform.scorecard.segments
    for s, card in enumerate(cards):
        for f in (4, 5, 6):
            edges = card.bin_edges[f]
            t = tables.cuts[s, f, : edges.size]
            np.testing.assert_array_equal(t, _amount_thresholds(edges))
            positive = edges > 0
            # log1p(t) reaches the edge, the double below does not, and log1p is monotone
            # for 2,000 doubles around the threshold.
            assert (np.log1p(t) >= edges).all()
            below = np.nextafter(t[positive], 0.0)
            assert (np.log1p(below) < edges[positive]).all()
            for tk, e in zip(t[positive], edges[positive], strict=True):
                around = tk + np.arange(-1000, 1000) * np.spacing(tk)
                assert (np.diff(np.log1p(around)) >= 0).all()
                assert ((np.log1p(around) >= e) == (around >= tk)).all()


def test_interp_scalar_is_numpy_interp() -> None:
    rng = np.random.default_rng(5)
    xp = np.cumsum(rng.uniform(0.01, 2.0, 23)) - 10.0
    fp = np.sort(rng.uniform(0.0, 1.0, 23))
    x = np.concatenate([rng.uniform(-15, 40, 20_000), xp, [np.nan, -np.inf, np.inf]])
    xp1, fp1 = np.append(xp[1:], np.inf), np.append(fp[1:], fp[-1])
    got = np.array([interp_scalar(v, xp, fp, xp1, fp1) for v in x])
    np.testing.assert_array_equal(got, np.interp(x, xp, fp))


def test_non_finite_input_is_named(platform) -> None:
    s = random_book(1, 10)
    s.billed_recent_cny[1, 4] = np.nan
    for how in ("compiled", "reference", "numpy"):
        with using(how), pytest.raises(ValueError, match="statement_mean_3m_twd"):
            copy.copy(platform).rescore(copy.copy(s))


def test_linear_card_falls_back_to_numpy(platform) -> None:
    card = Scorecard(coef=np.full(len(FEATURE_NAMES), 0.1), intercept=-3.0)
    assert card_tables(card) is None
    p = copy.copy(platform)
    p.scorecard = card
    s = random_book(2, 30)
    out = {}
    for how in ("compiled", "numpy", "reference"):
        t = copy.copy(s)
        with using(how):
            p.rescore(t)
        out[how] = (p.score_log_odds.copy(), t.pd_12m)
    np.testing.assert_array_equal(out["compiled"][0], out["numpy"][0])
    np.testing.assert_allclose(out["reference"][0], out["numpy"][0], rtol=0, atol=1e-12)


def test_the_runs_apr_cap_holds_in_every_implementation(platform) -> None:
    # A scenario's cap (here 10 %) lowers the platform's own: build_world sets
    # platform.apr_cap to the lower of the two, and every implementation prices with it.
    s = random_book(11, 400)
    capped = copy.copy(platform)
    capped.apr_cap = 0.10
    outs = {
        how: scored(capped, s, how, "behavioural")[3] for how in ("numpy", "compiled", "reference")
    }
    assert outs["numpy"].max() == pytest.approx(0.10)
    assert (outs["numpy"] < 0.10).any()  # the lowest tier (7.3 %) stays below the cap
    for how in ("compiled", "reference"):
        np.testing.assert_array_equal(outs[how], outs["numpy"], err_msg=how)


@pytest.mark.parametrize("calibration", CALIBRATIONS)
def test_the_first_scoring_equals_numpy(platform, calibration) -> None:
    """The first call (a central-tendency shift still to fix: PD mapped in a second pass)."""
    s = random_book(7, 500)
    out = {}
    for how in ("numpy", "compiled"):
        p = copy.copy(platform)
        p.config = dataclasses.replace(platform.config, pd_calibration=calibration)
        p.pd_shift = None
        book = copy.copy(s)
        with using(how):
            p.rescore(book)
        out[how] = (book.pd_12m, book.apr, p.pd_shift)
    np.testing.assert_array_equal(out["compiled"][0], out["numpy"][0])
    np.testing.assert_array_equal(out["compiled"][1], out["numpy"][1])
    assert out["compiled"][2] == out["numpy"][2]
    assert (out["compiled"][2] is None) == (calibration != "central_tendency")
