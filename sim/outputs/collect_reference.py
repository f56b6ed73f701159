"""The month's collection one agent at a time, in plain Python: the oracle of the kernels.

The same rules as :mod:`sim.outputs.collect_kernel` (and as the NumPy passes of
:mod:`sim.outputs.totals` and :mod:`sim.outputs.firm_metrics`), written per borrower
and per firm. Sums are added in NumPy's pairwise order (:func:`pairwise_sum`), so the
totals are NumPy's to the bit. Slow: tests and small benchmarks only.
"""

from __future__ import annotations

import math

import numpy as np

#: NumPy's pairwise-sum block: at most this many values are summed in 8 lanes.
BLOCK = 128


def pairwise_sum(values: list[float]) -> float:
    """``np.sum`` of float64 ``values``, added in NumPy's order.

    NumPy sums blocks of up to 128 values in 8 interleaved lanes (fewer than 8 values:
    one after the other), splits longer runs in two at a multiple of 8 near the middle
    and adds the halves; the reduction starts from 0.0.
    """
    return 0.0 + _pairwise(values, 0, len(values))


def _pairwise(x: list[float], lo: int, n: int) -> float:
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += x[i]
        return total
    if n <= BLOCK:
        lanes = x[lo : lo + 8]
        whole = n - n % 8
        for i in range(8, whole):
            lanes[i % 8] += x[lo + i]
        total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
            (lanes[4] + lanes[5]) + (lanes[6] + lanes[7])
        )
        for i in range(whole, n):
            total += x[lo + i]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise(x, lo, half) + _pairwise(x, lo + half, n - half)


def _max0(x: float) -> float:
    """``np.maximum(x, 0.0)``: NaN propagates, ``x`` wins a tie."""
    return x if (x >= 0.0 or math.isnan(x)) else 0.0


def borrower_totals_reference(
    balance: np.ndarray, limit: np.ndarray, pd_12m: np.ndarray, savings: np.ndarray,
    missed: np.ndarray, defaulted: np.ndarray, closed: np.ndarray, charged_off: np.ndarray,
    employed: np.ndarray, lenders: np.ndarray, sole: np.ndarray, new_default: np.ndarray,
    ccf: float, lgd: float,
) -> dict[str, float | int]:  # fmt: skip
    """:func:`sim.outputs.totals.borrower_totals`, one borrower at a time."""
    names = ("balance", "undrawn", "limit", "ead", "expected_loss", "utilisation", "savings",
             "dpd90_zeroed", "dpd30_balance", "dpd90_balance", "open_pd", "open_savings",
             "sole_balance", "sole_dpd90_balance", "sole_ead")  # fmt: skip
    values: dict[str, list[float]] = {name: [] for name in names}
    counts = dict.fromkeys(
        ("open", "with_limit", "missed_1", "missed_2", "dpd90", "employed", "indebted",
         "multi_lender", "lender_slots", "sole", "sole_new_default", "new_default"), 0
    )  # fmt: skip
    for i in range(balance.shape[0]):
        bal, lim, miss = float(balance[i]), float(limit[i]), int(missed[i])
        is_open = not (defaulted[i] or closed[i])
        on_book = not charged_off[i]
        is_sole = i < sole.shape[0] and bool(sole[i])
        headroom = _max0(lim - bal)
        ead = (bal + ccf * headroom) * (1.0 if is_open else 0.0)
        drawn = bal if is_open else 0.0
        util = drawn / lim if lim > 0 else 0.0
        in_90 = miss >= 3 and on_book
        row = {
            "balance": bal,
            "undrawn": headroom if is_open else 0.0,
            "limit": lim,
            "ead": ead,
            "expected_loss": float(pd_12m[i]) * lgd * ead,
            "utilisation": util,
            "savings": float(savings[i]),
            "dpd90_zeroed": bal if in_90 else 0.0,
        }
        for name, v in row.items():
            values[name].append(v)
        if miss >= 1 and on_book:
            values["dpd30_balance"].append(bal)
        if in_90:
            values["dpd90_balance"].append(bal)
        if is_open:
            values["open_pd"].append(float(pd_12m[i]))
            values["open_savings"].append(float(savings[i]))
            counts["open"] += 1
            counts["with_limit"] += lim > 0
            counts["indebted"] += int(lenders[i]) >= 1
            counts["multi_lender"] += int(lenders[i]) >= 2
            counts["lender_slots"] += int(lenders[i])
        if is_sole:
            values["sole_balance"].append(bal)
            values["sole_dpd90_balance"].append(bal if in_90 else 0.0)
            values["sole_ead"].append(ead)
            counts["sole"] += 1
            counts["sole_new_default"] += bool(new_default[i])
        counts["missed_1"] += miss == 1
        counts["missed_2"] += miss == 2
        counts["dpd90"] += in_90
        counts["employed"] += bool(employed[i])
        counts["new_default"] += bool(new_default[i])
    out: dict[str, float | int] = {name: pairwise_sum(values[name]) for name in names}
    out |= {f"n_{name}": int(v) for name, v in counts.items()}
    return out


def liquidity_days_reference(
    owner: np.ndarray, firm_open: np.ndarray, personal: np.ndarray, cash: np.ndarray,
    mean_outflow: np.ndarray, b_limit: np.ndarray, b_balance: np.ndarray,
    b_defaulted: np.ndarray, b_closed: np.ndarray, earmarked: np.ndarray, slot_of: np.ndarray,
    t_limit: np.ndarray, t_balance: np.ndarray, t_defaulted: np.ndarray,
    t_open_step: np.ndarray, serviced_step: int, for_firms: np.ndarray,
    is_personal: np.ndarray, days_per_month: float,
) -> np.ndarray:  # fmt: skip
    """:func:`sim.outputs.collect_kernel.liquidity_days_kernel`, one firm at a time."""
    out = []
    for j in range(owner.shape[0]):
        o = int(owner[j])
        headroom = _max0(float(b_limit[o]) - float(b_balance[o]))
        if b_defaulted[o] or b_closed[o]:
            usable = 0.0
        elif personal[j]:
            usable = headroom
        else:
            usable = min(float(earmarked[o]), headroom)
        other = 0.0
        slot = int(slot_of[o])
        for c in range(for_firms.shape[0]):
            facility_ok = not t_defaulted[slot, c] and int(t_open_step[slot, c]) <= serviced_step
            if for_firms[c] and facility_ok and (personal[j] or not is_personal[c]):
                other += _max0(float(t_limit[slot, c]) - float(t_balance[slot, c]))
            else:
                other += 0.0
        if for_firms.shape[0]:
            usable += other
        daily = float(mean_outflow[j]) / days_per_month
        if not firm_open[j] or not daily > 0:
            out.append(math.nan)
        else:
            out.append((float(cash[j]) + usable) / daily)
    return np.array(out, dtype=np.float64)


def transition_counts_reference(
    start: np.ndarray, missed: np.ndarray, charged_off: np.ndarray, defaulted: np.ndarray,
    closure_reason: np.ndarray, n_buckets: int,
) -> np.ndarray:  # fmt: skip
    """:func:`sim.outputs.collect_kernel.transition_counts_kernel`, one account at a time."""
    counts = [0] * (n_buckets * n_buckets)
    for i in range(start.shape[0]):
        misses = min(max(int(missed[i]), 0), 3)
        now = {0: 0, 1: 2, 2: 3, 3: 4}[misses]  # current, 30-59, 60-89, 90+
        if charged_off[i]:
            now = 5
        if closure_reason[i] != 0 and not defaulted[i]:
            now = 6  # closed for attrition
        counts[int(start[i]) * n_buckets + now] += 1
    return np.array(counts, dtype=np.int64)


def window_default_counts_reference(
    default_step: np.ndarray, closed_step: np.ndarray, start: int
) -> tuple[int, int]:
    """:func:`sim.outputs.collect_kernel.window_default_counts_kernel`, one line at a time."""
    exposed = defaults = 0
    for d, c in zip(default_step.tolist(), closed_step.tolist(), strict=True):
        defaulted_before = 0 < d < start
        closed_before = 0 <= c < start
        if not (defaulted_before or closed_before):
            exposed += 1
        if d >= start:
            defaults += 1
    return exposed, defaults
