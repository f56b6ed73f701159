"""Audit a run's money from its saved files: ``python -m experiments.audit RUN_DIR``.

Re-checks every money identity month by month from the run's ``monthly.parquet``
(:func:`sim.outputs.audit.audit`) and prints one line per identity (its largest residual
and the month), then the months where an identity broke. Tolerance: 1e-6 CNY x
(borrowers + firms) per identity and month.

Exit codes: 0 every identity holds; 1 an identity is broken (named with its month);
2 the table cannot be read (one line on standard error), or a usage error.

Example::

    python -m experiments.audit outputs/default/2025-01-01_12-00-00
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.outputs.audit import AuditError, audit


def main(argv: Sequence[str] | None = None) -> int:
    """Audit one run folder; return the exit code (0 ok, 1 identity broken, 2 cannot read)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.audit",
        description="Re-check a run's money identities from its saved monthly table.",
    )
    parser.add_argument("run_dir", type=Path, help="run folder (or its monthly.parquet)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        result = audit(args.run_dir)
    except AuditError as exc:
        print(f"error: cannot audit: {exc}", file=sys.stderr)
        return 2
    print(result.report())
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
