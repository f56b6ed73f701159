"""Sensitivity of policy rankings to the unsourced lender-access parameters.

Each parameter of :data:`LENDER_ACCESS_PARAMETERS` is an assumption of
``conf/channels/default.yaml`` (labelled so in ``conf/PROVENANCE.md``). The harness reruns
a small policy comparison with the parameter at the low and at the high end of its stated
range (every other parameter at its default), under the same seeds (common random
numbers), and reports for each outcome family whether the ranking of the policies changes
against the default. :func:`tornado_figure` draws, per family, the swing of the outcome
(mean over policies) from low to high. ``python -m experiments.sensitivity`` is the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: The outcome families: family -> (summary metric, higher is worse). Platform loss and
#: default exposure, borrowers' cost over every lender, small businesses' stress.
OUTCOME_FAMILIES: dict[str, tuple[str, bool]] = {
    "platform_loss": ("realised_loss_cny", True),
    "borrower_cost": ("effective_apr", True),
    "sme_stress": ("late_supplier_payments_cny", True),
}

#: The policies compared by default.
DEFAULT_POLICIES: tuple[str, ...] = ("static", "behaviour_rules", "exposure_cap", "sme_aware")


@dataclass(frozen=True)
class SensitivityParameter:
    """One unsourced parameter and its stated range.

    Attributes:
        key: config path (a Hydra override key).
        base: the default in ``conf/`` (shown only; the run uses the config's own value).
        low, high: the ends of the range (a number or a list, as in the YAML).
        why: the reason for the range.
    """

    key: str
    base: object
    low: object
    high: object
    why: str

    @property
    def label(self) -> str:
        """Short name: the key without ``channels.`` and ``lenders.``."""
        return self.key.removeprefix("channels.").removeprefix("lenders.")

    def override(self, level: str) -> list[str]:
        """The override list for ``level`` (``"base"``: none, ``"low"``, ``"high"``)."""
        if level == "base":
            return []
        return [f"{self.key}={_yaml_value(getattr(self, level))}"]


def _yaml_value(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_yaml_value(x) for x in v) + "]"
    return repr(v) if isinstance(v, float) else str(v)


L = "channels.lenders."
#: Every unsourced lender-access parameter with its range (conf/PROVENANCE.md, "assumption").
LENDER_ACCESS_PARAMETERS: tuple[SensitivityParameter, ...] = (
    SensitivityParameter(
        "channels.household_wants_seek_share", 0.5, 0.25, 1.0, "no source: a quarter to all"
    ),
    SensitivityParameter(
        L + "credit_card.approval_prob",
        [0.76, 0.46, 0.0],
        [0.5, 0.25, 0.0],
        [0.95, 0.75, 0.25],
        "G5 bank approvals used for card issuers; issuers stricter / laxer",
    ),
    SensitivityParameter(
        L + "credit_card.limit_multiple", 1.0, 0.5, 2.0, "x monthly income; L3 limits by score"
    ),
    SensitivityParameter(L + "credit_card.approval_lender_factor", 0.9, 0.7, 1.0, "I8: no number"),
    SensitivityParameter(L + "credit_card.max_debt_service_ratio", 0.5, 0.3, 1.0, "no source"),
    SensitivityParameter(
        L + "online_lender_a.limit_multiple", 0.5, 0.25, 1.0, "x monthly income; no source"
    ),
    SensitivityParameter(
        L + "online_lender_b.approval_prob",
        [0.9, 0.7, 0.6],
        [0.6, 0.4, 0.3],
        [1.0, 1.0, 1.0],
        "no source for the dearer lender",
    ),
    SensitivityParameter(
        L + "informal.limit_multiple", 1.0, 0.5, 2.0, "x monthly income; no source"
    ),
    SensitivityParameter(
        L + "informal.reapply_after_months",
        100000,
        3,
        100000,
        "access a lasting trait (default) or redrawn every 3 months",
    ),
    SensitivityParameter(
        L + "supply_chain.firm_approval_prob",
        [0.8, 0.8, 0.8],
        [0.5, 0.5, 0.5],
        [1.0, 1.0, 1.0],
        "no source",
    ),
    SensitivityParameter(
        L + "bank_sme.approval_lag_months", 1, 0, 3, "G7: days in the US; G9: cumbersome"
    ),
    # Lender-wide monthly capacity (CNY per borrower row a month; null = no limit). The low
    # end is about the lender's mean monthly lending under static (20 k borrowers, seed 0,
    # window after the burn-in: cards 247, online A 61, informal 13.5 CNY per row), so it
    # binds in every busier month; no source gives a capacity.
    SensitivityParameter(
        L + "credit_card.monthly_capacity_per_borrower_cny",
        None,
        250.0,
        None,
        "no source; low: the mean monthly lending under static",
    ),
    SensitivityParameter(
        L + "online_lender_a.monthly_capacity_per_borrower_cny",
        None,
        60.0,
        None,
        "no source; low: the mean monthly lending under static",
    ),
    SensitivityParameter(
        L + "informal.monthly_capacity_per_borrower_cny",
        None,
        15.0,
        None,
        "no source; low: the mean monthly lending under static",
    ),
)
del L


def run_sensitivity(
    parameters: Sequence[SensitivityParameter],
    *,
    policies: Sequence[str] = DEFAULT_POLICIES,
    seeds: Sequence[int] = (0, 1),
    base_overrides: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run every policy and seed at the default and at each parameter's low and high end.

    Args:
        parameters: the parameters to vary (one at a time).
        policies: policy names (``conf/policy/``).
        seeds: seeds; every arm uses the same ones.
        base_overrides: overrides of every run (book size, months, ...).
        progress: called with a line of text before each run (None: silent).

    Returns:
        One row per run: ``parameter`` (``"(default)"`` for the base runs), ``level``
        (``base``, ``low``, ``high``), ``value``, ``policy``, ``seed`` and one column per
        metric of :data:`OUTCOME_FAMILIES`.

    Raises:
        ValueError: an override is refused by the config schema (names the field).
    """
    from omegaconf import OmegaConf

    from sim.config import to_run_config
    from sim.model import CreditMarketModel
    from sim.runtime.compose import compose_config

    arms: list[tuple[str, str, object, dict[str, object]]] = [("(default)", "base", "", {})]
    for p in parameters:
        arms += [(p.label, lv, getattr(p, lv), {p.key: getattr(p, lv)}) for lv in ("low", "high")]
    # Hydra composes once per policy (the slow part of a small run); each arm sets its
    # parameter on a copy of the composed config, validated by the schema as any run.
    composed = {q: compose_config([*base_overrides, f"policy={q}"]) for q in policies}
    metrics = [m for m, _ in OUTCOME_FAMILIES.values()]
    rows = []
    for label, level, value, extra in arms:
        for policy in policies:
            arm = OmegaConf.to_container(composed[policy], resolve=True)
            for key, value in extra.items():
                node = arm
                *path, leaf = key.split(".")
                for part in path:
                    node = node[part]
                node[leaf] = value
            run = to_run_config(arm)
            for seed in seeds:
                if progress is not None:
                    progress(f"{label} {level} {policy} seed={seed}")
                cfg = dataclasses.replace(run, seed=int(seed))
                with CreditMarketModel(cfg).run() as model:
                    summary = model.tables("sensitivity")["summary"].iloc[0]
                rows.append(
                    {
                        "parameter": label,
                        "level": level,
                        "value": _yaml_value(value) if level != "base" else "",
                        "policy": policy,
                        "seed": seed,
                    }
                    | {m: float(summary[m]) for m in metrics}
                )
    return pd.DataFrame(rows)


def _order(means: pd.Series, higher_is_worse: bool) -> tuple[str, ...]:
    """Policies best first (ties by name)."""
    frame = means.rename("v").reset_index()
    frame["v"] = frame["v"] if higher_is_worse else -frame["v"]
    return tuple(frame.sort_values(["v", "policy"])["policy"])


def ranking_changes(results: pd.DataFrame) -> pd.DataFrame:
    """The policy ranking of each family at the default and at each parameter's ends.

    Args:
        results: the table of :func:`run_sensitivity`.

    Returns:
        One row per parameter and family: ``parameter``, ``family``, ``metric``,
        ``base_order``, ``low_order``, ``high_order`` (policies best first, joined by
        ``" > "``), ``changes`` (bool: the low or the high order differs from the
        default), ``swing_low`` and ``swing_high`` (the mean over policies of the metric
        at that end minus at the default).
    """
    base = results[results["level"] == "base"]
    out = []
    for family, (metric, worse) in OUTCOME_FAMILIES.items():
        base_means = base.groupby("policy")[metric].mean()
        base_order = _order(base_means, worse)
        for param, runs in results[results["level"] != "base"].groupby("parameter", sort=False):
            row = {"parameter": param, "family": family, "metric": metric}
            row["base_order"] = " > ".join(base_order)
            changes = False
            for level in ("low", "high"):
                means = runs[runs["level"] == level].groupby("policy")[metric].mean()
                order = _order(means, worse)
                row[f"{level}_order"] = " > ".join(order)
                changes |= order != base_order
                row[f"swing_{level}"] = float(means.mean() - base_means.mean())
            row["changes"] = bool(changes)
            out.append(row)
    return pd.DataFrame(out)


def tornado_figure(changes: pd.DataFrame, family: str):
    """Tornado plot of one outcome family: the swing of each parameter, largest on top.

    Each bar runs from the low end's to the high end's change of the outcome (mean over
    policies) against the default; a parameter whose ends change the policy ranking is
    drawn in red and marked ``(ranking changes)``.

    Args:
        changes: the table of :func:`ranking_changes`.
        family: a key of :data:`OUTCOME_FAMILIES`.

    Returns:
        A matplotlib ``Figure``.

    Raises:
        KeyError: an unknown family.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    metric = OUTCOME_FAMILIES[family][0]
    rows = changes[changes["family"] == family].copy()
    rows["width"] = (rows["swing_high"] - rows["swing_low"]).abs()
    rows = rows.sort_values("width")
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(len(rows), 1) + 1.8))
    y = np.arange(len(rows))
    colours = np.where(rows["changes"], "tab:red", "tab:blue")
    # The low end's bar is half height and hatched, drawn over the high end's.
    ax.barh(y, rows["swing_high"], height=0.7, color=colours, alpha=0.85)
    ax.barh(y, rows["swing_low"], height=0.35, color="white", edgecolor=colours, hatch="///")
    labels = [
        f"{p}{'  (ranking changes)' if c else ''}"
        for p, c in zip(rows["parameter"], rows["changes"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_xlabel(f"change of {metric}\nagainst the default (mean over policies)", fontsize=9)
    ax.set_title(f"{family}: unsourced lender-access parameters", fontsize=10)
    handles = [
        Patch(facecolor="grey", label="high end"),
        Patch(facecolor="white", edgecolor="grey", hatch="///", label="low end"),
        Patch(facecolor="tab:red", label="policy ranking changes"),
        Patch(facecolor="tab:blue", label="ranking unchanged"),
    ]
    ax.legend(handles=handles, loc="best", fontsize=7)
    fig.tight_layout()
    return fig


def write_sensitivity(
    results: pd.DataFrame,
    out_dir: str | Path,
    parameters: Sequence[SensitivityParameter] = LENDER_ACCESS_PARAMETERS,
    formats: Sequence[str] = ("png",),
) -> Path:
    """Write the runs, the ranking table, a tornado per family and ``sensitivity.md``.

    Returns:
        The path of ``sensitivity.md``.
    """
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "sensitivity_runs.csv", index=False)
    changes = ranking_changes(results)
    changes.to_csv(out / "sensitivity_rankings.csv", index=False)
    lines = [
        "# Sensitivity of policy rankings to unsourced lender-access parameters",
        "",
        f"Policies: {', '.join(sorted(results['policy'].unique()))}; seeds: "
        f"{', '.join(map(str, sorted(results['seed'].unique())))}. Each parameter is set to "
        "the low and the high end of its range, the others at their defaults "
        "(`conf/channels/default.yaml`, assumptions in `conf/PROVENANCE.md`).",
        "",
        "| parameter | default | low | high | why the range |",
        "| --- | --- | --- | --- | --- |",
    ]
    shown = set(results["parameter"])
    for p in parameters:
        if p.label in shown:
            lines.append(
                f"| {p.label} | {_yaml_value(p.base)} | {_yaml_value(p.low)} | "
                f"{_yaml_value(p.high)} | {p.why} |"
            )
    for family, (metric, _) in OUTCOME_FAMILIES.items():
        rows = changes[changes["family"] == family]
        fig = tornado_figure(changes, family)
        for fmt in formats:
            fig.savefig(out / f"tornado_{family}.{fmt}", dpi=120)
        plt.close(fig)
        base_order = rows["base_order"].iloc[0] if len(rows) else ""
        base = results[results["level"] == "base"].groupby("policy")[metric]
        spread = ", ".join(
            f"{q} {m:.4g} (seeds {lo:.4g}-{hi:.4g})"
            for q, m, lo, hi in zip(
                base.mean().index, base.mean(), base.min(), base.max(), strict=True
            )
        )
        lines += [
            "",
            f"## {family} (`{metric}`, lower is better)",
            "",
            f"Default ranking: {base_order}. Default means: {spread}. A ranking change "
            "smaller than the seed spread is noise.",
            "",
            f"![tornado](tornado_{family}.{formats[0]})",
            "",
            "| parameter | ranking changes | low end | high end | swing low | swing high |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in rows.itertuples():
            lines.append(
                f"| {r.parameter} | {'yes' if r.changes else 'no'} | {r.low_order} | "
                f"{r.high_order} | {r.swing_low:.4g} | {r.swing_high:.4g} |"
            )
    path = out / "sensitivity.md"
    path.write_text("\n".join(lines) + "\n")
    return path
