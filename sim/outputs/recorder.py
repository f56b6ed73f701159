"""The run's record: what each month leaves behind for the output tables.

After the stages of a month, :meth:`RunRecord.collect` computes the month's metrics
(:func:`sim.outputs.metrics.monthly_metrics`) and appends the month's limit events, DPD
bucket transition counts and firm table rows, and accumulates the per-agent outcomes of
the window (:class:`sim.outputs.agents.AgentOutcomes`). It reads :class:`sim.month.World` and
:class:`sim.month.Month` and changes neither.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.compiled import implementation, kernels_in_two_threads
from sim.outputs.agents import AgentOutcomes, window_start
from sim.outputs.collect_kernel import transition_counts_kernel
from sim.outputs.collect_reference import transition_counts_reference
from sim.outputs.event_log import EventLog
from sim.outputs.events import events_table, pack_events
from sim.outputs.metrics import (
    FIRM_TABLE_COLUMNS,
    firm_buffers,
    firm_sector_rows,
    firm_stress_metrics,
    monthly_metrics,
)
from sim.outputs.money import MONEY_STOCKS, money_stocks
from sim.units import BUCKET_LABELS, N_BUCKETS, bucket_index
from sim.world.draws import worker

if TYPE_CHECKING:
    from sim.month import Month, World


def transition_counts(world: World, month: Month) -> np.ndarray:
    """The month's ``(N_BUCKETS**2,)`` int64 counts of DPD-bucket pairs (start, now).

    Rows appended after the month's start (taken after ``originations``) would have no
    state to move from: the transitions are those of the rows at the start. Pair index
    ``from * N_BUCKETS + to``; the same counts in every implementation.
    """
    start = month.start.bucket
    s = world.borrowers
    how = implementation()
    if how == "numpy":
        after = bucket_index(s)[: start.shape[0]]
        # Bucket pairs fit int8 (N_BUCKETS**2 = 49): no int64 copy of a large book.
        pair = start * np.int8(N_BUCKETS) + after
        return np.bincount(pair, minlength=N_BUCKETS * N_BUCKETS)
    count = transition_counts_reference if how == "reference" else transition_counts_kernel
    return count(start, s.missed, s.charged_off, s.defaulted, s.closure_reason, N_BUCKETS)


class _Inline:
    """Runs a task at once in the calling thread, as an executor's ``submit`` would later.

    An error of the task is raised there and then.
    """

    @staticmethod
    def submit(fn: Callable[..., Any], *args: Any) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


_INLINE = _Inline()


def _firm_side(
    world: World, month: Month, window: bool
) -> tuple[dict[str, float], list[dict[str, object]]]:
    """The month's firm stress metrics and (in the window) its firm table rows (reads only).

    The buffer days are made once (:func:`firm_buffers`) and read by both.
    """
    buffers = firm_buffers(world)
    rows = firm_sector_rows(world, month, buffers) if window else []
    return firm_stress_metrics(world, month, buffers), rows


class RunRecord:
    """Limit events, transition counts and firm rows of every month collected so far.

    Attributes:
        offset: months before the comparison window (the burn-in): the tables number a
            month ``step - offset``, so the window starts at 1.
        steps: the last month collected (simulated months, burn-in included).
        metrics: the last month's metrics (keys of
            :data:`sim.outputs.metrics.MONTHLY_METRICS`); empty before the first month.
        transition_counts: one ``(N_BUCKETS**2,)`` int64 count per month of the accounts
            on the book at the month's start by (state at the start, state at the end),
            pair index ``from * N_BUCKETS + to`` (states: :data:`sim.units.BUCKET_LABELS`).
    """

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self.steps = 0
        self.metrics: dict[str, float] = {}
        self.transition_counts: list[np.ndarray] = []
        self._events = EventLog()
        self._firm_rows: list[dict[str, object]] = []
        self._opening: dict[str, float] | None = None
        # The stocks at the end of the last month collected, and of which world and month.
        self._closing: tuple[int, int, dict[str, float]] | None = None
        self.agents: AgentOutcomes | None = None

    def open_month(self, world: World) -> None:
        """Take the money stocks at a month's start, before its first stage.

        They are the month's ``opening_`` columns (:mod:`sim.outputs.money`), used once
        by the next :meth:`collect`. Right after the last month's :meth:`collect` of the same
        world (nothing changes the stocks between the end of a month and the start of the
        next: the model calls nothing in between), they are the closing stocks that
        :meth:`collect` summed, not summed again.
        """
        closing, self._closing = self._closing, None
        if closing is not None and closing[:2] == (id(world), int(world.serviced_step)):
            self._opening = closing[2]
        else:
            self._opening = money_stocks(world)
        self._agents(world).open_month(world)

    def _agents(self, world: World) -> AgentOutcomes:
        """The per-agent accumulator, made on first use from the run's config."""
        if self.agents is None:
            output = getattr(world.config, "output", None)
            self.agents = AgentOutcomes(
                burn_in=window_start(world.config),
                panel_share=float(getattr(output, "agent_panel_share", 0.1)),
                panel_max=int(getattr(output, "agent_panel_max", 20_000)),
            )
        return self.agents

    def collect(self, world: World, month: Month) -> dict[str, float]:
        """Record a finished month; returns its metrics (also kept in :attr:`metrics`).

        A burn-in month (``step <= offset``) adds no limit event, transition or firm row
        (the tables cover the window); its metrics and the per-agent panel's lead months
        are still recorded.
        """
        # The firms' side (buffer days, stress metrics, the firm table's rows) is taken in
        # the draws' worker thread while this one takes the borrowers' side: both only
        # read the state, and every number is computed as it is in one thread. Both sides
        # run parallel kernels, so only where numba allows that from two threads.
        has_firms = world.firms.n > 0 and month.settlement is not None
        window = month.step > self.offset
        pool = worker() if kernels_in_two_threads() else _INLINE
        firm_side = pool.submit(_firm_side, world, month, window) if has_firms else None
        try:
            self._agents(world).collect(world, month)
            self.metrics = monthly_metrics(
                world,
                month,
                self._opening,
                firm=None if firm_side is None else (lambda: firm_side.result()[0]),
            )
        finally:
            if firm_side is not None:
                wait([firm_side])  # never left running on the state
        sector_rows = firm_side.result()[1] if firm_side is not None else []
        self._opening = None
        stocks = {name: self.metrics[name] for name in MONEY_STOCKS}
        self._closing = (id(world), int(world.serviced_step), stocks)
        self.steps = month.step
        if month.step <= self.offset:
            return self.metrics
        step = month.step - self.offset
        for e in month.limit_events:
            # Packed, then narrowed into the log's blocks: about a quarter of the bytes of the
            # month's int64 / float64 arrays, the same values (sim.outputs.event_log).
            self._events.append(
                pack_events(step, e.rows, e.old_limit_cny, e.new_limit_cny, e.reason)
            )
        self.transition_counts.append(transition_counts(world, month))
        for row in sector_rows:
            row["step"] = int(row["step"]) - self.offset
            self._firm_rows.append(row)
        return self.metrics

    @property
    def event_log(self) -> EventLog:
        """The limit events so far, as stored (packed batches; iterate to read them)."""
        return self._events

    def limit_events(self) -> pd.DataFrame:
        """Every limit change so far.

        Returns:
            DataFrame with columns ``borrower_id`` (int64, the borrower's row),
            ``step`` (int16), ``old_limit_cny``, ``new_limit_cny`` (float64) and
            ``reason`` (categorical of ``ReasonCode`` names); the record keeps them
            packed (:mod:`sim.outputs.events`), the values are those the stages made.
        """
        return events_table(self._events)

    def transitions_table(self) -> pd.DataFrame:
        """DPD-bucket transition counts per month.

        Returns:
            Columns ``step, from_bucket, to_bucket, count``, with state labels from
            :data:`sim.units.BUCKET_LABELS` (DPD buckets, ``charged_off``, ``closed`` for
            attrition; non-zero counts only). The month's start is taken after its
            ``originations`` stage, so an account opened in a month is counted from that
            month on (from ``current``); a month's counts sum to the rows opened by then.
        """
        if not self.transition_counts:
            return pd.DataFrame(columns=["step", "from_bucket", "to_bucket", "count"])
        counts = np.stack(self.transition_counts)  # (months, N_BUCKETS**2)
        step, pair = np.nonzero(counts)
        labels = np.asarray(BUCKET_LABELS)
        return pd.DataFrame(
            {
                "step": step + 1,
                "from_bucket": labels[pair // N_BUCKETS],
                "to_bucket": labels[pair % N_BUCKETS],
                "count": counts[step, pair],
            }
        )

    def firms_table(self) -> pd.DataFrame:
        """Monthly firm statistics per sector (and ``"all"``): the ``firms`` run table.

        Returns:
            One row per month and sector, columns
            :data:`sim.outputs.metrics.FIRM_TABLE_COLUMNS`
            (see :func:`sim.outputs.metrics.firm_sector_rows`).
        """
        if not self._firm_rows:
            return pd.DataFrame(
                {c: pd.Series(dtype=object if c == "sector" else float) for c in FIRM_TABLE_COLUMNS}
            )
        return pd.DataFrame(self._firm_rows, columns=list(FIRM_TABLE_COLUMNS))
