"""Is the default book stationary after the burn-in? ``python -m experiments.stationarity``.

Runs the default config under ``static`` for its burn-in plus a long window (72 months
by default) over several seeds, and writes, per headline metric, the trailing 12-month
mean, its long-run level and the month it settles (within 5 % of the level), with a
figure (``stationarity.png``) and tables (``stationarity.csv``, ``series.csv``) in
``outputs/stationarity/<timestamp>/`` (or ``--out``); from the same runs, the window's
delinquency and buffer days against their published levels (``book_targets.csv``: Ant's
C1, JPMCI's A1, A3, U-A4; :mod:`sim.empirical.book_targets`). See
:mod:`sim.empirical.stationarity`.

Exit codes: 0 every metric stationary over the window, 1 some metric is not, 2 could not
run (bad arguments or config).

Examples::

    python -m experiments.stationarity
    python -m experiments.stationarity --seeds 3 --months 60 population.n_borrowers=10000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments.cli import OneLineParser

STATIONARY, NOT_STATIONARY, COULD_NOT_RUN = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m experiments.stationarity",
        description="Trailing means of the headline metrics of the default book under static.",
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds, >= 1 (default 5)")
    p.add_argument("--months", type=int, default=72, help="window months, >= 36 (default 72)")
    p.add_argument("--tolerance", type=float, default=0.05, help="relative tolerance (0.05)")
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. burn_in_months=24")
    return p


def plot(result, path: Path) -> None:  # noqa: ANN001 - StationarityResult
    """Trailing means relative to the long-run level, one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table.set_index("metric")
    names = list(table.index)
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), sharex=True)
    step = result.series["step"].to_numpy()
    for ax, name in zip(axes.flat, names, strict=False):
        level = table.loc[name, "long_run_level"]
        ax.plot(step, result.series[name] / level, color="0.75", lw=0.8, label="monthly")
        ax.plot(step, result.trailing[name] / level, color="C0", lw=1.6, label="12-month mean")
        band = max(result.tolerance, float(table.loc[name, "sampling_bound"]))
        if band > result.tolerance:  # the sampling error of a rare-event rate is wider
            ax.axhspan(1 - band, 1 + band, color="C1", alpha=0.10)
        ax.axhspan(1 - result.tolerance, 1 + result.tolerance, color="C2", alpha=0.15)
        ax.axvline(0.5, color="k", lw=0.8, ls="--")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.supxlabel("month (burn-in <= 0; dashed line: the window starts)", fontsize=8)
    fig.supylabel(
        "relative to the long-run level (green: tolerance; orange: widest sampling band)",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.seeds < 1:
        _parser().error(f"--seeds must be >= 1, got {args.seeds}")
    if args.months < 36:
        _parser().error(
            f"--months must be >= 36 (a trailing year + 24 level months), got {args.months}"
        )
    if not 0 < args.tolerance < 1:
        _parser().error(f"--tolerance must be in (0, 1), got {args.tolerance}")
    fixed = [o for o in args.overrides if o.lstrip("+~").split("=", 1)[0] in ("policy", "n_months")]
    if fixed:
        _parser().error(
            f"{fixed[0]!r}: the check runs the default book under `static` for --months "
            "window months; set the window with --months"
        )
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.empirical.stationarity import stationarity
    from sim.runtime.compose import load_run_config

    try:
        config = load_run_config(["policy=static", f"n_months={args.months}", *args.overrides])
    except (TypeError, ValueError, KeyError, HydraException, OmegaConfBaseException) as err:
        print(
            "error: "
            + "; ".join(
                x.strip() for x in f"{err}\n{err.__cause__ or ''}".splitlines() if x.strip()
            ),
            file=sys.stderr,
        )
        return COULD_NOT_RUN
    out = args.out or Path("outputs/stationarity") / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(f"error: --out {out}: {err.strerror}", file=sys.stderr)
        return COULD_NOT_RUN
    print(
        f"stationarity: {args.seeds} seeds x ({config.burn_in_months} burn-in + "
        f"{config.n_months} window months), {config.population.n_borrowers} borrowers",
        flush=True,
    )
    result = stationarity(config, seeds=args.seeds, tolerance=args.tolerance, progress=True)
    result.table.to_csv(out / "stationarity.csv", index=False)
    result.series.to_csv(out / "series.csv", index=False)
    plot(result, out / "stationarity.png")
    print(result.table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(
        "settles_by_month: the window month from which the trailing 12-month mean stays in its "
        "band (<= 0: already during the burn-in); sampling_bound: the band, the larger of the "
        "tolerance and 3 standard errors of the seed mean"
    )
    if result.targets is None:
        print("the published-levels table needs --seeds >= 2; skipped")
    else:
        result.targets.to_csv(out / "book_targets.csv", index=False)
        print(
            "\nthe window against published levels (seed mean and its 95 % t interval; met: "
            "the mean inside the published range widened by the tolerance):"
        )
        shown = result.targets.drop(columns="reason")
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"written to {out}")
    if not result.passed:
        bad = result.table.loc[~result.table["stationary"], "metric"].tolist()
        print(
            f"not stationary: {', '.join(bad)} (the 12-month mean leaves the tolerance and "
            "its sampling band in the window)",
            file=sys.stderr,
        )
        return NOT_STATIONARY
    return STATIONARY


if __name__ == "__main__":
    sys.exit(main())
