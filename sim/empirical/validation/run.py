"""Running the model for validation: the run config, the runs over seeds, their result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.config import RunConfig
from sim.empirical.validation.config import ValidationConfig
from sim.empirical.validation.flag import flag_evidence, monthly_new_delinquency
from sim.empirical.validation.panel import (
    _MONTH_NUMBER,
    GROUP_NAMES,
    Panel,
    months_after,
    observed_panel,
    simulate_panel,
)
from sim.empirical.validation.pd_check import pd_calibration_check
from sim.empirical.validation.statistics import (
    account_level,
    check_targets,
    panel_statistics,
    scorecard_check,
    summarise_seeds,
    transition_matrix,
)
from sim.platform.scorecard import PDModel

__all__ = ["ValidationResult", "build_run_config", "run_validation", "validation_run_config"]


def build_run_config(
    *,
    population: str,
    policy: str,
    as_of: str,
    n_months: int,
    n_borrowers: int,
    seed: int,
    overrides: Sequence[str] = (),
) -> RunConfig:
    """Compose the run config of a validation or calibration run from ``conf/``.

    The scenario's calendar starts in the month after ``as_of`` so seasonal spending
    falls in the right months. The book is closed and starts at once (no burn-in, no
    arrivals, attrition or firm entry): the simulated accounts are the UCI accounts,
    followed month by month against their own observed outcomes.

    Returns:
        The validated :class:`RunConfig`.
    """
    from sim.runtime.compose import load_run_config

    return load_run_config(
        [
            f"population={population}",
            f"policy={policy}",
            f"population.start_state=uci_{as_of}",
            f"population.n_borrowers={n_borrowers}",
            f"n_months={n_months}",
            f"seed={seed}",
            f"scenario.start_calendar_month={_MONTH_NUMBER[as_of] % 12 + 1}",
            "output.plots=false",
            "burn_in_months=0",
            "book.applicants_per_month_share=0",
            "book.voluntary_close_prob_monthly=0",
            "book.inactivity_close_months=0",
            "book.firm_entry_per_month_share=0",
            "population.starting_book=uci",
            *overrides,
        ]
    )


# --------------------------------------------------------------------------- the run


@dataclass
class ValidationResult:
    """Everything :func:`run_validation` measured.

    Attributes:
        config: the validation config.
        table: one row per statistic: ``stat``, ``family``, ``observed``,
            ``observed_alt`` (NaN unless the alternative code-1 reading differs),
            ``sim_mean``, ``sim_low``, ``sim_high``, ``n_seeds``, ``error_pp``
            (100 x (sim_mean - observed)), ``tolerance_pp``, ``target_why``, ``passed``.
        per_seed: :func:`panel_statistics` of every seed (with a ``seed`` column).
        months: calendar months of the panels (the start month first).
        transitions: ``{pair: {"observed": df, "observed_alt": df, "simulated": df}}``
            group transition matrices (simulated: pooled over seeds).
        scorecard: :func:`scorecard_check` output.
        accounts: :func:`account_level` output (with ``passed``).
        pd_calibration: :func:`pd_calibration_check` output (empty if not run).
        flag: :func:`sim.empirical.validation.flag.flag_evidence` of the data (what the
            default flag measures).
        new_delinquency: the data's monthly new delinquency
            (:func:`sim.empirical.validation.flag.monthly_new_delinquency`).
    """

    config: ValidationConfig
    table: pd.DataFrame
    per_seed: pd.DataFrame
    months: tuple[str, ...]
    transitions: dict[str, dict[str, pd.DataFrame]]
    scorecard: dict[str, Any]
    accounts: dict[str, Any]
    pd_calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    flag: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    new_delinquency: pd.Series = dataclasses.field(default_factory=lambda: pd.Series(dtype=float))

    @property
    def missed(self) -> pd.DataFrame:
        """Rows of the table that are targets and failed."""
        return self.table[self.table["passed"].eq(False)]

    @property
    def passed(self) -> bool:
        """Every target, the scorecard checks, the account-level and the PD checks passed."""
        ok_accounts = self.accounts.get("passed") is not False
        return (
            self.missed.empty
            and self.scorecard["auc_passed"]
            and self.scorecard.get("cv_auc_passed") is not False
            and self.scorecard["calibration_passed"]
            and ok_accounts
            and self.pd_calibration.get("passed") is not False
        )


def validation_run_config(config: ValidationConfig) -> RunConfig:
    """The run config of a validation's first seed (:func:`build_run_config` of its fields).

    Raises:
        ValueError: an override or a value out of its range (the message names the field).
    """
    return build_run_config(
        population=config.population,
        policy=config.policy,
        as_of=config.as_of,
        n_months=config.n_months,
        n_borrowers=config.n_borrowers,
        seed=config.first_seed,
        overrides=config.overrides,
    )


def _pooled_matrix(panels: Sequence[Panel], step: int) -> pd.DataFrame:
    counts = np.zeros((3, 3))
    for p in panels:
        np.add.at(counts, (p.group[:, step], p.group[:, step + 1]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = counts / counts.sum(axis=1, keepdims=True)
    return pd.DataFrame(matrix, index=list(GROUP_NAMES), columns=list(GROUP_NAMES))


def run_validation(
    config: ValidationConfig,
    uci: pd.DataFrame,
    *,
    scorecard: PDModel | None = None,
    progress: Callable[[str], None] | None = None,
) -> ValidationResult:
    """Simulate every seed from the "as of" state and compare with the observed data.

    Args:
        config: what to run and check.
        uci: the UCI table.
        scorecard: the platform's PD model for the runs (the default fit if None).
        progress: called with a short message after each seed.

    Returns:
        The :class:`ValidationResult`.

    Raises:
        ValueError: the run's behaviour window differs from ``config.behaviour_window``.
    """
    run = validation_run_config(config)
    if run.population.behaviour_window_months != config.behaviour_window:
        raise ValueError(
            f"validation.behaviour_window = {config.behaviour_window} but the population "
            f"types borrowers on {run.population.behaviour_window_months} months"
        )
    months = [
        config.as_of,
        *[m for m in months_after(config.as_of, config.n_months) if m != "october"],
    ]
    observed = observed_panel(uci, months, behaviour_window=config.behaviour_window)
    observed_alt = observed_panel(
        uci, months, behaviour_window=config.behaviour_window, code1_as="R"
    )
    obs = panel_statistics(observed, uci).set_index("stat")
    alt = panel_statistics(observed_alt, uci).set_index("stat")

    panels, frames = [], []
    for seed in config.seed_list:
        panel = simulate_panel(dataclasses.replace(run, seed=seed), uci=uci, scorecard=scorecard)
        panels.append(panel)
        frames.append(panel_statistics(panel, uci).assign(seed=seed))
        if progress is not None:
            progress(f"seed {seed} done")
    per_seed = pd.concat(frames, ignore_index=True)
    summary = summarise_seeds(per_seed, config.interval)
    table = summary.merge(
        obs[["value"]].rename(columns={"value": "observed"}),
        left_on="stat",
        right_index=True,
        how="left",
    )
    alt_values = alt["value"].reindex(table["stat"]).to_numpy()
    differs = ~np.isclose(
        alt_values, table["observed"].to_numpy(), rtol=0, atol=1e-12, equal_nan=True
    )
    table["observed_alt"] = np.where(differs, alt_values, np.nan)
    table["error_pp"] = 100 * (table["sim_mean"] - table["observed"])
    table = table[
        [
            "stat",
            "family",
            "observed",
            "observed_alt",
            "sim_mean",
            "sim_low",
            "sim_high",
            "n_seeds",
            "error_pp",
        ]
    ]
    table = check_targets(table, config.targets)

    transitions = {}
    for t in range(len(months) - 1):
        pair = f"{months[t]}->{months[t + 1]}"
        transitions[pair] = {
            "observed": transition_matrix(observed, t),
            "observed_alt": transition_matrix(observed_alt, t),
            "simulated": _pooled_matrix(panels, t),
        }
    accounts: dict[str, Any] = {}
    if all(p.default_next is not None for p in panels):
        accounts = account_level(panels, observed)
        accounts["outcome"] = config.account_auc_outcome
        accounts["checked_auc"] = accounts[f"{config.account_auc_outcome}_auc"]
        if config.min_account_auc is not None:
            accounts["passed"] = bool(accounts["checked_auc"] >= config.min_account_auc)
        accounts["min_auc"] = config.min_account_auc
    pd_check: dict[str, Any] = {}
    if config.pd_calibration is not None:
        pd_check = pd_calibration_check(config.pd_calibration)
        if progress is not None:
            progress("PD calibration on the open book done")
    return ValidationResult(
        config=config,
        table=table,
        per_seed=per_seed,
        months=tuple(months),
        transitions=transitions,
        scorecard=scorecard_check(uci, config.scorecard),
        accounts=accounts,
        pd_calibration=pd_check,
        flag=flag_evidence(uci),
        new_delinquency=monthly_new_delinquency(uci),
    )
