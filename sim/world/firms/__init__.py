"""Micro-enterprises: sector table, firm state arrays and the monthly firm cash flow.

Every firm is owned by one borrower (a sole trader). Its numbers live in
:class:`FirmState` (one row per firm, structure of arrays); the Mesa
``MicroEnterprise`` agents (:mod:`sim.agents`) are thin row views. Money is
CNY float64, every posting rounded to 0.01 CNY; terms are whole months (30 days = 1).

One firm month has two halves around the funding waterfall (:mod:`sim.lending.funding`):

1. :func:`operate` (stage ``enterprise``): outside sales (sector level x seasonality x a
   persistent AR(1) and a transitory revenue shock), cash sales collected now, credit
   sales booked as receivables due after the sector's receivable terms; stock for the
   sales ``stock_lead_months`` ahead is bought now (a share from network suppliers, split
   by the trade shares of :mod:`sim.world.network`) and booked as payables due after the
   payable terms; fixed costs (rent, wages) fall due. The **liquidity gap** is what the
   obligations due this month exceed the cash plus this month's outside collections.
2. :func:`settle` (stage ``settlement``): with the funding received, fixed costs are paid
   first, then suppliers pro rata (a partial payment is a late payment; the unpaid part
   stays due as overdue). A firm's payments to network suppliers are their collections,
   credited at the end of the month (stress spreads one link a month). A firm in
   shortfall (bills left unpaid) for ``close_after_shortfall_months`` consecutive months
   closes (cause ``SHORTFALL``); an open firm also closes with the exit hazard of
   :mod:`sim.world.firms.exits` (cause ``DISTRESS`` for its distress part, ``EXIT`` for
   the non-financial part). A closing firm pays what it still owes from its cash, pro rata; the
   rest is written off (network suppliers lose it). A closed firm buys and sells nothing
   more but still collects its receivables, which go to its owner.

Cash buffer days (JPMorgan Chase Institute 2016) are ``average balance / average daily
outflow``; the month's average balance is taken as the mean of its opening cash (before
sales) and closing cash (after settlement, debt repayment and owner draws), the outflow
is the accrued operating outflows (purchases + fixed costs) averaged over the last
``outflow_window_months`` months, over ``DAYS_PER_MONTH`` days a month. Ahead of a
seasonal peak the firm buys the peak's stock and, with ``peak_prebuy_months``, the
season's stock after it in one go.

Money identity of a firm month (tested): ``cash_end = cash_start + collections +
network receipts + funding - fixed paid - supplier payments - debt repaid - owner draws``.

References:
    JPMorgan Chase Institute (2016). Cash is King: Flows, Balances, and Buffer Days.
    Knaup, A. E. (2005). Survival and longevity in the Business Employment Dynamics data.
    Monthly Labor Review, May 2005.
"""

from sim.world.firms.buffers import (
    cash_buffer_days,
    excess_cash,
    firm_signals,
    pay_owner_draws,
    update_buffer_days,
)
from sim.world.firms.building import build_firms
from sim.world.firms.exits import ExitModel
from sim.world.firms.operations import FirmMonth, enterprise_stage, operate
from sim.world.firms.sectors import SectorTable
from sim.world.firms.settlement import Settlement, settle
from sim.world.firms.state import DAYS_PER_MONTH, RING_MONTHS, ClosureCause, FirmState, floor_cents

__all__ = [
    "DAYS_PER_MONTH",
    "RING_MONTHS",
    "ClosureCause",
    "ExitModel",
    "FirmMonth",
    "FirmState",
    "SectorTable",
    "Settlement",
    "build_firms",
    "cash_buffer_days",
    "enterprise_stage",
    "excess_cash",
    "firm_signals",
    "floor_cents",
    "operate",
    "pay_owner_draws",
    "settle",
    "update_buffer_days",
]
