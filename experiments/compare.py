"""Compare the policies of a finished sweep: ``python -m experiments.compare SWEEP_DIR``.

Collects every complete run below ``SWEEP_DIR`` (folders with ``_COMPLETE.json``),
writes the report of :func:`sim.analysis.report.write_report` (``report.md``,
``report.html``, CSV tables, figures) to ``SWEEP_DIR/report`` (or ``--out``) and prints
the report's path, then the key numbers of the effects on the treated (when the runs
wrote per-agent tables).

This is a post-processing tool, not a Hydra job: it takes plain command-line options.
Exit codes: 0 on success; 2 with a one-line message on standard error when the folder is
missing, holds no complete run, or the baseline policy was not run (and for usage
errors, as argparse does).

Example::

    python -m experiments.compare multirun/2025-01-01/12-00-00 --method bootstrap
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.analysis.compare import collect_runs
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; return the process exit code (0 ok, 2 on a data error)."""
    args = _parser().parse_args(argv)
    formats = tuple(f.strip().lstrip(".") for f in args.formats.split(",") if f.strip())
    if not formats:
        print("error: --formats must name at least one format", file=sys.stderr)
        return 2
    try:
        tables = collect_runs(args.sweep_dir)
        out_dir = args.out if args.out is not None else args.sweep_dir / "report"
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
    if tables.incomplete:
        print(f"note: skipped {len(tables.incomplete)} incomplete run folder(s)", file=sys.stderr)
    print(report)
    key = report.parent / "key_numbers.txt"
    if key.is_file() and key.read_text(encoding="utf-8").strip():
        print("Effects on the borrowers cut (vs the same borrowers under the baseline):")
        print(key.read_text(encoding="utf-8").rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
