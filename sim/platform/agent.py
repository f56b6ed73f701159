"""The ``Platform`` Mesa agent: re-scores borrowers, prices them and reviews their limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
from scipy import special

from sim.blocks import in_blocks
from sim.config import PlatformConfig
from sim.platform.earmark_kernel import earmark_within_headroom
from sim.platform.policies import LimitDecision, LimitPolicy, PortfolioView
from sim.platform.policies.base import cut_floor_cny
from sim.platform.policies.reasons import ReasonCode
from sim.platform.scorecard import (
    PDModel,
    book_behaviour_log_odds,
    feature_columns_from_state,
    shift_to_mean_pd,
)
from sim.platform.scoring_kernel import rescore_dispatch
from sim.platform.view_kernel import ring_total, view_rows
from sim.units import round_cny
from sim.world.borrowers import BorrowerState
from sim.world.firms import firm_signals

if TYPE_CHECKING:
    from sim.month import Month, World


#: The reason codes a change may carry, ``(len(ReasonCode) - 1,)`` int64.
_REASON_CODES = np.array([int(c) for c in ReasonCode if c != ReasonCode.NONE])


class Platform(mesa.Agent):
    """The lender running a limit policy (PD model, pricing, policy, appetite).

    Each month (stage ``platform_review``) it re-scores every borrower with its
    scorecard (M11), reprices by risk tier, builds the read-only portfolio view and
    applies its policy's decision, recording one event per changed limit.

    It is a Mesa agent that joins its model's registry only when the model's agents are
    first asked for (:meth:`join`, called by the model together with the lazily made
    borrower and firm views): a run that never lists its agents holds no Mesa agent, so
    nothing in Mesa's registries keeps a finished model alive.

    Args:
        config: platform parameters.
        policy: the limit policy (already built from config).
        scorecard: the PD model fitted on the UCI data.
        rng: the platform's random stream (policy randomness only).
        twd_per_cny: NT$ per CNY of the scorecard's money features, > 0: the inverse of
            the population's ``cny_per_twd x limit_scale``, so an account resampled from a
            UCI row scores its amounts on the scale the card was fitted on.
    """

    def __init__(
        self,
        config: PlatformConfig,
        policy: LimitPolicy,
        scorecard: PDModel,
        rng: np.random.Generator,
        twd_per_cny: float = 4.0,
    ) -> None:
        if not twd_per_cny > 0:
            raise ValueError(f"Platform: twd_per_cny must be > 0, got {twd_per_cny}")
        self.config = config
        self.policy = policy
        self.scorecard = scorecard
        self.platform_rng = rng
        self.twd_per_cny = float(twd_per_cny)
        #: Central-tendency intercept shift (set at the first scoring; None for isotonic).
        self.pd_shift: float | None = None
        #: ``(n,)`` log-odds of the last scoring (:meth:`rescore`), before the PD mapping.
        self.score_log_odds: np.ndarray = np.empty(0)
        #: ``(n,)`` behavioural terms of that scoring (zeros unless behavioural).
        self.score_behaviour_log_odds: np.ndarray = np.empty(0)
        self.apr_cap = config.apr_cap

    def join(self, model: mesa.Model) -> None:
        """Register with ``model`` as a Mesa agent (Mesa's own agent constructor)."""
        mesa.Agent.__init__(self, model)

    def features(self, s: BorrowerState, rows: slice = slice(None)) -> tuple[np.ndarray, ...]:
        """The scorecard's feature columns of ``rows`` (:func:`feature_columns_from_state`).

        From the account's state and its ring buffers: ``missed``, ``delinquent_recent``,
        ``payment_ratio_recent``, ``billed_cny``, ``limit_cny``, ``billed_recent_cny`` and
        ``payment_recent_cny``, money converted to NT$ by :attr:`twd_per_cny`.

        Returns:
            Seven ``(len(rows),)`` arrays in ``FEATURE_NAMES`` order.
        """
        twd = self.twd_per_cny
        return feature_columns_from_state(
            months_late=np.minimum(s.missed[rows], 3),
            delinquent_months_6m=ring_total(s.delinquent_recent[:, rows], np.int8),
            payment_ratio_min_3m=s.payment_ratio_recent[:, rows].min(axis=0),
            statement_twd=s.billed_cny[rows] * twd,
            limit_twd=s.limit_cny[rows] * twd,
            statement_mean_3m_twd=s.billed_recent_cny[:, rows].mean(axis=0) * twd,
            payment_mean_5m_twd=s.payment_recent_cny[:, rows].mean(axis=0) * twd,
        )

    def log_odds(self, s: BorrowerState, rows: slice = slice(None)) -> np.ndarray:
        """Scorecard log-odds plus the platform's own terms for M3 and M7.

        The UCI-fitted scorecard sees the behaviour features of :meth:`features`. Thin
        history (M3), extra lenders and the debt-service ratio (M7) are added with
        configured log-odds weights (the UCI data has no such columns: assumptions).

        Args:
            s: borrower arrays.
            rows: the rows to score (default all).

        Returns:
            ``(len(rows),)`` float64 log-odds before the PD calibration (:meth:`rescore`).
        """
        x = self.features(s, rows)
        c = self.config
        dsr = s.debt_service_cny[rows] / np.maximum(s.income_cny[rows], 1.0)
        return (
            self.scorecard.log_odds_columns(x)
            + c.thin_history_log_odds * (s.history_months[rows] < c.thin_history_months)
            + c.lenders_log_odds * np.maximum(s.lenders_count[rows] - 1, 0)
            + c.debt_service_log_odds * np.minimum(dsr, 5.0)
        )

    def rescore(self, s: BorrowerState) -> None:
        """Update ``pd_12m`` and the APR tier of every borrower (mechanism M11).

        The log-odds ``z`` (:meth:`log_odds`) become the 12-month PD by the configured
        mapping (``platform.pd_calibration``): ``"isotonic"`` interpolates the fixed
        knots ``pd_calibration_log_odds`` -> ``pd_calibration_pd`` (estimated on realised
        12-month defaults, :mod:`sim.empirical.pd_calibration`); ``"behavioural"`` adds
        each line's utilisation and arrears terms (``book_behaviour_log_odds``) and
        interpolates the ``behaviour_calibration_*`` knots; with ``"central_tendency"``
        the first call fixes an intercept shift so that the initial book's mean PD is
        ``central_tendency_pd_12m`` and later months keep it. ``z`` and the terms are
        kept in :attr:`score_log_odds`, :attr:`score_behaviour_log_odds`. Borrowers are
        scored in row blocks (:func:`sim.blocks.in_blocks`).

        Args:
            s: borrower arrays; ``pd_12m`` and ``apr`` are replaced by new arrays.
        """
        if rescore_dispatch(self, s):  # compiled or reference (sim.compiled.implementation)
            return
        n = s.n
        c = self.config
        z_all = np.empty(n)
        in_blocks(n, lambda r: z_all.__setitem__(r, self.log_odds(s, r)))
        if self.pd_shift is None and c.pd_calibration == "central_tendency":
            self.pd_shift = shift_to_mean_pd(z_all, c.central_tendency_pd_12m)
        behavioural = c.pd_calibration == "behavioural"
        b_all = book_behaviour_log_odds(s, c) if behavioural else np.zeros(n)
        pd_12m, apr = np.empty(n), np.empty(n)
        knots = (c.behaviour_calibration_log_odds, c.behaviour_calibration_pd)

        def score(rows: slice) -> None:
            z = z_all[rows]
            pd_rows = (
                np.interp(z + b_all[rows], *knots) if behavioural else self._pd_from_log_odds(z)
            )
            pd_12m[rows] = pd_rows
            apr[rows] = self.apr_of(pd_rows)

        in_blocks(n, score)
        self.score_log_odds, self.score_behaviour_log_odds = z_all, b_all
        s.pd_12m = pd_12m
        s.apr = apr

    def _pd_from_log_odds(self, z: np.ndarray) -> np.ndarray:
        """The application map of log-odds -> 12-month PD (see :meth:`rescore`)."""
        c = self.config
        if c.pd_calibration != "central_tendency":
            knots = np.asarray(c.pd_calibration_log_odds, dtype=np.float64)
            return np.interp(z, knots, np.asarray(c.pd_calibration_pd, dtype=np.float64))
        if self.pd_shift is None:
            raise RuntimeError("Platform: rescore the book first (the PD level is unset)")
        return special.expit(z + self.pd_shift)

    def pd_of(self, s: BorrowerState) -> np.ndarray:
        """Application 12-month PD of every row of ``s`` (reads only).

        Used to underwrite applicants (:mod:`sim.platform.underwriting`): the book's
        mapping of :meth:`log_odds`, without the behavioural terms of a line the applicant
        does not have yet (``pd_calibration: behavioural`` uses the isotonic map here).

        Raises:
            RuntimeError: with ``central_tendency`` calibration, before the first
                :meth:`rescore` (the level is not fixed yet).
        """
        return self._pd_from_log_odds(self.log_odds(s))

    def apr_of(self, pd_12m: np.ndarray) -> np.ndarray:
        """APR of the risk tier of each PD (the pricing of :meth:`rescore`), float64."""
        tiers = np.asarray(self.config.apr_tiers, dtype=np.float64)
        # Tier = number of bounds <= PD (the bounds are few and increasing): a comparison
        # per bound is cheaper than a binary search per borrower.
        tier = np.zeros(np.shape(pd_12m), dtype=np.intp)
        for bound in self.config.pd_tier_bounds:
            tier += pd_12m >= bound
        return np.minimum(tiers[tier], self.apr_cap)

    def _derived_features(self, world: World, month: Month) -> dict[str, np.ndarray]:
        """The view's per-borrower features derived from state."""
        s = world.borrowers
        firm = firm_signals(world, month.macro.calendar_month)
        return {
            **view_rows(s),  # utilisation, ring totals, DSR, is_open: compiled/numpy/reference
            "dpd": s.dpd,
            "owns_firm": firm["owns_firm"],
            "firm_cash_buffer_days": firm["cash_buffer_days"],
            "firm_peak_ahead": firm["peak_ahead"],
            "firm_uses_personal_credit": firm["uses_personal_credit"],
            "firm_peak_need_cny": firm["peak_need_cny"],
            "firm_age_months": firm["age_months"],
        }

    def portfolio_view(self, world: World, month: Month) -> PortfolioView:
        """The read-only view of this month handed to the policy.

        Args:
            world: the run's state.
            month: this month's record (its step and macro state).
        """
        s = world.borrowers
        derived = self._derived_features(world, month)
        return PortfolioView(
            step=month.step - world.burn_in_months,
            calendar_month=month.macro.calendar_month,
            macro_regime=month.macro.regime,
            limit_cny=s.limit_cny,
            initial_limit_cny=s.initial_limit_cny,
            balance_cny=s.balance_cny,
            pd_12m=s.pd_12m,
            # A line being closed (paid down after its borrower asked) takes no decisions.
            is_open=derived.pop("is_open"),
            mob=s.mob,
            history_months=s.history_months,
            on_time_months=s.on_time_months,
            months_since_draw=s.months_since_draw,
            spending_diversity=s.spending_diversity,
            high_risk_flag=s.high_risk_flag,
            lenders_count=s.lenders_count,
            income_cny=s.income_cny,
            savvy=s.savvy,
            risk_appetite=world.config.scenario.risk_appetite,
            firm_uses_personal_credit=derived.pop("firm_uses_personal_credit"),
            firm_peak_need_cny=derived.pop("firm_peak_need_cny"),
            earmarked_cny=s.earmarked_cny,
            firm_age_months=derived.pop("firm_age_months"),
            **derived,
        )

    def review_limits(
        self, world: World, month: Month
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run the policy and apply its decision.

        Args:
            world: the run's state; the limits changed are written to its borrowers.
            month: this month's record.

        Returns:
            ``(rows, old_limit_cny, reason)`` of the changed lines (int64, float64, int8).

        Raises:
            TypeError: the policy returned something other than a ``LimitDecision``.
            ValueError: the policy returned a malformed decision (wrong shape, a change
                without a reason, a negative or non-finite limit, a raise above the
                policy's ``max_limit_cny``, a cut under the drawn balance or
                ``min_limit_cny``, or a change on a closed line).
        """
        s = world.borrowers
        view = self.portfolio_view(world, month)
        decision = self.policy.review(view, self.platform_rng)
        name = self.policy.name
        if not isinstance(decision, LimitDecision):
            raise TypeError(
                f"policy {name!r} returned {type(decision).__name__}; review() must return "
                "a LimitDecision"
            )
        proposed = np.asarray(decision.new_limit_cny, dtype=np.float64)
        reason = np.asarray(decision.reason)
        if proposed.shape != s.limit_cny.shape or reason.shape != s.limit_cny.shape:
            raise ValueError(
                f"policy {name!r} returned limits of shape {proposed.shape} and reasons of "
                f"shape {reason.shape}; both must be {s.limit_cny.shape}"
            )
        if reason.dtype.kind not in "iu":
            raise ValueError(
                f"policy {name!r} returned reasons of dtype {reason.dtype}; they must be "
                "integer ReasonCode values"
            )
        # Limits are whole cents, so a proposal equal to the limit rounds to it: only the
        # few proposals that differ are rounded and checked.
        rows = np.flatnonzero(proposed != s.limit_cny)
        new = round_cny(proposed[rows])
        old = s.limit_cny[rows]
        changed = new != old
        rows, new, old, codes = rows[changed], new[changed], old[changed], reason[rows[changed]]
        if not np.isfinite(new).all():
            raise ValueError(f"policy {name!r} returned a limit that is NaN or infinite")
        if np.any(new < 0):
            raise ValueError(f"policy {name!r} returned a negative limit")
        if np.any(codes == ReasonCode.NONE):
            raise ValueError(f"policy {name!r} changed a limit without a reason code")
        known = np.isin(codes, _REASON_CODES)
        if not known.all():
            raise ValueError(
                f"policy {name!r} returned reason code {int(codes[~known][0])}, which is not "
                "a ReasonCode"
            )
        codes = codes.astype(np.int8)
        # The platform's invariants (what LimitPolicy.clip keeps): a raise may not pass the
        # ceiling, and a cut may not go under the drawn balance or the floor (a line
        # already beyond them may still move towards them).
        min_limit, max_limit = self.policy.limit_bounds(rows)
        over = (new > old) & (new > max_limit)
        if over.any():
            raise ValueError(
                f"policy {name!r} raised a limit to {new[over][0]:,.2f} CNY, above "
                f"policy.max_limit_cny = {max_limit[over][0]:,.2f}"
            )
        floor = np.minimum(old, cut_floor_cny(s.balance_cny[rows], min_limit))
        under = new < floor
        if under.any():
            raise ValueError(
                f"policy {name!r} cut a limit to {new[under][0]:,.2f} CNY, below the drawn "
                f"balance or policy.min_limit_cny ({floor[under][0]:,.2f} CNY); "
                "LimitPolicy.clip keeps cuts at or above both"
            )
        if not (s.is_open[rows] & ~s.closing[rows]).all():
            raise ValueError(f"policy {name!r} changed the limit of a closed line")
        # A new array, not written in place: this month's view keeps the limits it saw.
        limit = s.limit_cny.copy()
        limit[rows] = new
        s.limit_cny = limit
        self._apply_earmark(s, decision)
        is_raise = new > old
        # ``rows`` are distinct, so a plain indexed increment counts each change once.
        s.raises_count[rows[is_raise]] += 1
        s.cuts_count[rows[~is_raise]] += 1
        return rows, old, codes

    def _apply_earmark(self, s: BorrowerState, decision: LimitDecision) -> None:
        """Set the limit's earmarked (firm-only) part from the decision, within the headroom.

        ``decision.earmarked_cny`` None keeps the current earmark. Either way it ends
        within ``[0, limit - balance]`` and 0 on a closed line.

        Raises:
            ValueError: an earmark of the wrong shape, negative or not finite.
        """
        name = self.policy.name
        earmark = s.earmarked_cny if decision.earmarked_cny is None else decision.earmarked_cny
        earmark = np.asarray(earmark, dtype=np.float64)
        if earmark.shape != s.limit_cny.shape:
            raise ValueError(
                f"policy {name!r} returned earmarks of shape {earmark.shape}; "
                f"it must be {s.limit_cny.shape}"
            )
        kept = earmark_within_headroom(s, earmark)  # compiled, numpy or reference
        if kept is None:
            raise ValueError(f"policy {name!r} returned an earmark that is negative or not finite")
        s.earmarked_cny = kept


def platform_review_stage(world: World, month: Month) -> None:
    """Stage ``platform_review``: re-score and reprice (M11), then run the limit policy.

    Writes one limit event per changed line into ``month.limit_events`` and the month's
    cut and raise counts (``month.limit_cuts``, ``month.limit_raises``).
    """
    platform = world.platform
    platform.rescore(world.borrowers)
    rows, old, codes = platform.review_limits(world, month)
    new = world.borrowers.limit_cny[rows]
    month.add_limit_events(rows, old, new, codes)
    month.limit_cuts += int((new < old).sum())
    month.limit_raises += int((new > old).sum())
