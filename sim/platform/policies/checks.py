"""Range and type checks of policy config fields (used by every policy's config)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np


def check_range(
    obj: Any,
    field: str,
    low: float | None,
    high: float | None,
    *,
    low_open: bool = False,
    prefix: str = "policy",
) -> None:
    """Raise ``ValueError`` naming ``prefix.field`` if its value is outside the range.

    The value must be a number: a bool is not one (``true`` is no way to write 1), and a
    field the dataclass declares ``int`` takes whole numbers only (``1.5`` is refused,
    not truncated). The structured configs of ``conf/`` get these checks from OmegaConf's
    typing as well; nested mappings (``policy.base``, the champion/challenger arms) and
    configs built in Python get them only here.

    Args:
        obj: dataclass instance holding the field.
        field: attribute name.
        low: lower bound (inclusive unless ``low_open``), or None.
        high: upper bound (inclusive), or None.
        low_open: exclude the lower bound.
        prefix: config path shown in the message.

    Raises:
        ValueError: the value is not a number (or not a whole number for an ``int``
            field), not finite, or out of range; the message names the field and the
            allowed range.
    """
    value = getattr(obj, field)
    name = f"{prefix}.{field}" if prefix else field
    left = "(" if low_open or low is None else "["
    lo = "-inf" if low is None else f"{low}"
    hi, right = ("inf", ")") if high is None else (f"{high}", "]")
    allowed = f"{left}{lo}, {hi}{right}"
    number = isinstance(value, int | float | np.integer | np.floating)
    if not number or isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} = {value!r} is not a number (allowed range {allowed})")
    if _declared_int(type(obj), field) and not isinstance(value, int | np.integer):
        raise ValueError(
            f"{name} = {value!r} is not a whole number (allowed: integers in {allowed})"
        )
    # Python compares ints exactly (even ones too large for int64 or a float).
    bad = isinstance(value, float | np.floating) and not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value > high
    if bad:
        raise ValueError(f"{name} = {value!r} is outside the allowed range {allowed}")


def check_whole_cents(obj: Any, field: str, allowed: str, *, prefix: str = "policy") -> None:
    """Raise ``ValueError`` naming ``prefix.field`` unless its amount is whole cents.

    Whole cents: rounding to 0.01 CNY (as :meth:`LimitPolicy.clip` rounds every limit)
    returns the value itself, so a limit clipped to it lands on it exactly.

    Args:
        obj: dataclass instance holding the field (already range-checked: a number).
        field: attribute name, an amount in CNY.
        allowed: the field's allowed range as the message shows it, e.g. ``"[0.0, 1e12]"``.
        prefix: config path shown in the message.

    Raises:
        ValueError: the amount has a fraction of a cent.
    """
    value = getattr(obj, field)
    if float(np.round(value, 2)) != value:
        raise ValueError(
            f"{prefix}.{field} = {value!r} is not a whole number of cents (allowed: amounts "
            f"in steps of 0.01 CNY in {allowed})"
        )


@functools.cache
def _declared_int(cls: type, field: str) -> bool:
    """Whether dataclass ``cls`` declares ``field`` as ``int`` (annotations may be strings)."""
    if not dataclasses.is_dataclass(cls):
        return False
    for f in dataclasses.fields(cls):
        if f.name == field:
            return f.type in (int, "int")
    return False
