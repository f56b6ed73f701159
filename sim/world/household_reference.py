"""The household month written one borrower at a time, in plain Python: the reference.

The same rules as :mod:`sim.world.households` (steps 1-6 of its module docstring) read
top to bottom for one household, with scalar arithmetic and :mod:`math`. It is the
oracle of the compiled kernel (:mod:`sim.world.household_kernel`: the tests check that
both give the same amounts to the cent and the same states) and the per-agent baseline
of its benchmark; it is slow (a Python loop over the borrowers), not for real runs.

Money is rounded to the cent by :func:`cents`, which rounds as :func:`sim.units.round_cny`
does. The month's lognormal factors come from :func:`sim.world.household_compiled.shock_factors`
(NumPy's float32 ``exp`` of the draws, as in the NumPy stage).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.units import cents
from sim.world.borrowers import RECENT_MONTHS, BehaviourType
from sim.world.household_compiled import shock_factors

if TYPE_CHECKING:
    import numpy as np

    from sim.config import BehaviourConfig
    from sim.world.borrowers import BorrowerState
    from sim.world.draws import WorldDraws
    from sim.world.repayment import TypeTables
    from sim.world.scenarios import MacroState

#: Probabilities are kept this far from 0 and 1 before a logit.
EPS = 1e-12


def logit(p: float) -> float:
    """Log-odds of ``p`` in (0, 1), computed as ``scipy.special.logit`` does."""
    if p < 0.3 or p > 0.65:
        return math.log(p / (1.0 - p))
    s = 2.0 * (p - 0.5)  # near one half SciPy uses log1p for precision
    return math.log1p(s) - math.log1p(-s)


def expit(t: float) -> float:
    """Logistic function of ``t``, computed as ``scipy.special.expit`` does."""
    try:
        return 1.0 / (1.0 + math.exp(-t))
    except OverflowError:  # exp(-t) beyond the largest float: the limit, 0
        return 0.0


def household_rows_reference(
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
    """Every borrower's household month, one at a time, in place (as the NumPy stage).

    Args: as :func:`sim.world.households.household_month`; ``out`` is its
    ``HouseholdFlows`` (every array is written for every row), ``tables`` the type tables,
    ``authorised`` 1 + its ``over_limit_tolerance``.
    """
    factors = shock_factors(draws, b)
    for i in range(state.n):
        other_due = 0.0 if other_due_cny is None else float(other_due_cny[i])
        other_debt = 0.0 if other_debt_cny is None else float(other_debt_cny[i])
        household_of(
            i, state, draws, factors, macro, b, step, out, tables, other_due, other_debt, authorised
        )


def household_of(  # noqa: PLR0912, PLR0915 (one household's month, top to bottom)
    i: int,
    state: BorrowerState,
    draws: WorldDraws,
    factors: tuple[np.ndarray, ...],
    macro: MacroState,
    b: BehaviourConfig,
    step: int,
    out: object,
    tables: TypeTables,
    other_due: float = 0.0,
    other_debt: float = 0.0,
    authorised: float = 1.0,
) -> None:
    """Household ``i``'s month: reads and writes row ``i`` of ``state`` and ``out`` only.

    ``factors`` are the month's lognormal factors of income, needs and discretionary
    spending; ``other_due`` and ``other_debt`` its dues and balances at other lenders, CNY;
    ``authorised`` the multiple of the limit up to which draws are authorised, >= 1.
    """
    kind = int(state.behaviour_type[i])
    base = float(state.income_base_cny[i])
    line_open = not state.defaulted[i]
    limit = float(state.limit_cny[i])
    income_factor, needs_factor, discretionary_factor = (float(f[i]) for f in factors)

    # 1. Employment and income.
    u_job = float(draws.u_job[i])
    if state.employed[i]:
        employed = not u_job < min(b.job_loss_prob_monthly * macro.job_loss_multiplier, 1.0)
    else:
        employed = u_job < min(b.job_find_prob_monthly * macro.job_find_multiplier, 1.0)
    if employed:
        income = cents(base * macro.income_multiplier * income_factor)
    else:
        income = cents(base * b.unemployment_replacement)
    state.employed[i] = employed
    state.income_cny[i] = income
    out.income_cny[i] = income
    savings = float(state.savings_cny[i])
    cash = savings + income

    # An account behind chooses first (ordered logit on its cash position): roll (pay
    # nothing), hold (pay the instalment), cure (pay the whole due) or cure in full (pay
    # the statement), and pays that before essential spending.
    due = float(state.min_due_cny[i]) if line_open else 0.0
    arrears = min(float(state.arrears_cny[i]), due)
    instalment_due = due - arrears
    behind = state.missed[i] >= 1
    late = line_open and behind and due > 0
    u_skip = float(draws.u_skip[i])
    choice = "roll"
    paid_first = 0.0
    if late:
        cash_position = math.log(max(cash, 1.0) / max(due, 1.0))
        latent = b.arrears_cash_sensitivity * cash_position + logit(min(max(u_skip, EPS), 1 - EPS))
        if b.arrears_seasoned_log_odds != 0.0:
            months_behind = sum(int(month[i]) for month in state.delinquent_recent)
            if months_behind > 1:
                latent += b.arrears_seasoned_log_odds
        # Thresholds: at cash equal to the due, P(roll), P(roll or hold) and P(not in full)
        # are the configured ones; the choice is the number of thresholds the latent passes.
        below = [
            b.arrears_roll_prob,
            1.0 - b.arrears_cure_prob,
            1.0 - b.arrears_cure_prob * b.arrears_full_cure_share,
        ]
        passed = sum(latent >= logit(min(max(p, EPS), 1 - EPS)) for p in below)
        choice = ("roll", "hold", "cure", "full cure")[passed]
        # Before spending it pays what its choice asks for without any extra.
        wanted = {"roll": 0.0, "hold": max(instalment_due, 0.0), "cure": max(arrears, due)}
        paid_first = cents(min(wanted.get(choice, max(0.0, due)), cash))
    cash = cents(cash - paid_first)

    # 2. Essential spending: from cash, then the line's headroom (not the part earmarked
    # for the owned firm), then unmet.
    needs = base * b.needs_share * macro.seasonal_spending * needs_factor
    if draws.u_expense_shock[i] < b.expense_shock_prob_monthly:
        needs += base * b.expense_shock_mean_income_months * float(draws.e_expense_shock[i])
    needs = cents(needs)
    earmarked = float(state.earmarked_cny[i])
    balance = float(state.balance_cny[i])
    # The lender authorises draws up to ``authorised`` (1 + its over-limit tolerance) x the limit.
    available = max(limit * authorised - balance - earmarked, 0.0) if line_open else 0.0
    needs_cash = min(needs, cash)
    needs_gap = cents(needs - needs_cash)
    draw_needs = min(needs_gap, available)
    out.unmet_need_cny[i] = cents(needs_gap - draw_needs)
    cash = cents(cash - needs_cash)
    available -= draw_needs
    balance += draw_needs

    # 3. Payment towards the minimum due. A current account's habit may switch: a full
    # payer starts revolving (by chance, or because its cash cannot cover the statement),
    # a revolver that can afford it starts paying in full (by chance).
    statement = float(state.statement_cny[i]) if line_open else 0.0
    full_payer = bool(state.full_payer[i])
    u_habit = float(draws.u_habit[i])
    if line_open and not behind and statement > 0:
        can_pay_statement = cash >= statement
        if full_payer and (not can_pay_statement or u_habit < b.full_to_revolving_prob):
            full_payer = False
        elif not full_payer and can_pay_statement and u_habit < b.revolving_to_full_prob:
            full_payer = True
    state.full_payer[i] = full_payer
    if full_payer:
        habit = max(statement, due)
    elif kind == BehaviourType.INSTALMENT:
        habit = max(instalment_due, statement / b.instalment_months)
    else:
        habit = instalment_due * float(tables.due_weight[kind])
    # A current account misses by its type's habit or by a chance falling with its cash.
    miss_prob = float(tables.skip_prob[kind])
    if line_open and not behind and due > 0 and b.current_miss_prob > 0.0:
        cash_position = math.log(max(cash, 1.0) / max(due, 1.0))
        tau = logit(min(b.current_miss_prob, 1 - EPS))
        miss_prob = max(miss_prob, expit(tau - b.arrears_cash_sensitivity * cash_position))
    desired = habit if line_open and not u_skip < miss_prob else 0.0
    if late:  # an account behind pays for its choice, on top of its habit if it cures
        desired = {
            "roll": 0.0,
            "hold": max(instalment_due, 0.0),
            "cure": max(habit + arrears, due),
            "full cure": max(statement, due),
        }[choice]
    scheduled = min(desired - paid_first, cash, balance - paid_first)
    scheduled = cents(max(scheduled, 0.0))
    cash = cents(cash - scheduled)
    scheduled = cents(scheduled + paid_first)
    out.scheduled_payment_cny[i] = scheduled
    balance -= scheduled
    # Then other lenders' minimum dues, as far as cash allows.
    other_paid = 0.0
    if other_due > 0:
        other_paid = cents(min(other_due, cash))
        cash = cents(cash - other_paid)
    out.other_payment_cny[i] = other_paid

    # 4. Race to default: a delinquent, unemployed borrower may draw all that is left.
    draw_race = 0.0
    racing = not employed and draws.u_race[i] < b.race_to_default_prob
    if line_open and behind and racing and available > 0:
        draw_race = cents(available)
    available -= draw_race
    balance += draw_race
    cash += draw_race

    # 5. Discretionary spending (buffer stock): permanent income at the savings target,
    # plus a share of savings above it, minus a share of the shortfall below it; paid
    # from cash above a reserve.
    permanent = base * (macro.income_multiplier if employed else b.unemployment_replacement)
    expected_needs = (
        b.needs_share + b.expense_shock_prob_monthly * b.expense_shock_mean_income_months
    )
    permanent -= base * expected_needs
    target = float(state.savings_target_cny[i])
    gap = savings - target
    rate = b.excess_savings_spend_rate if gap > 0 else b.savings_rebuild_rate
    wish = max(permanent, 0.0) * macro.seasonal_spending * discretionary_factor
    wish = cents(max(wish + rate * gap, 0.0))
    reserve = base * b.cash_reserve_income_months
    spend_cash = cents(min(wish, max(cash - reserve, 0.0)))
    # Revolving demand: draw towards the habitual balance, which rises with new headroom
    # by the type's marginal propensity to borrow (more when savings are short).
    initial_limit = float(state.initial_limit_cny[i])
    shortfall = min(max(-gap / max(target, 1.0), 0.0), 1.0)
    share = b.mpb_unconstrained_share + (1.0 - b.mpb_unconstrained_share) * shortfall
    mpb = float(tables.mpb[kind]) * share
    new_headroom = max(limit - earmarked - initial_limit, 0.0)
    habitual = float(state.target_utilisation[i]) * initial_limit + mpb * new_headroom
    wanted_debt = habitual - balance - other_debt
    borrow_wish = max(wanted_debt, 0.0) * float(tables.propensity[kind])
    borrow_wish = cents(borrow_wish) if line_open else 0.0
    draw_spend = cents(min(borrow_wish, available))
    out.unmet_credit_cny[i] = cents(needs_gap - draw_needs + borrow_wish - draw_spend)
    available -= draw_spend
    cash = cents(cash - spend_cash)
    balance += draw_spend
    out.consumption_cny[i] = cents(needs_cash + draw_needs + spend_cash + draw_spend)

    # 6. A transactor pays part of its spending by line k times (Poisson) and repays at
    # once; a credit-savvy one draws once and repays at the due date.
    drawn = draw_needs + draw_race + draw_spend
    n_draws = int(draw_needs > 0) + int(draw_race > 0) + int(draw_spend > 0)
    early, n_early = 0.0, 0
    if line_open and kind == BehaviourType.TRANSACTOR and available > 0:
        u_line = float(draws.u_line_draws[i])
        uses = sum(1 for level in draws.line_draws_cdf if level <= u_line)
        savvy = bool(state.savvy[i])
        if savvy:
            uses = min(uses, 1)
        spend = 0.0
        if uses > 0:
            spend = cents(min(b.transactor_line_spend_share * (needs_cash + spend_cash), available))
        if spend <= 0:
            uses = 0
        early = 0.0 if savvy else spend
        balance = balance + spend - early
        cash = cents(cash + spend - early)
        if early > 0:
            n_early = uses
        drawn += spend
        n_draws += uses
    out.early_repayment_cny[i] = early
    out.early_repayment_count[i] = n_early
    state.balance_cny[i] = cents(balance)
    state.savings_cny[i] = cash
    out.draws_cny[i] = cents(drawn)
    out.draw_count[i] = n_draws
    state.draws_recent[step % RECENT_MONTHS, i] = n_draws
    state.early_recent[step % RECENT_MONTHS, i] = n_early
    months_since_draw = min(int(state.months_since_draw[i]) + 1, 10_000)
    state.months_since_draw[i] = months_since_draw if n_draws == 0 else 0
    state.high_risk_flag[i] = line_open and draws.u_high_risk[i] < b.high_risk_txn_prob_monthly
    out.repayments_cny[i] = cents(scheduled + early)
