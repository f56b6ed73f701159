"""The fitted logistic scorecard (:class:`Scorecard`): log-odds and PDs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from sim.platform.scorecard.features import FEATURE_NAMES


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
