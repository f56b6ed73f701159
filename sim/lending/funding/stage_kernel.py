"""Stage ``funding`` compiled: the waterfalls' kernels and the stage's postings around them.

:func:`funding_compiled` is :func:`sim.lending.funding.funding_stage` with the waterfalls of
:mod:`sim.lending.funding.funding_kernel` and the stage's own array work as kernels: the
households' consumption and unmet credit after funding (one pass over every borrower, one
over the rows funded), the owners' spare savings and platform headroom before the firms'
waterfall and the postings after it (one pass over the firms each; a firm writes only its
own owner's row: one firm per owner; a firm without a gap, which the waterfall does not
touch, is posted in the first pass, so the second reads the firms with a gap alone). The
same operations in the same order as the NumPy pass, so the same bits, whatever the number
of threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import prange

from sim.compiled import kernel, round_cny_scalar
from sim.lending.funding.funding_kernel import fund_firms_compiled, fund_households_compiled
from sim.lending.funding.lender_kernel import _max0
from sim.units import round_cny
from sim.world.borrowers import RECENT_MONTHS

if TYPE_CHECKING:
    from sim.lending.channels import CreditInfo
    from sim.month import Month, World

__all__ = ["funding_compiled"]

#: The households' flows that funding changes, in place when released after it.
_FUNDED_IN_PLACE = ("consumption_cny", "unmet_need_cny", "unmet_credit_cny")


@kernel(parallel=True)
def _households_copy(  # noqa: PLR0913 - plain arrays (a prange kernel takes no tuples)
    consumption, unmet_need, unmet_credit, total, consumption_out, unmet_need_out, credit_out,
    copy,
):  # fmt: skip
    """Unfunded rows' credit added to ``total``; the flows copied into the ``_out`` arrays.

    The copy only if ``copy`` (the ``_out`` arrays are the flows themselves when funded in
    place). A row whose unmet credit is positive was funded (:func:`_households_post` adds
    its).
    """
    for i in prange(consumption.shape[0]):
        if copy:
            consumption_out[i] = consumption[i]
            unmet_need_out[i] = unmet_need[i]
            credit_out[i] = unmet_credit[i]
        if not unmet_credit[i] > 0:
            total[i] += unmet_credit[i]


@kernel(parallel=True)
def _households_post(  # noqa: PLR0913 - plain arrays
    rows, needs, needs_funded, wants_funded, fees, total, consumption, unmet_need, unmet_credit,
    draws_out, fees_out,
):  # fmt: skip
    """The funded rows' consumption, unmet need and credit; their credit added to ``total``."""
    for j in prange(rows.shape[0]):
        r = rows[j]
        drawn = round_cny_scalar(needs_funded[j] + wants_funded[j])
        draws_out[r] = drawn
        fees_out[r] = fees[j]
        consumption[r] = round_cny_scalar(consumption[r] + drawn)
        unmet_need[r] = round_cny_scalar(needs[j] - needs_funded[j])
        unmet_credit[r] = round_cny_scalar(unmet_credit[r] - drawn)
        total[r] += unmet_credit[r]


@kernel(parallel=True)
def _owners_before(  # noqa: PLR0913 - plain arrays
    owners, gap, months, income_base, savings, limit, balance, defaulted, closed, earmark,
    business, spare, available, earmarked, business_out,
):  # fmt: skip
    """Per firm with a gap: the owner's spare savings, open headroom and earmark within it.

    Spare: savings above ``months`` of base income; ``earmark``: the owners' earmarks. A
    firm without a gap (``not gap > 0``: the waterfall gives it nothing) is posted here,
    as :func:`_owners_after` would post its zero draws (its own cash, platform balance and
    earmark rounded, the earmark within the headroom), and its ``spare`` is 0.0 (unread).
    """
    for i in prange(owners.shape[0]):
        o = owners[i]
        headroom = _max0(limit[o] - balance[o])
        a = 0.0 if (defaulted[o] | closed[o]) else headroom
        available[i] = a
        e = earmark[o]
        e = e if (e <= a or e != e) else a
        earmarked[i] = e
        if gap[i] > 0:
            reserve = months * income_base[o]
            spare[i] = round_cny_scalar(_max0(savings[o] - reserve))
        else:
            spare[i] = 0.0
            _post_owner(o, i, 0.0, 0.0, e, business, savings, balance, earmark, business_out)


@kernel()
def _post_owner(o, i, injection, d, e, business, savings, balance, earmark, business_out):
    """Firm ``i``'s own cash ``injection`` and platform draw ``d`` on its owner ``o``'s row."""
    savings[o] = round_cny_scalar(savings[o] - injection)
    balance[o] = round_cny_scalar(balance[o] + d)
    business_out[i] = round_cny_scalar(business[i] + d)
    earmark[o] = round_cny_scalar(e - (d if (d <= e or d != d) else e))


@kernel(parallel=True)
def _owners_after(  # noqa: PLR0913 - plain arrays
    owners, gap, injection, draw, earmarked, business, step_row, savings, balance, earmark,
    draws_recent, months_since_draw, business_out,
):  # fmt: skip
    """Post the firms' own cash and platform draws on their owners' rows (firms with a gap).

    The firms without one were posted by :func:`_owners_before`.
    """
    for i in prange(owners.shape[0]):
        if not gap[i] > 0:
            continue
        o = owners[i]
        d = draw[i]
        _post_owner(o, i, injection[i], d, earmarked[i], business, savings, balance, earmark,
                    business_out)  # fmt: skip
        if d > 0:
            draws_recent[step_row, o] += 1
            months_since_draw[o] = 0


def funding_compiled(world: World, month: Month, info: CreditInfo) -> None:
    """The ``funding`` stage by the kernels (see :func:`sim.lending.funding.funding_stage`).

    Args:
        world: the run's state (borrowers, firms and the lenders' books updated in place).
        month: this month's record (``household_funding``, ``firm_funding`` and the
            funding fields of ``transfers`` written).
        info: what lenders see this month (:func:`sim.lending.funding.credit_info`).
    """
    s, f, h = world.borrowers, world.firms, month.household
    t, step = month.transfers, month.step
    rows = np.flatnonzero(h.unmet_credit_cny > 0)
    needs = h.unmet_need_cny[rows]
    wants = round_cny(np.maximum(h.unmet_credit_cny[rows] - needs, 0.0))
    hf = fund_households_compiled(world.channels, rows, needs, wants, info, step)
    n = h.consumption_cny.shape[0]
    in_place = all(month.freed_after(f"household.{x}", "funding") for x in _FUNDED_IN_PLACE)
    if in_place:
        # Nothing reads the households' flows before funding after this stage (the model
        # releases them): funded in place, one month's 24 bytes a row less at the peak.
        consumption, unmet_need, unmet_credit = (
            h.consumption_cny,
            h.unmet_need_cny,
            h.unmet_credit_cny,
        )
    else:
        consumption, unmet_need, unmet_credit = np.empty(n), np.empty(n), np.empty(n)
    total = s.unmet_need_total_cny
    _households_copy(
        h.consumption_cny, h.unmet_need_cny, h.unmet_credit_cny, total, consumption,
        unmet_need, unmet_credit, not in_place,
    )  # fmt: skip
    _households_post(
        hf.rows, needs, hf.needs_funded_cny, hf.wants_funded_cny, hf.fees_cny, total,
        consumption, unmet_need, unmet_credit, t.household_channel_draws_cny,
        t.household_channel_fees_cny,
    )  # fmt: skip
    hf.consumption_cny, hf.unmet_need_cny, hf.unmet_credit_cny = (
        consumption,
        unmet_need,
        unmet_credit,
    )
    month.household_funding = hf

    owners, nf = f.owner, f.n
    spare, available, earmarked = np.empty(nf), np.empty(nf), np.empty(nf)
    gap, business = month.firm_month.gap_cny, np.empty(nf)
    _owners_before(
        owners, gap, float(world.config.firms.owner_reserve_income_months),
        s.income_base_cny, s.savings_cny, s.limit_cny, s.balance_cny, s.defaulted, s.closed,
        s.earmarked_cny, f.platform_business_cny, spare, available, earmarked, business,
    )  # fmt: skip
    ff = fund_firms_compiled(
        gap,
        owners=owners,
        owner_spare_cny=spare,
        platform_available_cny=available,
        channels=world.channels,
        info=info,
        step=step,
        personal_ok=f.uses_personal_credit,
        platform_earmarked_cny=earmarked,
    )
    injection, platform_draw = ff.by_step["own_cash"], ff.by_step["platform"]
    _owners_after(
        owners, gap, injection, platform_draw, earmarked, f.platform_business_cny,
        step % RECENT_MONTHS, s.savings_cny, s.balance_cny, s.earmarked_cny, s.draws_recent,
        s.months_since_draw, business,
    )  # fmt: skip
    f.platform_business_cny = business
    t.owner_injection_cny = injection
    t.firm_platform_draws_cny = platform_draw
    t.firm_channel_draws_cny = ff.channels_cny
    t.firm_channel_fees_cny = ff.fees_cny
    month.firm_funding = ff
