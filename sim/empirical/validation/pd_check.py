"""The in-simulator PD checks of a validation: calibration by decile, expected loss, tiers.

Runs :func:`sim.empirical.pd_calibration.panels` on the default open book with the seeds of
:class:`PDCalibrationCheck` and applies its tolerances (issue 17: predicted against
realised 12-month default within +-30 % by PD decile, or +-0.3 pp where the rate is under
1 %; expected loss within +-25 % of the loss realised over the following 12 months; every
APR tier in use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sim.empirical.pd_calibration import decile_table, loss_check, panels, tier_shares
from sim.empirical.validation.config import PDCalibrationCheck

__all__ = ["pd_calibration_check", "pd_calibration_lines"]


def pd_calibration_check(
    spec: PDCalibrationCheck, panel: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Run (or take) the panel of ``spec`` and check the PDs against realised outcomes.

    Args:
        spec: seeds, horizon and tolerances.
        panel: a :func:`sim.empirical.pd_calibration.pd_panel` panel to check instead of
            running the seeds (tests).

    Returns:
        ``deciles`` (:func:`decile_table` with ``passed``), ``loss`` (:func:`loss_check`),
        ``tiers`` (share of open lines by APR tier), ``tier_passed``, ``failed`` (the
        names of the missed checks: ``pd decile k``, ``pd expected loss``, ``pd tier
        [a, b)``), ``passed``, ``rows`` and the ``spec``.
    """
    from sim.runtime.compose import load_run_config

    if panel is None:
        panel = panels(
            spec.overrides, spec.seeds, score_month=spec.score_month, horizon=spec.horizon
        )
    bounds = load_run_config(list(spec.overrides)).platform.pd_tier_bounds
    deciles = decile_table(
        panel, rel_tolerance=spec.rel_tolerance, abs_tolerance=spec.abs_tolerance_pp / 100
    )
    loss = loss_check(panel, tolerance=spec.loss_tolerance)
    tiers = tier_shares(panel["pd_12m"].to_numpy(), bounds)
    tier_ok = tiers >= spec.min_tier_share
    failed = [f"pd decile {int(d)}" for d in deciles.loc[~deciles["passed"], "decile"]]
    if not loss["passed"]:
        failed.append("pd expected loss")
    failed += [f"pd tier {label}" for label in tiers.index[~tier_ok.to_numpy()]]
    return {
        "deciles": deciles,
        "loss": loss,
        "tiers": tiers,
        "tier_passed": bool(tier_ok.all()),
        "failed": failed,
        "passed": not failed,
        "rows": len(panel),
        "spec": spec,
    }


def pd_calibration_lines(
    check: dict[str, Any], markdown: Callable[[pd.DataFrame], str]
) -> list[str]:
    """Markdown section of a :func:`pd_calibration_check` result (``markdown`` renders tables)."""
    spec, loss, deciles = check["spec"], check["loss"], check["deciles"]
    table = pd.DataFrame(
        {
            "PD bin (deciles; tied PDs merge)": deciles["decile"],
            "lines": deciles["n"],
            "mean PD": [f"{100 * v:.2f} %" for v in deciles["mean_predicted_pd"]],
            "realised 12-month default": [
                f"{100 * v:.2f} %" for v in deciles["observed_default_rate"]
            ],
            "error (pp)": [f"{v:+.2f}" for v in deciles["error_pp"]],
            "tolerance (pp)": [f"{v:.2f}" for v in deciles["tolerance_pp"]],
            "check": ["pass" if ok else "MISS" for ok in deciles["passed"]],
        }
    )
    tiers = ", ".join(f"{k} {100 * v:.1f} %" for k, v in check["tiers"].items())
    lines = [
        "## Platform PD in the simulator (default open book)",
        "",
        f"Lines open at window month {spec.score_month} after the burn-in, seeds "
        f"{', '.join(map(str, spec.seeds))} (no PD map was fitted on them; see conf/PROVENANCE.md "
        "for the one time they were looked at, to reject a first fit), followed "
        f"for {spec.horizon} months: {check['rows']:,} lines, mean PD "
        f"{100 * loss['mean_pd']:.2f} % against {100 * loss['default_rate']:.2f} % realised, "
        f"AUC {loss['auc']:.3f}.",
        "",
        f"- Expected loss (PD x LGD x EAD) {loss['expected_loss_cny']:,.0f} CNY against "
        f"{loss['realised_loss_cny']:,.0f} CNY realised: ratio {loss['ratio']:.3f} (target "
        f"within +-{100 * spec.loss_tolerance:g} %: {'pass' if loss['passed'] else 'MISS'}).",
        f"- APR tier shares: {tiers} (target: every tier >= {100 * spec.min_tier_share:g} %: "
        f"{'pass' if check['tier_passed'] else 'MISS'}).",
    ]
    if spec.why:
        lines.append(f"- Tolerances: {spec.why.strip()}")
    return [*lines, "", markdown(table), ""]
