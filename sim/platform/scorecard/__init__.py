"""The platform's PD model: a logistic scorecard fitted on the UCI card data (mechanism M11).

Every month the platform re-scores each borrower from six behavioural features that
the simulator can compute from its own state (see :data:`FEATURE_NAMES`). The
scorecard is an L2-regularised logistic regression on standardised features, fitted
on the UCI *default of credit card clients* data (Taiwan, 2005), where the target is
default on the **next month's** payment. Two consequences for users:

- the fitted probability is a **1-month** PD on a **high-risk** book (22.12 % of the
  UCI accounts default next month), so its level is not that of the simulated book;
- the platform therefore keeps the ranking (the coefficients) and re-levels the
  intercept with :func:`shift_to_mean_pd` so that the mean PD over its own book equals
  a 12-month target (calibration to central tendency), e.g. about 1 % for a
  Jiebei-like book.

Feature definitions (UCI column -> simulator state):

======================== ========================================== =========================
feature                  from the UCI data                          from the simulator
======================== ========================================== =========================
``months_late``          ``clip(PAY_0, 0, 3)``                      consecutive missed
                                                                    payments, 0..3
``paid_in_full``         1 if ``PAY_0`` in (-2, -1) else 0          last statement paid in
                                                                    full, or no balance
``utilisation``          ``clip(BILL_AMT1 / LIMIT_BAL, 0, 1.5)``    balance / limit
``payment_ratio``        ``clip(PAY_AMT1 / BILL_AMT2, 0, 1)``;      share of last month's
                         1.0 where ``BILL_AMT2 <= 0``               bill paid
``delinquent_months_6m`` number of ``PAY_0, PAY_2..PAY_6`` >= 1     months with any delay in
                                                                    the last 6
``age_under_30``         1 if ``AGE`` < 30 else 0                   age in years < 30
======================== ========================================== =========================

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for
    the predictive accuracy of probability of default of credit card clients.
    Expert Systems with Applications, 36(2), 2473-2480.
    doi:10.1016/j.eswa.2007.12.020. Data: UCI Machine Learning Repository,
    "default of credit card clients", licence CC BY 4.0.
"""

from sim.platform.scorecard.features import (
    FEATURE_NAMES,
    TARGET_COLUMN,
    feature_columns_from_state,
    features_from_state,
    uci_features,
)
from sim.platform.scorecard.fitting import (
    DEFAULT_SEED,
    fit_default_scorecard,
    fit_scorecard,
    holdout_mask,
)
from sim.platform.scorecard.model import Scorecard
from sim.platform.scorecard.validation import auc, calibration_table, shift_to_mean_pd

__all__ = [
    "DEFAULT_SEED",
    "FEATURE_NAMES",
    "TARGET_COLUMN",
    "Scorecard",
    "auc",
    "calibration_table",
    "feature_columns_from_state",
    "features_from_state",
    "fit_default_scorecard",
    "fit_scorecard",
    "holdout_mask",
    "shift_to_mean_pd",
    "uci_features",
]
