"""`perfkit history`: series over commits with their changes; ``--check`` alerts for CI.

Thin: reads the store (perfkit.history), detects (perfkit.analysis.trends), prints
(perfkit.render.trends). Exit codes: 0 ok, 1 ``--check`` found an unacknowledged
regression at a series' head, 2 bad input or no readable index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.markup import escape

from perfkit.errors import PerfkitError
from perfkit.render.terminal import table_console
from perfkit.rundir import DEFAULT_RUNS_DIR
from perfkit.units import parse_fraction


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history", help="benchmarks over commits: series, change points, alerts (--check)"
    )
    p.add_argument(
        "benchmark",
        nargs="?",
        default=None,
        help="benchmark id, bare name or glob, e.g. 'process_playlist' (default: all with --check)",
    )
    p.add_argument("--series", "--target", dest="series", help="only this series (target label)")
    p.add_argument("--machine", help="only this machine class (id or its prefix)")
    p.add_argument("--since", help="only points from this date on (ISO, e.g. 2026-11-01)")
    p.add_argument(
        "--last", type=int, default=30, help="runs shown per series (default 30; all are analysed)"
    )
    p.add_argument(
        "--db",
        default=None,
        help="database file or URL (default $PERFKIT_DB, else data/perfkit.sqlite)",
    )
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR)
    p.add_argument(
        "--reindex", action="store_true", help="rebuild the index from the run directories first"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a new regression step beyond --threshold is at a series' head",
    )
    p.add_argument(
        "--threshold", default="5%", help="smallest regression that alerts (default 5%%)"
    )
    p.add_argument("--format", choices=("text", "markdown", "json"), default=None)
    p.add_argument(
        "--config", type=Path, help="perfkit.toml with [acknowledged] (default ./perfkit.toml)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perfkit.analysis.trends import all_changes
    from perfkit.config.project import load_config, project_config
    from perfkit.history.query import iter_series, load_series
    from perfkit.history.store import open_store, reindex
    from perfkit.render.trends import changes_table, check_json, check_markdown, series_table

    threshold = parse_fraction(args.threshold)
    config = load_config(args.config) if args.config else project_config()
    pattern = args.benchmark or ("*" if args.check else None)
    if pattern is None:
        raise PerfkitError("name a benchmark (id, name or glob), or use --check for all")
    if args.reindex:
        count = reindex(args.runs_dir, args.db)
        print(f"indexed {count} run(s) from {args.runs_dir}", file=sys.stderr)
    with open_store(args.db, create=False) as store:
        points = load_series(store, pattern, args.series, args.machine, args.since)
        where = store.where
    if points.empty:
        hint = "run `perfkit run` first" if pattern == "*" else "ids match with or without params"
        raise PerfkitError(f"no history for {pattern!r} in {where} ({hint})")
    changes = all_changes(points, acknowledged=config.acknowledged)
    n_series = sum(1 for _ in iter_series(points))
    fmt = args.format or ("markdown" if args.check else "text")
    if fmt == "markdown":
        sys.stdout.write(check_markdown(changes, threshold, n_series, where))
    elif fmt == "json":
        sys.stdout.write(check_json(changes, threshold, n_series))
    else:
        console = table_console()
        for (benchmark_id, series, machine), group in iter_series(points):
            shown = group.tail(args.last) if args.last > 0 else group
            offset = len(group) - len(shown)
            own = [
                c
                for c in changes
                if (c.benchmark_id, c.series, c.machine_id) == (benchmark_id, series, machine)
            ]
            title = f"{benchmark_id} @{series} · machine {machine}"
            if offset:
                title += f" (last {len(shown)} of {len(group)} runs)"
            console.print(series_table(title, shown.reset_index(drop=True), _shift(own, offset)))
        if changes:
            console.print(changes_table(changes, threshold))
        else:
            console.print(escape(f"no change points in {n_series} series"))
    if args.check:
        return 1 if any(c.is_alert(threshold) for c in changes) else 0
    return 0


def _shift(changes: list, offset: int) -> list:
    from dataclasses import replace

    return [replace(c, index=c.index - offset) for c in changes if c.index >= offset]
