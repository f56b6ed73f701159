"""Mesa agents: thin views over the model's state arrays."""

from sim.agents.borrower import Borrower
from sim.agents.enterprise import MicroEnterprise
from sim.agents.platform import Platform

__all__ = ["Borrower", "MicroEnterprise", "Platform"]
