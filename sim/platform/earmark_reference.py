"""The earmark update one account at a time: the reference of :mod:`earmark_kernel`."""

from __future__ import annotations

import math

import numpy as np


def earmark_reference(s, earmark: np.ndarray) -> np.ndarray | None:  # noqa: ANN001
    """New earmarks of ``s`` (a ``BorrowerState``), one line at a time; None if one is bad.

    A line's earmark must be a finite amount >= 0; it is then kept within the line's
    headroom (limit less balance, at least 0; none on a line not open or closing) and
    rounded to the cent.
    """
    out = np.empty(s.n)
    for i in range(s.n):
        e = float(earmark[i])
        if not (e >= 0.0 and math.isfinite(e)):
            return None
        line_open = not (s.defaulted[i] or s.closed[i] or s.closing[i])
        headroom = max(float(s.limit_cny[i]) - float(s.balance_cny[i]), 0.0)
        if math.isnan(float(s.limit_cny[i]) - float(s.balance_cny[i])):
            headroom = math.nan
        headroom = headroom * (1.0 if line_open else 0.0)
        kept = math.nan if math.isnan(headroom) else min(e, headroom)
        out[i] = round(kept * 100.0) / 100.0 + 0.0 if math.isfinite(kept) else kept
    return out
