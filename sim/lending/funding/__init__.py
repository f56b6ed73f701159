"""The funding waterfall: liquidity gaps funded cheapest source first, the rest unmet.

A gap is filled from the steps of ``channels.order`` in turn (mechanisms M6, M8, M9):

- ``own_cash``: for a firm, the owner's household savings above a reserve (an owner
  injection; the firm's own cash is already counted before the gap);
- ``platform``: the owner's platform line, up to the undrawn limit of an open line;
- each lender of :class:`sim.lending.channels.Channels` that serves the purpose, up to what it
  lends now (:meth:`sim.lending.channels.Channels.available_cash`; a lender with an approval lag
  only on a facility approved in an earlier month);
- what no step funds is **unmet**: a household cuts consumption, a firm pays suppliers
  late (:func:`sim.world.firms.settle`).

A borrower or firm that needed more than its own cash applies to the lenders with an
approval lag; an approved facility funds from the next month at the earliest.

Households reach the lenders only: their own cash and the platform line are used in the
household stage (:func:`sim.world.households.household_month`), whose unmet essential gap and
(a share of the) unmet borrowing wish come here. The reverse waterfall repays: spare cash
(a household's savings above its reserve, a firm's cash above its target buffer) repays
the costliest channels first (APR plus monthly fees), and a firm repays what it drew on its
owner's platform line.

The NumPy passes (:mod:`.waterfall`) are vectorised over the rows with a gap, looping only
over the handful of waterfall steps; :func:`funding_stage` runs as
:func:`sim.compiled.implementation` says: these passes, the numba kernels of each lender's
turn (:mod:`.lender_kernel`, :mod:`.funding_kernel`, :mod:`.stage_kernel`; a households'
round in one pass over every lender where none rations, :mod:`.round_kernel`) or the
per-household and per-firm reference (:mod:`.funding_reference`), with the same bits.
"""

from sim.lending.funding.stage import MonthTransfers, credit_info, funding_stage
from sim.lending.funding.waterfall import (
    FirmFunding,
    HouseholdFunding,
    balance_weighted_apr,
    fund_firms,
    fund_households,
    personal_lines,
    repay_firm_debts,
    waterfall,
)

__all__ = [
    "FirmFunding",
    "HouseholdFunding",
    "MonthTransfers",
    "balance_weighted_apr",
    "credit_info",
    "fund_firms",
    "fund_households",
    "funding_stage",
    "personal_lines",
    "repay_firm_debts",
    "waterfall",
]
