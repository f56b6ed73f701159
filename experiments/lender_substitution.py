"""Where cut borrowers go: ``python -m experiments.lender_substitution [--n N --seeds S]``.

Three paired comparisons under one seed (common random numbers), printed as a table:

1. ``behaviour_rules`` vs ``static``: borrowers cut under ``behaviour_rules``, split by
   their PD rank at the start (prime the best-scored 73 %, subprime the worst 15 %:
   CALIBRATION.md M1): change in their all-lender APR
   (interest and fees over the platform and every other lender / the balances they
   accrued on) and in unmet credit need (share of income), and their other lenders'
   balance.
2. Every fifth borrower's line cut by 75 % once after month 12 (the CFPB median cut,
   I2) vs ``static``, prime vs subprime: all-lender APR, unmet need, and the substitution
   share (extra other-lender balance per platform balance lost).
3. Every sole trader's line held at zero headroom (limit = balance, every month) vs
   ``static``: the substitution share, extra funding of firms' gaps by other lenders per
   CNY less from the platform.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from sim.empirical.substitution import measure_substitution


def main(argv: Sequence[str] | None = None) -> int:
    """Run the two comparisons and print their table."""
    p = argparse.ArgumentParser(prog="python -m experiments.lender_substitution")
    p.add_argument("--n", type=int, default=20_000, help="borrowers (default 20,000)")
    p.add_argument("--months", type=int, default=36, help="months (default 36)")
    p.add_argument("--seeds", type=int, default=2, help="seeds 0..S-1 (default 2)")
    p.add_argument("overrides", nargs="*", help="extra config overrides (key=value)")
    args = p.parse_args(argv)
    table = measure_substitution(
        n_borrowers=args.n, n_months=args.months, seeds=range(args.seeds), overrides=args.overrides
    )
    with np.printoptions(precision=4):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
