"""Validation of the simulator against the UCI card data, out of sample in time (issue #6).

The UCI *default of credit card clients* data follow 30,000 Taiwanese card accounts from
April to September 2005 (repayment status, bill and payment each month) and flag default
on the October payment. The ``uci_2005`` calibration is fitted on April-July only
(:mod:`sim.calibration`); here the simulator starts from the accounts' state **as of
July** (``population.start_state = uci_july``), simulates August, September and the
October payment, and its outcomes are compared with what the same accounts did.

Status groups
-------------
The repayment-status codes are not coded consistently across months (data README: in
``PAY_2`` .. ``PAY_6`` the code 1 almost never occurs, and a first missed payment moves an
account from 0 straight to 2). Comparisons therefore use three groups whose coding is
consistent, defined from a month's status code and that month's bill:

====== ================================= =========================================
group  UCI month (code, bill)            simulator (state after the month)
====== ================================= =========================================
``P``  code -2 / -1 (paid in full, no    not behind and ``paid_in_full`` (the last
       use), or any code with a bill     statement was paid in full, or nothing
       <= 0 (nothing owed)               was due)
``R``  code 0 with a bill > 0            not behind, last statement not paid in full
       (revolving, minimum paid)         (a balance carried)
``D``  code >= 1 with a bill > 0         ``missed >= 1`` (30+ DPD) or defaulted
       (behind)                          (90+ DPD, line closed)
====== ================================= =========================================

September is the only month with a real 1-month code. Of its 3,688 code-1 accounts
about 1,700 owe nothing (bill <= 0; they were -2/-1 in August) and fall in ``P`` by the
rule above; the rest were mostly 2 in August and are partial cures: in September no
account moves from 2 to 0, while in the earlier months about 21 % do. Code 1 with a
balance is therefore ambiguous between ``R`` and ``D``. The main reading puts it in
``D``; every statistic that depends on it is also computed with the other reading
(``observed_alt``: code 1 -> ``R``), and its check passes if the simulated value lies
within the two readings widened by the tolerance.

October default
---------------
"Default payment next month" is mapped to **any missed October minimum payment** (the
payment due on the September statement), or a line already in default (90+ DPD,
closed) by October, which pays nothing. It is not "a miss by an account already
behind": the data flag 12.8 % of the accounts that were revolving and current in
September, so the label is a next-payment default flag, not a roll to a later bucket.

Reading the results
-------------------
Every statistic is computed by the same function from an observed panel (the UCI rows)
and from simulated panels (one per seed); the simulated book resamples the UCI rows
(30,000 by default, the data's size), so the spread over seeds covers resampling and
simulation noise of a book of the data's size. Each row of the results gives the
observed value, the simulated mean, the percentile interval over seeds and the error in
percentage points; targets (tolerances in pp) come from ``conf/validation/*.yaml``.

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for the
    predictive accuracy of probability of default of credit card clients. Expert Systems
    with Applications, 36(2), 2473-2480. doi:10.1016/j.eswa.2007.12.020 (data, CC BY 4.0).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.platform.scorecard import (
    DEFAULT_SEED,
    TARGET_COLUMN,
    Scorecard,
    auc,
    calibration_table,
    fit_scorecard,
    holdout_mask,
    uci_features,
)
from sim.world.borrowers import BehaviourType, BorrowerState
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
    "Explanation",
    "GROUP_NAMES",
    "Panel",
    "ScorecardCheck",
    "TargetSpec",
    "ValidationConfig",
    "ValidationResult",
    "account_level",
    "age_band",
    "build_run_config",
    "check_targets",
    "limit_decile",
    "months_after",
    "observed_panel",
    "panel_statistics",
    "run_validation",
    "scorecard_check",
    "simulate_panel",
    "state_status_group",
    "summarise_seeds",
    "transition_matrix",
    "uci_status_group",
    "validation_config_from_dict",
    "write_validation_report",
]

#: Status groups, in code order (0, 1, 2): see the module docstring.
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

#: Age bands (lower bounds, years) for default rates by age.
AGE_BAND_EDGES: tuple[int, ...] = (25, 30, 35, 40, 45, 50)
AGE_BAND_LABELS: tuple[str, ...] = ("<25", "25-29", "30-34", "35-39", "40-44", "45-49", "50+")


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
    scorecard: Scorecard | None = None,
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


# --------------------------------------------------------------------------- segments


def limit_decile(uci: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """LIMIT_BAL decile of every UCI row (quantile edges of the data, right-closed bins).

    ``LIMIT_BAL`` takes few distinct values, so the bins hold unequal counts (as
    ``pandas.qcut`` would give).

    Returns:
        ``(decile, labels)``: ``(n_rows,)`` int8 decile index 0..9 and a label per decile
        (e.g. ``"D1 (<=30k)"``, NT$).
    """
    limit = uci["LIMIT_BAL"].to_numpy(np.float64)
    edges = np.quantile(limit, np.linspace(0.0, 1.0, 11))
    decile = np.searchsorted(edges[1:-1], limit, side="left").astype(np.int8)
    labels = [f"D{k + 1} (<={edges[k + 1] / 1000:.0f}k)" for k in range(10)]
    return decile, labels


def age_band(uci: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Age band of every UCI row: <25, 25-29, ..., 45-49, 50+.

    Returns:
        ``(band, labels)``: ``(n_rows,)`` int8 band index and :data:`AGE_BAND_LABELS`.
    """
    band = np.searchsorted(np.asarray(AGE_BAND_EDGES), uci["AGE"].to_numpy(), side="right")
    return band.astype(np.int8), list(AGE_BAND_LABELS)


# --------------------------------------------------------------------------- statistics

_STAT_COLUMNS = ["stat", "family", "value", "n", "variance"]


def _rate_row(stat: str, family: str, hits: np.ndarray, mask: np.ndarray | None = None) -> tuple:
    hits = np.asarray(hits, dtype=bool)
    if mask is not None:
        hits = hits[mask]
    n = int(hits.size)
    p = float(hits.mean()) if n else float("nan")
    return (stat, family, p, n, p * (1 - p) / n if n else float("nan"))


def transition_matrix(panel: Panel, step: int) -> pd.DataFrame:
    """Row-normalised group transition matrix from column ``step`` to ``step + 1``.

    Returns:
        3 x 3 DataFrame (from group rows, to group columns, :data:`GROUP_NAMES`); a row
        with no accounts is NaN.
    """
    a, b = panel.group[:, step], panel.group[:, step + 1]
    counts = np.zeros((3, 3))
    np.add.at(counts, (a, b), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = counts / totals
    return pd.DataFrame(matrix, index=list(GROUP_NAMES), columns=list(GROUP_NAMES))


def panel_statistics(panel: Panel, uci: pd.DataFrame) -> pd.DataFrame:
    """Every comparison statistic of a panel (observed or simulated: the same code).

    Statistics (``stat`` names; months are calendar names):

    - ``share <month> <G>``: share of accounts in group G at the end of the month;
    - ``deep_arrears <month>``: share 60+ DPD (see :attr:`Panel.deep_arrears`);
    - ``transition <m0>-><m1> <G0>-><G1>``: share of the accounts in G0 in m0 that are
      in G1 in m1; ``... clean->D`` pools P and R as the origin (new delinquency);
    - ``payment_ratio <type>``: mean payment / previous bill (clipped to [0, 1]) of the
      accounts of a behaviour type with a positive previous bill, pooled over the
      months after the first;
    - ``utilisation <month> mean|median|p75|p90|over_limit`` for the last month and
      ``utilisation <month> mean`` for every month (balance / limit, negatives 0);
    - if ``default_next`` is known: ``default overall``, ``default by sep_group <G>``,
      ``default by limit_decile <label>``, ``default by age_band <label>``.

    Args:
        panel: the panel.
        uci: the UCI table (segments are looked up by ``panel.uci_row``).

    Returns:
        DataFrame with columns ``stat``, ``family`` (share, transition, payment_ratio,
        utilisation, default), ``value`` (fraction), ``n`` (denominator) and ``variance``
        (sampling variance of the value: binomial for rates, var / n for means, NaN for
        quantiles).
    """
    rows: list[tuple] = []
    months = panel.months
    for t, month in enumerate(months):
        g = panel.group[:, t]
        for code, name in enumerate(GROUP_NAMES):
            rows.append(_rate_row(f"share {month} {name}", "share", g == code))
        rows.append(_rate_row(f"deep_arrears {month}", "share", panel.deep_arrears[:, t]))
    for t in range(len(months) - 1):
        a, b = panel.group[:, t], panel.group[:, t + 1]
        pair = f"{months[t]}->{months[t + 1]}"
        for c0, g0 in enumerate(GROUP_NAMES):
            for c1, g1 in enumerate(GROUP_NAMES):
                rows.append(
                    _rate_row(f"transition {pair} {g0}->{g1}", "transition", b == c1, a == c0)
                )
        rows.append(_rate_row(f"transition {pair} clean->D", "transition", b == _D, a != _D))
    if len(months) > 1:
        ratios = panel.payment_ratio[:, 1:]
        types = np.repeat(panel.behaviour_type[:, None], ratios.shape[1], axis=1)
        for btype in BehaviourType:
            values = ratios[(types == btype) & np.isfinite(ratios)]
            n = int(values.size)
            mean = float(values.mean()) if n else float("nan")
            var = float(values.var(ddof=1)) / n if n > 1 else float("nan")
            rows.append((f"payment_ratio {btype.name.lower()}", "payment_ratio", mean, n, var))
    for t, month in enumerate(months):
        u = panel.utilisation[:, t]
        n = int(u.size)
        rows.append(
            (
                f"utilisation {month} mean",
                "utilisation",
                float(u.mean()),
                n,
                float(u.var(ddof=1)) / n,
            )
        )
    u = panel.utilisation[:, -1]
    last = months[-1]
    for name, q in (("median", 0.5), ("p75", 0.75), ("p90", 0.9)):
        rows.append(
            (f"utilisation {last} {name}", "utilisation", float(np.quantile(u, q)), u.size, np.nan)
        )
    rows.append(_rate_row(f"utilisation {last} over_limit", "utilisation", u > 1.0 + 1e-9))
    if panel.default_next is not None:
        y = panel.default_next
        rows.append(_rate_row("default overall", "default", y))
        g = panel.group[:, -1]
        for code, name in enumerate(GROUP_NAMES):
            rows.append(_rate_row(f"default by sep_group {name}", "default", y, g == code))
        decile, labels = limit_decile(uci)
        d = decile[panel.uci_row]
        for k, label in enumerate(labels):
            rows.append(_rate_row(f"default by limit_decile {label}", "default", y, d == k))
        band, labels = age_band(uci)
        a = band[panel.uci_row]
        for k, label in enumerate(labels):
            rows.append(_rate_row(f"default by age_band {label}", "default", y, a == k))
    return pd.DataFrame(rows, columns=_STAT_COLUMNS)


def summarise_seeds(per_seed: pd.DataFrame, interval: float = 0.95) -> pd.DataFrame:
    """Mean and percentile interval over seeds of every statistic.

    Args:
        per_seed: :func:`panel_statistics` outputs stacked with a ``seed`` column.
        interval: central coverage of the interval over seeds, in (0, 1).

    Returns:
        One row per ``stat`` (first-seen order) with ``family``, ``sim_mean``,
        ``sim_low``, ``sim_high`` (the ``(1 - interval) / 2`` and ``(1 + interval) / 2``
        percentiles over seeds) and ``n_seeds``.

    Raises:
        ValueError: ``interval`` not in (0, 1) or missing columns.
    """
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    missing = {"stat", "family", "value", "seed"} - set(per_seed.columns)
    if missing:
        raise ValueError(f"summarise_seeds: missing column(s) {sorted(missing)}")
    lo, hi = 100 * (1 - interval) / 2, 100 * (1 + interval) / 2
    grouped = per_seed.groupby("stat", sort=False)
    out = pd.DataFrame(
        {
            "family": grouped["family"].first(),
            "sim_mean": grouped["value"].mean(),
            "sim_low": grouped["value"].agg(
                lambda v: np.nanpercentile(v, lo) if v.notna().any() else np.nan
            ),
            "sim_high": grouped["value"].agg(
                lambda v: np.nanpercentile(v, hi) if v.notna().any() else np.nan
            ),
            "n_seeds": grouped["value"].count(),
        }
    )
    return out.reset_index()


# --------------------------------------------------------------------------- config


@dataclass
class TargetSpec:
    """A validation target: statistics matching ``stat`` must be within ``tolerance_pp``.

    Attributes:
        stat: ``fnmatch`` pattern over statistic names (e.g. ``"share august *"``); every
            matching row is a separate check.
        tolerance_pp: largest allowed |simulated mean - observed|, percentage points, > 0.
        why: the reason for the tolerance (shown in the report).
    """

    stat: str
    tolerance_pp: float
    why: str = ""

    def __post_init__(self) -> None:
        if not self.tolerance_pp > 0:
            raise ValueError(f"validation target {self.stat!r}: tolerance_pp must be > 0")


@dataclass
class Explanation:
    """Why a target is missed: shown in the report when one of its checks is missed.

    Attributes:
        stats: ``fnmatch`` patterns over the names of checks (statistic names, and
            ``scorecard auc``, ``scorecard calibration``, ``account default auc``).
        text: the explanation (one paragraph of Markdown).
    """

    stats: list[str]
    text: str


@dataclass
class ScorecardCheck:
    """Hold-out checks of the platform scorecard (:func:`sim.platform.scorecard.fit_scorecard`).

    Attributes:
        holdout_share: fraction of UCI rows held out, in (0, 1).
        seed: seed of the stratified split.
        min_auc: smallest acceptable hold-out AUC.
        calibration_tolerance_pp: largest acceptable |mean predicted PD - observed
            default rate| in any decile of predicted PD, pp.
    """

    holdout_share: float = 0.3
    seed: int = DEFAULT_SEED
    min_auc: float = 0.70
    calibration_tolerance_pp: float = 5.0


@dataclass
class ValidationConfig:
    """What :func:`run_validation` runs and checks (``conf/validation/<name>.yaml``).

    Attributes:
        name: calibration name being validated.
        population: population config name (``conf/population/``).
        policy: policy config name; ``static`` (limits did not change in the data window).
        overrides: further Hydra overrides of the run (e.g. product terms of the UCI book).
        as_of: start month (the state of the UCI accounts at its end).
        n_months: months simulated; 3 from July = August, September and the October payment.
        n_borrowers: borrowers per seed (30,000 = the data's size).
        seeds: number of seeds; seeds are ``first_seed .. first_seed + seeds - 1``.
        first_seed: first seed.
        interval: central coverage of the interval over seeds.
        behaviour_window: months of history for the observed panel's behaviour types (must
            equal ``population.behaviour_window_months`` of the run).
        targets: the checks on simulated statistics.
        scorecard: the scorecard checks.
        min_account_auc: smallest acceptable AUC of the accounts' simulated October default
            frequency against their observed default (None: not checked).
        explanations: why known misses happen; the report prints each one whose patterns
            match a missed check.
    """

    name: str = "uci_2005"
    population: str = "uci_2005"
    policy: str = "static"
    overrides: list[str] = field(default_factory=list)
    as_of: str = "july"
    n_months: int = 3
    n_borrowers: int = 30_000
    seeds: int = 10
    first_seed: int = 0
    interval: float = 0.95
    behaviour_window: int = 2
    targets: list[TargetSpec] = field(default_factory=list)
    scorecard: ScorecardCheck = field(default_factory=ScorecardCheck)
    min_account_auc: float | None = 0.70
    explanations: list[Explanation] = field(default_factory=list)

    def __post_init__(self) -> None:
        _offset(self.as_of)
        if self.as_of == "september" or self.n_months < 1:
            raise ValueError("validation: as_of must be before September and n_months >= 1")
        if len(months_after(self.as_of, self.n_months)) < self.n_months:
            raise ValueError(
                f"validation: {self.n_months} months from {self.as_of} go past October"
            )
        if self.n_borrowers < 1 or self.seeds < 1 or self.first_seed < 0:
            raise ValueError("validation: n_borrowers and seeds must be >= 1, first_seed >= 0")
        if not 0.0 < self.interval < 1.0:
            raise ValueError(f"validation.interval must be in (0, 1), got {self.interval}")
        self.targets = [t if isinstance(t, TargetSpec) else TargetSpec(**t) for t in self.targets]
        self.explanations = [
            e if isinstance(e, Explanation) else Explanation(**e) for e in self.explanations
        ]
        if isinstance(self.scorecard, dict):
            self.scorecard = ScorecardCheck(**self.scorecard)

    @property
    def seed_list(self) -> list[int]:
        """The seeds run."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


def validation_config_from_dict(values: dict[str, Any]) -> ValidationConfig:
    """Build a :class:`ValidationConfig` from a plain mapping (a parsed YAML file).

    The file may hold other sections (``calibration``); the keys of
    :class:`ValidationConfig` are read from the top level and from a ``validation``
    section, which wins.

    Raises:
        TypeError: an unknown key in the ``validation`` section.
        ValueError: a value out of range.
    """
    allowed = {f.name for f in dataclasses.fields(ValidationConfig)}
    section = dict(values.get("validation") or {})
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise TypeError(f"validation: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    merged = {k: v for k, v in values.items() if k in allowed}
    merged.update(section)
    return ValidationConfig(**merged)


def build_run_config(
    *,
    population: str,
    policy: str,
    as_of: str,
    n_months: int,
    n_borrowers: int,
    seed: int,
    overrides: Sequence[str] = (),
) -> RunConfig:
    """Compose the run config of a validation or calibration run from ``conf/``.

    The scenario's calendar starts in the month after ``as_of`` so seasonal spending
    falls in the right months.

    Returns:
        The validated :class:`RunConfig`.
    """
    from sim.runtime.compose import load_run_config

    return load_run_config(
        [
            f"population={population}",
            f"policy={policy}",
            f"population.start_state=uci_{as_of}",
            f"population.n_borrowers={n_borrowers}",
            f"n_months={n_months}",
            f"seed={seed}",
            f"scenario.start_calendar_month={_MONTH_NUMBER[as_of] % 12 + 1}",
            "output.plots=false",
            *overrides,
        ]
    )


# --------------------------------------------------------------------------- checks


def check_targets(table: pd.DataFrame, targets: Sequence[TargetSpec]) -> pd.DataFrame:
    """Attach tolerances and pass/fail to the results table.

    A row matched by several targets takes the first. Where ``observed_alt`` is given
    (the alternative reading of September's code 1), the check passes if the simulated
    mean lies within ``[min(observed, observed_alt) - tol, max(...) + tol]``; otherwise
    if ``|sim_mean - observed| <= tol``.

    Args:
        table: results with ``stat``, ``observed``, ``observed_alt`` and ``sim_mean``.
        targets: the targets.

    Returns:
        A copy with ``tolerance_pp`` (NaN if not a target), ``target_why`` and ``passed``
        (True / False, None if not a target).
    """
    out = table.copy()
    tol = np.full(len(out), np.nan)
    why = [""] * len(out)
    for i, stat in enumerate(out["stat"]):
        for target in targets:
            if fnmatch.fnmatchcase(stat, target.stat):
                tol[i] = target.tolerance_pp
                why[i] = target.why
                break
    low = np.fmin(out["observed"], out["observed_alt"]).to_numpy(float)
    high = np.fmax(out["observed"], out["observed_alt"]).to_numpy(float)
    sim = out["sim_mean"].to_numpy(float)
    ok = (sim >= low - tol / 100 - 1e-12) & (sim <= high + tol / 100 + 1e-12)
    out["tolerance_pp"] = tol
    out["target_why"] = why
    out["passed"] = [None if np.isnan(t) else bool(o) for t, o in zip(tol, ok, strict=True)]
    return out


def scorecard_check(uci: pd.DataFrame, spec: ScorecardCheck) -> dict[str, Any]:
    """Hold-out AUC and calibration of the platform scorecard on the UCI data.

    The scorecard is fitted on the training rows of a stratified split and scored on the
    held-out rows (next-month default, the UCI scale: no re-levelling).

    Returns:
        ``auc`` (float), ``calibration`` (:func:`calibration_table` of the hold-out rows
        with ``error_pp``), ``max_error_pp``, ``holdout_rows``, ``auc_passed``,
        ``calibration_passed`` and the ``spec``.
    """
    card = fit_scorecard(uci, holdout_share=spec.holdout_share, seed=spec.seed)
    y = uci[TARGET_COLUMN].to_numpy()
    test = holdout_mask(y.astype(float), spec.holdout_share, spec.seed)
    pd_test = card.predict_pd(uci_features(uci)[test])
    table = calibration_table(y[test], pd_test, n_bins=10)
    table["error_pp"] = 100 * (table["mean_predicted_pd"] - table["observed_default_rate"])
    max_err = float(table["error_pp"].abs().max())
    return {
        "auc": float(card.holdout_auc),
        "auc_check": float(auc(y[test], pd_test)),
        "calibration": table,
        "max_error_pp": max_err,
        "holdout_rows": int(test.sum()),
        "auc_passed": bool(card.holdout_auc >= spec.min_auc),
        "calibration_passed": bool(max_err <= spec.calibration_tolerance_pp),
        "spec": spec,
    }


def account_level(panels: Sequence[Panel], observed: Panel) -> dict[str, Any]:
    """Compare simulated accounts with the same UCI accounts' observed outcomes.

    Args:
        panels: simulated panels (one per seed), each with ``default_next``.
        observed: the observed panel over the same months (all UCI rows).

    Returns:
        ``default_auc``: AUC of each UCI row's simulated October default frequency (over
        all its resampled copies) against its observed default; ``rows``: rows sampled
        at least once; ``group_agreement``: share of simulated accounts whose group in the
        last month equals their row's observed group; ``persistence_agreement``: the same
        for the naive forecast "group stays as in the start month"; ``confusion``: last
        month's group, observed (rows) x simulated (columns), shares of all accounts.

    Raises:
        ValueError: no panel or a panel without ``default_next``.
    """
    if not panels or any(p.default_next is None for p in panels):
        raise ValueError("account_level: needs simulated panels with default_next")
    rows = np.concatenate([p.uci_row for p in panels])
    sim_default = np.concatenate([p.default_next for p in panels]).astype(float)
    freq = pd.Series(sim_default).groupby(rows).mean()
    y = observed.default_next[freq.index.to_numpy()] if observed.default_next is not None else None
    default_auc = float(auc(y.astype(int), freq.to_numpy())) if y is not None else float("nan")
    sim_last = np.concatenate([p.group[:, -1] for p in panels])
    sim_first = np.concatenate([p.group[:, 0] for p in panels])
    obs_last = observed.group[rows, -1]
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (obs_last, sim_last), 1.0)
    return {
        "default_auc": default_auc,
        "rows": int(freq.size),
        "group_agreement": float((sim_last == obs_last).mean()),
        "persistence_agreement": float((sim_first == obs_last).mean()),
        "confusion": pd.DataFrame(
            confusion / confusion.sum(), index=list(GROUP_NAMES), columns=list(GROUP_NAMES)
        ),
    }


# --------------------------------------------------------------------------- the run


@dataclass
class ValidationResult:
    """Everything :func:`run_validation` measured.

    Attributes:
        config: the validation config.
        table: one row per statistic: ``stat``, ``family``, ``observed``,
            ``observed_alt`` (NaN unless the alternative code-1 reading differs),
            ``sim_mean``, ``sim_low``, ``sim_high``, ``n_seeds``, ``error_pp``
            (100 x (sim_mean - observed)), ``tolerance_pp``, ``target_why``, ``passed``.
        per_seed: :func:`panel_statistics` of every seed (with a ``seed`` column).
        months: calendar months of the panels (the start month first).
        transitions: ``{pair: {"observed": df, "observed_alt": df, "simulated": df}}``
            group transition matrices (simulated: pooled over seeds).
        scorecard: :func:`scorecard_check` output.
        accounts: :func:`account_level` output (with ``passed``).
    """

    config: ValidationConfig
    table: pd.DataFrame
    per_seed: pd.DataFrame
    months: tuple[str, ...]
    transitions: dict[str, dict[str, pd.DataFrame]]
    scorecard: dict[str, Any]
    accounts: dict[str, Any]

    @property
    def missed(self) -> pd.DataFrame:
        """Rows of the table that are targets and failed."""
        return self.table[self.table["passed"].eq(False)]

    @property
    def passed(self) -> bool:
        """Every target, the scorecard checks and the account-level check passed."""
        ok_accounts = self.accounts.get("passed") is not False
        return (
            self.missed.empty
            and self.scorecard["auc_passed"]
            and self.scorecard["calibration_passed"]
            and ok_accounts
        )


def _pooled_matrix(panels: Sequence[Panel], step: int) -> pd.DataFrame:
    counts = np.zeros((3, 3))
    for p in panels:
        np.add.at(counts, (p.group[:, step], p.group[:, step + 1]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = counts / counts.sum(axis=1, keepdims=True)
    return pd.DataFrame(matrix, index=list(GROUP_NAMES), columns=list(GROUP_NAMES))


def run_validation(
    config: ValidationConfig,
    uci: pd.DataFrame,
    *,
    scorecard: Scorecard | None = None,
    progress: Callable[[str], None] | None = None,
) -> ValidationResult:
    """Simulate every seed from the "as of" state and compare with the observed data.

    Args:
        config: what to run and check.
        uci: the UCI table.
        scorecard: the platform's PD model for the runs (the default fit if None).
        progress: called with a short message after each seed.

    Returns:
        The :class:`ValidationResult`.

    Raises:
        ValueError: the run's behaviour window differs from ``config.behaviour_window``.
    """
    run = build_run_config(
        population=config.population,
        policy=config.policy,
        as_of=config.as_of,
        n_months=config.n_months,
        n_borrowers=config.n_borrowers,
        seed=config.first_seed,
        overrides=config.overrides,
    )
    if run.population.behaviour_window_months != config.behaviour_window:
        raise ValueError(
            f"validation.behaviour_window = {config.behaviour_window} but the population "
            f"types borrowers on {run.population.behaviour_window_months} months"
        )
    months = [
        config.as_of,
        *[m for m in months_after(config.as_of, config.n_months) if m != "october"],
    ]
    observed = observed_panel(uci, months, behaviour_window=config.behaviour_window)
    observed_alt = observed_panel(
        uci, months, behaviour_window=config.behaviour_window, code1_as="R"
    )
    obs = panel_statistics(observed, uci).set_index("stat")
    alt = panel_statistics(observed_alt, uci).set_index("stat")

    panels, frames = [], []
    for seed in config.seed_list:
        panel = simulate_panel(dataclasses.replace(run, seed=seed), uci=uci, scorecard=scorecard)
        panels.append(panel)
        frames.append(panel_statistics(panel, uci).assign(seed=seed))
        if progress is not None:
            progress(f"seed {seed} done")
    per_seed = pd.concat(frames, ignore_index=True)
    summary = summarise_seeds(per_seed, config.interval)
    table = summary.merge(
        obs[["value"]].rename(columns={"value": "observed"}),
        left_on="stat",
        right_index=True,
        how="left",
    )
    alt_values = alt["value"].reindex(table["stat"]).to_numpy()
    differs = ~np.isclose(
        alt_values, table["observed"].to_numpy(), rtol=0, atol=1e-12, equal_nan=True
    )
    table["observed_alt"] = np.where(differs, alt_values, np.nan)
    table["error_pp"] = 100 * (table["sim_mean"] - table["observed"])
    table = table[
        [
            "stat",
            "family",
            "observed",
            "observed_alt",
            "sim_mean",
            "sim_low",
            "sim_high",
            "n_seeds",
            "error_pp",
        ]
    ]
    table = check_targets(table, config.targets)

    transitions = {}
    for t in range(len(months) - 1):
        pair = f"{months[t]}->{months[t + 1]}"
        transitions[pair] = {
            "observed": transition_matrix(observed, t),
            "observed_alt": transition_matrix(observed_alt, t),
            "simulated": _pooled_matrix(panels, t),
        }
    accounts: dict[str, Any] = {}
    if all(p.default_next is not None for p in panels):
        accounts = account_level(panels, observed)
        if config.min_account_auc is not None:
            accounts["passed"] = bool(accounts["default_auc"] >= config.min_account_auc)
        accounts["min_auc"] = config.min_account_auc
    return ValidationResult(
        config=config,
        table=table,
        per_seed=per_seed,
        months=tuple(months),
        transitions=transitions,
        scorecard=scorecard_check(uci, config.scorecard),
        accounts=accounts,
    )


# --------------------------------------------------------------------------- the report


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def _pp(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.1f}"


def _markdown(df: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The results table formatted for reading (percentages, pp, pass/fail).

    Returns:
        Columns ``statistic``, ``observed``, ``observed (code 1 as R)``, ``simulated mean``,
        ``interval over seeds``, ``error (pp)``, ``target (pp)``, ``result``.
    """

    def verdict(p: object) -> str:
        return "–" if p is None else ("pass" if p else "**MISS**")

    return pd.DataFrame(
        {
            "statistic": table["stat"],
            "observed": [_pct(v) for v in table["observed"]],
            "observed (code 1 as R)": [
                _pct(v) if np.isfinite(v) else "" for v in table["observed_alt"]
            ],
            "simulated mean": [_pct(v) for v in table["sim_mean"]],
            "interval over seeds": [
                f"{_pct(lo)} – {_pct(hi)}"
                for lo, hi in zip(table["sim_low"], table["sim_high"], strict=True)
            ],
            "error (pp)": [_pp(v) for v in table["error_pp"]],
            "target (pp)": ["" if not np.isfinite(t) else f"±{t:g}" for t in table["tolerance_pp"]],
            "result": [verdict(p) for p in table["passed"]],
        }
    )


def bars_input(table: pd.DataFrame, prefix: str, strip: str = "") -> pd.DataFrame:
    """Rows of a validation table whose ``stat`` starts with ``prefix``, for bar charts.

    Shaped for :func:`sim.plotting.observed_vs_simulated_bars`; ``label`` is the rest of
    the statistic's name.
    """
    rows = table[table["stat"].str.startswith(prefix)]
    return pd.DataFrame(
        {
            "label": rows["stat"].str.removeprefix(strip or prefix).str.strip(),
            "observed": rows["observed"].to_numpy(),
            "observed_alt": rows["observed_alt"].to_numpy(),
            "sim_mean": rows["sim_mean"].to_numpy(),
            "sim_low": rows["sim_low"].to_numpy(),
            "sim_high": rows["sim_high"].to_numpy(),
        }
    )


def _verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def _summary_line(result: ValidationResult) -> str:
    sc, acc, table = result.scorecard, result.accounts, result.table
    targets = table[table["passed"].notna()]
    parts = [
        f"{len(targets) - len(result.missed)} of {len(targets)} statistic targets met",
        f"scorecard hold-out AUC {sc['auc']:.3f} (target >= {sc['spec'].min_auc:g}: "
        f"{_verdict(sc['auc_passed'])})",
        f"scorecard calibration max error {sc['max_error_pp']:.1f} pp (target <= "
        f"{sc['spec'].calibration_tolerance_pp:g} pp: {_verdict(sc['calibration_passed'])})",
    ]
    if acc and acc.get("min_auc") is not None:
        parts.append(
            f"account-level default AUC {acc['default_auc']:.3f} (target >= {acc['min_auc']:g}: "
            f"{_verdict(bool(acc.get('passed')))})"
        )
    head = "all targets met" if result.passed else "TARGETS MISSED"
    return f"**Result: {head}** — " + "; ".join(parts) + "."


def _method_lines(cfg: ValidationConfig, extra_notes: Sequence[str]) -> list[str]:
    overrides = ", ".join(f"`{o}`" for o in cfg.overrides) or "none"
    simulated = ", ".join(months_after(cfg.as_of, cfg.n_months))
    return [
        f"- Population `{cfg.population}` started **as of {cfg.as_of}** "
        f"(`population.start_state=uci_{cfg.as_of}`): each borrower is a UCI row resampled "
        f"with replacement, with that row's {cfg.as_of} bill, payment and repayment status as "
        f"its state and behaviour types from the {cfg.behaviour_window} months up to "
        f"{cfg.as_of}; nothing later is used.",
        f"- Policy `{cfg.policy}` (limits did not change in the data window); months simulated: "
        f"{simulated}; {cfg.n_borrowers:,} borrowers per seed, {cfg.seeds} seeds "
        f"({cfg.first_seed}..{cfg.seed_list[-1]}). Further overrides: {overrides}.",
        f"- Intervals: central {100 * cfg.interval:.0f} % of the per-seed values (a book of the "
        "data's size: resampling plus simulation noise). Errors: simulated mean minus observed, "
        "percentage points (pp).",
        "- Status groups: P = code -2/-1 or nothing owed (bill <= 0); R = code 0 with a bill; "
        "D = code >= 1 with a bill. Simulator: P = not behind and the last statement paid in "
        "full or nothing due; R = not behind, a balance carried; D = 1+ missed payments or "
        "defaulted. September's code 1 with a bill is ambiguous (partial cures from 2: no account "
        "goes from 2 to 0 in September, about 21 % do in the other months): the column "
        "`observed (code 1 as R)` gives the other reading, and checks of those rows pass within "
        "the two readings widened by the tolerance.",
        "- October default: a missed October minimum payment, or a line already in default "
        "(90+ DPD, closed), which pays nothing.",
        *[f"- {note}" for note in extra_notes],
    ]


def _missed_lines(result: ValidationResult) -> list[str]:
    missed, sc, cfg = result.missed, result.scorecard, result.config
    lines = ["## Targets missed", ""]
    if missed.empty:
        lines.append("None of the statistic targets was missed.")
    else:
        lines.append(_markdown(display_table(missed)))
    failed = list(missed["stat"])
    if not sc["auc_passed"]:
        failed.append("scorecard auc")
    if not sc["calibration_passed"]:
        failed.append("scorecard calibration")
    if result.accounts.get("passed") is False:
        failed.append("account default auc")
    if not failed:
        return lines
    lines += ["", "## What is missed and why", ""]
    explained: set[str] = set()
    for note in cfg.explanations:
        hits = [f for f in failed if any(fnmatch.fnmatchcase(f, s) for s in note.stats)]
        if hits:
            explained.update(hits)
            lines += [f"- **{', '.join(hits)}.** {note.text.strip()}", ""]
    rest = [f for f in failed if f not in explained]
    if rest:
        lines += [f"- **Not explained yet:** {', '.join(rest)}.", ""]
    return lines


def _account_lines(result: ValidationResult) -> list[str]:
    acc, sc = result.accounts, result.scorecard
    if not acc:
        return []
    last = result.months[-1]
    confusion = acc["confusion"].map(_pct).reset_index(names="observed")
    return [
        "## Account level (the same accounts)",
        "",
        f"- AUC of each UCI row's simulated October default frequency (over its resampled "
        f"copies) against its observed default: **{acc['default_auc']:.3f}** over "
        f"{acc['rows']:,} rows (scorecard: {sc['auc']:.3f}).",
        f"- Group in {last}: the simulated account is in its row's observed group for "
        f'{_pct(acc["group_agreement"])} of accounts (naive forecast "same group as at the '
        f'start": {_pct(acc["persistence_agreement"])}).',
        "",
        f"Observed (rows) x simulated (columns) group in {last}, share of all accounts:",
        "",
        _markdown(confusion),
        "",
    ]


def _scorecard_lines(sc: dict[str, Any]) -> list[str]:
    cal = sc["calibration"]
    table = pd.DataFrame(
        {
            "decile of predicted PD": cal["decile"],
            "accounts": cal["n"],
            "mean predicted PD": [_pct(v) for v in cal["mean_predicted_pd"]],
            "observed default": [_pct(v) for v in cal["observed_default_rate"]],
            "error (pp)": [_pp(v) for v in cal["error_pp"]],
        }
    )
    spec = sc["spec"]
    return [
        "## Platform scorecard (hold-out)",
        "",
        f"Fitted on {100 * (1 - spec.holdout_share):.0f} % of the UCI rows (stratified split, "
        f"seed {spec.seed}), scored on the {sc['holdout_rows']:,} held-out rows (next-month "
        f"default, no re-levelling): AUC **{sc['auc']:.3f}**.",
        "",
        _markdown(table),
        "",
    ]


def write_validation_report(
    result: ValidationResult,
    out_dir: str | Path,
    *,
    formats: Sequence[str] = ("png",),
    extra_notes: Sequence[str] = (),
) -> Path:
    """Write the validation report: ``report.md``, CSV tables and figures.

    Layout::

        out_dir/
          report.md                 the report; the closing table lists every statistic
          results.csv               the results table (fractions; errors in pp)
          per_seed.csv              every statistic of every seed
          transitions.csv           observed / simulated group transition matrices
          scorecard_calibration.csv the scorecard's hold-out calibration by decile
          <figure>.<fmt>            observed vs simulated bars, heat maps, calibration plot

    Args:
        result: the validation result.
        out_dir: output folder (created).
        formats: figure formats (the report links the first).
        extra_notes: lines appended to the "How it was run" section (e.g. the command).

    Returns:
        The path of ``report.md``.
    """
    from sim import plotting
    from sim.outputs import files as io

    out = Path(out_dir)
    cfg, table, sc = result.config, result.table, result.scorecard
    io.write_csv_atomic(table, out / "results.csv")
    io.write_csv_atomic(result.per_seed, out / "per_seed.csv")
    trans_rows = [
        (pair, kind, g0, g1, float(mat.loc[g0, g1]))
        for pair, mats in result.transitions.items()
        for kind, mat in mats.items()
        for g0 in mat.index
        for g1 in mat.columns
    ]
    io.write_csv_atomic(
        pd.DataFrame(trans_rows, columns=["months", "kind", "from_group", "to_group", "share"]),
        out / "transitions.csv",
    )
    io.write_csv_atomic(sc["calibration"], out / "scorecard_calibration.csv")

    figures: list[tuple[str, str]] = []

    def save(fig: Any, stem: str, caption: str) -> None:
        io.save_figure(fig, out / stem, formats=tuple(formats))
        figures.append((f"{stem}.{formats[0]}", caption))

    last = result.months[-1]
    bar_panels = [
        ("share ", "Status-group shares (P paid / no balance, R revolving, D behind)", "shares"),
        (
            "default by sep_group",
            "October default rate by September status group",
            "default_by_status",
        ),
        ("default by limit_decile", "October default rate by LIMIT_BAL decile", "default_by_limit"),
        ("default by age_band", "October default rate by age band", "default_by_age"),
        (f"utilisation {last} ", f"Utilisation in {last} (balance / limit)", "utilisation"),
    ]
    for prefix, title, stem in bar_panels:
        data = bars_input(table, prefix)
        if stem == "shares":  # the start month equals the data by construction
            data = data[~data["label"].str.startswith(cfg.as_of)]
        if not data.empty:
            save(plotting.observed_vs_simulated_bars(data, title=title), stem, title)
    for pair, mats in result.transitions.items():
        title = f"Group transitions {pair} (share of the row's accounts)"
        shown = {"observed": mats["observed"]}
        if not mats["observed_alt"].equals(mats["observed"]):
            shown["observed, code 1 read as R"] = mats["observed_alt"]
        shown["simulated (pooled over seeds)"] = mats["simulated"]
        stem = "transitions_" + pair.replace("->", "_to_")
        save(plotting.transition_heatmaps(shown, title=title), stem, title)
    save(
        plotting.scorecard_calibration_plot(sc["calibration"], auc=sc["auc"]),
        "scorecard_calibration",
        "Scorecard calibration on the hold-out rows",
    )

    lines = [
        f"# Validation of `{cfg.name}` against the UCI data, out of sample "
        f"({cfg.as_of} -> October 2005)",
        "",
        _summary_line(result),
        "",
        "## How it was run",
        "",
        *_method_lines(cfg, extra_notes),
        "",
        *_missed_lines(result),
        "",
        *_account_lines(result),
        *_scorecard_lines(sc),
        "## Figures",
        "",
    ]
    for name, caption in figures:
        lines += [f"![{caption}]({name})", ""]
    lines += [
        "## Closing note: observed vs simulated, every statistic",
        "",
        _markdown(display_table(table)),
        "",
    ]
    return io.write_text_atomic("\n".join(lines), out / "report.md")
