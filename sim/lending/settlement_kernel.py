"""Debt repayment and owner pay of stage ``settlement`` compiled: numba kernels over rows.

After the firms settle (:func:`sim.world.firms.settle`), :func:`repay_compiled` runs the
rest of :func:`sim.lending.settlement.settlement_stage` with the same rules as its NumPy
passes, in the same order of floating-point operations, so the results are the same bits:

- per firm (``prange``; a firm writes only its own row, its owner's row and its owner's
  accounts: one firm per owner), the reverse waterfall of
  :func:`sim.lending.funding.repay_firm_debts` (the owner's platform balance drawn for the
  firm and the owner's channel balances, costliest first), the owner's draw and the
  month's cash buffer days;
- per household with channel accounts (``prange`` over the books' candidate rows), the
  prepayment of :meth:`sim.lending.channels.Channels.prepay` from savings above the cash
  reserve, costliest first.

Each channel's month total of payments is a NumPy sum over the rows that paid, in row
order, the very sequence the NumPy pass sums, so the totals do not depend on the number
of threads either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.lending.channels.dues_kernel import pay_in_order, post_payments
from sim.rows import flat_rows
from sim.world.firms.state import DAYS_PER_MONTH

if TYPE_CHECKING:
    from sim.month import Month, World

__all__ = ["repay_compiled"]


@kernel()
def _mean_outflow(hist, stride, months, i):
    """Firm ``i``'s average monthly outflow (``outflow_hist_cny.mean(axis=0)``).

    ``hist`` is the ``(months, n)`` history flat (:func:`sim.rows.flat_rows`), its month
    ``r`` at ``r * stride``.
    """
    total = hist[i]
    for r in range(1, months):
        total += hist[r * stride + i]
    return total / months


@kernel(parallel=True)
def _firms_repay(  # noqa: PLR0913 - a kernel takes plain arrays, one per field
    owners,
    is_open,
    cash,
    target_days,
    outflow_hist,
    outflow_stride,
    outflow_months,
    opening_cash,
    business_in,
    balance,
    apr,
    defaulted,
    closed,
    savings,
    slot_of,
    book_balance,
    book_paid,
    book_defaulted,
    order,
    carrying_apr,
    prepay_share,
    draw_rate,
    firm_pay,
    cash_out,
    business,
    channel_repaid,
    platform_repaid,
    owner_draw,
    buffer_days,
    open_months,
    buffer_days_sum,
):
    """The reverse waterfall, the owner's draw and the buffer days of every firm.

    ``firm_pay`` (``(k, n_firms)``, zeros in) gets each firm's prepayment of each channel.
    ``opening_cash`` has no rows when the buffer days measure the closing cash alone; an
    owner's platform line is open unless ``defaulted`` or ``closed``. ``outflow_hist`` is
    ``outflow_hist_cny`` flat (:func:`sim.rows.flat_rows`), with its stride and months.
    """
    for i in prange(owners.shape[0]):
        o = owners[i]
        # One index type (prange's index is typed both signed and unsigned): one version.
        mean = _mean_outflow(outflow_hist, outflow_stride, outflow_months, np.int64(i))
        target = round_cny_scalar(target_days[i] * mean / DAYS_PER_MONTH)
        excess = round_cny_scalar(max(cash[i] - target, 0.0)) if is_open[i] else 0.0
        s = np.uint64(slot_of[o])  # unsigned: no negative-index wraparound
        in_debt = excess > 0 and business_in[i] > 0
        if excess > 0:
            for c in range(book_balance.shape[1]):
                in_debt = in_debt or book_balance[s, c] > 0
        c_paid = 0.0
        p_paid = 0.0
        if in_debt:
            left = round_cny_scalar(prepay_share * excess)
            line_open = not (defaulted[o] | closed[o])
            owed = min(business_in[i], balance[o]) if line_open else 0.0
            p_done = False
            for j in range(order.shape[0] + 1):
                last = j == order.shape[0]
                c = 0 if last else order[j]
                first = not p_done and (last or apr[o] >= carrying_apr[c])
                pay = round_cny_scalar(min(left, owed) if first else 0.0)
                p_paid += pay
                left = round_cny_scalar(left - pay)
                p_done = p_done or first
                if last:
                    break
                if left > 0 and book_balance[s, c] > 0:
                    due = round_cny_scalar(0.0 if book_defaulted[s, c] else book_balance[s, c])
                    got = round_cny_scalar(min(max(round_cny_scalar(left) - 0.0, 0.0), due))
                    if got != 0:
                        book_balance[s, c] = round_cny_scalar(book_balance[s, c] - got)
                        book_paid[s, c] = round_cny_scalar(book_paid[s, c] + got)
                        firm_pay[c, i] = got
                    c_paid += got
                    left = round_cny_scalar(left - got)
        c_paid = round_cny_scalar(c_paid)
        p_paid = round_cny_scalar(p_paid)
        channel_repaid[i] = c_paid
        platform_repaid[i] = p_paid
        now = round_cny_scalar(cash[i] - c_paid - p_paid)
        balance[o] = round_cny_scalar(balance[o] - p_paid)
        business[i] = round_cny_scalar(business_in[i] - p_paid)
        # The owner's draw: a share of the cash above target, all the cash of a closed firm.
        if is_open[i]:
            draw = round_cny_scalar(draw_rate * round_cny_scalar(max(now - target, 0.0)))
        else:
            draw = round_cny_scalar(now)
        now = round_cny_scalar(now - draw)
        cash_out[i] = now
        owner_draw[i] = draw
        savings[o] = round_cny_scalar(savings[o] + draw)
        held = now if opening_cash.shape[0] == 0 else 0.5 * (opening_cash[i] + now)
        daily = mean / DAYS_PER_MONTH
        days = held / daily if daily > 0 else np.nan
        buffer_days[i] = days if is_open[i] else np.nan
        open_months[i] += is_open[i]
        if is_open[i] and np.isfinite(days):
            buffer_days_sum[i] += days
        else:
            buffer_days_sum[i] += 0.0


@kernel(parallel=True)
def _households_prepay(
    cand,
    savings,
    income_base,
    reserve_months,
    prepay_share,
    slot_of,
    book_balance,
    book_due,
    book_paid,
    book_defaulted,
    order,
    pay,
    prepaid,
):
    """Households repay channels from savings above their reserve, costliest first.

    ``pay`` (``(len(order), m)``, zeros in) gets each candidate's payment per channel
    in ``order``; ``prepaid`` (``(n_borrowers,)``) the total at the rows that prepaid.
    """
    k = order.shape[0]
    for j in prange(cand.shape[0]):
        r = cand[j]
        reserve = reserve_months * income_base[r]
        budget = round_cny_scalar(prepay_share * max(savings[r] - reserve, 0.0))
        if not budget > 0:
            continue
        s = np.uint64(slot_of[r])
        owes = False
        for c in range(book_balance.shape[1]):
            owes |= (book_balance[s, c] > 0) | (book_due[s, c] > 0)
        if not owes or k == 0:
            continue
        total = pay_in_order(
            s, round_cny_scalar(budget), order, book_balance, book_paid, book_due,
            book_defaulted, False, pay, j,
        )  # fmt: skip
        total = round_cny_scalar(total)
        savings[r] = round_cny_scalar(savings[r] - total)
        prepaid[r] = total


def repay_compiled(world: World, month: Month) -> None:
    """The stage after :func:`sim.world.firms.settle`, by the kernels of this module.

    Updates the firms' cash, platform business balance and buffer days, the owners'
    platform balances and savings, the households' savings, the channel books and the
    month's ``transfers`` exactly as :func:`sim.lending.settlement.settlement_stage` does.
    """
    s, f, ch = world.borrowers, world.firms, world.channels
    fc, cc, t = world.config.firms, world.config.channels, month.transfers
    order = ch.costliest_first()
    acc = ch._acc
    n = f.n
    opening = month.firm_month.opening_cash_cny
    opening = np.zeros(0) if opening is None else np.asarray(opening, dtype=np.float64)
    firm_pay = np.zeros((ch.k, n))
    cash, business = np.empty(n), np.empty(n)
    channel_repaid, platform_repaid, owner_draw = np.empty(n), np.empty(n), np.empty(n)
    buffer_days = np.empty(n)
    _firms_repay(
        f.owner,
        f.is_open,
        f.cash_cny,
        f.target_buffer_days,
        *flat_rows(f.outflow_hist_cny),
        f.outflow_hist_cny.shape[0],
        opening,
        f.platform_business_cny,
        s.balance_cny,
        s.apr,
        s.defaulted,
        s.closed,
        s.savings_cny,
        ch.slot_of,
        acc["balance_cny"],
        acc["paid_cny"],
        acc["defaulted"],
        np.array(order, dtype=np.int64),
        np.ascontiguousarray(ch.carrying_apr, dtype=np.float64),
        float(cc.prepay_excess_share),
        float(fc.owner_draw_rate),
        firm_pay,
        cash,
        business,
        channel_repaid,
        platform_repaid,
        owner_draw,
        buffer_days,
        f.open_months,
        f.buffer_days_sum,
    )
    # The firms' repayments, channel by channel costliest first, as the NumPy pass posts.
    for c in order:
        post_payments(ch, firm_pay[c : c + 1], [c], f.owner)
    f.cash_cny, f.platform_business_cny, f.buffer_days = cash, business, buffer_days
    t.firm_platform_repaid_cny = platform_repaid
    t.firm_channel_repaid_cny = channel_repaid
    t.owner_draw_cny = owner_draw
    # Households: the candidates of the books after the firms' repayments.
    cand = ch.candidates()
    pay = np.zeros((len(order), cand.size))
    _households_prepay(
        cand,
        s.savings_cny,
        s.income_base_cny,
        float(world.config.population.behaviour.cash_reserve_income_months),
        float(cc.prepay_excess_share),
        ch.slot_of,
        acc["balance_cny"],
        acc["min_due_cny"],
        acc["paid_cny"],
        acc["defaulted"],
        np.array(order, dtype=np.int64),
        pay,
        t.household_prepay_cny,
    )
    post_payments(ch, pay, order, cand)
