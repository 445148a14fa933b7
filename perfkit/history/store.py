"""The history index: `data/perfkit.sqlite`, one row per run and per measured case.

It only indexes what run directories hold (they stay the source of truth), so it
can always be rebuilt from them with `perfkit history --reindex`.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

from perfkit.rundir import RUN_JSON, Run, load_run

DEFAULT_DB = Path("data") / "perfkit.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created TEXT, status TEXT, suite TEXT, path TEXT, host TEXT
);
CREATE TABLE IF NOT EXISTS timings (
    run_id TEXT, benchmark_id TEXT, target TEXT, git_sha TEXT,
    median_seconds REAL, ci_low_seconds REAL, ci_high_seconds REAL, n_workers INTEGER,
    PRIMARY KEY (run_id, benchmark_id, target)
);
"""


def db_for(runs_dir: Path) -> Path:
    """The index beside a runs directory: ``data/runs`` -> ``data/perfkit.sqlite``."""
    runs_dir = Path(runs_dir)
    return (
        runs_dir.parent / DEFAULT_DB.name if runs_dir.name == "runs" else runs_dir / DEFAULT_DB.name
    )


def _connect(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(db_path, timeout=30)
    connection.executescript(_SCHEMA)
    return connection


def index_run(run: Run, db_path: Path = DEFAULT_DB) -> int:
    """Add (or replace) one run's summary rows; returns the number of timing rows."""
    from perfkit.analysis.stats import timing_summary

    summary = timing_summary(run) if not run.samples.empty else pd.DataFrame()
    targets = run.meta.get("targets", {})
    with closing(_connect(db_path)) as connection, connection:
        connection.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
            (
                run.id,
                run.meta.get("created"),
                run.meta.get("status"),
                run.meta.get("suite"),
                str(run.path.resolve()),
                run.meta.get("host", {}).get("hostname"),
            ),
        )
        connection.execute("DELETE FROM timings WHERE run_id = ?", (run.id,))
        rows = [
            (
                run.id,
                row.id,
                row.target,
                (targets.get(row.target) or {}).get("git_sha"),
                float(row.median_seconds),
                float(row.ci_low_seconds),
                float(row.ci_high_seconds),
                int(row.n_workers),
            )
            for row in summary.itertuples()
        ]
        connection.executemany("INSERT INTO timings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def reindex(runs_dir: Path, db_path: Path = DEFAULT_DB) -> int:
    """Index every run directory under `runs_dir`; returns how many runs."""
    count = 0
    for path in sorted(p for p in runs_dir.glob("*") if (p / RUN_JSON).is_file()):
        index_run(load_run(path), db_path)
        count += 1
    return count


def history(pattern: str, db_path: Path = DEFAULT_DB, target: str | None = None) -> pd.DataFrame:
    """Timings of the benchmark with id `pattern`, or of ids matching it as a glob, oldest first."""
    if not db_path.exists():
        return pd.DataFrame(
            columns=[
                "created",
                "run_id",
                "benchmark_id",
                "target",
                "git_sha",
                "median_seconds",
                "ci_low_seconds",
                "ci_high_seconds",
                "n_workers",
            ]
        )
    query = (
        "SELECT r.created, t.run_id, t.benchmark_id, t.target, t.git_sha, t.median_seconds, "
        "t.ci_low_seconds, t.ci_high_seconds, t.n_workers FROM timings t JOIN runs r USING (run_id) "
        "WHERE (t.benchmark_id = ? OR t.benchmark_id GLOB ?)"
        + (" AND t.target = ?" if target else "")
        + " ORDER BY r.created, t.run_id"
    )
    params = (pattern, pattern, target) if target else (pattern, pattern)
    with closing(sqlite3.connect(db_path)) as connection:
        return pd.read_sql_query(query, connection, params=params)
