"""The sweep jobs this process has already composed and validated, for the sweeper to skip.

``python -m experiments.run -m ...`` composes every job of the sweep in
:func:`sim.runtime.preflight.preflight` (Hydra's compose API) before Hydra starts; Hydra's
basic sweeper would then compose each job again to validate it before launching any (45
jobs of the demo: about 7 s, serial, while the workers wait). Preflight records here what
it validated; the sweeper ``hydra/sweeper=limitlab``
(``hydra_plugins/limitlab_sweeper``) composes only the jobs not recorded, with Hydra's own
validation. A job is recorded with everything its composition depends on: the primary
config folder, the config name, the command line's ``hydra`` overrides and the job's
task overrides, as Hydra's sweeper spells them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["clear_validated", "record_validated", "was_validated"]

_Key = tuple[str, str, tuple[str, ...], tuple[str, ...]]
_RECORD: set[_Key] = set()


def _key(
    config_dir: str | Path, config_name: str, hydra_overrides: Sequence[str], job: Sequence[str]
) -> _Key:
    folder = str(config_dir).removeprefix("file://")
    # Hydra adds hydra.mode=MULTIRUN for -m; a sweep's job is composed as a run either way.
    settings = tuple(o for o in hydra_overrides if not o.startswith("hydra.mode="))
    return (str(Path(folder).resolve()), config_name, settings, tuple(job))


def record_validated(
    config_dir: str | Path,
    config_name: str,
    hydra_overrides: Sequence[str],
    jobs: Iterable[Sequence[str]],
) -> None:
    """Record sweep jobs whose configs were composed and validated in this process.

    Args:
        config_dir: the primary config folder (``conf/``; a ``file://`` prefix is dropped).
        config_name: the primary config (``config``).
        hydra_overrides: the command line's overrides of ``hydra`` settings, in order
            (what Hydra keeps in ``hydra.overrides.hydra``; ``hydra.mode=...``, which
            Hydra adds for ``-m``, is left out).
        jobs: each job's task overrides (without the ``hydra`` ones), as
            ``BasicSweeper.split_arguments`` spells them.
    """
    _RECORD.update(_key(config_dir, config_name, hydra_overrides, job) for job in jobs)


def was_validated(
    config_dir: str | Path, config_name: str, hydra_overrides: Sequence[str], job: Sequence[str]
) -> bool:
    """Whether :func:`record_validated` recorded this job (same arguments, same order)."""
    return _key(config_dir, config_name, hydra_overrides, job) in _RECORD


def clear_validated() -> None:
    """Forget every recorded job (tests)."""
    _RECORD.clear()
