"""Compare the policies of a finished sweep: ``python -m experiments.compare SWEEP_DIR``.

Collects every complete run below ``SWEEP_DIR`` (folders with ``_COMPLETE.json``),
writes the report of :func:`sim.analysis.report.write_report` (``report.md``,
``report.html``, CSV tables, figures) to ``SWEEP_DIR/report`` (or ``--out``) and prints
the report's path, then the key numbers of the effects on the treated (when the runs
wrote per-agent tables).

This is a post-processing tool, not a Hydra job: it takes plain command-line options.
It says what it is doing on standard error, one line a step. When the policies of a
scenario ran different seed sets (a half-finished sweep) it warns naming each policy,
scenario and missing seed, and compares only the seeds every policy ran (``--seeds all``
compares every run, ``--seeds refuse`` stops).

Every option is checked before any run is read or anything written (``--formats`` takes
what ``output.formats`` of a run takes: png, svg, pdf; ``--confidence`` is in (0, 1);
``--out`` a folder that can be created, missing, empty or holding only what a report
writes, :data:`REPORT_FILES` and :data:`REPORT_FOLDERS`).

With two or more cores a second process draws the scenario figures while this one
computes the effects on the treated (:mod:`sim.analysis.report.figure_worker`; the same
files); ``--serial`` draws them here.

The report is written whole into a temporary folder beside ``--out`` and then moved in
(replacing the files of an earlier report, leaving other files alone, also in its
``figures/``), so a Ctrl-C or an error leaves the folder as it was: Ctrl-C prints one line
and exits with 130 (once the report is moved in, the line says it was written).

Exit codes: 0 on success; 130 after Ctrl-C; 2 with a one-line message on standard error
for a bad option (usage errors too; a name or path longer than the system takes, an
``--out`` holding other entries than a report's), when the sweep folder is missing, a file
or cannot be read, holds no complete run, the baseline policy was not run, or seed sets
are unbalanced under ``--seeds refuse``.

Example::

    python -m experiments.compare multirun/2025-01-01/12-00-00 --method bootstrap
"""

from __future__ import annotations

import functools
import signal
import sys

from experiments.cli import exit_not_started

#: Ctrl-C's line before the report is begun (the report folder is untouched).
NOTHING_WRITTEN_LINE = "interrupted: nothing was written"

if __name__ == "__main__":
    # Ctrl-C while the libraries below are imported: one line, not an import's traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):  # `kill`, as Ctrl-C
        signal.signal(signum, functools.partial(exit_not_started, line=NOTHING_WRITTEN_LINE))

import argparse  # noqa: E402 - after the handler above
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from experiments.cli import INTERRUPTED_EXIT, USAGE_ERROR, OneLineParser  # noqa: E402
from sim.analysis.compare import SEED_MODES, UnbalancedSeedsWarning, collect_runs  # noqa: E402
from sim.analysis.report import write_report  # noqa: E402
from sim.analysis.report.figure_worker import FigureWorker  # noqa: E402
from sim.outputs.folders import move_entries  # noqa: E402

#: The files :func:`sim.analysis.report.write_report` writes into its folder
#: (``sim/analysis/report/document.py``, ``treated.py``'s ``write_treated_csv``), and its
#: folder of figures. An ``--out`` holding anything else is refused: the report would be
#: written among other files, replacing those of the same name. What ``figures/`` holds
#: is not looked at: a figure of one's own there is kept (:func:`move_entries` merges).
REPORT_FILES = frozenset(
    {"report.md", "report.html", "key_numbers.txt", "comparison_summary.csv"}
    | {"paired_differences.csv", "treated_effects.csv", "treated_firm_effects.csv"}
    | {"event_study.csv"}
)
REPORT_FOLDERS = frozenset({"figures"})
#: Files every report writes: an ``--out`` without both holds no earlier report.
REPORT_DOCUMENTS = ("report.md", "report.html")
#: Bytes kept below ``--out`` for the report's own paths (``figures/.tmp-<12 hex>-
#: deciles_limit_cuts_<scenario>.svg`` in the draft folder beside it).
REPORT_PATH_ROOM = 128


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m experiments.compare",
        description="Compare credit-limit policies over the complete runs of a sweep.",
    )
    parser.add_argument("sweep_dir", type=Path, help="sweep folder (one sub-folder per run)")
    parser.add_argument("--baseline", default="static", help="policy the others are paired against")
    parser.add_argument(
        "--method",
        choices=("t", "bootstrap"),
        default="t",
        help="paired-difference interval: paired t-test or BCa bootstrap",
    )
    parser.add_argument(
        "--formats",
        default="png,svg",
        help="comma-separated figure formats: png, svg, pdf (default png,svg)",
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="confidence level, in (0, 1) (default 0.95)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default SWEEP_DIR/report)"
    )
    parser.add_argument(
        "--seeds",
        choices=SEED_MODES,
        default="common",
        help="when policies ran different seeds (a half-finished sweep): compare only the "
        "seeds every policy ran (common, default), every run (all), or stop (refuse)",
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="draw the figures in this process (default: a second process while this one "
        "computes, with two or more cores)",
    )
    return parser


def _say(message: str) -> None:
    """What the comparison is doing, on standard error (standard output is the path)."""
    print(f"compare: {message}", file=sys.stderr, flush=True)


def check_options(args: argparse.Namespace) -> tuple[str, ...]:
    """Check every option before any run is read or anything written; the figure formats.

    Raises:
        ValueError: one line naming the option and what it takes: ``--formats`` (the
            formats of ``output.formats``), ``--confidence`` (in (0, 1)), ``--out`` (names
            and path the system takes; not a file; a folder that can be created; missing,
            empty or holding only an earlier report), the sweep folder (names and path the
            system takes; a folder, not a file).
    """
    from sim.config import OutputConfig
    from sim.outputs.folders import (
        check_creatable,
        check_path_lengths,
        foreign_entries,
        not_a_folder,
    )

    formats = tuple(f.strip().lstrip(".") for f in args.formats.split(",") if f.strip())
    if not formats:
        raise ValueError("--formats must name at least one format (png, svg, pdf)")
    try:
        OutputConfig(formats=list(formats))  # the formats runs accept
    except ValueError as exc:
        raise ValueError(f"--formats {args.formats!r}: {exc}") from None
    if not 0.0 < args.confidence < 1.0:
        raise ValueError(f"--confidence {args.confidence:g} is outside the allowed range (0, 1)")
    sweep = args.sweep_dir
    out = args.out if args.out is not None else sweep / "report"
    option = "--out" if args.out is not None else "the report folder (--out)"
    try:  # the path only: a name of 300 bytes was an OSError traceback
        check_path_lengths(sweep)
    except ValueError as exc:
        raise ValueError(f"sweep folder: {exc}: give the sweep's folder") from None
    try:
        check_path_lengths(out, room=REPORT_PATH_ROOM)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}: give another --out") from None
    try:
        sweep_is_file = sweep.exists() and not sweep.is_dir()
    except OSError as exc:  # inside a folder that cannot be looked in
        raise ValueError(_unreadable(sweep, exc)) from None
    if sweep_is_file:
        raise ValueError(f"sweep folder {sweep} is a file, not a folder: give the sweep's folder")
    where = not_a_folder(out)
    if where:
        raise ValueError(f"{option} {out} {where}: give another --out")
    try:
        # An earlier report holds both its documents (moved in whole): without them, files
        # named like a report's are someone else's (a report.md of one's own was replaced).
        earlier = all((out / name).is_file() for name in REPORT_DOCUMENTS)
        ours = (REPORT_FILES, REPORT_FOLDERS) if earlier else (frozenset(), frozenset())
        foreign = foreign_entries(out, *ours)
    except OSError as exc:
        raise ValueError(
            f"{option} {out}: cannot read it ({exc.strerror or exc}): give another --out"
        ) from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"{option} {out} already holds entries that are not a report's ({shown}): "
            "the report would be written among them; choose a new or empty folder (--out)"
        )
    if args.out is not None or sweep.is_dir():
        try:
            check_creatable(out)
        except ValueError as exc:
            raise ValueError(f"{option} {out}: {exc}: give another --out") from None
    return formats


def _unreadable(sweep: Path, exc: OSError) -> str:
    """The message of a sweep folder that cannot be read (``exc`` says where and why)."""
    where = f" {exc.filename}" if exc.filename and str(exc.filename) != str(sweep) else ""
    return (
        f"sweep folder {sweep}: cannot read{where} ({exc.strerror or exc}): give a sweep "
        "folder that can be read"
    )


def main(argv: Sequence[str] | None = None, *, raise_interrupt: bool = False) -> int:
    """Run the comparison; return the process exit code (0 ok, 2 on a bad option or data).

    Ctrl-C prints one line and returns 130, the report folder as it was; with
    ``raise_interrupt`` (a tool that says its own line, the demo) the KeyboardInterrupt is
    raised instead, after the same clean-up. Once the report is moved in, Ctrl-C says it
    was written (``interrupted: the report was written to <report.md>``) and returns 130,
    with ``raise_interrupt`` too.
    """
    args = _parser().parse_args(argv)
    try:
        formats = check_options(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    out = args.out if args.out is not None else args.sweep_dir / "report"
    drafts: list[Path] = []
    written: list[Path] = []
    try:
        # The figure process starts now: its imports overlap the reading of the runs.
        with FigureWorker(process=False if args.serial else None) as figure_worker:
            return _compare(args, formats, figure_worker, drafts, written)
    except KeyboardInterrupt:
        if written:  # moved in whole: the interrupt came after (its printing, clean-up)
            print(
                f"interrupted: the report was written to {written[0]}", file=sys.stderr, flush=True
            )
            return INTERRUPTED_EXIT
        if raise_interrupt:
            raise
        print(
            f"interrupted: the report was not written ({out} is as it was); run the "
            "command again to write it",
            file=sys.stderr,
            flush=True,
        )
        return INTERRUPTED_EXIT
    finally:  # after the figure process has stopped: it may be drawing into the draft
        for draft in drafts:
            shutil.rmtree(draft, ignore_errors=True)


def _compare(
    args: argparse.Namespace,
    formats: tuple[str, ...],
    figure_worker: FigureWorker,
    drafts: list[Path],
    written: list[Path],
) -> int:
    """Read the runs, write the report into a draft folder and move it in.

    The draft is added to ``drafts``: the caller removes it once the figure process has
    stopped (after an error or Ctrl-C it may still be drawing into it). The report's path
    is added to ``written`` once it is moved in, before a Ctrl-C held meanwhile arrives.
    """
    try:
        if args.sweep_dir.is_dir():
            _say(f"reading the runs in {args.sweep_dir} ...")
        t0 = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnbalancedSeedsWarning)
            # The report reads no limit-change events (a third of the reading time).
            try:
                tables = collect_runs(args.sweep_dir, seeds=args.seeds, skip=("events",))
            except OSError as exc:  # `compare /`: /proc/1/cwd
                if isinstance(exc, FileNotFoundError) and exc.errno is None:
                    raise  # collect_runs' own: the folder is missing
                raise ValueError(_unreadable(args.sweep_dir, exc)) from None
        for warning in caught:
            if issubclass(warning.category, UnbalancedSeedsWarning):
                print(f"warning: {warning.message}", file=sys.stderr, flush=True)
            else:
                warnings.showwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        _say(
            f"{len(tables.summary)} complete run(s): {len(tables.policies)} policies x "
            f"{len(tables.scenarios)} scenario(s) x {len(tables.seeds)} seed(s), read in "
            f"{time.monotonic() - t0:.1f} s"
        )
        if tables.incomplete:
            _say(f"skipped {len(tables.incomplete)} incomplete run folder(s)")
        if args.baseline not in set(tables.policies):
            raise ValueError(
                f"--baseline {args.baseline!r}: that policy was not run in {args.sweep_dir}; "
                f"the policies run: {', '.join(sorted(map(str, tables.policies)))}"
            )
        out_dir = args.out if args.out is not None else args.sweep_dir / "report"
        _say(
            f"pairing every policy with {args.baseline!r} on each (scenario, seed), then "
            f"drawing the figures and writing the report to {out_dir} ..."
        )
        t0 = time.monotonic()
        # Written whole into a folder beside, then moved in: a Ctrl-C or an error leaves
        # the folder as it was, never a report half new and half old.
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        draft = Path(tempfile.mkdtemp(prefix=".tmp-report-", dir=out_dir.parent))
        drafts.append(draft)
        report = write_report(
            tables,
            draft,
            baseline=args.baseline,
            formats=formats,
            method=args.method,
            confidence=args.confidence,
            figure_worker=figure_worker,
        )
        # Ctrl-C (and kill) held until the report is noted as written: one during the move
        # arrives after it, and says so.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            move_entries(draft, out_dir)
            report = out_dir / report.relative_to(draft)
            written.append(report)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    _say(f"report written in {time.monotonic() - t0:.1f} s")
    print(report)
    key = report.parent / "key_numbers.txt"
    if key.is_file() and key.read_text(encoding="utf-8").strip():
        print("Effects on the borrowers cut (vs the same borrowers under the baseline):")
        print(key.read_text(encoding="utf-8").rstrip())
    return 0


if __name__ == "__main__":
    try:
        # The imports are done: Ctrl-C is main's to handle from here.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # `kill` (SIGTERM, as a scheduler sends at a time limit) stops it as Ctrl-C does:
        # its one line, the same clean-up (a sweep's workers, a half-written file).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        code = main()
    except KeyboardInterrupt:  # before main's own handling (argument parsing)
        exit_not_started(line=NOTHING_WRITTEN_LINE)
    raise SystemExit(code)
