"""Status groups and account panels: the observed UCI panel and the simulated one.

The groups ``P``, ``R`` and ``D`` and their definitions in the data and in the simulator
are described in :mod:`sim.empirical.validation`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.platform.scorecard import TARGET_COLUMN, PDModel
from sim.world.borrowers import BorrowerState
from sim.world.population import (
    BILL_COLUMNS,
    PAYMENT_COLUMNS,
    STATUS_COLUMNS,
    UCI_MONTHS,
    classify_behaviour,
)

__all__ = [
    "CALENDAR",
    "GROUP_LABELS",
    "GROUP_NAMES",
    "Panel",
    "months_after",
    "observed_panel",
    "simulate_panel",
    "state_status_group",
    "uci_status_group",
]

#: Status groups, in code order (0, 1, 2): see :mod:`sim.empirical.validation`.
GROUP_NAMES: tuple[str, ...] = ("P", "R", "D")
GROUP_LABELS: dict[str, str] = {
    "P": "paid in full / no balance",
    "R": "revolving (minimum paid)",
    "D": "behind (30+ DPD)",
}
_P, _R, _D = 0, 1, 2

#: The UCI months in calendar order, then the month of the default flag.
CALENDAR: tuple[str, ...] = ("april", "may", "june", "july", "august", "september", "october")
_MONTH_NUMBER = {m: i + 4 for i, m in enumerate(CALENDAR)}


# --------------------------------------------------------------------------- status groups


def uci_status_group(status: np.ndarray, bill: np.ndarray, *, code1_as: str = "D") -> np.ndarray:
    """Status group of UCI account-months from the month's status code and bill.

    Args:
        status: repayment-status codes (-2..9), any shape.
        bill: the same month's bill statement amounts (NT$), same shape.
        code1_as: group of code 1 with a positive bill: ``"D"`` (main reading) or ``"R"``
            (the alternative reading of September's ambiguous code 1).

    Returns:
        int8 group codes (0 = ``P``, 1 = ``R``, 2 = ``D``), same shape.

    Raises:
        ValueError: shapes differ or ``code1_as`` is not ``"D"`` / ``"R"``.
    """
    status = np.asarray(status)
    bill = np.asarray(bill, dtype=np.float64)
    if status.shape != bill.shape:
        raise ValueError(f"uci_status_group: status {status.shape} and bill {bill.shape} differ")
    if code1_as not in ("D", "R"):
        raise ValueError(f"uci_status_group: code1_as must be 'D' or 'R', got {code1_as!r}")
    owes = bill > 0
    behind = owes & ((status >= 2) | ((status == 1) & (code1_as == "D")))
    revolving = owes & ((status == 0) | ((status == 1) & (code1_as == "R")))
    return np.select([behind, revolving], [_D, _R], default=_P).astype(np.int8)


def state_status_group(state: BorrowerState) -> np.ndarray:
    """Status group of every simulated account from its current state.

    ``D`` if defaulted or at least one missed payment (30+ DPD); otherwise ``P`` if the
    last statement was paid in full or nothing was due (``paid_in_full``); else ``R``.

    Args:
        state: borrower arrays.

    Returns:
        ``(n_borrowers,)`` int8 group codes (0 = ``P``, 1 = ``R``, 2 = ``D``).
    """
    behind = state.defaulted | (state.missed >= 1)
    return np.where(behind, _D, np.where(state.paid_in_full, _P, _R)).astype(np.int8)


# --------------------------------------------------------------------------- panels


@dataclass(frozen=True)
class Panel:
    """Monthly account panel: one row per account, one column per month.

    Attributes:
        months: calendar month of each column (names of :data:`CALENDAR`).
        uci_row: ``(n,)`` int64 UCI row position of each account.
        group: ``(n, T)`` int8 status group per month.
        payment_ratio: ``(n, T)`` float64 payment in the month / the previous month's bill,
            clipped to [0, 1]; NaN where the previous bill was not positive or is unknown.
        utilisation: ``(n, T)`` float64 bill (balance) / credit limit, negatives clipped to 0.
        deep_arrears: ``(n, T)`` bool 60+ DPD: code >= 3 with a bill (the first miss is
            code 2 in the data); simulator: 2+ missed payments or defaulted.
        behaviour_type: ``(n,)`` int8 :class:`~sim.world.borrowers.BehaviourType`.
        default_next: ``(n,)`` bool default on the payment of the month after the last
            column (October), or None if not observed / simulated.
    """

    months: tuple[str, ...]
    uci_row: np.ndarray
    group: np.ndarray
    payment_ratio: np.ndarray
    utilisation: np.ndarray
    deep_arrears: np.ndarray
    behaviour_type: np.ndarray
    default_next: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of accounts."""
        return int(self.uci_row.shape[0])


def _offset(month: str) -> int:
    if month not in UCI_MONTHS:
        raise ValueError(f"unknown UCI month {month!r}; allowed: {list(reversed(UCI_MONTHS))}")
    return UCI_MONTHS.index(month)


def months_after(as_of: str, n_months: int) -> list[str]:
    """The (at most) ``n_months`` calendar months after ``as_of``, up to October."""
    start = CALENDAR.index(as_of)
    return list(CALENDAR[start + 1 : start + 1 + n_months])


def observed_panel(
    uci: pd.DataFrame,
    months: Sequence[str],
    *,
    behaviour_window: int = 2,
    code1_as: str = "D",
) -> Panel:
    """The observed panel of every UCI row over consecutive ``months``.

    Behaviour types are classified as of the first month, from the ``behaviour_window``
    months ending there (as the simulator's population is built).

    Args:
        uci: UCI table (:func:`sim.outputs.files.load_uci`).
        months: consecutive calendar months among April..September, oldest first.
        behaviour_window: months of history for the behaviour types, >= 1.
        code1_as: reading of September's code 1 with a balance (see
            :func:`uci_status_group`); in the other months the code (at most 28 rows a
            month) is always read as ``D``.

    Returns:
        The :class:`Panel`; ``default_next`` is the data's October flag when the last
        month is September, else None.

    Raises:
        ValueError: unknown or non-consecutive months.
    """
    months = tuple(months)
    offsets = [_offset(m) for m in months]
    if any(b != a - 1 for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ValueError(f"observed_panel: months must be consecutive and in order, got {months}")
    limit = uci["LIMIT_BAL"].to_numpy(np.float64)
    groups, deep, ratios, utils = [], [], [], []
    for k in offsets:
        status = uci[STATUS_COLUMNS[k]].to_numpy()
        bill = uci[BILL_COLUMNS[k]].to_numpy(np.float64)
        groups.append(uci_status_group(status, bill, code1_as=code1_as if k == 0 else "D"))
        deep.append((status >= 3) & (bill > 0))
        utils.append(np.clip(bill, 0.0, None) / limit)
        if k + 1 < len(BILL_COLUMNS):
            prev = uci[BILL_COLUMNS[k + 1]].to_numpy(np.float64)
            pay = uci[PAYMENT_COLUMNS[k]].to_numpy(np.float64)
            ratio = np.full(len(uci), np.nan)
            np.divide(pay, prev, out=ratio, where=prev > 0)
            ratios.append(np.clip(ratio, 0.0, 1.0))
        else:
            ratios.append(np.full(len(uci), np.nan))
    default_next = uci[TARGET_COLUMN].to_numpy().astype(bool) if months[-1] == "september" else None
    return Panel(
        months=months,
        uci_row=np.arange(len(uci), dtype=np.int64),
        group=np.column_stack(groups).astype(np.int8),
        payment_ratio=np.column_stack(ratios),
        utilisation=np.column_stack(utils),
        deep_arrears=np.column_stack(deep),
        behaviour_type=classify_behaviour(uci, offset=offsets[0], window=behaviour_window),
        default_next=default_next,
    )


def simulate_panel(
    run: RunConfig,
    *,
    uci: pd.DataFrame,
    scorecard: PDModel | None = None,
    model_factory: Callable[..., Any] | None = None,
) -> Panel:
    """Simulate ``run`` from a ``uci_<month>`` start and record the account panel.

    The panel's first column is the start state (the "as of" month), then one column per
    simulated month up to September. If the run reaches October, that month's outcome
    is ``default_next``: the October minimum payment was missed, or the line was already
    in default (90+ DPD, closed) and paid nothing.

    Args:
        run: run config with ``population.start_state = "uci_<month>"``.
        uci: the UCI table the population is resampled from.
        scorecard: the platform's PD model (the default fit if None).
        model_factory: builds the model (default :class:`sim.model.CreditMarketModel`
            without Mesa agent views); tests may pass a stub.

    Returns:
        The simulated :class:`Panel` (one row per borrower).

    Raises:
        ValueError: the start state is not a UCI month, or the run goes past October.
    """
    start = run.population.start_state
    if not start.startswith("uci_"):
        raise ValueError(
            f"simulate_panel: population.start_state must be uci_<month>, got {start!r}"
        )
    as_of = start.removeprefix("uci_")
    simulated = months_after(as_of, run.n_months)
    if len(simulated) < run.n_months:
        raise ValueError(f"simulate_panel: {run.n_months} months from {as_of} go past October")
    if model_factory is None:
        from sim.model import CreditMarketModel

        def model_factory(cfg: RunConfig, **kw: Any) -> Any:
            return CreditMarketModel(cfg, **kw)

    model = model_factory(run, uci=uci, scorecard=scorecard)
    s = model.borrowers
    limit0 = np.where(s.initial_limit_cny > 0, s.initial_limit_cny, 1.0)
    groups = [state_status_group(s)]
    deep = [s.defaulted | (s.missed >= 2)]
    ratios = [np.full(s.n, np.nan)]  # the start month's payment is data, not simulated
    utils = [s.balance_cny / limit0]
    default_next = None
    for month in simulated:
        prev_statement = s.statement_cny.copy()
        was_defaulted = s.defaulted.copy()
        model.step()
        s = model.borrowers
        if month == "october":
            default_next = was_defaulted | model.month.servicing.missed_now
            break
        groups.append(state_status_group(s))
        deep.append(s.defaulted | (s.missed >= 2))
        ratios.append(np.where(prev_statement > 0, s.payment_ratio, np.nan))
        utils.append(s.balance_cny / limit0)
    return Panel(
        months=(as_of, *[m for m in simulated if m != "october"]),
        uci_row=s.uci_row.copy(),
        group=np.column_stack(groups).astype(np.int8),
        payment_ratio=np.column_stack(ratios),
        utilisation=np.column_stack(utils),
        deep_arrears=np.column_stack(deep),
        behaviour_type=s.behaviour_type.copy(),
        default_next=None if default_next is None else np.asarray(default_next, dtype=bool),
    )
