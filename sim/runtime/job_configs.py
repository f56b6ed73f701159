"""A sweep's job configs composed once per choice of config groups, values set on a copy.

Hydra composes a config from its defaults list (the config groups chosen: ``policy=``,
``scenario=``, ...) and then applies the value overrides (``seed=3``,
``population.n_borrowers=20000``) to the result with ``OmegaConf.update(cfg, key,
value, merge=True)``. A sweep's jobs mostly differ in values only, so
:class:`JobComposer` composes each distinct choice of groups once (Hydra's compose API)
and applies a job's plain value overrides to a copy, the call Hydra makes. Anything else
(``+``/``++``/``~`` overrides, lists and dicts, ``@package``, keys not already leaves of
the config, or an error) is composed by Hydra in full, so errors read as Hydra's.
"""

from __future__ import annotations

import copy

from hydra import compose
from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig, ListConfig, OmegaConf

__all__ = ["JobComposer"]

_ABSENT = object()
_SCALARS = (str, int, float, bool, type(None))


class JobComposer:
    """Compose job configs (without the ``hydra`` node) inside an initialised Hydra.

    Args:
        parser: Hydra's override parser (``OverridesParser.create(config_loader=...)``).
        loader: the config loader (``GlobalHydra.instance().config_loader()``), to tell
            config groups from values.
        config_name: the primary config (``config``).
    """

    def __init__(self, parser: OverridesParser, loader: ConfigLoader, config_name: str) -> None:
        self._parser = parser
        self._loader = loader
        self._name = config_name
        self._bases: dict[tuple[str, ...], DictConfig] = {}
        self._groups: dict[str, bool] = {}

    def compose(self, job: list[str]) -> DictConfig:
        """The job's config, equal to ``hydra.compose(config_name, overrides=job)``.

        Args:
            job: the job's override lines.

        Raises:
            HydraException, OmegaConfBaseException: as Hydra's compose raises them.
        """
        try:
            parsed = self._parser.parse_overrides(job)
        except Exception:
            return self._full(job)
        values = [o for o in parsed if self._plain_value(o)]
        rest = [o for o in parsed if not self._plain_value(o)]
        if not values or not all(o.is_hydra_override() or self._group(o) for o in rest):
            return self._full(job)
        key = tuple(o.input_line or "" for o in rest)
        base = self._bases.get(key)
        if base is None:
            try:
                base = compose(config_name=self._name, overrides=list(key))
            except Exception:
                return self._full(job)
            self._bases[key] = base
        cfg = copy.deepcopy(base)
        try:
            for o in values:
                node = OmegaConf.select(cfg, o.key_or_group, default=_ABSENT)
                if node is _ABSENT or isinstance(node, (DictConfig, ListConfig)):
                    return self._full(job)
                OmegaConf.update(cfg, o.key_or_group, o.value(), merge=True)
        except Exception:
            return self._full(job)
        return cfg

    def _full(self, job: list[str]) -> DictConfig:
        return compose(config_name=self._name, overrides=job)

    def _group(self, o: Override) -> bool:
        """``o`` chooses an option of a config group (``policy=static``)."""
        key = o.key_or_group
        if key not in self._groups:
            self._groups[key] = bool(self._loader.get_group_options(key))
        return self._groups[key] and o.type == OverrideType.CHANGE

    def _plain_value(self, o: Override) -> bool:
        """``o`` is ``key=scalar`` on the task config, not a group, a sweep or an add."""
        return (
            o.type == OverrideType.CHANGE
            and o.package is None
            and not o.is_sweep_override()
            and not o.is_hydra_override()
            and "/" not in o.key_or_group
            and isinstance(o.value(), _SCALARS)
            and not self._group(o)
        )
