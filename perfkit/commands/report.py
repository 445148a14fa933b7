"""`perfkit report`: run the notebooks on a run (or a pair) into a markdown + HTML report.

Parses arguments and prints progress on stderr; the pipeline lives in
perfkit.report.pipeline. A failing notebook cell exits 1, bad input exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.config import DEFAULT_REPORTS_DIR
from perfkit.errors import PerfkitError
from perfkit.rundir import DEFAULT_RUNS_DIR

if TYPE_CHECKING:
    from perfkit.report.pipeline import PipelineResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run the notebooks: performance_report.md, its HTML, figures",
        description="RUN compares its two targets (baseline/current, else its first two); "
        "RUN:LABEL alone reports one target; BASE CURRENT compares two runs (or RUN:LABELs).",
    )
    p.add_argument("refs", nargs="+", metavar="RUN_OR_PAIR", help="RUN, RUN:LABEL, or BASE CURRENT")
    p.add_argument(
        "--out", type=Path, default=DEFAULT_REPORTS_DIR, help="output directory (default: reports/)"
    )
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter, e.g. -p threshold=5%% -p benchmark='f[n=10]' (repeatable)",
    )
    p.add_argument(
        "--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help="where run ids are looked up"
    )
    p.add_argument("--html", action="store_true", help=argparse.SUPPRESS)  # always written
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from perfkit.report.pipeline import NotebookFailed

    console = Console(stderr=True, highlight=False)
    say = lambda message: console.print(message, markup=False)  # noqa: E731
    try:
        result = render(args.refs, args.out, args.parameter, args.runs_dir, say)
    except NotebookFailed as exc:
        print(f"perfkit report: error: {exc}", file=sys.stderr)
        return 1
    print(result.markdown)
    print(result.html)
    return 0


def render(
    refs: list[str],
    out: Path,
    parameters: list[str],
    runs_dir: Path,
    say: Callable[[str], None],
    before_last: Callable[[], None] | None = None,
) -> PipelineResult:
    """Plan and run the report's notebooks, saying what happens. `before_last`: see
    `perfkit.report.pipeline.run_plan` (`perfkit demo` renders while it prints the
    comparison). Raises PerfkitError for bad input, NotebookFailed for a failing cell."""
    from perfkit.report.pipeline import plan_report, run_plan

    if len(refs) > 2:
        raise PerfkitError(f"expected RUN or BASE CURRENT, got {len(refs)} references")
    plan = plan_report(
        refs[0],
        refs[1] if len(refs) > 1 else None,
        out_dir=out,
        assignments=parameters,
        runs_dir=runs_dir,
    )
    say(f"report on {plan.title} -> {plan.out_dir}")
    result = run_plan(plan, progress=say, before_last=before_last)
    say(
        f"{len(result.executed)} notebooks in {result.seconds:.1f} s; "
        f"figures in {plan.out_dir / 'figures'}"
    )
    return result
