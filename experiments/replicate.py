"""Virtual experiments of published limit-change designs: ``python -m experiments.replicate``.

Runs paired experiments under common random numbers (every arm against ``static`` with the
same seed; :mod:`sim.empirical.replication`): (a) randomised limit increases, Δdebt/Δlimit
overall, by utilisation band and PD quintile, beside Gross & Souleles (2002) and Agarwal
et al. (2018); (b) a decrease and what it does to the cut borrowers; (c) a household cut
of 75 % for prime vs subprime borrowers; (d) the pre-peak cut of sole traders; (e)
``sme_aware``'s peak-season tranche against ``static`` and ``behaviour_rules`` (what it buys
the firms and costs the platform). Writes
``report.md``, ``summary``/``per_seed`` (Parquet and CSV) and ``targets.csv`` to
``outputs/replication/<timestamp>/`` (or ``--out``) and prints the target table.

Options are checked before anything runs; a bad one stops with a message naming it and
its allowed range. Exit codes: 0 every issue-17 target met (or the increase experiment not
run); 1 a target missed; 2 could not run (usage or config error, one line ``error: ...``).

Examples::

    python -m experiments.replicate
    python -m experiments.replicate --seeds 2 --n-borrowers 5000 --experiments increase
    python -m experiments.replicate --months 24 --horizons 3,6,12 --override firms.owner_share=0

Months are window months: every run first simulates the run config's ``burn_in_months``
under ``static`` (``--override burn_in_months=0`` starts from the initial book).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.cli import OneLineParser, option_message
from sim.outputs.files import check_output_dir

MET, MISSED, COULD_NOT_RUN = 0, 1, 2

#: Config field -> the option that sets it (so config errors name the option).
_OPTION_OF = {
    "replication.seeds": "--seeds",
    "replication.first_seed": "--first-seed",
    "replication.n_borrowers": "--n-borrowers",
    "replication.n_months": "--months",
    "replication.treatment_month": "--treatment-month",
    "replication.horizons": "--horizons",
    "replication.experiments": "--experiments",
}


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    from sim.empirical.replication import EXPERIMENTS

    p = OneLineParser(
        prog="python -m experiments.replicate",
        description="Paired virtual experiments of limit changes beside the published designs.",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="replication config (YAML; default conf/replication/default.yaml)",
    )
    p.add_argument("--seeds", type=int, default=None, help="number of seeds, 1..200")
    p.add_argument("--first-seed", type=int, default=None, help="first seed, >= 0")
    p.add_argument("--n-borrowers", type=int, default=None, help="borrowers per run, 10..2,000,000")
    p.add_argument(
        "--months",
        type=int,
        default=None,
        help="window months per run (after the run's burn-in), >= treatment month + longest "
        "horizon",
    )
    p.add_argument(
        "--treatment-month", type=int, default=None, help="window month of the change, >= 1"
    )
    p.add_argument(
        "--horizons",
        type=_int_list,
        default=None,
        help="months after treatment, comma-separated, increasing (e.g. 3,6,12,24)",
    )
    p.add_argument(
        "--experiments",
        default=None,
        help=f"comma-separated: {', '.join(EXPERIMENTS)}, or all (default: the config's; "
        "conf/replication/default.yaml runs all)",
    )
    p.add_argument(
        "--override",
        action="append",
        default=None,
        help="extra run-config override (Hydra syntax), repeatable",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default outputs/replication/<timestamp>)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    return p  # fmt: skip


def build_config(args: argparse.Namespace) -> Any:
    """The checked replication config of the options.

    Raises:
        FileNotFoundError: ``--config`` does not exist.
        ValueError: an option or config value out of range (the message names it).
    """
    from sim.empirical.replication import EXPERIMENTS, load_replication_config
    from sim.runtime.compose import CONF_DIR

    path = args.config or Path(CONF_DIR) / "replication" / "default.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"--config: file not found: {path}")
    experiments = None
    if args.experiments is not None:
        names = [e.strip() for e in args.experiments.split(",") if e.strip()]
        experiments = list(EXPERIMENTS) if names == ["all"] else names
    changes = dict(
        seeds=args.seeds,
        first_seed=args.first_seed,
        n_borrowers=args.n_borrowers,
        n_months=args.months,
        treatment_month=args.treatment_month,
        horizons=args.horizons,
        experiments=experiments,
    )
    if args.horizons is not None or args.treatment_month is not None:
        # The target horizon must be one of the horizons: use the longest one <= 12.
        import yaml

        base = yaml.safe_load(path.read_text()) or {}
        horizons = args.horizons or base.get("horizons", [12])
        targets = dict(base.get("targets") or {})
        if targets.get("horizon", 12) not in horizons:
            targets["horizon"] = max([h for h in horizons if h <= 12] or [min(horizons)])
            changes["targets"] = targets
    try:
        cfg = load_replication_config(path, **changes)
    except ValueError as exc:
        raise ValueError(option_message(str(exc), _OPTION_OF)) from None
    check_overrides(cfg.overrides, "overrides (in --config)")
    check_overrides(args.override or [], "--override")
    if args.override:
        cfg.overrides = [*cfg.overrides, *args.override]
    from sim.runtime.compose import load_run_config
    from sim.runtime.errors import config_error

    try:
        load_run_config(cfg.run_overrides(cfg.first_seed))
    except Exception as exc:  # noqa: BLE001 - Hydra and schema errors alike
        # The message `python -m experiments.run <override>` gives.
        raise ValueError(f"--override / run config: {config_error(exc)}") from None
    return cfg


#: Run-config keys replicate sets itself -> what to do instead.
SET_BY_REPLICATE = {
    "seed": "use --seeds and --first-seed",
    "n_months": "use --months",
    "population.n_borrowers": "use --n-borrowers",
    "population": "set population: in the replication config (--config)",
    "policy": "replicate runs static and each arm's policy itself",
}


def check_overrides(overrides: Sequence[str], option: str) -> None:
    """Refuse a run-config override of a key replicate sets itself (it would be ignored).

    Args:
        overrides: run-config overrides (Hydra syntax: ``key=value``, ``+key=value``).
        option: where they come from, for the message (``--override``).

    Raises:
        ValueError: ``<option> seed=3: seed is set by replicate: use --seeds and
            --first-seed`` (one line).
    """
    for line in overrides:
        key = str(line).lstrip("+~").split("=", 1)[0].split("@", 1)[0].strip()
        if key in SET_BY_REPLICATE:
            raise ValueError(
                f"{option} {line}: {key} is set by replicate, not overridden: "
                f"{SET_BY_REPLICATE[key]}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments; return the exit code (0 targets met, 1 missed, 2 could not run)."""
    args = _parser().parse_args(argv)
    out = args.out or Path("outputs") / "replication" / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        cfg = build_config(args)
        check_output_dir(out, new_or_empty=True)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return COULD_NOT_RUN
    from sim.empirical.replication import run_replication, write_replication_report
    from sim.empirical.replication.report import PUBLISHED

    start = time.time()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.time() - start:6.0f} s] {msg}", file=sys.stderr)

    result = run_replication(cfg, progress=progress)
    report = write_replication_report(result, out)
    targets = result.targets
    if not targets.empty:
        shown = targets.assign(
            result=targets["met"].map(lambda m: "–" if m is None else ("met" if m else "MISSED"))
        ).drop(columns=["value", "met"])
        print(shown.to_string(index=False))
    print("\n".join(f"{k}: {v}" for k, v in PUBLISHED.items()))
    print(f"report: {report}")
    missed = any(m is False for m in targets["met"])
    return MISSED if missed else MET


if __name__ == "__main__":
    sys.exit(main())
