"""The two records a monthly stage receives: the persistent :class:`World` and one :class:`Month`.

A month is data flowing once through :data:`sim.model.STAGES`: each stage is a function
``stage(world, month)`` that reads the fields earlier stages wrote into :class:`Month`,
updates the state it owns in :class:`World` and writes its own :class:`Month` fields.
Every field of :class:`Month` names the one stage that writes it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.lending.accounts import ServicingFlows
from sim.lending.channels import Channels
from sim.lending.funding import FirmFunding, HouseholdFunding, MonthTransfers
from sim.month_release import COUNTED, RELEASE_AFTER, TOTALLED, _Released
from sim.month_release import ReleasedFieldError as ReleasedFieldError  # the public name
from sim.platform.policies import LimitPolicy
from sim.rows import pad_rows
from sim.world.borrowers import BorrowerState, MonthStart
from sim.world.draws import FirmDraws, WorldDraws
from sim.world.firms import FirmMonth, FirmState, SectorTable, Settlement
from sim.world.households import HouseholdFlows
from sim.world.network import SupplyNetwork
from sim.world.scenarios import MacroState

if TYPE_CHECKING:
    from sim.lending.servicing import MonthServicing
    from sim.platform.agent import Platform
    from sim.platform.underwriting import BookMonth

#: Child streams spawned from the run's root SeedSequence, in spawn order (new streams are
#: appended, so the existing ones keep their draws).
RNG_STREAMS: tuple[str, ...] = (
    "population",
    "world",
    "platform",
    "mesa",
    "firms",
    "arrivals",
    "entry",
    "lenders",
    "firm_finance",
    "habits",
)


@dataclass(eq=False)
class World:
    """The persistent state of a run: everything that outlives one month.

    Attributes:
        config: the validated run config.
        rngs: the run's child generators by :data:`RNG_STREAMS` name; ``world`` and
            ``firms`` draw the exogenous shocks (``habits`` the payment-habit switches),
            ``lenders`` other lenders' approval decisions, ``population`` the agents at
            set-up, ``platform`` the policy's own randomness (common random numbers).
        borrowers: :class:`sim.world.borrowers.BorrowerState`, one row per borrower.
        firms: :class:`sim.world.firms.FirmState`, one row per firm.
        network: the :class:`sim.world.network.SupplyNetwork` among firms.
        sectors: the :class:`sim.world.firms.SectorTable`.
        channels: the other lenders' books (:class:`sim.lending.channels.Channels`).
        platform: the :class:`sim.platform.agent.Platform` agent.
        sole_trader: ``(n_borrowers,)`` bool, owns or owned a firm during the run (the
            "sole_trader" segment): the starting owners and the owners of firms that
            entered since (:mod:`sim.world.firms.entry`).
        firm_of: ``(n_borrowers,)`` int64 row of the borrower's firm, -1 if none.
        initial_open_lines: number of lines open at the start of the run (sizes the
            monthly arrivals, ``book.applicants_per_month_share``).
        initial_firms: number of firms at the start of the run (sizes firm entry).
        income_decile_edges_cny: ``(9,)`` base-income deciles of the starting book; a
            new borrower's ``income_decile`` is placed by them.
        uci: the UCI table applicants are resampled from (None: the packaged file).
        burn_in_months: months before the comparison window (``config.burn_in_months``).
        window_open_lines: lines open at the window's start (set by
            :func:`sim.build.start_window`).
        window_policy: the policy under study; during the burn-in the platform runs
            ``static`` and this one takes over at the window's start
            (:func:`sim.build.start_window`); None once it has.
        platform_cash_cny: the platform's net cash from lending since the start, CNY
            (repayments + recoveries - draws; written by the servicing stage).
        serviced_step: the last month the servicing stage ran (0 before the first):
            each month is serviced once, in order (written by the servicing stage).
    """

    config: RunConfig
    rngs: dict[str, np.random.Generator]
    borrowers: BorrowerState
    firms: FirmState
    network: SupplyNetwork
    sectors: SectorTable
    channels: Channels
    platform: Platform
    sole_trader: np.ndarray
    firm_of: np.ndarray
    initial_open_lines: int
    initial_firms: int = 0
    income_decile_edges_cny: np.ndarray = field(default_factory=lambda: np.zeros(0))
    uci: pd.DataFrame | None = None
    burn_in_months: int = 0
    window_policy: LimitPolicy | None = None
    window_open_lines: int = 0
    platform_cash_cny: float = 0.0
    serviced_step: int = 0

    @property
    def window_start(self) -> int:
        """The first month of the comparison window (``burn_in_months + 1``)."""
        return self.burn_in_months + 1

    def in_window(self, step: int) -> bool:
        """Month ``step`` belongs to the comparison window (after the burn-in)."""
        return step > self.burn_in_months

    def exposed_in_window(self) -> np.ndarray:
        """``(n_borrowers,)`` bool: lines open at the window's start or opened in it.

        The denominator of the window's default rates (a line that defaulted or closed
        during the burn-in is not exposed).
        """
        s, start = self.borrowers, self.window_start
        gone = ((s.default_step > 0) & (s.default_step < start)) | (
            (s.closed_step >= 0) & (s.closed_step < start)
        )
        return ~gone

    def grow_rows(self, n_borrowers: int) -> None:
        """Extend every per-borrower array outside :attr:`borrowers` to ``n_borrowers``.

        Called after rows were appended to :attr:`borrowers` (originations): the other
        lenders' books, ``firm_of``, ``sole_trader`` and the policy's memory (new rows
        with no firm, no other lender, fresh policy memory).
        """
        old = self.firm_of.shape[0]
        if n_borrowers == old:
            return
        self.channels.grow(n_borrowers)
        self.firm_of = pad_rows(self.firm_of, n_borrowers, -1)
        self.sole_trader = pad_rows(self.sole_trader, n_borrowers, False)
        self.platform.policy.grow(n_borrowers)


@dataclass
class LimitEvents:
    """Limit changes of one month, one row per changed line.

    Attributes:
        rows: ``(k,)`` int64 borrower rows.
        old_limit_cny: ``(k,)`` limits before the change.
        new_limit_cny: ``(k,)`` limits after the change.
        reason: ``(k,)`` int8 :class:`sim.platform.policies.ReasonCode` values.
    """

    rows: np.ndarray
    old_limit_cny: np.ndarray
    new_limit_cny: np.ndarray
    reason: np.ndarray


def _not_kept(name: object, kept: frozenset[str], table: str) -> str:
    """Why ``Month.total`` / ``positive_count`` has no value for ``name``, and what to read."""
    text = f"{name!r} is not a field of sim.month.{table} ({', '.join(sorted(kept))})"
    if name in TOTALLED:  # not COUNTED
        return f"{text}; only its total is kept: month.total({name!r})"
    if name in RELEASE_AFTER:
        return (
            f"{text}; it is released without a total (model.release_month_fields = False keeps it)"
        )
    close = difflib.get_close_matches(name, sorted(kept), n=1) if isinstance(name, str) else []
    if close:
        return f"{text}; did you mean {close[0]!r}?"
    return f"{text}; a field that is not released is read as it is (month.<field>.sum())"


@dataclass
class Month:
    """One month's record: one field per stage output.

    A field is ``None`` until its stage has run. The model releases the fields of
    :data:`RELEASE_AFTER` after their last reader (:meth:`release_after`); reading one then
    raises :class:`ReleasedFieldError` (``model.release_month_fields = False``
    keeps them, e.g. to compare two runs' draws).
    """

    step: int
    """Simulated month, 1-based (set by the model before the first stage)."""

    burn_in_months: int = 0
    """Months before the comparison window (the monthly table's step is ``step`` minus
    this; set by the model)."""

    releasing: bool = False
    """The model releases the fields of :data:`RELEASE_AFTER` after their last reader (set
    by the model): a compiled stage may then write its flows over arrays released right
    after it (:meth:`freed_after`; the households' flows over the month's uniforms)."""

    book: BookMonth | None = None
    """Arrivals, originations and attrition closures (``originations``), and new firms
    (``firm_entry``)."""

    macro: MacroState | None = None
    """The month's macro state. Written by ``scenario``."""

    draws: WorldDraws | None = None
    """Households' exogenous draws (the ``world`` stream). Written by ``scenario``."""

    firm_draws: FirmDraws | None = None
    """Firms' exogenous draws (the ``firms`` stream). Written by ``scenario``."""

    lender_draws: np.ndarray | None = None
    """Other lenders' approval uniforms, ``(n_channels, n_borrowers)`` float32 (the
    ``lenders`` stream). Written by ``scenario``."""

    start: MonthStart | None = None
    """DPD buckets and open lines at the start of the month. Written by ``scenario``."""

    transfers: MonthTransfers | None = None
    """Cash moved between households, firms and lenders. Created (zeros) by ``open_books``,
    its per-borrower fields when first used; its household-funding and firm-funding fields
    are filled by ``funding``, its repayment and payout fields by ``settlement``."""

    household: HouseholdFlows | None = None
    """Households' income, spending, platform draws and payments, as the household
    stage left them (before other lenders fund any gap). Written by ``household``."""

    firm_month: FirmMonth | None = None
    """Firms' sales, collections, purchases and liquidity gaps. Written by ``enterprise``."""

    household_funding: HouseholdFunding | None = None
    """Households' gaps funded by other lenders, and consumption and unmet need after
    that funding. Written by ``funding``."""

    firm_funding: FirmFunding | None = None
    """Firms' gaps through the waterfall. Written by ``funding``."""

    settlement: Settlement | None = None
    """Firms' fixed costs, supplier payments, shortfalls and closures. Written by
    ``settlement``."""

    servicing: MonthServicing | ServicingFlows | None = None
    """Platform lines' interest, payments, delinquency and defaults, the rare flows
    (defaults, charge-offs) kept at their rows (:class:`sim.lending.servicing.MonthServicing`).
    Written by ``servicing``."""

    accruing_balance_cny: float = 0.0
    """Platform balance on open lines before this month's interest accrued. Written by
    ``servicing``."""

    limit_events: list[LimitEvents] = field(default_factory=list)
    """Limit changes in the order made: closures at default (``servicing``), then the
    policy's decisions (``platform_review``)."""

    limit_cuts: int = 0
    """Policy cuts this month (closures at default excluded). Written by
    ``platform_review``."""

    limit_raises: int = 0
    """Policy raises this month. Written by ``platform_review``."""

    def __getattribute__(self, name: str) -> object:
        value = object.__getattribute__(self, name)
        if type(value) is _Released:
            value.fail()
        return value

    def __repr__(self) -> str:
        values = (f"{f.name}={object.__getattribute__(self, f.name)!r}" for f in fields(self))
        return f"Month({', '.join(values)})"

    def _holder(self, name: str) -> tuple[object, str]:
        """The object holding field ``name`` (this month, or the field before the dot)."""
        head, _, attr = name.rpartition(".")
        return (object.__getattribute__(self, head) if head else self), attr

    def release_after(self, stage: str) -> list[str]:
        """Release the fields whose last reader is ``stage`` (:data:`RELEASE_AFTER`).

        Their arrays are dropped (freed unless referenced elsewhere); reading such a field
        afterwards raises :class:`ReleasedFieldError`. A field not yet written (None, or
        inside a field that is None) is left as it is.

        Args:
            stage: the name of the stage that has just run.

        Returns:
            The names of the fields released (empty for most stages).
        """
        released = []
        for name, last in RELEASE_AFTER.items():
            if last != stage:
                continue
            holder, attr = self._holder(name)
            value = None if holder is None else object.__getattribute__(holder, attr)
            if value is not None and type(value) is not _Released:
                kept = value if name in TOTALLED else None
                stand_in = _Released(name, self.step, stage, kept, self.burn_in_months)
                object.__setattr__(holder, attr, stand_in)
                released.append(name)
        return released

    def freed_after(self, name: str, stage: str) -> bool:
        """The model releases field ``name`` right after ``stage``: ``stage`` may write over it."""
        return self.releasing and RELEASE_AFTER.get(name) == stage

    def _totalled(
        self, name: str, kept: frozenset[str] = TOTALLED
    ) -> np.ndarray | _Released | None:
        """Field ``name`` of ``kept`` as held (an array, released, or None)."""
        if not isinstance(name, str) or name not in kept:
            table = "COUNTED" if kept is COUNTED else "TOTALLED"
            raise KeyError(_not_kept(name, kept, table))
        holder, attr = self._holder(name)
        return None if holder is None else object.__getattribute__(holder, attr)

    def total(self, name: str) -> float | int:
        """The sum over rows of flow ``name`` (a field of :data:`TOTALLED`), released or not.

        The value of ``values.sum()`` on the ``(n_borrowers,)`` array (taken from it as it
        is released: the same number), CNY (a count for ``*_count``); 0 for a flow not
        written this month (a transfer nobody made).

        Raises:
            KeyError: ``name`` is not in :data:`TOTALLED`.
        """
        value = self._totalled(name)
        if value is None:
            return 0.0
        return value.total if type(value) is _Released else value.sum()

    def positive_count(self, name: str) -> int:
        """The number of rows of flow ``name`` (a field of :data:`COUNTED`) above zero.

        Raises:
            KeyError: ``name`` is not in :data:`COUNTED`.
        """
        value = self._totalled(name, COUNTED)
        if value is None:
            return 0
        if type(value) is _Released:
            return int(value.positive)
        return int(np.count_nonzero(value > 0))

    def is_released(self, name: str) -> bool:
        """Field ``name`` (e.g. ``"draws"``, ``"household.consumption_cny"``) was released."""
        holder, attr = self._holder(name)
        return type(object.__getattribute__(holder, attr)) is _Released

    def add_limit_events(
        self,
        rows: np.ndarray,
        old_limit_cny: np.ndarray,
        new_limit_cny: np.ndarray,
        reason: np.ndarray,
    ) -> None:
        """Append one batch of limit changes (the shapes of :class:`LimitEvents`)."""
        self.limit_events.append(
            LimitEvents(
                np.asarray(rows, dtype=np.int64),
                np.asarray(old_limit_cny, dtype=np.float64),
                np.asarray(new_limit_cny, dtype=np.float64),
                np.asarray(reason, dtype=np.int8),
            )
        )
