"""Household month: income, spending, use of the credit line and repayment decisions.

Everything here is vectorised over all borrowers. The world's random numbers for a
month are drawn in one call, :func:`draw_world`, with fixed shapes and a fixed order,
so two policies under the same seed see exactly the same shocks (common random
numbers) whatever their limits do to balances.

Order inside the month (part of stages ``household`` and ``funding`` of the model):

1. employment transitions and income;
2. essential spending (needs, plus occasional expense shocks): from cash, then the
   credit line, then unmet (consumption is cut); the line's headroom here and below
   leaves out the part earmarked for the owned firm (``BorrowerState.earmarked_cny``) and
   reaches past the limit by the lender's over-limit tolerance, if any;
3. payment towards this month's minimum due (from last month's statement), limited by
   cash: by payment habit (in full or revolving, switching month to month) for current
   accounts, by a cash-driven roll / hold / cure choice for accounts behind
   (:mod:`sim.world.repayment`; made at the start of the month, paid before essential
   spending); then other lenders' minimum dues (:mod:`sim.lending.channels`) from cash;
4. race to default: delinquent, unemployed borrowers may draw their remaining limit;
5. discretionary spending (buffer-stock: permanent income at the household's savings
   target, more above it, less below it): from cash above a reserve, then (by type-specific
   propensity) the credit line towards a habitual debt level (other lenders' balances
   count towards it); credit wanted but not available is unmet credit need;
6. transactors route part of their spending through the line and repay it at once
   (M1/M2); credit-savvy ones (M10) plan one draw and repay at the due date.

Money identity (tested): ``savings_after = savings_before + income + draws -
repayments - other_payment - consumption``, per borrower, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.blocks import in_blocks
from sim.compiled import implementation
from sim.config import BehaviourConfig
from sim.units import round_cny, round_cny_inplace
from sim.world.borrowers import RECENT_MONTHS, BehaviourType, BorrowerState
from sim.world.draws import WorldDraws
from sim.world.household_compiled import flow_arrays, household_rows_compiled
from sim.world.household_reference import household_rows_reference
from sim.world.repayment import (
    TypeTables,
    arrears_choice,
    arrears_payment,
    miss_prob,
    switch_habits,
)
from sim.world.scenarios import MacroState

if TYPE_CHECKING:
    from sim.month import Month, World


@dataclass
class HouseholdFlows:
    """Per-borrower flows of one household month, CNY, shape ``(n_borrowers,)``.

    Attributes:
        income_cny: income received.
        consumption_cny: spending actually done (needs + discretionary).
        draws_cny: platform line draws.
        repayments_cny: payments to the platform (scheduled + same-month repayments).
        scheduled_payment_cny: payment towards this month's minimum due (statement).
        early_repayment_cny: draws repaid within the month they were made.
        unmet_need_cny: essential spending that could not be funded.
        unmet_credit_cny: credit wanted but not available (needs gap + borrowing wish).
        draw_count: number of draws, int16.
        early_repayment_count: draws repaid in the same month, int16.
        other_payment_cny: payments towards other lenders' minimum dues.
    """

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


def household_month(
    state: BorrowerState,
    draws: WorldDraws,
    macro: MacroState,
    behaviour: BehaviourConfig,
    step: int,
    *,
    other_due_cny: np.ndarray | None = None,
    other_debt_cny: np.ndarray | None = None,
    over_limit_tolerance: float = 0.0,
    recycle_draws: bool = False,
) -> HouseholdFlows:
    """Run one household month in place on ``state`` (see the module docstring).

    Updates ``employed``, ``income_cny``, ``savings_cny``, ``balance_cny``, the draw /
    early-repayment ring buffers, ``months_since_draw`` and ``high_risk_flag``, in place.
    Every borrower's month depends only on its own row. As :func:`sim.compiled.implementation`
    says, the rows run in one compiled pass (:mod:`sim.world.household_kernel`), in NumPy
    blocks of :data:`sim.blocks.BLOCK_ROWS` (the result does not depend on the block size)
    or one borrower at a time (:mod:`sim.world.household_reference`): the same numbers.

    Args:
        state: borrower arrays, modified in place.
        draws: this month's world draws.
        macro: this month's macro state.
        behaviour: household parameters.
        step: simulated month (1-based), selects the ring-buffer slot.
        other_due_cny: ``(n,)`` minimum payments due to other lenders this month
            (paid after the platform's, as far as cash allows); none if None.
        other_debt_cny: ``(n,)`` balances owed to other lenders, counted towards the
            habitual debt level that drives discretionary borrowing; none if None.
        over_limit_tolerance: share of the limit past it up to which the lender authorises
            the household's draws (``platform.over_limit_tolerance``), >= 0; 0 = no draw
            past the limit.
        recycle_draws: nothing reads ``draws`` after this stage: the compiled kernel
            writes seven flows over their uniforms (:func:`flow_arrays`).

    Returns:
        The month's flows (arrays of their own, not views of ``state``).
    """
    n = state.n
    # Uninitialised: every row of every flow is written (zeroing costs a pass over 1 M rows).
    recycled = draws if recycle_draws and implementation() == "compiled" else None
    flows = HouseholdFlows(**flow_arrays(HouseholdFlows.__dataclass_fields__, n, recycled))
    tables = TypeTables.of(behaviour)
    args = (draws, macro, behaviour, step)
    authorised = 1.0 + over_limit_tolerance  # draws authorised up to this x the limit
    if implementation() == "numpy":
        in_blocks(
            n,
            lambda rows: _household_rows(
                state, *args, rows, flows, tables, other_due_cny, other_debt_cny, authorised
            ),
        )
    else:  # the same rules compiled, or written per borrower (the tests' oracle)
        run = (
            household_rows_compiled if implementation() == "compiled" else household_rows_reference
        )
        run(state, *args, flows, tables, other_due_cny, other_debt_cny, authorised)
    return flows


def _household_rows(
    state: BorrowerState,
    draws: WorldDraws,
    macro: MacroState,
    b: BehaviourConfig,
    step: int,
    sl: slice,
    out: HouseholdFlows,
    tables: TypeTables,
    other_due_cny: np.ndarray | None,
    other_debt_cny: np.ndarray | None,
    authorised: float,
) -> None:
    """The household month of rows ``sl``: reads and writes only those rows."""
    btype = state.behaviour_type[sl]
    type_index = btype.astype(np.intp)  # lookups by a native-size index: 2x the int8's
    base = state.income_base_cny[sl]
    open_line = ~state.defaulted[sl]
    employed = state.employed[sl]
    limit = state.limit_cny[sl]
    # Masks over behaviour types are near random: per-type parameters are table lookups,
    # type-specific steps run on index arrays, "x where mask, else 0" is x * mask (x >= 0).

    # 1. Employment and income.
    p_loss = min(b.job_loss_prob_monthly * macro.job_loss_multiplier, 1.0)
    p_find = min(b.job_find_prob_monthly * macro.job_find_multiplier, 1.0)
    u_job = draws.u_job[sl]
    lose = employed & (u_job < p_loss)
    find = ~employed & (u_job < p_find)
    employed = (employed & ~lose) | find
    state.employed[sl] = employed
    shock = np.exp(b.income_sigma * draws.z_income[sl] - 0.5 * b.income_sigma**2)
    income = round_cny_inplace(
        np.where(
            employed,
            base * macro.income_multiplier * shock,
            base * b.unemployment_replacement,
        )
    )
    state.income_cny[sl] = income
    out.income_cny[sl] = income
    cash = state.savings_cny[sl] + income
    # Accounts behind choose first (sim.world.repayment): under collection pressure the
    # instalment (hold) or the whole due (cure) is paid before essential spending.
    due = state.min_due_cny[sl] * open_line
    arrears = np.minimum(state.arrears_cny[sl], due)
    behind = state.missed[sl] >= 1
    late = np.flatnonzero(open_line & behind & (due > 0))
    seasoned = b.arrears_seasoned_log_odds != 0.0  # months behind of the last six, if used
    behind_months = state.delinquent_recent[:, late + sl.start].sum(axis=0) if seasoned else None
    choice = arrears_choice(cash[late], due[late], draws.u_skip[sl][late], b, behind_months)
    no_extra = np.zeros(late.size)
    paid_first = np.zeros(cash.shape)
    paid_first[late] = round_cny(
        np.minimum(
            arrears_payment(choice, due[late], arrears[late], no_extra, no_extra), cash[late]
        )
    )
    cash = round_cny_inplace(cash - paid_first)

    # 2. Essential spending: cash, then the line, then unmet.
    needs = base * b.needs_share
    needs *= macro.seasonal_spending
    needs *= np.exp(b.needs_sigma * draws.z_needs[sl] - 0.5 * b.needs_sigma**2)
    hit = np.flatnonzero(draws.u_expense_shock[sl] < b.expense_shock_prob_monthly)
    needs[hit] += base[hit] * b.expense_shock_mean_income_months * draws.e_expense_shock[sl][hit]
    round_cny_inplace(needs)
    # The earmarked part (a firm's peak-season tranche) is not the household's.
    earmarked = state.earmarked_cny[sl]
    available = np.maximum(limit * authorised - state.balance_cny[sl] - earmarked, 0.0) * open_line
    needs_cash = np.minimum(needs, cash)
    needs_gap = round_cny_inplace(needs - needs_cash)
    draw_needs = np.minimum(needs_gap, available)
    out.unmet_need_cny[sl] = round_cny_inplace(needs_gap - draw_needs)
    cash = round_cny_inplace(cash - needs_cash)
    available -= draw_needs
    balance = state.balance_cny[sl] + draw_needs

    # 3. Payment towards the minimum due (sim.world.repayment): current accounts by their
    # payment habit (the statement, or their type's revolving rule on the instalment),
    # missing it by a cash-driven chance (the delinquent-prone at least at their rate);
    # accounts behind add what their choice pays
    # beyond the due. One uniform per borrower and use keeps the draws common.
    statement = state.statement_cny[sl] * open_line
    full = switch_habits(
        state.full_payer[sl], cash, statement, draws.u_habit[sl], open_line & ~behind, b
    )
    state.full_payer[sl] = full
    instalment_due = due - arrears
    habit = instalment_due * tables.due_weight.take(type_index)
    instalment = np.flatnonzero(btype == BehaviourType.INSTALMENT)
    habit[instalment] = np.maximum(
        instalment_due[instalment], statement[instalment] / b.instalment_months
    )
    full_rows = np.flatnonzero(full)
    habit[full_rows] = np.maximum(statement[full_rows], due[full_rows])
    skip_prob = tables.skip_prob.take(type_index)
    current = np.flatnonzero(open_line & ~behind & (due > 0))
    skip_prob[current] = np.maximum(skip_prob[current], miss_prob(cash[current], due[current], b))
    skip = draws.u_skip[sl] < skip_prob
    desired = habit * (open_line & ~skip)
    desired[late] = arrears_payment(choice, due[late], arrears[late], habit[late], statement[late])
    desired -= paid_first
    scheduled = np.minimum(np.minimum(desired, cash), balance - paid_first)
    scheduled = round_cny_inplace(np.maximum(scheduled, 0.0, out=scheduled))
    cash = round_cny_inplace(cash - scheduled)
    scheduled += paid_first
    round_cny_inplace(scheduled)
    out.scheduled_payment_cny[sl] = scheduled
    balance -= scheduled
    # Other lenders' minimum dues, after the platform's, limited by cash (few rows owe any).
    other_payment = out.other_payment_cny[sl]
    other_payment[...] = 0.0
    if other_due_cny is not None:
        other_due = other_due_cny[sl]
        owing = np.flatnonzero(other_due > 0)
        other_paid = round_cny(np.minimum(other_due[owing], cash[owing]))
        other_payment[owing] = other_paid
        cash[owing] = round_cny(cash[owing] - other_paid)

    # 4. Race to default (Qi 2009): delinquent and unemployed borrowers draw what is left.
    race = (
        open_line
        & behind
        & ~employed
        & (draws.u_race[sl] < b.race_to_default_prob)
        & (available > 0)
    )
    draw_race = round_cny_inplace(available * race)
    available -= draw_race
    balance += draw_race
    cash += draw_race

    # 5. Discretionary spending (buffer-stock rule, Carroll 1997): at its own savings
    # target a household spends its permanent income (expected income less expected
    # needs and expense shocks), and it spends a share of any gap above the target or cuts
    # spending by a share of any shortfall below it, so savings revert to the target and
    # their distribution is stationary. Then revolving demand: revolvers draw towards their
    # habitual balance, which grows with limit increases by a type-specific marginal
    # propensity to borrow (Gross & Souleles 2002; Agarwal et al. 2018).
    permanent = base * (macro.income_multiplier * employed + b.unemployment_replacement * ~employed)
    permanent -= base * (
        b.needs_share + b.expense_shock_prob_monthly * b.expense_shock_mean_income_months
    )
    gap = state.savings_cny[sl] - state.savings_target_cny[sl]
    rate = np.where(gap > 0, b.excess_savings_spend_rate, b.savings_rebuild_rate)
    wish = np.maximum(permanent, 0.0) * macro.seasonal_spending
    wish *= np.exp(
        b.discretionary_sigma * draws.z_discretionary[sl] - 0.5 * b.discretionary_sigma**2
    )
    wish += rate * gap
    np.maximum(wish, 0.0, out=wish)
    round_cny_inplace(wish)
    reserve = base * b.cash_reserve_income_months
    disc_cash = round_cny_inplace(np.minimum(wish, np.maximum(cash - reserve, 0.0)))
    initial_limit = state.initial_limit_cny[sl]
    desired_balance = state.target_utilisation[sl] * initial_limit
    # A household borrows out of new headroom in proportion to how far its savings are
    # below its target (liquidity-constrained households borrow, others barely do).
    shortfall = np.clip(-gap / np.maximum(state.savings_target_cny[sl], 1.0), 0.0, 1.0)
    mpb = tables.mpb.take(type_index)
    mpb *= b.mpb_unconstrained_share + (1.0 - b.mpb_unconstrained_share) * shortfall
    desired_balance += mpb * np.maximum(limit - earmarked - initial_limit, 0.0)
    desired_balance -= balance
    if other_debt_cny is not None:
        desired_balance -= other_debt_cny[sl]
    borrow_wish = np.maximum(desired_balance, 0.0, out=desired_balance)
    borrow_wish *= tables.propensity.take(type_index)
    borrow_wish *= open_line
    round_cny_inplace(borrow_wish)
    draw_disc = round_cny_inplace(np.minimum(borrow_wish, available))
    out.unmet_credit_cny[sl] = round_cny_inplace(needs_gap - draw_needs + borrow_wish - draw_disc)
    available -= draw_disc
    cash = round_cny_inplace(cash - disc_cash)
    balance += draw_disc
    consumption = needs_cash + draw_needs + disc_cash + draw_disc
    out.consumption_cny[sl] = round_cny_inplace(consumption)

    # 6. Transactors' line use: pay by line, repay at once (naive) or at the due date (savvy).
    # Only open transactors with headroom can use the line: the step runs on their rows.
    rows = np.flatnonzero(open_line & (btype == BehaviourType.TRANSACTOR) & (available > 0))
    savvy = state.savvy[sl][rows]
    k_rows = draws.line_draws(rows + sl.start)
    k_rows = np.where(savvy, np.minimum(k_rows, 1), k_rows)
    spend_rows = round_cny_inplace(
        np.where(
            k_rows > 0,
            np.minimum(
                b.transactor_line_spend_share * (needs_cash[rows] + disc_cash[rows]),
                available[rows],
            ),
            0.0,
        )
    )
    k_rows = np.where(spend_rows > 0, k_rows, 0)
    early_rows = round_cny_inplace(np.where(savvy, 0.0, spend_rows))
    balance[rows] = balance[rows] + spend_rows - early_rows
    # Spending moved onto the line frees the same cash; an early repayment uses it again.
    cash[rows] = round_cny_inplace(cash[rows] + spend_rows - early_rows)
    early = out.early_repayment_cny[sl]
    early[...] = 0.0
    early[rows] = early_rows
    early_count = out.early_repayment_count[sl]
    early_count[...] = 0
    early_count[rows] = np.where(early_rows > 0, k_rows, 0)

    state.balance_cny[sl] = round_cny_inplace(balance)
    state.savings_cny[sl] = cash
    draws_total = draw_needs + draw_race + draw_disc
    draws_total[rows] += spend_rows
    out.draws_cny[sl] = round_cny_inplace(draws_total)
    draw_count = out.draw_count[sl]
    draw_count[...] = draw_needs > 0
    draw_count += draw_race > 0
    draw_count += draw_disc > 0
    draw_count[rows] += k_rows
    slot = step % RECENT_MONTHS
    state.draws_recent[slot, sl] = draw_count
    state.early_recent[slot, sl] = early_count
    months_since_draw = np.minimum(state.months_since_draw[sl] + 1, 10_000).astype(np.int16)
    months_since_draw *= draw_count == 0  # 0 after a draw
    state.months_since_draw[sl] = months_since_draw
    state.high_risk_flag[sl] = open_line & (draws.u_high_risk[sl] < b.high_risk_txn_prob_monthly)
    out.repayments_cny[sl] = round_cny_inplace(scheduled + early)


def household_stage(world: World, month: Month) -> None:
    """Stage ``household``: every household's month (:func:`household_month`).

    Pays the minimum dues of other lenders from what the household paid them, adds the
    month's income to the run total, and writes ``month.household``.
    """
    s = world.borrowers
    other_debt, other_due = world.channels.dense_totals()
    flows = household_month(
        s, month.draws, month.macro, world.config.population.behaviour, month.step,
        other_due_cny=other_due,
        other_debt_cny=other_debt,
        over_limit_tolerance=world.config.platform.over_limit_tolerance,
        recycle_draws=month.freed_after("draws", "household"),
    )  # fmt: skip
    world.channels.pay_dues(flows.other_payment_cny)
    s.income_total_cny += flows.income_cny
    month.household = flows
