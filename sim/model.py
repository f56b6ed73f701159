"""The Mesa model of the credit market: borrowers and the platform over simulated months.

One step is one month. The stages run in the order of :data:`STAGE_ORDER`, each one a
vectorised function over all borrowers or all firms (no per-agent Python loop on the
monthly path; loops run only over the handful of lenders or waterfall steps):

1. ``scenario``: the month's macro state (regime, multipliers, seasonality) and the
   world's random draws for households and firms (common random numbers: fixed shapes
   and order);
2. ``household``: income, spending, platform line draws, payments to the platform and
   to other lenders, unmet need (:func:`sim.household.household_month`);
3. ``enterprise``: firms' sales, collections, purchases and what falls due; their
   liquidity gaps (:func:`sim.enterprises.operate`);
4. ``funding``: households' unmet needs and borrowing wishes on other lenders, firms'
   gaps through the waterfall own cash -> platform line -> other lenders -> unmet
   (:mod:`sim.funding`);
5. ``settlement``: firms pay fixed costs and suppliers (late or partial payments spread
   stress along the supply network), close after too long in shortfall; spare cash
   repays debts costliest first and is paid out to owners; households repay other
   lenders from spare savings (:func:`sim.enterprises.settle`, :mod:`sim.funding`);
6. ``servicing``: delinquency, default, charge-off, interest and the new statement on
   the platform line and on every other lender's accounts
   (:func:`sim.servicing.service_accounts`, :meth:`sim.channels.Channels.service`);
   lenders per borrower and debt service (all lenders) feed the score (M7);
7. ``platform_review``: the platform re-scores, reprices and applies its limit policy,
   recording one event per change (:class:`sim.agents.Platform`);
8. ``collect``: monthly metrics (through Mesa's ``DataCollector``, model-level only).

Randomness: one root ``numpy.random.SeedSequence(config.seed)`` spawns the child
streams named in :data:`RNG_STREAMS`; the world (households), the firms' world and the
population never share a stream with the platform, so changing the policy does not
change any shock. Firms and the supply network are drawn from the population stream
after the borrowers, so every policy gets the same firms.

Money identity (tested): households' savings + firms' cash + every lender's net cash
change each month by income - consumption + firms' outside collections - payments to
outside suppliers - fixed costs paid + recoveries; within that, every lender's book
moves by draws + fees + interest - repayments - write-offs.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim import allocator
from sim.agents.borrower import Borrower
from sim.agents.enterprise import MicroEnterprise
from sim.agents.platform import Platform
from sim.agents.rows import RowAgents
from sim.channels import Channels, CreditInfo
from sim.config import BehaviourConfig, RunConfig
from sim.enterprises import (
    FirmDraws,
    FirmMonth,
    Settlement,
    build_firms,
    draw_firm_world,
    excess_cash,
    operate,
    pay_owner_draws,
    settle,
    update_buffer_days,
)
from sim.funding import (
    FirmFunding,
    HouseholdFunding,
    MonthTransfers,
    fund_firms,
    fund_households,
    repay_firm_debts,
)
from sim.household import HouseholdFlows, WorldDraws, draw_world, household_month
from sim.io import load_uci
from sim.metrics import (
    MONTHLY_METRICS,
    firm_sector_rows,
    firm_stress_metrics,
    flow_totals,
    monthly_metrics,
    segment_metrics,
)
from sim.overlap import Background, Prefetcher, worth_overlapping
from sim.policies import LimitPolicy, ReasonCode, build_policy
from sim.population import build_population
from sim.risk.scorecard import Scorecard, fit_default_scorecard
from sim.scenarios import MacroState, macro_state
from sim.servicing import N_BUCKETS, ServicingFlows, bucket_index, service_accounts
from sim.state import RECENT_MONTHS, round_cny

#: The monthly stages, in order (docs and tests cite this constant).
STAGE_ORDER: tuple[str, ...] = (
    "scenario",
    "household",
    "enterprise",
    "funding",
    "settlement",
    "servicing",
    "platform_review",
    "collect",
)
#: Child streams spawned from the run's root SeedSequence, in spawn order (new streams are
#: appended, so the existing ones keep their draws).
RNG_STREAMS: tuple[str, ...] = ("population", "world", "platform", "mesa", "firms")

# Mesa logs every step at INFO; a month-by-month log is noise in sweeps.
logging.getLogger("MESA").setLevel(logging.WARNING)


class CreditMarketModel(mesa.Model):
    """Borrowers initialised from the UCI data, and a platform running a limit policy.

    Args:
        config: a validated run config (:func:`sim.config.to_run_config`).
        uci: the UCI table; loaded from the package if None.
        scorecard: the platform's PD model; the default fit on the UCI data if None.
        policy: a built policy; built from ``config.policy`` if None.
        create_agents: create one Mesa ``Borrower`` agent per borrower row and one
            ``MicroEnterprise`` per firm row (thin views). Set False only for benchmarks
            that measure the array model alone.
        overlap: run independent work on a second core: next month's shocks, and stage
            parts that share no data (:mod:`sim.overlap`). None (default) turns it on for
            books of at least :data:`sim.overlap.MIN_BORROWERS` borrowers on a machine
            with two or more cores (below that, starting threads costs more than it
            saves). Results are identical either way; False keeps the run on one thread.

    Attributes:
        borrowers: :class:`sim.state.BorrowerState`, one row per borrower.
        firms: :class:`sim.enterprises.FirmState`, one row per firm.
        network: the :class:`sim.network.SupplyNetwork` among firms.
        sectors: the :class:`sim.enterprises.SectorTable`.
        channels: the other lenders (:class:`sim.channels.Channels`).
        owner_at_start: ``(n_borrowers,)`` bool, owned a firm at the start (the
            "sole_trader" segment).
        firm_of: ``(n_borrowers,)`` int64 row of the borrower's firm, -1 if none.
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
        overlap: bool | None = None,
    ) -> None:
        root = np.random.SeedSequence(config.seed)
        children = dict(zip(RNG_STREAMS, root.spawn(len(RNG_STREAMS)), strict=True))
        super().__init__(rng=np.random.default_rng(children["mesa"]))
        self.config = config
        self.overlap = (
            overlap if overlap is not None else worth_overlapping(config.population.n_borrowers)
        )
        self.rngs = {name: np.random.default_rng(seq) for name, seq in children.items()}
        if config.population.n_borrowers >= allocator.MIN_BORROWERS:
            allocator.keep_freed_memory()
        # The agent objects are built on the second core while the arrays are built here.
        borrower_agents = (
            RowAgents(self, Borrower, config.population.n_borrowers, background=self.overlap)
            if create_agents
            else None
        )
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
        sc = config.scenario
        self.firms, self.network, self.sectors = build_firms(
            self.borrowers.income_base_cny,
            config.firms,
            self.rngs["population"],
            start_calendar_month=sc.start_calendar_month,
        )
        self.owner_at_start = np.zeros(n, dtype=bool)
        self.owner_at_start[self.firms.owner] = True
        self.firm_of = np.full(n, -1, dtype=np.int64)
        self.firm_of[self.firms.owner] = np.arange(self.firms.n)
        self.channels = Channels(config.channels, n, other_lenders_apr_cap=sc.other_lenders_apr_cap)
        self.platform_cash_cny = 0.0
        if borrower_agents is not None:
            borrower_agents.register()
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
        firm_agents = (
            RowAgents(self, MicroEnterprise, self.firms.n, background=self.overlap)
            if create_agents
            else None
        )
        self._shocks = Prefetcher(
            functools.partial(
                _draw_month,
                self.rngs["world"],
                self.rngs["firms"],
                n,
                self.firms.n,
                config.population.behaviour,
            ),
            enabled=self.overlap,
        )
        self._shocks.produce_ahead()  # the first month's, beside the set-up left to do
        self.macro: MacroState = macro_state(config.scenario, 1)
        self.platform.rescore()
        if firm_agents is not None:
            firm_agents.register()

        self._events: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.transition_counts: list[np.ndarray] = []
        self.last_metrics: dict[str, float] = {}
        self.last_household: HouseholdFlows | None = None
        self.last_servicing: ServicingFlows | None = None
        self.last_firm_month: FirmMonth | None = None
        self.last_household_funding: HouseholdFunding | None = None
        self.last_firm_funding: FirmFunding | None = None
        self.last_settlement: Settlement | None = None
        self.last_transfers: MonthTransfers = MonthTransfers.zeros(n, self.firms.n)
        self._firm_rows: list[dict[str, object]] = []
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
        draws, firm_draws = self._shocks.take()
        self._month = {
            "draws": draws,
            "firm_draws": firm_draws,
            "bucket_before": bucket_index(s),
            "open_at_start": s.is_open.copy(),
            "firms_open_at_start": self.firms.is_open.copy(),
            "balance_before": float(s.balance_cny.sum()),
        }
        self.channels.new_month()
        self.last_transfers = MonthTransfers.zeros(s.n, self.firms.n)

    def _stage_household(self) -> None:
        s = self.borrowers
        # The firms' month (next stage) reads and writes only firm arrays and the firms'
        # draws: it runs on the second core meanwhile (:mod:`sim.overlap`).
        self._month["firm_work"] = Background(self._operate_firms, enabled=self.overlap)
        flows = household_month(
            s,
            self._month["draws"],
            self.macro,
            self.config.population.behaviour,
            self.steps,
            other_due_cny=self.channels.due_total(),
            other_debt_cny=self.channels.balance_total(),
            threads=2 if self.overlap else 1,
        )
        # Next month's shocks are drawn on the second core from here on, once the
        # household blocks no longer need it.
        self._shocks.produce_ahead()
        self.channels.pay_dues(flows.other_payment_cny)
        s.income_total_cny += flows.income_cny
        self.last_household = flows

    def _stage_enterprise(self) -> None:
        self.last_firm_month = self._month["firm_work"].result()

    def _operate_firms(self) -> FirmMonth:
        fc = self.config.firms
        return operate(
            self.firms,
            self.network,
            self.sectors,
            self._month["firm_draws"],
            step=self.steps,
            calendar_month=self.macro.calendar_month,
            stock_lead_months=fc.stock_lead_months,
            revenue_persistence=fc.revenue_persistence,
            peak_multiplier=self.config.scenario.firm_peak_multiplier,
        )

    def _stage_funding(self) -> None:
        s, f, h = self.borrowers, self.firms, self.last_household
        cc, t = self.config.channels, self.last_transfers
        info = self.credit_info()
        # Households: unmet essential spending, then a share of the unmet borrowing wish.
        rows = np.flatnonzero(h.unmet_credit_cny > 0)
        needs = h.unmet_need_cny[rows]
        wants = round_cny(
            cc.household_wants_seek_share * np.maximum(h.unmet_credit_cny[rows] - needs, 0.0)
        )
        hf = fund_households(self.channels, rows, needs, wants, info, self.steps)
        drawn = hf.draws_cny
        t.household_channel_draws_cny[rows] = drawn
        t.household_channel_fees_cny[rows] = hf.fees_cny
        h.consumption_cny[rows] = round_cny(h.consumption_cny[rows] + drawn)
        h.unmet_need_cny[rows] = round_cny(needs - hf.needs_funded_cny)
        h.unmet_credit_cny[rows] = round_cny(h.unmet_credit_cny[rows] - drawn)
        s.unmet_need_total_cny += h.unmet_credit_cny
        self.last_household_funding = hf
        # Firms: own cash (owner's savings) -> platform line -> other lenders -> unmet.
        owners = f.owner
        reserve = self.config.firms.owner_reserve_income_months * s.income_base_cny[owners]
        spare = round_cny(np.maximum(s.savings_cny[owners] - reserve, 0.0))
        headroom = np.maximum(s.limit_cny[owners] - s.balance_cny[owners], 0.0)
        platform_available = np.where(s.is_open[owners], headroom, 0.0)
        ff = fund_firms(
            self.last_firm_month.gap_cny,
            owners=owners,
            owner_spare_cny=spare,
            platform_available_cny=platform_available,
            channels=self.channels,
            info=info,
            step=self.steps,
        )
        injection = ff.by_step["own_cash"]
        platform_draw = ff.by_step["platform"]
        s.savings_cny[owners] = round_cny(s.savings_cny[owners] - injection)
        s.balance_cny[owners] = round_cny(s.balance_cny[owners] + platform_draw)
        f.platform_business_cny = round_cny(f.platform_business_cny + platform_draw)
        drew = owners[platform_draw > 0]
        s.draws_recent[self.steps % RECENT_MONTHS, drew] += 1
        s.months_since_draw[drew] = 0
        t.owner_injection_cny = injection
        t.firm_platform_draws_cny = platform_draw
        t.firm_channel_draws_cny = ff.channels_cny
        t.firm_channel_fees_cny = ff.fees_cny
        self.last_firm_funding = ff

    def _stage_settlement(self) -> None:
        s, f = self.borrowers, self.firms
        fc, cc, t = self.config.firms, self.config.channels, self.last_transfers
        owners = f.owner
        self.last_settlement = settle(
            f,
            self.network,
            self.last_firm_month,
            self.last_firm_funding.funded_cny,
            self._month["firm_draws"],
            step=self.steps,
            close_after_shortfall_months=fc.close_after_shortfall_months,
            exit_hazard_monthly=fc.exit_hazard_monthly,
        )
        # The reverse waterfall: cash above the target buffer repays debt, costliest first.
        channel_repaid, platform_repaid = repay_firm_debts(
            excess_cash(f),
            owners=owners,
            platform_business_cny=f.platform_business_cny,
            platform_balance_cny=s.balance_cny,
            platform_apr=s.apr,
            platform_open=s.is_open,
            channels=self.channels,
            prepay_share=cc.prepay_excess_share,
        )
        f.cash_cny = round_cny(f.cash_cny - channel_repaid - platform_repaid)
        s.balance_cny[owners] = round_cny(s.balance_cny[owners] - platform_repaid)
        f.platform_business_cny = round_cny(f.platform_business_cny - platform_repaid)
        t.firm_platform_repaid_cny = platform_repaid
        t.firm_channel_repaid_cny = channel_repaid
        owner_draw = pay_owner_draws(f, fc.owner_draw_rate)
        s.savings_cny[owners] = round_cny(s.savings_cny[owners] + owner_draw)
        t.owner_draw_cny = owner_draw
        update_buffer_days(f)
        # The firms' month is final here (nothing later in the month writes firm state or
        # the firm flows): their table rows and stress metrics are computed on the second
        # core, idle for the rest of this stage, and collected at the end of the month.
        self._month["firm_metrics"] = Background(
            lambda: (firm_sector_rows(self), firm_stress_metrics(self)), enabled=self.overlap
        )
        # Households repay other lenders from savings above their cash reserve.
        # Spare savings first (cheap, per row), then which of those rows owe any lender.
        rows = self.channels.candidates()
        reserve = (
            self.config.population.behaviour.cash_reserve_income_months * s.income_base_cny[rows]
        )
        budget = round_cny(cc.prepay_excess_share * np.maximum(s.savings_cny[rows] - reserve, 0.0))
        rows, budget = rows[budget > 0], budget[budget > 0]
        owes = self.channels.owes(rows)
        rows, budget = rows[owes], budget[owes]
        if rows.size:
            paid = self.channels.prepay(rows, budget)
            s.savings_cny[rows] = round_cny(s.savings_cny[rows] - paid)
            t.household_prepay_cny[rows] = paid

    def _stage_servicing(self) -> None:
        # The other lenders' books share no array with the platform's lines: they are
        # serviced on the second core meanwhile (:mod:`sim.overlap`), started first because
        # they take longer.
        channel_work = Background(self._service_channels, enabled=self.overlap)
        s = self.borrowers
        pc = self.config.platform
        accruing = float(s.balance_cny[s.is_open].sum())
        t = self.last_transfers
        owners = self.firms.owner
        platform_paid = self.last_household.scheduled_payment_cny.copy()
        platform_paid[owners] = round_cny(platform_paid[owners] + t.firm_platform_repaid_cny)

        def accumulate(rows: slice, flows: ServicingFlows) -> None:
            # Per-row bookkeeping of the serviced block, while it is in the CPU cache.
            s.interest_total_cny[rows] += flows.interest_cny[rows]
            balance = s.balance_cny[rows]
            s.balance_month_sum_cny[rows] += balance
            s.lenders_count[rows] = balance > 0
            s.debt_service_cny[rows] = s.min_due_cny[rows]
            mob = s.mob[rows]
            mob += ~s.defaulted[rows]
            history = s.history_months[rows]
            np.minimum(history + 1, 30_000, out=history)

        flows = service_accounts(
            s,
            platform_paid,
            step=self.steps,
            lgd=pc.lgd,
            min_payment_rate=pc.min_payment_rate,
            min_payment_floor_cny=pc.min_payment_floor_cny,
            charge_off_dpd=pc.charge_off_dpd,
            # One thread: the second core is busy with the other lenders meanwhile (a
            # second block thread only slows both down).
            threads=1,
            then=accumulate,
        )
        self._month["accruing_balance"] = accruing
        rows, channel_lenders, channel_dues = channel_work.result()
        s.lenders_count[rows] += channel_lenders
        s.debt_service_cny[rows] = round_cny(s.min_due_cny[rows] + channel_dues)
        self.platform_cash_cny += float(
            self.last_household.repayments_cny.sum()
            + t.firm_platform_repaid_cny.sum()
            + flows.recoveries_cny.sum()
            - self.last_household.draws_cny.sum()
            - t.firm_platform_draws_cny.sum()
        )
        closed_rows = np.flatnonzero(flows.new_default)
        if closed_rows.size:
            self.record_limit_changes(
                closed_rows,
                flows.limit_closed_cny[closed_rows],
                np.full(closed_rows.size, ReasonCode.CLOSED_AT_DEFAULT, dtype=np.int8),
                count=False,
            )
        self.last_servicing = flows

    def _service_channels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Service the other lenders; per-borrower lender counts and dues (M7 inputs).

        Returns:
            ``(rows, lenders, dues_cny)``: the only rows with channel balances or dues,
            their number of channels with a balance (int16) and minimum dues summed over
            channels.
        """
        self.channels.service(self.steps)
        return self.channels.row_totals()

    def _stage_platform_review(self) -> None:
        self._month["cuts"] = 0
        self._month["raises"] = 0
        self.platform.step()

    def _stage_collect(self) -> None:
        s = self.borrowers
        # All read only: the month's flow totals and the segment metrics are computed on the
        # second core meanwhile.
        background = Background(
            lambda: (
                flow_totals(
                    self, self.last_household, self.last_servicing, self._month["open_at_start"]
                ),
                segment_metrics(self, self.last_servicing),
            ),
            enabled=self.overlap,
        )
        firm_rows, firm_metrics = self._month["firm_metrics"].result()
        after = bucket_index(s)
        # Bucket pairs fit int8 (N_BUCKETS**2 = 36): no int64 copy of a million rows.
        pair = self._month["bucket_before"] * np.int8(N_BUCKETS) + after
        self.transition_counts.append(np.bincount(pair, minlength=N_BUCKETS * N_BUCKETS))
        self.last_metrics = monthly_metrics(
            self,
            self.last_household,
            self.last_servicing,
            open_at_start=self._month["open_at_start"],
            accruing_balance_cny=self._month["accruing_balance"],
            limit_cuts=self._month["cuts"],
            limit_raises=self._month["raises"],
            firm_metrics=lambda: firm_metrics,
            flows=lambda: background.result()[0],
            segments=lambda: background.result()[1],
        )
        self._firm_rows.extend(firm_rows)
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
        self._events.append(
            (self.steps, rows, np.asarray(old_limit_cny, dtype=np.float64), new, reason)
        )
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
        """Segment of each borrower: "sole_trader" (owned a firm at the start) or "household".

        The segment is fixed at the start, so a sole trader whose firm closed stays in it
        (its owner's debts are still serviced from household income).

        Returns:
            ``(n_borrowers,)`` array of str.
        """
        return np.where(self.owner_at_start, "sole_trader", "household")

    def firm_signals(self) -> dict[str, np.ndarray]:
        """Per-borrower signals of the owned open firm, for the portfolio view.

        Returns:
            ``owns_firm`` (bool: owns a firm that is still open), ``cash_buffer_days``
            (float64, the firm's end-of-month buffer days, NaN without an open firm) and
            ``peak_ahead`` (bool: the firm's sector has a seasonal peak within the next
            ``firms.peak_lookahead_months`` calendar months), each ``(n_borrowers,)``.
        """
        n = self.borrowers.n
        f = self.firms
        fc = self.config.firms
        live = np.flatnonzero(f.is_open)
        owners = f.owner[live]
        owns = np.zeros(n, dtype=bool)
        owns[owners] = True
        buffer = np.full(n, np.nan)
        buffer[owners] = f.buffer_days[live]
        peak_by_sector = self.sectors.peak_ahead(
            self.macro.calendar_month,
            fc.peak_lookahead_months,
            fc.peak_threshold,
            self.config.scenario.firm_peak_multiplier,
        )
        peak = np.zeros(n, dtype=bool)
        peak[owners] = peak_by_sector[f.sector[live]]
        return {"owns_firm": owns, "cash_buffer_days": buffer, "peak_ahead": peak}

    def credit_info(self) -> CreditInfo:
        """What other lenders see about each borrower this month (:class:`CreditInfo`)."""
        s, f = self.borrowers, self.firms
        return CreditInfo(
            pd_12m=s.pd_12m,
            missed=s.missed,
            history_months=s.history_months,
            income_base_cny=s.income_base_cny,
            firm_of=self.firm_of,
            firm_open=f.is_open,
            firm_age_months=f.age_months,
            firm_revenue_cny=f.revenue_base_cny,
            firm_receivables_cny=f.receivables_total_cny,
            firm_anchor=f.has_anchor_buyer,
        )

    def firms_table(self) -> pd.DataFrame:
        """Monthly firm statistics per sector (and ``"all"``): the ``firms`` run table.

        Returns:
            One row per month and sector: ``step``, ``sector``, ``n_open``,
            ``buffer_days_p10/p25/p50/p75/p90`` (quantiles of end-of-month cash buffer
            days over open firms), ``buffer_days_mean``, ``share_buffer_under_15d``,
            ``share_buffer_under_7d``, ``firms_in_shortfall``, ``late_supplier_payments_cny``,
            ``unmet_financing_gap_cny``, ``closures_shortfall``, ``closures_exit``
            (see :func:`sim.metrics.firm_sector_rows`).
        """
        from sim.metrics import FIRM_TABLE_COLUMNS

        if not self._firm_rows:
            return pd.DataFrame(
                {c: pd.Series(dtype=object if c == "sector" else float) for c in FIRM_TABLE_COLUMNS}
            )
        return pd.DataFrame(self._firm_rows, columns=list(FIRM_TABLE_COLUMNS))

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
        try:
            for _ in iterator:
                self.step()
        finally:
            self._shocks.close()
        return self


def _draw_month(
    world: np.random.Generator,
    firms: np.random.Generator,
    n_borrowers: int,
    n_firms: int,
    behaviour: BehaviourConfig,
) -> tuple[WorldDraws, FirmDraws]:
    """One month of exogenous shocks: households' from ``world``, firms' from ``firms``."""
    return draw_world(world, n_borrowers, behaviour), draw_firm_world(firms, n_firms)


def _reporter(name: str):  # noqa: ANN202 - a small closure for DataCollector
    def report(model: CreditMarketModel) -> float:
        return model.last_metrics[name]

    report.__name__ = f"report_{name}"
    return report
