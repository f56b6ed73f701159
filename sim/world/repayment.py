"""Repayment decisions of a household month: payment habits and the choices of accounts behind.

Two mechanisms, both vectorised over the rows of a block (:mod:`sim.world.households`
calls them in step 3 of the household month):

* **Payment habits that change.** A current account's habit is to pay the statement in
  full or to revolve (pay by its behaviour type's rule). Each month a full payer switches
  to revolving with ``full_to_revolving_prob``, and always when its cash cannot cover the
  statement (a shock forces it to carry a balance); a revolver whose cash covers the
  statement switches to paying in full with ``revolving_to_full_prob``. Calibrated to the
  UCI month-to-month transitions (CALIBRATION.md E4: paid in full stays so about 89 % of
  the time; paid in full -> revolving about 8 %, revolving -> paid in full about 4 %).
  Behaviour types stay as the initial condition and the reporting segment.
* **New delinquency.** A current account misses its due with a chance that falls with its
  cash position (:func:`miss_prob`), besides any cash shortfall.
* **Delinquency that can cure.** An account behind chooses, by an ordered logit on its
  cash position ``x = log(cash / amount due)``, to roll (pay nothing: one more missed
  instalment), hold (pay this month's instalment: it stays in its DPD bucket), cure (pay
  the whole due, arrears included: back to current) or cure in full (pay the statement).
  With a standard logistic draw ``e``, the latent ``w = beta * x + e`` is compared with
  thresholds set so that a borrower whose cash equals the due rolls and cures with the
  configured probabilities (a configured share of the cures in full); more cash means
  more cures, less cash more rolls, and a choice is always limited by the cash there is.
  Seasoning: an account behind for more than one of the last six months has its latent
  shifted by ``arrears_seasoned_log_odds`` (below 0: new delinquency cures more often
  than seasoned; in the UCI data about half of new delinquency cures the next month,
  against a quarter of all accounts behind, CALIBRATION.md E4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.config import BehaviourConfig
from sim.world.borrowers import BehaviourType

#: Choices of an account behind, in order of the amount paid.
ROLL, HOLD, CURE, FULL_CURE = 0, 1, 2, 3
_EPS = 1e-12


def switch_habits(
    full_payer: np.ndarray,
    cash_cny: np.ndarray,
    statement_cny: np.ndarray,
    u_habit: np.ndarray,
    eligible: np.ndarray,
    b: BehaviourConfig,
) -> np.ndarray:
    """This month's payment habit of each row (see the module docstring).

    Args:
        full_payer: ``(n,)`` bool, last month's habit (True = pays the statement).
        cash_cny: ``(n,)`` cash on hand after income and essential spending, CNY.
        statement_cny: ``(n,)`` statement balance being paid this month, CNY.
        u_habit: ``(n,)`` uniforms of the ``habits`` stream.
        eligible: ``(n,)`` bool, rows whose habit may switch (open, current accounts).
        b: household parameters (``full_to_revolving_prob``, ``revolving_to_full_prob``).

    Returns:
        ``(n,)`` bool, the new habit; rows without a statement or not eligible keep theirs.
    """
    billed = eligible & (statement_cny > 0)
    affordable = cash_cny >= statement_cny
    to_revolving = full_payer & billed & (~affordable | (u_habit < b.full_to_revolving_prob))
    to_full = ~full_payer & billed & affordable & (u_habit < b.revolving_to_full_prob)
    return (full_payer & ~to_revolving) | to_full


def arrears_choice(
    cash_cny: np.ndarray,
    due_cny: np.ndarray,
    u: np.ndarray,
    b: BehaviourConfig,
    months_behind: np.ndarray | None = None,
) -> np.ndarray:
    """Ordered-logit choice of accounts behind: ROLL, HOLD, CURE or FULL_CURE (int8).

    The latent is ``beta * log(cash / due) + s * [months_behind > 1] + e``: with
    ``s = arrears_seasoned_log_odds`` below 0, an account behind for more than a month
    cures less and rolls more at the same cash than one in its first month behind (the
    configured probabilities are those of the first month).

    Args:
        cash_cny: ``(k,)`` cash on hand, CNY (>= 0).
        due_cny: ``(k,)`` minimum due including arrears, CNY (> 0).
        u: ``(k,)`` uniforms in [0, 1) (the world's ``u_skip``), turned into the logistic
            draw by the logit.
        b: household parameters (``arrears_*``).
        months_behind: ``(k,)`` months behind in the last
            :data:`sim.world.borrowers.DELINQUENCY_HISTORY_MONTHS` (>= 1 for an account
            behind); None reads as 1 for every account.

    Returns:
        ``(k,)`` int8 choice codes.
    """
    x = np.log(np.maximum(cash_cny, 1.0) / np.maximum(due_cny, 1.0))
    latent = b.arrears_cash_sensitivity * x + special.logit(np.clip(u, _EPS, 1.0 - _EPS))
    if months_behind is not None and b.arrears_seasoned_log_odds != 0.0:
        latent += b.arrears_seasoned_log_odds * (np.asarray(months_behind) > 1)
    probs = np.clip(
        [
            b.arrears_roll_prob,
            1.0 - b.arrears_cure_prob,
            1.0 - b.arrears_cure_prob * b.arrears_full_cure_share,
        ],
        _EPS,
        1.0 - _EPS,
    )
    tau_roll, tau_cure, tau_full = special.logit(probs)
    choice = (latent >= tau_roll).astype(np.int8)
    choice += latent >= tau_cure
    choice += latent >= tau_full
    return choice


def miss_prob(cash_cny: np.ndarray, due_cny: np.ndarray, b: BehaviourConfig) -> np.ndarray:
    """Chance that a current account misses its due this month, ``(k,)`` float64.

    A logit in the same cash position as the choice of accounts behind:
    ``F(logit(current_miss_prob) - beta * log(cash / due))`` with ``beta`` the
    ``arrears_cash_sensitivity``; ``current_miss_prob`` at cash equal to the due (0 = never).
    """
    if b.current_miss_prob <= 0.0:
        return np.zeros(cash_cny.shape)
    x = np.log(np.maximum(cash_cny, 1.0) / np.maximum(due_cny, 1.0))
    tau = special.logit(min(b.current_miss_prob, 1.0 - _EPS))
    return special.expit(tau - b.arrears_cash_sensitivity * x)


def arrears_payment(
    choice: np.ndarray,
    due_cny: np.ndarray,
    arrears_cny: np.ndarray,
    habit_payment_cny: np.ndarray,
    statement_cny: np.ndarray,
) -> np.ndarray:
    """Payment an account behind wants to make for its choice, CNY ``(k,)``.

    Roll: nothing. Hold: the instalment ``due - arrears``. Cure: its habitual payment on the
    instalment plus the arrears (at least the due). Full cure: the statement (at least the due).
    """
    instalment = np.maximum(due_cny - arrears_cny, 0.0)
    cure = np.maximum(habit_payment_cny + arrears_cny, due_cny)
    full = np.maximum(statement_cny, due_cny)
    return np.choose(choice, [np.zeros_like(due_cny), instalment, cure, full])


@dataclass(frozen=True)
class TypeTables:
    """Per-behaviour-type parameters as lookup tables, ``(len(BehaviourType),)`` float64."""

    due_weight: np.ndarray
    skip_prob: np.ndarray
    propensity: np.ndarray
    mpb: np.ndarray

    @staticmethod
    def of(b: BehaviourConfig) -> TypeTables:
        """The tables of household parameters ``b``."""
        T = BehaviourType
        return TypeTables(
            # Revolving habit: the minimum instalment plus a share (revolvers, and
            # transactors or inactive borrowers when they revolve), instalment payers (and
            # the delinquent-prone) the minimum.
            due_weight=_table(
                {
                    T.REVOLVER: 1.0 + b.revolver_extra_payment,
                    T.TRANSACTOR: 1.0 + b.revolver_extra_payment,
                    T.INACTIVE: 1.0 + b.revolver_extra_payment,
                    T.INSTALMENT: 1.0,
                    T.DELINQUENT_PRONE: 1.0,
                }
            ),
            skip_prob=_table({T.DELINQUENT_PRONE: b.delinquent_skip_prob_monthly}),
            propensity=_table(
                {
                    T.REVOLVER: b.revolver_borrow_propensity,
                    T.DELINQUENT_PRONE: b.delinquent_borrow_propensity,
                    T.INSTALMENT: b.instalment_borrow_propensity,
                }
            ),
            mpb=_table(
                {
                    T.REVOLVER: b.revolver_mpb,
                    T.DELINQUENT_PRONE: b.delinquent_mpb,
                    T.INSTALMENT: b.instalment_mpb,
                }
            ),
        )


def _table(values: dict[BehaviourType, float]) -> np.ndarray:
    """A parameter by behaviour type (0.0 for types not listed)."""
    table = np.zeros(len(BehaviourType))
    for t, v in values.items():
        table[int(t)] = v
    return table
