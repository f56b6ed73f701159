"""Fitting the scorecard on the UCI data: stratified hold-out split and penalised fit."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
from scipy import optimize, special

from sim.platform.scorecard.features import (
    FEATURE_NAMES,
    TARGET_COLUMN,
    uci_features,
)
from sim.platform.scorecard.model import Scorecard
from sim.platform.scorecard.validation import auc
from sim.world.data import load_uci

DEFAULT_SEED = 20050901
"""Seed of the train / hold-out split used by :func:`fit_default_scorecard`."""


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
