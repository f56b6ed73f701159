"""Each mechanism of DOMAIN.md acts in the model (M1/M2 here; more in later modules)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CreditMarketModel
from sim.platform.scorecard import book_behaviour_log_odds
from sim.world.borrowers import BehaviourType
from tests.conftest import CLOSED_BOOK, make_run, this_month


def reasons_by_borrower(model: CreditMarketModel) -> dict[str, np.ndarray]:
    ev = model.limit_events()
    n = model.borrowers.n
    out = {}
    for reason in ev["reason"].unique():
        rows = ev.loc[ev["reason"] == reason, "borrower_id"].to_numpy()
        out[str(reason)] = np.bincount(rows, minlength=n)
    return out


def test_behaviour_rules_cuts_immediate_repayers_not_steady_instalment_payers():
    """M2: borrow-and-repay-at-once users get cut; stable on-time users do not."""
    model = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=behaviour_rules", "population.n_borrowers=4000")
    ).run()
    s = model.borrowers
    counts = reasons_by_borrower(model)
    zero = np.zeros(s.n, dtype=int)
    early_cuts = counts.get("EARLY_REPAYMENT", zero)
    immediate = (s.behaviour_type == BehaviourType.TRANSACTOR) & ~s.savvy & ~s.defaulted
    # Naive transactors draw and repay within the month; nearly all are cut for it.
    assert immediate.sum() > 300
    assert (early_cuts[immediate] > 0).mean() > 0.8
    # Their limits end lower than they started.
    assert np.median(s.limit_cny[immediate] / s.initial_limit_cny[immediate]) < 0.9
    # Instalment payers' habits change (sim.world.repayment), so a few draw often enough
    # for the frequent-draws rule; steady ones (who never missed a payment and never hit
    # another rule) are never cut.
    instalment = s.behaviour_type == BehaviourType.INSTALMENT
    frequent = counts.get("FREQUENT_DRAWS", zero)
    assert (frequent[instalment & ~s.defaulted] > 0).mean() < 0.05
    other = sum(
        counts.get(r, zero)
        for r in (
            "DELINQUENCY",
            "HIGH_RISK_TRANSACTION",
            "THIN_HISTORY",
            "LOW_SPENDING_DIVERSITY",
            "FREQUENT_DRAWS",
        )
    )
    steady = instalment & (other == 0) & ~s.defaulted
    assert steady.sum() > 20
    assert early_cuts[instalment].sum() == 0
    assert (s.limit_cny[steady] >= s.initial_limit_cny[steady]).all()


def test_static_policy_never_changes_an_open_line():
    model = CreditMarketModel(make_run(*CLOSED_BOOK, "policy=static")).run()
    s = model.borrowers
    np.testing.assert_array_equal(s.limit_cny[~s.defaulted], s.initial_limit_cny[~s.defaulted])
    assert set(model.limit_events()["reason"].unique()) <= {"CLOSED_AT_DEFAULT"}


def test_early_repayment_and_draw_counts_are_recorded_per_borrower():
    """M1: draw frequency and same-month full repayment are behavioural features."""
    model = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=static", "population.n_borrowers=3000")
    )
    model.run(3)
    s = model.borrowers
    view = model.platform.portfolio_view(model.world, this_month(model))
    transactor = (s.behaviour_type == BehaviourType.TRANSACTOR) & ~s.defaulted
    revolver = (s.behaviour_type == BehaviourType.REVOLVER) & ~s.defaulted
    assert view.early_repayments_3m[transactor].mean() > 3.0  # Poisson(2.5) a month
    assert view.early_repayments_3m[revolver].sum() == 0
    assert view.draws_3m[transactor].mean() > view.draws_3m[revolver].mean()


def test_savvy_transactors_avoid_early_repayment_cuts():
    """M10: the same borrowers, savvy instead of naive, are cut less for early repayment."""
    naive = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=behaviour_rules", "population.savvy_share=0.0", "seed=5")
    ).run()
    savvy = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=behaviour_rules", "population.savvy_share=1.0", "seed=5")
    ).run()
    transactor = naive.borrowers.behaviour_type == BehaviourType.TRANSACTOR
    np.testing.assert_array_equal(
        transactor, savvy.borrowers.behaviour_type == BehaviourType.TRANSACTOR
    )
    zero = np.zeros(naive.borrowers.n, dtype=int)
    cuts_naive = reasons_by_borrower(naive).get("EARLY_REPAYMENT", zero)[transactor].sum()
    cuts_savvy = reasons_by_borrower(savvy).get("EARLY_REPAYMENT", zero)[transactor].sum()
    assert cuts_naive > 100
    assert cuts_savvy == 0


def test_race_to_default_raises_exposure_at_default():
    """Qi (2009): borrowers under stress draw their remaining limit before defaulting."""
    ead = {}
    for prob in (0.0, 1.0):
        run = make_run(
            *CLOSED_BOOK,
            "policy=static",
            "population.n_borrowers=4000",
            "n_months=18",
            f"population.behaviour.race_to_default_prob={prob}",
            "population.behaviour.job_loss_prob_monthly=0.02",
        )
        table = CreditMarketModel(run).run().monthly_table()
        ead[prob] = table["ead_at_default_cny"].sum() / max(table["default_count"].sum(), 1)
    # Everyone who races draws the rest of the line, so the mean EAD per default rises.
    assert ead[1.0] > 1.03 * ead[0.0]


def test_champion_challenger_reports_outcomes_per_arm():
    from sim.outputs.segments import distribution_table

    model = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=champion_challenger", "population.n_borrowers=3000")
    ).run()
    table = distribution_table(model.world, model.record)
    arms = table[table["group"] == "arm"].set_index("level")
    assert set(arms.index) == {"champion", "challenger"}
    share = arms.loc["challenger", "n_borrowers"] / arms["n_borrowers"].sum()
    se = np.sqrt(0.2 * 0.8 / 3000)
    assert abs(share - 0.2) < 4 * se
    assert arms["limit_cuts"].sum() > 0


@pytest.mark.parametrize("mapping", ["behavioural", "isotonic"])
def test_platform_pd_is_the_configured_map_of_its_score(mapping):
    """M11: every month the PD is the configured map of the log-odds (behavioural: of the
    log-odds plus the line's utilisation and arrears terms; the default)."""
    overrides = () if mapping == "behavioural" else ("platform.pd_calibration=isotonic",)
    model = CreditMarketModel(
        make_run(*CLOSED_BOOK, "policy=static", "population.n_borrowers=4000", *overrides)
    )
    c, s = model.config.platform, model.borrowers
    assert c.pd_calibration == mapping
    pd_start = s.pd_12m.copy()
    model.run(6)
    z, b = model.platform.score_log_odds, model.platform.score_behaviour_log_odds
    np.testing.assert_allclose(z, model.platform.log_odds(s), rtol=1e-12)
    if mapping == "isotonic":
        assert not b.any()
        expected = np.interp(z, c.pd_calibration_log_odds, c.pd_calibration_pd)
    else:
        np.testing.assert_array_equal(b, book_behaviour_log_odds(s, c))
        expected = np.interp(z + b, c.behaviour_calibration_log_odds, c.behaviour_calibration_pd)
        # The terms act: among current open lines, drawn ones score above idle ones.
        current = s.is_open & (s.missed == 0)
        idle, drawn = current & (s.balance_cny <= 0), current & (s.balance_cny > 0)
        assert idle.sum() > 100 and drawn.sum() > 100
        assert s.pd_12m[drawn].mean() > 3 * s.pd_12m[idle].mean()
    np.testing.assert_array_equal(s.pd_12m, expected)
    # Applicants are scored by the application map of z alone.
    np.testing.assert_array_equal(
        model.platform.pd_of(s), np.interp(z, c.pd_calibration_log_odds, c.pd_calibration_pd)
    )
    late = (s.missed >= 1) & ~s.defaulted
    assert late.sum() > 10
    assert s.pd_12m[late].mean() > 5 * pd_start[late].mean()


def test_platform_rescores_monthly_from_behaviour():
    """M11: PDs start at the configured central tendency and then follow behaviour."""
    run = make_run(
        *CLOSED_BOOK,
        "policy=static",
        "population.n_borrowers=4000",
        "platform.pd_calibration=central_tendency",
    )
    model = CreditMarketModel(run)
    s = model.borrowers
    assert s.pd_12m.mean() == pytest.approx(model.config.platform.central_tendency_pd_12m, rel=1e-9)
    pd_start = s.pd_12m.copy()
    model.run(6)
    late = (s.missed >= 1) & ~s.defaulted
    assert late.sum() > 10
    # Missed payments raise the score's PD well above where the same borrowers started.
    assert s.pd_12m[late].mean() > 2 * pd_start[late].mean()
    assert not np.array_equal(s.pd_12m, pd_start)


def test_thin_history_and_lenders_enter_the_score_with_their_configured_weights():
    """M3 and M7: each term adds exactly its configured log-odds."""
    model = CreditMarketModel(make_run(*CLOSED_BOOK, "population.n_borrowers=200"))
    s, c = model.borrowers, model.config.platform
    s.history_months[:] = 60
    s.lenders_count[:] = 1
    base = model.platform.log_odds(s)
    s.history_months[:] = c.thin_history_months - 1
    s.lenders_count[:] = 3
    z = model.platform.log_odds(s)
    expected = c.thin_history_log_odds + 2 * c.lenders_log_odds
    np.testing.assert_allclose(z - base, expected, rtol=1e-12)
