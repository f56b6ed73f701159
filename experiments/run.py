"""Hydra entry point: one simulation run per job.

    python -m experiments.run                                  # default config
    python -m experiments.run policy=static seed=3             # overrides
    python -m experiments.run -m policy=static,behaviour_rules seed='range(0,20)'
    python -m experiments.run -m ... hydra/launcher=joblib     # local parallel jobs
    python -m experiments.run -m ... hydra.sweep.dir=multirun/study resume=true

Each job writes its tables under Hydra's job output folder (never the current
directory); see ``sim.outputs.files.write_run_outputs``.
"""

from __future__ import annotations

import logging
import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sim.config import register_configs, to_run_config
from sim.runtime.runner import run_to_folder

log = logging.getLogger(__name__)
register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> str:
    """Validate the config, run the simulation, write outputs; returns the output folder."""
    try:
        run = to_run_config(cfg)
    except (TypeError, ValueError, KeyError) as err:
        # A config error is the user's to fix: one clear line, no traceback.
        raise SystemExit(f"invalid config: {err}") from None
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    progress = run.output.progress and hc.mode == RunMode.RUN and interactive
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    run_id = hc.job.override_dirname or "default"
    out, ran = run_to_folder(
        run,
        out_dir,
        resolved=resolved,
        resolved_yaml=OmegaConf.to_yaml(cfg, resolve=True),
        run_id=f"{run.policy['name']}|{run.scenario.name}|seed={run.seed}|{run_id}",
        resume=bool(cfg.get("resume", False)),
        progress=progress,
    )
    log.info("%s run: %s", "finished" if ran else "skipped (complete)", out)
    print(f"{'wrote' if ran else 'skipped, already complete:'} {out}")
    return str(out)


if __name__ == "__main__":
    main()
