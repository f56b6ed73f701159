"""Validation of the simulator against the UCI card data, out of sample in time (issue #6).

The UCI *default of credit card clients* data follow 30,000 Taiwanese card accounts from
April to September 2005 (repayment status, bill and payment each month) and flag default
on the October payment. The ``uci_2005`` calibration is fitted on April-July only
(:mod:`sim.empirical.calibration`); here the simulator starts from the accounts' state
**as of July** (``population.start_state = uci_july``), simulates August, September and
the October payment, and its outcomes are compared with what the same accounts did.

Status groups
-------------
The repayment-status codes are not coded consistently across months (data README: in
``PAY_2`` .. ``PAY_6`` the code 1 almost never occurs, and a first missed payment moves an
account from 0 straight to 2). Comparisons therefore use three groups whose coding is
consistent, defined from a month's status code and that month's bill:

====== ================================= =========================================
group  UCI month (code, bill)            simulator (state after the month)
====== ================================= =========================================
``P``  code -2 / -1 (paid in full, no    not behind and ``paid_in_full`` (the last
       use), or any code with a bill     statement was paid in full, or nothing
       <= 0 (nothing owed)               was due)
``R``  code 0 with a bill > 0            not behind, last statement not paid in full
       (revolving, minimum paid)         (a balance carried)
``D``  code >= 1 with a bill > 0         ``missed >= 1`` (30+ DPD) or defaulted
       (behind)                          (90+ DPD, line closed)
====== ================================= =========================================

September is the only month with a real 1-month code. Of its 3,688 code-1 accounts
about 1,700 owe nothing (bill <= 0; they were -2/-1 in August) and fall in ``P`` by the
rule above; the rest were mostly 2 in August and are partial cures: in September no
account moves from 2 to 0, while in the earlier months about 21 % do. Code 1 with a
balance is therefore ambiguous between ``R`` and ``D``. The main reading puts it in
``D``; every statistic that depends on it is also computed with the other reading
(``observed_alt``: code 1 -> ``R``), and its check passes if the simulated value lies
within the two readings widened by the tolerance.

October default
---------------
The simulator's October default is **any missed October minimum payment** (the payment
due on the September statement), or a line already in default (90+ DPD, closed) by
October, which pays nothing. The data's "default payment next month" flag is not only
that: accounts with nothing billed for October (September bill <= 0) are flagged at 25 %
and accounts never billed in the six months at 36 %, while current accounts fall behind
at 3-6 % a month (:mod:`sim.empirical.validation.flag` computes this from the data). The
flag's level is therefore a target only for accounts behind in September; the levels and
gradients of risk by limit decile and age band are checked on the payment status the data
observe (``behind <month> by ...``), and the account-level AUC on being behind in
September. The flag's other levels are reported beside the simulated rates.

Reading the results
-------------------
Every statistic is computed by the same function from an observed panel (the UCI rows)
and from simulated panels (one per seed); the simulated book resamples the UCI rows
(30,000 by default, the data's size), so the spread over seeds covers resampling and
simulation noise of a book of the data's size. Each row of the results gives the
observed value, the simulated mean, the percentile interval over seeds and the error in
percentage points; targets (tolerances in pp) come from ``conf/validation/*.yaml``.

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for the
    predictive accuracy of probability of default of credit card clients. Expert Systems
    with Applications, 36(2), 2473-2480. doi:10.1016/j.eswa.2007.12.020 (data, CC BY 4.0).
"""

from sim.empirical.validation.config import (
    Explanation,
    PDCalibrationCheck,
    ScorecardCheck,
    TargetSpec,
    ValidationConfig,
    reduced_size_note,
    validation_config_from_dict,
)
from sim.empirical.validation.panel import (
    CALENDAR,
    GROUP_LABELS,
    GROUP_NAMES,
    Panel,
    months_after,
    observed_panel,
    simulate_panel,
    state_status_group,
    uci_status_group,
)
from sim.empirical.validation.pd_check import pd_calibration_check, pd_calibration_lines
from sim.empirical.validation.report import bars_input, display_table, write_validation_report
from sim.empirical.validation.run import (
    ValidationResult,
    build_run_config,
    run_validation,
    validation_run_config,
)
from sim.empirical.validation.statistics import (
    AGE_BAND_EDGES,
    AGE_BAND_LABELS,
    account_level,
    age_band,
    check_targets,
    limit_decile,
    panel_statistics,
    scorecard_check,
    summarise_seeds,
    transition_matrix,
)

__all__ = [
    "AGE_BAND_EDGES",
    "AGE_BAND_LABELS",
    "CALENDAR",
    "GROUP_LABELS",
    "Explanation",
    "GROUP_NAMES",
    "PDCalibrationCheck",
    "Panel",
    "ScorecardCheck",
    "TargetSpec",
    "ValidationConfig",
    "ValidationResult",
    "account_level",
    "age_band",
    "bars_input",
    "build_run_config",
    "check_targets",
    "display_table",
    "limit_decile",
    "months_after",
    "observed_panel",
    "panel_statistics",
    "pd_calibration_check",
    "pd_calibration_lines",
    "reduced_size_note",
    "run_validation",
    "scorecard_check",
    "simulate_panel",
    "state_status_group",
    "summarise_seeds",
    "transition_matrix",
    "uci_status_group",
    "validation_config_from_dict",
    "validation_run_config",
    "write_validation_report",
]
