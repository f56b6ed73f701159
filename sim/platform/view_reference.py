"""The portfolio view's derived features one account at a time (reference of view_kernel)."""

from __future__ import annotations

import numpy as np


def view_rows_reference(s) -> dict[str, np.ndarray]:  # noqa: ANN001
    """The view's derived features of ``s`` (a ``BorrowerState``), one line at a time.

    ``utilisation``, ``debt_service_ratio``, ``draws_3m``, ``early_repayments_3m`` and
    ``is_open``, ``(n,)`` each. Utilisation is the balance over the limit (0 without a
    limit); the debt-service ratio is the debt service over the income (at least 1 CNY);
    the counts add up the months of the ring buffers; a line is open when neither
    defaulted, closed nor closing.
    """
    n = s.n
    util, dsr = np.empty(n), np.empty(n)
    draws, early = np.empty(n, np.int16), np.empty(n, np.int16)
    is_open = np.empty(n, dtype=bool)
    for i in range(n):
        limit, balance = float(s.limit_cny[i]), float(s.balance_cny[i])
        util[i] = balance / limit + 0.0 if limit > 0 else (balance * 0.0) / (limit + 1.0) + 0.0
        if np.isnan(limit):
            util[i] = np.nan
        income = float(s.income_cny[i])
        dsr[i] = float(s.debt_service_cny[i]) / (income if not income < 1.0 else 1.0)
        draws[i] = sum(int(x) for x in s.draws_recent[:, i])
        early[i] = sum(int(x) for x in s.early_recent[:, i])
        is_open[i] = not (s.defaulted[i] or s.closed[i] or s.closing[i])
    return {
        "utilisation": util,
        "debt_service_ratio": dsr,
        "draws_3m": draws,
        "early_repayments_3m": early,
        "is_open": is_open,
    }
