"""Validate a calibration against the UCI data, out of sample: ``python -m experiments.validate``.

Starts the simulator from the UCI accounts' state as of July, simulates August,
September and the October payment over several seeds, compares with what the same
accounts did (status-group shares and transitions, the share behind by segment, the
October default of accounts behind in September, utilisation), checks the platform
scorecard on a hold-out, and writes a report (``report.md``, CSV tables, figures) to
``outputs/validation/<timestamp>/`` (or ``--out``).
The report's path is printed. See :mod:`sim.empirical.validation` for the definitions.

This is a plain command-line tool (not a Hydra job). Options are checked before anything
runs, with the same allowed values as runs (``--formats`` as ``output.formats``). Exit codes:

- 0: every target of the config met;
- 1: the model missed at least one target (a summary of the misses on standard error;
  the report lists them all and by how much). The tolerances are set for the config's
  size (the data's 30,000 accounts x 10 seeds): with ``--n-borrowers`` or ``--seeds``
  below it, the summary and the report say so, misses being expected sampling noise;
- 2: the validation could not run: a usage, config or data error, or a crash (one line
  on standard error, starting ``error:``).

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
from typing import Any

from experiments.cli import OneLineParser

#: Exit codes: targets met, targets missed, could not run.
MET, MISSED, COULD_NOT_RUN = 0, 1, 2
#: Misses listed on standard error (the report has all of them).
SHOWN_MISSES = 8


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m experiments.validate",
        description="Validate the simulator against the UCI data "
        "(out of sample: July -> October 2005).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="validation config (YAML; default conf/validation/uci_2005.yaml)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="number of seeds, >= 1 (default: the config's, 10; the targets' tolerances are "
        "set for the config's size: fewer seeds make misses of sampling noise expected)",
    )
    parser.add_argument(
        "--n-borrowers",
        type=int,
        default=None,
        help="borrowers per seed, >= 100 (default: the config's, 30,000 = the data's size; "
        "a smaller book makes misses of sampling noise expected)",
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
        "--formats",
        default="png",
        help="comma-separated figure formats, as output.formats of a run (default png)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    return parser


def check_options(args: argparse.Namespace) -> tuple[str, ...]:
    """Check the options up front; returns the figure formats.

    Raises:
        ValueError: naming the option and the allowed values.
    """
    from sim.config import OutputConfig

    for option, value, least in (
        ("--seeds", args.seeds, 1),
        ("--n-borrowers", args.n_borrowers, 100),
    ):
        if value is not None and value < least:
            raise ValueError(f"{option} must be >= {least}, got {value}")
    formats = tuple(f.strip().lstrip(".") for f in args.formats.split(",") if f.strip())
    if not formats:
        raise ValueError("--formats must name at least one format")
    try:
        OutputConfig(formats=list(formats))  # the formats runs accept
    except ValueError as exc:
        raise ValueError(f"--formats {args.formats!r}: {exc}") from None
    return formats


def _load(args: argparse.Namespace) -> tuple[Any, Any, Path, str]:
    """The validation config, the UCI table, the config's path and a reduced-size note.

    The note (:func:`sim.empirical.validation.reduced_size_note`) is "" unless
    ``--n-borrowers`` or ``--seeds`` is below the config file's value.
    """
    import yaml

    from sim.config import CONF_DIR
    from sim.empirical.validation import reduced_size_note, validation_config_from_dict
    from sim.world.data import load_uci

    path = args.config or Path(CONF_DIR) / "validation" / "uci_2005.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"--config: file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else ""
        raise ValueError(f"--config {path}: not a YAML file ({problem})") from None
    if not isinstance(values, dict):
        raise ValueError(f"--config {path}: not a mapping")
    configured = validation_config_from_dict(values)
    if args.seeds is not None:
        values.setdefault("validation", {})["seeds"] = args.seeds
    if args.n_borrowers is not None:
        values.setdefault("validation", {})["n_borrowers"] = args.n_borrowers
    config = validation_config_from_dict(values)
    return config, load_uci(args.data), path, reduced_size_note(config, configured)


def _check_memory(config: Any) -> None:
    """Refuse a book too large for this machine before simulating (as runs do).

    Raises:
        InsufficientMemoryError: the first seed's run would not fit in the available memory.
    """
    from sim.empirical.validation import validation_run_config
    from sim.runtime.resources import check_memory

    check_memory(validation_run_config(config))


def misses_summary(result: Any, report: Path, size_note: str = "") -> str:
    """A few lines: how many targets the model missed, the first ones, where the report is.

    ``size_note`` (a run below the configured size) follows the first line.
    """
    missed = result.missed
    checks = len(result.table[result.table["passed"].notna()])
    lines = [
        f"validation: the model missed {len(missed)} of {checks} statistic targets"
        + ("" if result.scorecard["auc_passed"] else ", the scorecard AUC")
        + ("" if result.scorecard["calibration_passed"] else ", the scorecard calibration")
        + ("" if result.accounts.get("passed") is not False else ", the account-level AUC")
        + " (the run finished: a model miss, not a crash)"
    ]
    if size_note:
        lines.append(f"  {size_note}")
    for row in missed.head(SHOWN_MISSES).itertuples():
        lines.append(
            f"  {row.stat}: simulated {row.sim_mean:.4f}, observed {row.observed:.4f} "
            f"({row.error_pp:+.2f} pp; tolerance {row.tolerance_pp:g} pp)"
        )
    if len(missed) > SHOWN_MISSES:
        lines.append(f"  ... and {len(missed) - SHOWN_MISSES} more")
    sc = result.scorecard
    if not sc["auc_passed"]:
        lines.append(f"  scorecard hold-out AUC {sc['auc']:.3f} < {sc['spec'].min_auc}")
    if not sc["calibration_passed"]:
        lines.append(
            f"  scorecard calibration error {sc['max_error_pp']:.2f} pp > tolerance "
            f"{sc['spec'].calibration_tolerance_pp:g} pp"
        )
    if result.accounts.get("passed") is False:
        accounts = result.accounts
        lines.append(
            f"  account-level {accounts['outcome']} AUC {accounts['checked_auc']:.3f} "
            f"< {accounts['min_auc']}"
        )
    lines.append(f"  report: {report}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validation; return the exit code (0 met, 1 targets missed, 2 could not run)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # usage errors exit 2 (one line), --help 0
        return int(exc.code or 0)
    out = args.out or Path("outputs") / "validation" / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        from sim.outputs.files import check_output_dir

        formats = check_options(args)
        config, uci, config_path, size_note = _load(args)
        _check_memory(config)
        check_output_dir(out, new_or_empty=True)  # last: it creates the folder
    except Exception as exc:  # any failure here means "could not run"
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return COULD_NOT_RUN

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    command = "python -m experiments.validate " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    try:
        from sim.empirical.validation import run_validation, write_validation_report

        result = run_validation(config, uci, progress=progress)
        report = write_validation_report(
            result,
            out,
            formats=formats,
            extra_notes=[f"Command: `{command.strip()}`; config `{config_path}`."],
            size_note=size_note,
        )
    except Exception as exc:  # a crash is "could not run", never a miss
        print(f"error: the validation could not run: {_one_line(exc)}", file=sys.stderr)
        return COULD_NOT_RUN
    print(report)
    if result.passed:
        print("all validation targets met" + f" ({size_note})" * bool(size_note), file=sys.stderr)
        return MET
    print(misses_summary(result, report, size_note), file=sys.stderr)
    return MISSED


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (a KeyError's quotes dropped)."""
    text = " ".join(str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc).split())
    return text if isinstance(exc, ValueError | OSError) else f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    try:
        code = main()
    except BaseException as exc:  # even an interrupt is "could not run"
        print(f"error: the validation could not run: {_one_line(exc)}", file=sys.stderr)
        code = COULD_NOT_RUN
    raise SystemExit(code)
