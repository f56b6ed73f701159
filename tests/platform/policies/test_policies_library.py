"""Tests of the limit-policy library: every registered policy, its YAML, and hand cases.

Hand cases use a default borrower on whom no rule of any policy fires (limit 10,000 CNY,
balance 3,000, pd_12m 0.05, current, 24 months on book, 36 months of history, one draw,
no early repayment, 3 on-time months, spending diversity 0.6, no firm); each case then
changes only what it needs, so every expected limit can be worked out by hand.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from sim.platform.policies import (
    RAISE_REASONS,
    LimitDecision,
    PortfolioView,
    ReasonCode,
    build_config,
    build_policy,
    policy_class,
    policy_names,
)
from sim.platform.policies.equivalence import equivalent_config
from sim.platform.policies.exposure_cap import exposure_by_line
from sim.platform.policies.parametric import DISABLED

CONF = Path(__file__).resolve().parents[3] / "conf" / "policy"

# --------------------------------------------------------------------------- helpers

#: dtype of every per-borrower array of the view (as documented on PortfolioView).
DTYPES: dict[str, Any] = {
    "limit_cny": np.float64,
    "initial_limit_cny": np.float64,
    "balance_cny": np.float64,
    "utilisation": np.float64,
    "pd_12m": np.float64,
    "dpd": np.int16,
    "is_open": np.bool_,
    "mob": np.int16,
    "history_months": np.int16,
    "draws_3m": np.int16,
    "early_repayments_3m": np.int16,
    "on_time_months": np.int16,
    "months_since_draw": np.int16,
    "spending_diversity": np.float64,
    "high_risk_flag": np.bool_,
    "lenders_count": np.int16,
    "debt_service_ratio": np.float64,
    "income_cny": np.float64,
    "owns_firm": np.bool_,
    "firm_cash_buffer_days": np.float64,
    "firm_peak_ahead": np.bool_,
    "savvy": np.bool_,
    "firm_uses_personal_credit": np.bool_,
}

#: The quiet borrower: no rule of any built-in policy fires on it.
DEFAULTS: dict[str, Any] = {
    "limit_cny": 10_000.0,
    "balance_cny": 3_000.0,
    "pd_12m": 0.05,
    "dpd": 0,
    "is_open": True,
    "mob": 24,
    "history_months": 36,
    "draws_3m": 1,
    "early_repayments_3m": 0,
    "on_time_months": 3,
    "months_since_draw": 1,
    "spending_diversity": 0.6,
    "high_risk_flag": False,
    "lenders_count": 1,
    "debt_service_ratio": 0.1,
    "income_cny": 8_000.0,
    "owns_firm": False,
    "firm_cash_buffer_days": np.nan,
    "firm_peak_ahead": False,
    "savvy": False,
    "firm_uses_personal_credit": True,
}


def make_view(
    n: int = 1,
    *,
    step: int = 0,
    calendar_month: int = 1,
    macro_regime: str = "baseline",
    **overrides: Any,
) -> PortfolioView:
    """A view of ``n`` borrowers: scalars broadcast, arrays taken as given.

    ``initial_limit_cny`` defaults to ``limit_cny`` and ``utilisation`` to
    ``balance / limit`` (0 where the limit is 0).
    """
    unknown = set(overrides) - set(DTYPES)
    if unknown:
        raise TypeError(f"unknown view field(s) {sorted(unknown)}")

    def arr(name: str, value: Any) -> np.ndarray:
        out = np.broadcast_to(np.asarray(value, dtype=DTYPES[name]), (n,)).copy()
        return out

    values = {name: arr(name, overrides.get(name, DEFAULTS.get(name))) for name in DEFAULTS}
    limit = values["limit_cny"]
    values["initial_limit_cny"] = arr(
        "initial_limit_cny", overrides.get("initial_limit_cny", limit)
    )
    safe = np.where(limit > 0, limit, 1.0)
    default_util = np.where(limit > 0, values["balance_cny"] / safe, 0.0)
    values["utilisation"] = arr("utilisation", overrides.get("utilisation", default_util))
    return PortfolioView(
        step=step, calendar_month=calendar_month, macro_regime=macro_regime, **values
    )


def next_month(view: PortfolioView, decision: LimitDecision, **changes: Any) -> PortfolioView:
    """The next month's view: the decided limits applied, other fields as given."""
    limit = decision.new_limit_cny
    balance = np.asarray(changes.pop("balance_cny", view.balance_cny), dtype=np.float64)
    safe = np.where(limit > 0, limit, 1.0)
    util = np.where(limit > 0, balance / safe, 0.0)
    fields = {
        "step": view.step + 1,
        "calendar_month": view.calendar_month % 12 + 1,
        "limit_cny": limit,
        "balance_cny": balance,
        "utilisation": util,
    }
    for name, value in changes.items():
        fields[name] = (
            np.broadcast_to(np.asarray(value, dtype=DTYPES[name]), (view.n_borrowers,)).copy()
            if name in DTYPES
            else value
        )
    return dataclasses.replace(view, **fields)


def random_view(
    rng: np.random.Generator,
    n: int = 400,
    *,
    limit_cny: np.ndarray | None = None,
    is_open: np.ndarray | None = None,
    high_risk: bool = True,
    firms: bool = True,
    **kwargs: Any,
) -> PortfolioView:
    """A random, internally consistent view (closed lines have limit 0)."""
    if is_open is None:
        is_open = rng.random(n) < 0.95
    if limit_cny is None:
        limit_cny = np.round(rng.uniform(1_000.0, 50_000.0, n), 2)
    limit_cny = np.where(is_open, limit_cny, 0.0)
    drawn = np.where(rng.random(n) < 0.2, 0.0, rng.beta(1.2, 1.5, n))
    balance = np.round(np.where(is_open, limit_cny * drawn, rng.uniform(100, 5_000, n)), 2)
    owns = (rng.random(n) < 0.3) if firms else np.zeros(n, dtype=bool)
    return make_view(
        n,
        limit_cny=limit_cny,
        initial_limit_cny=np.round(
            np.where(is_open, limit_cny, 5_000.0) * rng.uniform(0.8, 1.2, n), 2
        ),
        balance_cny=balance,
        pd_12m=rng.beta(1.0, 25.0, n),
        dpd=np.where(is_open, rng.choice([0, 0, 0, 0, 0, 30, 60], n), 90),
        is_open=is_open,
        mob=rng.integers(0, 60, n),
        history_months=rng.integers(0, 120, n),
        draws_3m=rng.integers(0, 10, n),
        early_repayments_3m=rng.integers(0, 4, n),
        on_time_months=rng.integers(0, 24, n),
        months_since_draw=rng.integers(0, 30, n),
        spending_diversity=rng.random(n),
        high_risk_flag=(rng.random(n) < 0.05) if high_risk else False,
        lenders_count=rng.integers(1, 5, n),
        debt_service_ratio=rng.uniform(0.0, 0.6, n),
        income_cny=rng.uniform(2_000.0, 30_000.0, n),
        owns_firm=owns,
        firm_cash_buffer_days=np.where(owns, rng.uniform(0.0, 60.0, n), np.nan),
        firm_peak_ahead=owns & (rng.random(n) < 0.5),
        savvy=rng.random(n) < 0.2,
        **kwargs,
    )


def load_yaml(name: str) -> dict[str, Any]:
    """``conf/policy/<name>.yaml`` as a dict, without Hydra's ``defaults`` list."""
    raw = yaml.safe_load((CONF / f"{name}.yaml").read_text(encoding="utf-8"))
    raw.pop("defaults", None)
    return raw


def from_yaml(name: str, n: int, **overrides: Any):
    policy = build_policy(load_yaml(name) | overrides)
    policy.reset(n)
    return policy


def build(n: int, **config: Any):
    policy = build_policy(config)
    policy.reset(n)
    return policy


def decide(policy, view: PortfolioView, seed: int = 0) -> LimitDecision:
    return policy.review(view, np.random.default_rng(seed))


def run_months(policy, views: list[PortfolioView], seed: int = 0) -> list[LimitDecision]:
    """Review each month, carrying the decided limits into the next month's view."""
    rng = np.random.default_rng(seed)
    out: list[LimitDecision] = []
    for view in views:
        if out:
            view = dataclasses.replace(view, limit_cny=out[-1].new_limit_cny)
        out.append(policy.review(view, rng))
    return out


def random_months(seed: int, n: int, months: int, **kwargs: Any) -> list[PortfolioView]:
    rng = np.random.default_rng(seed)
    first = random_view(rng, n, **kwargs)
    views = [first]
    for _ in range(months - 1):
        views.append(
            random_view(rng, n, limit_cny=first.limit_cny, is_open=first.is_open, **kwargs)
        )
    return views


def assert_same(a: LimitDecision, b: LimitDecision) -> None:
    np.testing.assert_array_equal(a.new_limit_cny, b.new_limit_cny)
    np.testing.assert_array_equal(a.reason, b.reason)


# ------------------------------------------- every registered policy, from its YAML

#: Reasons that may label a change in either direction.
TWO_WAY = {ReasonCode.COUNTER_CYCLICAL}
REGIMES = ["baseline", "downturn", "boom", "recovery", "baseline", "downturn"]


def check_contract(policy, n: int, seed: int) -> int:
    """Review six months of random views; check the decision contract; count changes."""
    rng = np.random.default_rng(seed)
    view = random_view(rng, n)
    total_changes = 0
    for month, regime in enumerate(REGIMES):
        view = dataclasses.replace(view, step=month, macro_regime=regime)
        before = {
            f.name: np.copy(getattr(view, f.name))
            for f in dataclasses.fields(view)
            if isinstance(getattr(view, f.name), np.ndarray)
        }
        decision = policy.review(view, rng)

        new, reason, limit = decision.new_limit_cny, decision.reason, view.limit_cny
        assert new.shape == (n,) and new.dtype == np.float64
        assert reason.shape == (n,) and reason.dtype == np.int8
        changed = new != limit
        np.testing.assert_array_equal(reason != 0, changed)
        assert np.all(new >= 0.0)
        assert not np.any(np.signbit(new)), "negative zero limit"
        assert np.all(new[~view.is_open] == 0.0)
        assert np.all(np.isin(reason, [int(r) for r in ReasonCode]))
        # Raise reasons label raises, every other reason (but the two-way ones) a cut.
        raise_rows = np.isin(reason, [int(r) for r in RAISE_REASONS])
        two_way = np.isin(reason, [int(r) for r in TWO_WAY])
        assert np.all(new[raise_rows] > limit[raise_rows])
        cut_rows = changed & ~raise_rows & ~two_way
        assert np.all(new[cut_rows] < limit[cut_rows])
        counts = np.bincount(reason[changed], minlength=len(ReasonCode))
        assert counts[0] == 0 and counts.sum() == changed.sum()
        total_changes += int(changed.sum())
        # The read-only view is untouched.
        for field, value in before.items():
            np.testing.assert_array_equal(getattr(view, field), value, err_msg=field)
            assert not getattr(view, field).flags.writeable
        # Next month: new behaviour, decided limits, lines stay closed.
        view = random_view(rng, n, limit_cny=new, is_open=view.is_open)
    return total_changes


@pytest.mark.parametrize("name", policy_names())
def test_policy_from_yaml_keeps_the_decision_contract(name: str) -> None:
    n = 500
    total_changes = check_contract(from_yaml(name, n), n, seed=7)
    if name != "static":
        assert total_changes > 0, f"{name} never changed a limit in {len(REGIMES)} months"


#: Non-default settings that switch on the code paths the YAML defaults leave off.
ALL_ON = {
    "pd_cut_above": 0.1,
    "pd_raise_below": 0.02,
    "inactive_months": 12.0,
    "cli_min_utilisation": 0.8,
    "exposure_budget_share": 0.95,
}


@pytest.mark.parametrize(
    "config",
    [
        {"name": "parametric", **ALL_ON},
        {"name": "exposure_cap", "budget_metric": "el", "budget_share": 0.8},
        {"name": "counter_cyclical", "downturn_raise_fraction": 0.1},
        {"name": "sme_aware", "base": {"early_repayment_cut": 0.3}, "min_limit_cny": 500.0},
        {
            "name": "champion_challenger",
            "champion": {"name": "exposure_cap", "budget_share": 0.9},
            "challenger": {"name": "parametric", **ALL_ON},
            "challenger_share": 0.5,
        },
    ],
    ids=lambda c: c["name"],
)
def test_non_default_configs_keep_the_decision_contract(config: dict[str, Any]) -> None:
    n = 500
    policy = build(n, **config)
    assert check_contract(policy, n, seed=8) > 0


@pytest.mark.parametrize("name", policy_names())
def test_yaml_lists_every_config_field_at_its_default(name: str) -> None:
    raw = load_yaml(name)
    config_class = policy_class(name).config_class
    defaults = dataclasses.asdict(config_class())
    assert raw["name"] == name
    assert set(raw) == set(defaults), "YAML keys differ from the config dataclass fields"
    for key, value in defaults.items():
        assert raw[key] == value, f"{name}.yaml: {key} = {raw[key]!r}, default {value!r}"


@pytest.mark.parametrize("name", policy_names())
def test_yaml_merges_into_the_structured_schema(name: str) -> None:
    # What Hydra does with the schema stored by sim.config.register_configs.
    schema = OmegaConf.structured(policy_class(name).config_class)
    merged = OmegaConf.merge(schema, OmegaConf.create(load_yaml(name)))
    policy = build_policy(merged)  # a DictConfig is accepted
    assert policy.name == name


def test_every_yaml_names_a_registered_policy() -> None:
    names = set(policy_names())
    for path in sorted(CONF.glob("*.yaml")):
        assert load_yaml(path.stem)["name"] in names, path.name


def test_quiet_borrower_is_left_alone_by_every_policy() -> None:
    for name in policy_names():
        if name in ("exposure_cap", "champion_challenger"):
            continue  # portfolio/arm level; covered below
        decision = decide(from_yaml(name, 3), make_view(3))
        np.testing.assert_array_equal(decision.new_limit_cny, 10_000.0, err_msg=name)


# -------------------------------------------------------------------- pd_threshold


def test_pd_threshold_with_thresholds_at_the_bounds_changes_nobody() -> None:
    views = random_months(3, 300, 4)
    policy = build(300, name="pd_threshold", cut_above_pd=1.0, raise_below_pd=0.0)
    for view, decision in zip(views, run_months(policy, views), strict=True):
        np.testing.assert_array_equal(decision.new_limit_cny, view.limit_cny)
        assert not decision.reason.any()


def test_pd_threshold_hand_case_raise_none_cut() -> None:
    # Defaults: cut above 0.10 by 20 %, raise below 0.02 by 10 % after 6 on-time months.
    policy = from_yaml("pd_threshold", 5)
    view = make_view(
        5,
        pd_12m=[0.01, 0.05, 0.20, 0.01, 0.20],
        on_time_months=[6, 6, 6, 5, 6],
        balance_cny=[3_000.0, 3_000.0, 3_000.0, 3_000.0, 9_000.5],
    )
    d = decide(policy, view)
    # 10,000 x 1.1; unchanged; 10,000 x 0.8; too few on-time months; the cut stops at the
    # drawn balance (a cut never puts an account over its limit).
    np.testing.assert_array_equal(d.new_limit_cny, [11_000.0, 10_000.0, 8_000.0, 10_000.0, 9_000.5])
    np.testing.assert_array_equal(
        d.reason,
        [
            ReasonCode.PD_BELOW_THRESHOLD,
            0,
            ReasonCode.PD_ABOVE_THRESHOLD,
            0,
            ReasonCode.PD_ABOVE_THRESHOLD,
        ],
    )


def test_pd_threshold_cooldowns() -> None:
    policy = build(2, name="pd_threshold")  # raise cooldown 6, cut cooldown 3
    view = make_view(2, pd_12m=[0.01, 0.20], on_time_months=6)
    limits = []
    for _ in range(8):
        d = decide(policy, view)
        limits.append(d.new_limit_cny.tolist())
        view = next_month(view, d)
    # Cooldowns count the full months in between (as behaviour_rules' clocks do): raised
    # in months 0 and 7 (6 months between), cut in months 0 and 4 (3 months between).
    assert [row[0] for row in limits] == [11_000.0] * 7 + [12_100.0]
    assert [row[1] for row in limits] == [8_000.0] * 4 + [6_400.0] * 4


def test_pd_threshold_does_not_raise_a_delinquent_line() -> None:
    d = decide(from_yaml("pd_threshold", 1), make_view(pd_12m=0.01, on_time_months=6, dpd=30))
    assert d.new_limit_cny[0] == 10_000.0 and d.reason[0] == 0


# -------------------------------------------------------------------- exposure_cap

#: Four open lines of 10,000 and one closed line. EAD = balance + 0.2 x undrawn:
#: 2,000 + 2,000 + (2,000 + 0.2 x 8,000 = 3,600) + 2,000 = 9,600 CNY.
CAP_VIEW = dict(
    limit_cny=[10_000.0, 10_000.0, 10_000.0, 10_000.0, 0.0],
    balance_cny=[0.0, 0.0, 2_000.0, 0.0, 500.0],
    pd_12m=[0.30, 0.20, 0.10, 0.05, 0.90],
    is_open=[True, True, True, True, False],
    dpd=[0, 0, 0, 0, 90],
)


def test_exposure_cap_budget_above_the_total_changes_nothing() -> None:
    view = make_view(5, **CAP_VIEW)
    for config in ({"budget_share": 1.5}, {"budget_cny": 9_600.0}, {"budget_share": 1.0}):
        d = decide(build(5, name="exposure_cap", **config), view)
        np.testing.assert_array_equal(d.new_limit_cny, view.limit_cny)
        assert not d.reason.any()


def test_exposure_cap_half_budget_cuts_highest_pd_first() -> None:
    # Budget 4,800 = half of 9,600; excess 4,800. Line by line (highest PD first), a CNY
    # of undrawn limit cut removes 0.2 CNY of EAD: line 0 (PD 0.30) can give 2,000,
    # line 1 (0.20) 2,000, line 2 (0.10) 1,600 (down to its 2,000 balance) of which only
    # 800 are needed: its limit falls by 4,000 to 6,000. Line 3 (0.05) is untouched.
    policy = build(5, name="exposure_cap", budget_share=0.5, max_cut_fraction=1.0)
    view = make_view(5, **CAP_VIEW)
    d = decide(policy, view)
    assert policy.budget == pytest.approx(4_800.0)
    np.testing.assert_array_equal(d.new_limit_cny, [0.0, 0.0, 6_000.0, 10_000.0, 0.0])
    cap = ReasonCode.PORTFOLIO_EXPOSURE_CAP
    np.testing.assert_array_equal(d.reason, [cap, cap, cap, 0, 0])
    after = exposure_by_line(d.new_limit_cny, view.balance_cny, view.pd_12m, view.is_open).sum()
    assert after == pytest.approx(4_800.0) and after <= 4_800.0 + 1e-9
    # The budget is remembered: next month, at the budget, nothing more is cut...
    view = next_month(view, d)
    d = decide(policy, view)
    assert not d.reason.any()
    # ...until a drawn balance grows: line 2 draws 1,000 more, EAD +1,000 x 0.8 = 800 over
    # budget. Line 2 can give only 600 (its limit down to its 3,000 balance), so line 3
    # (PD 0.05) gives the last 200: 1,000 of limit.
    view = next_month(view, d, balance_cny=[0.0, 0.0, 3_000.0, 0.0, 500.0])
    d = decide(policy, view)
    np.testing.assert_array_equal(d.new_limit_cny, [0.0, 0.0, 3_000.0, 9_000.0, 0.0])
    np.testing.assert_array_equal(d.reason, [0, 0, cap, cap, 0])
    after = exposure_by_line(d.new_limit_cny, view.balance_cny, view.pd_12m, view.is_open).sum()
    assert after <= 4_800.0 + 1e-9


def test_exposure_cap_respects_max_cut_fraction_and_tie_order() -> None:
    # Equal PDs: the larger undrawn line is cut first. Max cut 50 %: line 1 (undrawn
    # 9,000) can lose 5,000 of limit (1,000 EAD), line 0 (undrawn 5,000) 5,000 (1,000).
    view = make_view(
        3, limit_cny=10_000.0, balance_cny=[5_000.0, 1_000.0, 0.0], pd_12m=[0.2, 0.2, 0.01]
    )
    total = exposure_by_line(view.limit_cny, view.balance_cny, view.pd_12m, view.is_open).sum()
    assert total == pytest.approx(5_000 + 1_000 + 1_000 + 1_800 + 2_000)
    d = decide(build(3, name="exposure_cap", budget_cny=total - 1_500.0), view)
    # 1,000 from line 1 (fully), 500 from line 0 (2,500 of limit), none from line 2.
    np.testing.assert_array_equal(d.new_limit_cny, [7_500.0, 5_000.0, 10_000.0])


def test_exposure_cap_never_cuts_a_lower_pd_line_while_a_riskier_one_has_room() -> None:
    rng = np.random.default_rng(11)
    n = 300
    view = random_view(rng, n)
    for metric in ("ead", "el"):
        policy = build(n, name="exposure_cap", budget_share=0.9, budget_metric=metric)
        d = decide(policy, view)
        new, limit = d.new_limit_cny, view.limit_cny
        floor = np.maximum(np.ceil(view.balance_cny * 100) / 100, np.ceil(limit * 50) / 100)
        cut = new < limit
        room_left = view.is_open & (new > floor + 0.005) & (limit > floor + 0.005)
        assert cut.any()
        for i in np.flatnonzero(room_left):
            others = cut.copy()
            others[i] = False
            assert not np.any(view.pd_12m[others] < view.pd_12m[i]), (metric, i)
        after = exposure_by_line(
            new, view.balance_cny, view.pd_12m, view.is_open, metric=metric
        ).sum()
        assert after <= policy.budget * (1 + 1e-12)


# ----------------------------------------------------------------- utilisation_cli


def test_utilisation_cli_hand_case_both_directions() -> None:
    # Defaults: +20 % for pd < 0.03, utilisation >= 0.8, mob >= 6, current; -50 % for a
    # zero balance and 12+ months without a draw.
    policy = from_yaml("utilisation_cli", 7)
    view = make_view(
        7,
        pd_12m=[0.01, 0.05, 0.01, 0.01, 0.01, 0.01, 0.01],
        balance_cny=[8_500.0, 8_500.0, 8_500.0, 8_500.0, 0.0, 0.0, 100.0],
        mob=[12, 12, 3, 12, 12, 12, 12],
        dpd=[0, 0, 0, 30, 0, 0, 0],
        months_since_draw=[0, 0, 0, 0, 12, 11, 12],
    )
    d = decide(policy, view)
    up, down = ReasonCode.HIGH_UTILISATION_INCREASE, ReasonCode.INACTIVE_LINE_DECREASE
    np.testing.assert_array_equal(
        d.new_limit_cny, [12_000.0, 10_000.0, 10_000.0, 10_000.0, 5_000.0, 10_000.0, 10_000.0]
    )
    np.testing.assert_array_equal(d.reason, [up, 0, 0, 0, down, 0, 0])
    # Next month both rules are cooling down even though they still qualify.
    view = next_month(
        view,
        d,
        balance_cny=[11_000.0, 8_500.0, 8_500.0, 8_500.0, 0.0, 0.0, 100.0],
        months_since_draw=[0, 0, 0, 0, 13, 12, 13],
    )
    d = decide(policy, view)
    np.testing.assert_array_equal(d.reason, [0, 0, 0, 0, 0, down, 0])
    assert d.new_limit_cny[5] == 5_000.0


# ---------------------------------------------------------------- counter_cyclical

EARLY_REPAYER = dict(pd_12m=0.01, early_repayments_3m=2)


def test_counter_cyclical_holds_a_clean_early_repayer_in_a_downturn() -> None:
    view = make_view(macro_regime="downturn", **EARLY_REPAYER)
    rules = decide(from_yaml("behaviour_rules", 1), view)
    assert rules.new_limit_cny[0] == 8_000.0 and rules.reason[0] == ReasonCode.EARLY_REPAYMENT
    cc = from_yaml("counter_cyclical", 1)
    held = decide(cc, view)
    assert held.new_limit_cny[0] == 10_000.0 and held.reason[0] == 0
    # The held cut did not start a cut cooldown: in a baseline month it applies at once.
    d = decide(cc, next_month(view, held, macro_regime="baseline"))
    assert d.new_limit_cny[0] == 8_000.0 and d.reason[0] == ReasonCode.EARLY_REPAYMENT


def test_counter_cyclical_downturn_still_cuts_delinquency_and_can_raise() -> None:
    view = make_view(2, macro_regime="downturn", pd_12m=0.01, dpd=[30, 0], early_repayments_3m=2)
    d = decide(build(2, name="counter_cyclical", downturn_raise_fraction=0.1), view)
    np.testing.assert_array_equal(d.new_limit_cny, [5_000.0, 11_000.0])
    np.testing.assert_array_equal(d.reason, [ReasonCode.DELINQUENCY, ReasonCode.COUNTER_CYCLICAL])


def test_counter_cyclical_tightens_undrawn_limits_in_a_boom() -> None:
    # 10 % of the undrawn 7,000 goes: 9,300. A delinquent line keeps its delinquency cut;
    # a fully drawn line has nothing undrawn to cut.
    view = make_view(
        3, macro_regime="boom", dpd=[0, 30, 0], balance_cny=[3_000.0, 3_000.0, 10_000.0]
    )
    d = decide(from_yaml("counter_cyclical", 3), view)
    np.testing.assert_array_equal(d.new_limit_cny, [9_300.0, 5_000.0, 10_000.0])
    np.testing.assert_array_equal(
        d.reason, [ReasonCode.COUNTER_CYCLICAL, ReasonCode.DELINQUENCY, 0]
    )


def test_counter_cyclical_equals_behaviour_rules_outside_downturn_and_boom() -> None:
    views = [
        dataclasses.replace(v, macro_regime=r)
        for v, r in zip(
            random_months(5, 300, 4), ["baseline", "recovery", "baseline", "recovery"], strict=True
        )
    ]
    for a, b in zip(
        run_months(from_yaml("counter_cyclical", 300), views),
        run_months(from_yaml("behaviour_rules", 300), views),
        strict=True,
    ):
        assert_same(a, b)


# ----------------------------------------------------------------------- sme_aware

#: A quiet sole trader (no behaviour rule fires): limit 10,000, balance 3,000, income
#: 8,000 (tranche cap 6 x 8,000 = 48,000), PD 2 % (under the 3 % screen), a peak ahead.
QUIET_SOLE_TRADER = dict(
    owns_firm=True, firm_peak_ahead=True, firm_cash_buffer_days=20.0, pd_12m=0.02
)
#: The same owner as an early repayer: behaviour_rules would cut 20 %.
SOLE_TRADER = QUIET_SOLE_TRADER | dict(early_repayments_3m=2)


def owner_view(n: int = 1, need: Any = 8_000.0, earmarked: Any = 0.0, **fields: Any):
    """A sole trader's view with a forecast gap (``firm_peak_need_cny``) and earmarks."""
    view = make_view(n, **(QUIET_SOLE_TRADER | fields))
    return dataclasses.replace(
        view,
        firm_peak_need_cny=np.broadcast_to(np.asarray(need, dtype=np.float64), (n,)).copy(),
        earmarked_cny=np.broadcast_to(np.asarray(earmarked, dtype=np.float64), (n,)).copy(),
    )


def test_sme_aware_opens_an_earmarked_tranche_sized_to_the_forecast_gap() -> None:
    # Forecast gaps 8,000, 0 and 60,000: tranches 8,000, none (no gap forecast) and the
    # cap 48,000; each is added to the limit and earmarked for the firm.
    d = decide(from_yaml("sme_aware", 3), owner_view(3, need=[8_000.0, 0.0, 60_000.0]))
    np.testing.assert_array_equal(d.new_limit_cny, [18_000.0, 10_000.0, 58_000.0])
    np.testing.assert_array_equal(d.earmarked_cny, [8_000.0, 0.0, 48_000.0])
    np.testing.assert_array_equal(
        d.reason, [ReasonCode.PEAK_SEASON_SUPPORT, 0, ReasonCode.PEAK_SEASON_SUPPORT]
    )


def test_sme_aware_tranche_is_restored_after_the_peak_and_never_compounds() -> None:
    # Month 1 (flagged): 10,000 + 8,000 tranche. Month 2 (flagged): the firm drew the
    # 8,000 for its stock (balance 11,000, nothing left earmarked): held. Month 3, the
    # peak (no longer flagged): the tranche lapses; 1,000 of it is still owed above the
    # 10,000 general line, so the limit goes to 11,000. Month 4: repaid to 9,500, back to
    # 10,000. Month 6, the next season: 10,000 + 8,000 again, not 19,000 + 8,000.
    policy = from_yaml("sme_aware", 1)
    steps = [  # (flagged, balance, earmarked) seen at each review
        (True, 3_000.0, 0.0),
        (True, 11_000.0, 0.0),
        (False, 11_000.0, 0.0),
        (False, 9_500.0, 0.0),
        (False, 9_500.0, 0.0),
        (True, 3_000.0, 0.0),
    ]
    limits, reasons, earmarks = [], [], []
    limit = 10_000.0
    for flagged, balance, earmarked in steps:
        view = owner_view(
            limit_cny=limit, balance_cny=balance, earmarked=earmarked, firm_peak_ahead=flagged
        )
        d = decide(policy, view)
        limit = float(d.new_limit_cny[0])
        limits.append(limit)
        reasons.append(int(d.reason[0]))
        earmarks.append(float(d.earmarked_cny[0]))
    assert limits == [18_000.0, 18_000.0, 11_000.0, 10_000.0, 10_000.0, 18_000.0]
    assert earmarks == [8_000.0, 0.0, 0.0, 0.0, 0.0, 8_000.0]
    assert reasons == [
        ReasonCode.PEAK_SEASON_SUPPORT,
        0,
        ReasonCode.PEAK_SUPPORT_ENDED,
        ReasonCode.PEAK_SUPPORT_ENDED,
        0,
        ReasonCode.PEAK_SEASON_SUPPORT,
    ]


def test_sme_aware_holds_the_general_line_while_the_tranche_lives() -> None:
    # protect 2 months. An early repayer (behaviour_rules: -20 %): the general line is
    # held at 10,000 under the 5,000 tranche for two months; in the third the tranche
    # lapses (nothing of it owed) and the behaviour rules' cut applies: 8,000.
    policy = from_yaml("sme_aware", 1, protect_months=2)
    view = owner_view(need=5_000.0, early_repayments_3m=2)
    assert decide(from_yaml("behaviour_rules", 1), view).new_limit_cny[0] == 8_000.0
    d = decide(policy, view)
    assert d.new_limit_cny[0] == 15_000.0 and d.reason[0] == ReasonCode.PEAK_SEASON_SUPPORT
    d = decide(policy, next_month(view, d))
    assert d.new_limit_cny[0] == 15_000.0 and d.reason[0] == 0
    d = decide(policy, next_month(view, d))
    assert d.new_limit_cny[0] == 8_000.0 and d.reason[0] == ReasonCode.EARLY_REPAYMENT
    assert d.earmarked_cny[0] == 0.0


@pytest.mark.parametrize(
    "change",
    [
        {"pd_12m": 0.03},  # the screen: strictly below max_pd = 0.03
        {"pd_12m": 0.08},
        {"dpd": 30},
        {"firm_peak_ahead": False},
        {"owns_firm": False},
        {"firm_cash_buffer_days": np.nan},
    ],
)
def test_sme_aware_screen_excludes(change: dict[str, Any]) -> None:
    d = decide(from_yaml("sme_aware", 1), owner_view(**change))
    assert d.new_limit_cny[0] <= 10_000.0 and d.earmarked_cny[0] == 0.0
    assert d.reason[0] != ReasonCode.PEAK_SEASON_SUPPORT


def test_sme_aware_screen_lets_in_an_owner_just_under_the_pd_cut() -> None:
    d = decide(from_yaml("sme_aware", 1), owner_view(pd_12m=0.0299))
    assert d.new_limit_cny[0] == 18_000.0 and d.earmarked_cny[0] == 8_000.0


def test_sme_aware_screen_excludes_a_firm_younger_than_a_year() -> None:
    view = owner_view(2)
    view = dataclasses.replace(view, firm_age_months=np.array([11, 12], dtype=np.int32))
    d = decide(from_yaml("sme_aware", 2), view)
    np.testing.assert_array_equal(d.new_limit_cny, [10_000.0, 18_000.0])
    np.testing.assert_array_equal(d.earmarked_cny, [0.0, 8_000.0])


def test_sme_aware_offers_owners_who_do_not_use_the_line_for_the_business() -> None:
    view = owner_view(firm_uses_personal_credit=False)
    d = decide(from_yaml("sme_aware", 1), view)
    assert d.new_limit_cny[0] == 18_000.0 and d.earmarked_cny[0] == 8_000.0
    d = decide(from_yaml("sme_aware", 1, offer_non_users=False), view)
    assert d.new_limit_cny[0] == 10_000.0 and d.earmarked_cny[0] == 0.0


def test_sme_aware_without_earmark_is_a_plain_raise() -> None:
    d = decide(from_yaml("sme_aware", 1, earmark=False), owner_view())
    assert d.new_limit_cny[0] == 18_000.0 and d.earmarked_cny[0] == 0.0


def test_sme_aware_equals_behaviour_rules_without_firm_owners() -> None:
    views = random_months(9, 400, 5, firms=False)
    for a, b in zip(
        run_months(from_yaml("sme_aware", 400), views),
        run_months(from_yaml("behaviour_rules", 400), views),
        strict=True,
    ):
        assert_same(a, b)


# ---------------------------------------------------------------------- parametric


def test_parametric_all_disabled_equals_static() -> None:
    views = random_months(13, 400, 4)
    static = from_yaml("static", 400)
    parametric = build(400, name="parametric", **DISABLED)
    assert equivalent_config(build_config({"name": "static"})) == parametric.config
    for a, b in zip(run_months(parametric, views), run_months(static, views), strict=True):
        assert_same(a, b)


def test_parametric_pd_settings_reproduce_pd_threshold() -> None:
    views = random_months(17, 400, 8)
    pd_config = build_config({"name": "pd_threshold", "cut_above_pd": 0.08, "raise_below_pd": 0.03})
    pd_policy = build_policy(pd_config)
    pd_policy.reset(400)
    parametric = build_policy(equivalent_config(pd_config))
    parametric.reset(400)
    decisions = run_months(parametric, views)
    assert any(d.reason.any() for d in decisions)
    for a, b in zip(decisions, run_months(pd_policy, views), strict=True):
        assert_same(a, b)


def test_parametric_defaults_reproduce_behaviour_rules_without_high_risk_flags() -> None:
    views = random_months(19, 400, 8, high_risk=False)
    assert equivalent_config(build_config({"name": "behaviour_rules"})) == build_config(
        {"name": "parametric"}
    )
    for a, b in zip(
        run_months(from_yaml("parametric", 400), views),
        run_months(from_yaml("behaviour_rules", 400), views),
        strict=True,
    ):
        assert_same(a, b)


def test_parametric_budget_reproduces_exposure_cap() -> None:
    views = random_months(23, 300, 3)
    parametric = build(300, name="parametric", **(DISABLED | {"exposure_budget_share": 0.9}))
    cap = build(300, name="exposure_cap", budget_share=0.9)
    for a, b in zip(run_months(parametric, views), run_months(cap, views), strict=True):
        assert_same(a, b)


# ------------------------------------------------------------- champion_challenger


def test_champion_challenger_assignment_share_and_stability() -> None:
    n, share = 10_000, 0.2
    policy = from_yaml("champion_challenger", n)
    assert policy.config.challenger_share == share
    rng = np.random.default_rng(2024)
    view = random_view(rng, n)
    policy.review(view, rng)
    arm = policy.arm.copy()
    assert arm.dtype == np.int8 and set(np.unique(arm)) <= {0, 1}
    se = np.sqrt(n * share * (1 - share))  # binomial standard error of the count, 40
    assert abs(int(arm.sum()) - n * share) <= 3 * se
    policy.review(random_view(rng, n), rng)
    np.testing.assert_array_equal(policy.arm, arm)


def test_champion_challenger_merges_each_arms_own_decision() -> None:
    n = 1_000
    views = random_months(29, n, 3)
    policy = from_yaml("champion_challenger", n)
    merged = run_months(policy, views, seed=1)
    arm = policy.arm.astype(bool)
    for rows, name in ((~arm, "behaviour_rules"), (arm, "pd_threshold")):
        alone = from_yaml(name, int(rows.sum()))
        for d, part in zip(merged, run_months(alone, [v.subset(rows) for v in views]), strict=True):
            np.testing.assert_array_equal(d.new_limit_cny[rows], part.new_limit_cny)
            np.testing.assert_array_equal(d.reason[rows], part.reason)


@pytest.mark.parametrize(("share", "arm_name"), [(0.0, "behaviour_rules"), (1.0, "pd_threshold")])
def test_champion_challenger_share_at_the_bounds_is_one_arm(share: float, arm_name: str) -> None:
    views = random_months(31, 500, 4)
    cc = from_yaml("champion_challenger", 500, challenger_share=share)
    for a, b in zip(
        run_months(cc, views), run_months(from_yaml(arm_name, 500), views), strict=True
    ):
        assert_same(a, b)


# ----------------------------------------------------------------- behaviour_rules


def test_behaviour_rules_temporary_high_risk_cut_and_restoration() -> None:
    policy = build(1, name="behaviour_rules", restore_after_clean_months=3)
    view = make_view(high_risk_flag=True)
    d = decide(policy, view)  # month 0: high_risk_cut 0.5
    assert d.new_limit_cny[0] == 5_000.0 and d.reason[0] == ReasonCode.HIGH_RISK_TRANSACTION
    decisions = [d]
    for _ in range(3):  # clean months 1, 2, 3
        view = next_month(view, decisions[-1], high_risk_flag=False)
        decisions.append(decide(policy, view))
    assert [d.new_limit_cny[0] for d in decisions] == [5_000.0, 5_000.0, 5_000.0, 10_000.0]
    assert [int(d.reason[0]) for d in decisions] == [
        ReasonCode.HIGH_RISK_TRANSACTION,
        0,
        0,
        ReasonCode.RESTORED_AFTER_TEMPORARY_CUT,
    ]
    reasons = np.concatenate([d.reason for d in decisions])
    assert np.bincount(reasons[reasons != 0]).sum() == 2


# ------------------------------------------------------------------ config checks


@pytest.mark.parametrize(
    ("config", "error", "needle"),
    [
        ({"name": "pd_threshold", "cut_fraction": 1.5}, ValueError, "policy.cut_fraction"),
        ({"name": "pd_threshold", "cut_fractoin": 0.5}, TypeError, "cut_fractoin"),
        ({"name": "pd_threshold", "raise_below_pd": 0.2}, ValueError, "raise_below_pd"),
        ({"name": "behaviour_rules", "delinquency_cut": 1.5}, ValueError, "delinquency_cut"),
        ({"name": "exposure_cap", "budget_metric": "pd"}, ValueError, "budget_metric"),
        ({"name": "exposure_cap", "ccf": -0.1}, ValueError, "policy.ccf"),
        ({"name": "utilisation_cli", "inactive_decrease_fraction": 2.0}, ValueError, "inactive"),
        ({"name": "parametric", "early_repayment_cut": 1.5}, ValueError, "early_repayment_cut"),
        ({"name": "parametric", "exposure_budget_share": 0.0}, ValueError, "exposure_budget"),
        (
            {"name": "counter_cyclical", "base": {"delinquency_cut": 1.5}},
            ValueError,
            "policy.base.delinquency_cut",
        ),
        (
            {"name": "counter_cyclical", "base": {"delinquncy_cut": 0.5}},
            TypeError,
            "delinquncy_cut",
        ),
        ({"name": "counter_cyclical", "boom_regimes": ["downturn"]}, ValueError, "boom_regimes"),
        ({"name": "sme_aware", "base": {"max_limit_cny": 5.0}}, TypeError, "max_limit_cny"),
        ({"name": "sme_aware", "max_pd": 1.5}, ValueError, "policy.max_pd"),
        ({"name": "champion_challenger", "challenger_share": 1.5}, ValueError, "challenger_share"),
        (
            {
                "name": "champion_challenger",
                "challenger": {"name": "pd_threshold", "cut_fraction": 1.5},
            },
            ValueError,
            "policy.challenger.cut_fraction",
        ),
        (
            {"name": "champion_challenger", "champion": {"name": "no_such_policy"}},
            KeyError,
            "policy.champion",
        ),
        (
            {"name": "champion_challenger", "champion": {"name": "champion_challenger"}},
            ValueError,
            "policy.champion.name",
        ),
        ({"name": "no_such_policy"}, KeyError, "no_such_policy"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], error: type, needle: str) -> None:
    with pytest.raises(error, match=needle.replace(".", r"\.")):
        build_policy(config)


def test_behaviour_rules_thin_history_and_low_diversity_lower_the_target_once():
    """M3/M4: thin history and low spending diversity each take 10 % off the initial limit,
    once (a target, not a repeated cut); an established, diverse borrower is untouched."""
    policy = build(3, name="behaviour_rules")
    view = make_view(3, history_months=[6, 36, 36], spending_diversity=[0.6, 0.1, 0.6])
    first = decide(policy, view)
    np.testing.assert_allclose(first.new_limit_cny, [9_000.0, 9_000.0, 10_000.0])
    assert first.reason.tolist() == [
        ReasonCode.THIN_HISTORY,
        ReasonCode.LOW_SPENDING_DIVERSITY,
        ReasonCode.NONE,
    ]
    # Still thin and undiversified for five more months, past the cut cooldown: the limit
    # is already at its target, so it is not cut again.
    current, decision = view, first
    for _ in range(5):
        current = next_month(current, decision)
        decision = decide(policy, current)
        np.testing.assert_array_equal(decision.new_limit_cny, first.new_limit_cny)
        assert (decision.reason == 0).all()
