"""The lenders' books over a month: opened at its start, serviced after settlement.

Servicing applies the month's payments on the platform's lines and on every other
lender's accounts: delinquency, default (the line closes with a ``CLOSED_AT_DEFAULT``
limit event), charge-off, interest and the new statement
(:func:`sim.lending.accounts.service_accounts`, :meth:`sim.lending.channels.Channels.service`).
Lenders per borrower and debt service across all lenders are updated for the score (M7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import compiled
from sim.lending.accounts import ServicingFlows, service_accounts
from sim.lending.accounts_reference import record_month_reference
from sim.lending.funding import MonthTransfers
from sim.lending.servicing_kernel import record_month_kernel
from sim.platform.policies.reasons import ReasonCode
from sim.units import round_cny
from sim.world.borrowers import (
    PAYMENT_HISTORY_MONTHS,
    STATEMENT_HISTORY_MONTHS,
    BorrowerState,
)

if TYPE_CHECKING:
    from sim.month import Month, World


def open_books_stage(world: World, month: Month) -> None:
    """Stage ``open_books``: the other lenders start the month; ``month.transfers`` zeroed."""
    world.channels.new_month()
    month.transfers = MonthTransfers.zeros(world.borrowers.n, world.firms.n)


def servicing_stage(world: World, month: Month) -> None:
    """Stage ``servicing``: writes ``month.servicing`` and ``month.accruing_balance_cny``.

    Updates the platform lines and their per-run accumulators, the other lenders' books,
    ``lenders_count`` and ``debt_service_cny``, and ``world.platform_cash_cny``; adds one
    ``CLOSED_AT_DEFAULT`` limit event per line closed at default.
    """
    s = world.borrowers
    pc = world.config.platform
    h, t = month.household, month.transfers
    owners = world.firms.owner
    _check_month_not_serviced(world, month.step)
    _check_no_draws_on_closed_lines(world, month)
    world.serviced_step = month.step
    accruing = float(s.balance_cny[s.is_open].sum())
    platform_paid = h.scheduled_payment_cny.copy()
    platform_paid[owners] = round_cny(platform_paid[owners] + t.firm_platform_repaid_cny)
    flows = service_accounts(
        s,
        platform_paid,
        step=month.step,
        lgd=pc.lgd,
        min_payment_rate=pc.min_payment_rate,
        min_payment_floor_cny=pc.min_payment_floor_cny,
        charge_off_dpd=pc.charge_off_dpd,
    )
    _record_month(s, month.step, platform_paid, h.early_repayment_cny, flows.interest_cny)
    del platform_paid
    month.accruing_balance_cny = accruing
    recoveries = flows.recoveries_cny.sum()
    closed = np.flatnonzero(flows.new_default)
    limit_closed = flows.limit_closed_cny[closed]
    # The rare flows at their rows only, before the other lenders' books are serviced.
    flows = MonthServicing.of(flows)

    world.channels.service(month.step)
    rows, channel_lenders, channel_dues = world.channels.row_totals()
    s.lenders_count[rows] += channel_lenders
    s.debt_service_cny[rows] = round_cny(s.min_due_cny[rows] + channel_dues)
    world.platform_cash_cny += float(
        h.repayments_cny.sum()
        + t.firm_platform_repaid_cny.sum()
        + recoveries
        - h.draws_cny.sum()
        - t.firm_platform_draws_cny.sum()
    )
    if closed.size:
        month.add_limit_events(
            closed,
            limit_closed,
            s.limit_cny[closed],
            np.full(closed.size, ReasonCode.CLOSED_AT_DEFAULT, dtype=np.int8),
        )
    month.servicing = flows


class MonthServicing:
    """The month's record of :class:`ServicingFlows`, its rare flows kept at their rows only.

    Defaults and charge-offs touch a few hundred of a million lines a month, so the five
    flows that are zero elsewhere (``ead_at_default_cny``, ``loss_at_default_cny``,
    ``write_off_cny``, ``recoveries_cny``, ``limit_closed_cny``) are kept as their
    non-zero rows and values (about 66 MB less at 1.65 M rows from servicing to the
    month's end). Reading one of them gives a new ``(n,)`` float64 array equal to the
    servicing stage's, bit for bit (its sums are the same); ``missed_now``,
    ``new_default`` and ``interest_cny`` are the stage's arrays.

    Attributes:
        missed_now, new_default: ``(n,)`` bool (see :class:`ServicingFlows`).
        interest_cny: ``(n,)`` float64 interest accrued this month, CNY.
        rare_rows: ``(k,)`` int64 rows where any of the rare flows is not ``+0.0``.
        rare_cny: ``(5, k)`` float64 the rare flows at those rows, in :attr:`RARE` order.
    """

    RARE: tuple[str, ...] = (
        "ead_at_default_cny",
        "loss_at_default_cny",
        "write_off_cny",
        "recoveries_cny",
        "limit_closed_cny",
    )

    def __init__(
        self,
        missed_now: np.ndarray,
        new_default: np.ndarray,
        interest_cny: np.ndarray,
        rare_rows: np.ndarray,
        rare_cny: np.ndarray,
    ) -> None:
        self.missed_now, self.new_default, self.interest_cny = missed_now, new_default, interest_cny
        self.rare_rows, self.rare_cny = rare_rows, rare_cny

    @classmethod
    def of(cls, flows: ServicingFlows) -> MonthServicing:
        """The record of ``flows`` (its dense rare flows may then be dropped)."""
        dense = [getattr(flows, name) for name in cls.RARE]
        # By their bits: a -0.0 is kept as it is (a dense read gives back +0.0 elsewhere).
        any_set = dense[0].view(np.int64) != 0
        for flow in dense[1:]:
            any_set |= flow.view(np.int64) != 0
        rows = np.flatnonzero(any_set)
        rare = np.stack([flow[rows] for flow in dense]) if rows.size else np.zeros((len(dense), 0))
        return cls(flows.missed_now, flows.new_default, flows.interest_cny, rows, rare)

    def dense(self, name: str) -> np.ndarray:
        """Rare flow ``name`` (one of :attr:`RARE`) as a new ``(n,)`` float64 array, CNY.

        Raises:
            ValueError: ``name`` is not one of :attr:`RARE`.
        """
        if name not in self.RARE:
            raise ValueError(f"MonthServicing.dense: {name!r} is not one of {self.RARE}")
        out = np.zeros(self.interest_cny.shape[0])
        out[self.rare_rows] = self.rare_cny[self.RARE.index(name)]
        return out

    ead_at_default_cny = property(lambda self: self.dense("ead_at_default_cny"))
    loss_at_default_cny = property(lambda self: self.dense("loss_at_default_cny"))
    write_off_cny = property(lambda self: self.dense("write_off_cny"))
    recoveries_cny = property(lambda self: self.dense("recoveries_cny"))
    limit_closed_cny = property(lambda self: self.dense("limit_closed_cny"))


def _record_month(
    s: BorrowerState, step: int, paid: np.ndarray, early: np.ndarray, interest: np.ndarray
) -> None:
    """Month-end record of the platform's lines: histories, accumulators, counts.

    Runs as :func:`sim.compiled.implementation` says (one fused kernel, these NumPy
    lines, or the per-row reference), with the same results.
    """
    how = compiled.implementation()
    if how == "compiled":
        record_month_kernel(
            np.asarray(paid, dtype=np.float64),
            np.asarray(early, dtype=np.float64),
            interest,
            s.statement_cny,
            s.payment_ratio,
            s.balance_cny,
            s.min_due_cny,
            s.defaulted,
            s.billed_cny,
            s.billed_recent_cny,
            s.payment_recent_cny,
            s.payment_ratio_recent,
            step % STATEMENT_HISTORY_MONTHS,
            step % PAYMENT_HISTORY_MONTHS,
            s.interest_total_cny,
            s.balance_month_sum_cny,
            s.lenders_count,
            s.debt_service_cny,
            s.mob,
            s.history_months,
        )
    elif how == "reference":
        record_month_reference(s, step, paid, early, interest)
    else:
        s.record_history(step, paid, early)
        s.interest_total_cny += interest
        s.balance_month_sum_cny += s.balance_cny
        s.lenders_count[:] = s.balance_cny > 0
        s.debt_service_cny[:] = s.min_due_cny
        s.mob += ~s.defaulted
        np.minimum(s.history_months + 1, 30_000, out=s.history_months)


def _check_month_not_serviced(world: World, step: int) -> None:
    """Raise if month ``step`` (or a later one) was serviced already: O(1)."""
    if step <= world.serviced_step:
        raise RuntimeError(
            f"servicing: month {step} cannot be serviced: the platform's lines and the other "
            f"lenders' books were serviced up to month {world.serviced_step} already; each "
            "month is serviced once, in order (again would charge interest twice)"
        )


def _check_no_draws_on_closed_lines(world: World, month: Month) -> None:
    """Raise if this month posted a platform draw on a closed line (defaulted or charged off).

    One vectorised pass over the month's draws (households', and firms' on their owners'
    lines).
    """
    s = world.borrowers
    drawn = month.household.draws_cny > 0
    firm_draws = month.transfers.firm_platform_draws_cny
    if firm_draws.size:
        drawn[world.firms.owner[firm_draws > 0]] = True
    bad = np.flatnonzero(drawn & s.defaulted)
    if bad.size:
        shown = bad[:10].tolist()
        raise RuntimeError(
            f"platform: month {month.step} posted draws on {bad.size} closed line(s) (borrower "
            f"rows {shown}{' ...' if bad.size > 10 else ''}, defaulted in month(s) "
            f"{sorted(set(s.default_step[bad[:10]].tolist()))}); a line closes at default and "
            "takes no more draws"
        )
