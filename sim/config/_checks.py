"""Range and key checks shared by the schemas of :mod:`sim.config` (private).

Every message names the field by its config path (``prefix.field``), so a bad value in
a YAML file or an override points at the line to fix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sim.platform.policies.base import check_range


def _rng_check(obj: Any, prefix: str, fields: dict[str, tuple[float | None, float | None]]) -> None:
    for name, (low, high) in fields.items():
        check_range(obj, name, low, high, prefix=prefix)


def _prob(obj: Any, prefix: str, *names: str) -> None:
    _rng_check(obj, prefix, {n: (0.0, 1.0) for n in names})


def _from_dict(cls: type, values: dict[str, Any], prefix: str) -> Any:
    fields = dataclasses.fields(cls)
    allowed = {f.name for f in fields}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TypeError(f"{prefix}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    # Fields without a schema default (the sector and lender tables) come from conf/ only.
    missing = sorted(
        f.name
        for f in fields
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise TypeError(
            f"{prefix}: missing key(s) {missing}; they have no schema default (see conf/, "
            "or build the config with sim.runtime.compose.load_run_config)"
        )
    return cls(**values)
