"""Re-check a run's money identities from its saved monthly table alone.

:func:`audit` reads ``monthly.parquet`` of a run folder and recomputes, for every month,
the residual (CNY) of each identity of :data:`IDENTITIES`: each lender's book and cash,
households' savings, firms' cash, the whole system against the outside world
(see :mod:`sim.outputs.money`), the splits of lender flows by borrower, network payments,
and the continuity of every stock (a month opens with the previous month's closing value).

Tolerance: ``1e-6 CNY x (n_borrowers + n_firms)`` per identity and month
(:data:`TOLERANCE_CNY_PER_ROW`): each column is a float64 sum over agent rows of amounts in
whole cents, so its rounding error grows with the number of rows summed; a posting of one
cent anywhere is far above it for any book the model can hold in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.outputs.firm_metrics import FIRM_METRICS
from sim.outputs.money import MONEY_STOCKS

#: Tolerance per identity and month, CNY per agent row (borrowers + firms).
TOLERANCE_CNY_PER_ROW = 1e-6


@dataclass(frozen=True)
class Identity:
    """One identity: the change of some stocks over the month equals a signed sum of flows.

    Attributes:
        name: short name, as reported.
        meaning: one line saying what it checks.
        stocks: stocks whose change (closing - ``opening_`` column) is the left side.
        flows: ``(sign, column)`` pairs summed on the right side.
    """

    name: str
    meaning: str
    stocks: tuple[str, ...]
    flows: tuple[tuple[int, str], ...]


def _flows(text: str) -> tuple[tuple[int, str], ...]:
    """``"+ a - b"`` -> ``((1, "a"), (-1, "b"))``."""
    words = text.split()
    return tuple(
        (1 if sign == "+" else -1, col) for sign, col in zip(words[::2], words[1::2], strict=True)
    )


#: Every identity the audit checks, in report order.
IDENTITIES: tuple[Identity, ...] = (
    Identity(
        "platform_book",
        "platform balances move by draws + interest - repayments - write-offs",
        ("drawn_balance_cny",),
        _flows("+ draws_cny + interest_charged_cny - repayments_cny - write_off_cny"),
    ),
    Identity(
        "other_lenders_book",
        "other lenders' balances move by draws + fees + interest - repayments - write-offs",
        ("channel_balance_cny",),
        _flows(
            "+ channel_draws_cny + channel_fees_cny + channel_interest_cny"
            " - channel_repayments_cny - channel_write_off_cny"
        ),
    ),
    Identity(
        "platform_cash",
        "the platform's cash moves by repayments + recoveries - draws",
        ("platform_cash_cny",),
        _flows("+ repayments_cny + recoveries_cny - draws_cny"),
    ),
    Identity(
        "other_lenders_cash",
        "other lenders' cash moves by repayments + recoveries - draws",
        ("channel_lender_cash_cny",),
        _flows("+ channel_repayments_cny + channel_recoveries_cny - channel_draws_cny"),
    ),
    Identity(
        "households_savings",
        "savings move by income + draws - repayments - consumption + owners' draws - injections",
        ("savings_cny",),
        _flows(
            "+ income_cny + household_platform_draws_cny - household_platform_repaid_cny"
            " + household_channel_draws_cny - household_channel_repaid_cny - consumption_cny"
            " + owner_draw_cny - owner_injection_cny"
            " + arrivals_savings_cny - firm_entry_cash_cny"
        ),
    ),
    Identity(
        "firms_cash",
        "firms' cash moves by collections + receipts + funding - costs - payments - debt repaid",
        ("firm_cash_cny",),
        _flows(
            "+ firm_collections_cny + firm_network_receipts_cny + firm_funded_cny"
            " - firm_fixed_costs_paid_cny - firm_outside_supplier_paid_cny"
            " - firm_network_paid_cny - firm_channel_repaid_cny - firm_platform_repaid_cny"
            " - owner_draw_cny + firm_entry_cash_cny"
        ),
    ),
    Identity(
        "system",
        "savings + firms' cash + every lender's cash move only by flows with the outside world",
        ("savings_cny", "firm_cash_cny", "platform_cash_cny", "channel_lender_cash_cny"),
        _flows(
            "+ income_cny - consumption_cny + firm_collections_cny"
            " - firm_outside_supplier_paid_cny - firm_fixed_costs_paid_cny"
            " + recoveries_cny + channel_recoveries_cny + arrivals_savings_cny"
        ),
    ),
    Identity(
        "platform_draws_split",
        "platform draws = households' draws + firms' draws",
        (),
        _flows("+ draws_cny - household_platform_draws_cny - firm_platform_draws_cny"),
    ),
    Identity(
        "platform_repaid_split",
        "platform repayments = households' + firms' repayments",
        (),
        _flows("+ repayments_cny - household_platform_repaid_cny - firm_platform_repaid_cny"),
    ),
    Identity(
        "other_lenders_draws_split",
        "other lenders' draws = households' draws + firms' draws",
        (),
        _flows("+ channel_draws_cny - household_channel_draws_cny - firm_channel_draws_cny"),
    ),
    Identity(
        "other_lenders_repaid_split",
        "other lenders' repayments = households' + firms' repayments",
        (),
        _flows("+ channel_repayments_cny - household_channel_repaid_cny - firm_channel_repaid_cny"),
    ),
    Identity(
        "firm_funding_split",
        "firms' funding = owners' injections + platform draws + other lenders' draws",
        (),
        _flows(
            "+ firm_funded_cny - owner_injection_cny - firm_platform_draws_cny"
            " - firm_channel_draws_cny"
        ),
    ),
    Identity(
        "network_payments",
        "supply-network payments are one firm's outflow and another's receipt",
        (),
        _flows("+ firm_network_receipts_cny - firm_network_paid_cny"),
    ),
)


class AuditError(Exception):
    """The run's monthly table cannot be read or lacks the money columns."""


@dataclass
class AuditResult:
    """The residuals of every identity in every month.

    Attributes:
        path: the ``monthly.parquet`` audited.
        residuals: one row per identity and month: ``identity``, ``step``,
            ``residual_cny`` (stock change - flows, or opening - previous closing for
            ``continuity:<stock>``; NaN if a value is missing), ``tolerance_cny``, ``passed``.
    """

    path: Path
    residuals: pd.DataFrame

    @property
    def passed(self) -> bool:
        """Every identity held in every month."""
        return bool(self.residuals["passed"].all())

    @property
    def failures(self) -> pd.DataFrame:
        """The rows of :attr:`residuals` that broke the tolerance."""
        return self.residuals[~self.residuals["passed"]]

    def by_identity(self) -> pd.DataFrame:
        """One row per identity: largest absolute residual, its month, months broken."""
        r = self.residuals.assign(abs_cny=self.residuals["residual_cny"].abs().fillna(np.inf))
        worst = r.loc[r.groupby("identity", sort=False)["abs_cny"].idxmax()]
        broken = r.groupby("identity", sort=False)["passed"].apply(lambda p: int((~p).sum()))
        return pd.DataFrame(
            {
                "identity": worst["identity"].to_numpy(),
                "max_abs_residual_cny": worst["abs_cny"].to_numpy(),
                "at_step": worst["step"].to_numpy(),
                "tolerance_cny": worst["tolerance_cny"].to_numpy(),
                "months_broken": broken.loc[worst["identity"]].to_numpy(),
            }
        )

    def report(self, max_failures: int = 10) -> str:
        """A plain-text report: one line per identity, then the first failures."""
        lines = [f"audit of {self.path}"]
        for row in self.by_identity().itertuples():
            state = "ok" if row.months_broken == 0 else f"BROKEN in {row.months_broken} month(s)"
            lines.append(
                f"  {row.identity:34s} {state:22s} max |residual| {row.max_abs_residual_cny:.3g}"
                f" CNY (month {row.at_step}; tolerance {row.tolerance_cny:.3g} CNY)"
            )
        for row in self.failures.head(max_failures).itertuples():
            lines.append(
                f"broken: {row.identity} in month {row.step}: residual {row.residual_cny:.6f} CNY"
                f" (tolerance {row.tolerance_cny:.3g} CNY)"
            )
        if len(self.failures) > max_failures:
            lines.append(f"... and {len(self.failures) - max_failures} more")
        lines.append("all identities hold" if self.passed else "money identities broken")
        return "\n".join(lines)


def required_columns() -> list[str]:
    """Every column of the monthly table the audit reads."""
    cols = ["step", "n_borrowers", "n_firms"]
    for identity in IDENTITIES:
        cols += list(identity.stocks) + [f"opening_{s}" for s in identity.stocks]
        cols += [c for _, c in identity.flows]
    cols += [f"opening_{s}" for s in MONEY_STOCKS] + list(MONEY_STOCKS)
    return list(dict.fromkeys(cols))


def read_monthly(run_dir: str | os.PathLike[str]) -> tuple[Path, pd.DataFrame]:
    """The monthly table of a run folder (or a ``monthly.parquet`` path) with the audit's columns.

    Raises:
        AuditError: no such file, an unreadable file, or missing columns.
    """
    path = Path(run_dir)
    if not path.exists():
        raise AuditError(f"{path}: not found (give a run folder or its monthly.parquet)")
    if path.is_dir():
        path = path / "monthly.parquet"
    if not path.is_file():
        raise AuditError(f"{path}: no monthly table (give a run folder or its monthly.parquet)")
    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise AuditError(f"{path}: cannot read the table ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in required_columns() if c not in df.columns]
    if missing:
        raise AuditError(
            f"{path}: the money columns are missing ({', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); a run written before they were added "
            "cannot be audited"
        )
    if df.empty:
        raise AuditError(f"{path}: the monthly table has no rows")
    return path, df


def audit(run_dir: str | os.PathLike[str]) -> AuditResult:
    """Re-check every identity of :data:`IDENTITIES` and every stock's continuity, month by month.

    Args:
        run_dir: a run folder (holding ``monthly.parquet``) or the file itself.

    Returns:
        The :class:`AuditResult`; ``passed`` is False if any residual exceeds
        ``TOLERANCE_CNY_PER_ROW x (n_borrowers + n_firms)`` or is NaN.

    Raises:
        AuditError: the table cannot be read or lacks the money columns.
    """
    path, df = read_monthly(run_dir)
    df = df.sort_values("step", kind="stable").reset_index(drop=True)
    steps = df["step"].to_numpy()
    # Without firms the small-business columns are NaN by convention: no flow.
    no_firms = df["n_firms"].to_numpy() == 0
    values = {}
    for c in required_columns():
        x = df[c].to_numpy(dtype=np.float64)
        if c in FIRM_METRICS:
            x = np.where(no_firms & np.isnan(x), 0.0, x)
        values[c] = x
    tolerance = TOLERANCE_CNY_PER_ROW * (values["n_borrowers"] + values["n_firms"])
    parts = []
    for identity in IDENTITIES:
        residual = np.zeros(len(df))
        for stock in identity.stocks:
            residual += values[stock] - values[f"opening_{stock}"]
        for sign, col in identity.flows:
            residual -= sign * values[col]
        parts.append(_rows(identity.name, steps, residual, tolerance))
    for stock in MONEY_STOCKS:
        residual = values[f"opening_{stock}"][1:] - values[stock][:-1]
        parts.append(_rows(f"continuity:{stock}", steps[1:], residual, tolerance[1:]))
    return AuditResult(path=path, residuals=pd.concat(parts, ignore_index=True))


def _rows(name: str, steps: np.ndarray, residual: np.ndarray, tol: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "identity": name,
            "step": steps.astype(np.int64),
            "residual_cny": residual,
            "tolerance_cny": tol,
            "passed": np.abs(residual) <= tol,  # False for NaN
        }
    )
