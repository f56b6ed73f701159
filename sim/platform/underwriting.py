"""The open book: attrition closures, then new applicants underwritten and booked.

Stage ``originations`` runs first in a month, before the month's shocks are drawn, so a
new account lives through its first month like every other one. Randomness comes from
the ``arrivals`` stream only, drawn in a fixed order whatever the policy (one uniform
per borrower row for each kind of closure, then the applicants), so every policy under
one seed sees the same applicants in the same order: approval depends on the applicant
alone (scorecard PD at application against ``book.approval_max_pd``), and a borrower's
row index is the same person in every run of that seed.

Conventions (``conf/book/default.yaml``, sources in ``conf/PROVENANCE.md``):

* Applicants are resampled from the UCI rows exactly as the starting book is
  (:func:`sim.world.population.build_population`): the same joint structure of limits,
  ages, repayment histories and behaviour types. Their UCI repayment record is the
  credit-bureau record the platform scores at application.
* An approved account opens with no balance, no platform history (months on book 0, no
  draws, nothing due) and the limit of :func:`initial_limits` (a policy may override it,
  :meth:`sim.platform.policies.LimitPolicy.initial_limit_cny`). Rejected applicants do not
  join the simulated population.
* The starting book passes the same screen and limit rule
  (:func:`underwrite_starting_book`, ``population.starting_book=underwritten``), so the
  book's mix does not drift as it turns over.
* Attrition (:func:`close_for_attrition`): a borrower with a current line decides to
  close it (a monthly hazard that does not depend on their state); the line takes no new
  draws and closes once paid down. The platform closes a line with no balance unused for
  ``inactivity_close_months``. Either way the limit goes to 0 with a limit event
  (``CLOSED_VOLUNTARY`` / ``CLOSED_INACTIVITY``), and the borrower stays in the world
  without a platform line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.platform.attrition_kernel import attrition_dispatch, close_rows
from sim.platform.policies.reasons import ReasonCode
from sim.units import round_cny
from sim.world.borrowers import ClosureReason
from sim.world.data import load_uci
from sim.world.draws import uniforms_ahead, worker
from sim.world.population import build_population

if TYPE_CHECKING:
    import pandas as pd

    from sim.config import BookConfig, RunConfig
    from sim.month import Month, World
    from sim.platform.agent import Platform
    from sim.world.borrowers import BorrowerState


@dataclass
class BookMonth:
    """The month's arrivals and attrition (written by ``originations``).

    Attributes:
        applicants: applicants who arrived.
        originations: accounts opened (applicants approved).
        closed_voluntary: lines the borrowers closed.
        closed_inactivity: dormant lines the platform closed.
        arrivals_savings_cny: savings the new borrowers bring into the world, CNY (a flow
            from outside; the money identity counts it).
        close_requests: borrowers who decided to close their line (it closes once paid
            down).
        new_firms: micro-enterprises started (written by ``firm_entry``).
        firm_entry_cash_cny: owners' savings put into the new firms, CNY (written by
            ``firm_entry``).
    """

    applicants: int = 0
    originations: int = 0
    close_requests: int = 0
    closed_voluntary: int = 0
    closed_inactivity: int = 0
    arrivals_savings_cny: float = 0.0
    new_firms: int = 0
    firm_entry_cash_cny: float = 0.0


def initial_limits(book: BookConfig, income_cny: np.ndarray, pd_12m: np.ndarray) -> np.ndarray:
    """The platform's initial-limit rule for approved applicants.

    ``income x initial_limit_income_multiple x (1 - initial_limit_pd_haircut x PD /
    approval_max_pd)``: a few months of income (as the starting book's limits are, see
    ``population.limit_income_multiple``), less for a riskier score.

    Args:
        book: the ``book`` config.
        income_cny: ``(m,)`` monthly base incomes, CNY.
        pd_12m: ``(m,)`` PDs at application (approved: at most ``approval_max_pd``).

    Returns:
        ``(m,)`` float64 limits before the platform's floor, cap and rounding, CNY.
    """
    score_factor = 1.0 - book.initial_limit_pd_haircut * np.minimum(
        pd_12m / book.approval_max_pd, 1.0
    )
    return income_cny * book.initial_limit_income_multiple * score_factor


def finish_limits(book: BookConfig, limit_cny: np.ndarray) -> np.ndarray:
    """Limits kept within the book's floor and cap, rounded down to 100 CNY (float64)."""
    clipped = np.clip(limit_cny, book.initial_limit_min_cny, book.initial_limit_cap_cny)
    # + 0.0 turns a -0.0 (a zero minimum given as -0.0) into 0.0.
    return np.maximum(np.floor(clipped / 100.0) * 100.0, book.initial_limit_min_cny) + 0.0


def close_for_attrition(
    world: World, month: Month, uniforms: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[int, int, int]:
    """Close lines for non-credit reasons (in place).

    A borrower with a current open line decides to close it with the monthly hazard
    ``voluntary_close_prob_monthly``, whatever their balance or savings (so closures do
    not select borrowers by state): the line takes no new draws from then on (its limit
    goes to 0, a ``CLOSED_VOLUNTARY`` limit event) and closes once the balance is paid
    down by the usual servicing (at once if it has none). The platform closes a line with
    no balance unused for ``inactivity_close_months`` with probability
    ``inactivity_close_prob_monthly`` (a ``CLOSED_INACTIVITY`` limit event).

    Draws two uniforms per borrower row from the ``arrivals`` stream every month (whether
    or not any line qualifies), so the stream stays aligned across policies.

    Args:
        world: the run's state (borrowers changed in place).
        month: this month's record (limit events added).
        uniforms: those two ``(n_borrowers,)`` float64 arrays if already drawn (the
            originations stage draws them beside the applicants); drawn here if None.

    Returns:
        ``(requests, voluntary, inactivity)``: closure decisions taken this month, lines
        closed by their borrowers (paid down) and lines closed by the platform.
    """
    s, book = world.borrowers, world.config.book
    if uniforms is None:
        rng = world.rngs["arrivals"]
        uniforms = (rng.random(s.n), rng.random(s.n))
    u_voluntary, u_inactivity = uniforms
    if implementation() != "numpy":  # compiled or reference: the rows, then the updates
        return close_rows(s, month, attrition_dispatch(s, u_voluntary, u_inactivity, book))
    decide = (
        s.is_open & ~s.closing & (s.missed == 0) & (u_voluntary < book.voluntary_close_prob_monthly)
    )
    _limit_to_zero(s, month, decide, ReasonCode.CLOSED_VOLUNTARY)
    s.closing |= decide
    voluntary = s.closing & s.is_open & (s.balance_cny <= 0.0)
    dormant = (
        s.is_open
        & ~s.closing
        & (s.balance_cny <= 0.0)
        & (book.inactivity_close_months > 0)
        & (s.months_since_draw >= book.inactivity_close_months)
        & (u_inactivity < book.inactivity_close_prob_monthly)
    )
    _limit_to_zero(s, month, dormant, ReasonCode.CLOSED_INACTIVITY)
    for mask, reason in ((voluntary, ClosureReason.VOLUNTARY), (dormant, ClosureReason.INACTIVITY)):
        rows = np.flatnonzero(mask)
        s.closed[rows] = True
        s.closing[rows] = False
        s.closed_step[rows] = month.step
        s.closure_reason[rows] = int(reason)
        s.min_due_cny[rows] = 0.0
    return int(decide.sum()), int(voluntary.sum()), int(dormant.sum())


def _limit_to_zero(s: BorrowerState, month: Month, mask: np.ndarray, code: ReasonCode) -> None:
    """Set the limits of ``mask`` to 0, one limit event per line that had a limit."""
    rows = np.flatnonzero(mask & (s.limit_cny > 0))
    if rows.size:
        old = s.limit_cny[rows].copy()
        s.limit_cny[rows] = 0.0
        month.add_limit_events(rows, old, np.zeros(rows.size), np.full(rows.size, int(code)))


def draw_applicants(world: World, month: Month) -> BorrowerState | None:
    """This month's applicants, resampled from the UCI rows (None if none arrive).

    Their number is Poisson with mean ``applicants_per_month_share x`` the lines open
    at the start of the run.
    """
    book = world.config.book
    rng = world.rngs["arrivals"]
    k = int(rng.poisson(book.applicants_per_month_share * world.initial_open_lines))
    if k == 0:
        return None
    pc = world.config.platform
    population = dataclasses.replace(world.config.population, n_borrowers=k)
    return build_population(
        load_uci() if world.uci is None else world.uci,
        population,
        rng,
        min_payment_rate=pc.min_payment_rate,
        min_payment_floor_cny=pc.min_payment_floor_cny,
        over_limit_tolerance=pc.over_limit_tolerance,
    )


def open_accounts(world: World, month: Month, applicants: BorrowerState) -> np.ndarray:
    """Underwrite ``applicants`` and append the approved ones to the book.

    Returns:
        ``(m,)`` int64 rows of the new accounts.
    """
    s, book, platform = world.borrowers, world.config.book, world.platform
    pd_12m = platform.pd_of(applicants)
    approved = np.flatnonzero(pd_12m <= book.approval_max_pd)
    if approved.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = _take(applicants, approved)
    pd_new = pd_12m[approved]
    proposed = initial_limits(book, new.income_base_cny, pd_new)
    chosen = np.asarray(
        platform.policy.initial_limit_cny(proposed.copy(), pd_new, new.income_base_cny.copy()),
        dtype=np.float64,
    )
    if chosen.shape != proposed.shape or not np.isfinite(chosen).all():
        raise ValueError(
            f"policy {platform.policy.name!r}: initial_limit_cny must return {proposed.shape} "
            "finite limits"
        )
    limit = finish_limits(book, chosen)
    _fresh_account(new, limit, pd_new, month.step)
    new.apr = platform.apr_of(pd_new)
    new.income_decile = (
        np.searchsorted(world.income_decile_edges_cny, new.income_base_cny, side="right") + 1
    ).astype(np.int8)
    first = s.n
    s.append(new)
    rows = np.arange(first, s.n, dtype=np.int64)
    world.grow_rows(s.n)
    return rows


def _take(state: BorrowerState, rows: np.ndarray) -> BorrowerState:
    """The rows ``rows`` of ``state`` (last axis), as a new state."""
    return dataclasses.replace(
        state,
        **{f.name: getattr(state, f.name)[..., rows] for f in dataclasses.fields(state)},
    )


def _fresh_account(
    new: BorrowerState, limit_cny: np.ndarray, pd_12m: np.ndarray, step: int
) -> None:
    """A new platform line: no balance, no platform history, the bureau record kept."""
    m = new.n
    new.limit_cny = limit_cny
    new.initial_limit_cny = limit_cny.copy()
    new.balance_cny = np.zeros(m)
    new.statement_cny = np.zeros(m)
    new.min_due_cny = np.zeros(m)
    new.missed = np.zeros(m, dtype=np.int16)
    new.arrears_cny = np.zeros(m)
    new.mob = np.zeros(m, dtype=np.int16)
    new.origination_step = np.full(m, step, dtype=np.int32)
    new.draws_recent[:] = 0
    new.early_recent[:] = 0
    new.months_since_draw = np.zeros(m, dtype=np.int16)
    new.on_time_months = np.zeros(m, dtype=np.int16)
    new.paid_in_full = np.ones(m, dtype=bool)
    new.lenders_count = np.zeros(m, dtype=np.int16)
    new.debt_service_cny = np.zeros(m)
    new.pd_12m = pd_12m.astype(np.float64)


def originations_stage(world: World, month: Month) -> None:
    """Stage ``originations``: attrition closures, then this month's new accounts.

    Writes ``month.book`` (:class:`BookMonth`); grows the borrower rows and every
    per-borrower array of the world (:meth:`sim.month.World.grow_rows`).
    """
    # The arrivals stream's two attrition arrays are filled in the draws' thread while this
    # one draws the applicants, who come after them in the stream (the same numbers as
    # drawing them in order, sim.world.draws.uniforms_ahead); the applicants depend on no
    # borrower's state, so the closures still come first.
    n = world.borrowers.n
    uniforms = (np.empty(n), np.empty(n))
    fill, _ = uniforms_ahead(world.rngs["arrivals"], n, 2)
    pending = worker().submit(fill, uniforms)
    try:
        applicants = draw_applicants(world, month)
    finally:
        pending.result()
    requests, voluntary, inactivity = close_for_attrition(world, month, uniforms)
    month.book = BookMonth(
        close_requests=requests, closed_voluntary=voluntary, closed_inactivity=inactivity
    )
    if applicants is None:
        return
    rows = open_accounts(world, month, applicants)
    month.book.applicants = applicants.n
    month.book.originations = int(rows.size)
    month.book.arrivals_savings_cny = float(world.borrowers.savings_cny[rows].sum())


#: Draw rounds tried to fill the starting book with approved accounts before giving up.
STARTING_BOOK_ROUNDS = 50


def underwrite_starting_book(
    world_config: RunConfig,
    platform: Platform,
    uci: pd.DataFrame,
    rng: np.random.Generator,
) -> BorrowerState:
    """The starting book as accounts this platform approved (``population.starting_book``).

    Borrowers are resampled from the UCI rows (:func:`sim.world.population.build_population`)
    and screened by the applicants' rule (scorecard PD at most ``book.approval_max_pd``);
    declined draws are replaced by fresh draws, in whole-array rounds, until
    ``population.n_borrowers`` accounts are approved. Each keeps its seasoned state (months
    on book, credit history, savings, payment habits) and gets the initial limit of
    :func:`initial_limits` (floor, cap and rounding of :func:`finish_limits`); its balance
    keeps the UCI utilisation of its row (``balance / limit``) on the new limit, and the
    minimum due follows from it. Originations later use the same screen and rule, so the
    book's mix does not drift as it turns over.

    Args:
        world_config: the run config.
        platform: the platform whose scorecard and PD map screen the draws.
        uci: the UCI table.
        rng: the ``population`` stream.

    Returns:
        ``population.n_borrowers`` borrowers, in draw order.

    Raises:
        ValueError: if ``STARTING_BOOK_ROUNDS`` rounds of draws (each sized by the approval
            rate so far, at most ten times the book) approve too few accounts
            (``book.approval_max_pd`` below almost every draw's PD).
    """
    book, pc, pop = world_config.book, world_config.platform, world_config.population
    n = pop.n_borrowers

    def draw(k: int) -> BorrowerState:
        return build_population(
            uci,
            dataclasses.replace(pop, n_borrowers=k),
            rng,
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
            over_limit_tolerance=pc.over_limit_tolerance,
        )

    first = draw(n)
    if pc.pd_calibration == "central_tendency":
        # A provisional level, fixed on the first draw for the screen; the world's first
        # scoring fixes it again on the starting book (see the end).
        platform.rescore(first)
    pd_12m = platform.pd_of(first)
    keep = np.flatnonzero(pd_12m <= book.approval_max_pd)
    book_state, pds = _take(first, keep), pd_12m[keep]
    drawn = n
    for _ in range(STARTING_BOOK_ROUNDS):
        short = n - book_state.n
        if short <= 0:
            break
        # Enough draws for the approval rate seen so far, at most 10 x the book a round.
        rate = max(book_state.n / drawn, 1.0 / drawn)
        k = int(min(np.ceil(1.2 * short / rate), 10 * n))
        more = draw(k)
        drawn += k
        pd_more = platform.pd_of(more)
        ok = np.flatnonzero(pd_more <= book.approval_max_pd)[:short]
        book_state.append(_take(more, ok))
        pds = np.concatenate([pds, pd_more[ok]])
    if book_state.n < n:
        raise ValueError(
            f"book.approval_max_pd = {book.approval_max_pd} approves {book_state.n} of the "
            f"{n} starting accounts in {drawn} draws; raise it (allowed [0.01, 1]) or set "
            "population.starting_book=uci"
        )
    limit = finish_limits(book, initial_limits(book, book_state.income_base_cny, pds))
    utilisation = np.divide(
        book_state.balance_cny,
        book_state.limit_cny,
        out=np.zeros(n),
        where=book_state.limit_cny > 0,
    )
    balance = round_cny(np.minimum(utilisation, 1.0) * limit)
    regular_due = np.minimum(
        balance, np.maximum(pc.min_payment_rate * balance, pc.min_payment_floor_cny)
    )
    book_state.limit_cny = limit
    book_state.initial_limit_cny = limit.copy()
    book_state.balance_cny = balance
    book_state.statement_cny = balance.copy()
    book_state.min_due_cny = round_cny(np.minimum(balance, regular_due * (1 + book_state.missed)))
    book_state.arrears_cny = round_cny(np.maximum(book_state.min_due_cny - regular_due, 0.0))
    platform.pd_shift = None  # the central tendency is the starting book's, as documented
    return book_state
