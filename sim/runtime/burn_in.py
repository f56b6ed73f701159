"""One burn-in for the runs of a sweep that differ only in their policy.

Every policy starts its comparison window from the same book: the burn-in runs ``static``
under the run's seed, whatever the policy under study (``sim.build.start_window``). A
sweep of P policies x S seeds therefore simulates each seed's burn-in P times. With
``share_burn_in=true`` (the default) the first run of a seed saves the model's state at
the end of its burn-in under ``<sweep dir>/.burn_in/`` and the others start from it: the
same numbers, bit for bit, as simulating it again (``tests/runtime/test_burn_in.py`` runs
every policy both ways), for about ``burn_in / (burn_in + n_months)`` of the run's time.

A saved state is keyed by everything in the run's config but its policy, and by the
code that simulates (a digest of the ``sim`` package's sources and bundled data) and the
NumPy version,
so a changed config, model or library never reuses it; the file holds its key, checked
on reading. A state that cannot be read, or is of another key, is simulated again (with a
warning) and replaced. The files are read with :mod:`pickle`, which runs what a file says:
share a sweep folder only with people you trust, as any pickle. The files are about the
size of the run's state (roughly 0.5 kB per borrower); ``rm -r <sweep dir>/.burn_in``
removes them.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import logging
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import sim
from sim.config import RunConfig
from sim.outputs.files import _atomic_path

if TYPE_CHECKING:
    from sim.model import CreditMarketModel
    from sim.month import World

__all__ = ["BURN_IN_FOLDER", "BurnInStore", "burn_in_key", "continue_from", "state_after"]

log = logging.getLogger(__name__)

#: Folder of the saved burn-ins inside a sweep folder.
BURN_IN_FOLDER = ".burn_in"
#: Config fields that do not change the burn-in: the policy under study takes over after it.
_NOT_IN_KEY = ("policy",)
#: Format of a saved state (bumped when its layout changes).
_FORMAT = 1


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """SHA-256 of the ``sim`` package's Python sources and bundled data (``sim/data``)."""
    root = Path(sim.__file__).parent
    digest = hashlib.sha256()
    files = [*root.rglob("*.py"), *(p for p in (root / "data").rglob("*") if p.is_file())]
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def burn_in_key(run: RunConfig) -> str:
    """The key of ``run``'s burn-in: 24 hex characters.

    Equal for two runs exactly when their configs agree on every field but ``policy`` and
    the same code and NumPy version simulate them.
    """
    fields = dataclasses.asdict(run)
    payload = {k: v for k, v in fields.items() if k not in _NOT_IN_KEY}
    text = json.dumps(
        [_FORMAT, payload, _code_digest(), np.__version__], sort_keys=True, default=repr
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class BurnInStore:
    """Saved burn-ins in ``folder`` (``<sweep dir>/.burn_in``), one file per key.

    Args:
        folder: where the states are kept (created on the first save).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, run: RunConfig) -> Path:
        """The file of ``run``'s burn-in."""
        return self.folder / f"{burn_in_key(run)}.pkl"

    def run_burn_in(self, model: CreditMarketModel, progress: bool = False) -> bool:
        """Bring a new ``model`` to the end of its burn-in: from a saved state, or simulated.

        A simulated burn-in is saved for the runs that share it.

        Args:
            model: a model that has not stepped yet.
            progress: show a progress bar over the simulated months.

        Returns:
            True if the state was read, False if the burn-in was simulated.

        Raises:
            ValueError: ``model`` has already stepped.
        """
        run, months = model.config, model.config.burn_in_months
        if model.steps != 0:
            raise ValueError(f"the burn-in is shared from month 0; the model is at {model.steps}")
        if months == 0:
            return False
        key = burn_in_key(run)
        path = self.folder / f"{key}.pkl"
        state = self._read(path, key, months)
        if state is not None:
            continue_from(model, state, months)
            return True
        model.run(months, progress=progress)
        self._write(path, {"key": key, "months": months, "state": state_after(model, months)})
        return False

    @staticmethod
    def _read(path: Path, key: str, months: int) -> dict[str, Any] | None:
        """The state saved in ``path`` for ``key`` after ``months`` months, or None."""
        if not path.is_file():
            return None
        try:
            with path.open("rb") as f:
                saved = pickle.load(f)
            problem = _problem(saved, key, months)
        except Exception as err:  # a damaged file
            problem = f"unreadable ({err})"
        if problem:
            # Simulated again and replaced; never a state of another config.
            log.warning("burn-in state %s %s: simulating the burn-in", path, problem)
            return None
        return saved["state"]

    @staticmethod
    def _write(path: Path, saved: dict[str, Any]) -> None:
        try:
            with _atomic_path(path) as tmp, tmp.open("wb") as f:
                pickle.dump(saved, f, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as err:  # a full disk costs the sharing, not the run
            log.warning("burn-in state %s not saved (%s)", path, err)


def _problem(saved: Any, key: str, months: int) -> str:
    """Why ``saved`` is not the state of ``key`` after ``months`` months ("" if it is)."""
    from sim.month import World
    from sim.outputs.recorder import RunRecord

    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        return "unreadable (not a saved burn-in)"
    if saved.get("key") != key or saved.get("months") != months:
        return f"is of another config (key {saved.get('key')!r}, {saved.get('months')!r} months)"
    state = saved["state"]
    kinds = {"world": World, "record": RunRecord, "model_vars": dict, "mesa_rng": dict}
    wrong = [name for name, kind in kinds.items() if not isinstance(state.get(name), kind)]
    return f"unreadable (missing or wrong {wrong})" if wrong else ""


def state_after(model: CreditMarketModel, months: int) -> dict[str, Any]:
    """What later months read of ``model``, after ``months`` months: to continue from.

    The world (but its config, UCI table and policy under study, which are the continuing
    run's), the run record, the monthly metrics and Mesa's generator state; arrays are
    shared, not copied.

    Raises:
        ValueError: the model is not at the end of month ``months``.
        RuntimeError: the model was closed.
    """
    world = _open(model)
    if model.steps != months:
        raise ValueError(f"the model is at month {model.steps}, not {months}")
    kept = copy.copy(world)
    kept.config, kept.uci, kept.window_policy = None, None, None
    for f in dataclasses.fields(kept):
        part = getattr(kept, f.name)
        if "_row_buffers" in getattr(part, "__dict__", {}):
            # The append buffers' weak references (sim.rows): the arrays are the state.
            part = copy.copy(part)
            del part.__dict__["_row_buffers"]
            setattr(kept, f.name, part)
    return {
        "world": kept,
        "record": model.record,
        "model_vars": model.datacollector.model_vars,
        "mesa_rng": model.rng.bit_generator.state,
    }


def continue_from(model: CreditMarketModel, state: dict[str, Any], months: int) -> None:
    """Give a new ``model`` ``state`` (:func:`state_after` of a run differing in its policy).

    The model's next ``months`` steps are counted without being simulated
    (``model.restored_months``); its world keeps its own config, UCI table and policy
    under study.

    Raises:
        ValueError: the model has stepped already.
    """
    fresh = _open(model)
    if model.steps != 0:
        raise ValueError(f"a model continues from a saved state at month 0, not {model.steps}")
    world = state["world"]
    world.config, world.uci, world.window_policy = fresh.config, fresh.uci, fresh.window_policy
    model.world, model.record = world, state["record"]
    for name, values in state["model_vars"].items():
        model.datacollector.model_vars[name] = list(values)
    model.rng.bit_generator.state = state["mesa_rng"]
    model.restored_months = months


def _open(model: CreditMarketModel) -> World:
    if model.world is None:
        raise RuntimeError("the model was closed: its state is gone")
    return model.world
