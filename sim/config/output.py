"""Schema of the ``output`` group (``conf/output/default.yaml``): what a run writes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OutputConfig:
    """What a run writes.

    Attributes:
        plots: write the per-run plots.
        formats: figure formats (``png``, ``svg``, ``pdf``).
        progress: show a progress bar over months (only in an interactive terminal).
        events: write the limit-change event table.
    """

    plots: bool = True
    formats: list[str] = field(default_factory=lambda: ["png"])
    progress: bool = True
    events: bool = True

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in ("png", "svg", "pdf")]
        if bad:
            raise ValueError(f"output.formats has {bad}; allowed: png, svg, pdf")
