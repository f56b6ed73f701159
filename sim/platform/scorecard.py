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

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sim.world.data import load_uci

__all__ = [
    "DEFAULT_SEED",
    "FEATURE_NAMES",
    "TARGET_COLUMN",
    "Scorecard",
    "auc",
    "calibration_table",
    "features_from_state",
    "fit_default_scorecard",
    "fit_scorecard",
    "holdout_mask",
    "shift_to_mean_pd",
    "uci_features",
]

FEATURE_NAMES: tuple[str, ...] = (
    "months_late",
    "paid_in_full",
    "utilisation",
    "payment_ratio",
    "delinquent_months_6m",
    "age_under_30",
)
"""Scorecard features, in the column order of every feature matrix."""

TARGET_COLUMN = "default payment next month"
"""UCI column with the target: 1 = defaulted on the October 2005 payment."""

DEFAULT_SEED = 20050901
"""Seed of the train / hold-out split used by :func:`fit_default_scorecard`."""

_PAY_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
_MAX_MONTHS_LATE = 3.0
_MAX_UTILISATION = 1.5
_AGE_YOUNG = 30.0


# --------------------------------------------------------------------------- features


def uci_features(df: pd.DataFrame) -> np.ndarray:
    """Compute the scorecard features from UCI rows (as returned by :func:`sim.outputs.files.load_uci`).

    Args:
        df: UCI table with at least ``LIMIT_BAL``, ``AGE``, ``PAY_0``, ``PAY_2`` ..
            ``PAY_6``, ``BILL_AMT1``, ``BILL_AMT2`` and ``PAY_AMT1`` (money in NT$,
            ``LIMIT_BAL`` > 0).

    Returns:
        Feature matrix, shape ``(n_rows, 6)``, float64, columns in the order of
        :data:`FEATURE_NAMES` (definitions in the module docstring).

    Raises:
        KeyError: if a needed column is absent (the message lists them).
        ValueError: if a ``LIMIT_BAL`` is not positive.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data and column coding).
    """
    needed = ["LIMIT_BAL", "AGE", *_PAY_COLUMNS, "BILL_AMT1", "BILL_AMT2", "PAY_AMT1"]
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise KeyError(f"uci_features: missing column(s) {absent}")
    limit = df["LIMIT_BAL"].to_numpy(dtype=float)
    if np.any(limit <= 0):
        raise ValueError("uci_features: LIMIT_BAL must be > 0 in every row")
    pay = df[list(_PAY_COLUMNS)].to_numpy(dtype=float)
    pay_0 = pay[:, 0]
    prev_bill = df["BILL_AMT2"].to_numpy(dtype=float)
    paid = df["PAY_AMT1"].to_numpy(dtype=float)
    has_bill = prev_bill > 0
    payment_ratio = np.ones_like(prev_bill)
    np.divide(paid, prev_bill, out=payment_ratio, where=has_bill)
    return features_from_state(
        months_late=pay_0,
        paid_in_full=np.isin(pay_0, (-2.0, -1.0)),
        utilisation=df["BILL_AMT1"].to_numpy(dtype=float) / limit,
        payment_ratio=payment_ratio,
        delinquent_months_6m=(pay >= 1).sum(axis=1),
        age_years=df["AGE"].to_numpy(dtype=float),
    )


def features_from_state(
    months_late: np.ndarray,
    paid_in_full: np.ndarray,
    utilisation: np.ndarray,
    payment_ratio: np.ndarray,
    delinquent_months_6m: np.ndarray,
    age_years: np.ndarray,
) -> np.ndarray:
    """Build the scorecard feature matrix from simulator state, with the UCI clipping rules.

    All arguments are ``(n_borrowers,)`` arrays of the same length (any real or bool
    dtype). Clipping: ``months_late`` to 0..3, ``utilisation`` to 0..1.5,
    ``payment_ratio`` to 0..1, ``delinquent_months_6m`` to 0..6; ``paid_in_full`` is
    read as true where non-zero; ``age_under_30`` is ``age_years < 30``.

    Args:
        months_late: consecutive missed minimum payments (0 = current); DPD / 30.
        paid_in_full: last statement paid in full, or no balance to pay (bool or 0/1).
        utilisation: drawn balance / credit limit, fraction.
        payment_ratio: payment made this month / last month's statement balance,
            fraction. The caller passes 1.0 where last month's balance was <= 0 (the
            UCI rule).
        delinquent_months_6m: number of the last 6 months with any payment delay.
        age_years: borrower age in years.

    Returns:
        Feature matrix, shape ``(n_borrowers, 6)``, float64, columns in the order of
        :data:`FEATURE_NAMES`.

    Raises:
        ValueError: if an argument is not one-dimensional, the lengths differ, or a
            value is NaN or infinite (the argument is named).
    """
    return np.column_stack(
        [
            col.astype(np.float64)
            for col in feature_columns_from_state(
                months_late,
                paid_in_full,
                utilisation,
                payment_ratio,
                delinquent_months_6m,
                age_years,
            )
        ]
    )


def feature_columns_from_state(
    months_late: np.ndarray,
    paid_in_full: np.ndarray,
    utilisation: np.ndarray,
    payment_ratio: np.ndarray,
    delinquent_months_6m: np.ndarray,
    age_years: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The six feature columns of :func:`features_from_state`, without stacking them.

    The monthly re-scoring of every borrower uses this with
    :meth:`Scorecard.log_odds_columns`, which avoids building an ``(n, 6)`` matrix. Integer
    and bool inputs stay integer / bool (they are exact and always finite), so a million
    rows are not converted to float64 only to be multiplied by a coefficient.

    Returns:
        Six ``(n_borrowers,)`` numeric arrays in :data:`FEATURE_NAMES` order: float64 for
        float inputs, the input's integer type for integer counts, bool for the flags;
        their values equal the float64 features.

    Raises:
        ValueError: as :func:`features_from_state`.
    """
    raw = {
        "months_late": months_late,
        "paid_in_full": paid_in_full,
        "utilisation": utilisation,
        "payment_ratio": payment_ratio,
        "delinquent_months_6m": delinquent_months_6m,
        "age_years": age_years,
    }
    arrays: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biu":
            arr = arr.astype(float, copy=False)
        if arr.ndim != 1:
            raise ValueError(f"features_from_state: {name} must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind == "f" and not np.isfinite(arr.sum()):
            raise ValueError(f"features_from_state: {name} contains NaN or infinite values")
        arrays[name] = arr
    lengths = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"features_from_state: arguments differ in length: {lengths}")
    return (
        _clip(arrays["months_late"], _MAX_MONTHS_LATE),
        arrays["paid_in_full"] != 0,
        _clip(arrays["utilisation"], _MAX_UTILISATION),
        _clip(arrays["payment_ratio"], 1.0),
        _clip(arrays["delinquent_months_6m"], 6.0),
        arrays["age_years"] < _AGE_YOUNG,
    )


def _clip(arr: np.ndarray, high: float) -> np.ndarray:
    """``arr`` clipped to ``[0, high]``; integer arrays stay integer (``high`` is whole)."""
    if arr.dtype.kind == "f":
        return np.clip(arr, 0.0, high)
    return np.clip(arr, 0, int(high))


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class Scorecard:
    """A fitted logistic scorecard: log-odds = intercept + coef . standardised features.

    Features are standardised inside the model, ``z = (X - feature_mean) / feature_std``,
    so ``coef`` is the change in log-odds per one standard deviation of each feature
    (comparable across features); :attr:`coef_per_unit` gives it per unit.
    The arrays are stored read-only.

    Attributes:
        coef: coefficients on standardised features, shape ``(6,)``, float64.
        intercept: log-odds of a borrower with every feature at its training mean.
        feature_names: names of the feature columns, :data:`FEATURE_NAMES`.
        feature_mean: training mean of each feature, shape ``(6,)``, float64.
        feature_std: training standard deviation of each feature (1.0 where a
            feature is constant), shape ``(6,)``, float64.
        holdout_auc: area under the ROC curve on the hold-out rows, in [0, 1].
        train_rows: number of rows used to fit.
        holdout_rows: number of rows held out for validation.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (training data).
    """

    coef: np.ndarray
    intercept: float
    feature_names: tuple[str, ...] = FEATURE_NAMES
    feature_mean: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURE_NAMES)))
    feature_std: np.ndarray = field(default_factory=lambda: np.ones(len(FEATURE_NAMES)))
    holdout_auc: float = float("nan")
    train_rows: int = 0
    holdout_rows: int = 0

    def __post_init__(self) -> None:
        k = len(self.feature_names)
        for name in ("coef", "feature_mean", "feature_std"):
            arr = np.array(getattr(self, name), dtype=float)  # a private copy
            if arr.shape != (k,):
                raise ValueError(f"Scorecard: {name} must have shape ({k},), got {arr.shape}")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if np.any(self.feature_std <= 0):
            raise ValueError("Scorecard: feature_std must be > 0")
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "intercept", float(self.intercept))

    @property
    def coef_per_unit(self) -> np.ndarray:
        """Coefficients per unit of each raw feature, ``coef / feature_std``, shape ``(6,)``."""
        return self.coef / self.feature_std

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of default for each row of a feature matrix.

        Args:
            X: features, shape ``(n, 6)``, columns in :attr:`feature_names` order (from
                :func:`uci_features` or :func:`features_from_state`).

        Returns:
            Log-odds of next-month default on the UCI scale, shape ``(n,)``, float64.

        Raises:
            ValueError: if ``X`` does not have shape ``(n, 6)``.
        """
        X = np.asarray(X, dtype=float)
        k = len(self.feature_names)
        if X.ndim != 2 or X.shape[1] != k:
            raise ValueError(f"Scorecard: X must have shape (n, {k}), got {X.shape}")
        return self.intercept + ((X - self.feature_mean) / self.feature_std) @ self.coef

    def log_odds_columns(self, columns: tuple[np.ndarray, ...]) -> np.ndarray:
        """Log-odds from the six feature columns (:func:`feature_columns_from_state`).

        Equal to :meth:`log_odds` of the stacked matrix, computed column by column.

        Args:
            columns: six ``(n,)`` arrays in :attr:`feature_names` order.

        Returns:
            ``(n,)`` float64 log-odds on the UCI scale.

        Raises:
            ValueError: not exactly six columns.
        """
        if len(columns) != len(self.feature_names):
            raise ValueError(
                f"Scorecard: expected {len(self.feature_names)} columns, got {len(columns)}"
            )
        per_unit = self.coef_per_unit
        out = np.full(columns[0].shape, self.intercept - float(per_unit @ self.feature_mean))
        for w, col in zip(per_unit, columns, strict=True):
            out += w * col
        return out

    def predict_pd(self, X: np.ndarray, intercept_shift: float = 0.0) -> np.ndarray:
        """Probability of default for each row, optionally re-levelled.

        Args:
            X: features, shape ``(n, 6)``, as for :meth:`log_odds`.
            intercept_shift: added to every log-odds before the logistic function;
                0.0 gives the UCI next-month PD, the value from
                :func:`shift_to_mean_pd` gives a PD levelled to the platform's book.

        Returns:
            PD, shape ``(n,)``, float64 in [0, 1].

        Raises:
            ValueError: if ``X`` does not have shape ``(n, 6)``.
        """
        return special.expit(self.log_odds(X) + intercept_shift)


def holdout_mask(y: np.ndarray, holdout_share: float, seed: int) -> np.ndarray:
    """Stratified random split: mark a share of each class as hold-out.

    Within each class (0 and 1) the rows are shuffled with
    ``np.random.default_rng(seed)`` and the first ``round(holdout_share * n_class)``
    become hold-out, so both parts keep the overall default rate.

    Args:
        y: target, shape ``(n,)``, values 0/1.
        holdout_share: fraction of rows to hold out, in (0, 1).
        seed: seed of the shuffle.

    Returns:
        Boolean mask, shape ``(n,)``, True for hold-out rows.

    Raises:
        ValueError: if ``holdout_share`` is not in (0, 1).
    """
    if not 0.0 < holdout_share < 1.0:
        raise ValueError(f"holdout_share must be in (0, 1), got {holdout_share}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    mask = np.zeros(y.shape[0], dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        mask[idx[: round(holdout_share * idx.size)]] = True
    return mask


def _penalised_loss(
    params: np.ndarray, Z: np.ndarray, y: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Mean logistic loss + l2/2 * |coef|^2 (intercept unpenalised) and its gradient."""
    b0, w = params[0], params[1:]
    eta = b0 + Z @ w
    loss = np.mean(np.logaddexp(0.0, eta) - y * eta) + 0.5 * l2 * (w @ w)
    resid = (special.expit(eta) - y) / y.size
    grad = np.concatenate(([resid.sum()], Z.T @ resid + l2 * w))
    return float(loss), grad


def fit_scorecard(
    df: pd.DataFrame,
    *,
    holdout_share: float = 0.3,
    l2: float = 1e-3,
    seed: int = DEFAULT_SEED,
) -> Scorecard:
    """Fit the logistic scorecard on UCI rows and validate it on a hold-out.

    The target is ``default payment next month``: the model predicts default on the
    next monthly payment, on the UCI book (Taiwan card holders in 2005, 22.12 %
    next-month default). That is a **1-month horizon on a high-risk book**: use the
    ranking as is, and re-level it with :func:`shift_to_mean_pd` before reading the
    output as a 12-month PD of another book.

    Rows are split with :func:`holdout_mask` (stratified by the target). On the
    training rows the features are standardised and the penalised mean log-loss
    ``mean(log(1 + exp(eta)) - y * eta) + l2 / 2 * |coef|^2`` is minimised with
    L-BFGS-B and its analytic gradient (the intercept is not penalised). The hold-out
    AUC is computed with :func:`auc`.

    Args:
        df: UCI table (as from :func:`sim.outputs.files.load_uci`), with the feature columns and
            ``default payment next month``.
        holdout_share: fraction of rows held out for validation, in (0, 1).
        l2: ridge penalty on the standardised coefficients, >= 0.
        seed: seed of the train / hold-out split.

    Returns:
        The fitted :class:`Scorecard`.

    Raises:
        KeyError: if a needed column is absent.
        ValueError: if ``holdout_share`` is not in (0, 1), ``l2`` is negative, the
            target is not 0/1 or has a single class in a split, or the optimiser
            does not converge.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (training data; the paper
        compares classifiers on it by lift-chart area ratio, not by ROC AUC). With
        the default settings the hold-out AUC is about 0.745.
    """
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    if TARGET_COLUMN not in df.columns:
        raise KeyError(f"fit_scorecard: missing column {[TARGET_COLUMN]}")
    y_all = df[TARGET_COLUMN].to_numpy()
    if not np.all(np.isin(y_all, (0, 1))):
        raise ValueError(f"fit_scorecard: {TARGET_COLUMN!r} must be 0 or 1")
    y_all = y_all.astype(float)
    X_all = uci_features(df)
    test = holdout_mask(y_all, holdout_share, seed)
    X, y = X_all[~test], y_all[~test]
    if y.min() == y.max():
        raise ValueError("fit_scorecard: the training rows contain a single class")

    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    Z = (X - mean) / std
    start = np.zeros(1 + Z.shape[1])
    start[0] = special.logit(y.mean())
    result = optimize.minimize(
        _penalised_loss,
        start,
        args=(Z, y, l2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "gtol": 1e-9},
    )
    if not result.success:
        raise ValueError(f"fit_scorecard: optimiser did not converge: {result.message}")

    card = Scorecard(
        coef=result.x[1:],
        intercept=float(result.x[0]),
        feature_names=FEATURE_NAMES,
        feature_mean=mean,
        feature_std=std,
        train_rows=int(y.size),
        holdout_rows=int(test.sum()),
    )
    return dataclasses.replace(card, holdout_auc=auc(y_all[test], card.log_odds(X_all[test])))


@functools.lru_cache(maxsize=1)
def fit_default_scorecard() -> Scorecard:
    """Fit the scorecard once per process on the bundled UCI data, with default settings.

    Returns:
        The cached :class:`Scorecard` (hold-out share 0.3, l2 1e-3, seed
        :data:`DEFAULT_SEED`). Its arrays are read-only, so sharing it is safe.

    Raises:
        sim.outputs.files.DataFileError: if the bundled data file is missing or damaged.

    References:
        Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (training data).
    """
    return fit_scorecard(load_uci())


# --------------------------------------------------------------------------- validation


def _binary_target(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be 1-D, got shape {y.shape}")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError(f"{where}: y must contain only 0 and 1")
    return y.astype(bool)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve, from the Mann-Whitney U statistic.

    AUC = U / (n_pos * n_neg), where U counts the (default, non-default) pairs in which
    the defaulter has the higher score, ties counting one half. 0.5 is a random
    ranking, 1.0 a perfect one.

    Args:
        y: outcomes, shape ``(n,)``, 0/1 (1 = default).
        score: risk scores (PD, log-odds, any increasing transform), shape ``(n,)``.

    Returns:
        AUC, float in [0, 1].

    Raises:
        ValueError: if the shapes differ, ``y`` is not 0/1, either class is absent,
            or a score is NaN or infinite.
    """
    pos = _binary_target(y, "auc")
    score = np.asarray(score, dtype=float)
    if score.shape != pos.shape:
        raise ValueError(f"auc: y and score differ in shape: {pos.shape} vs {score.shape}")
    if not np.all(np.isfinite(score)):
        raise ValueError("auc: score contains NaN or infinite values")
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auc: y must contain both classes (0 and 1)")
    u_stat = stats.mannwhitneyu(score[pos], score[~pos], method="asymptotic").statistic
    return float(u_stat) / (n_pos * n_neg)


def calibration_table(y: np.ndarray, pd_pred: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted PD against the observed default rate, by quantile bin of predicted PD.

    Bins are quantiles of ``pd_pred`` (``pandas.qcut`` with ``duplicates="drop"``, so
    tied predictions can yield fewer than ``n_bins`` bins; if all predictions are
    equal there is one bin).

    Args:
        y: outcomes, shape ``(n,)``, 0/1.
        pd_pred: predicted PD, shape ``(n,)``, fractions in [0, 1].
        n_bins: number of quantile bins requested (10 = deciles), >= 1.

    Returns:
        One row per bin, lowest predicted PD first, with columns ``decile`` (bin number,
        int, from 1), ``n`` (rows in the bin, int), ``mean_predicted_pd`` and
        ``observed_default_rate`` (fractions, float64).

    Raises:
        ValueError: if the shapes differ, ``y`` is not 0/1, ``pd_pred`` is outside
            [0, 1] or not finite, the inputs are empty, or ``n_bins`` < 1.
    """
    y_bool = _binary_target(y, "calibration_table")
    pd_pred = np.asarray(pd_pred, dtype=float)
    if pd_pred.shape != y_bool.shape:
        raise ValueError(
            f"calibration_table: y and pd_pred differ in shape: {y_bool.shape} vs {pd_pred.shape}"
        )
    if not np.all(np.isfinite(pd_pred)) or np.any((pd_pred < 0) | (pd_pred > 1)):
        raise ValueError("calibration_table: pd_pred must be finite and in [0, 1]")
    if n_bins < 1:
        raise ValueError(f"calibration_table: n_bins must be >= 1, got {n_bins}")
    if pd_pred.size == 0:
        raise ValueError("calibration_table: y and pd_pred are empty")
    if np.ptp(pd_pred) == 0:  # qcut would drop every edge: one bin holds all rows
        bins = np.zeros(pd_pred.size, dtype=np.int64)
    else:
        bins = pd.qcut(pd_pred, n_bins, labels=False, duplicates="drop")
    frame = pd.DataFrame({"bin": bins, "pd": pd_pred, "y": y_bool.astype(float)})
    table = frame.groupby("bin", sort=True).agg(
        n=("y", "size"), mean_predicted_pd=("pd", "mean"), observed_default_rate=("y", "mean")
    )
    table.insert(0, "decile", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True).astype({"n": np.int64, "decile": np.int64})


def shift_to_mean_pd(log_odds: np.ndarray, target_mean_pd: float) -> float:
    """Intercept shift that re-levels scores to a target mean PD (calibration to central tendency).

    Finds ``s`` with ``mean(expit(log_odds + s)) == target_mean_pd`` by Brent's method
    on [-30, 30]. The ranking of borrowers is unchanged; only the level moves. The
    platform uses it to turn the UCI next-month log-odds into a 12-month PD whose mean
    over its own book equals the book's central tendency.

    Args:
        log_odds: log-odds of the borrowers of the target book, shape ``(n,)``, float64.
        target_mean_pd: desired mean PD over those borrowers, fraction in (0, 1).

    Returns:
        The shift ``s`` to pass as ``intercept_shift`` to :meth:`Scorecard.predict_pd`.

    Raises:
        ValueError: if ``target_mean_pd`` is not in (0, 1); if ``log_odds`` is empty,
            not 1-D or not finite; or if no shift within [-30, 30] reaches the target.
    """
    if not 0.0 < target_mean_pd < 1.0:
        raise ValueError(f"target_mean_pd must be in (0, 1), got {target_mean_pd}")
    log_odds = np.asarray(log_odds, dtype=float)
    if log_odds.ndim != 1 or log_odds.size == 0:
        raise ValueError(f"log_odds must be a non-empty 1-D array, got shape {log_odds.shape}")
    if not np.all(np.isfinite(log_odds)):
        raise ValueError("log_odds contains NaN or infinite values")

    def gap(shift: float) -> float:
        return float(np.mean(special.expit(log_odds + shift))) - target_mean_pd

    lo, hi = -30.0, 30.0
    if gap(lo) > 0 or gap(hi) < 0:
        raise ValueError(
            f"target_mean_pd={target_mean_pd} cannot be reached with an intercept shift "
            f"in [{lo}, {hi}] (mean PD ranges over [{gap(lo) + target_mean_pd:.3g}, "
            f"{gap(hi) + target_mean_pd:.3g}])"
        )
    return float(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))
