"""`perfkit demo`: the whole review on the bundled trackmatch demo, in one command.

Prepares the demo data, measures baseline and current in one interleaved run (timing,
profiles, memory), prints the comparison and renders the report. It analyses nothing
itself: it chains `runner`, `compare` and `perfkit report`, and cleans up after them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfkit.config import DEFAULT_PLAN, MeasurePlan, default_processes
from perfkit.errors import PerfkitError
from perfkit.extras import require
from perfkit.render.terminal import table_console
from perfkit.rundir import DEFAULT_RUNS_DIR

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from perfkit.report.pipeline import PipelineResult

DEFAULT_REPORTS_DIR = Path("reports")
REPORT_FILES = ("performance_report.md", "performance_report.html")
STEPS = 4


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="the whole review on the bundled demo: measure, compare, report (≤ 5 min)"
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_REPORTS_DIR, help="report directory (default reports)"
    )
    p.add_argument("--quick", action="store_true", help="a smaller plan: about a minute")
    p.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="glob on benchmark ids or names, e.g. 'filter_*' (repeatable, or comma-separated)",
    )
    p.add_argument(
        "--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help="parent of run directories"
    )
    p.add_argument(
        "--data-dir", type=Path, help="demo data (default $PERFKIT_DEMO_DATA or data/demo)"
    )
    p.add_argument(
        "--latency", help="added by the catalogue server per request, e.g. 2ms (a remote API)"
    )
    p.add_argument(
        "--processes",
        type=int,
        help="timing rounds at once (default: as perfkit run, 2 ping-pong rounds on 2 CPUs)",
    )
    p.add_argument("--seed", type=int, help="seed of the interleaving order")
    p.set_defaults(func=run)


def demo_plan(quick: bool = False) -> MeasurePlan:
    """The measurement plan of the demo, from ``[demo.plan]`` of the demo's perfkit.toml."""
    from perfkit.demo import CONFIG_PATH, demo_settings

    table = "quick_plan" if quick else "plan"
    overrides = demo_settings().get(table, {})
    fields = {f.name for f in dataclasses.fields(MeasurePlan)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise PerfkitError(f"{CONFIG_PATH}: [demo.{table}] unknown field(s) {', '.join(unknown)}")
    return dataclasses.replace(DEFAULT_PLAN, **overrides)


def _timing_words(plan: MeasurePlan) -> str:
    if plan.adaptive:
        return (
            f"{plan.min_workers}-{plan.max_workers} rounds per benchmark, until its verdict "
            "is decided"
        )
    return f"{plan.workers} workers each"


def _step(console: Console, number: int, text: str) -> None:
    console.print(f"[bold cyan][{number}/{STEPS}][/] {text}")


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables that workers inherit; restore the previous values afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C: workers killed, servers and files cleaned up."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from perfkit.collect.bytecode import compile_package
    from perfkit.collect.scheduler import run_suite
    from perfkit.collect.targets import parse_target
    from perfkit.demo import BASELINE_DIR, CURRENT_DIR, LATENCY_ENV, SUITE_PATH
    from perfkit.demo.datagen import DATA_DIR_ENV, prepare, scratch_dir
    from perfkit.render.format import format_seconds
    from perfkit.units import parse_seconds

    require("demo", "the demo app")  # before anything is measured
    if args.processes is not None and args.processes < 1:
        raise PerfkitError("--processes must be at least 1")
    env = {}
    if args.latency is not None:
        env[LATENCY_ENV] = f"{parse_seconds(args.latency)}"
    console = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    _step(console, 1, "demo data: catalogue, Rekordbox playlists, results history")
    try:
        data = prepare(args.data_dir)
    except OSError as exc:
        where = exc.filename or args.data_dir or "the demo data directory"
        raise PerfkitError(f"cannot write the demo data to {where}: {exc.strerror}") from None
    console.print(f"      {data.directory}")
    env[DATA_DIR_ENV] = str(data.directory)
    compile_package()  # perfkit and the demo app, imported by every worker: compiled once
    plan = demo_plan(args.quick)
    targets = [parse_target(f"baseline={BASELINE_DIR}"), parse_target(f"current={CURRENT_DIR}")]
    processes = args.processes or default_processes(plan, len(targets))
    try:
        with _environment(env), _sigterm_interrupts():
            _step(
                console,
                2,
                f"measuring trackmatch baseline and current: timing ({_timing_words(plan)}, "
                "interleaved), profiles, memory",
            )
            result = run_suite(
                str(SUITE_PATH),
                targets,
                args.runs_dir,
                plan=plan,
                processes=processes,
                only=args.only,
                profile=True,
                memory=True,
                seed=args.seed,
                console=console,
                index_later=True,  # the history index is written during the comparison
            )
    finally:
        shutil.rmtree(scratch_dir(data.directory), ignore_errors=True)
    if result.status == "interrupted":
        result.wait_indexed(console)
        console.print(f"interrupted: partial run kept in {result.path}")
        return 130
    if result.n_failed:
        console.print(
            f"[yellow]{result.n_failed} worker(s) failed, see {result.path / 'failures.csv'}[/]"
        )
    _step(console, 3, f"comparing current with baseline ({result.path})")
    # The report's notebooks read the run alone, so they render while the comparison is
    # computed and printed (its 2-3 s of one core beside the kernels' start); their lines
    # wait for it. Only the last notebook reads the history (trends): it waits for the index.
    indexed = threading.Event()
    lines = _HeldLines(console)
    report = _Report(result.path, args.out, lines, indexed.wait)
    try:
        _print_comparison(result.path)
    finally:
        result.wait_indexed(console)
        indexed.set()
    _step(console, 4, f"rendering the report into {args.out}/")
    lines.release()
    written = _render_report(report, args.out, console)
    console.print(f"demo finished in {format_seconds(time.perf_counter() - started)}")
    return 0 if written else 1


def _print_comparison(run_path: Path) -> None:

    from perfkit.analysis.comparison import compare
    from perfkit.analysis.monitor import monitor_summary
    from perfkit.commands.compare import render

    comparison = compare(str(run_path))
    console = table_console()
    render(comparison, comparison.budgets(), console)
    _print_monitor(monitor_summary(comparison.current_run), console)


def _print_monitor(summary: pd.DataFrame, console: Console) -> None:
    """The application's own figures: API time, cache hit rate, network share (the report's
    table, perfkit.report.sections.monitor_table)."""
    from rich.markup import escape
    from rich.table import Table

    from perfkit.report.sections import monitor_table

    rows = summary[summary["api_calls_per_call"] > 0]
    if rows.empty:
        return
    shown = monitor_table(rows, target="target")
    table = Table(
        title="trackmatch monitor (perfkit.monitor, timing workers)", title_justify="left"
    )
    justify = {"l": "left", "r": "right", "c": "center"}
    for column, align in zip(shown.frame.columns, shown.align, strict=True):
        table.add_column(column, justify=justify[align])
    for row in shown.frame.itertuples(index=False):
        table.add_row(*(escape(str(cell)) for cell in row))
    console.print(table)


class _HeldLines:
    """The report's lines: held while the comparison prints, then printed in order, then
    passed straight on."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.lock = threading.Lock()
        self.held: list[str] | None = []

    def __call__(self, line: str) -> None:
        with self.lock:
            if self.held is not None:
                self.held.append(line)
            else:
                self.console.print(line, markup=False)

    def release(self) -> None:
        with self.lock:
            for line in self.held or []:
                self.console.print(line, markup=False)
            self.held = None


class _Report:
    """`perfkit report` on both targets of the run, started at once in a thread.

    A daemon thread: a demo stopped meanwhile does not wait for its notebooks (their
    kernels end with their parent)."""

    def __init__(
        self, run_path: Path, out: Path, say: Callable[[str], None], before_last: Callable[[], Any]
    ) -> None:
        self.run_path, self.out = run_path, out
        self.error: BaseException | None = None
        self.result: PipelineResult | None = None
        self.available = importlib.util.find_spec("perfkit.commands.report") is not None
        self.thread = threading.Thread(
            target=self._render, args=(say, before_last), name="report", daemon=True
        )
        if self.available:
            self.thread.start()

    def _render(self, say: Callable[[str], None], before_last: Callable[[], Any]) -> None:
        from perfkit.commands.report import render

        refs = [f"{self.run_path}:baseline", f"{self.run_path}:current"]
        try:
            self.result = render(refs, self.out, [], DEFAULT_RUNS_DIR, say, before_last)
        except BaseException as exc:  # handed to the main thread by `wait`
            self.error = exc

    def wait(self) -> BaseException | None:
        """Wait for the notebooks; the error that stopped them, if one did."""
        self.thread.join()
        return self.error


def _render_report(report: _Report, out: Path, console: Console) -> bool:
    """The report's outcome; True when both report files exist."""
    from perfkit.report.pipeline import NotebookFailed

    if not report.available:
        console.print(
            "[red]perfkit report is not available in this installation; the run is complete: "
            f"compare it with `perfkit compare {report.run_path}`[/]"
        )
        return False
    error = report.wait()
    if isinstance(error, NotebookFailed | PerfkitError):
        code = 1 if isinstance(error, NotebookFailed) else 2
        print(f"perfkit report: error: {error}", file=sys.stderr)
    elif error is not None:
        raise error
    else:
        code = 0
    if report.result is not None:  # as `perfkit report` prints them: the files, on stdout
        print(report.result.markdown)
        print(report.result.html)
    missing = [name for name in REPORT_FILES if not (out / name).is_file()]
    if code != 0 or missing:
        console.print(f"[red]report incomplete (exit {code}; missing {', '.join(missing)})[/]")
        return False
    for name in REPORT_FILES:
        console.print(f"      {out / name}")
    return True
