"""Schema of the ``book`` group (``conf/book/default.yaml``): an open, stationary book.

New applicants arrive each month and are underwritten, accounts close for non-credit
reasons, and new micro-enterprises start. Sources and assumptions: ``conf/PROVENANCE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config._checks import _prob, _rng_check
from sim.units import MAX_CONFIG_CNY


@dataclass
class BookConfig:
    """Originations, attrition and firm entry.

    Attributes:
        applicants_per_month_share: applicants arriving each month as a share of the
            lines open at the start of the run (Poisson count); 0 closes the book.
        approval_max_pd: the platform approves an applicant whose scorecard 12-month PD
            at application is at most this, in [0.01, 1] (below 1 % the screen declines
            most of the book: the PD map's knots start near 0.1-0.3 %).
        initial_limit_income_multiple: the initial limit of an approved applicant is
            ``monthly income x multiple x (1 - initial_limit_pd_haircut x PD /
            approval_max_pd)``, rounded down to 100 CNY.
        initial_limit_pd_haircut: share of the multiple withheld from an applicant at the
            approval cut-off (a linear score adjustment), in [0, 1].
        initial_limit_min_cny: the smallest line granted (an approved applicant whose
            rule gives less gets this), CNY.
        initial_limit_cap_cny: the largest initial line, CNY (>= the minimum).
        voluntary_close_prob_monthly: probability that a borrower closes an open line
            with no balance in a month.
        inactivity_close_months: the platform may close a line with no balance after
            this many months without a draw (0: never).
        inactivity_close_prob_monthly: probability that an eligible dormant line is
            closed in a month.
        firm_entry_per_month_share: new micro-enterprises each month as a share of the
            firms at the start of the run (Poisson count).
        new_firm_cash_days: opening cash of a new firm, days of its operating outflow.
    """

    applicants_per_month_share: float = 0.0057
    approval_max_pd: float = 0.015
    initial_limit_income_multiple: float = 3.0
    initial_limit_pd_haircut: float = 0.5
    initial_limit_min_cny: float = 500.0
    initial_limit_cap_cny: float = 300_000.0
    voluntary_close_prob_monthly: float = 0.005
    inactivity_close_months: int = 12
    inactivity_close_prob_monthly: float = 0.1
    firm_entry_per_month_share: float = 0.018
    new_firm_cash_days: float = 10.0

    def __post_init__(self) -> None:
        p = "book"
        _prob(
            self,
            p,
            "applicants_per_month_share",
            "initial_limit_pd_haircut",
            "voluntary_close_prob_monthly",
            "inactivity_close_prob_monthly",
            "firm_entry_per_month_share",
        )
        _rng_check(
            self,
            p,
            {
                "approval_max_pd": (0.01, 1.0),
                "initial_limit_income_multiple": (0.0, 1000.0),
                "initial_limit_min_cny": (0.0, MAX_CONFIG_CNY),
                "initial_limit_cap_cny": (0.0, MAX_CONFIG_CNY),
                "inactivity_close_months": (0, 1200),
                "new_firm_cash_days": (0.0, 3650.0),
            },
        )
        if self.initial_limit_min_cny > self.initial_limit_cap_cny:
            raise ValueError(
                f"book.initial_limit_min_cny ({self.initial_limit_min_cny}) must be <= "
                f"book.initial_limit_cap_cny ({self.initial_limit_cap_cny})"
            )
