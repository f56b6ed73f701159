"""The compiled household month's side in Python: its parameters, shock factors and arguments.

:func:`household_rows_compiled` runs the kernel of :mod:`sim.world.household_kernel`
over every borrower row: :func:`household_params` turns the household parameters and the
month's macro state into the kernel's scalars (the ordered-logit thresholds by the
kernel's :func:`~sim.world.household_kernel.logit`, bit-equal to SciPy's);
:func:`shock_factors` computes the month's lognormal factors with NumPy, as the NumPy
stage does (NumPy's SIMD float32 ``exp`` differs from libm's in the last bits for about
40 % of values, so the compiled and reference stages read these arrays rather than
recomputing them); the named tuples group the kernel's arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.rows import flat_rows
from sim.world.borrowers import RECENT_MONTHS
from sim.world.household_kernel import _household_kernel, logit
from sim.world.repayment import _EPS

if TYPE_CHECKING:
    from sim.config import BehaviourConfig
    from sim.world.borrowers import BorrowerState
    from sim.world.draws import WorldDraws
    from sim.world.repayment import TypeTables
    from sim.world.scenarios import MacroState


class HouseholdParams(NamedTuple):
    """The month's household parameters (scalars, float64) the kernel reads."""

    p_loss: float  # job-loss hazard this month (capped at 1)
    p_find: float  # job-finding hazard this month (capped at 1)
    income_multiplier: float
    unemployment_replacement: float
    seasonal_spending: float
    needs_share: float
    expense_shock_prob: float
    expense_shock_months: float
    tau_roll: float  # ordered-logit thresholds of the choice of accounts behind
    tau_cure: float
    tau_full: float
    cash_sensitivity: float
    seasoned_log_odds: float
    full_to_revolving: float
    revolving_to_full: float
    instalment_months: float
    miss_on: float  # 1.0 if current accounts miss by the cash logit, else 0.0
    tau_miss: float
    race_prob: float
    permanent_needs_share: float  # needs share + expected expense shocks, income months
    excess_spend_rate: float
    rebuild_rate: float
    reserve_months: float
    mpb_unconstrained_share: float
    line_spend_share: float
    high_risk_prob: float
    authorised: float  # draws are authorised up to this x the limit (1 + over-limit tolerance)


def household_params(
    b: BehaviourConfig, macro: MacroState, authorised: float = 1.0
) -> HouseholdParams:
    """The kernel's parameters for a month of ``macro`` (thresholds by :func:`logit`).

    ``authorised``: draws are authorised up to this multiple of the limit, >= 1.
    """
    probs = [
        b.arrears_roll_prob,
        1.0 - b.arrears_cure_prob,
        1.0 - b.arrears_cure_prob * b.arrears_full_cure_share,
    ]
    tau_roll, tau_cure, tau_full = (logit(min(max(p, _EPS), 1.0 - _EPS)) for p in probs)
    miss_on = b.current_miss_prob > 0.0
    return HouseholdParams(
        p_loss=min(b.job_loss_prob_monthly * macro.job_loss_multiplier, 1.0),
        p_find=min(b.job_find_prob_monthly * macro.job_find_multiplier, 1.0),
        income_multiplier=float(macro.income_multiplier),
        unemployment_replacement=b.unemployment_replacement,
        seasonal_spending=float(macro.seasonal_spending),
        needs_share=b.needs_share,
        expense_shock_prob=b.expense_shock_prob_monthly,
        expense_shock_months=b.expense_shock_mean_income_months,
        tau_roll=tau_roll,
        tau_cure=tau_cure,
        tau_full=tau_full,
        cash_sensitivity=b.arrears_cash_sensitivity,
        seasoned_log_odds=b.arrears_seasoned_log_odds,
        full_to_revolving=b.full_to_revolving_prob,
        revolving_to_full=b.revolving_to_full_prob,
        instalment_months=float(b.instalment_months),
        miss_on=float(miss_on),
        tau_miss=logit(min(b.current_miss_prob, 1.0 - _EPS)) if miss_on else 0.0,
        race_prob=b.race_to_default_prob,
        permanent_needs_share=(
            b.needs_share + b.expense_shock_prob_monthly * b.expense_shock_mean_income_months
        ),
        excess_spend_rate=b.excess_savings_spend_rate,
        rebuild_rate=b.savings_rebuild_rate,
        reserve_months=b.cash_reserve_income_months,
        mpb_unconstrained_share=b.mpb_unconstrained_share,
        line_spend_share=b.transactor_line_spend_share,
        high_risk_prob=b.high_risk_txn_prob_monthly,
        authorised=float(authorised),
    )


def shock_factors(draws: WorldDraws, b: BehaviourConfig) -> tuple[np.ndarray, ...]:
    """The month's lognormal factors of income, needs and discretionary spending.

    ``exp(sigma z - sigma^2 / 2)`` in float32 for each of ``z_income``, ``z_needs`` and
    ``z_discretionary`` with its ``*_sigma``, computed by NumPy exactly as the NumPy stage
    computes them (mean one; they depend only on the draws).

    Returns:
        Three ``(n,)`` float32 arrays.
    """
    pairs = (
        (draws.z_income, b.income_sigma),
        (draws.z_needs, b.needs_sigma),
        (draws.z_discretionary, b.discretionary_sigma),
    )
    return tuple(np.exp(sigma * z - 0.5 * sigma**2) for z, sigma in pairs)


class KernelRows(NamedTuple):
    """The borrower rows the kernel reads and writes (fields of ``BorrowerState``)."""

    behaviour_type: np.ndarray
    income_base_cny: np.ndarray
    limit_cny: np.ndarray
    initial_limit_cny: np.ndarray
    earmarked_cny: np.ndarray
    min_due_cny: np.ndarray
    arrears_cny: np.ndarray
    statement_cny: np.ndarray
    missed: np.ndarray
    defaulted: np.ndarray
    savings_target_cny: np.ndarray
    target_utilisation: np.ndarray
    savvy: np.ndarray
    employed: np.ndarray  # read and written from here on
    savings_cny: np.ndarray
    balance_cny: np.ndarray
    full_payer: np.ndarray
    months_since_draw: np.ndarray
    income_cny: np.ndarray  # written from here on
    high_risk_flag: np.ndarray
    delinquent_flat: np.ndarray  # the delinquency history (month m, row i) at m * stride + i
    delinquent_stride: int
    delinquent_months: int
    draws_recent: np.ndarray  # this month's slot of the ring buffer, (n,) int16
    early_recent: np.ndarray


class KernelDraws(NamedTuple):
    """The month's draws (fields of ``WorldDraws``, normals as their lognormal factors)."""

    u_job: np.ndarray
    income_factor: np.ndarray
    needs_factor: np.ndarray
    discretionary_factor: np.ndarray
    u_expense_shock: np.ndarray
    e_expense_shock: np.ndarray
    u_skip: np.ndarray
    u_habit: np.ndarray
    u_race: np.ndarray
    u_high_risk: np.ndarray
    u_line_draws: np.ndarray
    line_draws_cdf: np.ndarray
    other_due_cny: np.ndarray  # (n,), or (0,) when there are no other lenders' dues
    other_debt_cny: np.ndarray  # (n,), or (0,) when there is no other debt


class KernelFlows(NamedTuple):
    """The flows the kernel writes (fields of ``HouseholdFlows``), every row."""

    income_cny: np.ndarray
    consumption_cny: np.ndarray
    draws_cny: np.ndarray
    repayments_cny: np.ndarray
    scheduled_payment_cny: np.ndarray
    early_repayment_cny: np.ndarray
    unmet_need_cny: np.ndarray
    unmet_credit_cny: np.ndarray
    draw_count: np.ndarray
    early_repayment_count: np.ndarray
    other_payment_cny: np.ndarray


def household_rows_compiled(
    state: BorrowerState,
    draws: WorldDraws,
    macro: MacroState,
    b: BehaviourConfig,
    step: int,
    out: object,
    tables: TypeTables,
    other_due_cny: np.ndarray | None,
    other_debt_cny: np.ndarray | None,
    authorised: float = 1.0,
) -> None:
    """Every row's household month by the compiled kernel, in place (as the NumPy stage).

    Args: as :func:`sim.world.households.household_month`; ``out`` is its
    ``HouseholdFlows`` (every array is written for every row), ``tables`` the type tables.
    """
    slot = step % RECENT_MONTHS
    history, stride = flat_rows(state.delinquent_recent)
    rows = KernelRows(
        **{f: getattr(state, f) for f in KernelRows._fields[:-5]},  # fields of the state
        delinquent_flat=history,
        delinquent_stride=stride,
        delinquent_months=state.delinquent_recent.shape[0],
        draws_recent=state.draws_recent[slot],
        early_recent=state.early_recent[slot],
    )
    income_f, needs_f, disc_f = shock_factors(draws, b)
    none = np.zeros(0)
    month_draws = KernelDraws(
        **{f: getattr(draws, f) for f in KernelDraws._fields if f.startswith(("u_", "e_"))},
        line_draws_cdf=np.array(draws.line_draws_cdf),  # writeable: one array type
        income_factor=income_f,
        needs_factor=needs_f,
        discretionary_factor=disc_f,
        other_due_cny=none if other_due_cny is None else other_due_cny,
        other_debt_cny=none if other_debt_cny is None else other_debt_cny,
    )
    flows = KernelFlows(**{f: getattr(out, f) for f in KernelFlows._fields})
    t = tables
    params = household_params(b, macro, authorised)
    _household_kernel(
        params, t.due_weight, t.skip_prob, t.propensity, t.mpb, rows, month_draws, flows
    )


#: The uniforms of ``WorldDraws``, in the order :func:`flow_arrays` hands them out from the end.
_UNIFORMS = (
    "u_habit",
    "u_line_draws",
    "u_high_risk",
    "u_race",
    "u_skip",
    "u_expense_shock",
    "u_job",
)


def spare_uniforms(draws: WorldDraws, n: int) -> list[np.ndarray]:
    """The month's uniforms that the kernel's flows may be written over.

    The kernel reads a row's uniforms before it writes the row's flows, so a flow may share
    a uniform's array when nothing reads the draws after the stage (the model releases
    them): the same numbers, 56 bytes a row less at the stage's peak. Only ``(n,)``
    float64 arrays that own their writeable memory, each once, are returned.
    """
    arrays = [getattr(draws, name) for name in _UNIFORMS]
    return [
        a
        for a in arrays
        if a.dtype == np.float64
        and a.shape == (n,)
        and a.base is None
        and a.flags.c_contiguous
        and a.flags.writeable
        and sum(b is a for b in arrays) == 1
    ]


def flow_arrays(
    names: Iterable[str], n: int, draws: WorldDraws | None = None
) -> dict[str, np.ndarray]:
    """Uninitialised ``(n,)`` arrays of the flows ``names``: int16 counts, float64 CNY.

    With ``draws``, the CNY flows take the arrays of :func:`spare_uniforms` while any are
    left (the compiled kernel only: it reads a row's draws before it writes the row).
    """
    spare = [] if draws is None else spare_uniforms(draws, n)
    arrays = {}
    for name in names:
        if name.endswith("count"):
            arrays[name] = np.empty(n, np.int16)
        else:
            arrays[name] = spare.pop() if spare else np.empty(n)
    return arrays
