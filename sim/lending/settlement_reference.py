"""Debt repayment and owner pay of stage ``settlement``, one firm and one household at a time.

The rules of :func:`sim.lending.settlement.settlement_stage` after the firms settle, in
plain Python with Python floats: the oracle the tests compare the compiled kernels with,
and the peer baseline of the benchmark. Not used in runs unless
``sim.compiled.set_implementation("reference")``. Every account, balance and saving
equals the NumPy pass's to the bit; each channel's month total of payments (added here
one payment at a time, where NumPy adds pairwise) equals it to the cent.

Rounding to the cent is ``round(x * 100) / 100`` (half to even on the exact binary value,
as NumPy's ``rint``), so every amount equals :func:`sim.units.round_cny`'s to the bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.units import cents, sum_in_order
from sim.world.firms.state import DAYS_PER_MONTH

if TYPE_CHECKING:
    from sim.lending.channels import Channels
    from sim.month import Month, World

__all__ = ["repay_reference"]


def _repay_channel(ch: Channels, row: int, c: int, budget: float) -> float:
    """``row`` repays up to ``budget`` of its balance on channel ``c``; returns the payment.

    A defaulted balance is with collections and is not repaid. The payment is added to
    the channel's month totals and the lender's cash.
    """
    slot = int(ch.slot_of[row])
    balance, paid = ch._acc["balance_cny"], ch._acc["paid_cny"]
    owed = 0.0 if ch._acc["defaulted"][slot, c] else cents(float(balance[slot, c]))
    pay = cents(min(max(budget, 0.0), owed))
    if pay != 0:
        balance[slot, c] = cents(float(balance[slot, c]) - pay)
        paid[slot, c] = cents(float(paid[slot, c]) + pay)
        ch.month.payments_cny[c] += pay
        ch.lender_cash_cny[c] += pay
        ch.touch(np.array([row]))
    return pay


def repay_reference(world: World, month: Month) -> None:
    """The stage after :func:`sim.world.firms.settle`, one firm and one household at a time.

    Updates the same state as :func:`sim.lending.settlement.settlement_stage` (see there).
    """
    s, f, ch = world.borrowers, world.firms, world.channels
    share = float(world.config.channels.prepay_excess_share)
    draw_rate = float(world.config.firms.owner_draw_rate)
    t = month.transfers
    costliest = ch.costliest_first()
    opening = month.firm_month.opening_cash_cny
    n = f.n
    window = f.outflow_hist_cny.shape[0]
    cash, business, buffer_days = f.cash_cny.copy(), f.platform_business_cny.copy(), np.empty(n)
    channel_repaid, platform_repaid, owner_draw = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        owner = int(f.owner[i])
        is_open = bool(f.is_open[i])
        outflows = [float(x) for x in f.outflow_hist_cny[:, i]]
        mean = sum_in_order(outflows) / window
        target = cents(float(f.target_buffer_days[i]) * mean / DAYS_PER_MONTH)
        excess = cents(max(float(cash[i]) - target, 0.0)) if is_open else 0.0
        # The reverse waterfall: the owner's debts for the firm, costliest first; the
        # platform ranks at the owner's own APR, before a channel of the same cost.
        slot = int(ch.slot_of[owner])
        owes_channel = any(ch._acc["balance_cny"][slot, c] > 0 for c in range(ch.k))
        drawn = float(business[i])
        if excess > 0 and (drawn > 0 or owes_channel):
            left = cents(share * excess)
            line = float(s.balance_cny[owner])
            owed = min(drawn, line) if s.is_open[owner] else 0.0
            platform_paid, channel_paid, platform_done = 0.0, 0.0, False
            for c in [*costliest, None]:
                if not platform_done and (c is None or s.apr[owner] >= ch.carrying_apr[c]):
                    pay = cents(min(left, owed))
                    platform_paid += pay
                    left = cents(left - pay)
                    platform_done = True
                if c is None:
                    break
                if left > 0 and ch._acc["balance_cny"][slot, c] > 0:
                    got = _repay_channel(ch, owner, c, cents(left))
                    channel_paid += got
                    left = cents(left - got)
            channel_repaid[i] = cents(channel_paid)
            platform_repaid[i] = cents(platform_paid)
        now = cents(float(cash[i]) - channel_repaid[i] - platform_repaid[i])
        s.balance_cny[owner] = cents(float(s.balance_cny[owner]) - platform_repaid[i])
        business[i] = cents(drawn - platform_repaid[i])
        # The owner's draw: a share of the cash above target; all the cash of a closed firm.
        draw = cents(draw_rate * cents(max(now - target, 0.0))) if is_open else cents(now)
        owner_draw[i] = draw
        cash[i] = cents(now - draw)
        s.savings_cny[owner] = cents(float(s.savings_cny[owner]) + draw)
        # Buffer days on the month's average cash (opening and closing).
        held = cash[i] if opening is None else 0.5 * (float(opening[i]) + cash[i])
        daily = mean / DAYS_PER_MONTH
        days = held / daily if daily > 0 else math.nan
        buffer_days[i] = days if is_open else math.nan
        f.open_months[i] += is_open
        f.buffer_days_sum[i] += days if is_open and math.isfinite(days) else 0.0
    f.cash_cny, f.platform_business_cny, f.buffer_days = cash, business, buffer_days
    t.firm_platform_repaid_cny = platform_repaid
    t.firm_channel_repaid_cny = channel_repaid
    t.owner_draw_cny = owner_draw
    _households_prepay(world, month, costliest)


def _households_prepay(world: World, month: Month, costliest: list[int]) -> None:
    """Households repay other lenders from savings above their cash reserve, costliest first.

    A household pays each channel in turn what its budget leaves after the balances of
    the dearer channels (whether or not those were repaid).
    """
    s, ch = world.borrowers, world.channels
    months = float(world.config.population.behaviour.cash_reserve_income_months)
    share = float(world.config.channels.prepay_excess_share)
    for row in ch.candidates().tolist():
        reserve = months * float(s.income_base_cny[row])
        budget = cents(share * max(float(s.savings_cny[row]) - reserve, 0.0))
        slot = int(ch.slot_of[row])
        balance, due = ch._acc["balance_cny"], ch._acc["min_due_cny"]
        owes = any(balance[slot, c] > 0 or due[slot, c] > 0 for c in range(ch.k))
        if not (budget > 0 and owes):
            continue
        dearer, paid = 0.0, 0.0
        for q, c in enumerate(costliest):
            owed = 0.0 if ch._acc["defaulted"][slot, c] else cents(float(balance[slot, c]))
            dearer += owed
            pay = _repay_channel(ch, row, c, budget - cents(dearer - owed))
            paid = pay if q == 0 else paid + pay
        paid = cents(paid)
        s.savings_cny[row] = cents(float(s.savings_cny[row]) - paid)
        month.transfers.household_prepay_cny[row] = paid
