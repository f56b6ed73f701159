"""Replication experiments: estimators by hand, the arms' policies, the paired harness, the CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from experiments.replicate import main as replicate_main
from sim import PortfolioView
from sim.empirical.replication import (
    OneTimeLimitChange,
    PrePeakCut,
    assignment_draw,
    check_targets,
    mpb,
    replication_config_from_dict,
    replication_section,
    run_arm,
    run_replication,
    write_replication_report,
)
from sim.platform.policies.base import PolicyConfig
from sim.platform.policies.static import StaticPolicy
from sim.runtime.compose import load_run_config

#: A tiny experiment; a 2-month burn-in (the treatment month still comes after a burn-in on
#: a book that has grown, which is what the harness must handle).
TINY = dict(
    seeds=2, n_borrowers=400, n_months=7, treatment_month=3, horizons=[2, 4],
    targets={"horizon": 4}, raise_fractions=[0.2],
    overrides=["firms.owner_share=0.3", "burn_in_months=2"],
)  # fmt: skip


def _view(n: int, **values) -> PortfolioView:
    """A portfolio view of ``n`` open, current lines with plain defaults."""
    defaults = dict(step=1, calendar_month=1, macro_regime="baseline")
    arrays = {}
    for f in dataclasses.fields(PortfolioView):
        if f.name in defaults or f.name == "risk_appetite":
            continue
        arrays[f.name] = np.zeros(n)
    arrays.update(limit_cny=np.full(n, 1000.0), initial_limit_cny=np.full(n, 1000.0),
                  is_open=np.ones(n, bool), owns_firm=np.zeros(n, bool),
                  firm_peak_ahead=np.zeros(n, bool), dpd=np.zeros(n, np.int16))  # fmt: skip
    defaults.update(arrays)
    defaults.update(values)
    return PortfolioView(**defaults)


def test_mpb_by_hand():
    # Treated debt rose 100 and 50 on +1000 limits; the control's rose 20 and 30 with no change.
    got = mpb(np.array([100.0, 50.0]), np.array([1000.0, 1000.0]), np.array([20.0, 30.0]),
              np.zeros(2))  # fmt: skip
    assert got == pytest.approx((75.0 - 25.0) / 1000.0)
    # Paired: sum of debt differences over the sum of limit changes.
    assert mpb(np.array([100.0, 50.0]), np.array([1000.0, 500.0])) == pytest.approx(0.1)
    assert np.isnan(mpb(np.array([1.0]), np.array([0.0])))


def test_assignment_is_a_fixed_hash_of_row_and_seed():
    a = assignment_draw(20_000, seed=3)
    assert np.array_equal(a[:500], assignment_draw(500, seed=3))  # rows keep their draw
    assert 0.48 < (a < 0.5).mean() < 0.52
    assert a.min() >= 0.0 and a.max() < 1.0
    assert not np.array_equal(a, assignment_draw(20_000, seed=4))


def test_one_time_change_acts_once_on_the_assigned_open_lines():
    n = 1000
    policy = OneTimeLimitChange(step=2, fraction=0.2, seed=0)
    closed = np.zeros(n, bool)
    closed[:10] = True
    view = _view(n, step=2, is_open=~closed, limit_cny=np.where(closed, 0.0, 1000.0))
    before = policy.review(_view(n, step=1), np.random.default_rng(0))
    assert np.array_equal(before.new_limit_cny, np.full(n, 1000.0))
    d = policy.review(view, np.random.default_rng(0))
    assigned = ~closed & (assignment_draw(n, 0) < 0.5)
    assert np.array_equal(policy.assigned, assigned)
    assert np.all(d.new_limit_cny[assigned] == 1200.0)
    assert np.all(d.new_limit_cny[~assigned] == view.limit_cny[~assigned])
    assert np.all((d.reason != 0) == assigned)


def test_prepeak_cut_zero_headroom_then_restore():
    n = 3
    flag = np.array([True, True, False])
    policy = PrePeakCut(start_step=2)
    policy.reset(n)
    rng = np.random.default_rng(0)
    kw = dict(owns_firm=flag, firm_peak_ahead=flag, balance_cny=np.array([300.0, 0.0, 50.0]))
    assert np.array_equal(policy.review(_view(n, step=1, **kw), rng).new_limit_cny, [1000.0] * 3)
    cut = policy.review(_view(n, step=2, **kw), rng).new_limit_cny
    assert np.array_equal(cut, [300.0, 0.0, 1000.0])  # the drawn balance: zero headroom
    after = dict(kw, firm_peak_ahead=np.zeros(n, bool), limit_cny=cut)
    restored = policy.review(_view(n, step=3, **after), rng)
    assert np.array_equal(restored.new_limit_cny, [1000.0] * 3)
    assert np.array_equal(policy.flagged_ever, flag)
    half = PrePeakCut(start_step=1, fraction=0.5)
    half.reset(n)
    assert np.array_equal(half.review(_view(n, **kw), rng).new_limit_cny, [500.0, 500.0, 1000.0])


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match=r"replication.n_months = 10 must be .* \[36, 600\]"):
        replication_config_from_dict(dict(n_months=10))
    with pytest.raises(ValueError, match="replication.treated_share"):
        replication_config_from_dict(dict(treated_share=1.5))
    with pytest.raises(ValueError, match="unknown key"):
        replication_config_from_dict(dict(n_month=36))
    with pytest.raises(ValueError, match="replication.targets.horizon"):
        replication_config_from_dict(dict(horizons=[3, 6]))


def test_paired_runs_share_the_world_until_treatment_and_identities_hold():
    cfg = replication_config_from_dict(TINY)
    t = cfg.treatment_month
    run_cfg = load_run_config(cfg.run_overrides(0))
    control = run_arm(run_cfg, StaticPolicy(PolicyConfig()), t, cfg.horizons)
    policy = OneTimeLimitChange(t, 0.2, 0)
    treated = run_arm(run_cfg, policy, t, cfg.horizons)
    s0, t0 = control.snapshots[t], treated.snapshots[t]
    # Common random numbers: the month of treatment ends identically (the change is at its review).
    for name in ("balance_cny", "other_balance_cny", "cost_total_cny", "unmet_need_total_cny"):
        assert np.array_equal(getattr(s0, name), getattr(t0, name)), name
    a = policy.assigned
    assert a.sum() > 100
    # The treatment month is a window month: the burn-in ran first and the book grew since;
    # the rows compared are the rows present at treatment.
    assert run_cfg.burn_in_months > 0
    assert policy.n_at_treatment == treated.n_rows == control.n_rows == a.shape[0]
    assert treated.n_rows > cfg.n_borrowers
    assert np.array_equal(t0.limit_cny[~a], s0.limit_cny[~a])  # control half unchanged
    assert np.allclose(t0.limit_cny[a], np.round(s0.limit_cny[a] * 1.2, 2))
    # Δdebt/Δlimit of the harness equals the hand computation from the snapshots.
    from sim.empirical.replication.estimates import mpb_rows

    rows = pd.DataFrame(mpb_rows(0, "increase", "+20%", control, treated, cfg, kinds=("all",)))
    limit_row = rows[rows["statistic"] == "limit change (CNY)"].iloc[0]
    assert limit_row["control"] == 0.0
    assert limit_row["treated"] == pytest.approx((t0.limit_cny - s0.limit_cny)[a].mean())
    h = cfg.horizons[-1]
    th, sh = treated.snapshots[t + h], control.snapshots[t + h]
    e = policy.eligible
    dd = th.balance_cny - t0.balance_cny
    dl = t0.limit_cny - s0.limit_cny
    within = (dd[a].mean() - dd[e & ~a].mean()) / dl[a].mean()
    paired = (th.balance_cny - sh.balance_cny)[a].sum() / dl[a].sum()
    pick = rows[(rows["horizon"] == h) & (rows["statistic"] == "Δdebt/Δlimit platform")]
    assert pick.set_index("design")["effect"]["within"] == pytest.approx(within)
    assert pick.set_index("design")["effect"]["paired"] == pytest.approx(paired)


def test_the_whole_harness_on_a_tiny_config(tmp_path):
    cfg = replication_config_from_dict(TINY)
    result = run_replication(cfg)
    s = result.summary
    assert set(s["experiment"]) == {"increase", "decrease", "household_cut", "prepeak", "sme_aware"}
    assert (s["seeds"] <= 2).all()
    cut = s[(s["experiment"] == "household_cut") & (s["statistic"] == "platform balance (CNY)")]
    assert set(cut["group"]) == {"prime", "subprime"}
    assert (cut["effect"] <= 0).all()  # a cut never raises the platform balance
    assert len(result.targets) == 4
    # sme_aware's window totals restart at the window's start: never negative.
    sme = s[(s["experiment"] == "sme_aware") & s["statistic"].str.contains("per firm")]
    assert set(sme["arm"]) == {"vs static", "vs behaviour_rules"}
    assert (sme[["treated", "control"]].to_numpy() >= 0).all()
    report = write_replication_report(result, tmp_path)
    assert (tmp_path / "summary.parquet").is_file() and (tmp_path / "per_seed.csv").is_file()
    assert "Δdebt/Δlimit" in report.read_text()
    assert "Virtual experiments" in replication_section(result)


def test_cli_refuses_bad_options_before_running(capsys):
    assert replicate_main(["--months", "5"]) == 2
    assert "--months" in capsys.readouterr().err
    assert replicate_main(["--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert replicate_main(["--experiments", "increase,nope"]) == 2
    assert "--experiments" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "seed=3",
            "error: --override seed=3: seed is set by replicate, not overridden: use --seeds "
            "and --first-seed",
        ),
        ("+n_months=5", "error: --override +n_months=5: n_months is set by replicate, not "),
        ("population.n_borrowers=10", "not overridden: use --n-borrowers"),
        ("population=uci_2005", "set population: in the replication config (--config)"),
        ("policy=pd_threshold", "replicate runs static and each arm's policy itself"),
        # Other mistakes read as `python -m experiments.run nosuch=1` says them.
        (
            "nosuch=1",
            "error: --override / run config: invalid config: nosuch does not exist; the keys at "
            "the top level are: seed, n_months, burn_in_months, population, platform, ",
        ),
        (
            "population.n_borrower=4",
            "error: --override / run config: invalid config: population.n_borrower does not "
            "exist; did you mean population.n_borrowers?",
        ),
    ],
)
def test_cli_refuses_overrides_it_would_ignore_or_not_understand(
    capsys, tmp_path, override, message
):
    out = tmp_path / "out"
    assert replicate_main(["--override", override, "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("error: ")
    assert captured.out == "" and not out.exists()


def _increase_summary(overall, near, strong, weak) -> pd.DataFrame:
    """The four Δdebt/Δlimit rows the targets read: +20 % arm, within design, 12 months."""
    rows = [("all", "all", overall), ("utilisation", ">= 90%", near),
            ("pd_quantile", "Q1", strong), ("pd_quantile", "Q5", weak)]  # fmt: skip
    common = dict(experiment="increase", arm="+20%", design="within", horizon=12,
                  statistic="Δdebt/Δlimit platform")  # fmt: skip
    return pd.DataFrame(
        [
            {
                **common,
                "group_kind": kind,
                "group": group,
                "effect": e,
                "low": e - 0.05,
                "high": e + 0.05,
            }  # fmt: skip
            for kind, group, e in rows
        ]
    )


@pytest.mark.parametrize(
    ("strong", "weak", "met", "shown"),
    [
        (0.04, 0.20, True, "5.00 x (weakest 0.200 [0.150, 0.250], strongest 0.040"),
        (0.10, 0.20, False, "2.00 x"),
        # strongest <= 0: no ratio; met by a positive weakest (0.2 >= 3 x -0.01) ...
        (-0.01, 0.20, True, "weakest 0.200 [0.150, 0.250], strongest -0.010 [-0.060, 0.040]"),
        # ... not by a weakest that does not respond either
        (-0.01, -0.02, False, "no ratio (strongest <= 0)"),
        (0.0, 0.0, False, "no ratio (strongest <= 0)"),
    ],
)
def test_pd_gradient_target_shows_both_values_when_the_strongest_is_not_positive(
    strong, weak, met, shown
):
    cfg = replication_config_from_dict({})
    targets = check_targets(_increase_summary(0.12, 0.3, strong, weak), cfg)
    row = targets[targets["target"].str.startswith("weakest PD quantile")].iloc[0]
    assert row["target"] == "weakest PD quantile > 0 and >= 3 x strongest"
    assert bool(row["met"]) is met
    assert shown in row["model"] and "inf" not in row["model"]
    assert np.isfinite(row["value"]) == (strong > 0)
    assert (targets["arm"] == "increase +20%, 12 months").all()


def test_replicate_help_lists_every_experiment():
    from experiments.replicate import _parser
    from sim.empirical.replication import EXPERIMENTS

    text = " ".join(_parser().format_help().split())
    assert f"comma-separated: {', '.join(EXPERIMENTS)}, or all" in text
    assert "sme_aware" in EXPERIMENTS
