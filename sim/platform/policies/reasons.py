"""Reason codes attached to every limit change (the explanation a borrower would be shown)."""

from enum import IntEnum


class ReasonCode(IntEnum):
    """Why a borrower's limit changed this month.

    Stored as ``int8`` in the limit-change event table; ``NONE`` (0) means no change.
    Exactly one reason is recorded for each change.
    """

    NONE = 0
    DELINQUENCY = 1
    FREQUENT_DRAWS = 2
    EARLY_REPAYMENT = 3
    HIGH_RISK_TRANSACTION = 4
    LOW_SPENDING_DIVERSITY = 5
    THIN_HISTORY = 6
    PD_ABOVE_THRESHOLD = 7
    PD_BELOW_THRESHOLD = 8
    PORTFOLIO_EXPOSURE_CAP = 9
    COUNTER_CYCLICAL = 10
    STABLE_USE_INCREASE = 11
    RESTORED_AFTER_TEMPORARY_CUT = 12
    HIGH_UTILISATION_INCREASE = 13
    INACTIVE_LINE_DECREASE = 14
    PEAK_SEASON_SUPPORT = 15
    CLOSED_AT_DEFAULT = 16
    MULTI_LENDER_RISK = 17
    CLOSED_VOLUNTARY = 18  # the borrower closed a paid-off line (attrition, not default)
    CLOSED_INACTIVITY = 19  # the platform closed a dormant line (attrition, not default)
    PEAK_SUPPORT_ENDED = 20  # a temporary peak-season raise taken back after the peak


#: Reason codes that raise a limit (used to split counts into cuts and raises).
RAISE_REASONS = frozenset(
    {
        ReasonCode.PD_BELOW_THRESHOLD,
        ReasonCode.STABLE_USE_INCREASE,
        ReasonCode.RESTORED_AFTER_TEMPORARY_CUT,
        ReasonCode.HIGH_UTILISATION_INCREASE,
        ReasonCode.PEAK_SEASON_SUPPORT,
    }
)

#: Reason codes of a line's closure (default or attrition): limit changes that are not
#: the policy's decisions (left out of the per-agent cut and raise counts).
CLOSURE_REASONS = frozenset(
    {
        ReasonCode.CLOSED_AT_DEFAULT,
        ReasonCode.CLOSED_VOLUNTARY,
        ReasonCode.CLOSED_INACTIVITY,
    }
)
