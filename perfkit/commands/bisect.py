"""`perfkit bisect SUITE BENCHMARK --good REF --bad REF`: the first commit that changed it.

Progress (each step's verdict, ratio CI and cost) goes to stderr as it is measured; the
end is a summary on stdout and a report directory (``bisect.json``, ``bisect_report.md``,
``bisect_report.html``). Exit codes: 0 first bad commit found; 1 good and bad do not
differ beyond the threshold (nothing to bisect); 2 bad input; 3 a step stayed
inconclusive at ``--max-rounds`` (raise it and run again: measured rounds are kept);
130 interrupted (run the same command to continue from the cached steps).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from perfkit.errors import PerfkitError
from perfkit.rundir import DEFAULT_RUNS_DIR
from perfkit.units import parse_fraction

EXIT_CODES = {"found": 0, "no-change": 1, "inconclusive": 3, "interrupted": 130}
DEFAULT_OUT = Path("reports") / "bisect"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bisect", help="find the commit that made a benchmark slower (or faster)")
    p.add_argument("suite", help="suite file (.py) or importable module")
    p.add_argument("benchmark", help="benchmark id or name (or a glob naming one benchmark)")
    p.add_argument("--good", required=True, metavar="REF", help="a commit with the old timing")
    p.add_argument("--bad", required=True, metavar="REF", help="a later commit with the new one")
    p.add_argument(
        "--threshold", default="5%", help="smallest change worth bisecting (default 5%%)"
    )
    p.add_argument("--rounds", type=int, default=6, help="rounds of a step at first (default 6)")
    p.add_argument(
        "--more-rounds", type=int, default=6, help="rounds added while inconclusive (default 6)"
    )
    p.add_argument(
        "--max-rounds", type=int, default=60, help="rounds a step may reach (default 60)"
    )
    p.add_argument(
        "--worker-seconds",
        type=float,
        default=None,
        metavar="S",
        help="sampling time of one timing worker (default 0.6; 15 samples)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report directory")
    p.add_argument(
        "--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help="parent of the run directories"
    )
    p.add_argument(
        "--db", help="history database file or URL (default $PERFKIT_DB, else data/perfkit.sqlite)"
    )
    p.add_argument("--series", default="current", help="history series of the measured commits")
    p.add_argument("--seed", type=int, help="seed of the interleaving order")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perfkit.bisect import BisectOptions, bisect
    from perfkit.bisect.decide import RoundsPlan
    from perfkit.bisect.search import BISECT_PLAN
    from perfkit.report.bisect import write_bisect_report

    threshold = parse_fraction(args.threshold)
    if not 0 < threshold < 1:
        raise PerfkitError(f"--threshold must be between 0 % and 100 %, got {args.threshold}")
    if not 3 <= args.rounds <= args.max_rounds or args.more_rounds < 1:
        raise PerfkitError("need 3 <= --rounds <= --max-rounds and --more-rounds >= 1")
    plan = BISECT_PLAN
    if args.worker_seconds is not None:
        if args.worker_seconds <= 0:
            raise PerfkitError("--worker-seconds must be positive")
        plan = replace(plan, worker_seconds=args.worker_seconds)
    options = BisectOptions(
        suite=args.suite,
        benchmark=args.benchmark,
        good=args.good,
        bad=args.bad,
        threshold=threshold,
        plan=plan,
        rounds=RoundsPlan(args.rounds, args.more_rounds, args.max_rounds),
        runs_dir=args.runs_dir,
        db=args.db,
        series=args.series,
        seed=args.seed,
    )
    result = bisect(options)
    report = write_bisect_report(result, args.out)
    print(result.message)
    if result.first_bad is not None and result.final is not None:
        est = result.final.estimate
        print(
            f"{result.first_bad.sha} {result.first_bad.subject} ({result.first_bad.author_time}): "
            f"ratio {est.ratio:.3f} [{est.ci_low:.3f}–{est.ci_high:.3f}] against its parent"
        )
        for line in result.culprits:
            print(f"  {line.text}")
    print(
        f"{result.comparisons} comparisons, {result.rounds} rounds, "
        f"{result.wall_seconds:.0f} s; report: {report.markdown}"
    )
    return EXIT_CODES[result.status]
