"""The Mesa model of the credit market: borrowers and the platform over simulated months.

One step is one month. The stages run in the order of :data:`STAGE_ORDER`, each one a
vectorised function over all borrowers (no per-agent Python loop on the monthly path):

1. ``scenario``: the month's macro state (regime, multipliers, seasonality) and the
   world's random draws (common random numbers: fixed shapes and order);
2. ``household``: income, spending, line draws, payments and unmet need
   (:func:`sim.household.household_month`);
3. ``servicing``: delinquency, default, charge-off, interest and the new statement
   (:func:`sim.servicing.service_accounts`);
4. ``platform_review``: the platform re-scores, reprices and applies its limit policy,
   recording one event per change (:class:`sim.agents.Platform`);
5. ``collect``: monthly metrics (through Mesa's ``DataCollector``, model-level only).

Randomness: one root ``numpy.random.SeedSequence(config.seed)`` spawns the child
streams named in :data:`RNG_STREAMS`; the world and the population never share a stream
with the platform, so changing the policy does not change any shock.
"""

from __future__ import annotations

import logging
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.agents.borrower import Borrower
from sim.agents.platform import Platform
from sim.config import RunConfig
from sim.household import HouseholdFlows, draw_world, household_month
from sim.io import load_uci
from sim.metrics import MONTHLY_METRICS, monthly_metrics
from sim.policies import LimitPolicy, ReasonCode, build_policy
from sim.population import build_population
from sim.risk.scorecard import Scorecard, fit_default_scorecard
from sim.scenarios import MacroState, macro_state
from sim.servicing import N_BUCKETS, ServicingFlows, bucket_index, service_accounts

#: The monthly stages, in order (docs and tests cite this constant).
STAGE_ORDER: tuple[str, ...] = ("scenario", "household", "servicing", "platform_review", "collect")
#: Child streams spawned from the run's root SeedSequence, in spawn order.
RNG_STREAMS: tuple[str, ...] = ("population", "world", "platform", "mesa")

# Mesa logs every step at INFO; a month-by-month log is noise in sweeps.
logging.getLogger("MESA").setLevel(logging.WARNING)


class CreditMarketModel(mesa.Model):
    """Borrowers initialised from the UCI data, and a platform running a limit policy.

    Args:
        config: a validated run config (:func:`sim.config.to_run_config`).
        uci: the UCI table; loaded from the package if None.
        scorecard: the platform's PD model; the default fit on the UCI data if None.
        policy: a built policy; built from ``config.policy`` if None.
        create_agents: create one Mesa ``Borrower`` agent per row (thin views). Set False
            only for benchmarks that measure the array model alone.

    Attributes:
        borrowers: :class:`sim.state.BorrowerState`, one row per borrower.
        platform: the :class:`sim.agents.Platform` agent.
        macro: the current month's :class:`sim.scenarios.MacroState`.
        datacollector: Mesa ``DataCollector`` with one model reporter per metric.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        uci: pd.DataFrame | None = None,
        scorecard: Scorecard | None = None,
        policy: LimitPolicy | None = None,
        create_agents: bool = True,
    ) -> None:
        root = np.random.SeedSequence(config.seed)
        children = dict(zip(RNG_STREAMS, root.spawn(len(RNG_STREAMS)), strict=True))
        super().__init__(rng=np.random.default_rng(children["mesa"]))
        self.config = config
        self.rngs = {name: np.random.default_rng(seq) for name, seq in children.items()}
        pc = config.platform
        self.borrowers = build_population(
            load_uci() if uci is None else uci,
            config.population,
            self.rngs["population"],
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
        )
        n = self.borrowers.n
        self.initial_open_lines = n
        if create_agents:
            for row in range(n):
                Borrower(self, row)
        policy = build_policy(config.policy) if policy is None else policy
        policy.reset(n)
        self.platform = Platform(
            self,
            config=pc,
            policy=policy,
            scorecard=fit_default_scorecard() if scorecard is None else scorecard,
            rng=self.rngs["platform"],
        )
        self.platform.apr_cap = min(pc.apr_cap, config.scenario.apr_cap)
        self.macro: MacroState = macro_state(config.scenario, 1)
        self.platform.rescore()

        self._events: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.transition_counts: list[np.ndarray] = []
        self.last_metrics: dict[str, float] = {}
        self.last_household: HouseholdFlows | None = None
        self.last_servicing: ServicingFlows | None = None
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "calendar_month": lambda m: m.macro.calendar_month,
                "regime": lambda m: m.macro.regime,
                **{name: _reporter(name) for name in MONTHLY_METRICS},
            }
        )
        self._month: dict[str, Any] = {}

    # ------------------------------------------------------------------ stages
    def step(self) -> None:
        """Simulate one month: run every stage of :data:`STAGE_ORDER` in order."""
        for stage in STAGE_ORDER:
            getattr(self, f"_stage_{stage}")()

    def _stage_scenario(self) -> None:
        s = self.borrowers
        self.macro = macro_state(self.config.scenario, self.steps)
        self._month = {
            "draws": draw_world(self.rngs["world"], s.n, self.config.population.behaviour),
            "bucket_before": bucket_index(s),
            "open_at_start": s.is_open.copy(),
            "balance_before": float(s.balance_cny.sum()),
        }

    def _stage_household(self) -> None:
        s = self.borrowers
        flows = household_month(
            s, self._month["draws"], self.macro, self.config.population.behaviour, self.steps
        )
        s.income_total_cny += flows.income_cny
        s.unmet_need_total_cny += flows.unmet_credit_cny
        self.last_household = flows

    def _stage_servicing(self) -> None:
        s = self.borrowers
        pc = self.config.platform
        accruing = float(s.balance_cny[s.is_open].sum())
        flows = service_accounts(
            s,
            self.last_household.scheduled_payment_cny,
            step=self.steps,
            lgd=pc.lgd,
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
            charge_off_dpd=pc.charge_off_dpd,
        )
        self._month["accruing_balance"] = accruing
        s.interest_total_cny += flows.interest_cny
        s.balance_month_sum_cny += s.balance_cny
        s.lenders_count = (s.balance_cny > 0).astype(np.int16)
        s.debt_service_cny = s.min_due_cny.copy()
        s.mob = np.where(s.is_open, s.mob + 1, s.mob).astype(np.int16)
        s.history_months = np.minimum(s.history_months + 1, 30_000).astype(np.int16)
        closed_rows = np.flatnonzero(flows.new_default)
        if closed_rows.size:
            self.record_limit_changes(
                closed_rows,
                flows.limit_closed_cny[closed_rows],
                np.full(closed_rows.size, ReasonCode.CLOSED_AT_DEFAULT, dtype=np.int8),
                count=False,
            )
        self.last_servicing = flows

    def _stage_platform_review(self) -> None:
        self._month["cuts"] = 0
        self._month["raises"] = 0
        self.platform.step()

    def _stage_collect(self) -> None:
        s = self.borrowers
        after = bucket_index(s)
        pair = self._month["bucket_before"].astype(np.int64) * N_BUCKETS + after
        self.transition_counts.append(np.bincount(pair, minlength=N_BUCKETS * N_BUCKETS))
        self.last_metrics = monthly_metrics(
            self,
            self.last_household,
            self.last_servicing,
            open_at_start=self._month["open_at_start"],
            accruing_balance_cny=self._month["accruing_balance"],
            limit_cuts=self._month["cuts"],
            limit_raises=self._month["raises"],
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ records
    def record_limit_changes(
        self,
        rows: np.ndarray,
        old_limit_cny: np.ndarray,
        reason: np.ndarray,
        *,
        count: bool = True,
    ) -> None:
        """Append limit-change events of this month (one per changed row).

        Args:
            rows: ``(k,)`` int borrower rows (the borrower id).
            old_limit_cny: ``(k,)`` limits before the change.
            reason: ``(k,)`` int8 reason codes.
            count: count the changes as policy cuts/raises in this month's metrics.
        """
        rows = np.asarray(rows, dtype=np.int64)
        new = self.borrowers.limit_cny[rows].copy()
        self._events.append((self.steps, rows, np.asarray(old_limit_cny, dtype=np.float64), new, reason))
        if count:
            self._month["cuts"] += int((new < old_limit_cny).sum())
            self._month["raises"] += int((new > old_limit_cny).sum())

    def limit_events(self) -> pd.DataFrame:
        """Every limit change so far.

        Returns:
            DataFrame with columns ``borrower_id`` (int64, the borrower's row),
            ``step`` (int16), ``old_limit_cny``, ``new_limit_cny`` (float64) and
            ``reason`` (categorical of :class:`ReasonCode` names).
        """
        names = [r.name for r in ReasonCode]
        if not self._events:
            codes = np.zeros(0, dtype=np.int8)
            return pd.DataFrame(
                {
                    "borrower_id": np.zeros(0, dtype=np.int64),
                    "step": np.zeros(0, dtype=np.int16),
                    "old_limit_cny": np.zeros(0),
                    "new_limit_cny": np.zeros(0),
                    "reason": pd.Categorical.from_codes(codes, categories=names),
                }
            )
        steps = np.concatenate([np.full(e[1].size, e[0], dtype=np.int16) for e in self._events])
        codes = np.concatenate([e[4] for e in self._events]).astype(np.int8)
        return pd.DataFrame(
            {
                "borrower_id": np.concatenate([e[1] for e in self._events]),
                "step": steps,
                "old_limit_cny": np.concatenate([e[2] for e in self._events]),
                "new_limit_cny": np.concatenate([e[3] for e in self._events]),
                "reason": pd.Categorical.from_codes(codes, categories=names),
            }
        )

    def monthly_table(self) -> pd.DataFrame:
        """The monthly metrics as a DataFrame: ``step`` (1-based) then every metric."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "step", np.arange(1, len(df) + 1))
        return df

    def transitions_table(self) -> pd.DataFrame:
        """DPD-bucket transition counts per month.

        Returns:
            Columns ``step, from_bucket, to_bucket, count``, with bucket labels from
            :data:`sim.servicing.BUCKET_LABELS` (non-zero counts only).
        """
        from sim.servicing import BUCKET_LABELS

        if not self.transition_counts:
            return pd.DataFrame(columns=["step", "from_bucket", "to_bucket", "count"])
        counts = np.stack(self.transition_counts)  # (months, N_BUCKETS**2)
        step, pair = np.nonzero(counts)
        labels = np.asarray(BUCKET_LABELS)
        return pd.DataFrame(
            {
                "step": step + 1,
                "from_bucket": labels[pair // N_BUCKETS],
                "to_bucket": labels[pair % N_BUCKETS],
                "count": counts[step, pair],
            }
        )

    def segment_labels(self) -> np.ndarray:
        """Segment of each borrower: "household" (no firm) or "sole_trader" (owns a firm).

        Returns:
            ``(n_borrowers,)`` array of str.
        """
        owns = self.firm_signals()["owns_firm"]
        return np.where(owns, "sole_trader", "household")

    def firm_signals(self) -> dict[str, np.ndarray]:
        """Per-borrower firm signals for the portfolio view (no firms simulated yet).

        Returns:
            ``owns_firm`` (bool), ``cash_buffer_days`` (float64, NaN) and ``peak_ahead``
            (bool), each ``(n_borrowers,)``.
        """
        n = self.borrowers.n
        return {
            "owns_firm": np.zeros(n, dtype=bool),
            "cash_buffer_days": np.full(n, np.nan),
            "peak_ahead": np.zeros(n, dtype=bool),
        }

    def run(self, n_months: int | None = None, progress: bool = False) -> CreditMarketModel:
        """Run ``n_months`` steps (default: ``config.n_months``); returns self.

        Args:
            n_months: months to simulate.
            progress: show a tqdm bar over months.
        """
        months = self.config.n_months if n_months is None else n_months
        iterator: Any = range(months)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="months", unit="month", leave=False)
        for _ in iterator:
            self.step()
        return self


def _reporter(name: str):  # noqa: ANN202 - a small closure for DataCollector
    def report(model: CreditMarketModel) -> float:
        return model.last_metrics[name]

    report.__name__ = f"report_{name}"
    return report
