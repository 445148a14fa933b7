"""`perfkit history BENCHMARK`: a benchmark's medians across runs, from the SQLite index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from perfkit.errors import PerfkitError
from perfkit.render.format import format_seconds, format_seconds_ci
from perfkit.render.terminal import table_console
from perfkit.rundir import DEFAULT_RUNS_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="a benchmark's timings across runs (SQLite index)")
    p.add_argument("benchmark", help="benchmark id or glob, e.g. 'process_playlist*'")
    p.add_argument("--target", help="only this target label")
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="index file (default $PERFKIT_DB or data/perfkit.sqlite)",
    )
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR)
    p.add_argument(
        "--reindex", action="store_true", help="rebuild the index from the run directories first"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perfkit.history.store import default_db, history, reindex

    db = args.db or default_db()
    if args.reindex:
        done = reindex(args.runs_dir, db)
        for path, reason in done.skipped:
            print(f"perfkit history: warning: skipped {path}: {reason}", file=sys.stderr)
        print(f"indexed {done.runs} run(s) from {args.runs_dir} into {db}", file=sys.stderr)
    rows = history(args.benchmark, db, args.target)
    if rows.empty:
        raise PerfkitError(f"no history for {args.benchmark!r} in {db} (try --reindex)")
    table = Table(title=escape(f"history of {args.benchmark}"))
    for column in ("created", "run", "benchmark", "target", "git", "median", "95 % CI", "workers"):
        table.add_column(column)
    for row in rows.itertuples():
        table.add_row(
            str(row.created),
            row.run_id,
            escape(row.benchmark_id),
            row.target,
            (row.git_sha or "")[:10],
            format_seconds(row.median_seconds),
            format_seconds_ci(row.ci_low_seconds, row.ci_high_seconds),
            str(row.n_workers),
        )
    table_console().print(table)
    return 0
