"""A segmented scorecard: one WoE points table per delinquency segment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from sim.platform.scorecard.features import SEGMENT_NAMES, segment_of
from sim.platform.scorecard.model import Scorecard


@dataclass(frozen=True, eq=False)
class SegmentedScorecard:
    """Scorecards by segment: each account is scored by the card of its segment.

    The segment (:func:`sim.platform.scorecard.features.segment_of`) follows from two of
    the features, ``months_late`` and ``delinquent_months_6m``: clean for 6 months,
    delinquent in the last 6 months but at most 30 DPD now, 60+ DPD now. Segmenting the
    book by delinquency status and fitting one card per segment is the standard way a
    scorecard captures the interactions a single additive card misses (Siddiqi 2017,
    ch. 6); within a segment each feature's points are monotone (optimal monotone WoE
    binning), so the card stays a points table.

    Attributes:
        segments: one binned :class:`Scorecard` per segment, in segment-number order; all
            on the same ``feature_names``, which include ``months_late`` and
            ``delinquent_months_6m``.
        segment_names: names of the segments, :data:`SEGMENT_NAMES`.
        holdout_auc: area under the ROC curve of the segmented score on the hold-out rows.
        train_rows: number of rows used to fit (all segments).
        holdout_rows: number of rows held out for validation.

    References:
        Siddiqi, N. (2017). *Intelligent Credit Scoring*, 2nd ed., Wiley, ch. 6
        (segmentation) and ch. 10 (WoE binning and points).
    """

    segments: tuple[Scorecard, ...]
    segment_names: tuple[str, ...] = SEGMENT_NAMES
    holdout_auc: float = float("nan")
    train_rows: int = 0
    holdout_rows: int = 0

    def __post_init__(self) -> None:
        segments = tuple(self.segments)
        names = tuple(self.segment_names)
        if len(segments) != len(names) or not segments:
            raise ValueError(
                f"SegmentedScorecard: {len(segments)} cards for {len(names)} segment names"
            )
        features = segments[0].feature_names
        if any(card.feature_names != features for card in segments):
            raise ValueError("SegmentedScorecard: the segments' cards differ in feature_names")
        for needed in ("months_late", "delinquent_months_6m"):
            if needed not in features:
                raise ValueError(f"SegmentedScorecard: the features must include {needed!r}")
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "segment_names", names)
        object.__setattr__(self, "holdout_auc", float(self.holdout_auc))

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature columns, shared by every segment's card."""
        return self.segments[0].feature_names

    @property
    def is_binned(self) -> bool:
        """True when every segment's card is binned (a points table)."""
        return all(card.is_binned for card in self.segments)

    def segment(self, columns: tuple[np.ndarray, ...]) -> np.ndarray:
        """``(n,)`` int8 segment of each row of the feature columns."""
        names = self.feature_names
        return segment_of(
            columns[names.index("months_late")], columns[names.index("delinquent_months_6m")]
        )

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of default of each row of a feature matrix (as :meth:`Scorecard.log_odds`).

        Raises:
            ValueError: if ``X`` does not have shape ``(n, k)``.
        """
        X = np.asarray(X, dtype=float)
        k = len(self.feature_names)
        if X.ndim != 2 or X.shape[1] != k:
            raise ValueError(f"Scorecard: X must have shape (n, {k}), got {X.shape}")
        return self.log_odds_columns(tuple(X[:, j] for j in range(k)))

    def log_odds_columns(self, columns: tuple[np.ndarray, ...]) -> np.ndarray:
        """Log-odds from the feature columns, each row by its segment's card.

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
        segment = self.segment(columns)
        out = np.empty(np.shape(columns[0]))
        for number, card in enumerate(self.segments):
            rows = np.flatnonzero(segment == number)
            if rows.size:
                out[rows] = card.log_odds_columns(tuple(col[rows] for col in columns))
        return out

    def predict_pd(self, X: np.ndarray, intercept_shift: float = 0.0) -> np.ndarray:
        """PD of each row, optionally re-levelled (as :meth:`Scorecard.predict_pd`)."""
        return special.expit(self.log_odds(X) + intercept_shift)

    def points_table(self) -> pd.DataFrame:
        """The points tables of all segments, one row per segment, feature and bin.

        Returns:
            Columns ``segment`` (name), ``intercept`` (the segment's base log-odds) and
            those of :meth:`Scorecard.points_table` (``feature``, ``bin``, ``lower``,
            ``upper``, ``points``); segments in order.

        Raises:
            ValueError: if a segment's card is not binned.
        """
        tables = []
        for name, card in zip(self.segment_names, self.segments, strict=True):
            table = card.points_table()
            table.insert(0, "intercept", card.intercept)
            table.insert(0, "segment", name)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of the card (inverse of :meth:`from_dict`)."""
        return {
            "feature_names": list(self.feature_names),
            "segment_names": list(self.segment_names),
            "holdout_auc": self.holdout_auc,
            "train_rows": self.train_rows,
            "holdout_rows": self.holdout_rows,
            "segments": [card.to_dict() for card in self.segments],
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SegmentedScorecard:
        """Rebuild a card from :meth:`to_dict` output.

        Raises:
            KeyError: a required key is absent. ValueError: as the constructor.
        """
        return cls(
            segments=tuple(Scorecard.from_dict(card) for card in values["segments"]),
            segment_names=tuple(values["segment_names"]),
            holdout_auc=float(values["holdout_auc"]),
            train_rows=int(values["train_rows"]),
            holdout_rows=int(values["holdout_rows"]),
        )
