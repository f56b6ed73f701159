"""Borrower populations resampled from the UCI credit-card data.

Rows of the UCI table are drawn with replacement, so every joint feature of a row
(limit, age, education, marriage, repayment-status history, bills, payments) is kept
together: the resampled population has the data's empirical joint distribution.

Income imputation (UCI has no income column): a borrower's base monthly income is
``limit_cny / m`` with ``m`` log-normal around ``limit_income_multiple`` — platforms size
unsecured lines at a few months of income, so the limit is the best income proxy the
data has. This is an assumption, stated in ``conf/PROVENANCE.md``.

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for the
    predictive accuracy of probability of default of credit card clients. Expert Systems
    with Applications, 36(2), 2473-2480.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special

from sim.config import PopulationConfig
from sim.units import round_cny
from sim.world.borrowers import (
    DELINQUENCY_HISTORY_MONTHS,
    PAYMENT_HISTORY_MONTHS,
    RECENT_MONTHS,
    STATEMENT_HISTORY_MONTHS,
    BehaviourType,
    BorrowerState,
)

STATUS_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")  # Sep .. Apr
#: Month of each column offset of STATUS_COLUMNS / BILL_COLUMNS / PAYMENT_COLUMNS.
UCI_MONTHS = ("september", "august", "july", "june", "may", "april")
BILL_COLUMNS = tuple(f"BILL_AMT{k}" for k in range(1, 7))  # Sep .. Apr
PAYMENT_COLUMNS = tuple(f"PAY_AMT{k}" for k in range(1, 7))  # Sep .. Apr


#: The UCI columns a population is built from.
_COLUMNS_READ = ("LIMIT_BAL", "AGE", *STATUS_COLUMNS, *BILL_COLUMNS, *PAYMENT_COLUMNS)


def classify_behaviour(df: pd.DataFrame, *, offset: int = 0, window: int = 6) -> np.ndarray:
    """Assign a :class:`BehaviourType` to every UCI row from its repayment history.

    By default the whole six-month history (April-September) is used. ``offset`` and
    ``window`` restrict it to the ``window`` months ending at an earlier month, so that a
    population started "as of" that month is typed from what was known then (no look-ahead).

    Rules, applied in this order (over the months of the window):

    1. ``DELINQUENT_PRONE``: any repayment status >= 2 (two months late).
    2. ``INACTIVE``: no positive bill in any of the six months.
    3. ``TRANSACTOR``: in at least 80 % of the months with a positive previous bill the
       payment covered that bill in full.
    4. ``INSTALMENT``: paid something every month with a positive previous bill, a median
       payment ratio of at least 10 %, and steady payments (coefficient of variation of
       the payments < 0.5).
    5. ``REVOLVER``: everyone else (pays about the minimum).

    Args:
        df: UCI table as returned by :func:`sim.outputs.files.load_uci`.
        offset: last month of the window as a column offset into :data:`STATUS_COLUMNS`
            (0 = September, 1 = August, ..., 5 = April).
        window: months in the window, >= 1; clipped to the ``6 - offset`` months available.

    Returns:
        ``(len(df),)`` int8 array of behaviour types.

    Raises:
        ValueError: ``offset`` outside 0..5 or ``window`` < 1.
    """
    if not 0 <= offset < len(STATUS_COLUMNS) or window < 1:
        raise ValueError(
            f"classify_behaviour: offset {offset} must be in 0..5 and window {window} >= 1"
        )
    cols = slice(offset, min(offset + window, len(STATUS_COLUMNS)))
    return _classify(
        df[list(STATUS_COLUMNS[cols])].to_numpy(),
        df[list(BILL_COLUMNS[cols])].to_numpy(dtype=np.float64),
        df[list(PAYMENT_COLUMNS[cols])].to_numpy(dtype=np.float64),
    )


def _classify(status: np.ndarray, bills: np.ndarray, pays: np.ndarray) -> np.ndarray:
    """:func:`classify_behaviour` on arrays: ``(n, months)`` of the window, latest first.

    ``status`` the repayment status codes, ``bills`` and ``pays`` float64 NT$.
    """
    n = status.shape[0]
    # Payment in month k (column k) settles the bill of the month before (column k + 1).
    prev_bill = bills[:, 1:]
    pay = pays[:, :-1]
    has_bill = prev_bill > 0
    n_billed = has_bill.sum(axis=1)
    full = (pay >= prev_bill - 1.0) & has_bill
    share_full = np.divide(full.sum(axis=1), n_billed, out=np.zeros(n), where=n_billed > 0)
    ratio = np.divide(pay, prev_bill, out=np.full(pay.shape, np.nan), where=has_bill)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no bill: all-NaN median
        median_ratio = np.nanmedian(np.where(has_bill, ratio, np.nan), axis=1)
        pay_mean = pays.mean(axis=1)
        pay_cv = np.divide(pays.std(axis=1), pay_mean, out=np.full(n, np.inf), where=pay_mean > 0)
    paid_every_billed = ((pay > 0) | ~has_bill).all(axis=1) & (n_billed > 0)

    out = np.full(n, BehaviourType.REVOLVER, dtype=np.int8)
    instalment = paid_every_billed & (np.nan_to_num(median_ratio) >= 0.10) & (pay_cv < 0.5)
    out[instalment] = BehaviourType.INSTALMENT
    out[(n_billed > 0) & (share_full >= 0.8)] = BehaviourType.TRANSACTOR
    out[(bills <= 0).all(axis=1)] = BehaviourType.INACTIVE
    out[(status >= 2).any(axis=1)] = BehaviourType.DELINQUENT_PRONE
    return out


def _history_rings(
    df: Callable[[list[str]], np.ndarray],
    offset: int,
    cny_per_twd: float,
    statement_cny: np.ndarray,
    payment_ratio: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The payment, statement and payment-ratio ring buffers of the start month.

    Lag ``j`` months before the start month (column ``offset + j``) goes to slot
    ``-j % months`` (:meth:`BorrowerState.record_history`). Payments are the UCI
    ``PAY_AMT`` and statements the ``BILL_AMT`` (below 0 counted as 0) times
    ``cny_per_twd`` (exchange rate times limit scale); this month's statement and payment
    ratio are the state's own. Months before April (not in the data) repeat the mean of the
    known payments and statements, and a ratio of 1 (so the means and the minimum are those
    of the known months).

    Args:
        df: UCI column(s) of the resampled rows, ``(n, k)``.
        offset: column offset of the start month (0 = September).
        cny_per_twd: CNY per NT$ of the population's amounts.
        statement_cny: ``(n,)`` start statement balance.
        payment_ratio: ``(n,)`` start payment ratio.

    Returns:
        ``(PAYMENT_HISTORY_MONTHS, n)``, ``(STATEMENT_HISTORY_MONTHS, n)`` and
        ``(STATEMENT_HISTORY_MONTHS, n)`` float64 arrays.
    """
    months = len(BILL_COLUMNS)
    paid = df(list(PAYMENT_COLUMNS[offset : offset + PAYMENT_HISTORY_MONTHS])).T * cny_per_twd
    bills = np.clip(df(list(BILL_COLUMNS[offset:months])).astype(np.float64), 0.0, None).T
    statements = np.concatenate(
        [statement_cny[None], bills[1:STATEMENT_HISTORY_MONTHS] * cny_per_twd]
    )
    ratios = np.ones((STATEMENT_HISTORY_MONTHS, statement_cny.size))
    ratios[0] = payment_ratio
    pays_raw = df(list(PAYMENT_COLUMNS[offset:months])).astype(np.float64).T
    for lag in range(1, min(STATEMENT_HISTORY_MONTHS, months - offset - 1)):
        billed = bills[lag + 1] > 0
        np.divide(pays_raw[lag], bills[lag + 1], out=ratios[lag], where=billed)
    np.clip(ratios, 0.0, 1.0, out=ratios)

    def ring(known: np.ndarray, length: int) -> np.ndarray:
        out = np.repeat(known.mean(axis=0, keepdims=True), length, axis=0)
        out[: known.shape[0]] = known
        return out[(-np.arange(length)) % length]  # slot -j % length holds lag j

    return (
        round_cny(ring(paid.astype(np.float64), PAYMENT_HISTORY_MONTHS)),
        round_cny(ring(statements, STATEMENT_HISTORY_MONTHS)),
        ratios[(-np.arange(STATEMENT_HISTORY_MONTHS)) % STATEMENT_HISTORY_MONTHS],
    )


def build_population(
    uci: pd.DataFrame,
    config: PopulationConfig,
    rng: np.random.Generator,
    *,
    min_payment_rate: float = 0.1,
    min_payment_floor_cny: float = 50.0,
    over_limit_tolerance: float = 0.0,
) -> BorrowerState:
    """Resample ``config.n_borrowers`` borrowers from the UCI rows and initialise their state.

    Args:
        uci: UCI table (:func:`sim.outputs.files.load_uci`).
        config: population config (size, currency conversion, imputation parameters).
        rng: the population stream (shared by every policy under one seed).
        min_payment_rate: the platform's minimum payment share of the statement.
        min_payment_floor_cny: the platform's minimum payment floor, CNY.
        over_limit_tolerance: the platform's (``platform.over_limit_tolerance``): habitual
            utilisation from the bills is capped at ``1 + over_limit_tolerance``.

    Returns:
        A fully initialised :class:`BorrowerState`; ``uci_row`` keeps each borrower's
        source row. With ``start_state == "current"`` balances start from the September
        bill (clipped to [0, limit]) and everyone starts current. With ``uci_<month>``
        the state is that of the UCI month ("as of" the month: its bill, over the limit
        where the data's is, payment and
        repayment status; behaviour types and habitual utilisation use the
        ``behaviour_window_months`` months up to it, the delinquency history all months
        up to it, so nothing later leaks in). The status maps to missed payments as
        follows: in September, which has a real 1-month code, k months late -> k misses
        (at most 2); in the earlier months the code 1 almost never occurs and a first
        missed payment moves an account from 0 straight to 2 (data README), so code
        k >= 2 -> k - 1 misses (at most 2) and code 1 -> 1. A further miss at 2 misses is
        default (90+ DPD). An account with a non-positive bill owes nothing: it starts
        current and paid in full.
    """
    n = config.n_borrowers
    rows = rng.integers(0, len(uci), size=n)

    # One selection of the columns read (a month's applicants are a few hundred rows, and
    # pandas' per-call cost of selecting columns was most of the build's time).
    table = uci[list(_COLUMNS_READ)].to_numpy()
    where = {c: i for i, c in enumerate(_COLUMNS_READ)}

    def df(columns: str | list[str]) -> np.ndarray:
        """UCI column(s) of the resampled rows, ``(n,)`` or ``(n, k)``."""
        if isinstance(columns, str):
            return table[rows, where[columns]]
        return table[rows[:, None], [where[c] for c in columns]]

    start = config.start_state
    as_of = start.removeprefix("uci_") if start != "current" else "september"
    offset = UCI_MONTHS.index(as_of)
    window = min(config.behaviour_window_months, len(UCI_MONTHS) - offset)
    # Types depend on the UCI row only: classify each source row drawn once, then look up
    # (the whole table for a large book; the few distinct rows of a month's applicants).
    window_months = list(range(offset, offset + window))

    def typed(source: np.ndarray) -> np.ndarray:
        def part(names: tuple[str, ...]) -> np.ndarray:
            return source[:, [where[names[m]] for m in window_months]]

        return _classify(
            part(STATUS_COLUMNS),
            part(BILL_COLUMNS).astype(np.float64),
            part(PAYMENT_COLUMNS).astype(np.float64),
        )

    if n < len(uci) // 2:
        drawn, index = np.unique(rows, return_inverse=True)
        btype = typed(table[drawn])[index]
    else:
        btype = typed(table)[rows]

    limit = round_cny(df("LIMIT_BAL").astype(np.float64) * config.cny_per_twd * config.limit_scale)
    multiple = config.limit_income_multiple * np.exp(
        config.limit_income_sigma * rng.standard_normal(n)
    )
    income_base = round_cny(np.maximum(limit / multiple, 100.0))
    months = config.savings_income_months
    if config.savings_income_elasticity != 0.0:
        # Buffers rise with income (the reference: the income of the table's median limit).
        reference = (
            float(np.median(table[:, where["LIMIT_BAL"]]))
            * config.cny_per_twd
            * config.limit_scale
            / config.limit_income_multiple
        )
        months = months * (income_base / reference) ** config.savings_income_elasticity
    savings = round_cny(
        income_base
        * months
        * np.exp(config.savings_sigma * rng.standard_normal(n) - 0.5 * config.savings_sigma**2)
    )
    bills_twd = df(list(BILL_COLUMNS[offset : offset + window])).astype(np.float64)
    # Habits past the limit only where the lender authorises draws past it.
    utilisation = bills_twd / df("LIMIT_BAL").astype(np.float64)[:, None]
    target_util = np.clip(utilisation, 0.0, 1.0 + over_limit_tolerance).mean(axis=1)
    bill_now = df(BILL_COLUMNS[offset]).astype(np.float64)
    bill = np.clip(bill_now * config.cny_per_twd * config.limit_scale, 0, None)
    # A performing book starts within its limits; a UCI month keeps the data's balances,
    # over the limit where the card's were (interest posts past the limit).
    balance = round_cny(np.minimum(bill, limit) if start == "current" else bill)

    # Repayment status from the start month back to April (column 0 = the start month).
    status = df(list(STATUS_COLUMNS[offset:]))
    delinquent_recent = np.zeros((DELINQUENCY_HISTORY_MONTHS, n), dtype=bool)
    if config.start_state == "current":
        missed = np.zeros(n, dtype=np.int16)
    else:
        if config.start_state == "uci_september":
            missed = np.clip(status[:, 0], 0, 2).astype(np.int16)
        else:
            first_miss_is_2 = np.clip(status[:, 0] - 1, 0, 2)
            missed = np.where(status[:, 0] == 1, 1, first_miss_is_2).astype(np.int16)
        # Oldest month first; months before April (not in the data) count as clean.
        known = (status >= 1).T[::-1]
        delinquent_recent[DELINQUENCY_HISTORY_MONTHS - known.shape[0] :] = known
    missed[balance <= 0] = 0
    regular_due = np.minimum(balance, np.maximum(min_payment_rate * balance, min_payment_floor_cny))
    min_due = round_cny(np.minimum(balance, regular_due * (1 + missed)))
    arrears = round_cny(np.maximum(min_due - regular_due, 0.0))

    # Consecutive clean months ending in the start month (at most the months available).
    clean = status <= 0
    on_time = np.where(clean.all(axis=1), clean.shape[1], np.argmin(clean, axis=1)).astype(np.int16)
    if config.start_state == "current":
        on_time = np.where(missed == 0, np.maximum(on_time, 1), on_time).astype(np.int16)
    if offset + 1 < len(BILL_COLUMNS):
        bill_prev = df(BILL_COLUMNS[offset + 1]).astype(np.float64)
    else:  # April: the March bill is not in the data
        bill_prev = np.zeros(n)
    paid = df(PAYMENT_COLUMNS[offset]).astype(np.float64)
    payment_ratio = np.where(
        bill_prev > 0, np.clip(paid / np.where(bill_prev > 0, bill_prev, 1), 0, 1), 1.0
    )
    paid_in_full = np.isin(status[:, 0], (-2, -1))
    if config.start_state != "current":
        paid_in_full |= balance <= 0

    payments, statements, ratios = _history_rings(
        df, offset, config.cny_per_twd * config.limit_scale, balance, payment_ratio
    )
    age = df("AGE").astype(np.int16)
    # + 0.0 reads a -0.0 mean (inside the range [0, 1000]) as 0: NumPy refuses a scale
    # with the sign bit set.
    history = np.minimum(
        np.round(rng.exponential(config.history_months_mean + 0.0, n)),
        np.maximum((age - 18) * 12, 0),
    ).astype(np.int16)
    mob = np.minimum(rng.integers(0, config.max_initial_mob + 1, n), history).astype(np.int16)
    savvy = rng.random(n) < config.savvy_share
    # Start employment at the steady state of the job-loss / job-finding hazards.
    loss, find = config.behaviour.job_loss_prob_monthly, config.behaviour.job_find_prob_monthly
    employed = rng.random(n) >= (loss / (loss + find) if loss + find > 0 else 0.0)

    b = config.behaviour
    alpha = np.where(savvy, b.savvy_diversity_concentration, b.diversity_concentration)
    shares = rng.gamma(np.repeat(alpha[:, None], b.n_spending_categories, axis=1))
    with np.errstate(invalid="ignore"):  # 0 / 0 where every draw underflowed: NaN, below
        shares /= shares.sum(axis=1, keepdims=True)
    entropy = special.entr(shares).sum(axis=1)  # -sum p log p, with 0 log 0 = 0
    entropy[np.isnan(entropy)] = 0.0  # all draws underflowed to 0 (tiny concentration)
    diversity = entropy / np.log(b.n_spending_categories)

    # Income decile by rank (ties broken by row order), 1 = lowest tenth.
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(income_base, kind="stable")] = np.arange(n)
    decile = rank * 10 // n + 1

    return BorrowerState(
        uci_row=rows.astype(np.int64),
        behaviour_type=btype,
        age_years=age,
        savvy=savvy,
        target_utilisation=target_util,
        income_base_cny=income_base,
        income_cny=income_base.copy(),
        employed=employed,
        savings_cny=savings,
        savings_target_cny=savings.copy(),
        limit_cny=limit,
        initial_limit_cny=limit.copy(),
        balance_cny=balance,
        apr=np.zeros(n),
        min_due_cny=min_due,
        arrears_cny=arrears,
        statement_cny=balance.copy(),
        missed=missed,
        defaulted=np.zeros(n, dtype=bool),
        closed=np.zeros(n, dtype=bool),
        closing=np.zeros(n, dtype=bool),
        closed_step=np.full(n, -1, dtype=np.int32),
        closure_reason=np.zeros(n, dtype=np.int8),
        charged_off=np.zeros(n, dtype=bool),
        default_step=np.full(n, -1, dtype=np.int32),
        mob=mob,
        history_months=history,
        draws_recent=np.zeros((RECENT_MONTHS, n), dtype=np.int16),
        early_recent=np.zeros((RECENT_MONTHS, n), dtype=np.int16),
        delinquent_recent=delinquent_recent,
        billed_cny=balance.copy(),
        payment_recent_cny=payments,
        billed_recent_cny=statements,
        payment_ratio_recent=ratios,
        months_since_draw=np.where(balance > 0, 0, 12).astype(np.int16),
        on_time_months=on_time,
        paid_in_full=paid_in_full,
        full_payer=paid_in_full | (balance <= 0),
        payment_ratio=payment_ratio,
        pd_12m=np.zeros(n),
        spending_diversity=np.clip(diversity, 0.0, 1.0),
        high_risk_flag=np.zeros(n, dtype=bool),
        lenders_count=(balance > 0).astype(np.int16),
        debt_service_cny=min_due.copy(),
        income_decile=decile.astype(np.int8),
        origination_step=(-mob).astype(np.int32),
        cuts_count=np.zeros(n, dtype=np.int32),
        raises_count=np.zeros(n, dtype=np.int32),
        interest_total_cny=np.zeros(n),
        balance_month_sum_cny=np.zeros(n),
        income_total_cny=np.zeros(n),
        unmet_need_total_cny=np.zeros(n),
        earmarked_cny=np.zeros(n),
    )
