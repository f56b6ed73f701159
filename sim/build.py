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
from sim.platform.scorecard import Scorecard, fit_default_scorecard
from sim.world.borrowers import BorrowerState
from sim.world.data import load_uci
from sim.world.firms import build_firms
from sim.world.population import build_population


def spawn_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The run's child seed sequences by :data:`sim.month.RNG_STREAMS` name."""
    root = np.random.SeedSequence(seed)
    return dict(zip(RNG_STREAMS, root.spawn(len(RNG_STREAMS)), strict=True))


def build_world(
    config: RunConfig,
    *,
    uci: pd.DataFrame | None = None,
    borrowers: BorrowerState | None = None,
    scorecard: Scorecard | None = None,
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
    if borrowers is None:
        borrowers = build_population(
            load_uci() if uci is None else uci,
            config.population,
            rngs["population"],
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
        )
    n = borrowers.n
    firms, network, sectors = build_firms(
        borrowers.income_base_cny,
        config.firms,
        rngs["population"],
        start_calendar_month=sc.start_calendar_month,
        finance_rng=rngs["firm_finance"],
    )
    owner_at_start = np.zeros(n, dtype=bool)
    owner_at_start[firms.owner] = True
    firm_of = np.full(n, -1, dtype=np.int64)
    firm_of[firms.owner] = np.arange(firms.n)
    policy = build_policy(config.policy) if policy is None else policy
    policy.reset(n)
    platform = Platform(
        config=pc,
        policy=policy,
        scorecard=fit_default_scorecard() if scorecard is None else scorecard,
        rng=rngs["platform"],
    )
    platform.apr_cap = min(pc.apr_cap, sc.apr_cap)
    world = World(
        config=config,
        rngs=rngs,
        borrowers=borrowers,
        firms=firms,
        network=network,
        sectors=sectors,
        channels=Channels(config.channels, n, other_lenders_apr_cap=sc.other_lenders_apr_cap),
        platform=platform,
        owner_at_start=owner_at_start,
        firm_of=firm_of,
        initial_open_lines=n,
    )
    platform.rescore(borrowers)
    return world
