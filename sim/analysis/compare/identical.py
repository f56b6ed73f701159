"""Policies that made identical limit decisions (reported once, not as separate findings)."""

from __future__ import annotations

import pandas as pd

__all__ = ["identical_policies"]

_DECISIONS = ["borrower_id", "first_cut_step", "n_cuts", "n_raises", "limit_end_cny"]


def identical_policies(borrowers: pd.DataFrame) -> pd.DataFrame:
    """Policies that made identical limit decisions on every borrower of every seed.

    Two runs decided identically when every borrower's first cut month, number of cuts
    and raises and final limit agree (after sorting by ``borrower_id``).

    Returns:
        ``scenario, policies`` (tuple of names, sorted), one row per set of two or more
        policies run on the same seeds and identical on each.
    """
    missing = [c for c in ["policy", "scenario", "seed", *_DECISIONS] if c not in borrowers]
    if missing:
        raise ValueError(f"borrowers is missing column(s) {missing}")
    sig = []
    for (policy, scenario, seed), g in borrowers.groupby(
        ["policy", "scenario", "seed"], observed=True, sort=True
    ):
        g = g.sort_values("borrower_id")
        cols = g[_DECISIONS].reset_index(drop=True)
        digest = int(pd.util.hash_pandas_object(cols, index=False).sum())
        sig.append((str(policy), str(scenario), int(seed), digest))
    table = pd.DataFrame(sig, columns=["policy", "scenario", "seed", "digest"])
    rows = []
    for scenario, g in table.groupby("scenario", sort=True):
        signature = g.groupby("policy")[["seed", "digest"]].apply(
            lambda x: tuple(sorted(zip(x["seed"], x["digest"], strict=True)))
        )
        for _, names in signature.groupby(signature).groups.items():
            if len(names) > 1:
                rows.append((scenario, tuple(sorted(names))))
    return pd.DataFrame(rows, columns=["scenario", "policies"])
