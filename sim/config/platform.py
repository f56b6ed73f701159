"""Schema of the ``platform`` group (``conf/platform/default.yaml``): the lender."""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config._checks import _prob, _rng_check
from sim.units import MAX_CONFIG_CNY

#: The ways the scorecard's log-odds are mapped to the 12-month PD.
PD_CALIBRATIONS = ("isotonic", "central_tendency", "behavioural")
#: Allowed ``platform.central_tendency_pd_12m``: an intercept shift in [-30, 30] log-odds
#: reaches a mean PD of 1e-6 (or 1 - 1e-6) for any book whose log-odds are at most 16 (at
#: least -16): expit(16 - 30) = 8.3e-7. Levels closer to 0 or 1 (a mean 12-month PD under
#: one in a million) are out of reach of the shift on ordinary books and of any real book.
CENTRAL_TENDENCY_PD_RANGE = (1e-6, 1.0 - 1e-6)


@dataclass
class PlatformConfig:
    """The lender: pricing, risk model levels, product terms and funding.

    Attributes:
        apr_tiers: APR (annual fraction) per risk tier, ascending; default within the
            Jiebei-like range of about 7-18 % APR (Jiebei product terms, Ant FAQ copies;
            PBoC credit-card rate band; unverified prior).
        pd_tier_bounds: pd_12m upper bounds of all tiers but the last (len = tiers - 1).
        pd_calibration: how the platform's log-odds ``z`` (:meth:`Platform.log_odds`: the
            scorecard's UCI next-month log-odds plus the M3 / M7 terms) become the 12-month
            PD. ``"isotonic"``: ``PD = interp(z, pd_calibration_log_odds,
            pd_calibration_pd)``, a monotone piecewise-linear map, flat beyond the end
            knots, estimated on the platform's realised 12-month defaults in burn-in runs
            (:func:`sim.empirical.pd_calibration.fit_isotonic`); ``"central_tendency"``:
            ``PD = expit(z + shift)``, the shift set at the first scoring so that the
            initial book's mean PD is ``central_tendency_pd_12m``; ``"behavioural"``:
            applicants keep the isotonic map of ``z``, the book's lines are scored
            ``PD = interp(z + b, behaviour_calibration_log_odds, behaviour_calibration_pd)``
            with ``b`` the behavioural terms of their utilisation band and days past due
            (:func:`sim.platform.scorecard.behaviour_log_odds`), estimated on the
            platform's realised 12-month defaults
            (:func:`sim.empirical.behaviour_score.fit_behaviour_score`).
        pd_calibration_log_odds: knots of the isotonic map, log-odds, increasing.
        pd_calibration_pd: the 12-month PD at each knot, non-decreasing, in [0, 1].
        behaviour_calibration_log_odds: knots of the behavioural map (log-odds ``z + b``),
            strictly increasing inside [-50, 50].
        behaviour_calibration_pd: the book's 12-month PD at each behavioural knot,
            non-decreasing, in [0, 1].
        behaviour_utilisation_bounds: utilisation (drawn / limit) bounds of the bands
            after the idle one (no balance), strictly increasing inside (0, 10].
        behaviour_utilisation_log_odds: log-odds term of each band (idle first,
            ``len(behaviour_utilisation_bounds) + 2`` values in [-50, 50]).
        behaviour_dpd_log_odds: log-odds terms of a line 30 DPD and 60+ DPD (2 values in
            [-50, 50]; a current line has none).
        central_tendency_pd_12m: mean 12-month PD the scorecard is re-levelled to at start
            (``pd_calibration: central_tendency`` only), in [1e-6, 1 - 1e-6]: the levels
            the intercept shift (searched in [-30, 30] log-odds,
            :func:`sim.platform.scorecard.shift_to_mean_pd`) reaches for any book whose
            log-odds lie within +-16 (the default book's lie in about [-2.4, -0.8]).
        lgd: loss given default, fraction.
        ccf: credit conversion factor on undrawn limits for EAD, fraction.
        funding_cost_apr: the platform's cost of funds, annual fraction.
        min_payment_rate: minimum payment as a share of the statement balance.
        min_payment_floor_cny: minimum payment floor, CNY.
        charge_off_dpd: days past due at which a defaulted balance is written off (>= 90).
        lenders_log_odds: scorecard log-odds added per extra active lender (M7).
        debt_service_log_odds: log-odds added per unit of debt-service ratio (M7).
        thin_history_log_odds: log-odds added for history shorter than thin_history_months (M3).
        thin_history_months: history length below which the thin-history term applies.
        apr_cap: regulatory cap on the platform's APR (1.0 = none).
        over_limit_tolerance: share of the limit past it up to which the platform authorises
            the household's draws, in [0, 1]: 0 declines every draw past the limit (an
            online credit line); a card issuer that lets balances run over the limit
            authorises some (see ``conf/PROVENANCE.md``). The firm's draws, the EAD and the
            policies use the limit itself.
    """

    apr_tiers: list[float] = field(default_factory=lambda: [0.073, 0.1095, 0.146, 0.1825])
    pd_tier_bounds: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.08])
    pd_calibration: str = "isotonic"
    pd_calibration_log_odds: list[float] = field(default_factory=lambda: [-3.0, 3.0])
    pd_calibration_pd: list[float] = field(default_factory=lambda: [0.001, 0.5])
    behaviour_calibration_log_odds: list[float] = field(default_factory=lambda: [-3.0, 3.0])
    behaviour_calibration_pd: list[float] = field(default_factory=lambda: [0.001, 0.5])
    behaviour_utilisation_bounds: list[float] = field(default_factory=lambda: [0.3, 0.7, 0.95])
    behaviour_utilisation_log_odds: list[float] = field(default_factory=lambda: [0.0] * 5)
    behaviour_dpd_log_odds: list[float] = field(default_factory=lambda: [0.0, 0.0])
    central_tendency_pd_12m: float = 0.03
    lgd: float = 0.8
    ccf: float = 0.2
    funding_cost_apr: float = 0.035
    min_payment_rate: float = 0.1
    min_payment_floor_cny: float = 50.0
    charge_off_dpd: int = 270
    lenders_log_odds: float = 0.25
    debt_service_log_odds: float = 1.0
    thin_history_log_odds: float = 0.3
    thin_history_months: int = 12
    apr_cap: float = 1.0
    over_limit_tolerance: float = 0.0

    def __post_init__(self) -> None:
        p = "platform"
        _prob(self, p, "lgd", "ccf", "min_payment_rate")
        _rng_check(
            self,
            p,
            {
                "central_tendency_pd_12m": CENTRAL_TENDENCY_PD_RANGE,
                "funding_cost_apr": (0.0, 1.0),
                "min_payment_floor_cny": (0.0, MAX_CONFIG_CNY),
                "charge_off_dpd": (90, 3600),
                "lenders_log_odds": (-10.0, 10.0),
                "debt_service_log_odds": (-10.0, 10.0),
                "thin_history_log_odds": (-10.0, 10.0),
                "thin_history_months": (0, 1200),
                "apr_cap": (0.0, 10.0),
                "over_limit_tolerance": (0.0, 1.0),
            },
        )
        if self.pd_calibration not in PD_CALIBRATIONS:
            raise ValueError(
                f"platform.pd_calibration = {self.pd_calibration!r} must be one of "
                f"{list(PD_CALIBRATIONS)}"
            )
        _check_map(self, "pd_calibration")
        _check_map(self, "behaviour_calibration")
        bounds = list(self.behaviour_utilisation_bounds)
        if any(not 0.0 < b <= 10.0 for b in bounds) or any(
            b <= a for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ):
            raise ValueError(
                f"platform.behaviour_utilisation_bounds = {bounds} must be strictly increasing "
                "inside (0, 10]"
            )
        for name, size in (
            ("behaviour_utilisation_log_odds", len(bounds) + 2),
            ("behaviour_dpd_log_odds", 2),
        ):
            terms = list(getattr(self, name))
            if len(terms) != size or any(not -50.0 <= v <= 50.0 for v in terms):
                raise ValueError(
                    f"platform.{name} = {terms} must hold {size} values inside [-50, 50]"
                    + (
                        " (idle band first, then one per bound and the top band)"
                        if size > 2
                        else ""
                    )
                )
        if len(self.apr_tiers) < 1 or len(self.pd_tier_bounds) != len(self.apr_tiers) - 1:
            raise ValueError(
                "platform.pd_tier_bounds must have one entry fewer than platform.apr_tiers "
                f"(got {len(self.pd_tier_bounds)} bounds for {len(self.apr_tiers)} tiers: "
                f"give {len(self.pd_tier_bounds) + 1} APR tiers or "
                f"{max(len(self.apr_tiers) - 1, 0)} bounds)"
            )
        if list(self.apr_tiers) != sorted(self.apr_tiers):
            raise ValueError(
                f"platform.apr_tiers = {self.apr_tiers} must be non-decreasing "
                "(a riskier tier never pays a lower APR)"
            )
        if any(not 0.0 <= a <= 10.0 for a in self.apr_tiers):
            raise ValueError(f"platform.apr_tiers = {self.apr_tiers} must lie in [0, 10]")
        bounds = list(self.pd_tier_bounds)
        if any(not 0.0 < b < 1.0 for b in bounds) or bounds != sorted(bounds):
            raise ValueError(f"platform.pd_tier_bounds = {bounds} must be ascending inside (0, 1)")


def _check_map(config: PlatformConfig, prefix: str) -> None:
    """Check the isotonic map ``platform.<prefix>_log_odds`` -> ``platform.<prefix>_pd``."""
    knots, knot_pd = (
        list(getattr(config, f"{prefix}_log_odds")),
        list(getattr(config, f"{prefix}_pd")),
    )
    if len(knots) < 2 or len(knot_pd) != len(knots):
        raise ValueError(
            f"platform.{prefix}_log_odds and platform.{prefix}_pd must have "
            f"the same length >= 2 (got {len(knots)} and {len(knot_pd)})"
        )
    if any(not -50.0 <= k <= 50.0 for k in knots) or any(
        b <= a for a, b in zip(knots[:-1], knots[1:], strict=True)
    ):
        raise ValueError(
            f"platform.{prefix}_log_odds = {knots} must be strictly increasing inside [-50, 50]"
        )
    if any(not 0.0 <= p <= 1.0 for p in knot_pd) or knot_pd != sorted(knot_pd):
        raise ValueError(f"platform.{prefix}_pd = {knot_pd} must be non-decreasing inside [0, 1]")
