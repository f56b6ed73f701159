"""The fitted logistic scorecard (:class:`Scorecard`): log-odds, PDs and its points table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from sim.platform.scorecard.features import FEATURE_NAMES


def _read_only(values: Any) -> np.ndarray:
    arr = np.array(values, dtype=float)  # a private copy
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Scorecard:
    """A logistic scorecard: log-odds = intercept + the sum of per-feature terms.

    Two forms, both read-only once built:

    - **binned** (what :func:`fit_scorecard` fits): each feature is cut into bins at
      ``bin_edges[k]`` (bin ``j`` holds ``edges[j-1] <= x < edges[j]``, the first bin
      everything below ``edges[0]``) and contributes ``bin_points[k][j]`` log-odds. The
      points are ``coef[k] * WoE`` of the bin (weight of evidence, ``log(share of
      non-defaulters / share of defaulters)`` in the bin), so they are the classic
      scorecard points table (:meth:`points_table`), monotone in each feature;
    - **linear** (``bin_edges`` None; hand-made cards in tests): the term is
      ``coef[k] * (x - feature_mean[k]) / feature_std[k]``.

    Attributes:
        coef: per-feature coefficients, shape ``(k,)`` with ``k = len(feature_names)``: on
            the WoE of the bin (binned) or the standardised feature (linear).
        intercept: log-odds of a borrower whose every term is 0.
        feature_names: names of the feature columns, :data:`FEATURE_NAMES`.
        feature_mean: training mean of each feature, shape ``(k,)`` (linear form).
        feature_std: training standard deviation of each feature, > 0, shape ``(k,)``.
        bin_edges: per feature, the increasing cut points, shape ``(n_bins - 1,)``; None
            for the linear form.
        bin_points: per feature, the log-odds of each bin, shape ``(n_bins,)``.
        holdout_auc: area under the ROC curve on the hold-out rows, in [0, 1].
        train_rows: number of rows used to fit.
        holdout_rows: number of rows held out for validation.

    References:
        Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed., Wiley, ch. 10 (WoE
        binning and points); Yeh & Lien (2009), doi:10.1016/j.eswa.2007.12.020 (data).
    """

    coef: np.ndarray
    intercept: float
    feature_names: tuple[str, ...] = FEATURE_NAMES
    feature_mean: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURE_NAMES)))
    feature_std: np.ndarray = field(default_factory=lambda: np.ones(len(FEATURE_NAMES)))
    bin_edges: tuple[np.ndarray, ...] | None = None
    bin_points: tuple[np.ndarray, ...] | None = None
    holdout_auc: float = float("nan")
    train_rows: int = 0
    holdout_rows: int = 0

    def __post_init__(self) -> None:
        k = len(self.feature_names)
        for name in ("coef", "feature_mean", "feature_std"):
            arr = _read_only(getattr(self, name))
            if arr.shape != (k,):
                raise ValueError(f"Scorecard: {name} must have shape ({k},), got {arr.shape}")
            object.__setattr__(self, name, arr)
        if np.any(self.feature_std <= 0):
            raise ValueError("Scorecard: feature_std must be > 0")
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "intercept", float(self.intercept))
        if (self.bin_edges is None) != (self.bin_points is None):
            raise ValueError("Scorecard: give both bin_edges and bin_points, or neither")
        if self.bin_edges is not None and self.bin_points is not None:
            edges = tuple(_read_only(e) for e in self.bin_edges)
            points = tuple(_read_only(p) for p in self.bin_points)
            if len(edges) != k or len(points) != k:
                raise ValueError(f"Scorecard: bin_edges and bin_points need {k} entries each")
            for name, e, p in zip(self.feature_names, edges, points, strict=True):
                if e.ndim != 1 or p.shape != (e.size + 1,) or np.any(np.diff(e) <= 0):
                    raise ValueError(
                        f"Scorecard: feature {name!r} needs increasing edges and one point "
                        f"per bin, got {e.size} edges and {p.size} points"
                    )
            object.__setattr__(self, "bin_edges", edges)
            object.__setattr__(self, "bin_points", points)

    @property
    def is_binned(self) -> bool:
        """True for the binned (WoE points) form."""
        return self.bin_edges is not None

    @property
    def coef_per_unit(self) -> np.ndarray:
        """Linear form: coefficients per unit of each raw feature, ``coef / feature_std``."""
        return self.coef / self.feature_std

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of default for each row of a feature matrix.

        Args:
            X: features, shape ``(n, k)``, columns in :attr:`feature_names` order (from
                :func:`uci_features` or :func:`features_from_state`).

        Returns:
            Log-odds of next-month default on the UCI scale, shape ``(n,)``, float64.

        Raises:
            ValueError: if ``X`` does not have shape ``(n, k)``.
        """
        X = np.asarray(X, dtype=float)
        k = len(self.feature_names)
        if X.ndim != 2 or X.shape[1] != k:
            raise ValueError(f"Scorecard: X must have shape (n, {k}), got {X.shape}")
        return self.log_odds_columns(tuple(X[:, j] for j in range(k)))

    def log_odds_columns(self, columns: tuple[np.ndarray, ...]) -> np.ndarray:
        """Log-odds from the feature columns (:func:`feature_columns_from_state`).

        Equal to :meth:`log_odds` of the stacked matrix, computed column by column (no
        ``(n, k)`` matrix is built).

        Args:
            columns: ``k`` arrays of shape ``(n,)`` in :attr:`feature_names` order.

        Returns:
            ``(n,)`` float64 log-odds on the UCI scale.

        Raises:
            ValueError: not exactly ``k`` columns.
        """
        if len(columns) != len(self.feature_names):
            raise ValueError(
                f"Scorecard: expected {len(self.feature_names)} columns, got {len(columns)}"
            )
        if self.bin_edges is None or self.bin_points is None:
            per_unit = self.coef_per_unit
            out = np.full(
                np.shape(columns[0]), self.intercept - float(per_unit @ self.feature_mean)
            )
            for w, col in zip(per_unit, columns, strict=True):
                out += w * col
            return out
        out = np.full(np.shape(columns[0]), self.intercept)
        for edges, points, col in zip(self.bin_edges, self.bin_points, columns, strict=True):
            out += points[np.searchsorted(edges, col, side="right")]
        return out

    def predict_pd(self, X: np.ndarray, intercept_shift: float = 0.0) -> np.ndarray:
        """Probability of default for each row, optionally re-levelled.

        Args:
            X: features, shape ``(n, k)``, as for :meth:`log_odds`.
            intercept_shift: added to every log-odds before the logistic function;
                0.0 gives the UCI next-month PD.

        Returns:
            PD, shape ``(n,)``, float64 in [0, 1].

        Raises:
            ValueError: if ``X`` does not have shape ``(n, k)``.
        """
        return special.expit(self.log_odds(X) + intercept_shift)

    def points_table(self) -> pd.DataFrame:
        """The scorecard's points table (binned form): one row per feature bin.

        Returns:
            Columns ``feature``, ``bin`` (0-based), ``lower`` and ``upper`` (the bin is
            ``lower <= x < upper``; -inf / inf at the ends) and ``points`` (log-odds added
            for a value in the bin); rows in feature order, lowest bin first.

        Raises:
            ValueError: for a linear-form card.
        """
        if self.bin_edges is None or self.bin_points is None:
            raise ValueError("Scorecard.points_table: the card is not binned")
        rows = []
        for name, edges, points in zip(
            self.feature_names, self.bin_edges, self.bin_points, strict=True
        ):
            bounds = np.concatenate(([-np.inf], edges, [np.inf]))
            for j, p in enumerate(points):
                rows.append((name, j, bounds[j], bounds[j + 1], float(p)))
        return pd.DataFrame(rows, columns=["feature", "bin", "lower", "upper", "points"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of the card (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {
            "feature_names": list(self.feature_names),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "feature_mean": self.feature_mean.tolist(),
            "feature_std": self.feature_std.tolist(),
            "holdout_auc": self.holdout_auc,
            "train_rows": self.train_rows,
            "holdout_rows": self.holdout_rows,
        }
        if self.bin_edges is not None and self.bin_points is not None:
            out["bin_edges"] = [e.tolist() for e in self.bin_edges]
            out["bin_points"] = [p.tolist() for p in self.bin_points]
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Scorecard:
        """Rebuild a card from :meth:`to_dict` output.

        Raises:
            KeyError: a required key is absent. ValueError: as the constructor.
        """
        edges, points = values.get("bin_edges"), values.get("bin_points")
        return cls(
            coef=np.asarray(values["coef"]),
            intercept=values["intercept"],
            feature_names=tuple(values["feature_names"]),
            feature_mean=np.asarray(values["feature_mean"]),
            feature_std=np.asarray(values["feature_std"]),
            bin_edges=None if edges is None else tuple(np.asarray(e) for e in edges),
            bin_points=None if points is None else tuple(np.asarray(p) for p in points),
            holdout_auc=float(values["holdout_auc"]),
            train_rows=int(values["train_rows"]),
            holdout_rows=int(values["holdout_rows"]),
        )
