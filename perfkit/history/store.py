"""The history index: `data/perfkit.sqlite`, one row per run and per measured case.

It only indexes what run directories hold (they stay the source of truth), so it
can always be rebuilt from them with `perfkit history --reindex`.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfkit.errors import HistoryError, PerfkitError
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


def default_db() -> Path:
    """The project's index: ``$PERFKIT_DB``, else ``data/perfkit.sqlite`` of the working
    directory, wherever the runs were written (``--out X`` never puts it inside X)."""
    return Path(os.environ.get("PERFKIT_DB") or DEFAULT_DB)


@dataclass(frozen=True)
class Reindexed:
    """What `reindex` did: runs indexed, and run directories skipped with the reason."""

    runs: int
    skipped: tuple[tuple[Path, str], ...] = ()


def _unusable(db_path: Path, exc: BaseException) -> HistoryError:
    return HistoryError(
        f"{db_path}: not a usable SQLite index ({exc}); "
        "rebuild it from the run directories with `perfkit history --reindex`"
    )


def _connect(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        connection.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _unusable(db_path, exc) from None
    return connection


def index_run(run: Run, db_path: Path = DEFAULT_DB) -> int:
    """Add (or replace) one run's summary rows; returns the number of timing rows."""
    from perfkit.analysis.stats import timing_summary

    summary = timing_summary(run) if not run.samples.empty else pd.DataFrame()
    targets = run.meta.get("targets", {})
    try:
        return _insert(run, summary, targets, db_path)
    except sqlite3.DatabaseError as exc:
        raise _unusable(db_path, exc) from None


def _insert(run: Run, summary: pd.DataFrame, targets: dict, db_path: Path) -> int:
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


def reindex(runs_dir: Path, db_path: Path = DEFAULT_DB) -> Reindexed:
    """Rebuild the index from every run directory under `runs_dir`.

    The new index is built beside the old one and then replaces it, so a corrupt
    index is recovered and readers never see a half-built one. A run directory that
    cannot be read is skipped (and reported), not fatal.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=db_path.parent, prefix=f".{db_path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    count, skipped = 0, []
    try:
        for path in sorted(p for p in Path(runs_dir).glob("*") if (p / RUN_JSON).is_file()):
            try:
                index_run(load_run(path), tmp)
            except HistoryError:
                raise
            except Exception as exc:  # one bad run directory must not hide the others
                reason = (
                    str(exc) if isinstance(exc, PerfkitError) else f"{type(exc).__name__}: {exc}"
                )
                skipped.append((path, reason))
                continue
            count += 1
        _connect(tmp).close()  # an empty index is still a valid one
        os.replace(tmp, db_path)
    finally:
        tmp.unlink(missing_ok=True)
    return Reindexed(count, tuple(skipped))


def history(pattern: str, db_path: Path = DEFAULT_DB, target: str | None = None) -> pd.DataFrame:
    """Timings of the benchmark with id `pattern`, or of ids matching it as a glob, oldest first."""
    if not Path(db_path).exists():
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
    try:
        with closing(sqlite3.connect(db_path)) as connection:
            return pd.read_sql_query(query, connection, params=params)
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:
        raise _unusable(db_path, exc.__cause__ or exc) from None
