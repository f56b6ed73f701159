"""Effects on the treated: hand-computed two-policy, two-seed cases; the join is by id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import plotting
from sim.analysis.compare import (
    event_study,
    identical_policies,
    treated_effects,
    treatment_groups,
)


def _borrowers() -> pd.DataFrame:
    """Three borrowers, two seeds, policies ``static`` (baseline) and ``cutter``.

    Under ``cutter`` borrower 0 is cut (month 2) in both seeds, borrower 1 is raised in
    seed 0 only, borrower 2 is untouched.
    """
    rows = []
    for seed in (0, 1):
        for policy in ("static", "cutter"):
            for b in range(3):
                cut = policy == "cutter" and b == 0
                raised = policy == "cutter" and b == 1 and seed == 0
                rows.append(
                    {
                        "policy": policy,
                        "scenario": "base",
                        "seed": seed,
                        "borrower_id": b,
                        "first_cut_step": 2 if cut else 0,
                        "first_cut_reason": "DELINQUENCY" if cut else "NONE",
                        "n_cuts": 1 if cut else 0,
                        "n_raises": 1 if raised else 0,
                        "limit_end_cny": 500.0 if cut else 1000.0,
                        "income_decile": 1 + b,
                        "behaviour_type": "revolver",
                        "sole_trader": b == 0,
                        # outcomes: the cut borrower pays more and defaults in seed 1
                        "interest_fees_cny": 100.0 + (50.0 + 10 * seed if cut else 0.0),
                        "balance_months_cny": 1200.0 * (1 + b),
                        "income_cny": 10_000.0,
                        "unmet_need_cny": (300.0 + 100 * seed) if cut else 0.0,
                        "lenders_mean": 1.0 + (0.5 if cut else 0.0),
                        "defaulted_in_window": bool(cut and seed == 1),
                    }
                )
    return pd.DataFrame(rows)


def _firms() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for policy in ("static", "cutter"):
            rows.append(
                {
                    "policy": policy,
                    "scenario": "base",
                    "seed": seed,
                    "firm_id": 0,
                    "owner_id": 0,
                    "sector": "retail",
                    "shortfall_months": 2 + (3 if policy == "cutter" else 0) + seed,
                    "late_payments_cny": 10.0 * (seed + 1) * (2 if policy == "cutter" else 1),
                    "months_under_15d": 4,
                    "closed_in_window": policy == "cutter" and seed == 0,
                }
            )
    return pd.DataFrame(rows)


def _get(df, **where):
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return df[mask].iloc[0]


def test_groups_by_hand():
    pairs = treatment_groups(_borrowers(), "static")
    g = pairs.set_index(["seed", "borrower_id"])["group"]
    assert g[(0, 0)] == "cut" and g[(1, 0)] == "cut"
    assert g[(0, 1)] == "raised" and g[(1, 1)] == "untreated"
    assert g[(0, 2)] == "untreated" and g[(1, 2)] == "untreated"
    assert set(pairs["policy"]) == {"cutter"}


def test_effects_on_the_cut_by_hand():
    eff, firms = treated_effects(_borrowers(), _firms(), baseline="static")
    cut = eff[(eff["group"] == "cut") & (eff["by"] == "all")]
    # APR of the cut borrower: seed 0 12*150/1200 - 12*100/1200 = 0.5; seed 1: 0.6.
    apr = _get(cut, outcome="effective_apr")
    assert apr["mean_diff"] == pytest.approx(0.55)
    half = stats.t.ppf(0.975, 1) * np.std([0.5, 0.6], ddof=1) / np.sqrt(2)
    assert apr["ci_low"] == pytest.approx(0.55 - half)
    assert apr["ci_high"] == pytest.approx(0.55 + half)
    assert apr["n_seeds"] == 2 and apr["n_treated"] == 1
    assert apr["treated_share"] == pytest.approx(1 / 3)
    assert apr["baseline_mean"] == pytest.approx(1.0)
    # interest + fees / income: (50 + 10 seed) / 10,000.
    share = _get(cut, outcome="interest_fees_share_of_income")
    assert share["mean_diff"] == pytest.approx((0.005 + 0.006) / 2)
    assert _get(cut, outcome="unmet_need_cny")["mean_diff"] == pytest.approx(350.0)
    assert _get(cut, outcome="lenders")["mean_diff"] == pytest.approx(0.5)
    default = _get(cut, outcome="default_probability")
    assert default["mean_diff"] == pytest.approx(0.5)  # 0 in seed 0, 1 in seed 1
    # "raised" exists in seed 0 only: one seed, no interval; nothing changed for it.
    raised = _get(eff, group="raised", by="all", outcome="effective_apr")
    assert raised["n_seeds"] == 1 and raised["mean_diff"] == 0.0 and np.isnan(raised["ci_low"])
    # "treated" pools cut and raised: seed 0 has two treated borrowers (cut + raised).
    treated = _get(eff, group="treated", by="all", outcome="unmet_need_cny")
    assert treated["mean_diff"] == pytest.approx((300.0 / 2 + 400.0) / 2)
    assert treated["n_treated"] == pytest.approx(1.5)
    # by income decile: the cut borrower is in decile 1, and is all of it.
    d1 = _get(eff, group="cut", by="income_decile", level="1", outcome="unmet_need_cny")
    assert d1["mean_diff"] == pytest.approx(350.0) and d1["treated_share"] == 1.0
    # the owner's sector reaches the borrower effects
    sector = _get(eff, group="cut", by="sector", level="retail", outcome="lenders")
    assert sector["mean_diff"] == pytest.approx(0.5)
    # by the policy's reason for the first cut: shares of every borrower
    reason = _get(eff, by="first_cut_reason", level="DELINQUENCY", outcome="default_probability")
    assert reason["group"] == "cut" and reason["mean_diff"] == pytest.approx(0.5)
    assert reason["treated_share"] == pytest.approx(1 / 3)
    assert set(eff.loc[eff["by"] == "first_cut_reason", "group"]) == {"cut"}
    # firms whose owner was cut: shortfalls +3 months, late payments +10 / +20 CNY
    f_all = firms[firms["by"] == "all"]
    assert _get(f_all, outcome="shortfall_months")["mean_diff"] == pytest.approx(3.0)
    assert _get(f_all, outcome="late_payments_cny")["mean_diff"] == pytest.approx(15.0)
    assert _get(f_all, outcome="closure_probability")["mean_diff"] == pytest.approx(0.5)
    assert _get(f_all, outcome="months_under_15d")["mean_diff"] == 0.0


def test_join_is_by_id_not_by_row_order():
    b, f = _borrowers(), _firms()
    first, first_f = treated_effects(b, f)
    shuffled = b.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled_f = f.sample(frac=1.0, random_state=4).reset_index(drop=True)
    again, again_f = treated_effects(shuffled, shuffled_f)
    keys = ["policy", "scenario", "group", "by", "level", "outcome"]
    pd.testing.assert_frame_equal(
        first.sort_values(keys).reset_index(drop=True),
        again.sort_values(keys).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(first_f, again_f)
    # and a borrower's outcomes follow its id: swapping the ids of borrowers 0 and 2
    # under one policy only moves the effect
    swapped = b.copy()
    mask = swapped["policy"] == "cutter"
    swapped.loc[mask, "borrower_id"] = swapped.loc[mask, "borrower_id"].map({0: 2, 1: 1, 2: 0})
    other, _ = treated_effects(swapped, None)
    assert not np.isclose(
        _get(other[other["by"] == "all"], group="cut", outcome="effective_apr")["mean_diff"],
        0.55,
    )


def test_duplicate_ids_and_missing_baseline_refused():
    b = _borrowers()
    with pytest.raises(ValueError, match="more than once"):
        treatment_groups(pd.concat([b, b.iloc[:1]]), "static")
    with pytest.raises(ValueError, match="baseline policy 'nope'"):
        treatment_groups(b, "nope")


def test_event_study_by_hand():
    b = _borrowers()
    rows = []
    for seed in (0, 1):
        for policy in ("static", "cutter"):
            for bid in (0, 2):
                for step in range(1, 6):
                    cut = policy == "cutter" and bid == 0 and step >= 2
                    rows.append(
                        {
                            "policy": policy,
                            "scenario": "base",
                            "seed": seed,
                            "borrower_id": bid,
                            "step": step,
                            "limit_cny": 500.0 if cut else 1000.0,
                            "debt_cny": 100.0 * step,
                        }
                    )
    panel = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    es = event_study(b, panel, baseline="static", window=(-1, 2))
    limit = es[es["outcome"] == "limit_cny"].set_index("event_month")
    assert list(limit.index) == [-1, 0, 1, 2]  # first cut at month 2: steps 1..4
    assert limit.loc[-1, "mean_diff"] == 0.0
    assert limit.loc[0, "mean_diff"] == -500.0 and limit.loc[2, "mean_diff"] == -500.0
    assert (limit["n_treated"] == 1).all() and (limit["n_seeds"] == 2).all()
    assert (es.loc[es["outcome"] == "debt_cny", "mean_diff"] == 0.0).all()


def test_identical_policies_found():
    b = _borrowers()
    twin = b[b["policy"] == "cutter"].assign(policy="twin")
    found = identical_policies(pd.concat([b, twin], ignore_index=True))
    assert found["policies"].tolist() == [("cutter", "twin")]
    assert identical_policies(b).empty


def test_pareto_set_over_three_outcomes():
    points = pd.DataFrame(
        {"loss": [0.0, -1.0, 1.0, -1.0], "cost": [0.0, 1.0, 1.0, 1.0], "buffer": [0, 0, 0, 1]},
        index=["base", "a", "dominated", "b"],
    )
    # higher buffer is better: b dominates a; "dominated" is worse than base on all
    front = plotting.pareto_set(points, {"loss": True, "cost": True, "buffer": False})
    assert front == ["base", "b"]


def test_pareto_set_with_confidence_intervals():
    means = pd.DataFrame(
        {"loss": [0.0, 1.0, 0.1, 5.0], "cost": [0.0, -1.0, 0.05, 0.0]},
        index=["base", "cheap", "noise", "bad"],
    )
    lows = means - 0.2
    highs = means + 0.2
    worse = {"loss": True, "cost": True}
    # "noise" is worse on both means, but within the intervals: not clearly dominated;
    # "bad" is clearly worse on loss and nowhere clearly better: dominated by base
    assert plotting.pareto_set(means, worse) == ["base", "cheap"]
    assert plotting.pareto_set_ci(means, lows, highs, worse) == ["base", "cheap", "noise"]
