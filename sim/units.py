"""Units and conventions fixed for the whole model: money in cents, days per missed payment.

Money is CNY in float64; every posting is rounded to 0.01 CNY and a balance within half a
cent of zero is exactly zero (never -0.0). Each consecutive missed minimum payment adds
:data:`DAYS_PER_MISS` days past due.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Days past due added by each consecutive missed minimum payment.
DAYS_PER_MISS = 30

#: DPD bucket labels; bucket index 5 is "closed" (charged off).
BUCKET_LABELS = ("current", "1-29", "30-59", "60-89", "90+", "closed")
N_BUCKETS = len(BUCKET_LABELS)
MISSES_TO_DEFAULT = 3


def bucket_index(state: Any) -> np.ndarray:
    """DPD bucket of each account, int8 index into :data:`BUCKET_LABELS`.

    Args:
        state: accounts with ``missed`` (int, consecutive misses) and ``charged_off``
            (bool), ``(n,)`` each.

    Returns:
        ``(n,)`` int8 bucket index.

    DPD is 30 x consecutive misses, so the 1-29 bucket is empty under the monthly
    convention; it is kept so that tables have the standard five buckets.
    """
    # DPD = 30 x misses: 0 misses -> current, 1 -> 30-59, 2 -> 60-89, 3 or more -> 90+,
    # i.e. bucket = min(misses, 3) + (misses > 0); charged-off accounts are bucket 5.
    missed = np.clip(state.missed, 0, 3).astype(np.int8)
    idx = missed + (missed > 0).view(np.int8)
    idx[state.charged_off] = 5
    return idx


def round_cny(x: np.ndarray | float) -> np.ndarray:
    """Round money to 0.01 CNY; anything within half a cent of zero becomes exactly 0.0.

    Args:
        x: amounts in CNY, any shape.

    Returns:
        float64 array of the same shape.
    """
    # np.round already maps |x| < 0.005 to +-0.0; adding 0.0 turns -0.0 into 0.0. One new
    # array, rounded and cleaned in place (money arrays are large: no second temporary).
    out = np.round(np.asarray(x, dtype=np.float64), 2)
    if out.ndim == 0:
        return out + 0.0
    out += 0.0
    return out


def round_cny_inplace(x: np.ndarray) -> np.ndarray:
    """:func:`round_cny` written back into ``x`` (no temporaries), for fresh work arrays.

    Args:
        x: float64 array of amounts in CNY, any shape; overwritten.

    Returns:
        ``x``, rounded to 0.01 CNY with -0.0 turned into 0.0.
    """
    np.round(x, 2, out=x)
    x += 0.0
    return x
