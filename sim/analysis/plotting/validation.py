"""Validation and calibration figures: observed against simulated, transitions, scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sim.analysis.plotting.style import _FIG_WIDTH, _PANEL_HEIGHT, _new_figure, _require

__all__ = ["observed_vs_simulated_bars", "scorecard_calibration_plot", "transition_heatmaps"]


def observed_vs_simulated_bars(
    data: pd.DataFrame, title: str = "", ax: Axes | None = None
) -> Figure:
    """Observed values beside simulated means with their interval over seeds, per label.

    Used by the validation report (:mod:`sim.empirical.validation`). Values are
    fractions, shown in percent. Where an alternative observed reading is given
    (``observed_alt``, e.g. September's ambiguous 1-month code), it is drawn as a hollow
    marker on the observed bar.

    Args:
        data: one row per bar pair with columns ``label`` (str), ``observed``,
            ``sim_mean``, ``sim_low``, ``sim_high`` (fractions) and optionally
            ``observed_alt`` (fraction or NaN).
        title: axes title.
        ax: axes to draw on; a new figure if None.

    Returns:
        The Figure.

    Raises:
        ValueError: a column is missing or the table is empty.
    """
    _require(data, ["label", "observed", "sim_mean", "sim_low", "sim_high"], "data")
    if data.empty:
        raise ValueError("data is empty")
    if ax is None:
        width = max(_FIG_WIDTH, 0.55 * len(data) + 2.0)
        fig = Figure(figsize=(width, _PANEL_HEIGHT + 0.6), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    x = np.arange(len(data))
    observed = data["observed"].to_numpy(float)
    mean = data["sim_mean"].to_numpy(float)
    err = np.vstack(
        [
            np.clip(mean - data["sim_low"].to_numpy(float), 0, None),
            np.clip(data["sim_high"].to_numpy(float) - mean, 0, None),
        ]
    )
    ax.bar(x - 0.2, observed, width=0.4, color="0.55", label="observed (UCI)")
    ax.bar(x + 0.2, mean, width=0.4, color="tab:blue", label="simulated mean")
    ax.errorbar(
        x + 0.2,
        mean,
        yerr=err,
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
        label="interval over seeds",
    )
    if "observed_alt" in data.columns:
        alt = data["observed_alt"].to_numpy(float)
        has = np.isfinite(alt)
        if has.any():
            ax.scatter(
                x[has] - 0.2,
                alt[has],
                marker="D",
                facecolors="none",
                edgecolors="black",
                zorder=3,
                label="observed, code 1 read as R",
            )
    ax.set_xticks(
        x,
        data["label"].astype(str).tolist(),
        rotation=30 if len(data) > 5 else 0,
        ha="right" if len(data) > 5 else "center",
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return fig  # type: ignore[return-value]


def transition_heatmaps(matrices: dict[str, pd.DataFrame], title: str = "") -> Figure:
    """Side-by-side heat maps of status-group transition matrices (observed, simulated ...).

    Args:
        matrices: panel title -> row-normalised matrix (from-group rows, to-group
            columns, fractions), drawn left to right in the given order.
        title: figure title.

    Returns:
        The Figure, one panel per matrix with the share printed in each cell.

    Raises:
        ValueError: no matrix.
    """
    if not matrices:
        raise ValueError("matrices is empty")
    fig, axes = _new_figure(len(matrices), ncols=len(matrices), height=3.4)
    cmap = colormaps["Blues"]
    for ax, (name, matrix) in zip(axes, matrices.items(), strict=True):
        values = matrix.to_numpy(dtype=float)
        ax.imshow(np.nan_to_num(values), cmap=cmap, vmin=0.0, vmax=1.0)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                text = "–" if not np.isfinite(v) else f"{100 * v:.1f}%"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if np.isfinite(v) and v > 0.6 else "black",
                )
        ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix.columns])
        ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index])
        ax.set_xlabel("to group")
        ax.set_ylabel("from group")
        ax.set_title(str(name).replace("_", " "), fontsize=9)
    fig.colorbar(
        ScalarMappable(Normalize(0, 1), cmap=cmap),
        ax=axes,
        format=PercentFormatter(xmax=1.0),
        shrink=0.8,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def scorecard_calibration_plot(calibration_df: pd.DataFrame, auc: float | None = None) -> Figure:
    """Mean predicted PD against the observed default rate by decile, with the diagonal.

    Args:
        calibration_df: :func:`sim.platform.scorecard.calibration_table` output (columns
            ``decile``, ``mean_predicted_pd``, ``observed_default_rate``, ``n``).
        auc: hold-out AUC shown in the title, if given.

    Returns:
        The Figure.

    Raises:
        ValueError: a column is missing or the table is empty.
    """
    _require(
        calibration_df,
        ["decile", "mean_predicted_pd", "observed_default_rate", "n"],
        "calibration_df",
    )
    if calibration_df.empty:
        raise ValueError("calibration_df is empty")
    fig = Figure(figsize=(4.8, 4.4), layout="constrained")
    ax = fig.subplots()
    pred = calibration_df["mean_predicted_pd"].to_numpy(float)
    obs = calibration_df["observed_default_rate"].to_numpy(float)
    n = calibration_df["n"].to_numpy(float)
    se = np.sqrt(np.clip(obs * (1 - obs), 0, None) / np.maximum(n, 1))
    top = float(max(pred.max(), obs.max()) * 1.1)
    ax.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="perfect calibration")
    ax.errorbar(
        pred,
        obs,
        yerr=1.96 * se,
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="decile (95 % binomial CI)",
    )
    for d, xv, yv in zip(calibration_df["decile"], pred, obs, strict=True):
        ax.annotate(str(d), (xv, yv), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("Mean predicted PD (next month)")
    ax.set_ylabel("Observed default rate")
    ax.set_title(
        "Scorecard calibration, hold-out" + (f" (AUC {auc:.3f})" if auc is not None else ""),
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper left")
    return fig
