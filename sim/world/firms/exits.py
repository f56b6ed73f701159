"""The exit hazard of a firm: a non-financial part and a distress part, both falling with age.

A firm open at the settlement of a month closes with probability ``h = min(1,
h_nonfinancial + h_distress)`` (one uniform draw ``u_exit`` of the ``firms`` stream):

- ``h_nonfinancial = exit_hazard_monthly x a(age)`` (retirement, moves, better jobs);
- ``h_distress = a(age) x (w_buffer x max(0, 1 - buffer / low_buffer_days)
  + w_shortfall x shortfall_memory + w_unpaid x [supplier bills overdue]
  + w_default x [owner defaulted on the platform])``;
- ``a(age) = 1 + young_excess x exp(-age_months / young_decay_months)``.

The buffer is the cash buffer days measured last month (the firm's position entering the
month), the shortfall memory counts recent shortfall months (decaying), the overdue
supplier bills are those left after this month's payments. ``u_exit < h_distress`` is a
distress exit (:attr:`ClosureCause.DISTRESS`), ``h_distress <= u_exit < h`` a
non-financial one (:attr:`ClosureCause.EXIT`): the share of distress-driven exits is
read off the causes. Firms with limited buffers and irregular flows exit most (JPMorgan
Chase Institute 2019, CALIBRATION.md A6); exit rates fall with age (Knaup 2005, B1-B3).

References:
    JPMorgan Chase Institute (2019). Facing Uncertainty: Small Business Cash Flow
    Patterns in 25 U.S. Cities.
    Knaup, A. E. (2005). Survival and longevity in the Business Employment Dynamics data.
    Monthly Labor Review, May 2005.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import FirmsConfig


@dataclass(frozen=True)
class ExitModel:
    """Parameters of the exit hazard (monthly probabilities; see the module docstring).

    Attributes:
        nonfinancial: the non-financial hazard of a mature firm, in [0, 1].
        young_excess: extra hazard of a new firm, as a multiple, >= 0.
        young_decay_months: e-folding age of the young-firm excess, months, > 0.
        low_buffer_days: buffer days under which the low-buffer term is positive, > 0.
        w_buffer: distress hazard of a firm with no cash, in [0, 1].
        w_shortfall: distress hazard per recent shortfall month, in [0, 1].
        w_unpaid: distress hazard while supplier bills are overdue, in [0, 1].
        w_default: distress hazard once the owner has defaulted, in [0, 1].
    """

    nonfinancial: float
    young_excess: float = 0.0
    young_decay_months: float = 24.0
    low_buffer_days: float = 7.0
    w_buffer: float = 0.0
    w_shortfall: float = 0.0
    w_unpaid: float = 0.0
    w_default: float = 0.0

    @classmethod
    def from_config(cls, fc: FirmsConfig) -> ExitModel:
        """The exit model of the ``firms`` config."""
        return cls(
            nonfinancial=fc.exit_hazard_monthly,
            young_excess=fc.exit_young_excess,
            young_decay_months=fc.exit_young_decay_months,
            low_buffer_days=fc.exit_low_buffer_days,
            w_buffer=fc.exit_distress_low_buffer,
            w_shortfall=fc.exit_distress_shortfall,
            w_unpaid=fc.exit_distress_unpaid_suppliers,
            w_default=fc.exit_distress_owner_default,
        )

    def hazards(
        self,
        age_months: np.ndarray,
        buffer_days: np.ndarray,
        shortfall_memory: np.ndarray,
        unpaid_suppliers: np.ndarray,
        owner_defaulted: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Monthly ``(h_nonfinancial, h_distress)``, each ``(n,)``, summing to at most 1.

        Args:
            age_months: ``(n,)`` firm ages, months.
            buffer_days: ``(n,)`` cash buffer days entering the month (NaN: no outflow,
                not short of cash).
            shortfall_memory: ``(n,)`` recent shortfall months (decayed count), >= 0.
            unpaid_suppliers: ``(n,)`` bool, supplier bills overdue.
            owner_defaulted: ``(n,)`` bool, the owner has defaulted on the platform.
        """
        age = np.asarray(age_months, dtype=np.float64)
        a = 1.0 + self.young_excess * np.exp(-age / self.young_decay_months)
        days = np.asarray(buffer_days, dtype=np.float64)
        low = np.where(np.isfinite(days), np.clip(1.0 - days / self.low_buffer_days, 0.0, 1.0), 0.0)
        distress = a * (
            self.w_buffer * low
            + self.w_shortfall * np.asarray(shortfall_memory, dtype=np.float64)
            + self.w_unpaid * np.asarray(unpaid_suppliers, dtype=np.float64)
            + self.w_default * np.asarray(owner_defaulted, dtype=np.float64)
        )
        distress = np.minimum(distress, 1.0)
        nonfinancial = np.minimum(self.nonfinancial * a, 1.0 - distress)
        return nonfinancial, distress
