"""The waterfall and the funding of households' and firms' gaps; firms' debt repayment.

See :mod:`sim.lending.funding` for the steps of the waterfall and the reverse waterfall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.config import LIMIT_BASES
from sim.lending.channels import Channels, CreditInfo, any_over_channels
from sim.units import round_cny


def waterfall(
    gap_cny: np.ndarray, available_cny: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Fill each gap from the sources in order, each up to what it has available.

    Args:
        gap_cny: ``(n,)`` amounts to fund, >= 0.
        available_cny: one ``(n,)`` array per source, in waterfall order (negative
            values count as 0).

    Returns:
        ``(taken, unmet)``: ``taken[s]`` is ``(n,)`` the amount source ``s`` funds
        (rounded to 0.01), and ``unmet`` the remainder; ``sum(taken) + unmet == gap``.
    """
    remaining = round_cny(gap_cny)
    taken = []
    for avail in available_cny:
        take = round_cny(np.minimum(remaining, np.maximum(avail, 0.0)))
        remaining = round_cny(remaining - take)
        taken.append(take)
    return taken, remaining


def personal_lines(channels: Channels) -> np.ndarray:
    """``(k,)`` bool: the lenders that are the owner's personal credit lines.

    Licensed lenders sized on the owner's income (personal cards, consumer online
    lenders); informal (private) lending is open to every firm (CALIBRATION.md G8, G11:
    informal sources fund most of China's micro firms), so it is not counted here.
    """
    return np.array(
        [
            LIMIT_BASES[channels.limit_basis[c]] == "income"
            and not channels.config.lenders[name].private_lending
            for c, name in enumerate(channels.names)
        ],
        dtype=bool,
    )


def balance_weighted_apr(
    amounts_cny: Sequence[np.ndarray], apr: Sequence[float | np.ndarray]
) -> np.ndarray:
    """Balance-weighted APR of amounts borrowed from several sources.

    Args:
        amounts_cny: one ``(n,)`` array per source.
        apr: per source, its APR (annual fraction; a scalar or ``(n,)``).

    Returns:
        ``(n,)`` float64 ``sum(amount x apr) / sum(amount)``, NaN where nothing is borrowed.
    """
    num = sum(np.asarray(a) * np.asarray(r) for a, r in zip(amounts_cny, apr, strict=True))
    den = sum(np.asarray(a, dtype=np.float64) for a in amounts_cny)
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full(den.shape, np.nan), where=den > 0)


@dataclass
class HouseholdFunding:
    """Households' gaps funded on other channels (sparse: only the rows asked).

    Attributes:
        rows: ``(m,)`` int64 borrower rows that sought funding (distinct, ascending).
        needs_funded_cny: ``(m,)`` essential spending funded (added to consumption).
        wants_funded_cny: ``(m,)`` discretionary borrowing funded (added to consumption).
        fees_cny: ``(m,)`` upfront fees charged (added to the balances, not paid in cash).
        by_channel: ``(n_channels,)`` cash lent per channel.
        consumption_cny: ``(n_borrowers,)`` every household's consumption after this
            funding (the household stage's plus what other lenders funded); set by
            :func:`funding_stage`.
        unmet_need_cny: ``(n_borrowers,)`` essential spending still unfunded; set by
            :func:`funding_stage`.
        unmet_credit_cny: ``(n_borrowers,)`` credit wished for and not obtained from any
            lender; set by :func:`funding_stage`.
    """

    rows: np.ndarray
    needs_funded_cny: np.ndarray
    wants_funded_cny: np.ndarray
    fees_cny: np.ndarray
    by_channel: np.ndarray
    consumption_cny: np.ndarray | None = None
    unmet_need_cny: np.ndarray | None = None
    unmet_credit_cny: np.ndarray | None = None

    @property
    def draws_cny(self) -> np.ndarray:
        """``(m,)`` cash borrowed on other channels (needs + wants)."""
        return round_cny(self.needs_funded_cny + self.wants_funded_cny)


def fund_households(
    channels: Channels,
    rows: np.ndarray,
    needs_gap_cny: np.ndarray,
    wants_gap_cny: np.ndarray,
    info: CreditInfo,
    step: int,
) -> HouseholdFunding:
    """Fund households' unmet essential spending, then their borrowing wish, on channels.

    Essential gaps use the lenders with ``for_household_needs``, wishes those with
    ``for_household_wants``, each in waterfall order (a lender is asked only by the rows
    still short; an instant lender where a row holds no facility decides its application
    first, :meth:`sim.lending.channels.Channels.available_cash`). A wish is drawn in full
    on a facility already held and up to ``household_wants_seek_share`` of it at lenders
    where none is held (I2: the prime replace a cut line with cards they hold or get).
    Rows left with an essential gap apply to the lenders with an approval lag that serve
    needs.

    Args:
        channels: the other lenders (books updated in place).
        rows: ``(m,)`` distinct borrower rows with a gap.
        needs_gap_cny: ``(m,)`` essential spending not funded by cash or the platform.
        wants_gap_cny: ``(m,)`` borrowing wish to seek elsewhere.
        info: what lenders see about each borrower (``(n_borrowers,)`` arrays).
        step: simulated month.

    Returns:
        The :class:`HouseholdFunding` of ``rows``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    m = rows.shape[0]
    out = HouseholdFunding(rows, np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(channels.k))
    wish = round_cny(wants_gap_cny)
    seek = channels.config.household_wants_seek_share
    for gap, serves, target in (
        (needs_gap_cny, channels.for_household_needs, out.needs_funded_cny),
        (wish, channels.for_household_wants, out.wants_funded_cny),
    ):
        left = round_cny(gap)
        # A wish is drawn in full on a facility already held (a card in the wallet), but
        # only its seek share is applied for at a lender where none is held.
        new_left = round_cny(seek * left) if gap is wish else left.copy()
        if not serves.any() or not (left > 0).any():
            continue
        for c in np.flatnonzero(serves):
            live = np.flatnonzero(left > 0)
            if live.size == 0:
                break
            r = rows[live]
            asked = left[live]
            if gap is wish:
                asked = np.where(channels.holds(int(c), r, step), asked, new_left[live])
                keep = np.flatnonzero(asked > 0)
                live, r, asked = live[keep], r[keep], asked[keep]
            avail = channels.available_cash(int(c), r, info, step)
            (take,), _ = waterfall(asked, [avail])
            take = channels.ration(int(c), take)
            hit = take > 0
            if hit.any():
                out.fees_cny[live[hit]] += channels.draw(int(c), r[hit], take[hit])
                out.by_channel[c] += float(take.sum())
                target[live] += take
            left[live] = round_cny(left[live] - take)
            new_left[live] = round_cny(np.maximum(new_left[live] - take, 0.0))
        if serves is channels.for_household_needs:
            short = rows[left > 0]
            for c in np.flatnonzero(serves & (channels.approval_lag_months > 0)):
                channels.apply(int(c), short, info, step)
    out.needs_funded_cny = round_cny(out.needs_funded_cny)
    out.wants_funded_cny = round_cny(out.wants_funded_cny)
    out.fees_cny = round_cny(out.fees_cny)
    return out


@dataclass
class FirmFunding:
    """Firms' liquidity gaps funded through the waterfall, ``(n_firms,)`` each.

    Attributes:
        by_step: amount funded by each waterfall step (``own_cash``, ``platform`` and
            every lender of the channels, in order).
        fees_cny: upfront fees charged on channel draws (on the owners' balances).
        unmet_cny: the part of the gap no step funded.
    """

    by_step: dict[str, np.ndarray]
    fees_cny: np.ndarray
    unmet_cny: np.ndarray

    @property
    def funded_cny(self) -> np.ndarray:
        """Total funding received by each firm."""
        return round_cny(sum(self.by_step.values(), np.zeros_like(self.unmet_cny)))

    @property
    def channels_cny(self) -> np.ndarray:
        """Funding from the other lenders (not own cash, not the platform)."""
        total = np.zeros_like(self.unmet_cny)
        for name, v in self.by_step.items():
            if name not in ("own_cash", "platform"):
                total = total + v
        return round_cny(total)


def fund_firms(
    gap_cny: np.ndarray,
    *,
    owners: np.ndarray,
    owner_spare_cny: np.ndarray,
    platform_available_cny: np.ndarray,
    channels: Channels,
    info: CreditInfo,
    step: int,
    personal_ok: np.ndarray | None = None,
    platform_earmarked_cny: np.ndarray | None = None,
) -> FirmFunding:
    """Fund firms' liquidity gaps in the waterfall order of ``channels.config.order``.

    Channel draws are made on the owners' rows of the channel books (in place); the
    owner injections (``own_cash``) and platform draws are returned for the caller to
    post. Firms that needed more than own cash apply to the lenders with an approval
    lag (:meth:`sim.lending.channels.Channels.apply`): the facility funds next month at the
    earliest.

    Args:
        gap_cny: ``(n_firms,)`` liquidity gaps (0 for closed firms).
        owners: ``(n_firms,)`` the owners' borrower rows (distinct).
        owner_spare_cny: ``(n_firms,)`` owners' savings above their reserve.
        platform_available_cny: ``(n_firms,)`` undrawn platform limit of the owners.
        channels: the other lenders.
        info: what lenders see about each borrower (``(n_borrowers,)`` arrays).
        step: simulated month.
        personal_ok: ``(n_firms,)`` bool, the owner uses personal credit for the business:
            only these firms draw the platform line and the personal lines of
            :func:`personal_lines` (cards, consumer online lenders); all firms if None.
        platform_earmarked_cny: ``(n_firms,)`` the part of the owners' platform headroom
            earmarked for the firm (a peak-season tranche): a firm whose owner does not
            use personal credit draws the platform up to it (others up to the whole
            headroom); None for no earmarks.

    Returns:
        The :class:`FirmFunding`.
    """
    n = gap_cny.shape[0]
    personal = np.ones(n, dtype=bool) if personal_ok is None else np.asarray(personal_ok, bool)
    is_personal = personal_lines(channels)
    by_step = {
        name: np.zeros(n)
        for name in channels.config.order
        if name in ("own_cash", "platform") or name in channels.names
    }
    fees = np.zeros(n)
    rows = np.flatnonzero(gap_cny > 0)
    left = round_cny(gap_cny[rows])
    own_short = np.zeros(rows.size, dtype=bool)
    for name in by_step:
        if rows.size == 0:
            break
        if name == "own_cash":
            avail = owner_spare_cny[rows]
        elif name == "platform":
            tranche = 0.0 if platform_earmarked_cny is None else platform_earmarked_cny[rows]
            whole = platform_available_cny[rows]
            avail = np.where(personal[rows], whole, np.minimum(whole, tranche))
        else:
            c = channels.index(name)
            if not channels.for_firms[c]:
                continue
            if is_personal[c]:
                ask = personal[rows]
                avail = np.zeros(rows.size)
                avail[ask] = channels.available_cash(c, owners[rows[ask]], info, step, firm=True)
            else:
                avail = channels.available_cash(c, owners[rows], info, step, firm=True)
        if name not in ("own_cash", "platform"):
            avail = channels.ration(c, np.minimum(avail, left))
        (take,), left = waterfall(left, [avail])
        if name not in ("own_cash", "platform"):
            hit = take > 0
            if hit.any():
                fees[rows[hit]] += channels.draw(c, owners[rows[hit]], take[hit])
        by_step[name][rows] = take
        if name == "own_cash":
            own_short = left > 0
    unmet = np.zeros(n)
    unmet[rows] = left
    needed = owners[rows[own_short]]
    for c in np.flatnonzero(channels.for_firms & (channels.approval_lag_months > 0)):
        channels.apply(int(c), needed, info, step, firm=True)
    return FirmFunding(by_step=by_step, fees_cny=round_cny(fees), unmet_cny=round_cny(unmet))


def repay_firm_debts(
    excess_cny: np.ndarray,
    *,
    owners: np.ndarray,
    platform_business_cny: np.ndarray,
    platform_balance_cny: np.ndarray,
    platform_apr: np.ndarray,
    platform_open: np.ndarray,
    channels: Channels,
    prepay_share: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The reverse waterfall for firms: cash above the target buffer repays debt.

    ``prepay_share x excess`` repays, costliest first (carrying cost: APR + 12 x monthly
    fee), the owner's channel balances and the owner's platform balance up to what the
    firm drew on it (``platform_business_cny``; the platform ranks at the owner's own APR,
    before a channel of the same cost).

    Args:
        excess_cny: ``(n_firms,)`` cash above the target buffer (0 for closed firms).
        owners: ``(n_firms,)`` owner rows.
        platform_business_cny: ``(n_firms,)`` platform balance drawn for the firm.
        platform_balance_cny: ``(n_borrowers,)`` platform balances.
        platform_apr: ``(n_borrowers,)`` platform APRs.
        platform_open: ``(n_borrowers,)`` bool, platform line open (not defaulted).
        channels: the other lenders (repaid in place).
        prepay_share: share of the excess used, in [0, 1].

    Returns:
        ``(channel_repaid, platform_repaid)``, each ``(n_firms,)``; the caller posts the
        platform repayment and takes both from the firms' cash.
    """
    n = excess_cny.shape[0]
    channel_paid = np.zeros(n)
    platform_paid = np.zeros(n)
    rows = np.flatnonzero(excess_cny > 0)
    o = owners[rows]
    # Balances before any prepayment: a channel's balance changes only at its own turn.
    channel_balance = channels.balances(o)
    in_debt = (platform_business_cny[rows] > 0) | any_over_channels(channel_balance > 0)
    rows, o, channel_balance = rows[in_debt], o[in_debt], channel_balance[in_debt]
    if rows.size == 0:
        return channel_paid, platform_paid
    left = round_cny(prepay_share * excess_cny[rows])
    owed = np.where(
        platform_open[o], np.minimum(platform_business_cny[rows], platform_balance_cny[o]), 0.0
    )
    p_apr = platform_apr[o]
    p_done = np.zeros(rows.size, dtype=bool)
    p_paid = np.zeros(rows.size)
    c_paid = np.zeros(rows.size)
    for c in [*channels.costliest_first(), None]:
        first = ~p_done if c is None else ~p_done & (p_apr >= channels.carrying_apr[c])
        pay = round_cny(np.where(first, np.minimum(left, owed), 0.0))
        p_paid += pay
        left = round_cny(left - pay)
        p_done |= first
        if c is None:
            break
        # Only rows that owe this lender (a zero balance would be repaid nothing anyway).
        hit = (left > 0) & (channel_balance[:, c] > 0)
        if hit.any():
            got = channels.prepay(o[hit], left[hit], channels=[int(c)])
            c_paid[hit] += got
            left[hit] = round_cny(left[hit] - got)
    channel_paid[rows] = round_cny(c_paid)
    platform_paid[rows] = round_cny(p_paid)
    return channel_paid, platform_paid
