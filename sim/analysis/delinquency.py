"""Delinquency analytics: DPD buckets, roll-rate matrices, cure rates, vintage curves.

Conventions: one step is one month; each consecutive missed minimum payment adds 30 days
past due (DPD); the buckets are current (0 DPD), 1-29, 30-59, 60-89 and 90+; 90+ DPD is
default and the line closes. Transition tables (:meth:`sim.outputs.recorder.RunRecord.
transitions_table`) count accounts moving from their state at the start of one month to
their state at its end: a DPD bucket, ``charged_off`` (defaulted and written off) or
``closed`` (closed for a non-credit reason: attrition).

The roll-rate matrix is the one-month Markov chain over :data:`ROLL_STATES`: the
transient states current, 1-29, 30-59, 60-89, and two absorbing states, ``default``
(90+ DPD, written off or not: a defaulted line never cures) and ``closed`` (attrition,
distinct from default). It is square, so it chains: the ``k``-month matrix is its
``k``-th power (:func:`chain_roll_rates`).

Because DPD advances in steps of 30 days, a first missed payment moves an account from
``current`` straight to ``30-59``: the ``1-29`` bucket is kept for comparability with
industry reporting (and with partial-payment models) but has no exposure. The forward
roll rate ``current->delinquent`` (to any worse bucket) is reported for that reason.

References:
    Thomas, L. C. (2009). *Consumer Credit Models: Pricing, Profit and Portfolios*.
    Oxford University Press, ch. 4 (roll rates and Markov chain models of delinquency).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sim.outputs.vintage import vintage_curves
from sim.units import BUCKET_LABELS, dpd_bucket

__all__ = [
    "ABSORBING",
    "BUCKETS",
    "ROLL_STATES",
    "TRANSIENT",
    "chain_roll_rates",
    "cure_rate",
    "dpd_bucket",
    "roll_rate_counts",
    "roll_rate_matrix",
    "roll_rates",
    "vintage_curves",
]

BUCKETS: tuple[str, ...] = BUCKET_LABELS[:5]
"""DPD bucket labels: current, 1-29, 30-59, 60-89, 90+ (index of :func:`dpd_bucket`)."""

TRANSIENT: tuple[str, ...] = BUCKETS[:4]
"""States an account can leave: current and the delinquent buckets before default."""

ABSORBING: tuple[str, ...] = ("default", "closed")
"""States an account never leaves: default (90+ DPD, charged off or not) and closed
(attrition: a non-credit closure, never a default)."""

ROLL_STATES: tuple[str, ...] = TRANSIENT + ABSORBING
"""Rows and columns of :func:`roll_rate_matrix`, in order."""

#: Recorded state -> roll-rate state (:data:`sim.units.BUCKET_LABELS` and the chain's own).
_TO_STATE: dict[str, str] = {
    **{b: b for b in TRANSIENT},
    "90+": "default",
    "charged_off": "default",
    "default": "default",
    "closed": "closed",
}

NO_EXPOSURE = "no exposure"
"""How a state with no accounts in it is reported (tables, figures)."""


def roll_rate_counts(
    transitions_df: pd.DataFrame, steps: Iterable[int] | None = None
) -> pd.DataFrame:
    """Account-months moving between roll-rate states, summed over the rows given.

    Recorded states map to :data:`ROLL_STATES`: ``90+`` and ``charged_off`` are
    ``default``. A table written before attrition existed used ``closed`` for
    charge-offs; such a table (transitions ``90+ -> closed`` and no ``charged_off``
    label) is read with ``closed`` as ``default``.

    Args:
        transitions_df: columns ``from_bucket``, ``to_bucket`` (str, a
            :data:`sim.units.BUCKET_LABELS` label or a :data:`ROLL_STATES` label),
            ``count`` (non-negative) and, if ``steps`` is given, ``step`` (int).
        steps: months to include (the month the transition ends in); ``None`` for all.

    Returns:
        Square DataFrame of float64 counts, index ``from_state`` and columns
        ``to_state``, both :data:`ROLL_STATES` in order.

    Raises:
        ValueError: if a column is missing, a label is unknown, a count is negative or
            NaN, or accounts leave an absorbing state (default or closed).
    """
    required = ["from_bucket", "to_bucket", "count"]
    missing = [c for c in required if c not in transitions_df.columns]
    if missing:
        raise ValueError(f"transitions_df is missing column(s) {missing}")
    df = transitions_df
    if steps is not None:
        if "step" not in df.columns:
            raise ValueError("transitions_df has no 'step' column to select steps from")
        df = df[df["step"].isin(list(steps))]
    src = df["from_bucket"].astype(str).to_numpy()
    dst = df["to_bucket"].astype(str).to_numpy()
    unknown = sorted((set(src) | set(dst)) - set(_TO_STATE))
    if unknown:
        raise ValueError(f"unknown account state label(s) {unknown}; expected {list(_TO_STATE)}")
    counts = df["count"].to_numpy(dtype=float)
    if (counts < 0).any() or np.isnan(counts).any():
        raise ValueError("transition counts must be non-negative numbers")
    mapping = dict(_TO_STATE)
    labels = set(transitions_df["from_bucket"].astype(str)) | set(
        transitions_df["to_bucket"].astype(str)
    )
    legacy = "charged_off" not in labels and bool(((src == "90+") & (dst == "closed")).any())
    if legacy:
        mapping["closed"] = "default"
    table = (
        pd.DataFrame(
            {
                "from_state": pd.Series(src).map(mapping).to_numpy(),
                "to_state": pd.Series(dst).map(mapping).to_numpy(),
                "count": counts,
            }
        )
        .groupby(["from_state", "to_state"])["count"]
        .sum()
        .unstack("to_state")
    )
    table = table.reindex(index=list(ROLL_STATES), columns=list(ROLL_STATES)).fillna(0.0)
    table.index.name = "from_state"
    table.columns.name = "to_state"
    for state in ABSORBING:
        leaving = table.loc[state].drop(state)
        if (leaving > 0).any():
            raise ValueError(
                f"{int(leaving.sum())} account-month(s) leave the absorbing state {state!r} "
                f"(to {leaving[leaving > 0].index.tolist()}): the table is inconsistent"
            )
    return table


def roll_rate_matrix(
    transitions_df: pd.DataFrame, steps: Iterable[int] | None = None
) -> pd.DataFrame:
    """Row-normalised one-month roll-rate (transition) matrix over :data:`ROLL_STATES`.

    Counts are summed over all rows given (all steps and, for a collected sweep, all
    runs: filter to one policy/scenario first), then each row with exposure is divided
    by its total. The matrix is square and every row sums to 1, so it chains
    (:func:`chain_roll_rates`):

    * a transient state with exposure: the observed shares;
    * ``default`` and ``closed``: absorbing by definition (1 on the diagonal), whatever
      their exposure;
    * a transient state with **no exposure** (no account in it at the start of any
      selected month, e.g. 1-29 always, or 30-59 in month 1) has no estimate: its row is
      a placeholder that keeps accounts where they are (1 on the diagonal), and the
      state is listed in ``matrix.attrs["no_exposure"]``. Figures and tables say
      :data:`NO_EXPOSURE` there; :func:`chain_roll_rates` refuses a horizon over which
      an exposed state reaches it.

    Args:
        transitions_df: transition counts as for :func:`roll_rate_counts`.
        steps: months to include (the month the transition ends in, as recorded in
            ``step``); ``None`` for all.

    Returns:
        DataFrame indexed by ``from_state`` with columns ``to_state`` (both
        :data:`ROLL_STATES`), fractions in [0, 1], rows summing to 1. ``attrs``:
        ``"exposure"`` (dict state -> account-months in it at the start of a month) and
        ``"no_exposure"`` (list of transient states without exposure).

    Raises:
        ValueError: as :func:`roll_rate_counts`.
    """
    counts = roll_rate_counts(transitions_df, steps)
    totals = counts.sum(axis=1)
    matrix = counts.div(totals.where(totals > 0), axis=0)
    no_exposure = [s for s in TRANSIENT if totals[s] <= 0]
    for state in [*no_exposure, *ABSORBING]:
        matrix.loc[state] = 0.0
        matrix.loc[state, state] = 1.0
    matrix.attrs["exposure"] = {s: float(totals[s]) for s in ROLL_STATES}
    matrix.attrs["no_exposure"] = no_exposure
    return matrix


def chain_roll_rates(matrix: pd.DataFrame, months: int) -> pd.DataFrame:
    """The ``months``-month transition matrix: the one-month matrix to the power ``months``.

    Entry ``(a, b)`` is the share of accounts in state ``a`` now that are in state ``b``
    ``months`` months later if every month moves as ``matrix`` (a time-homogeneous
    Markov chain); the absorbing columns accumulate default and attrition.

    Args:
        matrix: output of :func:`roll_rate_matrix` (square over :data:`ROLL_STATES`).
        months: horizon, >= 1.

    Returns:
        Square DataFrame with the same labels, rows summing to 1, and the same ``attrs``.

    Raises:
        ValueError: if ``months`` < 1, the matrix is not square with matching labels, or
            over the horizon an exposed state reaches a state with no exposure (its
            placeholder row would decide the result; the message names both).
    """
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    if list(matrix.index) != list(matrix.columns):
        raise ValueError("matrix must be square with the same row and column labels")
    p = matrix.to_numpy(dtype=float)
    no_exposure = list(matrix.attrs.get("no_exposure", []))
    labels = list(matrix.index)
    exposed = [i for i, s in enumerate(labels) if s not in no_exposure]
    power = np.eye(len(labels))
    for month in range(1, months + 1):
        if month > 1:
            for s in no_exposure:
                j = labels.index(s)
                reached = [labels[i] for i in exposed if power[i, j] > 0]
                if reached:
                    raise ValueError(
                        f"over {months} months, accounts starting in {reached} reach "
                        f"{s!r} (after {month - 1} month(s)), which has {NO_EXPOSURE} in "
                        "the selected months: its roll rates are unknown; select months "
                        "in which it holds accounts"
                    )
        power = power @ p
    out = pd.DataFrame(power, index=matrix.index, columns=matrix.columns)
    out.attrs = dict(matrix.attrs)
    return out


def roll_rates(transitions_df: pd.DataFrame, steps: Iterable[int] | None = None) -> pd.Series:
    """Forward roll rates between consecutive delinquency states.

    Each entry ``"a->b"`` is the share of accounts in state ``a`` that are in state ``b``
    one month later (an entry of :func:`roll_rate_matrix`); the last is
    ``"60-89->default"`` (to 90+ DPD). ``current->delinquent`` is the share of current
    accounts that move to any delinquent state (1-29 or worse, default included;
    attrition closures excluded), which is the first-miss rate under the
    30-days-per-miss convention.

    Args:
        transitions_df: transition counts as for :func:`roll_rate_matrix`.
        steps: months to include; ``None`` for all.

    Returns:
        Series named ``"roll_rate"`` (fractions in [0, 1]) indexed by
        ``"current->delinquent"``, ``"current->1-29"``, ``"1-29->30-59"``,
        ``"30-59->60-89"``, ``"60-89->default"``; NaN where the from-state has no
        exposure (``attrs["no_exposure"]`` lists those states).

    Raises:
        ValueError: as :func:`roll_rate_matrix`.
    """
    matrix = roll_rate_matrix(transitions_df, steps)
    no_exposure = matrix.attrs["no_exposure"]
    delinquent = [*TRANSIENT[1:], "default"]
    values = {"current->delinquent": float(matrix.loc["current", delinquent].sum())}
    chain = [*TRANSIENT, "default"]
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        values[f"{a}->{b}"] = float(matrix.loc[a, b])
    out = pd.Series(values, name="roll_rate", dtype=float)
    for key in out.index:
        if key.split("->")[0] in no_exposure:
            out[key] = np.nan
    out.attrs["no_exposure"] = list(no_exposure)
    return out


def cure_rate(
    transitions_df: pd.DataFrame, from_bucket: str, steps: Iterable[int] | None = None
) -> float:
    """Share of accounts in a delinquent bucket that are current one month later.

    A defaulted line (90+ DPD) never cures in this model: it is absorbing.

    Args:
        transitions_df: transition counts as for :func:`roll_rate_matrix`.
        from_bucket: one of ``"1-29"``, ``"30-59"``, ``"60-89"``.
        steps: months to include; ``None`` for all.

    Returns:
        Cure rate, fraction in [0, 1]; NaN if the bucket has no exposure.

    Raises:
        ValueError: if ``from_bucket`` is not a delinquent bucket before default, or as
            :func:`roll_rate_matrix`.
    """
    if from_bucket not in TRANSIENT[1:]:
        raise ValueError(
            f"from_bucket must be a delinquent bucket before default {list(TRANSIENT[1:])}, "
            f"got {from_bucket!r} (a defaulted line never cures)"
        )
    matrix = roll_rate_matrix(transitions_df, steps)
    if from_bucket in matrix.attrs["no_exposure"]:
        return float("nan")
    return float(matrix.loc[from_bucket, "current"])
