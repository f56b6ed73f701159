"""Method-of-simulated-moments calibration of ``uci_2005`` on April-July 2005 (issue #6).

The behavioural parameters that drive delinquency dynamics are fitted so that the
simulator, started from the UCI accounts' state **as of May** and run through June and
July, reproduces the data's moments of those months. August, September and the October
default are never used here: they are the out-of-sample validation
(:mod:`sim.empirical.validation`).

Why start as of May (not April): behaviour types are classified from the months of
history up to the start (no look-ahead), and the validation starts as of July with the
``behaviour_window_months`` (2) months June-July. Starting the fit as of May with April-May
keeps the meaning of every type (in particular "delinquent-prone") the same in the fit
and in the validation; a fit typed on April-July would label every account that becomes
delinquent in May-July as delinquent-prone in advance, and the fitted skip rates would
not carry over.

Method
------
For parameters ``theta`` the objective is the weighted distance

    Q(theta) = sum_k w_k (m_k(theta) - m_k^data)^2,   w_k = 1 / Var(m_k^data),

a diagonal weight matrix of inverse sampling variances of the data moments (binomial for
shares and transition rates, var / n for means:
:func:`sim.empirical.validation.panel_statistics`).
Simulated moments use one seed for every evaluation (common random numbers), so ``Q`` is
a deterministic function of ``theta``. ``Q`` is minimised with ``scipy.optimize.minimize``
(Nelder-Mead on the parameters rescaled to [0, 1], with bounds, a fixed evaluation
budget). The fitted moments are then re-simulated over several seeds for the table.

The moments (``stat`` names of :func:`sim.empirical.validation.panel_statistics`) and the
parameters with their bounds are listed in the ``calibration`` section of
``conf/validation/uci_2005.yaml``.

References:
    McFadden, D. (1989). A method of simulated moments for estimation of discrete
    response models without numerical integration. Econometrica, 57(5), 995-1026.
    Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data).
"""

from sim.empirical.calibration.config import (
    CalibrationConfig,
    ParameterSpec,
    calibration_config_from_dict,
    check_parameter_values,
    get_parameter,
    set_parameter,
)
from sim.empirical.calibration.fit import CalibrationResult, calibrate
from sim.empirical.calibration.moments import data_moments, msm_standard_errors, objective_value

__all__ = [
    "CalibrationConfig",
    "CalibrationResult",
    "ParameterSpec",
    "calibrate",
    "check_parameter_values",
    "calibration_config_from_dict",
    "data_moments",
    "get_parameter",
    "msm_standard_errors",
    "objective_value",
    "set_parameter",
]
