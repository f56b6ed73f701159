"""Scorecard features from the UCI card data and from the simulator's state.

The six features (:data:`FEATURE_NAMES`) and their definitions are listed in
:mod:`sim.platform.scorecard`. Both sides go through :func:`feature_columns_from_state`,
so the clipping rules are applied in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_NAMES: tuple[str, ...] = (
    "months_late",
    "paid_in_full",
    "utilisation",
    "payment_ratio",
    "delinquent_months_6m",
    "age_years",
)
"""Scorecard features, in the column order of every feature matrix."""

TARGET_COLUMN = "default payment next month"
"""UCI column with the target: 1 = defaulted on the October 2005 payment."""


_PAY_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
_MAX_MONTHS_LATE = 3.0
_MAX_UTILISATION = 1.5
_HISTORY_MONTHS = 6.0  # the UCI window (April-September)


# --------------------------------------------------------------------------- features


def uci_features(df: pd.DataFrame) -> np.ndarray:
    """Compute the scorecard features from UCI rows (from :func:`sim.outputs.files.load_uci`).

    Args:
        df: UCI table with at least ``LIMIT_BAL``, ``AGE``, ``PAY_0``, ``PAY_2`` ..
            ``PAY_6``, ``BILL_AMT1``, ``BILL_AMT2`` and ``PAY_AMT1`` (money in NT$,
            ``LIMIT_BAL`` > 0).

    Returns:
        Feature matrix, shape ``(n_rows, 6)``, float64, columns in the order of
        :data:`FEATURE_NAMES` (definitions in the module docstring).

    Raises:
        KeyError: if a needed column is absent (the message lists them).
        ValueError: if a ``LIMIT_BAL`` is not positive.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data and column coding).
    """
    needed = ["LIMIT_BAL", "AGE", *_PAY_COLUMNS, "BILL_AMT1", "BILL_AMT2", "PAY_AMT1"]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise KeyError(f"uci_features: missing column(s) {absent}")
    limit = df["LIMIT_BAL"].to_numpy(dtype=float)
    if np.any(limit <= 0):
        raise ValueError("uci_features: LIMIT_BAL must be > 0 in every row")
    pay = df[list(_PAY_COLUMNS)].to_numpy(dtype=float)
    pay_0 = pay[:, 0]
    prev_bill = df["BILL_AMT2"].to_numpy(dtype=float)
    paid = df["PAY_AMT1"].to_numpy(dtype=float)
    has_bill = prev_bill > 0
    payment_ratio = np.ones_like(prev_bill)
    np.divide(paid, prev_bill, out=payment_ratio, where=has_bill)
    return features_from_state(
        months_late=pay_0,
        paid_in_full=np.isin(pay_0, (-2.0, -1.0)),
        utilisation=df["BILL_AMT1"].to_numpy(dtype=float) / limit,
        payment_ratio=payment_ratio,
        delinquent_months_6m=(pay >= 1).sum(axis=1),
        age_years=df["AGE"].to_numpy(dtype=float),
    )


def features_from_state(
    months_late: np.ndarray,
    paid_in_full: np.ndarray,
    utilisation: np.ndarray,
    payment_ratio: np.ndarray,
    delinquent_months_6m: np.ndarray,
    age_years: np.ndarray,
) -> np.ndarray:
    """Build the scorecard feature matrix from simulator state, with the UCI clipping rules.

    All arguments are ``(n_borrowers,)`` arrays of the same length (any real or bool
    dtype). Clipping: ``months_late`` to 0..3, ``utilisation`` to 0..1.5,
    ``payment_ratio`` to 0..1, ``delinquent_months_6m`` to 0..6 (the UCI window);
    ``paid_in_full`` is read as true where non-zero; ``age_years`` is kept as is.

    Args:
        months_late: consecutive missed minimum payments (0 = current); DPD / 30.
        paid_in_full: last statement paid in full, or no balance to pay (bool or 0/1).
        utilisation: drawn balance / credit limit, fraction.
        payment_ratio: payment made this month / last month's statement balance,
            fraction. The caller passes 1.0 where last month's balance was <= 0 (the
            UCI rule).
        delinquent_months_6m: number of the last 6 months with any payment delay.
        age_years: borrower age in years.

    Returns:
        Feature matrix, shape ``(n_borrowers, 6)``, float64, columns in the order of
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
                paid_in_full,
                utilisation,
                payment_ratio,
                delinquent_months_6m,
                age_years,
            )
        ]
    )


def feature_columns_from_state(
    months_late: np.ndarray,
    paid_in_full: np.ndarray,
    utilisation: np.ndarray,
    payment_ratio: np.ndarray,
    delinquent_months_6m: np.ndarray,
    age_years: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The six feature columns of :func:`features_from_state`, without stacking them.

    The monthly re-scoring of every borrower uses this with
    :meth:`Scorecard.log_odds_columns`, which avoids building an ``(n, 6)`` matrix. Integer
    and bool inputs stay integer / bool (they are exact and always finite), so a million
    rows are not converted to float64 only to be multiplied by a coefficient.

    Returns:
        Six ``(n_borrowers,)`` numeric arrays in :data:`FEATURE_NAMES` order: float64 for
        float inputs, the input's integer type for integer counts, bool for the flags;
        their values equal the float64 features.

    Raises:
        ValueError: as :func:`features_from_state`.
    """
    raw = {
        "months_late": months_late,
        "paid_in_full": paid_in_full,
        "utilisation": utilisation,
        "payment_ratio": payment_ratio,
        "delinquent_months_6m": delinquent_months_6m,
        "age_years": age_years,
    }
    arrays: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biu":
            arr = arr.astype(float, copy=False)
        if arr.ndim != 1:
            raise ValueError(f"features_from_state: {name} must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind == "f" and not np.isfinite(arr.sum()):
            raise ValueError(f"features_from_state: {name} contains NaN or infinite values")
        arrays[name] = arr
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"features_from_state: arguments differ in length: {lengths}")
    return (
        _clip(arrays["months_late"], _MAX_MONTHS_LATE),
        arrays["paid_in_full"] != 0,
        _clip(arrays["utilisation"], _MAX_UTILISATION),
        _clip(arrays["payment_ratio"], 1.0),
        _clip(arrays["delinquent_months_6m"], _HISTORY_MONTHS),
        arrays["age_years"],
    )


def _clip(arr: np.ndarray, high: float) -> np.ndarray:
    """``arr`` clipped to ``[0, high]``; integer arrays stay integer (``high`` is whole)."""
    if arr.dtype.kind == "f":
        return np.clip(arr, 0.0, high)
    return np.clip(arr, 0, int(high))
