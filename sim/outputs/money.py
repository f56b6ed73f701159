"""The money identity's columns of the monthly table: every flow and stock that closes it.

Money is conserved across households, firms and lenders (``sim/model.py``): each month,

* the platform's book moves by draws + interest - repayments - write-offs;
* the other lenders' books (summed) move by draws + fees + interest - repayments -
  write-offs;
* households' savings move by income + platform draws - platform repayments - other
  lenders' repayments - consumption + other lenders' draws (spent at once: they are in
  consumption) + owners' draws from their firms - owners' injections into them;
* firms' cash moves by outside collections + network receipts + funding - fixed costs -
  outside and network supplier payments - debt repaid - owners' draws;
* the platform's cash moves by repayments + recoveries - draws, the other lenders' cash
  by repayments + recoveries - draws;
* households' savings + firms' cash + every lender's cash move only by the flows with
  the outside world: income - consumption + outside collections - outside supplier
  payments - fixed costs + recoveries + the savings new borrowers bring.

New borrowers' savings (``arrivals_savings_cny``) enter households' savings from
outside; a new firm's opening cash (``firm_entry_cash_cny``) moves from its owner's
savings to the firm.

The columns of :data:`MONEY_METRICS` (with the flows and stocks the monthly table already
carries) are enough to re-check each identity month by month from a saved
``monthly.parquet`` (:func:`sim.outputs.audit.audit`). Stocks are at the month's end;
``opening_<stock>`` is the same stock at the start of the month (before the first stage),
so the first month closes too. Every value is a sum over agent rows; ``n_borrowers`` and
``n_firms`` size the audit's tolerance. Amounts are CNY and 0.0 (never NaN) without firms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.month import Month, World

#: Stocks of the money identity (closing values; ``opening_<name>`` at the month's start).
MONEY_STOCKS: tuple[str, ...] = (
    "drawn_balance_cny",
    "channel_balance_cny",
    "savings_cny",
    "firm_cash_cny",
    "platform_cash_cny",
    "channel_lender_cash_cny",
)

#: Columns added to the monthly table for the money identity (after the firm metrics).
MONEY_METRICS: tuple[str, ...] = (
    "n_borrowers",
    "n_firms",
    *(f"opening_{name}" for name in MONEY_STOCKS),
    "firm_cash_cny",
    "platform_cash_cny",
    "channel_lender_cash_cny",
    "household_platform_draws_cny",
    "household_platform_repaid_cny",
    "firm_platform_repaid_cny",
    "channel_repayments_cny",
    "household_channel_repaid_cny",
    "firm_channel_repaid_cny",
    "firm_collections_cny",
    "firm_funded_cny",
    "firm_network_receipts_cny",
    "firm_network_paid_cny",
    "firm_outside_supplier_paid_cny",
    "firm_fixed_costs_paid_cny",
    "arrivals_savings_cny",
    "firm_entry_cash_cny",
)


def money_stocks(world: World, known: dict[str, float] | None = None) -> dict[str, float]:
    """The stocks of :data:`MONEY_STOCKS` now, CNY (reads only).

    The same sums whether taken at a month's start or end, so one month's closing value
    equals the next month's opening value. ``known``: stocks already summed now (e.g. by
    the monthly metrics), taken as they are.
    """
    s, ch = world.borrowers, world.channels
    known = known or {}
    sums = {
        "drawn_balance_cny": lambda: float(s.balance_cny.sum()),
        "channel_balance_cny": lambda: float(ch.balance_by_channel().sum()),
        "savings_cny": lambda: float(s.savings_cny.sum()),
        "firm_cash_cny": lambda: float(world.firms.cash_cny.sum()),
        "platform_cash_cny": lambda: float(world.platform_cash_cny),
        "channel_lender_cash_cny": lambda: float(ch.lender_cash_cny.sum()),
    }
    return {name: known[name] if name in known else value() for name, value in sums.items()}


def money_metrics(
    world: World,
    month: Month,
    opening: dict[str, float] | None,
    *,
    closing: dict[str, float] | None = None,
    flows: dict[str, float] | None = None,
) -> dict[str, float]:
    """This month's columns of :data:`MONEY_METRICS` (reads only).

    Args:
        world: the run's state after the month.
        month: the finished month.
        opening: :func:`money_stocks` taken before the month's first stage (the
            ``opening_`` columns are NaN without it).
        closing: stocks of :func:`money_stocks` already summed now (the rest are summed
            here).
        flows: :func:`sim.outputs.metrics.flow_totals` of the month if already taken (its
            platform draw and repayment totals are used).

    Returns:
        A dict keyed by :data:`MONEY_METRICS`.
    """
    t = month.transfers
    st, fm, ff = month.settlement, month.firm_month, month.firm_funding
    closing = money_stocks(world, known=closing)

    def total(x: object) -> float:
        return float(x.sum())  # type: ignore[attr-defined]

    def flow(name: str, x: object) -> float:
        """``flows[name]`` if taken, else the total of ``x`` (an array or a month's flow)."""
        if flows is not None:
            return flows[name]
        return float(month.total(x)) if isinstance(x, str) else total(x)

    return {
        "n_borrowers": int(world.borrowers.n),
        "n_firms": int(world.firms.n),
        **{
            f"opening_{name}": float("nan") if opening is None else opening[name]
            for name in MONEY_STOCKS
        },
        "firm_cash_cny": closing["firm_cash_cny"],
        "platform_cash_cny": closing["platform_cash_cny"],
        "channel_lender_cash_cny": closing["channel_lender_cash_cny"],
        "household_platform_draws_cny": flow("household_platform_draws_cny", "household.draws_cny"),
        "household_platform_repaid_cny": flow(
            "household_platform_repaid_cny", "household.repayments_cny"
        ),
        "firm_platform_repaid_cny": flow("firm_platform_repaid_cny", t.firm_platform_repaid_cny),
        "channel_repayments_cny": total(world.channels.month.payments_cny),
        "household_channel_repaid_cny": float(
            month.total("household.other_payment_cny")
            + month.total("transfers.household_prepay_cny")
        ),
        "firm_channel_repaid_cny": total(t.firm_channel_repaid_cny),
        "firm_collections_cny": total(fm.collections_cny),
        "firm_funded_cny": total(ff.funded_cny),
        "firm_network_receipts_cny": total(st.network_receipts_cny),
        "firm_network_paid_cny": total(st.supplier_paid_network_cny),
        "firm_outside_supplier_paid_cny": total(st.supplier_paid_outside_cny),
        "firm_fixed_costs_paid_cny": total(st.fixed_paid_cny),
        "arrivals_savings_cny": month.book.arrivals_savings_cny if month.book else 0.0,
        "firm_entry_cash_cny": month.book.firm_entry_cash_cny if month.book else 0.0,
    }
