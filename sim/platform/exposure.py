"""Exposure and expected loss: EAD = drawn + CCF x undrawn; EL = PD x LGD x EAD."""

from __future__ import annotations

import numpy as np


def ead_cny(balance_cny: np.ndarray, limit_cny: np.ndarray, ccf: float) -> np.ndarray:
    """Exposure at default of each line.

    Args:
        balance_cny: ``(n,)`` drawn balance, CNY >= 0.
        limit_cny: ``(n,)`` limit, CNY >= 0.
        ccf: credit conversion factor on the undrawn part, fraction in [0, 1].

    Returns:
        ``(n,)`` float64 EAD in CNY.

    References:
        EU CRR Article 111 (EU CRR Art. 111): 20 % CCF for undrawn commitments of up to
        one year, 0 % for unconditionally cancellable ones.
    """
    return balance_cny + ccf * np.maximum(limit_cny - balance_cny, 0.0)


def expected_loss_cny(pd_12m: np.ndarray, lgd: float, ead: np.ndarray) -> np.ndarray:
    """Expected loss ``PD x LGD x EAD`` per line, CNY, shape ``(n,)``."""
    return pd_12m * lgd * ead
