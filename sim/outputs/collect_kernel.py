"""Compiled reductions of the month's collection: borrower totals, firm buffers, transitions.

The monthly metrics (:mod:`sim.outputs.metrics`) are sums, counts and means over the
book's rows. The NumPy path builds a mask or a temporary array per metric; here one pass
over the rows gives them all, bit for bit:

* a NumPy sum of a float64 array is a *pairwise* sum (blocks of at most 128 values, each
  summed in 8 interleaved lanes, halves added recursively; the result is ``0.0 +`` that
  sum). :func:`pairwise_leaves` cuts ``n`` rows into NumPy's blocks, each block's sums are
  taken in its 8 lanes (``prange`` over blocks: they are independent), and
  :func:`combine_leaves` adds the block sums in NumPy's tree order, serially. The result
  does not depend on the number of threads and equals ``array.sum()`` exactly;
* a sum over a subset (NumPy: ``x[mask].sum()``) is a pairwise sum over the compacted
  values: the kernel writes them, in row order, to a buffer that the caller sums with
  NumPy;
* counts are exact integers (any order).

The plain-Python reference of the same rules is :mod:`sim.outputs.collect_reference`.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.compiled import kernel
from sim.outputs.pairwise_kernel import PAIRWISE_BLOCK, combine_leaves, max0, pairwise_leaves

__all__ = [
    "BORROWER_SUMS",
    "BORROWER_COUNTS",
    "BORROWER_SUBSETS",
    "PAIRWISE_BLOCK",
    "TRANSITION_BLOCK",
    "borrower_pass",
    "combine_leaves",
    "liquidity_days_kernel",
    "pairwise_leaves",
    "transition_counts_kernel",
    "window_default_counts_kernel",
]

#: The dense sums of :func:`borrower_pass`, in output order.
BORROWER_SUMS: tuple[str, ...] = (
    "balance",
    "undrawn",
    "limit",
    "ead",
    "expected_loss",
    "utilisation",
    "savings",
    "dpd90_zeroed",  # balance where missed >= 3 and not charged off, 0 elsewhere
)
#: The compacted subsets of :func:`borrower_pass` (buffer columns), in output order.
BORROWER_SUBSETS: tuple[str, ...] = (
    "dpd30_balance",  # balance where missed >= 1 and not charged off
    "dpd90_balance",  # balance where missed >= 3 and not charged off
    "open_pd",  # pd_12m of open lines
    "open_savings",  # savings of open lines
    "sole_balance",  # balance of sole traders
    "sole_dpd90_balance",  # 90+ DPD balance (0 elsewhere) of sole traders
    "sole_ead",  # EAD (0 for closed lines) of sole traders
)
#: The counts of :func:`borrower_pass`, in output order.
BORROWER_COUNTS: tuple[str, ...] = (
    "open",
    "with_limit",  # open lines with a limit > 0
    "missed_1",
    "missed_2",
    "dpd90",  # missed >= 3, not charged off
    "employed",
    "indebted",  # open lines with lenders_count >= 1
    "multi_lender",  # open lines with lenders_count >= 2
    "lender_slots",  # lenders_count summed over open lines
    "sole",
    "sole_new_default",
    "new_default",
)
_NS, _NC, _NB = len(BORROWER_SUMS), len(BORROWER_COUNTS), len(BORROWER_SUBSETS)


@numba.njit(cache=True, inline="always")
def _row_values(
    i: int, balance: np.ndarray, limit: np.ndarray, pd_12m: np.ndarray, savings: np.ndarray,
    missed: np.ndarray, defaulted: np.ndarray, closed: np.ndarray, charged_off: np.ndarray,
    ccf: float, lgd: float,
) -> tuple[float, float, float, float, float, float, float, float]:  # fmt: skip
    """Row ``i``'s terms of :data:`BORROWER_SUMS`, with NumPy's operations in its order."""
    bal, lim = balance[i], limit[i]
    perf = 0.0 if (defaulted[i] | closed[i]) else 1.0
    head = max0(lim - bal)
    ead = (bal + ccf * head) * perf
    no_lim = 1.0 if lim <= 0.0 else 0.0
    util = (bal * perf * (1.0 - no_lim)) / (lim + no_lim) + 0.0 * no_lim
    d90 = bal if (missed[i] >= 3 and not charged_off[i]) else 0.0
    return bal, head * perf, lim, ead, pd_12m[i] * lgd * ead, util, savings[i], d90


@kernel(parallel=True)
def borrower_pass(
    balance: np.ndarray, limit: np.ndarray, pd_12m: np.ndarray, savings: np.ndarray,
    missed: np.ndarray, defaulted: np.ndarray, closed: np.ndarray, charged_off: np.ndarray,
    employed: np.ndarray, lenders: np.ndarray, sole: np.ndarray, new_default: np.ndarray,
    ccf: float, lgd: float, buffer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every borrower total of the monthly metrics in one pass over the ``n`` rows.

    Args:
        balance: ``(n,)`` drawn balance, CNY.
        limit: ``(n,)`` credit limit, CNY.
        pd_12m: ``(n,)`` 12-month PD, a fraction.
        savings: ``(n,)`` savings, CNY.
        missed: ``(n,)`` int consecutive missed payments.
        defaulted: ``(n,)`` bool, the line defaulted.
        closed: ``(n,)`` bool, the line closed for attrition.
        charged_off: ``(n,)`` bool, the defaulted balance was written off.
        employed: ``(n,)`` bool.
        lenders: ``(n,)`` int lenders with a positive balance.
        sole: ``(m,)`` bool sole traders (``m <= n``: rows beyond are households).
        new_default: ``(n,)`` bool, defaulted this month.
        ccf: credit conversion factor on the undrawn limit.
        lgd: loss given default.
        buffer: ``(len(BORROWER_SUBSETS), >= n)`` float64 scratch, written: its row ``b``
            gets subset ``b``'s values in row order in its first ``used[b]`` entries
            (sum them with NumPy for the subset's sum).

    Returns:
        ``(sums, counts, used)``: ``sums`` ``(len(BORROWER_SUMS),)`` float64 equal to
        NumPy's pairwise sums of each row value over all rows; ``counts``
        ``(len(BORROWER_COUNTS),)`` int64; ``used`` ``(len(BORROWER_SUBSETS),)`` int64.
    """
    n = balance.shape[0]
    m = sole.shape[0]
    starts, sizes = pairwise_leaves(n)
    nl = starts.shape[0]
    # First each block's number of rows in each subset, from the small state arrays only:
    # then every block knows where its subset values go, and one pass over the rows makes
    # the sums, the counts and the subset buffers (each row read once).
    size_of = np.zeros((nl, 4), dtype=np.int64)  # dpd30, dpd90, open, sole
    for b in numba.prange(nl):
        lo, hi = starts[b], starts[b] + sizes[b]
        n_30 = n_90 = n_live = n_sole = 0
        # Unsigned row indices: no negative-index wraparound at each read (the loops vectorise).
        for t in range(hi - lo):
            i = np.uint64(lo + t)
            mi = missed[i]
            on_book = not charged_off[i]
            n_30 += (mi >= 1) & on_book
            n_90 += (mi >= 3) & on_book
            n_live += not (defaulted[i] | closed[i])
        for t in range(max(min(hi, m) - lo, 0)):
            n_sole += sole[np.uint64(lo + t)]
        size_of[b, 0], size_of[b, 1], size_of[b, 2], size_of[b, 3] = n_30, n_90, n_live, n_sole
    # Each block's first slot in every subset buffer: running totals in block order.
    offset = np.zeros((nl, 4), dtype=np.int64)
    total = np.zeros(4, dtype=np.int64)
    for b in range(nl):
        for q in range(4):
            offset[b, q] = total[q]
            total[q] += size_of[b, q]
    leaf = np.zeros((nl, _NS))
    cnt = np.zeros((nl, _NC), dtype=np.int64)
    for b in numba.prange(nl):
        lo, size = starts[b], sizes[b]
        a0, a1, a2, a4 = offset[b, 0], offset[b, 1], offset[b, 2], offset[b, 3]
        lanes = np.zeros((8, _NS))
        tot = np.zeros(_NS)
        whole = size - size % 8 if size >= 8 else 0
        n_open = n_lim = n_m1 = n_m2 = n_90 = n_emp = n_debt = n_multi = slots = 0
        n_sole = n_sole_def = n_def = 0
        for t in range(size):
            i = np.uint64(lo + t)
            v = _row_values(
                i, balance, limit, pd_12m, savings, missed, defaulted, closed, charged_off,
                ccf, lgd,
            )  # fmt: skip
            if t < whole:
                j = t % 8
                if t < 8:
                    for q in range(_NS):
                        lanes[j, q] = v[q]
                else:
                    for q in range(_NS):
                        lanes[j, q] += v[q]
            else:
                if t == whole and whole > 0:
                    for q in range(_NS):
                        tot[q] = ((lanes[0, q] + lanes[1, q]) + (lanes[2, q] + lanes[3, q])) + (
                            (lanes[4, q] + lanes[5, q]) + (lanes[6, q] + lanes[7, q])
                        )
                for q in range(_NS):
                    tot[q] += v[q]
            live = not (defaulted[i] | closed[i])
            on_book = not charged_off[i]
            mi = missed[i]
            is_sole = i < m and sole[i]
            nd = new_default[i]
            in_90 = mi >= 3 and on_book
            bal = v[0]
            n_open += live
            n_lim += live and limit[i] > 0.0
            n_m1 += mi == 1
            n_m2 += mi == 2
            n_90 += in_90
            n_emp += employed[i]
            if live:
                n_debt += lenders[i] >= 1
                n_multi += lenders[i] >= 2
                slots += lenders[i]
                buffer[2, a2] = pd_12m[i]
                buffer[3, a2] = v[6]  # savings
                a2 += 1
            if mi >= 1 and on_book:
                buffer[0, a0] = bal
                a0 += 1
            if in_90:
                buffer[1, a1] = bal
                a1 += 1
            if is_sole:
                buffer[4, a4] = bal
                buffer[5, a4] = v[7]  # the 90+ DPD balance, 0 elsewhere
                buffer[6, a4] = v[3]  # EAD, 0 for closed lines
                a4 += 1
            n_sole += is_sole
            n_sole_def += is_sole and nd
            n_def += nd
        if whole == size and whole > 0:
            for q in range(_NS):
                tot[q] = ((lanes[0, q] + lanes[1, q]) + (lanes[2, q] + lanes[3, q])) + (
                    (lanes[4, q] + lanes[5, q]) + (lanes[6, q] + lanes[7, q])
                )
        for q in range(_NS):
            leaf[b, q] = tot[q]
        c = (n_open, n_lim, n_m1, n_m2, n_90, n_emp, n_debt, n_multi, slots, n_sole,
             n_sole_def, n_def)  # fmt: skip
        for q in range(_NC):
            cnt[b, q] = c[q]
    used = np.empty(_NB, dtype=np.int64)
    for q, of in enumerate((0, 1, 2, 2, 3, 3, 3)):  # BORROWER_SUBSETS' sizes
        used[q] = total[of]
    counts = np.zeros(_NC, dtype=np.int64)
    for b in range(nl):
        for q in range(_NC):
            counts[q] += cnt[b, q]
    return combine_leaves(leaf, n), counts, used


@kernel(parallel=True)
def liquidity_days_kernel(
    owner: np.ndarray, firm_open: np.ndarray, personal: np.ndarray, cash: np.ndarray,
    mean_outflow: np.ndarray, b_limit: np.ndarray, b_balance: np.ndarray,
    b_defaulted: np.ndarray, b_closed: np.ndarray, earmarked: np.ndarray, slot_of: np.ndarray,
    t_limit: np.ndarray, t_balance: np.ndarray, t_defaulted: np.ndarray,
    t_open_step: np.ndarray, serviced_step: int, for_firms: np.ndarray,
    is_personal: np.ndarray, days_per_month: float,
) -> np.ndarray:  # fmt: skip
    """Liquidity buffer days of each firm, ``(n_firms,)`` float64 (NaN: closed, no outflow).

    The rules of :func:`sim.outputs.firm_metrics.liquidity_buffer_days`, one firm per row
    (rows independent): the owner's usable undrawn platform credit, plus the undrawn part
    of the owner's usable facilities with other lenders, summed over lenders in their
    order from 0.0 (as NumPy sums a row of ``k`` values), plus cash, over the daily outflow.

    Args:
        owner: ``(n_firms,)`` owner rows.
        firm_open: ``(n_firms,)`` bool, the firm trades.
        personal: ``(n_firms,)`` bool, the owner uses personal credit for the firm.
        cash: ``(n_firms,)`` cash, CNY.
        mean_outflow: ``(n_firms,)`` average monthly outflow, CNY.
        b_limit: ``(n_borrowers,)`` platform limit, CNY.
        b_balance: ``(n_borrowers,)`` platform balance, CNY.
        b_defaulted: ``(n_borrowers,)`` bool, the platform line defaulted.
        b_closed: ``(n_borrowers,)`` bool, the platform line closed for attrition.
        earmarked: ``(n_borrowers,)`` platform credit earmarked for the firm, CNY.
        slot_of: ``(n_borrowers,)`` account slot of each borrower (0: none).
        t_limit: ``(slots, k)`` facility limits, CNY
            (:meth:`sim.lending.channels.Channels.account_tables`).
        t_balance: ``(slots, k)`` facility balances, CNY.
        t_defaulted: ``(slots, k)`` bool, the facility defaulted.
        t_open_step: ``(slots, k)`` month from which the facility can be drawn.
        serviced_step: the last month serviced.
        for_firms: ``(k,)`` bool, the lender funds firms.
        is_personal: ``(k,)`` bool, the lender is a personal credit line.
        days_per_month: days in an average month.
    """
    n = owner.shape[0]
    k = for_firms.shape[0]
    out = np.empty(n)
    # The lenders whose undrawn credit counts, for an owner who funds the firm on personal
    # credit and for one who does not.
    allow_personal = np.empty(k, dtype=np.bool_)
    allow_business = np.empty(k, dtype=np.bool_)
    for c in range(k):
        allow_personal[c] = for_firms[c]
        allow_business[c] = for_firms[c] and not is_personal[c]
    for j in numba.prange(n):
        if not firm_open[j]:
            out[j] = np.nan  # a closed firm's rows are not read at all
            continue
        o = owner[j]
        head = max0(b_limit[o] - b_balance[o])
        own = personal[j]
        if b_defaulted[o] or b_closed[o]:
            platform = 0.0
        elif own:
            platform = head
        else:
            e = earmarked[o]
            platform = e if (e <= head or e != e) else head  # np.minimum
        total = platform
        if k > 0:
            slot = np.uint64(slot_of[o])  # unsigned: no negative-index wraparound
            allow = allow_personal if own else allow_business
            # A lender that does not count adds 0.0 to a sum that starts at 0.0: skipped
            # (its account row is not read), the same bits.
            row = 0.0
            for c in range(k):
                if allow[c] and t_open_step[slot, c] <= serviced_step and not t_defaulted[slot, c]:
                    row += max0(t_limit[slot, c] - t_balance[slot, c])
            total = total + row
        daily = mean_outflow[j] / days_per_month
        out[j] = (cash[j] + total) / daily if daily > 0.0 else np.nan
    return out


#: Rows per block of :func:`transition_counts_kernel` (each block counts on its own).
TRANSITION_BLOCK = 1 << 16


@kernel(parallel=True)
def transition_counts_kernel(
    start: np.ndarray, missed: np.ndarray, charged_off: np.ndarray, defaulted: np.ndarray,
    closure_reason: np.ndarray, n_buckets: int,
) -> np.ndarray:  # fmt: skip
    """``(n_buckets**2,)`` int64 counts of (bucket at the start, bucket now) pairs.

    ``start`` ``(n0,)`` int8 buckets at the month's start; the bucket now of each of those
    rows by :func:`sim.units.bucket_index` (misses 0 / 1 / 2 / 3+ -> 0 / 2 / 3 / 4, 5
    charged off, 6 closed without default); the pair index is ``start * n_buckets + now``.
    Blocks of :data:`TRANSITION_BLOCK` rows are counted in parallel and their counts added
    (exact integers: the same counts with any number of threads).
    """
    n = start.shape[0]
    nb = n_buckets * n_buckets
    blocks = (n + TRANSITION_BLOCK - 1) // TRANSITION_BLOCK
    # Four counts per block, row i adding to its (i % 4)-th: consecutive rows (mostly the
    # same pair) do not wait on one another's increment.
    part = np.zeros((blocks, 4, nb), dtype=np.int64)
    for b in numba.prange(blocks):
        lo = b * TRANSITION_BLOCK
        for i in range(np.uint64(lo), np.uint64(min(n, lo + TRANSITION_BLOCK))):  # unsigned
            mi = min(max(missed[i], 0), 3)
            now = mi + (mi > 0)
            now = 5 if charged_off[i] else now
            now = 6 if (closure_reason[i] != 0) & (not defaulted[i]) else now
            part[b, i & 3, start[i] * n_buckets + now] += 1
    out = np.zeros(nb, dtype=np.int64)
    for b in range(blocks):
        for lane in range(4):
            for q in range(nb):
                out[q] += part[b, lane, q]
    return out


@kernel(parallel=True)
def window_default_counts_kernel(
    default_step: np.ndarray, closed_step: np.ndarray, start: int
) -> tuple[int, int]:  # fmt: skip
    """Lines exposed in the window and lines defaulted in it: two exact int counts.

    ``default_step``, ``closed_step`` ``(n,)`` int months (-1: none); ``start`` the window's
    first month. Exposed: not defaulted (``0 < default_step < start``) nor closed
    (``0 <= closed_step < start``) before the window (:meth:`sim.month.World.exposed_in_window`);
    defaulted in it: ``default_step >= start``.
    """
    exposed = 0
    defaults = 0
    for i in numba.prange(default_step.shape[0]):
        d, c = default_step[i], closed_step[i]
        gone = ((d > 0) & (d < start)) | ((c >= 0) & (c < start))
        exposed += not gone
        defaults += d >= start
    return exposed, defaults
