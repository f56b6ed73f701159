"""Benchmark: wall time, throughput, peak memory and stage profile, per implementation.

    python -m experiments.bench            # 10k, 100k, 1M borrowers x 120 months, all three
    python -m experiments.bench --sizes 10000 --months 24 --implementations compiled,numpy
    python -m experiments.bench --sizes 1000000 --implementations compiled --threads 2
    python -m experiments.bench --sizes 100000 --reference-months 3   # shorter reference run
    python -m experiments.bench --sizes 1000000 --repeat 3            # fastest and median of 3

Every (size, implementation, threads) runs in a fresh process, so its peak resident memory
is its own. The implementation is the process-wide switch of :mod:`sim.compiled`
(``compiled``: the numba kernels of the stages that have them; ``numpy``: their NumPy
passes; ``reference``: their per-agent Python); stages without kernels run NumPy in all
three. ``--threads`` sets numba's worker threads (``sim.compiled.set_threads``) and only
matters to the compiled kernels, so ``numpy`` and ``reference`` run once, on one thread.
The reference runs only up to 100,000 borrowers and for ``--reference-months`` months (6,
or ``--months`` if fewer, by default); the table scales its run time to ``--months``
(marked ``*``, with the measured time: the book grows over the months, so the scaled
figure understates a full run), and a compiled run of the same months runs beside it for
the speed-up over the reference.

Reported per run: set-up time (population, scorecard), run time, borrower-months per
second, peak RSS, and each stage's time per month (``CreditMarketModel.stage_seconds``);
per size and thread count, the compiled kernels' speed-up over NumPy and over the
reference. Before the runs, numba's first-call cost is measured in two fresh processes
that run a small book for a few months with ``NUMBA_CACHE_DIR`` set to a new directory:
the first finds it empty (compiles every kernel), the second warm (loads them); the timed
runs then use that warm cache. Each timed run first runs a small book (its size up to
``WARM_UP_BORROWERS``, ``WARM_UP_MONTHS`` months) of its implementation in its own
process, untimed, so that loading the kernels, starting numba's threads and any other
first call fall outside its run time (reported as ``warm_up_s``; the peak memory
includes that small book, which sets it only for runs of a few hundred borrowers).
Results go to ``<--out>/bench-<timestamp>.csv`` (and ``-stages.csv``; ``--out`` is
``outputs/bench`` by default). Every input, the config of each size, its memory and the
results folder are checked before the first run: a bad one
is one line naming the option and its allowed range, exit code 2; Ctrl-C stops the bench
with one line and exit code 130, and writes no results. Firms: ``--firm-share``
of the borrowers own one (0.1 by default).
Borrower-months per second count ``--sizes`` rows a month; over an open book (the
default) the rows grow as applicants arrive, and a line closed for attrition or default
keeps its borrower, who still lives and borrows elsewhere (1 M rows become about 1.66 M
over 120 months), so each run also reports its borrower rows at the end and the rows it
simulated per second. ``--book closed`` (no applicants, no attrition closures) keeps the
borrower rows at ``--sizes``. Measured figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.outputs.files import check_output_dir, write_csv_atomic

#: The reference (per-agent Python) runs only up to this many borrowers.
REFERENCE_MAX_BORROWERS = 100_000
#: Months of a reference run unless ``--reference-months`` says (at most ``--months``).
REFERENCE_MONTHS = 6
#: The ranges of ``population.n_borrowers`` and ``n_months`` (sim/config/population.py,
#: sim/config/run.py), checked here first so that the message names the option.
MAX_BORROWERS, MAX_MONTHS = 50_000_000, 100_000
#: Where the CSVs go unless ``--out`` says.
OUT_DIR = Path("outputs/bench")
IMPLEMENTATIONS = ("compiled", "numpy", "reference")
#: The compile-time probe: a small book over a few months (firm entry included, so the
#: kernels also meet the grown, non-contiguous ring arrays).
PROBE_BORROWERS, PROBE_MONTHS = 2_000, 4
#: The untimed run before each timed one, in its process: every kernel of the default
#: config is loaded by its third month (counted: the same 33 kernels as 20 k x 36 months).
WARM_UP_BORROWERS, WARM_UP_MONTHS = 1_000, 3


#: ``--book closed``: no applicants and no attrition closures, so the borrower rows stay at
#: ``--sizes`` for the whole run (an open book appends its arrivals and keeps its closed
#: lines' borrowers, who still live and borrow elsewhere); firms enter and exit as by default.
CLOSED_BOOK = (
    "book.applicants_per_month_share=0",
    "book.voluntary_close_prob_monthly=0",
    "book.inactivity_close_prob_monthly=0",
)


def _config(n: int, months: int, policy: str, firm_share: float, book: str = "open"):  # noqa: ANN202
    from sim.runtime.compose import load_run_config

    return load_run_config(
        [
            f"population.n_borrowers={n}",
            f"n_months={months}",
            # The months benchmarked are all simulated (no burn-in on top), over an open
            # book (arrivals, attrition and firm entry at their defaults) unless closed.
            "burn_in_months=0",
            f"policy={policy}",
            f"firms.owner_share={firm_share}",
            "output.plots=false",
            *(CLOSED_BOOK if book == "closed" else ()),
        ]
    )


def _one(args: argparse.Namespace) -> dict:
    """One timed run in this process (the child of a bench), after its untimed warm-up."""
    import resource

    from sim import compiled
    from sim.model import CreditMarketModel

    compiled.set_implementation(args.implementations)
    compiled.set_threads(int(args.threads))
    n = int(args.sizes)
    run = _config(n, args.months, args.policy, args.firm_share, args.book)
    t_warm = time.perf_counter()
    warm = CreditMarketModel(
        # Its size up to n: a book of a few rows gives some tables other layouts (a table
        # of one row is contiguous), for which numba compiles a version of its own.
        _config(min(n, WARM_UP_BORROWERS), WARM_UP_MONTHS, args.policy, args.firm_share, args.book)
    )
    warm.run()
    warm.close()
    del warm
    t0 = time.perf_counter()
    model = CreditMarketModel(run)
    if args.agents:
        len(model.agents)
    model.stage_seconds = {}
    rows = 0  # borrower rows summed over the months (the book grows as applicants arrive)
    t1 = time.perf_counter()
    for _ in range(args.months):
        model.step()
        rows += model.borrowers.n
    t2 = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n_borrowers": n,
        "n_firms": int(model.firms.n),
        "implementation": args.implementations,
        "threads": int(args.threads),
        "months_run": args.months,
        "warm_up_s": round(t0 - t_warm, 3),
        "setup_s": round(t1 - t0, 3),
        "run_s": round(t2 - t1, 3),
        "borrower_months_per_s": round(n * args.months / (t2 - t1)),
        "borrower_rows_end": int(model.borrowers.n),
        "row_months_per_s": round(rows / (t2 - t1)),
        "book": args.book,
        "peak_rss_gib": round(peak_kib / 1024**2, 3),
        "final_balance_cny": float(model.borrowers.balance_cny.sum()),
        "stage_seconds": model.stage_seconds,
    }


def _probe(args: argparse.Namespace) -> dict:
    """Numba's first-call cost: small models in this process, numpy first, then compiled twice.

    The NumPy model pays the process's other first-call costs (lazy imports, caches), so
    the first compiled model's extra time over the second is numba's alone: compiling
    the kernels (empty cache) or loading them and starting its threads (warm cache).
    """
    t0 = time.perf_counter()
    from sim import compiled
    from sim.model import CreditMarketModel

    t1 = time.perf_counter()
    run = _config(PROBE_BORROWERS, PROBE_MONTHS, args.policy, args.firm_share, args.book)
    spans = []
    for impl in ("numpy", "compiled", "compiled"):
        compiled.set_implementation(impl)
        model = CreditMarketModel(run)
        t = time.perf_counter()
        model.run()
        spans.append(time.perf_counter() - t)
        model.close()
    return {"import_s": round(t1 - t0, 3), "first_s": spans[1], "hot_s": spans[2]}


def _child(cmd: list[str], env: dict[str, str], what: str) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["(no message)"]
        # The exception line, not the traceback or a library's detail lines after it.
        errors = [line for line in lines if line.split(":")[0].endswith(("Error", "Exception"))]
        raise RuntimeError(f"{what} failed: {(errors or lines)[-1].strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _whole_numbers(
    parser: argparse.ArgumentParser, option: str, text: str, top: int, what: str
) -> list[int]:
    """``text``'s comma-separated whole numbers, each in ``[1, top]`` once; else a usage error."""
    allowed = f"in [1, {top:,d}] ({what})"
    items = [s.strip() for s in text.split(",")]
    try:
        if not all(items):  # empty, or a leading, doubled or trailing comma
            raise ValueError(text)
        values = [int(s) for s in items]
    except ValueError:
        parser.error(f"{option} takes comma-separated whole numbers {allowed}, got {text!r}")
    if not all(1 <= v <= top for v in values):
        parser.error(f"{option} must each be {allowed}, got {text!r}")
    if len(set(values)) < len(values):
        parser.error(f"{option} must each be {allowed} and given once, got {text!r}")
    return values


def _names(parser: argparse.ArgumentParser, option: str, text: str) -> list[str]:
    """``text``'s comma-separated implementations, each one of :data:`IMPLEMENTATIONS` once."""
    items = [s.strip() for s in text.split(",")]
    if not all(items) or set(items) - set(IMPLEMENTATIONS) or len(set(items)) < len(items):
        parser.error(
            f"{option} takes comma-separated names among {list(IMPLEMENTATIONS)}, each at "
            f"most once, got {text!r}"
        )
    return items


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="borrower counts")
    parser.add_argument("--months", type=int, default=120, help="months of each run (default 120)")
    parser.add_argument(
        "--implementations",
        default=",".join(IMPLEMENTATIONS),
        help="of " + ", ".join(IMPLEMENTATIONS),
    )
    parser.add_argument("--threads", default="1,2", help="numba threads of the compiled runs")
    h = f"months of a reference run (scaled; default min({REFERENCE_MONTHS}, --months))"
    parser.add_argument("--reference-months", type=int, help=h)
    parser.add_argument("--policy", default="behaviour_rules")
    parser.add_argument("--firm-share", type=float, default=0.1, help="firms.owner_share")
    parser.add_argument("--agents", action="store_true", help="make the Mesa agent views first")
    parser.add_argument(
        "--book",
        choices=["open", "closed"],
        default="open",
        help="open (default): applicants arrive, lines close; closed: the borrower rows stay",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per configuration; the table gives the fastest run and the median",
    )
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="time with the checkout's numba cache as it is: no first-call compile probe in "
        "an empty cache (each timed run still warms up first, untimed)",
    )
    parser.add_argument("--out", default=str(OUT_DIR), help=f"folder of the CSVs ({OUT_DIR})")
    parser.add_argument("--child", choices=["run", "probe"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "run":
        _check_child_run(parser, args)
    if args.child:
        return args
    # Imported here, not at the top: a child's timed imports stay those of the model.
    import numba

    from sim.runtime.errors import one_line
    from sim.runtime.resources import check_memory

    top = int(numba.config.NUMBA_NUM_THREADS)
    args.size_list = _whole_numbers(
        parser, "--sizes", args.sizes, MAX_BORROWERS, "population.n_borrowers"
    )
    args.thread_list = _whole_numbers(parser, "--threads", args.threads, top, "this machine")
    impls = _names(parser, "--implementations", args.implementations)
    if not 1 <= args.months <= MAX_MONTHS:
        parser.error(f"--months must be in [1, {MAX_MONTHS:,d}] (n_months), got {args.months}")
    if args.reference_months is None:
        args.reference_months = min(REFERENCE_MONTHS, args.months)
    elif not 1 <= args.reference_months <= args.months:
        parser.error(
            f"--reference-months must be in [1, {args.months}] (--months), "
            f"got {args.reference_months}"
        )
    if args.repeat < 1:
        parser.error(f"--repeat must be a whole number >= 1, got {args.repeat}")
    if "reference" in impls and min(args.size_list) > REFERENCE_MAX_BORROWERS:
        parser.error(
            f"the reference runs only up to {REFERENCE_MAX_BORROWERS:,d} borrowers: "
            "add a smaller size or leave it out of --implementations"
        )
    _check_config(parser, args)
    for n in args.size_list:  # every run fits, before running
        try:
            check_memory(_config(n, args.months, args.policy, args.firm_share, args.book))
        except Exception as err:  # noqa: BLE001 - the config's own message names the field
            parser.error(f"--sizes {n}: {one_line(err)}")
    args.out_made = not Path(args.out).exists()
    args.out = _checked_out(parser, args.out)
    args.impl_list = [i for i in IMPLEMENTATIONS if i in impls]
    return args


def _check_child_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--child run`` times one run: one size, one implementation, one thread count.

    Its values in range and its config composed once (:func:`_check_config`); else a
    usage error, exit code 2. Its memory is not checked (the bench checks it before it
    starts a child).
    """
    import numba

    top = int(numba.config.NUMBA_NUM_THREADS)
    for option, text, limit, what in (
        ("--sizes", args.sizes, MAX_BORROWERS, "population.n_borrowers"),
        ("--threads", args.threads, top, "this machine"),
    ):
        if len(_whole_numbers(parser, option, text, limit, what)) != 1:
            parser.error(f"--child run takes one value of {option}, got {text!r}")
    if len(_names(parser, "--implementations", args.implementations)) != 1:
        parser.error(f"--child run takes one implementation, got {args.implementations!r}")
    if not 1 <= args.months <= MAX_MONTHS:
        parser.error(f"--months must be in [1, {MAX_MONTHS:,d}] (n_months), got {args.months}")
    _check_config(parser, args)


def _check_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The firm share, then the policy and the rest of the config once, on a small book."""
    from hydra.errors import HydraException

    from sim.runtime.errors import CONFIG_ERRORS, config_error, one_line

    if not 0.0 <= args.firm_share <= 1.0:  # NaN too
        parser.error(f"--firm-share must be in [0, 1] (firms.owner_share), got {args.firm_share}")
    try:
        _config(PROBE_BORROWERS, args.months, args.policy, args.firm_share, args.book)
    except HydraException as err:
        parser.error(f"--policy {args.policy}: {config_error(err)}")
    except CONFIG_ERRORS as err:
        parser.error(f"--policy {args.policy}: {one_line(err)}")


def _checked_out(parser: argparse.ArgumentParser, folder: str) -> Path:
    """The results folder, created and shown writable (:func:`check_output_dir`)."""
    try:
        return check_output_dir(folder, "--out")
    except ValueError as err:
        parser.error(f"{err} (it must be a folder that can be created and written)")


def _jobs(args: argparse.Namespace) -> list[tuple[int, str, int, int]]:
    """``(borrowers, implementation, threads, months)`` of every timed run, in order.

    A reference run shorter than ``--months`` gets a compiled run of its length beside
    it (at the first thread count), so that their ratio compares the same book.
    """
    jobs = []
    for n in args.size_list:
        for impl in args.impl_list:
            if impl == "reference" and n > REFERENCE_MAX_BORROWERS:
                continue
            months = args.reference_months if impl == "reference" else args.months
            for t in args.thread_list if impl == "compiled" else [1]:
                jobs.append((n, impl, t, months))
            if impl == "reference" and months < args.months and "compiled" in args.impl_list:
                jobs.append((n, "compiled", args.thread_list[0], months))
    return jobs


def _report(table: pd.DataFrame, months: int) -> str:
    """The side-by-side table (min over repeats), speed-ups and the stage profile."""
    table = table.assign(run_scaled_s=table["run_s"] * months / table["months_run"])
    keys = ["n_borrowers", "implementation", "threads", "months_run"]
    best = table.groupby(keys, sort=False).agg(
        n_firms=("n_firms", "first"),
        rows_end=("borrower_rows_end", "first"),
        setup_s=("setup_s", "min"),
        run_s=("run_s", "min"),
        run_scaled_s=("run_scaled_s", "min"),
        run_median_s=("run_scaled_s", "median"),
        runs=("run_scaled_s", "size"),
        bm_per_s=("borrower_months_per_s", "max"),
        peak_gib=("peak_rss_gib", "max"),
    )
    lines = [
        f"| borrowers | firm rows at the end | borrower rows at the end | implementation "
        f"| threads | set-up s "
        f"| run s ({months} months) | M borrower-months/s | peak GiB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for (n, impl, t, m), r in best.iterrows():
        mark = f" * ({r.run_s:.2f} s for {m})" if m != months else ""
        if r.runs > 1:
            mark += f" (median of {int(r.runs)}: {r.run_median_s:.2f})"
        lines.append(
            f"| {n:,d} | {int(r.n_firms):,d} | {int(r.rows_end):,d} | {impl} | {t} "
            f"| {r.setup_s:.2f} "
            f"| {r.run_scaled_s:.2f}{mark} | {r.bm_per_s / 1e6:.3f} | {r.peak_gib:.2f} |"
        )
    lines.append("")
    groups = table.groupby(["n_borrowers", "months_run"])["final_balance_cny"]
    for (n, m), balances in groups:
        if len(balances) == 1:  # nothing to compare with
            lines.append(f"{n:>9,d} borrowers x {m} months: one run, final balance "
                         f"{balances.iloc[0]:,.2f} CNY")  # fmt: skip
            continue
        k = balances.nunique()
        verdict = "the same" if k == 1 else f"DIFFERENT ({k} values)"
        lines.append(
            f"{n:>9,d} borrowers x {m} months: final balances {verdict} in every run "
            f"({len(balances)} runs)"
        )
    for (n, impl, t, m), r in best.iterrows():
        if impl != "compiled":
            continue
        for other in ("numpy", "reference"):
            key = (n, other, 1, m)
            if key in best.index:
                base = best.loc[key, "run_s"]
                lines.append(
                    f"{n:>9,d} borrowers x {m} months, {t} thread(s): compiled is "
                    f"{base / r.run_s:.1f}x as fast as {other} (run {base:.2f} s / {r.run_s:.2f} s)"
                )
    return "\n".join(lines)


def _stage_table(rows: list[dict]) -> pd.DataFrame:
    """Milliseconds per month of each stage, one column per run."""
    cols = {}
    repeated = any(r.get("repeat", 0) for r in rows)
    for r in rows:
        key = f"{r['n_borrowers']:,d} {r['implementation']} t{r['threads']}"
        if repeated:
            key += f" #{r.get('repeat', 0) + 1}"
        cols[key] = {k: 1e3 * v / r["months_run"] for k, v in r["stage_seconds"].items()}
    out = pd.DataFrame(cols)
    out.loc["total"] = out.sum()
    return out.round(1)


def main(argv: list[str] | None = None) -> int:
    args = None
    try:
        args = _parse(argv)
        return _main(args)
    except KeyboardInterrupt:
        if args is not None and args.child:
            raise  # a child's parent reports it
        # The runs are children in this process group: Ctrl-C stopped them too.
        _drop_made_out(args)
        print("bench.py: interrupted (Ctrl-C): no results written", file=sys.stderr)
        return 130


def _drop_made_out(args: argparse.Namespace | None) -> None:
    """Remove the ``--out`` folder if this bench made it and wrote nothing in it."""
    made = args is not None and getattr(args, "out_made", False)
    if made and args.out.is_dir() and not any(args.out.iterdir()):
        args.out.rmdir()


def _main(args: argparse.Namespace) -> int:
    if args.child == "run":
        print(json.dumps(_one(args)))
        return 0
    if args.child == "probe":
        print(json.dumps(_probe(args)))
        return 0
    base = [sys.executable, "-m", "experiments.bench", "--policy", args.policy]
    base += ["--firm-share", str(args.firm_share), "--book", args.book]
    cache = tempfile.mkdtemp(prefix="limitlab-numba-cache-")
    env = os.environ | ({} if args.warm_cache else {"NUMBA_CACHE_DIR": cache})
    try:
        if "compiled" in args.impl_list and args.warm_cache:
            print("numba first call: not measured (--warm-cache: the checkout's cache)")
        elif "compiled" in args.impl_list:
            probe = [_child(base + ["--child", "probe"], env, f"probe {k}") for k in (1, 2)]
            print(
                f"numba first call ({PROBE_BORROWERS:,d} borrowers x {PROBE_MONTHS} months, "
                f"hot {probe[0]['hot_s']:.2f} s): empty cache +"
                f"{probe[0]['first_s'] - probe[0]['hot_s']:.2f} s (compiling), warm cache +"
                f"{probe[1]['first_s'] - probe[1]['hot_s']:.2f} s (loading); import of the "
                f"model {probe[0]['import_s']:.2f} s / {probe[1]['import_s']:.2f} s",
                flush=True,
            )
        rows = []
        for n, impl, t, months in _jobs(args):
            cmd = base + ["--child", "run", "--sizes", str(n), "--months", str(months)]
            cmd += ["--implementations", impl, "--threads", str(t)]
            if args.agents:
                cmd.append("--agents")
            for repeat in range(args.repeat):
                try:
                    row = _child(cmd, env, f"the run of {n:,d} borrowers ({impl}, {t} threads)")
                except RuntimeError as err:
                    _drop_made_out(args)
                    print(f"bench.py: {err}", file=sys.stderr)
                    return 1
                rows.append(row | {"repeat": repeat})
                print(
                    f"{n:>9,d} borrowers x {months} months, {impl} ({t} thread(s)): warm-up "
                    f"{row['warm_up_s']:5.2f} s, setup {row['setup_s']:6.2f} s, run "
                    f"{row['run_s']:7.2f} s, "
                    f"{row['borrower_months_per_s'] / 1e6:6.3f} M borrower-months/s, peak "
                    f"{row['peak_rss_gib']:.2f} GiB; at the end {row['borrower_rows_end']:,d} "
                    f"borrower rows and {row['n_firms']:,d} firm rows ({args.book} book)",
                    flush=True,
                )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "stage_seconds"} for r in rows])
    print()
    print(_report(table, args.months))
    stages = _stage_table(rows)
    print("\nmilliseconds per month, by stage (collect: the month's metrics and records):")
    print(stages.to_string())
    path = Path(args.out) / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    write_csv_atomic(table, path)
    write_csv_atomic(stages.reset_index(names="stage"), path.with_name(path.stem + "-stages.csv"))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
