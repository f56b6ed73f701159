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


def vintage_curves(accounts_df: pd.DataFrame, max_mob: int | None = None) -> pd.DataFrame:
    """Cumulative default rate by vintage and months on book, from per-account records.

    An account originated at step ``o`` is at ``months_on_book = m`` (m >= 1) at step
    ``o + m``. It is in the denominator at ``m`` only if its observation window reaches
    that step (``last_observed_step >= o + m``), and it counts as defaulted by ``m`` if
    ``default_step <= o + m``. ``last_observed_step`` is the end of the observation
    window (censoring), *not* the month the line closed: a line that defaulted and
    closed stays observed (as defaulted) until the window ends, so defaulted and
    performing accounts are censored alike and the rate is not biased upwards. Rows
    where no account of the vintage is observed that long are omitted, so each curve
    ends where its data end. With all of a vintage's accounts originated in the same
    step the curve never decreases; a vintage spanning several origination steps (e.g.
    a quarter) is represented at its longest months on book by its earliest accounts
    only.

    Accounts originated before the simulation (an initial book) are left-truncated:
    defaults before the first simulated month are not in the data, so their curves are
    conditional on having survived to the start.

    Args:
        accounts_df: one row per account with columns ``vintage`` (str cohort label),
            ``origination_step`` (int), ``default_step`` (float step of default, NaN if
            never defaulted) and ``last_observed_step`` (int, last step of the account's
            observation window, usually the run's last step).
        max_mob: largest months on book to report; ``None`` for as far as observed.

    Returns:
        DataFrame with columns ``vintage`` (str), ``months_on_book`` (int64, >= 1),
        ``n_accounts`` (int64, accounts observed that long), ``cumulative_default_rate``
        (float64, fraction in [0, 1]), sorted by vintage (earliest origination first)
        and months on book.

    Raises:
        ValueError: if a column is missing, ``max_mob`` < 1, an account's observation
            window ends before its origination step, or it defaults before origination
            or after its window ends.
    """
    required = ["vintage", "origination_step", "default_step", "last_observed_step"]
    missing = [c for c in required if c not in accounts_df.columns]
    if missing:
        raise ValueError(f"accounts_df is missing column(s) {missing}")
    if max_mob is not None and max_mob < 1:
        raise ValueError(f"max_mob must be >= 1, got {max_mob}")
    columns = ["vintage", "months_on_book", "n_accounts", "cumulative_default_rate"]
    if accounts_df.empty:
        return pd.DataFrame(
            {
                "vintage": pd.Series(dtype=str),
                "months_on_book": pd.Series(dtype="int64"),
                "n_accounts": pd.Series(dtype="int64"),
                "cumulative_default_rate": pd.Series(dtype="float64"),
            }
        )[columns]

    vintage = accounts_df["vintage"].astype(str).to_numpy()
    origin = accounts_df["origination_step"].to_numpy(dtype=float)
    default = accounts_df["default_step"].to_numpy(dtype=float)
    last = accounts_df["last_observed_step"].to_numpy(dtype=float)
    if (default < origin).any():  # NaN compares False
        raise ValueError("an account's default_step is before its origination_step")
    if (last < origin).any():
        raise ValueError("an account's last_observed_step is before its origination_step")
    if (default > last).any():
        raise ValueError(
            "an account's default_step is after its last_observed_step (the end of its "
            "observation window, not the step its line closed)"
        )

    default_mob = default - origin  # NaN if never defaulted
    observed_mob = last - origin
    order = (
        pd.DataFrame({"vintage": vintage, "origin": origin})
        .groupby("vintage")["origin"]
        .min()
        .reset_index()
        .sort_values(["origin", "vintage"], kind="stable")["vintage"]
        .tolist()
    )
    rows = []
    for label in order:
        mask = vintage == label
        d_mob, o_mob = default_mob[mask], observed_mob[mask]
        horizon = int(np.max(o_mob))
        top = horizon if max_mob is None else min(horizon, max_mob)
        for m in range(1, top + 1):
            observed = o_mob >= m
            n = int(observed.sum())
            if n == 0:
                continue
            defaulted = observed & np.isfinite(d_mob) & (d_mob <= m)
            rows.append((label, m, n, float(defaulted.sum()) / n))
    out = pd.DataFrame(rows, columns=columns)
    return out.astype(
        {
            "vintage": str,
            "months_on_book": "int64",
            "n_accounts": "int64",
            "cumulative_default_rate": "float64",
        }
    )
