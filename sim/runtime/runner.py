"""Running one configured simulation and writing its outputs (the work behind the CLI).

The Hydra entry point (``experiments/run.py``) is a thin ``main(cfg)`` around
:func:`run_to_folder`; notebooks and tests call :func:`simulate` directly.
"""

from __future__ import annotations

import gc
import hashlib
import json
import platform as _platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import sim
from sim.config import RunConfig
from sim.outputs.event_stream import events_frame
from sim.outputs.files import (
    COMPLETE_MARKER,
    git_commit,
    read_json,
    run_is_complete,
    save_figure,
    write_run_outputs,
)
from sim.outputs.folders import remove_stale_temporaries
from sim.runtime.burn_in import BurnInStore
from sim.runtime.errors import UserError

if TYPE_CHECKING:  # the model's libraries (Mesa, the kernels) load when a run starts
    from sim.model import CreditMarketModel

#: The figure formats ``output.formats`` takes (:class:`sim.config.OutputConfig`).
FIGURE_FORMATS = ("png", "svg", "pdf")
#: Config keys that do not change a run's results (excluded from its hash).
NON_RESULT_KEYS = ("output", "resume", "experiment_name", "share_burn_in")


def simulate(
    run: RunConfig,
    *,
    progress: bool = False,
    burn_in: BurnInStore | None = None,
    **model_kwargs: Any,
) -> CreditMarketModel:
    """Build the model for ``run`` and simulate ``run.n_months`` months.

    Args:
        run: validated run config.
        progress: show a progress bar over months.
        burn_in: saved burn-ins shared with runs of the same config but their policy
            (:mod:`sim.runtime.burn_in`); None simulates the burn-in here.
        **model_kwargs: passed to :class:`CreditMarketModel` (e.g. ``uci=``).

    Returns:
        The model after the run.

    Raises:
        ValueError: ``burn_in`` with ``model_kwargs`` (a saved state is keyed by the config
            only, so a model built from other inputs cannot share it).
    """
    if burn_in is not None and model_kwargs:
        raise ValueError(
            f"a shared burn-in is keyed by the run config alone, not by {sorted(model_kwargs)}: "
            "give burn_in=None with them"
        )
    from sim.model import CreditMarketModel

    model = CreditMarketModel(run, **model_kwargs)
    if burn_in is not None:
        burn_in.run_burn_in(model, progress=progress)
    return model.run(progress=progress)


def config_hash(resolved: dict[str, Any]) -> str:
    """SHA-256 (hex, 16 chars) of the result-relevant part of a resolved config."""
    payload = {k: v for k, v in resolved.items() if k not in NON_RESULT_KEYS}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def overwrite_refusal(
    out_dir: str | Path, digest: str, *, resume: bool, option: str | None = None
) -> str | None:
    """Why a run of config hash ``digest`` may not write into ``out_dir`` (None if it may).

    A folder whose completion marker (:data:`sim.outputs.files.COMPLETE_MARKER`) is there
    holds a finished run: it is never overwritten, except by ``resume`` for the same
    config (which skips it when complete, or completes it when a table is missing).
    ``option`` names the setting that chose the folder (e.g. ``hydra.run.dir``).
    """
    choose = "choose a new folder" + (f" ({option}=...)" if option else "")
    marker = Path(out_dir) / COMPLETE_MARKER
    if not marker.is_file():
        return None
    try:
        finished = read_json(marker).get("config_hash")
    except (OSError, ValueError, AttributeError):
        return None  # no readable marker: not a finished run (as run_is_complete reads it)
    if resume and finished == digest:
        return None
    if resume:
        return (
            f"run folder {out_dir} already holds a finished run of another config, which "
            f"this run would overwrite: {choose}"
        )
    return (
        f"run folder {out_dir} already holds a finished run, which this run would "
        f"overwrite: {choose}, or add resume=true to keep it (a finished run of the same "
        "config is then not run again)"
    )


def run_to_folder(
    run: RunConfig,
    out_dir: str | Path,
    *,
    resolved: dict[str, Any],
    resolved_yaml: str,
    run_id: str,
    resume: bool = False,
    progress: bool = False,
    burn_in: BurnInStore | None = None,
) -> tuple[Path, bool]:
    """Simulate ``run`` and write every output table into ``out_dir``.

    Args:
        run: validated run config.
        out_dir: the run folder.
        resolved: the resolved config as a plain dict (hashed for resume).
        resolved_yaml: the same config as YAML text (written beside the results).
        run_id: identifier written into the tables.
        resume: skip the run if ``out_dir`` already holds a complete run of the same config.
        progress: show a progress bar over months.
        burn_in: saved burn-ins shared by a sweep's runs (:func:`simulate`).

    Returns:
        ``(out_dir, ran)``: ``ran`` is False when the run was skipped by ``resume``.

    Raises:
        UserError: ``out_dir`` already holds a finished run (its completion marker) that
            this one would overwrite: without ``resume``, or of another config.
    """
    out = Path(out_dir)
    digest = config_hash(resolved)
    if resume and run_is_complete(out, digest):
        return out, False
    refusal = overwrite_refusal(out, digest, resume=resume)
    if refusal:
        raise UserError(refusal)
    remove_stale_temporaries(out)  # left by a writer killed in an earlier attempt
    # An earlier attempt's figure (plots or formats since changed): the tables are all
    # written again, the figure only as this config says.
    for fmt in FIGURE_FORMATS:
        (out / f"portfolio.{fmt}").unlink(missing_ok=True)
    started = time.time()
    # The model is released as soon as its tables exist: a sequential sweep holds one
    # run's state at a time.
    with simulate(run, progress=progress, burn_in=burn_in) as model:
        # The events go to their file from the record, a row group at a time.
        tables = model.tables(run_id, events_as_file=True)
        # Months whose end state was read from the sweep's shared burn-in, not simulated.
        burn_in_read = model.restored_months
    # The policy that ran (its label is in the summary), not the config's name.
    policy = str(tables["summary"]["policy"].iloc[0])
    if run.output.plots:
        from sim.analysis.plotting import policy_timeseries

        monthly = tables["monthly"].assign(policy=policy, seed=run.seed)
        fig = policy_timeseries(
            monthly, ["drawn_balance_cny", "ead_cny", "dpd90_share", "effective_apr"]
        )
        save_figure(fig, out / "portfolio", formats=tuple(run.output.formats))
    if not run.output.events:
        tables["events"] = events_frame([])
    if not run.output.agent_tables:
        for name in ("borrowers", "firm_outcomes", "agent_panel"):
            tables[name] = tables[name].iloc[0:0]
    info = {
        "run_id": run_id,
        "seed": run.seed,
        "policy": policy,
        "policy_class": str(tables["summary"]["policy_class"].iloc[0]),
        "scenario": run.scenario.name,
        "population": run.population.name,
        "config_hash": digest,
        "limitlab_version": sim.__version__,
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "python": _platform.python_version(),
        "numpy": np.__version__,
        "started_unix": started,
        "wall_seconds": round(time.time() - started, 3),
        "burn_in_months_read": burn_in_read,
    }
    write_run_outputs(tables, out, info, resolved_yaml)
    del tables
    # The model's state went with close(); what is left of a run is in reference cycles
    # made by libraries (closed matplotlib figures, composed configs, Mesa's model object)
    # that only a full collection frees, and NumPy arrays barely count towards the
    # collector's thresholds: collect now, so a sequential sweep holds one run at a time.
    gc.collect()
    return out, True
