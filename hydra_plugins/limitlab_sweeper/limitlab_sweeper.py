"""``hydra/sweeper=limitlab``: Hydra's basic sweeper that skips re-composing validated jobs.

Hydra's :class:`~hydra._internal.core_plugins.basic_sweeper.BasicSweeper` composes every
job of a batch before launching it, to catch composition errors early. When the sweep is
started by ``python -m experiments.run``, :func:`sim.runtime.preflight.preflight` has
already composed and validated every job in this process, with Hydra's compose API, and
recorded them (:mod:`sim.runtime.validated_jobs`). This sweeper makes the same jobs in the
same order (it is the basic sweeper) and validates, with Hydra's own check, only the jobs
that were not recorded, e.g. a sweep started from Python or with a config folder of its
own. The jobs, their configs, folders and results are the basic sweeper's, but for one
thing: a job whose run folder already holds a finished run is told not to write Hydra's
``.hydra/`` record there (:func:`LimitLabSweeper.get_job_batch`), so the finished run's
record is not replaced by the resumed sweep's. Its config node (``hydra/sweeper/limitlab``)
is stored by :func:`sim.config.register_configs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import OmegaConf


class LimitLabSweeper(BasicSweeper):
    """The basic sweeper; a batch's jobs already validated in this process are not composed."""

    def sweep(self, arguments: list[str]) -> Any:
        """The basic sweeper's sweep; an error Ctrl-C caused is raised as the interrupt.

        The sweep's folder is recorded first (:func:`sim.runtime.validated_jobs.
        record_sweep_folder`), for Ctrl-C's message when the jobs run in other processes,
        and the temporary files a killed writer left among its shared burn-ins are removed
        (each run folder's are removed as its job starts).

        Ctrl-C while the launcher composes a job's config can leave OmegaConf raising
        another error (e.g. ``ConfigCompositionException``) with the interrupt behind it
        (:func:`sim.interrupts.interrupt_behind`); raised as the ``KeyboardInterrupt``,
        it reaches ``experiments.run``'s one-line "interrupted" message instead of Hydra's
        job-error report. A user's error raised outside the jobs' own code (a full disk as
        Hydra writes a job's ``.hydra/`` files, in this process or a worker's) is its one
        line and exit code 2 (:func:`sim.runtime.errors.exit_with`), as inside a job.
        """
        from sim.interrupts import interrupt_behind, let_held_signals_in, raise_if_interrupted
        from sim.outputs.folders import remove_stale_temporaries
        from sim.runtime.burn_in import BURN_IN_FOLDER
        from sim.runtime.errors import as_user_error, exit_with
        from sim.runtime.launcher_options import timeout_error
        from sim.runtime.validated_jobs import record_sweep_folder

        assert self.config is not None
        folder = Path(str(self.config.hydra.sweep.dir))
        record_sweep_folder(folder)
        let_held_signals_in()  # held by experiments.run while Hydra composed the config
        raise_if_interrupted()
        # No job runs yet: a temporary file in the shared burn-ins is a killed writer's.
        remove_stale_temporaries(folder / BURN_IN_FOLDER)
        try:
            return super().sweep(arguments)
        except Exception as err:
            interrupt = interrupt_behind(err)
            if interrupt is not None:
                raise interrupt from None
            # A job over joblib's hydra.launcher.timeout: one line, the runs kept.
            user = as_user_error(err) or timeout_error(err, self.config.hydra.launcher, folder)
            if user is None:
                raise
            exit_with(user)  # e.g. a full disk as Hydra writes a job's .hydra/ files

    def get_job_batch(self) -> Sequence[Sequence[str]]:
        """The basic sweeper's next batch, finished runs' records kept.

        A job whose run folder holds a finished run gets
        :data:`sim.runtime.run_folders.KEEP_RECORD`, so that Hydra leaves that run's
        ``.hydra/`` record as it was (the job then skips the run, or refuses the folder).
        """
        from hydra.core.override_parser.overrides_parser import OverridesParser

        from sim.runtime.job_configs import JobComposer
        from sim.runtime.run_folders import KEEP_RECORD, finished_job_folder

        assert self.config is not None and self.hydra_context is not None
        batch = super().get_job_batch()
        first = getattr(self, "_jobs_issued", 0)
        self._jobs_issued = first + len(batch)
        loader = self.hydra_context.config_loader
        parser = OverridesParser.create(config_loader=loader)
        # A job's config, composed only for a subdir reading a key the job changes.
        composer = JobComposer(parser, loader, str(self.config.hydra.job.config_name))
        return [
            [*job, KEEP_RECORD]
            if finished_job_folder(self.config, parser, job, first + i, composer.compose)
            is not None
            else list(job)
            for i, job in enumerate(batch)
        ]

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Compose (Hydra's check) the jobs of ``batch`` that preflight did not validate.

        Raises:
            hydra.errors.HydraException, omegaconf.errors.OmegaConfBaseException: a job
                that does not compose, as the basic sweeper raises them.
        """
        from sim.runtime.run_folders import KEEP_RECORD
        from sim.runtime.validated_jobs import was_validated

        assert self.config is not None
        batch = [[o for o in job if o != KEEP_RECORD] for job in batch]
        hydra_cfg = self.config.hydra
        mains = [s.path for s in hydra_cfg.runtime.config_sources if s.provider == "main"]
        # As typed: an override such as ``hydra.sweep.subdir=${hydra.job.num}`` has no
        # value until a job runs, and preflight recorded the lines unresolved.
        hydra_overrides = [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.hydra)]
        name = str(hydra_cfg.job.config_name)
        rest = [
            job
            for job in batch
            if len(mains) != 1 or not was_validated(mains[0], name, hydra_overrides, job)
        ]
        if rest:
            super().validate_batch_is_legal(rest)
