"""Stylised facts the calibrated model must reproduce (slow: run by `make test-slow`).

Targets and their sources: Ant Group IPO prospectus 2020 (consumer book 30+ / 90+ DPD,
COVID rise), FR Y-14M utilisation distribution (Philadelphia Fed), Agarwal,
Chomsisengphet, Mahoney & Stroebel (2018, QJE) for the borrowing response to limit
increases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.delinquency import roll_rates
from sim.model import CreditMarketModel
from sim.runtime.compose import load_run_config

pytestmark = pytest.mark.slow
SEEDS = (0, 1, 2)


def run(*overrides: str) -> CreditMarketModel:
    cfg = load_run_config(["policy=static", "output.plots=false", *overrides])
    return CreditMarketModel(cfg).run()


@pytest.fixture(scope="module")
def baseline_runs() -> list[CreditMarketModel]:
    return [run(f"seed={s}", "n_months=36") for s in SEEDS]


def test_jiebei_baseline_delinquency_matches_ants_book(baseline_runs):
    """C1: 90+ DPD about 1 % of balances (0.5-1.5 %), 30+ DPD 1-2 %."""
    tables = [m.monthly_table().iloc[12:] for m in baseline_runs]
    dpd90 = np.mean([t["dpd90_share"].mean() for t in tables])
    dpd30 = np.mean([t["dpd30_share"].mean() for t in tables])
    assert 0.005 <= dpd90 <= 0.015
    assert 0.01 <= dpd30 <= 0.02


def test_delinquency_deepens_roll_30_60_below_60_90(baseline_runs):
    rates = pd.concat(
        [roll_rates(m.transitions_table(), steps=range(13, 37)) for m in baseline_runs], axis=1
    )
    mean = rates.mean(axis=1)
    assert mean["30-59->60-89"] < mean["60-89->default"]


def test_utilisation_has_a_heavy_right_tail(baseline_runs):
    """D1: median utilisation is low, yet about a tenth of accounts are near their limit."""
    shares, medians = [], []
    for m in baseline_runs:
        s = m.borrowers
        open_ = ~s.defaulted & (s.limit_cny > 0)
        u = s.balance_cny[open_] / s.limit_cny[open_]
        shares.append((u >= 0.9).mean())
        medians.append(np.median(u))
    assert 0.04 <= np.mean(shares) <= 0.2
    assert np.mean(medians) < 0.4


def test_covid_shock_raises_30_plus_about_1_7x_then_recovers():
    """C2: Ant's 30+ DPD rose from 1.76 % to 3.01 % (1.7x) from Jan to May 2020, then eased."""
    curves = np.mean(
        [
            run("scenario=covid_shock", f"seed={s}", "n_months=30")
            .monthly_table()["dpd30_share"]
            .to_numpy()
            for s in SEEDS
        ],
        axis=0,
    )
    before = curves[9:12].mean()  # months 10-12, before the shock in month 13
    after_four = curves[15]  # month 16: the fourth month of the shock
    assert 1.4 <= after_four / before <= 2.1
    peak = curves[12:].max()
    assert curves[-1] < peak  # recovery
    assert curves[-1] / before < 1.5


def test_borrowing_responds_more_to_limit_increases_for_high_pd_borrowers():
    """F2: the marginal propensity to borrow out of a limit increase falls with credit quality."""
    ratios = []
    for seed in SEEDS:
        cfg = load_run_config(
            [
                "policy=static",
                f"seed={seed}",
                "n_months=12",
                "burn_in_months=0",
                "output.plots=false",
            ]
        )
        control = CreditMarketModel(cfg)
        treated = CreditMarketModel(cfg)
        pd0 = control.borrowers.pd_12m.copy()
        raise_cny = 0.2 * treated.borrowers.limit_cny
        treated.borrowers.limit_cny = treated.borrowers.limit_cny + raise_cny
        control.run()
        treated.run()
        n0 = raise_cny.size  # the accounts raised (the book grows after)
        c, t = control.borrowers, treated.borrowers
        keep = ~c.defaulted[:n0] & ~t.defaulted[:n0] & (raise_cny > 0)
        mpb = (t.balance_cny[:n0] - c.balance_cny[:n0])[keep] / raise_cny[keep]
        low, high = np.quantile(pd0[keep], [1 / 3, 2 / 3])
        ratios.append((mpb[pd0[keep] >= high].mean(), mpb[pd0[keep] <= low].mean()))
    high_pd, low_pd = np.mean(ratios, axis=0)
    assert high_pd > low_pd
    assert 0.0 <= low_pd < 0.3
