"""In-simulator calibration of the platform's 12-month PD: measure it, and estimate its mapping.

The platform scores every borrower each month (:meth:`sim.platform.agent.Platform.rescore`).
A 12-month PD is calibrated when, among the lines open at a scoring month, the share that
default (90+ DPD) within the next 12 months matches the PD. This module measures that on
simulated runs and estimates the score-to-PD mapping the platform uses:

- :func:`pd_panel` runs a config, snapshots every open line at ``score_month`` (its
  scorecard log-odds, PD, EAD and expected loss) and follows it for ``horizon`` months
  (realised default and loss at default, ``LGD x EAD at default``);
- :func:`decile_table` compares predicted and realised default by PD decile, with the
  tolerance of issue 17: within +-30 % of the realised rate, or +-0.3 pp where the
  realised rate is under 1 %;
- :func:`loss_check` compares the portfolio's expected loss ``sum PD x LGD x EAD`` with the
  loss realised over the horizon (within +-25 %);
- :func:`tier_shares` gives the share of open lines in each APR tier;
- :func:`fit_isotonic` estimates the monotone map from the platform's log-odds ``z`` to
  the 12-month PD by isotonic regression of realised default on ``z`` (scikit-learn). This
  is what a lender does with its own performance data: the UCI fit gives the ranking, the
  book's realised defaults give the level and shape (the UCI target is next-month default
  on a high-risk book, not 12-month 90+ DPD default on this one, and a single intercept
  shift or a Platt slope cannot match both ends: measured, Platt scaling left the top
  decile at 4.0 % predicted against 5.9 % realised and a 31 % block of idle lines at
  0.66 % against 0.17 %). Estimate on burn-in seeds, check on others. The book's lines
  are scored with the behavioural score on top (``pd_calibration: behavioural``,
  :mod:`sim.empirical.behaviour_score`: utilisation band and arrears terms, and the map of
  ``z`` plus those terms), whose fit ``--fit`` prints as well.

Command line (prints the tables and the split of EL / realised loss,
:func:`sim.empirical.behaviour_score.loss_decomposition`; ``--fit`` also prints the
isotonic knots and the behavioural score to put in ``conf/platform/default.yaml``)::

    python -m sim.empirical.pd_calibration --seeds 0 1 2
    python -m sim.empirical.pd_calibration --fit --seeds 100 101 102 103 104  # application map
    python -m sim.empirical.pd_calibration --fit --seeds $(seq 100 114)  # behavioural score

References:
    Zadrozny, B., & Elkan, C. (2002). Transforming classifier scores into accurate
    multiclass probability estimates. *Proc. KDD*, 694-699 (isotonic calibration).
    Basel Committee on Banking Supervision (2005), *Studies on the Validation of
    Internal Rating Systems*, WP 14 (calibration of PDs against realised default rates).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.empirical.pd_fit import ISOTONIC_QUANTILES, PD_FLOOR, fit_isotonic
from sim.platform.exposure import ead_cny
from sim.platform.scorecard import auc, calibration_table

__all__ = [
    "REL_TOLERANCE",
    "ABS_TOLERANCE",
    "LOSS_TOLERANCE",
    "decile_table",
    "fit_isotonic",
    "ISOTONIC_QUANTILES",
    "PD_FLOOR",
    "loss_check",
    "realised_ccf",
    "pd_panel",
    "tier_shares",
]

REL_TOLERANCE = 0.30
"""Largest |predicted - realised| / realised default rate in a PD decile."""
ABS_TOLERANCE = 0.003
"""Largest |predicted - realised| (fraction) where the realised rate is under 1 %."""
LOSS_TOLERANCE = 0.25
"""Largest |expected loss - realised loss| / realised loss of the portfolio."""


def pd_panel(config: RunConfig, *, score_month: int = 12, horizon: int = 12) -> pd.DataFrame:
    """Run ``config`` and follow the lines open at ``score_month`` for ``horizon`` months.

    Args:
        config: a validated run config (its ``seed`` and population size are used; its
            ``n_months`` is not: the run lasts ``burn_in_months + score_month + horizon``
            months).
        score_month: window month (after the burn-in) at whose end the lines are scored,
            >= 1.
        horizon: months of outcome after it, >= 1.

    Returns:
        One row per line open at the end of ``score_month``: ``seed``, ``log_odds`` (the
        platform's application log-odds ``z``), ``behaviour_log_odds`` (the behavioural
        terms added to ``z`` for the book's PD; 0 unless ``pd_calibration: behavioural``),
        ``pd_12m``, ``ead_cny`` (drawn + CCF x undrawn), ``expected_loss_cny``
        (``pd_12m x LGD x EAD``), ``apr`` (the tier's APR), ``default`` (bool: defaulted
        within the horizon), ``loss_cny`` (loss posted at that default, ``LGD x balance
        at default``; 0 otherwise), ``drawn_cny``, ``undrawn_cny``, ``limit_cny`` and
        ``missed`` (consecutive missed payments) at scoring.

    Raises:
        ValueError: ``score_month`` or ``horizon`` < 1.
    """
    from sim.model import CreditMarketModel  # the top layer: imported when run

    if score_month < 1 or horizon < 1:
        raise ValueError(f"score_month and horizon must be >= 1, got {score_month}, {horizon}")
    model = CreditMarketModel(config)
    # ``score_month`` counts the comparison window's months (after the burn-in).
    score_step = config.burn_in_months + score_month
    try:
        model.run(score_step)
        world = model.world
        s, pc = world.borrowers, world.config.platform
        rows = np.flatnonzero(s.is_open)
        pd_12m, apr = s.pd_12m[rows].copy(), s.apr[rows].copy()
        # The log-odds this month's PDs were computed from (before its limit changes).
        log_odds = world.platform.score_log_odds[rows].copy()
        behaviour = world.platform.score_behaviour_log_odds[rows].copy()
        limit, missed = s.limit_cny[rows].copy(), s.missed[rows].copy()
        ead = ead_cny(s.balance_cny, s.limit_cny, pc.ccf)[rows]
        drawn = s.balance_cny[rows].copy()
        undrawn = np.maximum(s.limit_cny[rows] - drawn, 0.0)
        n0 = s.n  # lines opened later are not in the panel
        loss = np.zeros(n0)
        for _ in range(horizon):
            model.step()
            loss += model.month.servicing.loss_at_default_cny[:n0]
        step = model.world.borrowers.default_step[rows]
    finally:
        model.close()
    return pd.DataFrame(
        {
            "seed": np.full(rows.size, config.seed, dtype=np.int64),
            "log_odds": log_odds,
            "behaviour_log_odds": behaviour,
            "pd_12m": pd_12m,
            "ead_cny": ead,
            "expected_loss_cny": pd_12m * pc.lgd * ead,
            "apr": apr,
            "default": (step > score_step) & (step <= score_step + horizon),
            "loss_cny": loss[rows],
            "drawn_cny": drawn,
            "undrawn_cny": undrawn,
            "limit_cny": limit,
            "missed": missed,
        }
    )


def realised_ccf(panel: pd.DataFrame, lgd: float) -> float:
    """The credit conversion factor realised by the lines that defaulted (cohort method).

    ``sum(EAD at default - drawn at scoring) / sum(undrawn at scoring)`` over the panel's
    defaulters, with EAD at default = loss posted at default / ``lgd``. The estimate of
    ``platform.ccf`` (``--fit``), as the isotonic map is of the PD.

    Args:
        panel: :func:`pd_panel` output (``default``, ``loss_cny``, ``drawn_cny``,
            ``undrawn_cny``).
        lgd: the platform's LGD, in (0, 1].

    Returns:
        The pooled realised CCF (NaN without defaulters or undrawn exposure).
    """
    d = panel["default"].to_numpy() & (panel["loss_cny"].to_numpy() > 0)
    undrawn = float(panel["undrawn_cny"].to_numpy()[d].sum())
    if undrawn <= 0:
        return float("nan")
    drawn_up = panel["loss_cny"].to_numpy()[d] / lgd - panel["drawn_cny"].to_numpy()[d]
    return float(drawn_up.sum() / undrawn)


def decile_table(
    panel: pd.DataFrame,
    n_bins: int = 10,
    *,
    rel_tolerance: float = REL_TOLERANCE,
    abs_tolerance: float = ABS_TOLERANCE,
) -> pd.DataFrame:
    """Predicted against realised default by PD decile, with the calibration check.

    Args:
        panel: rows of :func:`pd_panel` (one or several seeds pooled).
        n_bins: number of quantile bins of ``pd_12m``.
        rel_tolerance: largest |predicted - realised| / realised rate in a bin.
        abs_tolerance: largest |predicted - realised| (fraction) where the realised rate
            is under 1 %.

    Returns:
        :func:`sim.platform.scorecard.calibration_table` of the panel (``decile``, ``n``,
        ``mean_predicted_pd``, ``observed_default_rate``) with ``defaults`` (count),
        ``error_pp`` (predicted - realised, pp), ``relative_error`` (predicted / realised
        - 1; NaN where nothing defaulted), ``tolerance_pp`` (0.3 where the realised rate is
        under 1 %, else 30 % of it, in pp) and ``passed``.
    """
    y = panel["default"].to_numpy().astype(np.int64)
    table = calibration_table(y, panel["pd_12m"].to_numpy(), n_bins=n_bins)
    pred, obs = table["mean_predicted_pd"], table["observed_default_rate"]
    table["defaults"] = np.rint(obs * table["n"]).astype(np.int64)
    table["error_pp"] = 100 * (pred - obs)
    table["relative_error"] = np.where(obs > 0, pred / obs.where(obs > 0, 1.0) - 1, np.nan)
    table["tolerance_pp"] = np.where(obs < 0.01, 100 * abs_tolerance, 100 * rel_tolerance * obs)
    table["passed"] = table["error_pp"].abs() <= table["tolerance_pp"] + 1e-12
    return table


def loss_check(panel: pd.DataFrame, tolerance: float = LOSS_TOLERANCE) -> dict[str, float | bool]:
    """Portfolio expected loss against the loss realised over the horizon.

    Returns:
        ``expected_loss_cny``, ``realised_loss_cny``, ``ratio`` (expected / realised),
        ``passed`` (ratio within 1 +- ``tolerance``, default :data:`LOSS_TOLERANCE`),
        ``mean_pd`` and
        ``default_rate`` of the panel, and ``auc`` (PD against realised default).
    """
    el = float(panel["expected_loss_cny"].sum())
    realised = float(panel["loss_cny"].sum())
    ratio = el / realised if realised > 0 else float("inf")
    y = panel["default"].to_numpy().astype(np.int64)
    return {
        "expected_loss_cny": el,
        "realised_loss_cny": realised,
        "ratio": ratio,
        "passed": bool(abs(ratio - 1.0) <= tolerance),
        "mean_pd": float(panel["pd_12m"].mean()),
        "default_rate": float(y.mean()),
        "auc": float(auc(y, panel["pd_12m"].to_numpy())) if 0 < y.sum() < y.size else np.nan,
    }


def tier_shares(pd_12m: np.ndarray, bounds: Sequence[float]) -> pd.Series:
    """Share of lines in each PD tier (tier ``k`` holds ``bounds[k-1] <= PD < bounds[k]``).

    Args:
        pd_12m: ``(n,)`` PDs.
        bounds: the increasing tier bounds (``platform.pd_tier_bounds``).

    Returns:
        Shares (summing to 1) indexed by a label such as ``"[1%, 3%)"``, lowest tier first.
    """
    pd_12m = np.asarray(pd_12m, dtype=float)
    tier = np.searchsorted(np.asarray(bounds, dtype=float), pd_12m, side="right")
    edges = [0.0, *bounds, 1.0]
    labels = [f"[{100 * a:g}%, {100 * b:g}%)" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    counts = np.bincount(tier, minlength=len(labels))
    return pd.Series(counts / max(pd_12m.size, 1), index=labels, name="share")


def panels(
    overrides: Sequence[str], seeds: Sequence[int], *, score_month: int = 12, horizon: int = 12
) -> pd.DataFrame:
    """:func:`pd_panel` of the default run config with ``overrides``, over ``seeds``, pooled."""
    from sim.runtime.compose import load_run_config

    return pd.concat(
        [
            pd_panel(
                load_run_config([*overrides, f"seed={seed}"]),
                score_month=score_month,
                horizon=horizon,
            )
            for seed in seeds
        ],
        ignore_index=True,
    )


def report(panel: pd.DataFrame, bounds: Sequence[float]) -> dict[str, Any]:
    """The decile table, the loss check, PD percentiles and tier shares of a panel."""
    pd_12m = panel["pd_12m"].to_numpy()
    return {
        "deciles": decile_table(panel),
        "loss": loss_check(panel),
        "pd_percentiles": dict(
            zip(("p10", "p50", "p90", "p99"), np.percentile(pd_12m, [10, 50, 90, 99]), strict=True)
        ),
        "tiers": tier_shares(pd_12m, bounds),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the calibration report (and with ``--fit`` the isotonic knots)."""
    parser = argparse.ArgumentParser(prog="python -m sim.empirical.pd_calibration")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the run config")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--score-month", type=int, default=12)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--fit", action="store_true", help="estimate the isotonic PD map")
    args = parser.parse_args(argv)
    from sim.empirical.behaviour_score import fit_behaviour_score, loss_decomposition
    from sim.runtime.compose import load_run_config

    bounds = load_run_config(args.overrides).platform.pd_tier_bounds
    panel = panels(args.overrides, args.seeds, score_month=args.score_month, horizon=args.horizon)
    out = report(panel, bounds)
    pct = ", ".join(f"{k} {100 * v:.2f} %" for k, v in out["pd_percentiles"].items())
    loss = out["loss"]
    print(f"{len(panel):,} open lines at month {args.score_month}, seeds {args.seeds}")
    print(
        f"PD percentiles: {pct}; mean PD {100 * loss['mean_pd']:.3f} %, realised "
        f"{100 * loss['default_rate']:.3f} %, AUC {loss['auc']:.3f}"
    )
    print(
        f"EL {loss['expected_loss_cny']:,.0f} CNY vs realised loss "
        f"{loss['realised_loss_cny']:,.0f} CNY: ratio {loss['ratio']:.3f} "
        f"({'pass' if loss['passed'] else 'FAIL'})"
    )
    print("tier shares:", ", ".join(f"{k} {100 * v:.1f} %" for k, v in out["tiers"].items()))
    print(out["deciles"].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    config = load_run_config(args.overrides).platform
    print(f"realised CCF of the defaulters: {realised_ccf(panel, config.lgd):.3f}")
    print("EL / realised loss by part:", loss_decomposition(panel, config.lgd).round(3).to_dict())
    if args.fit:
        knots, knot_pd = fit_isotonic(panel)
        print("application map, isotonic of z (pd_calibration_*):")
        print(f"pd_calibration_log_odds: [{', '.join(f'{k:.4f}' for k in knots)}]")
        print(f"pd_calibration_pd: [{', '.join(f'{p:.5f}' for p in knot_pd)}]")
        print("behavioural score (conf/platform/default.yaml):")
        fit = fit_behaviour_score(panel, config.behaviour_utilisation_bounds)
        for name, values in fit.items():
            digits = 5 if name.endswith("_pd") else 4
            print(f"{name}: [{', '.join(f'{v:.{digits}f}' for v in values)}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
