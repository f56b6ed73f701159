"""The platform's PD model: a WoE logistic scorecard fitted on the UCI card data (M11).

Every month the platform re-scores each borrower from six behavioural features that
the simulator computes from its own state exactly as they are computed from the UCI
columns (see :data:`FEATURE_NAMES` and the table below). The scorecard
(:func:`fit_scorecard`) bins each feature with ``optbinning`` (optimal binning whose
default rate is monotone in the feature), replaces values by their bin's weight of
evidence and fits scikit-learn's ``LogisticRegression`` on them: a points table
(:meth:`Scorecard.points_table`), monotone per feature. It is fitted on the UCI
*default of credit card clients* data (Taiwan, 2005), where the target is default on
the **next month's** payment. Two consequences for users:

- the fitted probability is a **1-month** PD on a **high-risk** book (22.12 % of the
  UCI accounts default next month), so its level is not that of the simulated book;
- the platform therefore keeps the ranking (the log-odds) and maps it to its own
  12-month PD with a monotone (isotonic) map estimated on its own realised 12-month
  defaults (``platform.pd_calibration: isotonic``, :mod:`sim.empirical.pd_calibration`),
  or with an intercept shift (:func:`shift_to_mean_pd`) to the central tendency
  ``central_tendency_pd_12m`` (``platform.pd_calibration: central_tendency``).

Hold-out AUC on the UCI data (stratified 30 % hold-out, seed :data:`DEFAULT_SEED`): about
0.750. For comparison on the same split: monotone WoE logistic regression on all 23 UCI
columns 0.758, a gradient-boosted classifier on all 23 columns 0.773; the six features
a borrower's state gives are what the simulator can score honestly.

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
``delinquent_months_6m`` number of ``PAY_0, PAY_2..PAY_6`` >= 1     months with a missed
                                                                    payment in the last 6
``age_years``            ``AGE``                                    age in years
======================== ========================================== =========================

Once the other features are known, ``payment_ratio`` carries almost no weight (its
points span under 0.01 log-odds) and paying in full *raises* the score: in the UCI book
accounts with ``PAY_0`` in (-2, -1) default more often than current revolvers (16.8 % and
13.2 % against 12.8 %, CALIBRATION.md E1).

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for
    the predictive accuracy of probability of default of credit card clients.
    Expert Systems with Applications, 36(2), 2473-2480.
    doi:10.1016/j.eswa.2007.12.020. Data: UCI Machine Learning Repository,
    "default of credit card clients", licence CC BY 4.0.
    Navas-Palencia, G. (2020). Optimal binning: mathematical programming formulation.
    arXiv:2001.08025 (optbinning).
"""

from sim.platform.scorecard.features import (
    FEATURE_NAMES,
    PAYMENT_HISTORY_MONTHS,
    SEGMENT_NAMES,
    STATEMENT_HISTORY_MONTHS,
    TARGET_COLUMN,
    feature_columns_from_state,
    features_from_state,
    segment_of,
    uci_features,
)
from sim.platform.scorecard.fitting import (
    DEFAULT_CARD_PATH,
    DEFAULT_SEED,
    cross_validated_auc,
    fit_default_scorecard,
    fit_scorecard,
    fit_segmented,
    holdout_mask,
    write_default_scorecard,
)
from sim.platform.scorecard.model import Scorecard
from sim.platform.scorecard.segmented import SegmentedScorecard
from sim.platform.scorecard.validation import auc, calibration_table, shift_to_mean_pd

PDModel = Scorecard | SegmentedScorecard
"""Either form of the platform's PD model: both give ``log_odds_columns``."""

__all__ = [
    "DEFAULT_CARD_PATH",
    "DEFAULT_SEED",
    "FEATURE_NAMES",
    "PAYMENT_HISTORY_MONTHS",
    "PDModel",
    "SEGMENT_NAMES",
    "STATEMENT_HISTORY_MONTHS",
    "TARGET_COLUMN",
    "Scorecard",
    "SegmentedScorecard",
    "auc",
    "calibration_table",
    "cross_validated_auc",
    "feature_columns_from_state",
    "features_from_state",
    "fit_default_scorecard",
    "fit_scorecard",
    "fit_segmented",
    "holdout_mask",
    "segment_of",
    "shift_to_mean_pd",
    "uci_features",
    "write_default_scorecard",
]
