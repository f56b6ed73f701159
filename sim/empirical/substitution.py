"""Substitution to other lenders after a platform cut (households and sole traders).

The measurement behind ``python -m experiments.lender_substitution``: paired runs under
one seed, so the only difference between arms is the platform's limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.model import CreditMarketModel
from sim.platform.policies import build_policy
from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.reasons import ReasonCode
from sim.runtime.compose import load_run_config

#: Credit bands of the comparison by the PD rank at the start (CALIBRATION.md M1: 73 % of
#: scorable US consumers score 650 or more, 15 % below 600): prime is the best-scored 73 %,
#: subprime the worst 15 %.
PRIME_SHARE, SUBPRIME_SHARE = 0.73, 0.15


class OwnersAtZeroHeadroom(LimitPolicy):
    """Every firm owner's limit held at the drawn balance (no headroom); others unchanged."""

    name = "owners_zero_headroom"
    config_class = PolicyConfig

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Cut owners' open lines to their balance (to the cent)."""
        new = view.limit_cny.copy()
        cut = view.owns_firm & view.is_open & (view.limit_cny > view.balance_cny + 0.005)
        new[cut] = np.ceil(view.balance_cny[cut] * 100.0 - 1e-6) / 100.0
        reason = np.where(new != view.limit_cny, ReasonCode.PD_ABOVE_THRESHOLD, 0).astype(np.int8)
        return LimitDecision(new, reason)


class CutOnce(LimitPolicy):
    """A one-time cut of ``share`` of the line at month ``step`` for every fifth borrower.

    The treated rows are those with ``row % 5 == 0`` and an open line; the new limit is
    ``(1 - share) x limit``, never below the balance (CFPB's median cut is 75 %, I2).
    """

    name = "cut_once"
    config_class = PolicyConfig

    def __init__(self, config: PolicyConfig, step: int = 12, share: float = 0.75) -> None:
        super().__init__(config)
        self.step, self.share = step, share

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Cut the treated rows once, in the review after month ``step``."""
        new = view.limit_cny.copy()
        if view.step == self.step:
            rows = np.arange(view.n_borrowers)
            treated = (rows % 5 == 0) & view.is_open
            target = np.maximum((1.0 - self.share) * view.limit_cny, view.balance_cny)
            new[treated] = np.minimum(np.ceil(target[treated] * 100.0 - 1e-6) / 100.0, new[treated])
        reason = np.where(new != view.limit_cny, ReasonCode.PD_ABOVE_THRESHOLD, 0).astype(np.int8)
        return LimitDecision(new, reason)


def _run(config: RunConfig, policy: LimitPolicy) -> dict[str, np.ndarray]:
    """Run one arm; per-borrower and per-run totals needed by the comparison."""
    model = CreditMarketModel(config, policy=policy)
    pd0 = model.world.borrowers.pd_12m.copy()
    model.run()
    w = model.world
    s, ch = w.borrowers, w.channels
    monthly = model.record.monthly_table() if hasattr(model.record, "monthly_table") else None
    out = {
        "pd0": pd0,
        "cost": s.interest_total_cny + ch.interest_fees_total_cny,
        "balance_sum": s.balance_month_sum_cny + ch.balance_month_sum_cny,
        "channel_balance_sum": ch.balance_month_sum_cny.copy(),
        "unmet": s.unmet_need_total_cny.copy(),
        "income": s.income_total_cny.copy(),
        "cuts": s.cuts_count.copy(),
        "platform_balance_sum": s.balance_month_sum_cny.copy(),
        "card_balance": ch.table("balance_cny")[:, list(ch.names).index("credit_card")]
        if "credit_card" in ch.names
        else np.zeros(s.n),
        "high_cost_balance": ch.table("balance_cny")[:, ch.high_cost].sum(axis=1),
    }
    df = model.datacollector.get_model_vars_dataframe()
    out["firm_platform"] = float(df["firm_platform_draws_cny"].sum())
    out["firm_channel"] = float(df["firm_channel_draws_cny"].sum())
    out["unmet_gap"] = float(df["unmet_financing_gap_cny"].sum())
    del monthly
    model.close()
    return out


def _apr(r: dict, m: np.ndarray) -> float:
    den = r["balance_sum"][m].sum()
    return float(12.0 * r["cost"][m].sum() / den) if den > 0 else np.nan


def measure_substitution(
    *,
    n_borrowers: int,
    n_months: int,
    seeds: Iterable[int],
    overrides: Sequence[str] = (),
) -> pd.DataFrame:
    """Paired household-cut and sole-trader-cut comparisons (see the module docstring).

    Returns:
        One row per seed and measure (``cut75_*``: every fifth borrower's line cut by
        75 % once, after month 12, vs ``static``; the substitution share is the extra
        other-lender balance-months per platform balance-month lost): ``seed``,
        ``measure``, ``group``, ``treated`` (rows), ``static``, ``treated_arm``, ``change``.
    """
    rows = []
    for seed in seeds:
        base = [f"seed={seed}", f"population.n_borrowers={n_borrowers}", f"n_months={n_months}"]
        cfg = load_run_config([*base, "policy=static", *overrides])
        cfg_b = load_run_config([*base, "policy=behaviour_rules", *overrides])
        st = _run(cfg, build_policy(cfg.policy))
        br = _run(cfg_b, build_policy(cfg_b.policy))
        cut = br["cuts"] > 0
        for group, band in (
            ("prime", st["pd0"] <= np.quantile(st["pd0"], PRIME_SHARE)),
            ("subprime", st["pd0"] >= np.quantile(st["pd0"], 1.0 - SUBPRIME_SHARE)),
            ("all", np.ones_like(cut)),
        ):
            m = cut & band
            for measure, f in (
                ("all_lender_apr", _apr),
                (
                    "unmet_need_share_of_income",
                    lambda r, m: float(r["unmet"][m].sum() / max(r["income"][m].sum(), 1.0)),
                ),
                (
                    "other_lender_balance_share",
                    lambda r, m: float(
                        r["channel_balance_sum"][m].sum() / max(r["balance_sum"][m].sum(), 1.0)
                    ),
                ),
            ):
                a, b = f(st, m), f(br, m)
                rows.append(
                    dict(
                        seed=seed,
                        measure=measure,
                        group=group,
                        treated=int(m.sum()),
                        static=a,
                        treated_arm=b,
                        change=b - a,
                    )
                )
        cut = _run(cfg, CutOnce(PolicyConfig(name="static")))
        rows_all = np.arange(cut["pd0"].shape[0])
        treated = rows_all % 5 == 0
        for group, band in (
            ("prime", st["pd0"] <= np.quantile(st["pd0"], PRIME_SHARE)),
            ("subprime", st["pd0"] >= np.quantile(st["pd0"], 1.0 - SUBPRIME_SHARE)),
        ):
            m = treated & band
            lost = st["platform_balance_sum"][m].sum() - cut["platform_balance_sum"][m].sum()
            more = cut["channel_balance_sum"][m].sum() - st["channel_balance_sum"][m].sum()
            for measure, a, b in (
                ("cut75_all_lender_apr", _apr(st, m), _apr(cut, m)),
                (
                    "cut75_unmet_need_share_of_income",
                    float(st["unmet"][m].sum() / max(st["income"][m].sum(), 1.0)),
                    float(cut["unmet"][m].sum() / max(cut["income"][m].sum(), 1.0)),
                ),
            ):
                rows.append(
                    dict(
                        seed=seed,
                        measure=measure,
                        group=group,
                        treated=int(m.sum()),
                        static=a,
                        treated_arm=b,
                        change=b - a,
                    )
                )
            for measure, key in (
                ("cut75_card_balance_end_cny", "card_balance"),
                ("cut75_high_cost_balance_end_cny", "high_cost_balance"),
            ):
                a, b = float(st[key][m].mean()), float(cut[key][m].mean())
                rows.append(
                    dict(
                        seed=seed,
                        measure=measure,
                        group=group,
                        treated=int(m.sum()),
                        static=a,
                        treated_arm=b,
                        change=b - a,
                    )
                )
            rows.append(
                dict(
                    seed=seed,
                    measure="cut75_substitution_share",
                    group=group,
                    treated=int(m.sum()),
                    static=np.nan,
                    treated_arm=more / lost if lost > 0 else np.nan,
                    change=np.nan,
                )
            )
        zero = _run(cfg, OwnersAtZeroHeadroom(PolicyConfig(name="static")))
        less_platform = st["firm_platform"] - zero["firm_platform"]
        more_channels = zero["firm_channel"] - st["firm_channel"]
        more_unmet = zero["unmet_gap"] - st["unmet_gap"]
        for measure, a, b in (
            ("firm_platform_draws_cny", st["firm_platform"], zero["firm_platform"]),
            ("firm_channel_draws_cny", st["firm_channel"], zero["firm_channel"]),
            ("unmet_financing_gap_cny", st["unmet_gap"], zero["unmet_gap"]),
        ):
            rows.append(
                dict(
                    seed=seed,
                    measure=measure,
                    group="sole_traders",
                    treated=0,
                    static=a,
                    treated_arm=b,
                    change=b - a,
                )
            )
        share = more_channels / less_platform if less_platform > 0 else np.nan
        rows.append(
            dict(
                seed=seed,
                measure="substitution_share",
                group="sole_traders",
                treated=0,
                static=np.nan,
                treated_arm=share,
                change=np.nan,
            )
        )
        rows.append(
            dict(
                seed=seed,
                measure="unmet_share_of_platform_loss",
                group="sole_traders",
                treated=0,
                static=np.nan,
                treated_arm=more_unmet / less_platform if less_platform > 0 else np.nan,
                change=np.nan,
            )
        )
    return pd.DataFrame(rows)
