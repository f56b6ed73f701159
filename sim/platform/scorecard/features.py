"""Scorecard features from the UCI card data and from the simulator's state.

The seven features (:data:`FEATURE_NAMES`), the three segments (:func:`segment_of`) and
their definitions are listed in :mod:`sim.platform.scorecard`. Both sides go through
:func:`feature_columns_from_state`, so the clipping and log rules are applied in one place.
Money features are logs of New Taiwan dollar amounts (the UCI currency): the simulator
converts its CNY amounts back with the population's exchange rate and limit scale
(:attr:`sim.platform.agent.Platform.twd_per_cny`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_NAMES: tuple[str, ...] = (
    "months_late",
    "delinquent_months_6m",
    "payment_ratio_min_3m",
    "utilisation_3m",
    "log_headroom_twd",
    "log_headroom_3m_twd",
    "log_payment_5m_twd",
)
"""Scorecard features, in the column order of every feature matrix."""

SEGMENT_NAMES: tuple[str, ...] = ("clean_6m", "delinquent_6m", "dpd_60_plus")
"""Scorecard segments (:func:`segment_of`), in segment-number order."""

TARGET_COLUMN = "default payment next month"
"""UCI column with the target: 1 = defaulted on the October 2005 payment."""

#: Months of payments averaged by ``log_payment_5m_twd`` (the UCI window has 5 payments
#: with a known previous bill: September back to May).
PAYMENT_HISTORY_MONTHS = 5
#: Months of statements averaged by ``log_headroom_3m_twd``, and of payment ratios whose
#: minimum is ``payment_ratio_min_3m``.
STATEMENT_HISTORY_MONTHS = 3

_PAY_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
_BILL_COLUMNS = tuple(f"BILL_AMT{k}" for k in range(1, 7))  # September .. April
_PAYMENT_COLUMNS = tuple(f"PAY_AMT{k}" for k in range(1, 7))  # September .. April
_MAX_MONTHS_LATE = 3.0
_MAX_UTILISATION = 1.5
_HISTORY_MONTHS = 6.0  # the UCI window (April-September)
_SEGMENT_DPD_MONTHS = 2  # 60+ DPD: the third segment


# --------------------------------------------------------------------------- features


def uci_features(df: pd.DataFrame) -> np.ndarray:
    """Compute the scorecard features from UCI rows (from :func:`sim.world.data.load_uci`).

    Definitions (months: 1 = September 2005, the scoring month, back to 6 = April):
    ``months_late`` ``PAY_0``; ``delinquent_months_6m`` the number of ``PAY_0, PAY_2 ..
    PAY_6`` >= 1; ``payment_ratio_min_3m`` the least of ``PAY_AMTk / BILL_AMT(k+1)`` for
    k = 1..3 (1.0 where that bill is <= 0); the statement ``BILL_AMT1``, the limit
    ``LIMIT_BAL``, the mean of ``BILL_AMT1..3`` and the mean of ``PAY_AMT1..5`` (bills
    below 0, credit balances, count as 0). :func:`features_from_state` clips and logs them.

    Args:
        df: UCI table with at least ``LIMIT_BAL``, ``PAY_0``, ``PAY_2`` .. ``PAY_6``,
            ``BILL_AMT1`` .. ``BILL_AMT4`` and ``PAY_AMT1`` .. ``PAY_AMT5`` (money in NT$,
            ``LIMIT_BAL`` > 0).

    Returns:
        Feature matrix, shape ``(n_rows, 7)``, float64, columns in the order of
        :data:`FEATURE_NAMES`.

    Raises:
        KeyError: if a needed column is absent (the message lists them).
        ValueError: if a ``LIMIT_BAL`` is not positive.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data and column coding).
    """
    bills_used = _BILL_COLUMNS[: STATEMENT_HISTORY_MONTHS + 1]
    payments_used = _PAYMENT_COLUMNS[:PAYMENT_HISTORY_MONTHS]
    needed = ["LIMIT_BAL", *_PAY_COLUMNS, *bills_used, *payments_used]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise KeyError(f"uci_features: missing column(s) {absent}")
    limit = df["LIMIT_BAL"].to_numpy(dtype=float)
    if np.any(limit <= 0):
        raise ValueError("uci_features: LIMIT_BAL must be > 0 in every row")
    pay = df[list(_PAY_COLUMNS)].to_numpy(dtype=float)
    bills = np.clip(df[list(bills_used)].to_numpy(dtype=float), 0.0, None)
    paid = df[list(payments_used)].to_numpy(dtype=float)
    k = STATEMENT_HISTORY_MONTHS
    # Payment in month k settles the bill of month k + 1 (UCI column coding).
    ratio = np.ones((len(df), k))
    np.divide(paid[:, :k], bills[:, 1:], out=ratio, where=bills[:, 1:] > 0)
    return features_from_state(
        months_late=pay[:, 0],
        delinquent_months_6m=(pay >= 1).sum(axis=1),
        payment_ratio_min_3m=np.clip(ratio, 0.0, 1.0).min(axis=1),
        statement_twd=bills[:, 0],
        limit_twd=limit,
        statement_mean_3m_twd=bills[:, :k].mean(axis=1),
        payment_mean_5m_twd=paid.mean(axis=1),
    )


def features_from_state(
    months_late: np.ndarray,
    delinquent_months_6m: np.ndarray,
    payment_ratio_min_3m: np.ndarray,
    statement_twd: np.ndarray,
    limit_twd: np.ndarray,
    statement_mean_3m_twd: np.ndarray,
    payment_mean_5m_twd: np.ndarray,
) -> np.ndarray:
    """Build the scorecard feature matrix from account state, with the UCI rules.

    All arguments are ``(n_borrowers,)`` arrays of the same length (any real dtype).
    Rules: ``months_late`` is clipped to 0..3, ``delinquent_months_6m`` to 0..6 (the UCI
    window), ``payment_ratio_min_3m`` to 0..1; the four money features are
    ``log(1 + max(x, 0))`` of the statement, the headroom ``limit - statement``, the
    3-month headroom ``limit - mean statement`` and the mean payment, all in NT$.

    Args:
        months_late: consecutive missed minimum payments (0 = current); DPD / 30.
        delinquent_months_6m: number of the last 6 months with a missed payment.
        payment_ratio_min_3m: least of the last 3 months' payment / previous statement
            (1.0 where that statement was <= 0), fraction.
        statement_twd: this month's statement balance, NT$.
        limit_twd: credit limit, NT$.
        statement_mean_3m_twd: mean statement balance of the last 3 months (this one
            included), NT$.
        payment_mean_5m_twd: mean payment of the last 5 months (this one included), NT$.

    Returns:
        Feature matrix, shape ``(n_borrowers, 7)``, float64, columns in the order of
        :data:`FEATURE_NAMES`.

    Raises:
        ValueError: if an argument is not one-dimensional, the lengths differ, or a
            value is NaN or infinite (the argument is named).
    """
    return np.column_stack(
        [
            col.astype(np.float64)
            for col in feature_columns_from_state(
                months_late,
                delinquent_months_6m,
                payment_ratio_min_3m,
                statement_twd,
                limit_twd,
                statement_mean_3m_twd,
                payment_mean_5m_twd,
            )
        ]
    )


def feature_columns_from_state(
    months_late: np.ndarray,
    delinquent_months_6m: np.ndarray,
    payment_ratio_min_3m: np.ndarray,
    statement_twd: np.ndarray,
    limit_twd: np.ndarray,
    statement_mean_3m_twd: np.ndarray,
    payment_mean_5m_twd: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The seven feature columns of :func:`features_from_state`, without stacking them.

    The monthly re-scoring of every borrower uses this with the card's
    ``log_odds_columns``, which avoids building an ``(n, 7)`` matrix. Integer inputs stay
    integer (the counts are exact and always finite).

    Returns:
        Seven ``(n_borrowers,)`` numeric arrays in :data:`FEATURE_NAMES` order: float64
        for float inputs and the money features, the input's integer type for integer
        counts; their values equal the float64 features.

    Raises:
        ValueError: as :func:`features_from_state`.
    """
    raw = {
        "months_late": months_late,
        "delinquent_months_6m": delinquent_months_6m,
        "payment_ratio_min_3m": payment_ratio_min_3m,
        "statement_twd": statement_twd,
        "limit_twd": limit_twd,
        "statement_mean_3m_twd": statement_mean_3m_twd,
        "payment_mean_5m_twd": payment_mean_5m_twd,
    }
    arrays: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu":
            arr = arr.astype(float, copy=False)
        if arr.ndim != 1:
            raise ValueError(f"features_from_state: {name} must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind == "f" and not np.isfinite(arr.sum()):
            raise ValueError(f"features_from_state: {name} contains NaN or infinite values")
        arrays[name] = arr
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"features_from_state: arguments differ in length: {lengths}")
    statement, limit = arrays["statement_twd"], arrays["limit_twd"]
    mean_3m = arrays["statement_mean_3m_twd"]
    utilisation_3m = np.full(mean_3m.shape, _MAX_UTILISATION)
    np.divide(mean_3m, limit, out=utilisation_3m, where=limit > 0)
    return (
        _clip(arrays["months_late"], _MAX_MONTHS_LATE),
        _clip(arrays["delinquent_months_6m"], _HISTORY_MONTHS),
        _clip(arrays["payment_ratio_min_3m"], 1.0),
        _clip(utilisation_3m, _MAX_UTILISATION),
        _log_money(limit - statement),
        _log_money(limit - mean_3m),
        _log_money(arrays["payment_mean_5m_twd"]),
    )


def segment_of(months_late: np.ndarray, delinquent_months_6m: np.ndarray) -> np.ndarray:
    """Scorecard segment of each account (:data:`SEGMENT_NAMES`), ``(n,)`` int8.

    0 ``clean_6m``: no missed payment in the last 6 months; 1 ``delinquent_6m``: a missed
    payment in the last 6 months, at most 30 days past due now; 2 ``dpd_60_plus``: 60 or
    more days past due now (``months_late`` >= 2). Each segment has its own points table
    (:class:`sim.platform.scorecard.SegmentedScorecard`).

    Args:
        months_late: ``(n,)`` feature column ``months_late``.
        delinquent_months_6m: ``(n,)`` feature column ``delinquent_months_6m``.
    """
    late = np.asarray(months_late) >= _SEGMENT_DPD_MONTHS
    return (late.astype(np.int8) * 2) + (~late & (np.asarray(delinquent_months_6m) >= 1))


def _clip(arr: np.ndarray, high: float) -> np.ndarray:
    """``arr`` clipped to ``[0, high]``; integer arrays stay integer (``high`` is whole)."""
    if arr.dtype.kind == "f":
        return np.clip(arr, 0.0, high)
    return np.clip(arr, 0, int(high))


def _log_money(amount: np.ndarray) -> np.ndarray:
    """``log(1 + max(amount, 0))``, float64."""
    return np.log1p(np.maximum(amount, 0.0))
