"""Mesa agents for borrowers and firms: readable views of one row of the state arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import pandas as pd

from sim.units import DAYS_PER_MISS
from sim.world.borrowers import BehaviourType
from sim.world.firms import ClosureCause

if TYPE_CHECKING:
    from sim.model import CreditMarketModel


class Borrower(mesa.Agent):
    """An individual borrower. Holds only its row index; every number lives in arrays.

    The monthly stages never call borrower methods (they are vectorised over all rows);
    these properties are for notebooks, case studies and tests.

    Args:
        model: the owning model.
        row: index into ``model.borrowers`` arrays.
    """

    model: CreditMarketModel

    def __init__(self, model: CreditMarketModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def limit_cny(self) -> float:
        """Current platform limit, CNY."""
        return float(self.model.borrowers.limit_cny[self.row])

    @property
    def balance_cny(self) -> float:
        """Drawn balance, CNY."""
        return float(self.model.borrowers.balance_cny[self.row])

    @property
    def savings_cny(self) -> float:
        """Liquid savings, CNY."""
        return float(self.model.borrowers.savings_cny[self.row])

    @property
    def income_cny(self) -> float:
        """This month's income, CNY."""
        return float(self.model.borrowers.income_cny[self.row])

    @property
    def dpd(self) -> int:
        """Days past due."""
        return int(self.model.borrowers.missed[self.row]) * DAYS_PER_MISS

    @property
    def pd_12m(self) -> float:
        """The platform's 12-month PD for this borrower."""
        return float(self.model.borrowers.pd_12m[self.row])

    @property
    def behaviour_type(self) -> BehaviourType:
        """Repayment behaviour type."""
        return BehaviourType(int(self.model.borrowers.behaviour_type[self.row]))

    @property
    def defaulted(self) -> bool:
        """Has reached 90+ DPD."""
        return bool(self.model.borrowers.defaulted[self.row])

    def state(self) -> dict[str, object]:
        """Every field of this borrower's row."""
        return self.model.borrowers.row(self.row)

    def limit_history(self) -> pd.DataFrame:
        """The borrower's limit changes with their reasons ("why was my limit cut").

        Returns:
            DataFrame with columns ``step, old_limit_cny, new_limit_cny, reason``.
        """
        events = self.model.limit_events()
        mine = events[events["borrower_id"] == self.row]
        return mine.drop(columns="borrower_id").reset_index(drop=True)


class MicroEnterprise(mesa.Agent):
    """A micro-enterprise owned by a borrower (a sole trader). Holds only its row index.

    The monthly stages never call its methods (they are vectorised over all firms, see
    :mod:`sim.world.firms`); these properties are for notebooks, case studies and tests.

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
