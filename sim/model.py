"""The Mesa model of the credit market: it builds the :class:`World` and runs the months.

One step is one month: the stages of :data:`STAGES` run in order, each a function
``stage(world, month)`` over whole arrays (see ``docs/architecture.md``), then the month
is collected (:class:`sim.outputs.recorder.RunRecord` and Mesa's ``DataCollector``).
The model orchestrates and nothing else, as Mesa's own ``Model`` does.

Randomness and the money identity the tests check: ``docs/architecture.md``.

Mesa versions (3.3 on Python 3.11, 3.5 on 3.12 and later; public API only, all of it in
this module and :mod:`sim.agents`): the generator is passed as ``rng=`` (3.5 deprecates
``seed=``); ``self.steps`` is the month being simulated inside :meth:`step` (both count it
up before calling the subclass's step); agents leave through ``Agent.remove()``; Mesa 3.3
sets the multiprocessing start method to ``spawn`` at import, so nothing here relies on
``fork``. Mesa 3.3 also keys its agent-id counters by model for the life of the process:
a model whose agents were listed stays referenced there, which is why :meth:`close` drops
the state itself rather than waiting for the model to be freed.
"""

from __future__ import annotations

import gc
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.agents import Borrower, MicroEnterprise
from sim.build import build_world, spawn_streams, start_window
from sim.config import RunConfig
from sim.interrupts import interrupt_behind
from sim.lending.funding import funding_stage
from sim.lending.servicing import open_books_stage, servicing_stage
from sim.lending.settlement import settlement_stage
from sim.month import Month, World
from sim.outputs.metrics import MONTHLY_METRICS
from sim.outputs.recorder import RunRecord
from sim.outputs.tables import policy_label, run_tables
from sim.platform.agent import platform_review_stage
from sim.platform.policies import LimitPolicy
from sim.platform.scorecard import PDModel
from sim.platform.underwriting import originations_stage
from sim.world.draws import scenario_stage
from sim.world.firms import enterprise_stage
from sim.world.firms.entry import firm_entry_stage
from sim.world.households import household_stage
from sim.world.scenarios import MacroState, macro_state

#: The monthly stages, in order: ``(name, stage(world, month))``.
STAGES: tuple[tuple[str, Callable[[World, Month], None]], ...] = (
    ("originations", originations_stage),
    ("firm_entry", firm_entry_stage),
    ("scenario", scenario_stage),
    ("open_books", open_books_stage),
    ("household", household_stage),
    ("enterprise", enterprise_stage),
    ("funding", funding_stage),
    ("settlement", settlement_stage),
    ("servicing", servicing_stage),
    ("platform_review", platform_review_stage),
)
#: Stage names in order (docs and tests cite this constant).
STAGE_ORDER: tuple[str, ...] = tuple(name for name, _ in STAGES)

# Mesa logs every step at INFO; a month-by-month log is noise in sweeps.
logging.getLogger("MESA").setLevel(logging.WARNING)


class CreditMarketModel(mesa.Model):
    """Borrowers initialised from the UCI data, firms, other lenders and a platform.

    Args:
        config: a validated run config (:func:`sim.config.to_run_config`).
        uci: the UCI table; loaded from the package if None.
        scorecard: the platform's PD model; the default fit on the UCI data if None.
        policy: a built policy; built from ``config.policy`` if None.
        world: a world built beforehand (:func:`sim.build.build_world`, e.g. a few
            hand-made borrowers); ``uci``, ``scorecard`` and ``policy`` are then unused.

    Attributes:
        world: the :class:`sim.month.World` (None after :meth:`close`).
        month: the last finished month's :class:`sim.month.Month` (None before the first,
            while a month runs and after a month failed: it is released when the next
            month starts).
        record: the :class:`sim.outputs.recorder.RunRecord` of every month so far.
        datacollector: Mesa ``DataCollector`` with one model reporter per metric.
        stage_seconds: None (the default: nothing timed), or a dict that each month
            adds every stage's wall time to, in seconds, keyed by stage name (and
            ``"collect"``): set it to ``{}`` to profile the stages
            (``python -m experiments.bench --profile``).
        release_month_fields: True (the default): each month's draws and households'
            per-borrower flows are released once their last reader has run
            (:data:`sim.month.RELEASE_AFTER`; reading them afterwards raises
            :class:`sim.month.ReleasedFieldError`; their totals stay, ``Month.total``),
            which lowers the peak memory; False keeps them in ``model.month`` (e.g. to
            compare two runs' draws, or to read a month's flows row by row); a bool,
            else TypeError.
        running: Mesa's flag; False once ``burn_in_months + n_months`` months are
            simulated (``run_model()`` and Mesa's batch runner stop there; :meth:`step`
            still simulates further months) and after :meth:`close`.

    The state is also reachable as ``model.borrowers``, ``firms``, ``network``,
    ``sectors``, ``channels``, ``platform``, ``sole_trader``, ``firm_of`` (the
    :class:`World` fields). Mesa agents (``model.agents``, ``model.agents_by_type``) are
    thin views made when first asked for: one ``Borrower`` per borrower row, one
    ``MicroEnterprise`` per firm row, and the ``Platform``.
    """

    #: Models built and not yet closed or freed (a new model collects cycles if any).
    _unclosed = 0

    def __init__(
        self,
        config: RunConfig,
        *,
        uci: pd.DataFrame | None = None,
        scorecard: PDModel | None = None,
        policy: LimitPolicy | None = None,
        world: World | None = None,
    ) -> None:
        if CreditMarketModel._unclosed:
            # A model dropped without close() may sit in a reference cycle (Mesa 3.5's
            # step scheduler refers back to its model) that only a full collection frees;
            # NumPy arrays barely count towards the collector's thresholds, so it may not
            # run for many runs. One collection here frees it before a new one is built.
            gc.collect()
        streams = spawn_streams(config.seed)
        super().__init__(rng=np.random.default_rng(streams["mesa"]))
        self.world: World | None = (
            build_world(config, uci=uci, scorecard=scorecard, policy=policy)
            if world is None
            else world
        )
        self.config = config
        self.month: Month | None = None
        self.record = RunRecord(offset=config.burn_in_months)
        self.stage_seconds: dict[str, float] | None = None
        self._release_month_fields = True
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "calendar_month": lambda m: m.month.macro.calendar_month,
                "regime": lambda m: m.month.macro.regime,
                **{name: _reporter(name) for name in MONTHLY_METRICS},
            }
        )
        self._views_made = False
        #: Months counted without being simulated: their end state was read from a saved
        #: one (sim.runtime.burn_in.continue_from).
        self.restored_months = 0
        self._policy_name = policy_label(self.world.platform.policy)
        self._failure: BaseException | None = None
        self._broken: str | None = None
        # Mesa wraps the step below in its own (it counts the month, and on Mesa 3.5 runs
        # it from an event schedule that is not renewed when a step raises, so a model
        # whose step raised would silently stop stepping). The month's own errors are
        # therefore caught inside the step and raised here, after Mesa's wrapper returned.
        self._mesa_step = self.step
        self.step = self._step_and_raise
        CreditMarketModel._unclosed += 1
        self._release = weakref.finalize(self, _one_less_unclosed)

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """Simulate one month: every stage of :data:`STAGES` in order, then collect it.

        A month that cannot run or fails leaves ``steps`` as it was, and a model whose
        month failed half way refuses further months (its state is partly updated).

        Raises:
            RuntimeError: if the model was closed, or an earlier month failed.
            Whatever a stage raised (e.g. a policy's malformed decision).
        """
        try:
            if self._broken is not None:
                raise RuntimeError(self._broken)
            world = self._open_world(f"simulate month {self.steps}")
            if self.steps <= self.restored_months:
                return  # this month's end state was read (restored_months): counted only
            # The last month's record is released before this month's arrays are made, so
            # the month's peak memory holds one month's record, not two.
            self.month = None
            if self.steps == world.window_start:
                start_window(world)
            timing, release = self.stage_seconds, self.release_month_fields
            month = Month(self.steps, world.burn_in_months, releasing=bool(release))
            self.record.open_month(world)
            for name, stage in STAGES:
                try:
                    if timing is None:
                        stage(world, month)
                    else:
                        t0 = time.perf_counter()
                        stage(world, month)
                        timing[name] = timing.get(name, 0.0) + time.perf_counter() - t0
                    if release:
                        month.release_after(name)  # fields no later stage reads
                except Exception:
                    self._broken = (
                        f"month {self.steps} failed in stage {name!r} (error above); the "
                        "state is partly updated, so this model simulates no further "
                        "month: build a new one"
                    )
                    raise
            self.month = month
            t0 = time.perf_counter()
            self.record.collect(world, month)
            self.datacollector.collect(self)
            if timing is not None:
                timing["collect"] = timing.get("collect", 0.0) + time.perf_counter() - t0
        except Exception as err:
            # Mesa counted this month before calling here: undo that, so the model still
            # says how many months it simulated; the error is raised by _step_and_raise.
            self.steps -= 1
            self._failure = err

    @property
    def release_month_fields(self) -> bool:
        """See the class docstring (Attributes)."""
        return self._release_month_fields

    @release_month_fields.setter
    def release_month_fields(self, value: bool) -> None:
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"release_month_fields must be True or False, got {value!r}")
        self._release_month_fields = bool(value)

    def _step_and_raise(self) -> None:
        self._mesa_step()
        failure, self._failure = self._failure, None
        if failure is None:
            # Mesa's flag: the configured months (burn-in and window) are simulated, so
            # run_model() and batch runners stop; step() still simulates further months.
            if self.steps >= self.config.burn_in_months + self.config.n_months:
                self.running = False
            return
        interrupt = interrupt_behind(failure)
        if interrupt is not None:
            # Ctrl-C surfacing as another error (a compiled kernel's SystemError, a
            # future's RuntimeError): it is an interrupt.
            raise interrupt from None
        raise failure

    def run(self, n_months: int | None = None, progress: bool = False) -> CreditMarketModel:
        """Run ``n_months`` steps (default: to the end of the window); returns self.

        Args:
            n_months: months to simulate; by default the months left until the end of the
                comparison window (``burn_in_months + n_months`` months in all).
            progress: show a tqdm bar over months.
        """
        total = self.config.burn_in_months + self.config.n_months
        months = max(total - self.steps, 0) if n_months is None else n_months
        iterator: Any = range(months)
        if progress:
            from tqdm.auto import tqdm

            desc = f"{self._policy_name} seed {self.config.seed}: months"
            iterator = tqdm(iterator, desc=desc, unit="month", leave=False)
        for _ in iterator:
            self.step()
        return self

    def close(self) -> None:
        """Release the run's state (every array) now; the record's tables stay readable.

        After closing, :meth:`monthly_table`, :meth:`limit_events`,
        :meth:`transitions_table` and :meth:`firms_table` still work; the state
        (``world``, ``borrowers``, ...) is gone and :meth:`step` raises. Also called on
        leaving a ``with CreditMarketModel(...) as model:`` block. Idempotent.
        """
        if self._views_made:
            for agent in list(super().agents):
                agent.remove()
        if self.world is not None:
            self._closed_after = self.steps
        self.world = None
        self.month = None
        self.running = False  # Mesa's flag: batch runners stop stepping a closed model
        self._release()

    def __enter__(self) -> CreditMarketModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_world(self, what: str = "read its state") -> World:
        if self.world is None:
            raise RuntimeError(
                f"CreditMarketModel (policy {self._policy_name!r}, seed {self.config.seed}) "
                f"was closed after month {self._closed_after}: close() released its state, "
                f"so it cannot {what} "
                "(monthly_table(), limit_events(), transitions_table() and firms_table() "
                "stay readable); build a new model to run again"
            )
        return self.world

    # ------------------------------------------------------------------ state and agents
    def __getattr__(self, name: str) -> Any:
        # The World's fields read as the model's attributes (model.borrowers, ...).
        if name in _WORLD_FIELDS:
            return getattr(self._open_world(f"read {name}"), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def macro(self) -> MacroState:
        """The last finished month's macro state (month 1's before the first step)."""
        if self.month is None:
            return macro_state(self.config.scenario, 1)
        return self.month.macro

    @property
    def agents(self):  # noqa: ANN201 - Mesa's AgentSet type differs between versions
        """Every Mesa agent; borrower, firm and platform views are made on first use."""
        self._make_views()
        return super().agents

    @property
    def agents_by_type(self):  # noqa: ANN201 - Mesa's AgentSet type differs between versions
        """Mesa agents by class; borrower, firm and platform views are made on first use."""
        self._make_views()
        return super().agents_by_type

    def _make_views(self) -> None:
        # Views for every row so far; rows appended since the last call (originations,
        # firm entry) get theirs now.
        world = self.__dict__.get("world")
        if world is None:
            return
        if not self._views_made:
            self._views_made = True
            self._views_rows = (0, 0)
            world.platform.join(self)
        b0, f0 = self._views_rows
        for row in range(b0, world.borrowers.n):
            Borrower(self, row)
        for row in range(f0, world.firms.n):
            MicroEnterprise(self, row)
        self._views_rows = (world.borrowers.n, world.firms.n)

    # ------------------------------------------------------------------ results
    def monthly_table(self, include_burn_in: bool = False) -> pd.DataFrame:
        """The monthly metrics as a DataFrame: ``step`` then every metric.

        ``step`` counts the comparison window's months from 1; burn-in months (only with
        ``include_burn_in``) are numbered ``1 - burn_in_months .. 0``.
        """
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        step = np.arange(1, len(df) + 1) - self.config.burn_in_months
        df.insert(0, "step", step)
        if not include_burn_in:
            df = df[step >= 1].reset_index(drop=True)
        return df

    def limit_events(self) -> pd.DataFrame:
        """Every limit change so far (:meth:`sim.outputs.recorder.RunRecord.limit_events`)."""
        return self.record.limit_events()

    def transitions_table(self) -> pd.DataFrame:
        """DPD-bucket transition counts (``RunRecord.transitions_table``, sim.outputs.recorder)."""
        return self.record.transitions_table()

    def tables(self, run_id: str = "", *, events_as_file: bool = False) -> dict[str, Any]:
        """Every table a run writes, keyed by file stem (:func:`sim.outputs.tables.run_tables`).

        ``events_as_file=True`` gives ``events`` as an
        :class:`sim.outputs.event_stream.EventsFile` (the run folder's writer: never the
        whole table in memory) rather than a DataFrame.

        Raises:
            RuntimeError: if the model was closed (the tables need the final state).
        """
        world = self._open_world("build its tables (they need the final state)")
        return run_tables(
            world, self.record, self.monthly_table(), run_id, events_as_file=events_as_file
        )

    def firms_table(self) -> pd.DataFrame:
        """Monthly firm statistics by sector (``RunRecord.firms_table``, sim.outputs.recorder)."""
        return self.record.firms_table()


_WORLD_FIELDS = frozenset(World.__dataclass_fields__)


def _one_less_unclosed() -> None:
    CreditMarketModel._unclosed -= 1


def _reporter(name: str):  # noqa: ANN202 - a small closure for DataCollector
    def report(model: CreditMarketModel) -> float:
        return model.record.metrics[name]

    report.__name__ = f"report_{name}"
    return report
