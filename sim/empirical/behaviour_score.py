"""Estimate the platform's behavioural score on its realised defaults (``--fit``).

The book's 12-month PD under ``platform.pd_calibration: behavioural`` is an isotonic map
of ``z + b``: the application log-odds ``z`` plus a term for the line's utilisation band
and one for its days-past-due state (:mod:`sim.platform.scorecard.behaviour`). Both parts
are estimated on a :func:`sim.empirical.pd_calibration.pd_panel` of development seeds:

- :func:`fit_behaviour_terms`: an unpenalised logistic regression (scikit-learn) of
  realised 12-month default on ``z`` and the band and DPD-state indicators (the band
  ``(0, bounds[0])`` and the current state are the reference); each indicator's
  coefficient divided by the coefficient of ``z`` is its term, so ``z + b`` ranks lines as
  the fitted linear score does, on the scale of ``z``;
- :func:`fit_behaviour_score`: those terms, then
  :func:`sim.empirical.pd_fit.fit_isotonic` of realised default on ``z + b``.

Why (measured on seeds 100-104 with the ``z``-only map): the portfolio's expected loss was
0.69 of the realised loss although the PD deciles were calibrated, because within a PD
decile the defaulters carried 1.66 times the decile's average exposure (they are the drawn
lines: idle lines defaulted at 0.01 %, lines drawn 70-95 % at 1.3 %), and lines 30 or 60
days past due defaulted at 30 % against a mean PD of 10 %.

References:
    Thomas, L. C., Edelman, D. B., & Crook, J. N. (2002). *Credit Scoring and Its
    Applications*. SIAM, ch. 6 (behavioural scoring).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.empirical.pd_fit import fit_isotonic
from sim.platform.scorecard import (
    DPD_STATES,
    behaviour_categories,
    behaviour_log_odds,
    utilisation_bands,
)

__all__ = ["REFERENCE_BAND", "fit_behaviour_score", "fit_behaviour_terms", "loss_decomposition"]

REFERENCE_BAND = 1
"""The utilisation band whose term is 0 (``(0, bounds[0])``: drawn, lightly)."""


def fit_behaviour_terms(
    panel: pd.DataFrame, bounds: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the behavioural log-odds terms by logistic regression on realised default.

    Model: ``logit P(default) = a + c_z z + sum_k c_k [band = k] + sum_d c_d [dpd = d]``
    (unpenalised maximum likelihood, scikit-learn ``LogisticRegression(C=inf)``), with the
    band :data:`REFERENCE_BAND` and the current state left out; the terms are
    ``c_k / c_z`` and ``c_d / c_z``. A band or state without lines in the panel gets 0.

    Args:
        panel: :func:`sim.empirical.pd_calibration.pd_panel` rows (``log_odds`` = ``z``,
            ``drawn_cny``, ``limit_cny``, ``missed``, ``default``), one or several seeds.
        bounds: ``platform.behaviour_utilisation_bounds``.

    Returns:
        ``(utilisation_log_odds, dpd_log_odds)``: ``(len(bounds) + 2,)`` terms, idle band
        first (the reference band's is 0), and the ``(2,)`` terms of 30 DPD and 60+ DPD;
        float64.

    Raises:
        ValueError: a band or state with lines but no default (its term would be
            -infinity), or a fitted ``c_z <= 0`` (``z`` does not rank defaults).
    """
    from sklearn.linear_model import LogisticRegression

    y = panel["default"].to_numpy().astype(np.int64)
    band, dpd = behaviour_categories(
        panel["drawn_cny"].to_numpy(dtype=float),
        panel["limit_cny"].to_numpy(dtype=float),
        panel["missed"].to_numpy(),
        bounds,
    )
    labels = utilisation_bands(bounds)
    n_bands = len(labels)
    names = [f"utilisation {labels[k]}" for k in range(n_bands) if k != REFERENCE_BAND]
    masks = [band == k for k in range(n_bands) if k != REFERENCE_BAND]
    names += [DPD_STATES[d] for d in range(1, len(DPD_STATES))]
    masks += [dpd == d for d in range(1, len(DPD_STATES))]
    present = [m.any() for m in masks]
    for name, mask, used in zip(names, masks, present, strict=True):
        if used and y[mask].sum() == 0:
            raise ValueError(f"fit_behaviour_terms: no default among the {name} lines")
    X = np.column_stack(
        [panel["log_odds"].to_numpy(dtype=float)]
        + [m for m, used in zip(masks, present, strict=True) if used]
    ).astype(float)
    model = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(X, y)
    coef = model.coef_[0]
    if not coef[0] > 0:
        raise ValueError(
            f"fit_behaviour_terms: the log-odds do not rank defaults (c_z = {coef[0]})"
        )
    terms = np.zeros(len(masks))
    terms[np.flatnonzero(present)] = coef[1:] / coef[0]
    u_terms = np.insert(terms[: n_bands - 1], REFERENCE_BAND, 0.0)
    return u_terms, terms[n_bands - 1 :]


def fit_behaviour_score(panel: pd.DataFrame, bounds: Sequence[float]) -> dict[str, list[float]]:
    """The behavioural terms and the isotonic map of ``z + b`` (the ``--fit`` estimate).

    Args:
        panel: as :func:`fit_behaviour_terms` (``log_odds`` must be ``z`` alone).
        bounds: ``platform.behaviour_utilisation_bounds``.

    Returns:
        The ``platform`` values ``behaviour_utilisation_log_odds``,
        ``behaviour_dpd_log_odds``, ``behaviour_calibration_log_odds`` and
        ``behaviour_calibration_pd``, as lists of floats.
    """
    u_terms, d_terms = fit_behaviour_terms(panel, bounds)
    b = behaviour_log_odds(
        panel["drawn_cny"].to_numpy(dtype=float),
        panel["limit_cny"].to_numpy(dtype=float),
        panel["missed"].to_numpy(),
        bounds,
        u_terms,
        d_terms,
    )
    knots, knot_pd = fit_isotonic(panel.assign(log_odds=panel["log_odds"].to_numpy() + b))
    return {
        "behaviour_utilisation_log_odds": u_terms.tolist(),
        "behaviour_dpd_log_odds": d_terms.tolist(),
        "behaviour_calibration_log_odds": knots.tolist(),
        "behaviour_calibration_pd": knot_pd.tolist(),
    }


def loss_decomposition(panel: pd.DataFrame, lgd: float, n_bins: int = 10) -> pd.Series:
    """Split the ratio expected loss / realised loss of a panel into five factors.

    With ``p`` the PD, ``E`` the EAD at scoring, ``D`` the defaulters, ``B`` their balance
    at default (``loss_cny / lgd``), and per PD bin ``b`` (``n_bins`` equal-count bins of
    ``pd_12m``) ``n_b`` lines, mean PD ``p_b``, ``k_b`` defaults and mean EAD ``E_b``:

    - ``count`` = ``sum p / #D`` (mean PD against the realised default rate);
    - ``between_bins`` = ``(sum_b n_b p_b E_b / sum_b k_b E_b) / count`` (where the
      misses sit: in bins of large or small exposure);
    - ``within_bin_pd`` = ``sum p E / sum_b n_b p_b E_b`` (PD and EAD inside a bin);
    - ``defaulter_exposure`` = ``sum_b k_b E_b / sum_D E`` (a bin's average EAD against its
      defaulters': below 1 when the lines that default carry more exposure);
    - ``ead_growth`` = ``sum_D E / sum_D B`` (EAD at scoring against the balance at
      default: below 1 when defaulters draw more before default than the CCF allows).

    Their product is ``sum p E / sum_D B``, the ratio of :func:`loss_check` when
    ``expected_loss_cny = pd_12m x lgd x ead_cny``.

    Args:
        panel: :func:`sim.empirical.pd_calibration.pd_panel` rows (``pd_12m``,
            ``ead_cny``, ``default``, ``loss_cny``), with at least one default.
        lgd: the platform's LGD, in (0, 1].
        n_bins: PD bins (by rank, so ties are split evenly).

    Returns:
        The five factors and their product ``ratio``, float.
    """
    p = panel["pd_12m"].to_numpy(dtype=float)
    ead = panel["ead_cny"].to_numpy(dtype=float)
    d = panel["default"].to_numpy(dtype=bool)
    balance_at_default = panel["loss_cny"].to_numpy(dtype=float)[d] / lgd
    rank = pd.Series(p).rank(method="first").to_numpy()
    bins = np.minimum(((rank - 1) * n_bins / p.size).astype(np.intp), n_bins - 1)
    n_b = np.bincount(bins, minlength=n_bins)
    pd_b = np.bincount(bins, p, n_bins) / np.maximum(n_b, 1)
    ead_b = np.bincount(bins, ead, n_bins) / np.maximum(n_b, 1)
    k_b = np.bincount(bins, d.astype(float), n_bins)
    count = p.sum() / d.sum()
    out = {
        "count": count,
        "between_bins": (n_b * pd_b * ead_b).sum() / (k_b * ead_b).sum() / count,
        "within_bin_pd": (p * ead).sum() / (n_b * pd_b * ead_b).sum(),
        "defaulter_exposure": (k_b * ead_b).sum() / ead[d].sum(),
        "ead_growth": ead[d].sum() / balance_at_default.sum(),
    }
    out["ratio"] = float(np.prod(list(out.values())))
    return pd.Series({k: float(v) for k, v in out.items()})
