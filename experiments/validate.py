"""Validate a calibration against the UCI data, out of sample: ``python -m experiments.validate``.

Starts the simulator from the UCI accounts' state as of July, simulates August,
September and the October payment over several seeds, compares with what the same
accounts did (status-group shares and transitions, October default overall and by
segment, utilisation), checks the platform scorecard on a hold-out, and writes a report
(``report.md``, CSV tables, figures) to ``outputs/validation/<timestamp>/`` (or ``--out``).
The report's path is printed. See :mod:`sim.empirical.validation` for the definitions.

This is a plain command-line tool (not a Hydra job). Exit codes:

- 0: every target of the config met;
- 1: at least one target missed (the report lists which and by how much);
- 2: usage, config or data error (one line on standard error).

Examples::

    python -m experiments.validate
    python -m experiments.validate --seeds 3 --n-borrowers 10000 --out outputs/validation/quick
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from sim.empirical.validation import (
    run_validation,
    validation_config_from_dict,
    write_validation_report,
)
from sim.runtime.compose import CONF_DIR
from sim.world.data import DataFileError, load_uci

DEFAULT_CONFIG = Path(CONF_DIR) / "validation" / "uci_2005.yaml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.validate",
        description="Validate the simulator against the UCI data "
        "(out of sample: July -> October 2005).",
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="validation config (YAML)"
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (default: the config's)"
    )
    parser.add_argument(
        "--n-borrowers", type=int, default=None, help="borrowers per seed (default: the config's)"
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="UCI CSV file (default: the bundled copy)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default outputs/validation/<timestamp>)",
    )
    parser.add_argument(
        "--formats", default="png", help="comma-separated figure formats (default png)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validation; return the exit code (0 met, 1 missed, 2 usage/config/data error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    formats = tuple(f.strip().lstrip(".") for f in args.formats.split(",") if f.strip())
    try:
        if not formats:
            raise ValueError("--formats must name at least one format")
        if not args.config.is_file():
            raise FileNotFoundError(f"config not found: {args.config}")
        values = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{args.config}: not a mapping")
        if args.seeds is not None:
            values.setdefault("validation", {})["seeds"] = args.seeds
        if args.n_borrowers is not None:
            values.setdefault("validation", {})["n_borrowers"] = args.n_borrowers
        config = validation_config_from_dict(values)
        uci = load_uci(args.data)
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError, DataFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    out = args.out or Path("outputs") / "validation" / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        result = run_validation(config, uci, progress=progress)
    except (ValueError, TypeError, KeyError) as exc:  # e.g. a bad override in the config
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = "python -m experiments.validate " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report = write_validation_report(
        result,
        out,
        formats=formats,
        extra_notes=[f"Command: `{command.strip()}`; config `{args.config}`."],
    )
    missed = result.missed
    print(report)
    if result.passed:
        print("all validation targets met", file=sys.stderr)
        return 0
    print(
        f"validation targets missed: {len(missed)} statistic(s)"
        + ("" if result.scorecard["auc_passed"] else ", scorecard AUC")
        + ("" if result.scorecard["calibration_passed"] else ", scorecard calibration")
        + ("" if result.accounts.get("passed") is not False else ", account-level AUC")
        + f" (see {report})",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
