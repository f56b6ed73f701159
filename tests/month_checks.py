"""The money identities and state invariants of one month, for any valid config.

The identities are those of ``tests/test_model.py::step_with_checks``, replicated with one
change: the tolerance of a sum grows with the amounts summed (a few ULPs of their total),
because a valid config may make amounts of 1e10 CNY (a firm revenue multiple of up to
1e6), where two orders of summation of the same cents differ by more than the fixed 1e-6
CNY of the original. At default amounts the tolerances are the same as there.

Beyond those: no negative or -0.0 balance, limit, due, savings or firm cash (``np.signbit``);
every amount finite; DPD = 30 x missed; defaulted iff missed >= 3; charged off only if
defaulted; PD in [0, 1]; on the platform's book and on every lender's.
"""

from __future__ import annotations

import numpy as np

from sim.model import CreditMarketModel
from sim.units import DAYS_PER_MISS, MISSES_TO_DEFAULT

ULPS = 64 * np.finfo(np.float64).eps


def _tol(base: float, *terms) -> float:
    """``base`` plus a few ULPs of the total size of the terms summed."""
    return base + ULPS * sum(float(np.abs(t).sum()) for t in terms)


def _rows_tol(base: float, *terms) -> np.ndarray:
    return base + ULPS * sum(np.abs(t) for t in terms)


def _rows(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask)[:5].tolist()


def _close(label: str, actual, expected, tol) -> None:
    gap = np.abs(np.asarray(actual) - np.asarray(expected))
    bad = ~(gap <= tol)
    assert not np.any(bad), (
        f"{label}: off by {np.max(gap)} (tolerance {np.min(tol)}) at {_rows(np.atleast_1d(bad))}"
    )


def step_and_check(model: CreditMarketModel) -> None:
    """Step one month and check the identities of step_with_checks (scaled tolerances)."""
    s, firms, ch = model.borrowers, model.firms, model.channels
    balance_before = s.balance_cny.copy()
    savings_before = s.savings_cny.copy()
    cash_before = firms.cash_cny.copy()
    channel_before = ch.table("balance_cny")
    system_before = (
        s.savings_cny.copy(),
        firms.cash_cny.copy(),
        model.platform_cash_cny,
        ch.lender_cash_cny.copy(),
    )
    missed_before = s.missed.copy()
    defaulted_before = s.defaulted.copy()
    model.release_month_fields = False  # the identities read the month's flows row by row
    model.step()
    m = model.month
    h, f, t = m.household, m.servicing, m.transfers
    fm, ff, st, cm = m.firm_month, m.firm_funding, m.settlement, ch.month
    consumption = m.household_funding.consumption_cny
    # Platform book: balance change = draws + interest - repayments - write-offs.
    flows = (h.draws_cny, t.firm_platform_draws_cny, f.interest_cny)
    outflows = (h.repayments_cny, t.firm_platform_repaid_cny, f.write_off_cny)
    delta = s.balance_cny.sum() - balance_before.sum()
    net = sum(x.sum() for x in flows) - sum(x.sum() for x in outflows)
    _close(
        "platform book", delta, net, _tol(1e-6, s.balance_cny, balance_before, *flows, *outflows)
    )
    # Every other lender's book.
    channel_after = ch.table("balance_cny")
    plus = (cm.draws_cny, cm.upfront_fees_cny, cm.interest_cny, cm.monthly_fees_cny)
    minus = (cm.payments_cny, cm.write_off_cny)
    expected_ch = channel_before.sum(axis=0) + sum(plus) - sum(minus)
    size = np.abs(channel_after).sum(axis=0) + np.abs(channel_before).sum(axis=0)
    size = size + sum(np.abs(x) for x in plus + minus)
    _close("lender books", channel_after.sum(axis=0), expected_ch, 1e-6 + ULPS * size)
    # Households, per borrower.
    owner_draw = t.per_borrower("owner_draw_cny", firms.owner)
    owner_injection = t.per_borrower("owner_injection_cny", firms.owner)
    terms = (h.income_cny, h.draws_cny, t.household_channel_draws_cny, owner_draw)
    spent = (h.repayments_cny, h.other_payment_cny, consumption, owner_injection)
    spent += (t.household_prepay_cny,)
    expected = savings_before + sum(terms) - sum(spent)
    _close("savings", s.savings_cny, expected, _rows_tol(0.011, savings_before, *terms, *spent))
    # Firms, per firm.
    income = (fm.collections_cny, st.network_receipts_cny, ff.funded_cny)
    costs = (st.fixed_paid_cny, st.supplier_paid_outside_cny, st.supplier_paid_network_cny)
    costs += (t.firm_channel_repaid_cny, t.firm_platform_repaid_cny, t.owner_draw_cny)
    expected_cash = cash_before + sum(income) - sum(costs)
    _close(
        "firm cash", firms.cash_cny, expected_cash, _rows_tol(0.011, cash_before, *income, *costs)
    )
    np.testing.assert_array_equal(ff.by_step["own_cash"], t.owner_injection_cny)
    assert (owner_draw[firms.owner] == t.owner_draw_cny).all()
    # Sparse per-borrower channel totals equal the full sums over the channel tables.
    ch_balance = ch.table("balance_cny")
    _close(
        "channel balance totals",
        ch.balance_total(),
        ch_balance.sum(axis=1),
        _rows_tol(1e-6, ch_balance.sum(axis=1)),
    )
    _close("channel due totals", ch.due_total(), ch.table("min_due_cny").sum(axis=1), 0.006)
    np.testing.assert_array_equal(ch.lenders_count(), (ch_balance > 0).sum(axis=1))
    # The whole system (households + firms + lenders' cash) against the outside world.
    after = (s.savings_cny, firms.cash_cny, model.platform_cash_cny, ch.lender_cash_cny)
    change = sum(np.sum(a) for a in after) - sum(np.sum(b) for b in system_before)
    inflow = (h.income_cny, fm.collections_cny, f.recoveries_cny, cm.recoveries_cny)
    outflow = (consumption, st.supplier_paid_outside_cny, st.fixed_paid_cny)
    outside = sum(x.sum() for x in inflow) - sum(x.sum() for x in outflow)
    _close("system cash", change, outside, _tol(1e-3, *after, *system_before, *inflow, *outflow))
    # Network payments are one firm's outflow and another's collection.
    paid = st.supplier_paid_network_cny
    _close(
        "network",
        st.network_receipts_cny.sum(),
        paid.sum(),
        _tol(1e-6, paid, st.network_receipts_cny),
    )
    # Amounts in cents; the lenders' count; DPD moves by one bucket at most.
    for label, amounts in (
        ("channels", ch_balance),
        ("platform", s.balance_cny),
        ("firms", firms.cash_cny),
    ):
        assert np.array_equal(np.round(amounts, 2), amounts), f"{label}: not in cents"
    assert (s.lenders_count == (s.balance_cny > 0) + ch.lenders_count()).all()
    open_before = ~defaulted_before
    moved = s.missed[open_before].astype(int) - missed_before[open_before].astype(int)
    assert set(np.unique(moved)) <= {1, 0} | set(-np.arange(1, MISSES_TO_DEFAULT))
    # Default exactly at the third consecutive miss; defaulted lines are closed.
    new = f.new_default
    assert (s.missed[new] == MISSES_TO_DEFAULT).all()
    assert (missed_before[new] == MISSES_TO_DEFAULT - 1).all()
    assert (s.limit_cny[s.defaulted] == 0).all()
    assert (s.balance_cny[s.charged_off] == 0).all()
    # Closed firms stay closed and hold no cash at the end of a month.
    assert (firms.cash_cny[~firms.is_open] == 0).all()
    assert np.isnan(firms.buffer_days[~firms.is_open]).all()


def _no_sign_bit(label: str, values: np.ndarray) -> None:
    """Finite, and neither negative nor -0.0."""
    values = np.asarray(values)
    assert np.isfinite(values).all(), f"{label}: not finite at rows {_rows(~np.isfinite(values))}"
    signed = np.signbit(values)
    assert not signed.any(), (
        f"{label}: negative or -0.0 at rows {_rows(signed)}: {values[signed][:5]}"
    )


def _accounts_are_sound(label: str, book) -> None:
    for field in ("balance_cny", "limit_cny", "min_due_cny"):
        _no_sign_bit(f"{label}.{field}", getattr(book, field))
    late = book.missed >= MISSES_TO_DEFAULT
    assert (late == book.defaulted).all(), (
        f"{label}: defaulted != (missed >= 3) at {_rows(late != book.defaulted)}"
    )
    orphan = book.charged_off & ~book.defaulted
    assert not orphan.any(), f"{label}: charged off without default at rows {_rows(orphan)}"


def assert_state_is_sound(model: CreditMarketModel) -> None:
    """The invariants of the state between months, on the platform's and every lender's book."""
    s = model.borrowers
    _accounts_are_sound("platform", s)
    _no_sign_bit("borrowers.savings_cny", s.savings_cny)
    _no_sign_bit("firms.cash_cny", model.firms.cash_cny)
    wrong = s.dpd != DAYS_PER_MISS * s.missed
    assert not wrong.any(), f"dpd != 30 x missed at rows {_rows(wrong)}"
    pd = s.pd_12m
    assert (np.isfinite(pd) & (pd >= 0) & (pd <= 1)).all(), (
        f"pd_12m outside [0, 1]: {pd.min()}, {pd.max()}"
    )
    for c, name in enumerate(model.channels.names):
        _accounts_are_sound(f"channels.{name}", model.channels.book(c))
