"""What the UCI default flag measures: the data's own evidence, computed from the bundled file.

The data README reads ``default payment next month`` as a missed October 2005 payment. The
same data show that the flag is not only that: accounts with nothing due on the October
payment (September bill <= 0) and accounts never billed in the six months are flagged at
rates far above the monthly rate at which current accounts fall behind. A payment on this
card cannot be missed where nothing is due, so for those accounts the flag records
something the card's payment codes do not (another product, a later horizon, or the
issuer's own criteria; the data do not say which).

For accounts behind it is not the next payment either. Of the accounts behind two months
running, 84-85 % are still behind the month after in every month pair of April-August; of
the accounts behind in August and September, only 58 % (72 % reading September's code 1
as revolving) are flagged. The flag of newly behind accounts is instead higher than their
persistence (58-66 % flagged; 45-51 % of new delinquency is still behind a month later).

The validation therefore checks the simulator's risk **levels and gradients on the payment
outcome the data observe out of sample** (the August status of the accounts started in
July, by segment, and the month-to-month transitions) and reports the flag's levels, for
accounts behind too, beside the simulated missed-payment rates, with this table as the
reason.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.empirical.validation.panel import _D, uci_status_group
from sim.platform.scorecard import TARGET_COLUMN
from sim.world.population import BILL_COLUMNS, STATUS_COLUMNS

__all__ = ["flag_evidence", "flag_lines", "monthly_new_delinquency"]


def monthly_new_delinquency(uci: pd.DataFrame) -> pd.Series:
    """Share of the accounts current in a month (groups P, R) that are behind the next.

    Args:
        uci: the UCI table (``PAY_*`` and ``BILL_AMT*`` columns).

    Returns:
        Series indexed by ``"april->may"`` .. ``"august->september"``, fractions.
    """
    months = ("september", "august", "july", "june", "may", "april")  # column order
    groups = [
        uci_status_group(uci[s].to_numpy(), uci[b].to_numpy(np.float64))
        for s, b in zip(STATUS_COLUMNS, BILL_COLUMNS, strict=True)
    ]
    out = {}
    for k in range(len(groups) - 1, 0, -1):
        before, after = groups[k], groups[k - 1]
        current = before != _D
        out[f"{months[k]}->{months[k - 1]}"] = float((after[current] == _D).mean())
    return pd.Series(out, name="new_delinquency")


def flag_evidence(uci: pd.DataFrame) -> pd.DataFrame:
    """Flag rate of segments that can and cannot miss an October payment on this card.

    Args:
        uci: the UCI table (``PAY_*``, ``BILL_AMT*`` and the flag column).

    Returns:
        DataFrame with columns ``segment``, ``accounts``, ``flag_rate`` (fraction),
        ``payment_due_in_october`` (False where nothing is billed for October, so a missed
        October payment is impossible) and ``behind_next_month_in_sample`` (for the two
        segments of accounts behind: the share of such accounts still behind the next
        month, pooled over April-May-June to June-July-August; NaN elsewhere), one row per
        segment: all accounts; September bill <= 0; no bill in any of the six months;
        never behind in the six months; September group P, R and D; behind in August and
        September; behind in September, not in August.

    Raises:
        KeyError: a required column is missing.
    """
    y = uci[TARGET_COLUMN].to_numpy().astype(bool)
    bills = uci[list(BILL_COLUMNS)].to_numpy(np.float64)
    status = uci[list(STATUS_COLUMNS)].to_numpy()
    september = uci_status_group(status[:, 0], bills[:, 0])
    august = uci_status_group(status[:, 1], bills[:, 1])
    old_rate, new_rate = _persistence(status, bills)
    segments = [
        ("all accounts", np.ones(len(uci), bool), True),
        ("September bill <= 0 (nothing due in October)", bills[:, 0] <= 0, False),
        ("no bill in any of the six months", (bills <= 0).all(axis=1), False),
        ("never behind in the six months", (status <= 0).all(axis=1), True),
        ("September group P", september == 0, True),
        ("September group R", september == 1, True),
        ("September group D", september == _D, True),
        ("behind in August and September", (august == _D) & (september == _D), True),
        ("behind in September, not in August", (august != _D) & (september == _D), True),
    ]
    in_sample = {
        "behind in August and September": old_rate,
        "behind in September, not in August": new_rate,
    }
    return pd.DataFrame(
        [
            {
                "segment": name,
                "accounts": int(mask.sum()),
                "flag_rate": float(y[mask].mean()) if mask.any() else float("nan"),
                "payment_due_in_october": due,
                "behind_next_month_in_sample": in_sample.get(name, float("nan")),
            }
            for name, mask, due in segments
        ]
    )


def _persistence(status: np.ndarray, bills: np.ndarray) -> tuple[float, float]:
    """Share still behind a month later: accounts behind two months running, newly behind.

    Pooled over the month triples April-May-June, May-June-July and June-July-August
    (columns are September first, so column 5 is April); NaN where no account qualifies.
    """
    groups = [uci_status_group(status[:, k], bills[:, k]) == _D for k in range(6)]
    old = new = old_hit = new_hit = 0
    for k in (5, 4, 3):  # April, May, June as the first month of the triple
        g0, g1, g2 = groups[k], groups[k - 1], groups[k - 2]
        old += int((g0 & g1).sum())
        old_hit += int((g0 & g1 & g2).sum())
        new += int((~g0 & g1).sum())
        new_hit += int((~g0 & g1 & g2).sum())
    return (old_hit / old if old else float("nan")), (new_hit / new if new else float("nan"))


def flag_lines(
    flag: pd.DataFrame, new_delinquency: pd.Series, markdown: Callable[[pd.DataFrame], str]
) -> list[str]:
    """Report section: what the default flag measures (:func:`flag_evidence`).

    Args:
        flag: :func:`flag_evidence` output.
        new_delinquency: :func:`monthly_new_delinquency` output.
        markdown: the report's table formatter (DataFrame -> Markdown string).

    Returns:
        Markdown lines (empty if ``flag`` is empty).
    """
    if flag.empty:
        return []
    shown = flag.assign(
        flag_rate=[f"{100 * v:.1f} %" for v in flag["flag_rate"]],
        behind_next_month_in_sample=[
            "" if np.isnan(v) else f"{100 * v:.1f} %" for v in flag["behind_next_month_in_sample"]
        ],
        payment_due_in_october=["yes" if v else "no" for v in flag["payment_due_in_october"]],
    )
    low, high = 100 * new_delinquency.min(), 100 * new_delinquency.max()
    return [
        "## What the default flag measures",
        "",
        "The data's `default payment next month` flag is read as a missed October payment; the "
        "same data show it is not only that. Where nothing is billed for October no payment "
        "on this card can be missed, yet those accounts are flagged at the rates below, and "
        f"accounts that are current fall behind at {low:.1f}-{high:.1f} % a month in the data "
        "(April-September). For accounts behind it is not their next payment either: accounts "
        "behind two months running are still behind a month later far more often than "
        "those behind in August and September are flagged, and newly behind accounts less "
        "often (last column). The simulator's October default is a missed October minimum "
        "payment (or a line already in default), so the flag's levels are reported beside "
        "it, not checked; risk levels and gradients by segment are checked on the payment "
        "outcome the data observe out of sample (`behind august by ...`, the transitions; "
        "September's rows are reported, its code 1 being ambiguous).",
        "",
        markdown(shown),
        "",
    ]
