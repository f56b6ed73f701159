"""Compare the policies of a finished sweep: ``python -m experiments.compare SWEEP_DIR``.

Collects every complete run below ``SWEEP_DIR`` (folders with ``_COMPLETE.json``),
writes the report of :func:`sim.analysis.report.write_report` (``report.md``,
``report.html``, CSV tables, figures) to ``SWEEP_DIR/report`` (or ``--out``) and prints
the report's path, then the key numbers of the effects on the treated (when the runs
wrote per-agent tables).

This is a post-processing tool, not a Hydra job: it takes plain command-line options.
It says what it is doing on standard error, one line a step. When the policies of a
scenario ran different seed sets (a half-finished sweep) it warns naming each policy,
scenario and missing seed, and compares only the seeds every policy ran (``--seeds all``
compares every run, ``--seeds refuse`` stops).

Exit codes: 0 on success; 2 with a one-line message on standard error when the folder is
missing, holds no complete run, the baseline policy was not run, or seed sets are
unbalanced under ``--seeds refuse`` (and for usage errors, as argparse does).

Example::

    python -m experiments.compare multirun/2025-01-01/12-00-00 --method bootstrap
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from sim.analysis.compare import SEED_MODES, UnbalancedSeedsWarning, collect_runs
from sim.analysis.report import write_report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.compare",
        description="Compare credit-limit policies over the complete runs of a sweep.",
    )
    parser.add_argument("sweep_dir", type=Path, help="sweep folder (one sub-folder per run)")
    parser.add_argument("--baseline", default="static", help="policy the others are paired against")
    parser.add_argument(
        "--method",
        choices=("t", "bootstrap"),
        default="t",
        help="paired-difference interval: paired t-test or BCa bootstrap",
    )
    parser.add_argument(
        "--formats",
        default="png,svg",
        help="comma-separated figure formats (default png,svg)",
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="confidence level (default 0.95)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default SWEEP_DIR/report)"
    )
    parser.add_argument(
        "--seeds",
        choices=SEED_MODES,
        default="common",
        help="when policies ran different seeds (a half-finished sweep): compare only the "
        "seeds every policy ran (common, default), every run (all), or stop (refuse)",
    )
    return parser


def _say(message: str) -> None:
    """What the comparison is doing, on standard error (standard output is the path)."""
    print(f"compare: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; return the process exit code (0 ok, 2 on a data error)."""
    args = _parser().parse_args(argv)
    formats = tuple(f.strip().lstrip(".") for f in args.formats.split(",") if f.strip())
    if not formats:
        print("error: --formats must name at least one format", file=sys.stderr)
        return 2
    try:
        if args.sweep_dir.is_dir():
            _say(f"reading the runs in {args.sweep_dir} ...")
        t0 = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnbalancedSeedsWarning)
            tables = collect_runs(args.sweep_dir, seeds=args.seeds)
        for warning in caught:
            if issubclass(warning.category, UnbalancedSeedsWarning):
                print(f"warning: {warning.message}", file=sys.stderr, flush=True)
            else:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        _say(
            f"{len(tables.summary)} complete run(s): {len(tables.policies)} policies x "
            f"{len(tables.scenarios)} scenario(s) x {len(tables.seeds)} seed(s), read in "
            f"{time.monotonic() - t0:.1f} s"
        )
        if tables.incomplete:
            _say(f"skipped {len(tables.incomplete)} incomplete run folder(s)")
        out_dir = args.out if args.out is not None else args.sweep_dir / "report"
        _say(
            f"pairing every policy with {args.baseline!r} on each (scenario, seed), then "
            f"drawing the figures and writing the report to {out_dir} ..."
        )
        t0 = time.monotonic()
        report = write_report(
            tables,
            out_dir,
            baseline=args.baseline,
            formats=formats,
            method=args.method,
            confidence=args.confidence,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say(f"report written in {time.monotonic() - t0:.1f} s")
    print(report)
    key = report.parent / "key_numbers.txt"
    if key.is_file() and key.read_text(encoding="utf-8").strip():
        print("Effects on the borrowers cut (vs the same borrowers under the baseline):")
        print(key.read_text(encoding="utf-8").rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
