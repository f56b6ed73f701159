"""Text of the report: Markdown tables, units, seed lists and means written for sentences."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sim.analysis import plotting


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"


def _cell(value: object) -> str:
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (index not shown)."""
    header = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _unit_text(metric: str) -> str:
    unit = plotting.metric_unit(metric)
    return {"%": "fraction", "": "-"}.get(unit, unit)


def _seed_text(seeds: list[int]) -> str:
    if not seeds:
        return "none"
    if len(seeds) <= 12:
        return ", ".join(str(s) for s in seeds)
    return f"{len(seeds)} seeds ({seeds[0]} … {seeds[-1]})"


def _values_text(values: pd.Series) -> str:
    unique = sorted({int(v) for v in values.dropna()})
    return ", ".join(f"{v:,}" for v in unique) if unique else "n/a"


def _display(metric: str, mean: float) -> str:
    """A mean for a sentence: percent for fractions, CNY with separators, else 4 digits."""
    if not np.isfinite(mean):
        return "n/a"
    if plotting.is_fraction(metric):
        return f"{100 * mean:.2f} %"
    if metric.endswith("_cny"):
        return f"{mean:,.0f} CNY"
    unit = plotting.metric_unit(metric)
    return f"{mean:.4g} {unit}".strip()
