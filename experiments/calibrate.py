"""Fit ``uci_2005`` on April-July 2005 by simulated moments: ``python -m experiments.calibrate``.

Reads the ``calibration`` section of ``conf/validation/uci_2005.yaml`` (moments,
parameters with bounds, budget), fits the parameters with
:func:`sim.empirical.calibration.calibrate` and writes to
``outputs/calibration/<timestamp>/`` (or ``--out``):

- ``report.md``: method, fitted values, the moment table (observed, simulated at the
  start and at the fit with an interval over seeds, error in pp, z);
- ``fitted_parameters.csv``, ``moments.csv``, ``trace.csv`` (every evaluation);
- ``fitted.yaml``: the fitted values as YAML lines.

With ``--update-config`` the fitted values are written into the population file
(``conf/population/uci_2005.yaml``), each line commented with the fit that produced it.
Nothing after July enters the fit; run ``python -m experiments.validate`` afterwards.

Exit codes: 0 on success; 2 for usage, config or data errors.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from experiments.cli import OneLineParser, option_message
from sim.empirical.calibration import CalibrationResult, calibrate, calibration_config_from_dict
from sim.empirical.calibration.config import MIN_BORROWERS
from sim.outputs.files import check_output_dir, write_csv_atomic, write_text_atomic
from sim.runtime.compose import CONF_DIR
from sim.world.data import DataFileError, load_uci

DEFAULT_CONFIG = Path(CONF_DIR) / "validation" / "uci_2005.yaml"

#: Config field -> the option that sets it (so config errors name the option).
_OPTION_OF = {
    "calibration.max_evals": "--max-evals",
    "calibration.n_borrowers": "--n-borrowers",
}


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m experiments.calibrate",
        description="Fit uci_2005's behavioural parameters to April-July 2005 "
        "(method of simulated moments). About 3 minutes at the config's size (2.5-3.5 min "
        "on 2 cores: Nelder-Mead converges in about 650 evaluations of a 30,000-borrower "
        "book). Writes a report to outputs/calibration/"
        "<timestamp>/; with --update-config also rewrites the fitted lines of "
        "conf/population/uci_2005.yaml (then run python -m experiments.validate).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help="validation/calibration config (default conf/validation/uci_2005.yaml)",
    )
    parser.add_argument(
        "--max-evals", type=int, default=None, help="objective evaluations, >= 1 (default: config)"
    )
    parser.add_argument(
        "--n-borrowers",
        type=int,
        default=None,
        help=f"borrowers in the fitted book, >= {MIN_BORROWERS:,} (default: config)",
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="UCI CSV file (default: the bundled copy)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default outputs/calibration/<timestamp>)",
    )
    parser.add_argument(
        "--update-config",
        action="store_true",
        help="rewrite the fitted values in the population YAML "
        "(conf/population/<population>.yaml: uci_2005.yaml), each line commented",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _pct(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{100 * v:.2f} %"


def report_text(result: CalibrationResult, stamp: str) -> str:
    """The calibration report (Markdown)."""
    cfg = result.config
    p = result.parameters
    m = result.moments
    params = pd.DataFrame(
        {
            "parameter": p["path"],
            "bounds": [
                f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in zip(p["lower"], p["upper"], strict=True)
            ],
            "start": [_fmt(v) for v in p["start"]],
            "fitted": [_fmt(v) for v in p["fitted"]],
            "std. error": [_fmt(v) if np.isfinite(v) else "–" for v in p["std_error"]],
            "meant to match": p["why"],
        }
    )
    moments = pd.DataFrame(
        {
            "moment": m["stat"],
            "fitted": ["yes" if f else "reported" for f in m["fitted"]],
            "observed": [_pct(v) for v in m["observed"]],
            "weight (1/var)": [f"{w:,.0f}" if w > 0 else "–" for w in m["weight"]],
            "sim at start": [_pct(v) for v in m["start"]],
            "sim at fit (mean)": [_pct(v) for v in m["sim_mean"]],
            "interval over seeds": [
                f"{_pct(lo)} – {_pct(hi)}"
                for lo, hi in zip(m["sim_low"], m["sim_high"], strict=True)
            ],
            "error (pp)": [f"{v:+.2f}" for v in m["error_pp"]],
            "z": [f"{v:+.1f}" if np.isfinite(v) else "–" for v in m["z"]],
        }
    )
    overrides = ", ".join(f"`{o}`" for o in cfg.overrides) or "none"
    return "\n".join(
        [
            f"# Calibration of `{cfg.population}` (method of simulated moments), {stamp}",
            "",
            f"- Data: UCI accounts, state as of **{cfg.as_of}** (behaviour types from the "
            f"{cfg.behaviour_window} months up to it), moments of "
            f"{', '.join(cfg.months[1:])} 2005. Nothing after July is used.",
            f"- Simulator: population `{cfg.population}`, policy `{cfg.policy}`, overrides "
            f"{overrides}; {cfg.n_borrowers:,} borrowers; seed {cfg.seed} for every "
            "evaluation (common random numbers).",
            "- Objective: sum over the fitted moments of (simulated - observed)^2 / Var(observed), "
            "a diagonal weight matrix of inverse sampling variances (binomial for shares and "
            "transition rates, var/n for means).",
            "- Optimiser: scipy.optimize.minimize, Nelder-Mead on the parameters rescaled to "
            f"[0, 1] with bounds; budget {cfg.max_evals} evaluations, used {result.n_evals} "
            f"({'converged' if result.converged else 'stopped'}: {result.message}); "
            f"{result.seconds:.0f} s.",
            f"- Objective at the start values {result.objective_start:,.0f}; at the fit "
            f"{result.objective_fitted:,.0f} ({int(m['fitted'].sum())} moments, "
            f"{len(p)} parameters). A value far above the number of moments means the model "
            "cannot match every moment within sampling error (see the z column).",
            "- Standard errors: the MSM sandwich with the data moments' sampling variances, "
            "inflated by the simulation noise of a book of the simulated size, and a "
            "central-difference Jacobian of the fitted moments (2 % of each range, fit seed); "
            "moments treated as independent; none for integer parameters. A misspecified "
            "model (objective far above the number of moments) makes them a lower bound.",
            "",
            "## Parameters",
            "",
            _markdown(params),
            "",
            f"## Moments (fitted values re-simulated over {cfg.report_seeds} seeds; "
            "interval 2.5-97.5 %)",
            "",
            _markdown(moments),
            "",
        ]
    )


def update_population_yaml(path: Path, result: CalibrationResult, stamp: str) -> list[str]:
    """Write the fitted values into a population YAML file, keeping its other lines.

    Each fitted key's line becomes ``key: <value>  # fitted: ...`` (indentation kept).

    Returns:
        The keys updated.

    Raises:
        KeyError: a fitted key is not in the file exactly once.
    """
    text = path.read_text(encoding="utf-8")
    updated = []
    for key, value in zip(result.parameters["key"], result.parameters["fitted"], strict=True):
        comment = f"# fitted: MSM on UCI Apr-Jul 2005 data (experiments.calibrate, {stamp})"
        pattern = re.compile(rf"^(\s*){re.escape(key)}:[^\n]*$", re.MULTILINE)
        if len(pattern.findall(text)) != 1:
            raise KeyError(f"{path}: key {key!r} must appear exactly once")
        line = f"{key}: {float(value):.4g}  {comment}"
        text = pattern.sub(lambda mt, line=line: mt.group(1) + line, text)
        updated.append(key)
    write_text_atomic(text, path)
    return updated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration; return the exit code (0 ok, 2 usage/config/data error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if not args.config.is_file():
            raise FileNotFoundError(f"config not found: {args.config}")
        values = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{args.config}: not a mapping")
        section = values.setdefault("calibration", {})
        if args.max_evals is not None:
            section["max_evals"] = args.max_evals
        if args.n_borrowers is not None:
            section["n_borrowers"] = args.n_borrowers
        config = calibration_config_from_dict(values)
        uci = load_uci(args.data)
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError, DataFileError) as exc:
        print(f"error: {option_message(str(exc), _OPTION_OF)}", file=sys.stderr)
        return 2

    def progress(i: int, q: float) -> None:
        if not args.quiet and (i == 1 or i % 25 == 0):
            print(f"evaluation {i}: objective {q:,.1f}", file=sys.stderr)

    stamp = time.strftime("%Y-%m-%d %H:%M")
    out = args.out or Path("outputs") / "calibration" / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        check_output_dir(out, new_or_empty=True)
        result = calibrate(config, uci, progress=progress)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_csv_atomic(result.parameters, out / "fitted_parameters.csv")
    write_csv_atomic(result.moments, out / "moments.csv")
    write_csv_atomic(result.trace, out / "trace.csv")
    fitted_yaml = "\n".join(f"{p}: {v:.4g}" for p, v in result.fitted.items()) + "\n"
    write_text_atomic(fitted_yaml, out / "fitted.yaml")
    report = write_text_atomic(report_text(result, stamp), out / "report.md")
    if args.update_config:
        target = Path(CONF_DIR) / "population" / f"{config.population}.yaml"
        keys = update_population_yaml(target, result, stamp)
        print(f"updated {target}: {', '.join(keys)}", file=sys.stderr)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
