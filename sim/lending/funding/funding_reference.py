"""Stage ``funding``'s waterfalls one borrower and one firm at a time: the per-agent reference.

The rules of :func:`sim.lending.funding.fund_households` and
:func:`sim.lending.funding.fund_firms` (and the lenders' ``available_cash``, ``rules_ok``,
``basis_limit``, ``approval_prob_of``, ``holds``, ``draw`` and ``apply`` they call) in
plain Python with Python floats: the oracle the tests compare the kernels with, and the
peer baseline of the benchmark. Not used in runs unless
``sim.compiled.set_implementation("reference")``.

Lenders are asked in waterfall order; within a lender's turn each row asks in turn. Three
things are lender-wide and kept as the NumPy pass does them, so that every result is the
same bits: a lender's capacity scales the requests by their sum (NumPy's pairwise sum of
the requests); the month totals of draws and fees are NumPy sums of the draws in row
order; and new accounts get their slots in borrower-row order once the turn's rows have
been decided. The lender factor's powers are NumPy's (its ``power`` can differ from the C
library's in the last bit). Rounding to the cent is ``round(x * 100) / 100``, as
:func:`sim.units.round_cny`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.config import LIMIT_BASES
from sim.lending.channels.records import NO_FACILITY
from sim.lending.funding.waterfall import FirmFunding, HouseholdFunding, personal_lines
from sim.units import DAYS_PER_MISS, cents

if TYPE_CHECKING:
    from sim.lending.channels import Channels, CreditInfo

__all__ = ["fund_firms_reference", "fund_households_reference"]


class _Turn:
    """Lender ``c``'s turn: its rules for one row at a time, fresh decisions kept aside."""

    def __init__(self, ch: Channels, c: int, info: CreditInfo, step: int, *, firm: bool):
        self.ch, self.c, self.info, self.step, self.firm = ch, c, info, step, firm
        self.basis = LIMIT_BASES[int(ch.limit_basis[c])]
        table = ch.firm_approval_prob if firm else ch.approval_prob
        self.prob = [float(p) for p in table[c]]
        self.powers = (ch.approval_lender_factor[c] ** np.arange(64, dtype=np.int64)).tolist()
        self.fresh: list[tuple[int, bool, float]] = []  # (row, approved, limit)

    def acc(self, field: str, row: int):
        """The row's account field on this lender (the blank slot's value without a slot)."""
        return self.ch._acc[field][int(self.ch.slot_of[row]), self.c]

    def put(self, field: str, row: int, value: object) -> None:
        """Write the row's account field (the row holds a slot)."""
        self.ch._acc[field][int(self.ch.slot_of[row]), self.c] = value

    def firm_value(self, row: int, values: np.ndarray, missing: object) -> object:
        """A firm array at the row's open firm (``missing`` without one)."""
        f = int(self.info.firm_of[row])
        if values.size == 0 or f < 0 or not self.info.firm_open[f]:
            return missing
        return values[f]

    def limit(self, row: int) -> float:
        """The lender's limit for the row: multiple x basis, capped, to the cent."""
        info, c = self.info, self.c
        if self.basis == "income":
            b = float(info.income_base_cny[row])
        elif self.basis == "revenue":
            b = float(self.firm_value(row, info.firm_revenue_cny, 0.0))
        elif self.firm_value(row, info.firm_anchor, False):
            b = float(self.firm_value(row, info.firm_receivables_cny, 0.0))
        else:
            b = 0.0
        return cents(min(float(self.ch.limit_multiple[c]) * b, float(self.ch.max_limit_cny[c])))

    def dpd_ok(self, row: int) -> bool:
        return int(self.info.missed[row]) * DAYS_PER_MISS <= int(self.ch.max_dpd[self.c])

    def rules_ok(self, row: int) -> bool:
        """Score, delinquency and history rules, no default on the lender."""
        info, ch, c = self.info, self.ch, self.c
        if self.basis == "income":
            history = int(info.history_months[row])
        else:
            history = int(self.firm_value(row, info.firm_age_months, -1))
        ok = (
            not self.acc("defaulted", row)
            and float(info.pd_12m[row]) < float(ch.max_pd_12m[c])
            and self.dpd_ok(row)
            and history >= int(ch.min_history_months[c])
        )
        return ok and (self.basis == "income" or history >= 0)

    def may_apply(self, row: int) -> bool:
        """No facility and no rejection within the reapply wait."""
        waited = self.step - int(self.acc("rejected_step", row))
        no_facility = int(self.acc("open_step", row)) == NO_FACILITY
        return no_facility and waited >= int(self.ch.reapply_after_months[self.c])

    def approved(self, row: int) -> bool:
        """This month's decision: the uniform below the band's probability, adjusted."""
        info, ch, c = self.info, self.ch, self.c
        if info.band is not None:
            band = int(info.band[row])
        elif info.band_bounds is None:
            band = 0
        else:
            pd_12m = float(info.pd_12m[row])
            band = int(pd_12m > info.band_bounds[0]) + int(pd_12m > info.band_bounds[1])
        lenders = 0 if info.lenders_count is None else int(info.lenders_count[row])
        p = self.prob[band] * self.powers[max(lenders - 1, 0)]
        if info.debt_service_ratio is not None:
            dsr = float(info.debt_service_ratio[row])
        elif info.debt_service_cny is None or info.income_cny is None:
            dsr = 0.0
        else:
            income = float(info.income_cny[row])
            dsr = float(info.debt_service_cny[row]) / (income if not income < 1.0 else 1.0)
        if not dsr <= float(ch.max_debt_service_ratio[c]):
            p = 0.0
        u = 0.0 if info.u_approval is None else float(info.u_approval[c, row])
        return u < p

    def decide(self, row: int) -> tuple[bool, float | None]:
        """Decide the row's application; returns (approved, the new limit of a fresh row)."""
        yes = self.approved(row)
        limit = self.limit(row) if yes else None
        self.ch._mark[row] = True
        if self.ch.slot_of[row] == 0:
            self.fresh.append((row, yes, 0.0 if limit is None else limit))
            return yes, limit
        if yes:
            self.put("open_step", row, self.step + int(self.ch.approval_lag_months[self.c]))
            self.put("limit_cny", row, limit)
        else:
            self.put("rejected_step", row, self.step)
        return yes, None

    def holds(self, row: int) -> bool:
        """The row holds a facility drawable now."""
        return int(self.acc("open_step", row)) <= self.step and not self.acc("defaulted", row)

    def available(self, row: int) -> float:
        """Cash the lender can lend the row now (after its upfront fee), to the cent below."""
        ch, c = self.ch, self.c
        line = None
        if ch.approval_lag_months[c] == 0:
            ok = self.rules_ok(row)
            held = int(self.acc("open_step", row)) <= self.step
            if ok and not held and self.may_apply(row):
                held, line = self.decide(row)
            ok = ok and held
            limit = self.limit(row)
            if ok and line is None and limit != self.acc("limit_cny", row):
                self.put("limit_cny", row, limit)
        else:
            ok = self.holds(row) and self.dpd_ok(row)
        line = float(self.acc("limit_cny", row)) if line is None else line
        headroom = max(line - float(self.acc("balance_cny", row)), 0.0)
        cash = math.floor(headroom / (1.0 + float(ch.upfront_fee_rate[c])) * 100.0 + 1e-7) / 100.0
        return cash if ok else 0.0

    def apply(self, row: int) -> None:
        """The row applies to the lender (one with an approval lag)."""
        if self.may_apply(row) and self.rules_ok(row):
            self.decide(row)

    def record_fresh(self) -> None:
        """Slots for the rows decided without one (row order) and their decisions."""
        ch, c = self.ch, self.c
        for row in sorted({row for row, _, _ in self.fresh}):
            ch._slots(np.array([row]))
        for row, yes, limit in self.fresh:
            if yes:
                self.put("open_step", row, self.step + int(ch.approval_lag_months[c]))
                self.put("limit_cny", row, limit)
            else:
                self.put("rejected_step", row, self.step)
            ch.touch(np.array([row]))
        self.fresh = []
        ch._rows, ch._sums = None, None

    def ration(self, requests: list[float]) -> list[float]:
        """The requests scaled down to the lender's capacity left (``Channels.ration``)."""
        if not requests:
            return requests
        granted = self.ch.ration(self.c, np.array(requests))
        return [float(g) for g in granted]

    def draw(self, row: int, amount: float) -> float:
        """Lend ``amount`` (> 0) to the row; returns the upfront fee."""
        ch, c = self.ch, self.c
        amount = cents(amount)
        fee = cents(float(ch.upfront_fee_rate[c]) * amount)
        self.put("balance_cny", row, cents(float(self.acc("balance_cny", row)) + amount + fee))
        ch.touch(np.array([row]))
        ch.interest_fees_total_cny[row] += fee
        return fee

    def post(self, amounts: list[float], fees: list[float]) -> None:
        """The lender's month totals of its draws (NumPy sums in row order)."""
        ch, c = self.ch, self.c
        total = float(np.array([cents(a) for a in amounts]).sum())
        ch.month.draws_cny[c] += total
        ch.month.upfront_fees_cny[c] += float(np.array(fees).sum())
        ch.lender_cash_cny[c] -= total
        ch.draws_total_cny[c] += total


def fund_households_reference(
    channels: Channels,
    rows: np.ndarray,
    needs_gap_cny: np.ndarray,
    wants_gap_cny: np.ndarray,
    info: CreditInfo,
    step: int,
) -> HouseholdFunding:
    """:func:`sim.lending.funding.fund_households`, one household at a time (same bits).

    Arguments, result and the books updated in place as
    :func:`sim.lending.funding.fund_households` (``(m,)`` arrays of the ``m`` rows, CNY).
    """
    ch = channels
    rows_list = [int(r) for r in rows]
    m = len(rows_list)
    funded = {"needs": [0.0] * m, "wants": [0.0] * m}
    fees, by_channel = [0.0] * m, np.zeros(ch.k)
    seek = float(ch.config.household_wants_seek_share)
    for purpose, gaps, serves in (
        ("needs", needs_gap_cny, ch.for_household_needs),
        ("wants", wants_gap_cny, ch.for_household_wants),
    ):
        wish = purpose == "wants"
        left = [cents(cents(float(g)) if wish else float(g)) for g in gaps]
        elsewhere = [cents(seek * x) for x in left] if wish else list(left)
        for c in range(ch.k):
            if not serves[c] or not any(x > 0 for x in left):
                continue
            turn = _Turn(ch, c, info, step, firm=False)
            asking, requests = [], []
            for j, row in enumerate(rows_list):
                if not left[j] > 0:
                    continue
                asked = left[j] if not wish or turn.holds(row) else elsewhere[j]
                if not asked > 0:
                    continue
                avail = turn.available(row)
                asking.append(j)
                requests.append(cents(min(cents(asked), max(avail, 0.0))))
            turn.record_fresh()
            granted = turn.ration(requests)
            drawn, drawn_fees = [], []
            for j, take in zip(asking, granted, strict=True):
                funded[purpose][j] += take
                if take > 0:
                    fee = turn.draw(rows_list[j], take)
                    fees[j] += fee
                    drawn.append(take)
                    drawn_fees.append(fee)
                left[j] = cents(left[j] - take)
                elsewhere[j] = cents(max(elsewhere[j] - take, 0.0))
            if drawn:
                by_channel[c] += float(np.array(granted).sum())
                turn.post(drawn, drawn_fees)
        if not wish and any(x > 0 for x in left):
            for c in range(ch.k):
                if serves[c] and ch.approval_lag_months[c] > 0:
                    turn = _Turn(ch, c, info, step, firm=False)
                    for j, row in enumerate(rows_list):
                        if left[j] > 0:
                            turn.apply(row)
                    turn.record_fresh()
    return HouseholdFunding(
        np.asarray(rows, dtype=np.int64),
        np.array([cents(x) for x in funded["needs"]]),
        np.array([cents(x) for x in funded["wants"]]),
        np.array([cents(x) for x in fees]),
        by_channel,
    )


def fund_firms_reference(
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
    """:func:`sim.lending.funding.fund_firms`, one firm at a time (same bits).

    Arguments, result and the books updated in place as :func:`sim.lending.funding.fund_firms`
    (``(n_firms,)`` arrays in CNY, one row per firm).
    """
    ch = channels
    n = gap_cny.shape[0]
    is_personal = personal_lines(ch)
    steps = [o for o in ch.config.order if o in ("own_cash", "platform") or o in ch.names]
    by_step = {name: np.zeros(n) for name in steps}
    fees, unmet = np.zeros(n), np.zeros(n)
    firms = [i for i in range(n) if gap_cny[i] > 0]
    left = {i: cents(float(gap_cny[i])) for i in firms}
    own_short: list[int] = []
    for name in steps if firms else []:
        if name in ("own_cash", "platform"):
            for i in firms:
                personal = personal_ok is None or bool(personal_ok[i])
                if name == "own_cash":
                    avail = float(owner_spare_cny[i])
                else:
                    avail = float(platform_available_cny[i])
                    if not personal:
                        tranche = (
                            0.0 if platform_earmarked_cny is None else platform_earmarked_cny[i]
                        )
                        avail = min(avail, float(tranche))
                take = cents(min(cents(left[i]), max(avail, 0.0)))
                left[i] = cents(cents(left[i]) - take)
                by_step[name][i] = take
            if name == "own_cash":
                own_short = [i for i in firms if left[i] > 0]
            continue
        c = ch.index(name)
        if not ch.for_firms[c]:
            continue
        turn = _Turn(ch, c, info, step, firm=True)
        requests = []
        for i in firms:
            asks = not is_personal[c] or personal_ok is None or bool(personal_ok[i])
            avail = turn.available(int(owners[i])) if asks else 0.0
            requests.append(min(avail, left[i]))
        turn.record_fresh()
        drawn, drawn_fees = [], []
        for i, granted in zip(firms, turn.ration(requests), strict=True):
            rest = cents(left[i])
            take = cents(min(rest, max(granted, 0.0)))
            left[i] = cents(rest - take)
            by_step[name][i] = take
            if take > 0:
                fee = turn.draw(int(owners[i]), take)
                fees[i] += fee
                drawn.append(take)
                drawn_fees.append(fee)
        if drawn:
            turn.post(drawn, drawn_fees)
    for i in firms:
        unmet[i] = left[i]
    for c in range(ch.k):
        if ch.for_firms[c] and ch.approval_lag_months[c] > 0:
            turn = _Turn(ch, c, info, step, firm=True)
            for i in own_short:
                turn.apply(int(owners[i]))
            turn.record_fresh()
    return FirmFunding(
        by_step=by_step,
        fees_cny=np.array([cents(x) for x in fees]),
        unmet_cny=np.array([cents(x) for x in unmet]),
    )
