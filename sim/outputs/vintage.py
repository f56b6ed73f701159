"""Vintage default curves: cumulative default rate by origination cohort and months on book."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.month import World
    from sim.outputs.recorder import RunRecord

#: Columns of :func:`vintage_curves`, in order.
VINTAGE_COLUMNS: tuple[str, ...] = (
    "vintage",
    "months_on_book",
    "n_accounts",
    "n_defaulted",
    "cumulative_default_rate",
)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vintage": pd.Series(dtype=str),
            "months_on_book": pd.Series(dtype="int64"),
            "n_accounts": pd.Series(dtype="int64"),
            "n_defaulted": pd.Series(dtype="int64"),
            "cumulative_default_rate": pd.Series(dtype="float64"),
        }
    )


def vintage_curves(accounts_df: pd.DataFrame, max_mob: int | None = None) -> pd.DataFrame:
    """Cumulative default rate by vintage and months on book, from per-account records.

    Each account is aged on its own clock: originated at step ``o``, it is at
    ``months_on_book = m`` at step ``o + m`` and has defaulted by then if
    ``default_step <= o + m``. A vintage's rate at ``m`` is

        (accounts of the vintage defaulted by their own month ``m``) / (accounts originated)

    with the denominator fixed at the vintage's originated count, so every curve is
    cumulative and never decreases. An account that closes for attrition stays in the
    denominator as not defaulted. A vintage's curve runs to the months on book that
    *every* member has been observed for (``min(last_observed_step - o)``): beyond
    that, the youngest members' outcomes are unknown, and dropping them from the
    denominator would make the curve fall. A vintage observed for less than one month
    has no rows.

    Accounts on the book before the simulation (a starting book) should be passed as
    their own vintage with ``origination_step = 0``: their curve then counts months
    since the start of the run and is left-truncated (defaults before the start are not
    in the data: it is conditional on having survived to the start).

    Args:
        accounts_df: one row per account with columns ``vintage`` (str cohort label),
            ``origination_step`` (int), ``default_step`` (float step of default, NaN if
            never defaulted) and ``last_observed_step`` (int, last step of the account's
            observation window, usually the run's last step; *not* the month its line
            closed).
        max_mob: largest months on book to report; ``None`` for as far as observed.

    Returns:
        DataFrame with columns :data:`VINTAGE_COLUMNS`: ``vintage`` (str),
        ``months_on_book`` (int64, >= 1), ``n_accounts`` (int64, originated: the same on
        every row of a vintage), ``n_defaulted`` (int64, defaulted by that month on
        book), ``cumulative_default_rate`` (float64, ``n_defaulted / n_accounts``, in
        [0, 1], non-decreasing within a vintage), sorted by vintage (earliest
        origination first) and months on book.

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
    if accounts_df.empty:
        return _empty()

    labels, cohort = _cohorts(accounts_df["vintage"])
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
    first_origin = np.full(labels.size, np.inf)
    np.minimum.at(first_origin, cohort, origin)
    horizon = np.full(labels.size, np.inf)
    np.minimum.at(horizon, cohort, observed_mob)
    size = np.bincount(cohort, minlength=labels.size)
    order = sorted(range(labels.size), key=lambda k: (first_origin[k], labels[k]))
    frames = []
    for k in order:
        top = int(horizon[k]) if max_mob is None else min(int(horizon[k]), max_mob)
        if top < 1:
            continue
        d = default_mob[cohort == k]
        # Defaults by own month on book: a default in the origination month counts at 1.
        mob = np.maximum(np.ceil(d[np.isfinite(d) & (d <= top)]), 1).astype(np.int64)
        defaulted = np.cumsum(np.bincount(mob, minlength=top + 1)[1:])
        frames.append(
            pd.DataFrame(
                {
                    "vintage": labels[k],
                    "months_on_book": np.arange(1, top + 1, dtype=np.int64),
                    "n_accounts": np.int64(size[k]),
                    "n_defaulted": defaulted.astype(np.int64),
                    "cumulative_default_rate": defaulted / float(size[k]),
                }
            )
        )
    if not frames:
        return _empty()
    out = pd.concat(frames, ignore_index=True)
    return out.astype(
        {
            "vintage": str,
            "months_on_book": "int64",
            "n_accounts": "int64",
            "n_defaulted": "int64",
            "cumulative_default_rate": "float64",
        }
    )[list(VINTAGE_COLUMNS)]


def _cohorts(vintage: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, cohort)``: the sorted vintage labels present and each account's index.

    What ``np.unique(vintage.astype(str), return_inverse=True)`` gives; a categorical
    column is read through its codes (no per-account strings made or sorted).
    """
    if isinstance(vintage.dtype, pd.CategoricalDtype):
        names = np.asarray(vintage.cat.categories.astype(str))
        codes = vintage.cat.codes.to_numpy()
        if (codes < 0).any():  # a missing label is the string "nan", as astype(str) makes it
            return np.unique(vintage.astype(str).to_numpy(), return_inverse=True)
        present = np.flatnonzero(np.bincount(codes, minlength=names.size))
        present = present[np.argsort(names[present], kind="stable")]
        rank = np.empty(names.size, dtype=np.intp)
        rank[present] = np.arange(present.size)
        return names[present], rank[codes]
    return np.unique(vintage.astype(str).to_numpy(), return_inverse=True)


#: Vintage label of the accounts on the book before month 1 (``origination_step <= 0``).
STARTING_BOOK = "starting_book"


def vintage_labels(origination_step: np.ndarray) -> np.ndarray:
    """Vintage of each account: :data:`STARTING_BOOK`, or its run quarter of origination.

    Accounts opened in months 1-3 of the run are ``"Q1"``, months 4-6 ``"Q2"``, and so
    on; accounts on the book before month 1 (``origination_step <= 0``) are
    :data:`STARTING_BOOK`.

    Args:
        origination_step: ``(n,)`` int month each line was opened.

    Returns:
        ``(n,)`` array of str.
    """
    return np.asarray(vintage_categories(origination_step)).astype(str)


def vintage_categories(origination_step: np.ndarray) -> pd.Categorical:
    """:func:`vintage_labels` as a categorical (one code a byte or two, not a string each).

    Args:
        origination_step: ``(n,)`` int month each line was opened.

    Returns:
        ``(n,)`` categorical of :data:`STARTING_BOOK` and the ``"Q<k>"`` labels present.
    """
    step = np.asarray(origination_step, dtype=np.int64)
    quarter = np.where(step <= 0, 0, (np.maximum(step, 1) - 1) // 3 + 1)  # 0: starting book
    levels, inverse = np.unique(quarter, return_inverse=True)
    names = [STARTING_BOOK if q == 0 else f"Q{q}" for q in levels]
    return pd.Categorical.from_codes(inverse.reshape(-1), categories=names)


def vintage_table(world: World, record: RunRecord) -> pd.DataFrame:
    """Vintage default curves of the book.

    A vintage is the quarter of the comparison window an account was opened in (``"Q1"``:
    window months 1-3, ...), each account aged on its own months on book, or
    :data:`STARTING_BOOK`: the lines open when the window starts (the run's starting book
    and the burn-in's originations, left-truncated: they had survived to the window),
    whose months count from the window's start. Lines that defaulted or closed during the
    burn-in are left out. Every account is observed to the window's last month; the
    denominator is the vintage's originated count
    (:func:`sim.outputs.vintage.vintage_curves`), so the curves never decrease.

    Returns:
        Columns ``vintage, months_on_book, n_accounts, n_defaulted,
        cumulative_default_rate`` (:func:`sim.outputs.vintage.vintage_curves`).
    """
    s = world.borrowers
    offset = world.burn_in_months
    exposed = world.exposed_in_window()
    origin = s.origination_step[exposed].astype(np.int64) - offset
    default = s.default_step[exposed].astype(np.float64)
    accounts = pd.DataFrame(
        {
            "vintage": vintage_categories(origin),
            "origination_step": np.maximum(origin, 0),
            "default_step": np.where(default > 0, default - offset, np.nan),
            "last_observed_step": np.full(origin.shape[0], record.steps - offset),
        }
    )
    return vintage_curves(accounts)
