"""`perfkit run`: measure a suite on one or more targets into a new run directory.

Ends with a summary on stderr (`perfkit.commands.run_summary`); stdout is the run
directory alone, one line, so scripts can take it with ``| tail -n 1``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.collect.targets import parse_targets, with_interpreters
from perfkit.config import DEFAULT_PLAN, PINGPONG_ROUNDS_AT_ONCE, MeasurePlan, default_processes
from perfkit.errors import PerfkitError
from perfkit.rundir import DEFAULT_RUNS_DIR
from perfkit.units import parse_bytes, parse_fraction

if TYPE_CHECKING:
    from perfkit.history.indexing import IndexChild


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="measure a suite on one or more targets")
    p.add_argument("suite", help="suite file (.py) or importable module")
    p.add_argument(
        "--target",
        action="append",
        metavar="LABEL=SPEC",
        help="LABEL=PATH or LABEL=git:REF[:SUBDIR] (repeatable)",
    )
    p.add_argument(
        "--python",
        action="append",
        metavar="LABEL=PATH",
        help="run target LABEL's workers in this interpreter or virtualenv (repeatable)",
    )
    p.add_argument(
        "--env",
        action="append",
        metavar="LABEL=FILE",
        help="run target LABEL's workers in an environment built from a requirements file "
        "or pyproject.toml (cached in data/envs, repeatable)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="glob on benchmark ids or names, e.g. 'process_*' (repeatable, or comma-separated)",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_RUNS_DIR, help="parent directory of run directories"
    )
    p.add_argument(
        "--processes",
        type=int,
        help="workers running at once; with ping-pong, rounds running at once, each on its own "
        f"CPU (default {PINGPONG_ROUNDS_AT_ONCE} ping-pong rounds on a box with as many CPUs, "
        "else 1 worker: least noise)",
    )
    p.add_argument("--quick", action="store_true", help="fewer workers and samples: a first look")
    p.add_argument(
        "--workers",
        type=int,
        help="the fixed plan: exactly N timing workers per benchmark and target (default with "
        "two targets: the adaptive plan, rounds until each verdict is decided)",
    )
    p.add_argument(
        "--max-workers",
        type=int,
        metavar="N",
        help=f"adaptive plan: at most N rounds per benchmark (default {DEFAULT_PLAN.max_workers}, "
        f"{DEFAULT_PLAN.busy_max_workers} while other processes keep the machine busy)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        metavar="S",
        help="adaptive plan: stop timing after S seconds; undecided benchmarks stay inconclusive",
    )
    p.add_argument(
        "--resolution",
        metavar="PCT",
        help="adaptive plan: a change smaller than this counts as none "
        f"(default {DEFAULT_PLAN.resolution:.0%}%); keep it below the smallest change to flag",
    )
    p.add_argument(
        "--futility",
        metavar="PCT",
        help="adaptive plan: stop a benchmark undecided once its chance of a verdict by the cap "
        f"is under PCT (default {DEFAULT_PLAN.futility_chance:.0%}%; 0 measures each undecided "
        "benchmark to the cap)",
    )
    p.add_argument(
        "--profile", action="store_true", help="also a cProfile pass per benchmark and target"
    )
    p.add_argument(
        "--profile-workers",
        type=int,
        metavar="N",
        help="profiling workers per benchmark and target (default 4; culprits get a CI)",
    )
    p.add_argument(
        "--memory", action="store_true", help="also a memory pass per benchmark and target"
    )
    p.add_argument(
        "--memory-limit", default=None, help="address-space cap of memory/profile workers, e.g. 2GB"
    )
    p.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help=f"samples per timing worker (default {DEFAULT_PLAN.samples}, in ping-pong "
        f"{DEFAULT_PLAN.pingpong_samples} shorter ones; more make a round's ratio steadier)",
    )
    p.add_argument(
        "--budget-seconds",
        type=float,
        metavar="S",
        help="sampling time one timing worker may spend (default 1 s); slower bodies get fewer samples",
    )
    p.add_argument(
        "--pingpong",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a round's timing workers of a benchmark alive together on one CPU, sampling in "
        "turn (the default); --no-pingpong runs them one after another (e.g. a body that "
        "uses several cores)",
    )
    p.add_argument("--seed", type=int, help="seed of the interleaving order")
    p.add_argument(
        "--commits",
        metavar="A..B",
        help="backfill: measure each commit of A..B (first-parent) as its own target, interleaved",
    )
    p.add_argument("--every", type=int, default=1, metavar="K", help="with --commits: every K-th")
    p.add_argument("--last", type=int, metavar="N", help="with --commits: only the newest N")
    p.add_argument(
        "--series", default="current", help="with --commits: history series they belong to"
    )
    p.add_argument(
        "--db", help="history database file or URL (default $PERFKIT_DB, else data/perfkit.sqlite)"
    )
    p.set_defaults(func=run)


def adaptive_plan(plan: MeasurePlan, args: argparse.Namespace) -> MeasurePlan:
    """The sequential plan with the caps the user gave (`perfkit.collect.adaptive`)."""
    plan = plan.sequential()
    if args.max_workers is not None:
        if args.max_workers < plan.min_workers:
            raise PerfkitError(f"--max-workers must be at least {plan.min_workers}")
        plan = replace(plan, max_workers=args.max_workers, busy_max_workers=args.max_workers)
    if args.max_seconds is not None:
        if args.max_seconds <= 0:
            raise PerfkitError("--max-seconds must be positive")
        plan = replace(plan, max_timing_seconds=args.max_seconds)
    if args.resolution is not None:
        resolution = parse_fraction(args.resolution)
        if not 0 < resolution < 1:
            raise PerfkitError(f"--resolution must be between 0 % and 100 %, got {args.resolution}")
        plan = replace(plan, resolution=resolution)
    if args.futility is not None:
        chance = parse_fraction(args.futility)
        if not 0 <= chance < 1:
            raise PerfkitError(f"--futility must be between 0 % and 100 %, got {args.futility}")
        plan = replace(plan, futility_chance=chance)
    return plan


def run(args: argparse.Namespace) -> int:
    # pandas (the summary's) first, then the history index's child is forked: it shares
    # pandas and imports SQLAlchemy on the other core while this process imports the rest.
    import perfkit.commands.run_summary  # noqa: F401
    from perfkit.history.indexing import fork_indexer

    indexer = fork_indexer(args.db)
    try:
        return _run(args, indexer)
    finally:
        if indexer is not None:
            indexer.close()  # not handed the run (an error, or stopped before it began)


def _run(args: argparse.Namespace, indexer: IndexChild | None) -> int:
    from perfkit.collect.bytecode import compile_package
    from perfkit.collect.scheduler import run_suite
    from perfkit.commands.run_summary import print_run_summary
    from perfkit.render.terminal import table_console

    if args.processes is not None and args.processes < 1:
        raise PerfkitError("--processes must be at least 1")
    plan = DEFAULT_PLAN.quick() if args.quick else DEFAULT_PLAN
    if args.workers is not None:
        if args.workers < 1:
            raise PerfkitError("--workers must be at least 1")
        plan = replace(plan, workers=args.workers)
    elif not args.quick and not args.commits:  # a backfill measures many commits: fixed
        plan = adaptive_plan(plan, args)
    if args.profile_workers is not None:
        if args.profile_workers < 1:
            raise PerfkitError("--profile-workers must be at least 1")
        plan = replace(plan, profile_workers=args.profile_workers)
    if args.samples is not None:
        if args.samples < 1:
            raise PerfkitError("--samples must be at least 1")
        plan = replace(plan, samples=args.samples, pingpong_samples=args.samples)
    if args.budget_seconds is not None:
        if args.budget_seconds <= 0:
            raise PerfkitError("--budget-seconds must be positive")
        plan = replace(plan, worker_seconds=args.budget_seconds)
    if args.memory_limit:
        plan = replace(plan, memory_limit_bytes=parse_bytes(args.memory_limit))
    if args.pingpong is not None:
        plan = replace(plan, pingpong=args.pingpong)
    if args.commits:
        from perfkit.collect.commits import range_targets

        if args.target:
            raise PerfkitError("--commits and --target exclude each other")
        targets = range_targets(Path.cwd(), args.commits, args.series, args.every, args.last)
        print(f"backfill: {len(targets)} commit(s) of {args.commits}", file=sys.stderr)
    else:
        targets = parse_targets(args.target)
    targets = with_interpreters(targets, args.python, args.env)
    compile_package()  # every worker imports perfkit: compiled once here, not in each
    processes = args.processes or default_processes(plan, len(targets))
    result = run_suite(
        args.suite,
        targets,
        args.out,
        plan=plan,
        processes=processes,
        only=args.only,
        profile=args.profile,
        memory=args.memory,
        seed=args.seed,
        db=args.db,
        indexer=indexer,  # the history index is written while the summary is made
    )
    console = table_console(stderr=True)
    if result.status == "interrupted":
        result.wait_indexed(console)
        print(f"interrupted: partial results kept in {result.path}", file=sys.stderr)
        print(result.path)
        return 130
    # The summary goes to stderr: stdout's last (and only) line stays the run directory.
    try:
        print_run_summary(result.path, console)
    except PerfkitError as exc:  # the run is complete: a summary that can't be made is no error
        print(f"perfkit run: no summary: {exc}", file=sys.stderr)
    finally:
        result.wait_indexed(console)
    if result.n_failed:
        print(
            f"{result.n_failed} benchmark worker(s) failed, see {result.path / 'failures.csv'}",
            file=sys.stderr,
        )
    print(result.path)
    return 1 if result.n_failed else 0
