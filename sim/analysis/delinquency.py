"""Delinquency analytics: DPD buckets, roll-rate matrices, cure rates, vintage curves.

Conventions: one step is one month; each consecutive missed minimum payment
adds 30 days past due (DPD); the buckets are current (0 DPD), 1-29, 30-59, 60-89 and 90+;
90+ DPD is default and the line closes. Transition tables count accounts moving from
their bucket at the end of one month to their bucket at the end of the next; lines that
are charged off or closed move to the absorbing column ``"closed"``.

Because DPD advances in steps of 30 days, a first missed payment moves an account from
``current`` straight to ``30-59``: the ``1-29`` bucket is kept for comparability with
industry reporting (and with partial-payment models) but may stay empty. The forward
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
    "BUCKETS",
    "CLOSED",
    "TO_BUCKETS",
    "cure_rate",
    "dpd_bucket",
    "roll_rate_matrix",
    "roll_rates",
    "vintage_curves",
]

BUCKETS: tuple[str, ...] = BUCKET_LABELS[:-1]
"""DPD bucket labels (:data:`sim.units.BUCKET_LABELS` without "closed"): the rows."""

CLOSED = BUCKET_LABELS[-1]
"""Absorbing destination for charged-off or closed lines (a column, never a row)."""

TO_BUCKETS: tuple[str, ...] = BUCKET_LABELS
"""Columns of :func:`roll_rate_matrix`."""


def _transition_counts(
    transitions_df: pd.DataFrame, steps: Iterable[int] | None = None
) -> pd.DataFrame:
    """Counts pivoted to rows :data:`BUCKETS` x columns :data:`TO_BUCKETS` (float)."""
    required = ["from_bucket", "to_bucket", "count"]
    missing = [c for c in required if c not in transitions_df.columns]
    if missing:
        raise ValueError(f"transitions_df is missing column(s) {missing}")
    df = transitions_df
    if steps is not None:
        if "step" not in df.columns:
            raise ValueError("transitions_df has no 'step' column to select steps from")
        df = df[df["step"].isin(list(steps))]
    unknown = sorted(
        (set(df["from_bucket"].astype(str)) - set(TO_BUCKETS))
        | (set(df["to_bucket"].astype(str)) - set(TO_BUCKETS))
    )
    if unknown:
        raise ValueError(f"unknown DPD bucket label(s) {unknown}; expected {list(TO_BUCKETS)}")
    counts = df["count"].to_numpy(dtype=float)
    if (counts < 0).any() or np.isnan(counts).any():
        raise ValueError("transition counts must be non-negative numbers")
    df = df[df["from_bucket"].astype(str).isin(BUCKETS)]
    table = (
        pd.DataFrame(
            {
                "from_bucket": df["from_bucket"].astype(str).to_numpy(),
                "to_bucket": df["to_bucket"].astype(str).to_numpy(),
                "count": df["count"].to_numpy(dtype=float),
            }
        )
        .groupby(["from_bucket", "to_bucket"])["count"]
        .sum()
        .unstack("to_bucket")
    )
    table = table.reindex(index=list(BUCKETS), columns=list(TO_BUCKETS)).fillna(0.0)
    table.index.name = "from_bucket"
    table.columns.name = "to_bucket"
    return table


def roll_rate_matrix(
    transitions_df: pd.DataFrame, steps: Iterable[int] | None = None
) -> pd.DataFrame:
    """Row-normalised one-month DPD transition (roll-rate) matrix.

    Counts are summed over all rows given (all steps and, for a collected sweep, all
    runs: filter to one policy/scenario first), then each row is divided by its total.
    Rows from ``"closed"`` (closed lines staying closed) are ignored.

    Args:
        transitions_df: transition counts with columns ``from_bucket``, ``to_bucket``
            (str, one of :data:`TO_BUCKETS`), ``count`` (non-negative) and, if
            ``steps`` is given, ``step`` (int).
        steps: months to include (the month the transition ends in, as recorded in
            ``step``); ``None`` for all.

    Returns:
        DataFrame indexed by ``from_bucket`` (:data:`BUCKETS`, in order) with columns
        :data:`TO_BUCKETS` (bucket labels and ``"closed"``), values fractions in [0, 1];
        each row sums to 1, or is all NaN if that bucket has no counts.

    Raises:
        ValueError: if a column is missing, a bucket label is unknown or a count is
            negative or NaN.
    """
    counts = _transition_counts(transitions_df, steps)
    totals = counts.sum(axis=1)
    matrix = counts.div(totals.where(totals > 0), axis=0)
    return matrix


def roll_rates(transitions_df: pd.DataFrame, steps: Iterable[int] | None = None) -> pd.Series:
    """Forward roll rates between consecutive DPD buckets.

    Each entry ``"a->b"`` is the share of accounts in bucket ``a`` that are in bucket
    ``b`` one month later (an entry of :func:`roll_rate_matrix`). ``current->delinquent``
    is the share of current accounts that move to any delinquent bucket (1-29 or worse;
    closures excluded), which is the first-miss rate under the 30-days-per-miss
    convention.

    Args:
        transitions_df: transition counts as for :func:`roll_rate_matrix`.
        steps: months to include; ``None`` for all.

    Returns:
        Series named ``"roll_rate"`` (fractions in [0, 1], NaN where the from-bucket has
        no counts) indexed by ``"current->delinquent"``, ``"current->1-29"``,
        ``"1-29->30-59"``, ``"30-59->60-89"``, ``"60-89->90+"``.

    Raises:
        ValueError: as :func:`roll_rate_matrix`.
    """
    matrix = roll_rate_matrix(transitions_df, steps)
    values = {"current->delinquent": float(matrix.loc["current", list(BUCKETS[1:])].sum())}
    if matrix.loc["current"].isna().all():
        values["current->delinquent"] = float("nan")
    for a, b in zip(BUCKETS[:-1], BUCKETS[1:], strict=True):
        values[f"{a}->{b}"] = float(matrix.loc[a, b])
    return pd.Series(values, name="roll_rate", dtype=float)


def cure_rate(
    transitions_df: pd.DataFrame, from_bucket: str, steps: Iterable[int] | None = None
) -> float:
    """Share of accounts in a delinquent bucket that are current one month later.

    Args:
        transitions_df: transition counts as for :func:`roll_rate_matrix`.
        from_bucket: one of ``"1-29"``, ``"30-59"``, ``"60-89"``, ``"90+"``.
        steps: months to include; ``None`` for all.

    Returns:
        Cure rate, fraction in [0, 1]; NaN if the bucket has no counts.

    Raises:
        ValueError: if ``from_bucket`` is not a delinquent bucket, or as
            :func:`roll_rate_matrix`.
    """
    if from_bucket not in BUCKETS[1:]:
        raise ValueError(
            f"from_bucket must be a delinquent bucket {list(BUCKETS[1:])}, got {from_bucket!r}"
        )
    return float(roll_rate_matrix(transitions_df, steps).loc[from_bucket, "current"])
