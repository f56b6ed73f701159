"""The sweep jobs this process composed and validated, for the sweeper to skip; the folder.

``python -m experiments.run -m ...`` composes every job of the sweep in
:func:`sim.runtime.preflight.preflight` (Hydra's compose API) before Hydra starts; Hydra's
basic sweeper would then compose each job again to validate it before launching any (45
jobs of the demo: about 7 s, serial, while the workers wait). Preflight records here what
it validated; the sweeper ``hydra/sweeper=limitlab``
(``hydra_plugins/limitlab_sweeper``) composes only the jobs not recorded, with Hydra's own
validation. A job is recorded with everything its composition depends on: the primary
config folder, the config name, the command line's ``hydra`` overrides and the job's
task overrides, as Hydra's sweeper spells them.

``experiments.run`` picks that sweeper (:func:`sweeper_override`) only for a sweep
preflight validated, with no sweeper chosen on the command line, and when Hydra finds the
plugin: it scans the folders of the ``hydra_plugins`` namespace, which an editable install
by setuptools >= 64 does not expose (the repository's folder on ``sys.path`` does, as for
``python -m`` from it). Otherwise the sweep runs with Hydra's basic sweeper, as before.

The sweeper also records the sweep's folder as it starts (:func:`record_sweep_folder`):
under a launcher whose jobs run in other processes (joblib, Ray, Submitit), this process
runs no job itself, and Ctrl-C's one-line message names the folder from this record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sim.config.registration import LIMITLAB_SWEEPER

__all__ = [
    "clear_validated",
    "record_sweep_folder",
    "record_validated",
    "sweep_folder",
    "sweeper_override",
    "was_validated",
]

#: Hydra settings that do not change whether a job composes: the run mode (Hydra adds
#: ``hydra.mode=MULTIRUN`` for ``-m``) and the sweeper (added by :func:`sweeper_override`).
_NEUTRAL = ("hydra.mode=", "hydra/sweeper=")

_Key = tuple[str, str, tuple[str, ...], tuple[str, ...]]
_RECORD: set[_Key] = set()
_SWEEP_FOLDER: list[str] = []


def _key(
    config_dir: str | Path, config_name: str, hydra_overrides: Sequence[str], job: Sequence[str]
) -> _Key:
    folder = str(config_dir).removeprefix("file://")
    settings = tuple(o for o in hydra_overrides if not o.startswith(_NEUTRAL))
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
            Hydra adds for ``-m``, and ``hydra/sweeper=...`` are left out).
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
    """Forget every recorded job and the sweep folder (tests)."""
    _RECORD.clear()
    _SWEEP_FOLDER.clear()


def record_sweep_folder(folder: str | Path) -> None:
    """Record the folder (``hydra.sweep.dir``, resolved) of the sweep starting here."""
    _SWEEP_FOLDER[:] = [str(folder)]


def sweep_folder() -> str | None:
    """The folder :func:`record_sweep_folder` recorded last; None if no sweep started."""
    return _SWEEP_FOLDER[-1] if _SWEEP_FOLDER else None


def sweeper_override(argv: Sequence[str]) -> list[str]:
    """``["hydra/sweeper=limitlab"]`` to add to a sweep's command line, or ``[]``.

    Args:
        argv: the command line's arguments (``sys.argv[1:]``), after
            :func:`sim.runtime.preflight.preflight` checked them in this process.

    Returns:
        The override when preflight recorded validated jobs, ``argv`` chooses no sweeper
        and Hydra's plugin scan (done by preflight) found the sweeper; else nothing, and
        the sweep runs with the sweeper of the config (Hydra's basic one).
    """
    if not _RECORD or any(a.lstrip("+~").startswith("hydra/sweeper") for a in argv):
        return []
    from hydra.core.plugins import Plugins

    if LIMITLAB_SWEEPER not in Plugins.instance().class_name_to_class:
        return []
    return ["hydra/sweeper=limitlab"]
