"""The history store: written by every run, read by `perfkit history`; corrupt or missing
index fails in one line and `--reindex` recovers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from conftest import SUITES, perfkit_cli


def _project_env() -> dict[str, str]:
    """No PERFKIT_DB: the index is the project's own data/perfkit.sqlite."""
    return {k: v for k, v in os.environ.items() if k != "PERFKIT_DB"}


def _run(runs: Path, *extra: str) -> None:
    done = perfkit_cli(
        "run", str(SUITES / "basic_suite.py"), "--quick", "--workers", "3",
        "--only", "sum_range*", "--out", str(runs), *extra,
        cwd=runs.parent.parent, env=_project_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _history(tmp_path: Path, *args: str):
    return perfkit_cli("history", *args, cwd=tmp_path, env=_project_env())


def test_runs_are_indexed_with_worker_medians_and_history_reads_them(tmp_path: Path) -> None:
    runs = tmp_path / "elsewhere" / "runs"
    for _ in range(2):
        _run(runs)
    # The index is the project's (the working directory's data/), never inside --out.
    assert not list((tmp_path / "elsewhere").rglob("*.sqlite"))
    db = tmp_path / "data" / "perfkit.sqlite"
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT benchmark_id, target, series, median_seconds, ci_low_seconds, "
            "ci_high_seconds, n_workers, worker_seconds, git_sha, commit_order "
            "FROM points ORDER BY run_id, benchmark_id"
        ).fetchall()
        (version,) = connection.execute("SELECT version FROM perfkit_schema").fetchone()
        machine = connection.execute(
            "SELECT cpu_model, cores, python_version FROM machines"
        ).fetchall()
    assert version == 1 and len(machine) == 1 and machine[0][1] >= 1
    assert [r[0] for r in rows] == ["sum_range[n=100]", "sum_range[n=200]"] * 2
    for r in rows:
        workers = json.loads(r[7])
        assert r[1] == "current" and r[2] == "current" and r[4] <= r[3] <= r[5] and r[6] == 3
        assert len(workers) == 3 and min(workers) <= r[3] <= max(workers)
        assert (r[8] is None) == (r[9] is None)  # commit order recorded whenever the sha is

    shown = _history(tmp_path, "sum_range[n=200]", "--runs-dir", str(runs))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("sum_range[n=200] @current") == 1
    assert len([line for line in shown.stdout.splitlines() if line.startswith("│")]) == 2

    # A bare name finds every parameter set, numeric params in numeric order.
    bare = _history(tmp_path, "sum_range", "--runs-dir", str(runs))
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.index("sum_range[n=100] @") < bare.stdout.index("sum_range[n=200] @")

    missing = _history(tmp_path, "nothing*", "--runs-dir", str(runs))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "no history for 'nothing*'" in missing.stderr


def test_missing_or_corrupt_index_is_one_line_and_reindex_recovers(tmp_path: Path) -> None:
    runs = tmp_path / "elsewhere" / "runs"
    _run(runs)
    db = tmp_path / "data" / "perfkit.sqlite"
    db.unlink()
    gone = _history(tmp_path, "sum_range", "--runs-dir", str(runs))
    assert gone.returncode == 2 and len(gone.stderr.strip().splitlines()) == 1
    assert "no history index at" in gone.stderr and "--reindex" in gone.stderr

    db.write_bytes(b"this is not a database, just junk bytes" * 100)
    corrupt = _history(tmp_path, "sum_range", "--runs-dir", str(runs))
    assert corrupt.returncode == 2, corrupt.stderr
    assert len(corrupt.stderr.strip().splitlines()) == 1 and "--reindex" in corrupt.stderr

    # A broken run directory is skipped (and said), the good ones are indexed.
    bad = runs / "20260101T000000-dead"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    rebuilt = _history(tmp_path, "sum_range", "--runs-dir", str(runs), "--reindex")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.count("sum_range[n=") == 2
    assert f"warning: skipped {bad}" in rebuilt.stderr and "indexed 1 run(s)" in rebuilt.stderr


def test_legacy_index_is_migrated(tmp_path: Path) -> None:
    from perfkit.history.store import SCHEMA_VERSION, open_store

    db = tmp_path / "perfkit.sqlite"
    with sqlite3.connect(db) as connection:
        connection.executescript(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT, status TEXT, suite TEXT,"
            " path TEXT, host TEXT);"
            "CREATE TABLE timings (run_id TEXT, benchmark_id TEXT, target TEXT, git_sha TEXT,"
            " median_seconds REAL, ci_low_seconds REAL, ci_high_seconds REAL, n_workers INTEGER);"
        )
    with open_store(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.points().empty
    with sqlite3.connect(db) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert "timings" not in tables and {"points", "runs", "machines"} <= tables


def test_a_run_indexed_in_a_child_process_lands_or_says_why_not(tmp_path: Path) -> None:
    """`perfkit run` indexes in a forked child while it prints the summary."""
    from perfkit.history.indexing import start_indexing

    run = Path(__file__).parent / "fixtures" / "runs" / "v2_interleaved"
    db = tmp_path / "perfkit.sqlite"
    pending = start_indexing(run, str(db))
    assert pending.wait() is None and pending.wait() is None  # reaped once, asked twice
    with sqlite3.connect(db) as connection:
        (points,) = connection.execute("SELECT COUNT(*) FROM points").fetchone()
        (run_id,) = connection.execute("SELECT run_id FROM runs").fetchone()
    assert points > 0 and run_id == json.loads((run / "run.json").read_text())["id"]

    (tmp_path / "a_directory.sqlite").mkdir()
    failed = start_indexing(run, str(tmp_path / "a_directory.sqlite")).wait()
    assert failed is not None and "\n" not in failed.strip() and "Error" in failed


def test_an_index_child_forked_before_the_run_indexes_it_or_ends_unused(tmp_path: Path) -> None:
    """`perfkit run` forks its indexing child before the run (its imports overlap the run's
    start): Ctrl-C or SIGTERM leaves it waiting, the finished run lands, an unused one is
    ended."""
    from perfkit.history.indexing import fork_indexer

    run = Path(__file__).parent / "fixtures" / "runs" / "v2_interleaved"
    db = tmp_path / "perfkit.sqlite"
    child = fork_indexer(str(db))
    assert child is not None
    os.kill(child.pid, signal.SIGINT)  # the parent handles Ctrl-C; the child still indexes
    os.kill(child.pid, signal.SIGTERM)  # as perfkit run's stop on SIGTERM to its group
    assert child.index(run).wait() is None
    with sqlite3.connect(db) as connection:
        (points,) = connection.execute("SELECT COUNT(*) FROM points").fetchone()
    assert points > 0

    unused = fork_indexer(str(tmp_path / "other.sqlite"))
    assert unused is not None
    unused.close()
    with pytest.raises(ChildProcessError):  # reaped
        os.waitpid(unused.pid, os.WNOHANG)
    assert not (tmp_path / "other.sqlite").exists()

    (tmp_path / "a_directory.sqlite").mkdir()
    failing = fork_indexer(str(tmp_path / "a_directory.sqlite"))
    assert failing is not None
    failed = failing.index(run).wait()
    assert failed is not None and "\n" not in failed.strip() and "Error" in failed


def test_an_indexing_child_that_hangs_is_stopped_and_said(monkeypatch) -> None:
    import time

    from perfkit.history import indexing

    monkeypatch.setattr(indexing, "index_now", lambda path, db: time.sleep(30))  # the child's
    started = time.monotonic()
    message = indexing.start_indexing(Path("nowhere"), None).wait(timeout=0.5)
    assert message == "indexing took over 0.5 s and was stopped"
    assert time.monotonic() - started < 10
