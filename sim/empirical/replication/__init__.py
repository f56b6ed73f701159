"""Virtual experiments that replicate published limit-change designs (issues 17 and 18).

Paired runs under common random numbers: each arm's policy is ``static`` except for the
experiment's change, and every arm is compared with ``static`` under the same seed.

- (a) randomised limit increases (+10, +20, +50 %) of half of the open lines at one
  month: Δdebt/Δlimit at several horizons, overall, by utilisation band and PD quantile
  (Gross & Souleles 2002, CALIBRATION.md F1; Agarwal et al. 2018, F2);
- (b) the same with a decrease (-20 %), and what it did to the cut borrowers'
  all-lender borrowing, cost, unmet need and default;
- (c) a household cut of 75 % (CFPB median, I2) for prime vs subprime borrowers;
- (d) the pre-peak cut of sole traders (zero headroom, and -50 %): treated firms and owners.

Entry points: :func:`run_replication` (``python -m experiments.replicate``),
:func:`write_replication_report`, and :func:`replication_section` (a Markdown section for
the validation report).
"""

from sim.empirical.replication.config import (
    EXPERIMENTS,
    ReplicationConfig,
    load_replication_config,
    replication_config_from_dict,
)
from sim.empirical.replication.estimates import mpb
from sim.empirical.replication.policies import OneTimeLimitChange, PrePeakCut, assignment_draw
from sim.empirical.replication.report import (
    check_targets,
    replication_section,
    write_replication_report,
)
from sim.empirical.replication.run import ReplicationResult, run_replication, summarise
from sim.empirical.replication.trace import Snapshot, Trace, run_arm

__all__ = [
    "EXPERIMENTS",
    "OneTimeLimitChange",
    "PrePeakCut",
    "ReplicationConfig",
    "ReplicationResult",
    "Snapshot",
    "Trace",
    "assignment_draw",
    "check_targets",
    "load_replication_config",
    "mpb",
    "replication_config_from_dict",
    "replication_section",
    "run_arm",
    "run_replication",
    "summarise",
    "write_replication_report",
]
