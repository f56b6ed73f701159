"""The scenario stage: the month's macro state and the world's random draws.

Common random numbers: the draws come from the run's ``world`` (households), ``firms``
and ``lenders`` (other lenders' approval decisions) streams, in fixed shapes and order
that never depend on model state or the policy, so every policy under one seed sees the
same shocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.random import Generator
from scipy import special

from sim.config import BehaviourConfig
from sim.units import bucket_index
from sim.world.borrowers import MonthStart
from sim.world.scenarios import macro_state

if TYPE_CHECKING:
    from sim.month import Month, World


def scenario_stage(world: World, month: Month) -> None:
    """Stage ``scenario``: ``macro``, ``draws``, ``firm_draws``, ``lender_draws``, ``start``."""
    s = world.borrowers
    # The scenario's timeline counts the comparison window's months (a shock in its month
    # 13 hits the window's 13th month); burn-in months (<= 0) are baseline months.
    month.macro = macro_state(world.config.scenario, month.step - world.burn_in_months)
    rngs, n, k, n_firms = world.rngs, world.borrowers.n, world.channels.k, world.firms.n
    # The world stream's six uniform arrays, the habits, firms and lenders streams, and the
    # month's start, are made in a second thread while this one draws the world's normals
    # and exponentials (NumPy releases the GIL while it fills): the same numbers, stream
    # by stream, as drawing everything here in order (see uniforms_ahead). The draws'
    # arrays are made here, so that the allocator reuses this thread's blocks month after
    # month.
    u = tuple(np.empty(n) for _ in range(6))
    u_habit, lender_draws = np.empty(n), np.empty((k, n), dtype=np.float32)
    z_firms, u_exit = np.empty((2, n_firms)), np.empty(n_firms)
    fill_uniforms, normals_rng = uniforms_ahead(rngs["world"], n, 6)
    habit_rng, firm_rng, lender_rng = rngs["habits"], rngs["firms"], rngs["lenders"]
    start: list[MonthStart] = []

    def others() -> None:
        fill_uniforms(u)
        habit_rng.random(out=u_habit)
        firm_rng.standard_normal(out=z_firms)  # draw_firm_world's order
        firm_rng.random(out=u_exit)
        lender_rng.random(dtype=np.float32, out=lender_draws)  # draw_lender_world's
        # Reads borrower state that no stage changes before the household month.
        start.append(MonthStart(bucket=bucket_index(s), is_open=s.is_open.copy()))

    pending = worker().submit(others)
    shocks = _world_shocks(normals_rng, n)
    pending.result()
    month.draws = _world_draws(u, shocks, u_habit, world.config.population.behaviour)
    month.firm_draws = FirmDraws(z_persistent=z_firms[0], z_transitory=z_firms[1], u_exit=u_exit)
    month.lender_draws = lender_draws
    month.start = start[0]


@functools.lru_cache(maxsize=1)
def worker() -> ThreadPoolExecutor:
    """The one worker thread that draws beside the monthly stages (made at its first use)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="draws")


def uniforms_ahead(
    rng: np.random.Generator, n: int, count: int
) -> tuple[Callable[[tuple[np.ndarray, ...]], None], np.random.Generator]:
    """Split ``rng`` at its next ``count`` uniform ``(n,)`` arrays: their filler, ``rng`` past them.

    ``Generator.random`` turns one 64-bit word of the bit generator into each float64, so
    a copy of the bit generator yields the arrays (``filler(out)`` fills ``count``
    ``(n,)`` float64 arrays, in stream order) while ``rng`` itself is advanced by
    ``count * n`` words, keeping its half-used 32-bit word (which float64 draws never
    touch; ``advance`` would drop it). The filler may run in another thread while ``rng``
    draws on. Needs a PCG64-family bit generator (the run's streams); with any other the
    arrays are drawn here, in order, and the filler copies them.

    Returns:
        ``(filler, rng)``: ``rng`` is where the draws after the arrays start.
    """
    bit_gen = rng.bit_generator
    if not hasattr(bit_gen, "advance"):
        drawn = tuple(rng.random(n) for _ in range(count))

        def copy_drawn(out: tuple[np.ndarray, ...]) -> None:
            for target, values in zip(out, drawn, strict=True):
                target[...] = values

        return copy_drawn, rng
    state = bit_gen.state
    copy = type(bit_gen)()
    copy.state = state
    ahead = Generator(copy)
    bit_gen.advance(count * n)
    moved = bit_gen.state
    moved["has_uint32"], moved["uinteger"] = state["has_uint32"], state["uinteger"]
    bit_gen.state = moved

    def fill(out: tuple[np.ndarray, ...]) -> None:
        for target in out:
            ahead.random(out=target)

    return fill, rng


def _world_shocks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """The world's three float32 normals and its float32 exponential, in stream order."""
    normals = tuple(rng.standard_normal(n, dtype=np.float32) for _ in range(3))
    return (*normals, rng.standard_exponential(n, dtype=np.float32))


def _world_draws(
    u: tuple[np.ndarray, ...],
    shocks: tuple[np.ndarray, ...],
    u_habit: np.ndarray,
    behaviour: BehaviourConfig,
) -> WorldDraws:
    """:class:`WorldDraws` of the six uniforms ``u``, the four ``shocks`` and ``u_habit``."""
    u_job, u_expense_shock, u_skip, u_race, u_high_risk, u_line_draws = u
    z_income, z_needs, z_discretionary, e_expense_shock = shocks
    return WorldDraws(
        u_job=u_job,
        z_income=z_income,
        z_needs=z_needs,
        z_discretionary=z_discretionary,
        u_expense_shock=u_expense_shock,
        e_expense_shock=e_expense_shock,
        u_skip=u_skip,
        u_race=u_race,
        u_high_risk=u_high_risk,
        u_line_draws=u_line_draws,
        line_draws_cdf=_poisson_cdf(behaviour.transactor_draws_per_month),
        u_habit=u_habit,
    )


@dataclass(frozen=True)
class WorldDraws:
    """One month of the world's random numbers, shape ``(n_borrowers,)`` each.

    Attributes:
        u_job: uniform, job loss or job finding.
        z_income: standard normal, transitory income shock.
        z_needs: standard normal, essential spending noise.
        z_discretionary: standard normal, discretionary spending noise.
        u_expense_shock: uniform, whether an expense shock hits.
        e_expense_shock: exponential(1), size of the expense shock.
        u_skip: uniform, delinquent-prone borrowers skipping a payment.
        u_race: uniform, race to default.
        u_high_risk: uniform, high-risk transaction flag.
        u_line_draws: uniform, turned into the Poisson count of a transactor's line uses
            this month by inverse CDF (:meth:`line_draws`).
        line_draws_cdf: ``(64,)`` Poisson CDF used for that transform.
        u_habit: uniform, payment-habit switch (from the ``habits`` stream; all 1.0, no
            switch, when :func:`draw_world` is given no habit stream).
    """

    u_job: np.ndarray
    z_income: np.ndarray
    z_needs: np.ndarray
    z_discretionary: np.ndarray
    u_expense_shock: np.ndarray
    e_expense_shock: np.ndarray
    u_skip: np.ndarray
    u_race: np.ndarray
    u_high_risk: np.ndarray
    u_line_draws: np.ndarray
    line_draws_cdf: np.ndarray
    u_habit: np.ndarray

    def line_draws(self, rows: np.ndarray) -> np.ndarray:
        """Poisson counts of line uses for ``rows`` (int16, same shape as ``rows``).

        Inverse CDF of the row's uniform: same distribution as a Poisson draw at a fraction
        of the cost, and only the rows that can use the line pay for the transform (the
        uniform itself is drawn for every row, so draws stay common across policies).
        """
        u = self.u_line_draws[rows]
        # k = number of CDF values <= u (a right-sided search): one comparison per CDF value
        # up to the largest u, cheaper than a binary search per row (the rate is small).
        k = np.zeros(u.shape, dtype=np.int16)
        top = u.max(initial=0.0)
        for level in self.line_draws_cdf:
            if level > top:
                break
            k += u >= level
        return k


def draw_world(
    rng: np.random.Generator,
    n: int,
    behaviour: BehaviourConfig,
    *,
    habit_rng: np.random.Generator | None = None,
) -> WorldDraws:
    """Draw one month of world shocks; shapes and order never depend on model state.

    Args:
        rng: the world stream.
        n: number of borrowers.
        behaviour: household parameters (only the transactor draw rate is used).
        habit_rng: the habits stream (``u_habit``); no habit switches if None.

    Returns:
        The month's draws (float64 uniforms, float32 normals and exponentials).
    """
    # One array per variable, drawn in stream order (the same numbers as one (6, n) and one
    # (3, n) draw): at 1 M rows each is 4-8 MB, which the allocator reuses month after
    # month, where a 48 MB block would be mapped afresh, page faults and all (measured at
    # a third of the draw's cost).
    u = tuple(rng.random(n) for _ in range(6))
    shocks = _world_shocks(rng, n)
    u_habit = np.ones(n) if habit_rng is None else habit_rng.random(n)
    return _world_draws(u, shocks, u_habit, behaviour)


@functools.lru_cache(maxsize=16)
def _poisson_cdf(rate: float) -> np.ndarray:
    """CDF of Poisson(``rate``) at 0..63, shape ``(64,)`` (cached: the rate is a config value)."""
    # scipy.special.pdtr is the Poisson CDF (what scipy.stats.poisson.cdf evaluates, the
    # same values; scipy.stats is not imported: ~45 MB of a run's resident memory).
    cdf = special.pdtr(np.arange(64), rate)
    cdf.flags.writeable = False
    return cdf


@dataclass(frozen=True)
class FirmDraws:
    """One month of the firms' world shocks, ``(n_firms,)`` each (fixed shapes).

    Attributes:
        z_persistent: standard normal, innovation of the persistent revenue component.
        z_transitory: standard normal, transitory revenue shock.
        u_exit: uniform, exogenous exit.
    """

    z_persistent: np.ndarray
    z_transitory: np.ndarray
    u_exit: np.ndarray


def draw_firm_world(rng: np.random.Generator, n_firms: int) -> FirmDraws:
    """Draw one month of firm shocks; shapes and order never depend on model state."""
    z = rng.standard_normal((2, n_firms))
    return FirmDraws(z_persistent=z[0], z_transitory=z[1], u_exit=rng.random(n_firms))


def draw_lender_world(rng: np.random.Generator, n_channels: int, n: int) -> np.ndarray:
    """Draw one month of other lenders' approval uniforms; the shape never depends on state.

    Args:
        rng: the ``lenders`` stream.
        n_channels: enabled lenders (fixed by the config).
        n: number of borrowers.

    Returns:
        ``(n_channels, n)`` float32 uniforms on [0, 1): the decision of lender ``c`` on an
        application of borrower ``i`` this month is ``u[c, i] < approval probability``.
    """
    return rng.random((n_channels, n), dtype=np.float32)
