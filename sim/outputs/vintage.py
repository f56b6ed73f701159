"""Vintage default curves: cumulative default rate by origination cohort and months on book."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
