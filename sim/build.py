"""Building a run's :class:`sim.month.World` from its config (the set-up before month 1).

Randomness: one root ``numpy.random.SeedSequence(config.seed)`` spawns the child
streams named in :data:`sim.month.RNG_STREAMS`; the population and the firms are drawn
from the ``population`` stream (borrowers first), so every policy under one seed gets the
same agents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.lending.channels import Channels
from sim.month import RNG_STREAMS, World
from sim.platform.agent import Platform
from sim.platform.policies import LimitPolicy, build_policy
from sim.platform.scorecard import PDModel, fit_default_scorecard
from sim.platform.underwriting import underwrite_starting_book
from sim.world.borrowers import BorrowerState
from sim.world.data import load_uci
from sim.world.firms import build_firms
from sim.world.population import build_population
from sim.world.scenarios import calendar_month


def spawn_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The run's child seed sequences by :data:`sim.month.RNG_STREAMS` name."""
    root = np.random.SeedSequence(seed)
    return dict(zip(RNG_STREAMS, root.spawn(len(RNG_STREAMS)), strict=True))


def build_world(
    config: RunConfig,
    *,
    uci: pd.DataFrame | None = None,
    borrowers: BorrowerState | None = None,
    scorecard: PDModel | None = None,
    policy: LimitPolicy | None = None,
) -> World:
    """Build the world of a run: population, firms, other lenders and the platform.

    Args:
        config: a validated run config.
        uci: the UCI table to resample the population from; the packaged file if None.
        borrowers: a ready population (e.g. :meth:`BorrowerState.blank`) instead of one
            resampled from ``uci``; firms are still built for it from ``config.firms``.
        scorecard: the platform's PD model; the default fit on the UCI data if None.
        policy: a built policy; built from ``config.policy`` if None.

    Returns:
        The world before month 1, borrowers already scored by the platform.
    """
    streams = spawn_streams(config.seed)
    rngs = {name: np.random.default_rng(seq) for name, seq in streams.items()}
    pc, sc = config.platform, config.scenario
    if uci is None and borrowers is None:
        uci = load_uci()
    policy = build_policy(config.policy) if policy is None else policy
    burn_in = config.burn_in_months
    # The burn-in runs `static` for every policy: the window starts from one book.
    active = build_policy({"name": "static"}) if burn_in > 0 else policy
    platform = Platform(
        config=pc,
        policy=active,
        scorecard=fit_default_scorecard() if scorecard is None else scorecard,
        rng=rngs["platform"],
        twd_per_cny=1.0 / (config.population.cny_per_twd * config.population.limit_scale),
    )
    platform.apr_cap = min(pc.apr_cap, sc.apr_cap)
    if borrowers is None and config.population.starting_book == "underwritten":
        borrowers = underwrite_starting_book(config, platform, uci, rngs["population"])
    elif borrowers is None:
        borrowers = build_population(
            uci,
            config.population,
            rngs["population"],
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
            over_limit_tolerance=pc.over_limit_tolerance,
        )
    n = borrowers.n
    firms, network, sectors = build_firms(
        borrowers.income_base_cny,
        config.firms,
        rngs["population"],
        # The calendar of the first simulated month (the burn-in's first, if any).
        start_calendar_month=calendar_month(sc, 1 - config.burn_in_months),
        finance_rng=rngs["firm_finance"],
    )
    sole_trader = np.zeros(n, dtype=bool)
    sole_trader[firms.owner] = True
    firm_of = np.full(n, -1, dtype=np.int64)
    firm_of[firms.owner] = np.arange(firms.n)
    policy.reset(n)
    world = World(
        config=config,
        rngs=rngs,
        borrowers=borrowers,
        firms=firms,
        network=network,
        sectors=sectors,
        channels=Channels(config.channels, n, other_lenders_apr_cap=sc.other_lenders_apr_cap),
        platform=platform,
        sole_trader=sole_trader,
        firm_of=firm_of,
        initial_open_lines=int(borrowers.is_open.sum()),
        initial_firms=int(firms.n),
        income_decile_edges_cny=np.quantile(borrowers.income_base_cny, np.arange(1, 10) / 10)
        if n
        else np.zeros(9),
        uci=uci,
        burn_in_months=burn_in,
        window_policy=policy if burn_in > 0 else None,
    )
    platform.rescore(borrowers)
    return world


def start_window(world: World) -> None:
    """Start the comparison window (before the first stage of month ``burn_in + 1``).

    The policy under study takes over from the burn-in's ``static`` (its memory sized to
    the book as it now is), and the per-run accumulators restart so that every per-agent
    total covers the window only: borrowers' (cuts, raises, interest, balance-months,
    income, unmet need), the other lenders' and the firms'. ``initial_limit_cny`` stays
    the limit at origination.
    """
    s = world.borrowers
    world.window_open_lines = int(s.is_open.sum())
    if world.window_policy is not None:
        world.window_policy.reset(s.n)
        world.platform.policy = world.window_policy
        world.window_policy = None
    for name in (
        "cuts_count",
        "raises_count",
        "interest_total_cny",
        "balance_month_sum_cny",
        "income_total_cny",
        "unmet_need_total_cny",
    ):
        getattr(s, name)[:] = 0
    ch = world.channels
    for name in ("interest_fees_total_cny", "balance_month_sum_cny"):
        getattr(ch, name)[:] = 0.0
    f = world.firms
    for name in (
        "late_payments_total_cny",
        "unmet_gap_total_cny",
        "open_months",
        "buffer_days_sum",
    ):
        getattr(f, name)[:] = 0
