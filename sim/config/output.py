"""Schema of the ``output`` group (``conf/output/default.yaml``): what a run writes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OutputConfig:
    """What a run writes.

    Attributes:
        plots: write the per-run plots.
        formats: figure formats (``png``, ``svg``, ``pdf``), at least one.
        progress: show a progress bar over months (only in an interactive terminal).
        events: write the limit-change event table.
        agent_tables: write the per-agent tables (``borrowers``, ``firm_outcomes``,
            ``agent_panel``; empty tables when false, e.g. for very large runs).
        agent_panel_share: share of borrowers (a fixed id-based sample, the same under
            every policy and seed) whose monthly series the run writes
            (``agent_panel.parquet``, for event studies); in [0, 1], 0 writes none.
        agent_panel_max: cap on the number of borrowers in that panel, >= 0.
    """

    plots: bool = True
    formats: list[str] = field(default_factory=lambda: ["png"])
    progress: bool = True
    events: bool = True
    agent_tables: bool = True
    agent_panel_share: float = 0.1
    agent_panel_max: int = 20_000

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in ("png", "svg", "pdf")]
        if bad:
            raise ValueError(f"output.formats has {bad}; allowed: png, svg, pdf")
        if not self.formats:
            raise ValueError(
                "output.formats = [] names no figure format; give at least one of png, "
                "svg, pdf (output.plots=false writes no figure)"
            )
        if not 0.0 <= self.agent_panel_share <= 1.0:
            raise ValueError(
                f"output.agent_panel_share = {self.agent_panel_share} is outside [0, 1]"
            )
        if self.agent_panel_max < 0:
            raise ValueError(f"output.agent_panel_max = {self.agent_panel_max} must be >= 0")
