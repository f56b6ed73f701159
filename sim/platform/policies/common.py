"""Building blocks shared by the limit policies.

- :func:`finish`: clip a proposal and keep exactly one reason code per changed row;
  every policy ends its ``review`` with it.
- :class:`Cooldowns`: months since each line's last cut and last raise.
- :func:`check_size`: a clear error when per-borrower memory and the view disagree.
- :func:`behaviour_config`, :class:`BehaviourMemory`, :func:`nested_error`: for policies
  built from other policies (``counter_cyclical`` and ``sme_aware`` wrap
  ``behaviour_rules``; ``champion_challenger`` runs two registered policies).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.platform.policies.base import LimitDecision, LimitPolicy, PolicyConfig, PortfolioView
from sim.platform.policies.behaviour_rules import BehaviourRulesConfig, BehaviourRulesPolicy
from sim.platform.policies.reasons import ReasonCode
from sim.rows import pad_rows


def finish(
    policy: LimitPolicy,
    new_limit_cny: np.ndarray,
    reason: np.ndarray,
    view: PortfolioView,
) -> LimitDecision:
    """Clip a proposal with ``policy.clip`` and keep exactly one reason per changed row.

    The reason is set to ``NONE`` wherever the clipped limit equals the current one (a
    cut stopped by the drawn balance or the floor, a raise stopped by the ceiling). A
    closed line whose limit was still positive is forced to 0 by the clip and gets
    ``CLOSED_AT_DEFAULT``.

    Args:
        policy: the deciding policy (its ``clip`` and config floor/ceiling apply).
        new_limit_cny: ``(n_borrowers,)`` float64, the proposed limits.
        reason: ``(n_borrowers,)`` integer :class:`ReasonCode` of each proposed change.
        view: the portfolio view the proposal was made from.

    Returns:
        The decision, with ``reason != 0`` exactly where the limit changes.

    Raises:
        RuntimeError: a row changes without a reason (a bug in the calling policy).
    """
    new = policy.clip(new_limit_cny, view) + 0.0  # + 0.0 turns a -0.0 into 0.0
    changed = new != view.limit_cny
    out = np.where(changed, reason, ReasonCode.NONE)
    out = np.where(changed & ~view.is_open, ReasonCode.CLOSED_AT_DEFAULT, out).astype(np.int8)
    missing = changed & (out == ReasonCode.NONE)
    if missing.any():
        raise RuntimeError(
            f"policy {policy.name!r} changed {int(missing.sum())} limit(s) without a reason "
            f"code (first row {int(np.flatnonzero(missing)[0])})"
        )
    return LimitDecision(new, out)


#: Fields of a wrapped behaviour-rules config that come from the wrapping policy's config.
INHERITED_FIELDS: tuple[str, ...] = ("name", "min_limit_cny", "max_limit_cny")


def nested_error(exc: Exception, path: str) -> Exception:
    """Return a copy of ``exc`` whose message names the nested config path.

    ``"policy.cut_fraction = 1.5 ..."`` raised inside the nested config ``champion``
    becomes ``"policy.champion.cut_fraction = 1.5 ..."``; any other message is prefixed
    with ``"policy.champion: "``.

    Args:
        exc: the error raised while building the nested config.
        path: the nested field's name in the outer config (e.g. ``"base"``).
    """
    msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    if msg.startswith("policy."):
        msg = f"policy.{path}." + msg[len("policy.") :]
    else:
        msg = f"policy.{path}: {msg}"
    return type(exc)(msg)


def behaviour_config(base: Any, outer: PolicyConfig, path: str = "base") -> BehaviourRulesConfig:
    """Build the wrapped behaviour-rules config from a nested ``base`` mapping.

    ``name``, ``min_limit_cny`` and ``max_limit_cny`` are taken from the outer config
    (so that one floor and one ceiling govern the whole policy) and may not appear in
    ``base``; every other key is a :class:`BehaviourRulesConfig` field.

    Args:
        base: mapping of behaviour-rules options (empty for its defaults).
        outer: the wrapping policy's config.
        path: the nested field's name, used in error messages.

    Returns:
        The validated behaviour-rules config.

    Raises:
        TypeError: ``base`` is not a mapping, or has an unknown or inherited key.
        ValueError: a value outside its allowed range (the message names
            ``policy.<path>.<field>``).
    """
    if not isinstance(base, Mapping):
        raise TypeError(
            f"policy.{path} must be a mapping of behaviour_rules options, "
            f"got a {type(base).__name__}"
        )
    allowed = {f.name for f in dataclasses.fields(BehaviourRulesConfig)} - set(INHERITED_FIELDS)
    unknown = sorted(set(base) - allowed)
    if unknown:
        raise TypeError(
            f"policy.{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)} "
            f"({', '.join(INHERITED_FIELDS)} are taken from the outer policy)"
        )
    try:
        return BehaviourRulesConfig(
            name="behaviour_rules",
            min_limit_cny=outer.min_limit_cny,
            max_limit_cny=outer.max_limit_cny,
            **dict(base),
        )
    except (TypeError, ValueError) as exc:
        raise nested_error(exc, path) from exc


@dataclasses.dataclass(frozen=True)
class BehaviourMemory:
    """Copy of a wrapped behaviour-rules policy's per-borrower memory before a review."""

    months_since_cut: np.ndarray
    months_since_raise: np.ndarray
    restore_limit_cny: np.ndarray

    @classmethod
    def take(cls, inner: BehaviourRulesPolicy) -> BehaviourMemory:
        """Snapshot the memory of ``inner`` (call before ``inner.review``)."""
        return cls(
            inner._months_since_cut.copy(),
            inner._months_since_raise.copy(),
            inner._restore_limit_cny.copy(),
        )

    def sync(
        self,
        inner: BehaviourRulesPolicy,
        limit_cny: np.ndarray,
        inner_new_cny: np.ndarray,
        final_new_cny: np.ndarray,
    ) -> None:
        """Make ``inner``'s memory reflect the wrapper's final decision, not its own.

        The cooldown clocks restart where the final decision cut or raised. Where the
        wrapper overrode the inner decision (e.g. held a high-risk cut, or suppressed a
        restoration), the pending restoration stays as it was before the review.

        Args:
            inner: the wrapped policy, already reviewed this month.
            limit_cny: ``(n,)`` the limits before the review.
            inner_new_cny: ``(n,)`` the wrapped policy's own decision.
            final_new_cny: ``(n,)`` the wrapper's decision.
        """
        inner._months_since_cut = np.where(
            final_new_cny < limit_cny, 0, self.months_since_cut + 1
        ).astype(self.months_since_cut.dtype)
        inner._months_since_raise = np.where(
            final_new_cny > limit_cny, 0, self.months_since_raise + 1
        ).astype(self.months_since_raise.dtype)
        overridden = final_new_cny != inner_new_cny
        inner._restore_limit_cny = np.where(
            overridden, self.restore_limit_cny, inner._restore_limit_cny
        )


class Cooldowns:
    """Months since each borrower's last limit cut and last raise.

    Starts "long ago" for everyone (so the first review may act), restarts at 0 in the
    month of a change and grows by 1 after every other review, exactly as the clocks of
    ``behaviour_rules``. So a rule gated by ``clock >= cooldown_months`` requires
    ``cooldown_months`` full months without such a change *between* two changes: a line
    changed in month ``t`` can next change in month ``t + cooldown_months + 1``.
    """

    #: Value meaning "never changed" (large, and safe from int32 overflow for centuries).
    NEVER = np.iinfo(np.int16).max // 2

    def __init__(self, n_borrowers: int) -> None:
        self.months_since_cut = np.full(n_borrowers, self.NEVER, dtype=np.int32)
        self.months_since_raise = np.full(n_borrowers, self.NEVER, dtype=np.int32)

    @property
    def n_borrowers(self) -> int:
        """Number of rows."""
        return int(self.months_since_cut.shape[0])

    def grow(self, n_borrowers: int) -> None:
        """Extend the clocks to ``n_borrowers`` rows (new rows "never changed")."""
        self.months_since_cut = pad_rows(self.months_since_cut, n_borrowers, self.NEVER)
        self.months_since_raise = pad_rows(self.months_since_raise, n_borrowers, self.NEVER)

    def update(self, limit_cny: np.ndarray, new_limit_cny: np.ndarray) -> None:
        """Advance the clocks after a decision (``(n,)`` limits before and after)."""
        self.months_since_cut = np.where(
            new_limit_cny < limit_cny, 0, self.months_since_cut + 1
        ).astype(np.int32)
        self.months_since_raise = np.where(
            new_limit_cny > limit_cny, 0, self.months_since_raise + 1
        ).astype(np.int32)


def check_size(name: str, expected: int, view_rows: int) -> None:
    """Raise if a policy's per-borrower memory does not match the view.

    Raises:
        ValueError: the sizes differ (``reset`` was called for another portfolio).
    """
    if expected != view_rows:
        raise ValueError(
            f"policy {name!r} was reset for {expected} borrowers but the view has "
            f"{view_rows}; call reset(n_borrowers) before the first review"
        )
