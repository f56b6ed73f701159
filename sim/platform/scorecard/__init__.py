"""The platform's PD model: a segmented WoE logistic scorecard fitted on the UCI card data (M11).

Every month the platform re-scores each borrower from seven behavioural features that
the simulator computes from its own state exactly as they are computed from the UCI
columns (:data:`FEATURE_NAMES`, the table below; for accounts started from a UCI row the
two agree to 1e-6, ``tests/platform/test_scorecard_state.py``). The book is cut into three
delinquency segments (:func:`segment_of`): ``clean_6m`` (no missed payment in 6 months),
``delinquent_6m`` (a missed payment in 6 months, at most 30 DPD now) and ``dpd_60_plus``
(60+ DPD now). In each segment (:func:`fit_scorecard`) every feature is binned by
``optbinning`` (optimal binning whose default rate is monotone in the feature), values are
replaced by their bin's weight of evidence and scikit-learn's ``LogisticRegression`` is
fitted on them; a feature whose coefficient would run against its own trend is dropped.
The result is a points table per segment (:meth:`SegmentedScorecard.points_table`),
monotone in every feature. It is fitted on the UCI *default of credit card clients* data
(Taiwan, 2005), where the target is default on the **next month's** payment. Two
consequences for users:

- the fitted probability is a **1-month** PD on a **high-risk** book (22.12 % of the
  UCI accounts default next month), so its level is not that of the simulated book;
- the platform therefore keeps the ranking (the log-odds) and maps it to its own
  12-month PD with a monotone (isotonic) map estimated on its own realised 12-month
  defaults (``platform.pd_calibration: isotonic``, :mod:`sim.empirical.pd_calibration`),
  or with an intercept shift (:func:`shift_to_mean_pd`) to the central tendency
  ``central_tendency_pd_12m`` (``platform.pd_calibration: central_tendency``);
- by default (``platform.pd_calibration: behavioural``) the book's lines also carry
  log-odds terms for their utilisation band and arrears (:mod:`.behaviour`), mapped by a
  second isotonic map, so that the expected loss follows the exposure of the lines that
  default; applicants keep the map of the log-odds alone.

Hold-out AUC on the UCI data (stratified 30 % hold-out, seed :data:`DEFAULT_SEED`, the same
split as before): 0.771; stratified 5-fold cross-validation 0.778 (folds 0.768-0.786:
:func:`cross_validated_auc`). The earlier single card on six features gave 0.750 on the
split (CV 0.753); a gradient-boosted classifier on all 23 UCI columns 0.773. In the
simulator the same card with the platform's own terms ranks the default open book's
12-month defaults at AUC 0.75 (0.79 with the earlier card): the simulated book's defaults
follow utilisation and debt service more, and account size less, than the UCI book's.

Feature definitions (UCI column -> simulator state; money in NT$, the simulator's CNY
divided by the population's ``cny_per_twd x limit_scale``; months 1 = September back):

======================== =========================================== ======================
feature                  from the UCI data                           from the simulator
======================== =========================================== ======================
``months_late``          ``clip(PAY_0, 0, 3)``                       consecutive missed
                                                                     payments
``delinquent_months_6m`` number of ``PAY_0, PAY_2..PAY_6`` >= 1      months with a missed
                                                                     payment in the last 6
``payment_ratio_min_3m`` least of ``PAY_AMTk / BILL_AMT(k+1)``,      least
                         k = 1..3, clipped to 0..1 (1 with no bill)  ``payment_ratio`` of
                                                                     the last 3 months
``utilisation_3m``       mean ``BILL_AMT1..3`` / ``LIMIT_BAL``,      mean billed amount of
                         clipped to 0..1.5                           3 months / limit
``log_headroom_twd``     ``log(1 + max(LIMIT_BAL - BILL_AMT1, 0))``  limit - billed amount
``log_headroom_3m_twd``  ``log(1 + max(LIMIT_BAL - mean bill, 0))``  limit - mean billed
                                                                     amount of 3 months
``log_payment_5m_twd``   ``log(1 + mean PAY_AMT1..5)``               mean amount paid in
                                                                     the last 5 months
======================== =========================================== ======================

Bills below 0 count as 0. The simulator's *billed amount* is the statement balance plus the
draws repaid within the month (a card bill's purchases paid before the statement date) and
its *amount paid* the payment towards the statement plus those same-month repayments, so a
transactor bills and pays its spending as a UCI transactor does
(:meth:`sim.world.borrowers.BorrowerState.record_history` keeps the ring buffers).

The points (log-odds; ``python -c "from sim.platform.scorecard import fit_default_scorecard;
print(fit_default_scorecard().points_table())"`` prints every bin): base log-odds -2.05,
-0.78 and +0.84 by segment. In ``clean_6m`` risk falls with the mean payment (+0.45 under
NT$ 400 a month to -0.59 above NT$ 22,500), with headroom now (+0.32 to -0.44) and over 3
months (+0.32 to -0.36) and with the least payment ratio (+0.33 when a month paid under
2.8 % of the bill); a nearly idle line (3-month utilisation under 0.2 %) scores +0.71
against -0.16 above 1.6 %: the UCI book's idle accounts default more often than its
revolvers (the data side of mechanism M2). In ``delinquent_6m`` the delinquent months
weigh most (-0.25 for one to +0.71 for six), then the mean payment (+0.39 to -0.86) and the
3-month headroom; 30 DPD now adds 0.09. In ``dpd_60_plus`` a month that paid over 27 % of
the bill takes -1.04 and the mean payment +0.39 to -0.25. Features left in one bin (no
points) in a segment: the delinquency counts in ``clean_6m``; utilisation and headroom now
in ``delinquent_6m``; months late in ``dpd_60_plus``.

References:
    Yeh, I. C., & Lien, C. H. (2009). The comparisons of data mining techniques for
    the predictive accuracy of probability of default of credit card clients.
    Expert Systems with Applications, 36(2), 2473-2480.
    doi:10.1016/j.eswa.2007.12.020. Data: UCI Machine Learning Repository,
    "default of credit card clients", licence CC BY 4.0.
    Navas-Palencia, G. (2020). Optimal binning: mathematical programming formulation.
    arXiv:2001.08025 (optbinning).
    Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed., Wiley, ch. 6
    (segmentation) and ch. 10 (WoE binning and points).
"""

from sim.platform.scorecard.behaviour import (
    DPD_STATES,
    behaviour_categories,
    behaviour_log_odds,
    book_behaviour_log_odds,
    utilisation_bands,
)
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
    "DPD_STATES",
    "FEATURE_NAMES",
    "PAYMENT_HISTORY_MONTHS",
    "PDModel",
    "SEGMENT_NAMES",
    "STATEMENT_HISTORY_MONTHS",
    "TARGET_COLUMN",
    "Scorecard",
    "SegmentedScorecard",
    "auc",
    "behaviour_categories",
    "behaviour_log_odds",
    "book_behaviour_log_odds",
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
    "utilisation_bands",
    "write_default_scorecard",
]
