"""The ``champion_challenger`` policy: a randomised test of a new policy on part of the book.

Lenders test a new limit strategy (the challenger) on a random share of accounts while
the rest stay on the current one (the champion), and compare outcomes between the two
arms. At the first review each borrower is assigned once, from the platform's random
stream, to the challenger with probability ``challenger_share`` (independent draws) and
keeps the arm for the rest of the run (until :meth:`reset`). Each arm's policy is built
from its nested config with ``build_policy``, reset with the arm's size, and reviews
only its arm's rows (``view.subset``); the two decisions are merged row by row.

The ``min_limit_cny``/``max_limit_cny`` of this config are not used: each arm's own
config sets its floor and ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.platform.policies.base import (
    LimitDecision,
    LimitPolicy,
    PolicyConfig,
    PortfolioView,
    check_range,
)
from sim.platform.policies.common import check_size, nested_error
from sim.platform.policies.registry import build_policy, register_policy

#: Arm codes in :attr:`ChampionChallengerPolicy.arm`.
CHAMPION, CHALLENGER = 0, 1


@dataclass
class ChampionChallengerConfig(PolicyConfig):
    """The two arms and the challenger's share.

    Attributes:
        champion: config mapping of the incumbent policy (with its ``name``; missing
            options take that policy's defaults).
        challenger: config mapping of the tested policy (same form).
        challenger_share: probability that a borrower is assigned to the challenger,
            in [0, 1].
    """

    name: str = "champion_challenger"
    champion: dict[str, Any] = field(default_factory=lambda: {"name": "behaviour_rules"})
    challenger: dict[str, Any] = field(default_factory=lambda: {"name": "pd_threshold"})
    challenger_share: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self, "challenger_share", 0.0, 1.0)
        for arm in ("champion", "challenger"):
            self.arm_policy(arm)  # fail now, naming the nested field

    def arm_policy(self, arm: str) -> LimitPolicy:
        """Build a fresh policy for ``arm`` (``"champion"`` or ``"challenger"``).

        Raises:
            TypeError: the arm's config is not a mapping, or has an unknown key.
            KeyError: the arm's ``name`` is not registered.
            ValueError: the arm names this policy itself, or a value is out of range.
        """
        values = getattr(self, arm)
        if not hasattr(values, "get"):
            raise TypeError(f"policy.{arm} must be a policy config mapping, got {values!r}")
        if values.get("name") == self.name:
            raise ValueError(f"policy.{arm}.name must not be {self.name!r} itself")
        try:
            return build_policy(values)
        except (KeyError, TypeError, ValueError) as exc:
            raise nested_error(exc, arm) from exc


@register_policy
class ChampionChallengerPolicy(LimitPolicy):
    """Run a champion and a challenger policy on a random split of the borrowers.

    Attributes:
        champion: the champion arm's policy.
        challenger: the challenger arm's policy.
        arm: ``(n_borrowers,)`` int8, 0 = champion, 1 = challenger; None until the first
            review draws it. Read by the model to report outcomes per arm.
    """

    name = "champion_challenger"
    config_class = ChampionChallengerConfig
    config: ChampionChallengerConfig

    def __init__(self, config: ChampionChallengerConfig) -> None:
        super().__init__(config)
        self.champion = config.arm_policy("champion")
        self.challenger = config.arm_policy("challenger")
        self.arm: np.ndarray | None = None
        self._n: int | None = None

    def reset(self, n_borrowers: int) -> None:
        """Forget the assignment; it is drawn again at the next review."""
        self._n = n_borrowers
        self.arm = None

    def grow(self, n_borrowers: int) -> None:
        """New accounts join: their arms are drawn at the next review (see :meth:`review`)."""
        self._n = n_borrowers

    def limit_bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's floor and ceiling, from its arm's config (:meth:`LimitPolicy.limit_bounds`).

        Raises:
            RuntimeError: if called before the first review (no arms yet).
        """
        if self.arm is None:
            raise RuntimeError("champion_challenger: limit_bounds before the first review")
        arm = self.arm[rows]
        bounds = [p.limit_bounds(rows) for p in (self.champion, self.challenger)]
        is_challenger = arm == CHALLENGER
        return (
            np.where(is_challenger, bounds[1][0], bounds[0][0]),
            np.where(is_challenger, bounds[1][1], bounds[0][1]),
        )

    def review(self, view: PortfolioView, rng: np.random.Generator) -> LimitDecision:
        """Assign arms (first review only), let each arm's policy decide, merge.

        Args:
            view: the portfolio view.
            rng: the platform's stream: draws the assignment at the first review, then
                is passed to both arms' policies.

        Returns:
            The champion's decision on champion rows and the challenger's on the others.
        """
        if self._n is None:  # reviewed without reset: size from the view
            self._n = view.n_borrowers
        check_size(self.name, self._n, view.n_borrowers)
        if self.arm is None:
            self.arm = (rng.random(view.n_borrowers) < self.config.challenger_share).astype(np.int8)
            self.champion.reset(int(np.count_nonzero(self.arm == CHAMPION)))
            self.challenger.reset(int(np.count_nonzero(self.arm == CHALLENGER)))
        elif self.arm.size < view.n_borrowers:
            # Accounts opened since the last review: drawn into arms the same way; each
            # arm's rows stay in row order, so its policy's memory grows at the end.
            new = rng.random(view.n_borrowers - self.arm.size) < self.config.challenger_share
            self.arm = np.concatenate([self.arm, new.astype(np.int8)])
            self.champion.grow(int(np.count_nonzero(self.arm == CHAMPION)))
            self.challenger.grow(int(np.count_nonzero(self.arm == CHALLENGER)))
        new = view.limit_cny.copy()
        reason = np.zeros(view.n_borrowers, dtype=np.int8)
        for code, policy in ((CHAMPION, self.champion), (CHALLENGER, self.challenger)):
            rows = self.arm == code
            if not rows.any():
                continue
            part = policy.review(view.subset(rows), rng)
            new[rows] = part.new_limit_cny
            reason[rows] = part.reason
        return LimitDecision(new, reason)
