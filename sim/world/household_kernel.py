"""The household month as one compiled loop over borrower rows (numba).

The same rules as the NumPy block function of :mod:`sim.world.households` (steps 1-6 of
its module docstring), fused into one pass: each row's month is computed from its own
inputs, so rows run in parallel (``prange``) and the result does not depend on the number
of threads. Every amount is rounded to the cent by :func:`sim.compiled.round_cny_scalar`
at the points where the NumPy stage calls ``round_cny``, in the same order of operations,
so the two give the same numbers. :mod:`sim.world.household_compiled` packs its arguments.

Transcendental functions. The three lognormal factors ``exp(sigma z - sigma^2 / 2)`` are
float32 (the normals are float32) and NumPy's SIMD float32 ``exp`` differs from libm's in
the last bits for about 40 % of values (up to 2 ULP): they depend only on the month's
draws, so :func:`sim.world.household_compiled.shock_factors` computes them with NumPy
outside the kernel and the kernel reads them. The logs, ``logit`` and ``expit`` of the
repayment decisions (:mod:`sim.world.repayment`) are written with ``math`` as SciPy
computes them (:func:`logit`, :func:`expit`; equal to ``scipy.special`` to the bit). NumPy's float64
SIMD ``log`` differs from libm's by 1 ULP for about 0.04 % of values; a decision moves
only if a uniform falls within that ULP of its threshold.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.compiled import kernel, round_cny_scalar
from sim.world.borrowers import BehaviourType
from sim.world.repayment import _EPS, CURE, FULL_CURE, HOLD

_TRANSACTOR = int(BehaviourType.TRANSACTOR)
_INSTALMENT = int(BehaviourType.INSTALMENT)
_MONTHS_SINCE_DRAW_CAP = 10_000


@numba.njit(cache=True)
def logit(p: float) -> float:
    """``log(p / (1 - p))`` computed as ``scipy.special.logit`` computes it (bit-equal).

    Near ``p = 0.5`` (``0.3 <= p <= 0.65``) SciPy uses ``log1p(2 (p - 1/2)) -
    log1p(-2 (p - 1/2))`` for precision; so does this.
    """
    if p < 0.3 or p > 0.65:
        return math.log(p / (1.0 - p))
    s = 2.0 * (p - 0.5)
    return math.log1p(s) - math.log1p(-s)


@numba.njit(cache=True)
def expit(t: float) -> float:
    """``1 / (1 + exp(-t))`` as ``scipy.special.expit`` computes it (bit-equal)."""
    return 1.0 / (1.0 + math.exp(-t))


@kernel(parallel=True)
def _household_kernel(p, due_weight, skip_table, propensity, mpb_table, s, d, o):  # noqa: PLR0915
    """The household month of every row (see the module docstring); one row per iteration.

    Args: ``p`` the scalars (``HouseholdParams`` of :mod:`sim.world.household_compiled`);
    the type tables, ``(5,)`` float64 by behaviour type; ``s``, ``d`` and ``o`` the
    ``KernelRows``, ``KernelDraws`` and ``KernelFlows`` of that module (``(n,)`` arrays:
    the state rows read and written, the month's draws, the flows written).
    """
    # Locals, not attributes, in the parallel loop: numba loses writes through a named
    # tuple's arrays there.
    behaviour_type = s.behaviour_type
    income_base_cny = s.income_base_cny
    limit_cny = s.limit_cny
    initial_limit_cny = s.initial_limit_cny
    earmarked_cny = s.earmarked_cny
    min_due_cny = s.min_due_cny
    arrears_cny = s.arrears_cny
    statement_cny = s.statement_cny
    missed = s.missed
    defaulted = s.defaulted
    savings_target_cny = s.savings_target_cny
    target_utilisation = s.target_utilisation
    savvy = s.savvy
    employed = s.employed
    savings_cny = s.savings_cny
    balance_cny = s.balance_cny
    full_payer = s.full_payer
    months_since_draw = s.months_since_draw
    income_cny = s.income_cny
    high_risk_flag = s.high_risk_flag
    delinquent_flat = s.delinquent_flat
    delinquent_stride = s.delinquent_stride
    delinquent_months = s.delinquent_months
    draws_recent = s.draws_recent
    early_recent = s.early_recent
    u_job = d.u_job
    income_factor = d.income_factor
    needs_factor = d.needs_factor
    discretionary_factor = d.discretionary_factor
    u_expense_shock = d.u_expense_shock
    e_expense_shock = d.e_expense_shock
    u_skip = d.u_skip
    u_habit = d.u_habit
    u_race = d.u_race
    u_high_risk = d.u_high_risk
    u_line_draws = d.u_line_draws
    line_draws_cdf = d.line_draws_cdf
    other_due_cny = d.other_due_cny
    other_debt_cny = d.other_debt_cny
    out_income_cny = o.income_cny
    out_consumption_cny = o.consumption_cny
    out_draws_cny = o.draws_cny
    out_repayments_cny = o.repayments_cny
    out_scheduled_payment_cny = o.scheduled_payment_cny
    out_early_repayment_cny = o.early_repayment_cny
    out_unmet_need_cny = o.unmet_need_cny
    out_unmet_credit_cny = o.unmet_credit_cny
    out_draw_count = o.draw_count
    out_early_repayment_count = o.early_repayment_count
    out_other_payment_cny = o.other_payment_cny
    n = income_base_cny.shape[0]
    has_other_due = other_due_cny.shape[0] == n
    has_other_debt = other_debt_cny.shape[0] == n
    seasoned = p.seasoned_log_odds != 0.0
    for i in numba.prange(n):
        # The row's uniforms first: its flows may be written over them (recycle_draws).
        uj, ues, usk, uh = u_job[i], u_expense_shock[i], u_skip[i], u_habit[i]
        ur, uhr, uld = u_race[i], u_high_risk[i], u_line_draws[i]
        t = behaviour_type[i]
        base = income_base_cny[i]
        is_open = not defaulted[i]
        limit = limit_cny[i]

        # 1. Employment and income.
        # A job is lost with the loss hazard, found with the finding hazard.
        hazard = p.p_loss if employed[i] else p.p_find
        now_employed = (uj < hazard) != employed[i]
        employed[i] = now_employed
        if now_employed:
            income = round_cny_scalar(base * p.income_multiplier * np.float64(income_factor[i]))
        else:
            income = round_cny_scalar(base * p.unemployment_replacement)
        income_cny[i] = income
        out_income_cny[i] = income
        cash = savings_cny[i] + income
        # Accounts behind choose first: roll, hold, cure or cure in full (ordered logit).
        due = min_due_cny[i] if is_open else 0.0
        arrears = min(arrears_cny[i], due)
        behind = missed[i] >= 1
        late = is_open & behind & (due > 0)
        choice = 0
        paid_first = 0.0
        if late:
            x = math.log(max(cash, 1.0) / max(due, 1.0))
            u = min(max(usk, _EPS), 1.0 - _EPS)
            latent = p.cash_sensitivity * x + logit(u)
            if seasoned:
                months_behind = 0
                for m in range(delinquent_months):
                    months_behind += delinquent_flat[m * delinquent_stride + i]
                if months_behind > 1:
                    latent += p.seasoned_log_odds
            choice = (
                int(latent >= p.tau_roll) + int(latent >= p.tau_cure) + int(latent >= p.tau_full)
            )
            if choice == HOLD:
                wanted = max(due - arrears, 0.0)
            elif choice == CURE:
                wanted = max(0.0 + arrears, due)
            elif choice == FULL_CURE:
                wanted = max(0.0, due)
            else:
                wanted = 0.0
            paid_first = round_cny_scalar(min(wanted, cash))
        cash = round_cny_scalar(cash - paid_first)

        # 2. Essential spending: cash, then the line, then unmet.
        needs = base * p.needs_share
        needs *= p.seasonal_spending
        needs *= np.float64(needs_factor[i])
        if ues < p.expense_shock_prob:
            needs += base * p.expense_shock_months * np.float64(e_expense_shock[i])
        needs = round_cny_scalar(needs)
        earmarked = earmarked_cny[i]
        balance = balance_cny[i]
        available = max(limit * p.authorised - balance - earmarked, 0.0) if is_open else 0.0
        needs_cash = min(needs, cash)
        needs_gap = round_cny_scalar(needs - needs_cash)
        draw_needs = min(needs_gap, available)
        out_unmet_need_cny[i] = round_cny_scalar(needs_gap - draw_needs)
        cash = round_cny_scalar(cash - needs_cash)
        available -= draw_needs
        balance = balance + draw_needs

        # 3. Payment towards the minimum due: habit, miss chance, choice of accounts behind.
        statement = statement_cny[i] if is_open else 0.0
        full = full_payer[i]
        if is_open and not behind and statement > 0:
            affordable = cash >= statement
            if full and (not affordable or uh < p.full_to_revolving):
                full = False
            elif not full and affordable and uh < p.revolving_to_full:
                full = True
        full_payer[i] = full
        instalment_due = due - arrears
        habit = instalment_due * due_weight[t]
        if t == _INSTALMENT:
            habit = max(instalment_due, statement / p.instalment_months)
        if full:
            habit = max(statement, due)
        skip_prob = skip_table[t]
        if is_open and not behind and due > 0 and p.miss_on != 0.0:
            x = math.log(max(cash, 1.0) / max(due, 1.0))
            skip_prob = max(skip_prob, expit(p.tau_miss - p.cash_sensitivity * x))
        skip = usk < skip_prob
        desired = habit if is_open & (not skip) else 0.0
        if late:
            if choice == HOLD:
                desired = max(due - arrears, 0.0)
            elif choice == CURE:
                desired = max(habit + arrears, due)
            elif choice == FULL_CURE:
                desired = max(statement, due)
            else:
                desired = 0.0
        desired -= paid_first
        scheduled = round_cny_scalar(max(min(min(desired, cash), balance - paid_first), 0.0))
        cash = round_cny_scalar(cash - scheduled)
        scheduled = round_cny_scalar(scheduled + paid_first)
        out_scheduled_payment_cny[i] = scheduled
        balance -= scheduled
        # Other lenders' minimum dues, after the platform's, limited by cash.
        other_paid = 0.0
        if has_other_due and other_due_cny[i] > 0:
            other_paid = round_cny_scalar(min(other_due_cny[i], cash))
            cash = round_cny_scalar(cash - other_paid)
        out_other_payment_cny[i] = other_paid

        # 4. Race to default: delinquent and unemployed borrowers draw what is left.
        race = is_open & behind & (not now_employed) & (ur < p.race_prob) & (available > 0)
        draw_race = round_cny_scalar(available * race)
        available -= draw_race
        balance += draw_race
        cash += draw_race

        # 5. Discretionary spending (buffer stock), then revolving demand on the line.
        if now_employed:
            permanent = base * p.income_multiplier
        else:
            permanent = base * p.unemployment_replacement
        permanent -= base * p.permanent_needs_share
        target = savings_target_cny[i]
        gap = savings_cny[i] - target
        rate = p.excess_spend_rate if gap > 0 else p.rebuild_rate
        wish = max(permanent, 0.0) * p.seasonal_spending
        wish *= np.float64(discretionary_factor[i])
        wish += rate * gap
        wish = round_cny_scalar(max(wish, 0.0))
        reserve = base * p.reserve_months
        disc_cash = round_cny_scalar(min(wish, max(cash - reserve, 0.0)))
        initial_limit = initial_limit_cny[i]
        desired_balance = target_utilisation[i] * initial_limit
        shortfall = min(max(-gap / max(target, 1.0), 0.0), 1.0)
        mpb = mpb_table[t] * (
            p.mpb_unconstrained_share + (1.0 - p.mpb_unconstrained_share) * shortfall
        )
        desired_balance += mpb * max(limit - earmarked - initial_limit, 0.0)
        desired_balance -= balance
        if has_other_debt:
            desired_balance -= other_debt_cny[i]
        borrow_wish = max(desired_balance, 0.0) * propensity[t]
        borrow_wish = round_cny_scalar(borrow_wish if is_open else 0.0)
        draw_disc = round_cny_scalar(min(borrow_wish, available))
        out_unmet_credit_cny[i] = round_cny_scalar(needs_gap - draw_needs + borrow_wish - draw_disc)
        available -= draw_disc
        cash = round_cny_scalar(cash - disc_cash)
        balance += draw_disc
        out_consumption_cny[i] = round_cny_scalar(needs_cash + draw_needs + disc_cash + draw_disc)

        # 6. Transactors' line use: pay by line, repay at once (naive) or at the due date.
        draw_total = draw_needs + draw_race + draw_disc
        count = int(draw_needs > 0) + int(draw_race > 0) + int(draw_disc > 0)
        early = 0.0
        early_count = 0
        if is_open and t == _TRANSACTOR and available > 0:
            k = 0
            u = uld
            for level in line_draws_cdf:
                if level > u:
                    break
                k += 1
            if savvy[i]:
                k = min(k, 1)
            spend = 0.0
            if k > 0:
                spend = min(p.line_spend_share * (needs_cash + disc_cash), available)
            spend = round_cny_scalar(spend)
            if not spend > 0:
                k = 0
            early = round_cny_scalar(0.0 if savvy[i] else spend)
            balance = balance + spend - early
            cash = round_cny_scalar(cash + spend - early)
            if early > 0:
                early_count = k
            draw_total += spend
            count += k
        out_early_repayment_cny[i] = early
        out_early_repayment_count[i] = early_count
        balance_cny[i] = round_cny_scalar(balance)
        savings_cny[i] = cash
        out_draws_cny[i] = round_cny_scalar(draw_total)
        out_draw_count[i] = count
        draws_recent[i] = count
        early_recent[i] = early_count
        since = min(months_since_draw[i] + 1, _MONTHS_SINCE_DRAW_CAP)
        months_since_draw[i] = since if count == 0 else 0
        high_risk_flag[i] = is_open & (uhr < p.high_risk_prob)
        out_repayments_cny[i] = round_cny_scalar(scheduled + early)
