"""The ``MicroEnterprise`` Mesa agent: a readable view of one row of the firm arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.enterprises import ClosureCause

if TYPE_CHECKING:
    from sim.model import CreditMarketModel


class MicroEnterprise(mesa.Agent):
    """A micro-enterprise owned by a borrower (a sole trader). Holds only its row index.

    The monthly stages never call its methods (they are vectorised over all firms, see
    :mod:`sim.enterprises`); these properties are for notebooks, case studies and tests.

    Args:
        model: the owning model.
        row: index into ``model.firms`` arrays.
    """

    model: CreditMarketModel

    def __init__(self, model: CreditMarketModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def owner_row(self) -> int:
        """Row of the owning borrower in ``model.borrowers``."""
        return int(self.model.firms.owner[self.row])

    @property
    def sector(self) -> str:
        """Sector name."""
        return self.model.sectors.names[int(self.model.firms.sector[self.row])]

    @property
    def is_open(self) -> bool:
        """Still trading."""
        return bool(self.model.firms.is_open[self.row])

    @property
    def cash_cny(self) -> float:
        """Cash balance, CNY."""
        return float(self.model.firms.cash_cny[self.row])

    @property
    def cash_buffer_days(self) -> float:
        """Cash buffer days at the end of the last month (NaN if closed)."""
        return float(self.model.firms.buffer_days[self.row])

    @property
    def closure_cause(self) -> ClosureCause:
        """Why it closed (``NONE`` while open)."""
        return ClosureCause(int(self.model.firms.closure_cause[self.row]))

    @property
    def suppliers(self) -> list[int]:
        """Rows of its network suppliers."""
        return sorted(self.model.network.graph.successors(self.row))

    @property
    def buyers(self) -> list[int]:
        """Rows of its network buyers."""
        return sorted(self.model.network.graph.predecessors(self.row))

    def state(self) -> dict[str, object]:
        """Every scalar field of this firm's row."""
        return self.model.firms.row(self.row)
