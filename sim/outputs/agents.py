"""Per-agent outcomes of a run: one row per borrower, one per firm, and a monthly panel.

Under common random numbers the same row is the same borrower (and the same firm) in every
policy's run of one seed, so these tables let ``compare`` pair outcomes agent by agent
(:mod:`sim.analysis.compare.treated`). Everything is accumulated over the *outcome
window*: the months after ``burn_in_months`` of the run config (0, the whole run, when the
config has no such field), read in one place, :func:`window_start`.

Window totals are the run's own accumulators (``BorrowerState``'s ``*_total_cny`` and
``balance_month_sum_cny``, the channels' ``interest_fees_total_cny`` and
``balance_month_sum_cny``, ``FirmState``'s totals) at the end of the run: they restart
at the window's start (:func:`sim.build.start_window`), so they are read as they are,
never differenced against the burn-in. Arrays may grow by appended rows during a run
(new borrowers and firms): a row added in the window starts from zero.

The panel holds a fixed, id-based sample of borrowers (the same rows under every policy
and seed: :func:`panel_rows`) month by month, for event studies around a limit cut.
Money columns are float32 (about 7 significant digits: 0.1 CNY on 1,000,000 CNY), labels
are categoricals, counts int16.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.outputs.event_log import BlockStore, Slot
from sim.units import bucket_index
from sim.world.borrowers import BehaviourType
from sim.world.firms import ClosureCause

if TYPE_CHECKING:
    from sim.month import Month, World
    from sim.outputs.event_stream import CutSummary

__all__ = ["AgentOutcomes", "PANEL_LEAD_MONTHS", "panel_rows", "window_start"]

#: Months before the window start the panel also records (the event study's pre-period).
PANEL_LEAD_MONTHS = 6
_BUFFER_STRESS_DAYS = 15.0
_KNUTH = np.uint64(2654435761)


def window_start(config: object) -> int:
    """Last burn-in month: outcomes count from month ``window_start + 1`` on.

    Reads ``config.burn_in_months`` (0 when the config has no such field).
    """
    return int(getattr(config, "burn_in_months", 0) or 0)


def panel_rows(
    n: int, share: float, max_rows: int, n_initial: int | None = None, start: int = 0
) -> np.ndarray:
    """Rows of the monthly panel: a fixed pseudo-random subset of borrower ids.

    Row ``i`` is in the panel when ``frac(i * 2654435761 / 2**32) < share_eff`` (a
    multiplicative hash: the same rows for every policy and seed), with ``share_eff =
    min(share, max_rows / n_initial)``.

    Args:
        n: current number of borrowers.
        share: target share in [0, 1].
        max_rows: cap on the expected number of panel rows at the start.
        n_initial: number of borrowers at the start (fixes ``share_eff``); default ``n``.
        start: the first row considered: a row's membership depends on the row alone, so
            the rows of ``n`` are those of ``start`` and then those from ``start`` on.

    Returns:
        Sorted ``(k,)`` int64 rows.
    """
    base = max(int(n_initial if n_initial is not None else n), 1)
    share_eff = min(float(share), max_rows / base)
    ids = np.arange(start, n, dtype=np.uint64)
    u = ((ids * _KNUTH) & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2.0**32
    return np.flatnonzero(u < share_eff) + start


def _room(a: np.ndarray | None, n: int, fill: float = 0.0) -> np.ndarray:
    """``a`` if it holds ``n`` rows, else a float64 copy with room (half again) for more.

    The new rows hold ``fill``; an accumulator only ever writes its first ``n`` rows, so
    the rows beyond keep ``fill`` until the book grows into them.
    """
    if a is not None and a.shape[0] >= n:
        return a
    out = np.full(n + n // 2, fill)
    if a is not None:
        out[: a.shape[0]] = a
    return out


def _pad(a: np.ndarray | None, n: int) -> np.ndarray:
    """``a`` extended with zeros to length ``n`` (rows appended after it was taken)."""
    if a is None:
        return np.zeros(n)
    if a.shape[0] >= n:
        return a[:n]
    return np.concatenate([a, np.zeros(n - a.shape[0], dtype=a.dtype)])


class AgentOutcomes:
    """Accumulates per-agent outcomes over the window; builds the per-agent tables.

    Args:
        burn_in: last burn-in month (:func:`window_start`).
        panel_share: share of borrowers in the monthly panel (0 for none).
        panel_max: cap on the number of panel borrowers.
    """

    def __init__(self, burn_in: int = 0, panel_share: float = 0.1, panel_max: int = 20_000):
        self.burn_in = burn_in
        self.panel_share = panel_share
        self.panel_max = panel_max
        self._start: dict[str, np.ndarray] = {}
        self._firm_acc: dict[str, np.ndarray] = {}
        self._lenders_sum: np.ndarray | None = None
        self._n_initial: int | None = None
        self._panel: list[dict[str, Slot]] = []  # each month's columns, in the store below
        self._panel_store = BlockStore()
        self._panel_prev: dict[str, np.ndarray] = {}
        self._late_prev: np.ndarray | None = None
        self._panel_ids, self._panel_n = np.zeros(0, dtype=np.int64), 0  # rows of n

    # ------------------------------------------------------------------ collection

    def open_month(self, world: World) -> None:
        """At the first month's start: keep the borrowers' attributes at the start."""
        if self._n_initial is None:
            s = world.borrowers
            self._n_initial = s.n
            self._start = {"behaviour_type": s.behaviour_type.copy()}

    def _cumulative(self, world: World) -> dict[str, np.ndarray]:
        s, ch, f = world.borrowers, world.channels, world.firms
        return {
            "interest": s.interest_total_cny,
            "balance_months": s.balance_month_sum_cny,
            "income": s.income_total_cny,
            "unmet": s.unmet_need_total_cny,
            "channel_cost": ch.interest_fees_total_cny,
            "channel_balance_months": ch.balance_month_sum_cny,
            "late": f.late_payments_total_cny,
            "unmet_gap": f.unmet_gap_total_cny,
            "buffer_sum": f.buffer_days_sum,
            "open_months": f.open_months.astype(np.float64),
        }

    def collect(self, world: World, month: Month) -> None:
        """Record a finished month (after its stages)."""
        if self._n_initial is None:
            self.open_month(world)
        step = month.step
        # The world's per-run accumulators restart at the window's start
        # (sim.build.start_window), so window totals need no base to subtract.
        f = world.firms
        late_now = f.late_payments_total_cny
        late_month = late_now - _pad(self._late_prev, f.n)
        self._late_prev = late_now.copy()
        if step > self.burn_in:
            s = world.borrowers
            # Added in place, in arrays with room for appended rows (sim.outputs.agents._room).
            self._lenders_sum = _room(self._lenders_sum, s.n)
            self._lenders_sum[: s.n] += s.lenders_count
            fm, ff = month.firm_month, month.firm_funding
            days = f.buffer_days
            open_ = f.is_open & np.isfinite(days)
            acc = {
                "shortfall_months": f.in_shortfall.astype(np.float64),
                "late_months": (late_month > 0.005).astype(np.float64),
                "gap": fm.gap_cny if fm is not None else np.zeros(f.n),
                "channel_funding": ff.channels_cny if ff is not None else np.zeros(f.n),
                "fees": ff.fees_cny if ff is not None else np.zeros(f.n),
                "stress_months": (open_ & (days < _BUFFER_STRESS_DAYS)).astype(np.float64),
            }
            for k, v in acc.items():
                total = self._firm_acc[k] = _room(self._firm_acc.get(k), f.n)
                total[: f.n] += v
            low = np.where(open_, days, np.inf)
            least = self._firm_acc["buffer_min"] = _room(
                self._firm_acc.get("buffer_min"), f.n, np.inf
            )
            np.minimum(least[: f.n], low, out=least[: f.n])
        if self.panel_share > 0 and step > self.burn_in - PANEL_LEAD_MONTHS:
            self._collect_panel(world, month)
        if step == self.burn_in:
            # The limits the window starts from (accounts opened later: their opening one).
            self._start["limit_cny"] = world.borrowers.limit_cny.copy()
            # The accumulators restart at 0 next month: monthly flows count from 0.
            self._late_prev = None
            self._panel_prev = {}

    def _panel_rows(self, n: int) -> np.ndarray:
        """:func:`panel_rows` of ``n`` borrowers: the rows appended since last time added."""
        if n < self._panel_n:
            self._panel_ids, self._panel_n = np.zeros(0, dtype=np.int64), 0
        if n > self._panel_n:
            more = panel_rows(
                n, self.panel_share, self.panel_max, self._n_initial, start=self._panel_n
            )
            self._panel_ids = np.concatenate([self._panel_ids, more])
            self._panel_n = n
        return self._panel_ids

    def _collect_panel(self, world: World, month: Month) -> None:
        s, ch = world.borrowers, world.channels
        rows = self._panel_rows(s.n)
        cost_total = s.interest_total_cny[rows] + ch.interest_fees_total_cny[rows]
        unmet_total = s.unmet_need_total_cny[rows]
        prev_cost = _pad(self._panel_prev.get("cost"), rows.size)
        prev_unmet = _pad(self._panel_prev.get("unmet"), rows.size)
        self._panel_prev = {"cost": cost_total.copy(), "unmet": unmet_total.copy()}
        # The panel rows' buckets only (bucket_index is row by row).
        bucket = bucket_index(
            SimpleNamespace(
                missed=s.missed[rows],
                charged_off=s.charged_off[rows],
                defaulted=s.defaulted[rows],
                closure_reason=s.closure_reason[rows],
            )
        )
        columns = {
            "borrower_id": rows.astype(np.int32),
            "step": np.full(rows.size, month.step - self.burn_in, dtype=np.int16),
            "limit_cny": s.limit_cny[rows].astype(np.float32),
            "debt_cny": (s.balance_cny[rows] + ch.balance_total_of(rows)).astype(np.float32),
            "interest_fees_cny": (cost_total - prev_cost).astype(np.float32),
            "unmet_need_cny": (unmet_total - prev_unmet).astype(np.float32),
            "lenders": s.lenders_count[rows].astype(np.int8),
            "dpd30": (bucket >= 2) & (bucket <= 4),
            "defaulted": (s.default_step[rows] > 0),
        }
        # Kept in large blocks to the run's end (sim.outputs.event_log.BlockStore).
        self._panel.append({k: self._panel_store.put(v) for k, v in columns.items()})

    # ------------------------------------------------------------------ tables

    def _window_total(self, world: World, key: str, n: int) -> np.ndarray:
        # The world's accumulators restart at the window's start: read as they are.
        return self._cumulative(world)[key][:n]

    def borrower_table(self, world: World, cuts: CutSummary) -> pd.DataFrame:
        """One row per borrower: decisions and outcomes over the window.

        Args:
            world: the run's final state.
            cuts: each borrower's cuts and raises (:func:`sim.outputs.event_stream.cut_summary`
                of the run's limit events).

        Returns:
            Columns ``borrower_id`` (int32, the row: the same borrower under every
            policy of a seed), ``segment`` ("household" / "sole_trader"),
            ``behaviour_type`` (at the start), ``income_decile`` (int8, 1..10),
            ``sole_trader`` (bool), ``first_cut_step`` (int16, 0 = none in the window),
            ``first_cut_reason`` (ReasonCode name, "NONE" without a cut), ``n_cuts``,
            ``n_raises`` (int16, policy decisions; closures excluded: ``CLOSURE_REASONS``),
            ``limit_start_cny``, ``limit_end_cny``, ``platform_balance_months_cny``,
            ``balance_months_cny`` (all lenders: sum of month-end balances),
            ``interest_fees_cny`` (all lenders), ``income_cny``, ``unmet_need_cny``
            (float32, window totals), ``lenders_end`` (int8), ``lenders_mean`` (float32,
            over the window), ``default_step`` (int16 window month, 0 = none; <= 0 in
            the burn-in), ``defaulted_in_window``.
        """
        s = world.borrowers
        n = s.n
        type_names = [t.name.lower() for t in BehaviourType]
        btype = s.behaviour_type.copy()
        start_type = self._start.get("behaviour_type", btype)
        btype[: start_type.size] = start_type[:n]
        limit_start = s.initial_limit_cny.copy()
        at_window = self._start.get("limit_cny")
        if at_window is not None:
            limit_start[: at_window.size] = at_window[:n]
        sole = np.zeros(n, dtype=bool)
        sole[: world.sole_trader.size] = world.sole_trader[:n]
        platform_bm = self._window_total(world, "balance_months", n)
        lenders_sum = _pad(self._lenders_sum, n)
        months = max(int(getattr(world, "serviced_step", 0)) - self.burn_in, 0)
        f32 = np.float32
        return pd.DataFrame(
            {
                "borrower_id": np.arange(n, dtype=np.int32),
                "segment": pd.Categorical.from_codes(
                    sole.astype(np.int8), categories=["household", "sole_trader"]
                ),
                "behaviour_type": pd.Categorical.from_codes(
                    btype.astype(np.int8), categories=type_names
                ),
                "income_decile": s.income_decile.astype(np.int8),
                "sole_trader": sole,
                "first_cut_step": cuts.first_cut_step[:n],
                "first_cut_reason": cuts.reason_names()[:n],
                "n_cuts": cuts.n_cuts[:n].astype(np.int16),
                "n_raises": cuts.n_raises[:n].astype(np.int16),
                "limit_start_cny": limit_start.astype(f32),
                "limit_end_cny": s.limit_cny.astype(f32),
                "platform_balance_months_cny": platform_bm.astype(f32),
                "balance_months_cny": (
                    platform_bm + self._window_total(world, "channel_balance_months", n)
                ).astype(f32),
                "interest_fees_cny": (
                    self._window_total(world, "interest", n)
                    + self._window_total(world, "channel_cost", n)
                ).astype(f32),
                "income_cny": self._window_total(world, "income", n).astype(f32),
                "unmet_need_cny": self._window_total(world, "unmet", n).astype(f32),
                "lenders_end": np.minimum(s.lenders_count, 127).astype(np.int8),
                "lenders_mean": (lenders_sum / months if months else lenders_sum).astype(f32),
                # Window months like every step column (<= 0: during the burn-in).
                "default_step": np.where(
                    s.default_step > 0, s.default_step - self.burn_in, 0
                ).astype(np.int16),
                "defaulted_in_window": s.default_step > self.burn_in,
            }
        )

    def firm_table(self, world: World) -> pd.DataFrame:
        """One row per firm: liquidity stress and closure over the window.

        Returns:
            Columns ``firm_id``, ``owner_id`` (int32), ``sector`` (categorical),
            ``shortfall_months``, ``late_payment_months`` (int16: months with supplier
            dues left unpaid), ``late_payments_cny``, ``financing_gap_cny`` (sum of the
            monthly liquidity gaps), ``unmet_gap_cny`` (not funded by anyone),
            ``channel_funding_cny`` (funded by other lenders), ``financing_fees_cny``
            (float32, window totals), ``buffer_days_mean`` (over open months),
            ``buffer_days_min`` (float32, NaN if never open in the window),
            ``months_under_15d`` (int16), ``closure_step`` (int16 window month, 0 = open
            at the end),
            ``closure_cause`` ("NONE" / "SHORTFALL" / "EXIT"), ``closed_in_window``.
        """
        f = world.firms
        n = f.n
        acc = {k: _pad(v, n) for k, v in self._firm_acc.items() if k != "buffer_min"}

        def total(key: str) -> np.ndarray:
            return acc.get(key, np.zeros(n))

        open_months = self._window_total(world, "open_months", n)
        buffer_sum = self._window_total(world, "buffer_sum", n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_days = np.where(open_months > 0, buffer_sum / open_months, np.nan)
        low = self._firm_acc.get("buffer_min", np.zeros(0))[:n]
        low = np.concatenate([low, np.full(n - low.size, np.inf)])
        f32 = np.float32
        closed_step = np.where(f.closed_step > 0, f.closed_step - self.burn_in, 0)
        return pd.DataFrame(
            {
                "firm_id": np.arange(n, dtype=np.int32),
                "owner_id": f.owner.astype(np.int32),
                "sector": pd.Categorical.from_codes(
                    f.sector.astype(np.int16), categories=list(world.sectors.names)
                ),
                "shortfall_months": total("shortfall_months").astype(np.int16),
                "late_payment_months": total("late_months").astype(np.int16),
                "late_payments_cny": self._window_total(world, "late", n).astype(f32),
                "financing_gap_cny": total("gap").astype(f32),
                "unmet_gap_cny": self._window_total(world, "unmet_gap", n).astype(f32),
                "channel_funding_cny": total("channel_funding").astype(f32),
                "financing_fees_cny": total("fees").astype(f32),
                "buffer_days_mean": mean_days.astype(f32),
                "buffer_days_min": np.where(np.isfinite(low), low, np.nan).astype(f32),
                "months_under_15d": total("stress_months").astype(np.int16),
                "closure_step": closed_step.astype(np.int16),
                "closure_cause": pd.Categorical.from_codes(
                    f.closure_cause.astype(np.int8), categories=[c.name for c in ClosureCause]
                ),
                "closed_in_window": closed_step > 0,
            }
        )

    def panel_table(self) -> pd.DataFrame:
        """The monthly panel of the sampled borrowers (see the module docstring).

        Returns:
            Columns ``borrower_id`` (int32), ``step`` (int16), ``limit_cny``, ``debt_cny``
            (all lenders, month end), ``interest_fees_cny``, ``unmet_need_cny`` (the
            month's, all lenders) (float32), ``lenders`` (int8), ``dpd30`` (bool, 30-269
            DPD at month end), ``defaulted`` (bool, defaulted by the month's end).
        """
        if not self._panel:
            cols = {
                "borrower_id": np.int32,
                "step": np.int16,
                "limit_cny": np.float32,
                "debt_cny": np.float32,
                "interest_fees_cny": np.float32,
                "unmet_need_cny": np.float32,
                "lenders": np.int8,
                "dpd30": bool,
                "defaulted": bool,
            }
            return pd.DataFrame({c: np.zeros(0, dtype=t) for c, t in cols.items()})
        get = self._panel_store.get
        return pd.DataFrame(
            {c: np.concatenate([get(month[c]) for month in self._panel]) for c in self._panel[0]}
        )
