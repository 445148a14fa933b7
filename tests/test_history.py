"""The SQLite history index: written by every run, read by `perfkit history`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from conftest import SUITES, perfkit_cli


def _project_env() -> dict[str, str]:
    """No PERFKIT_DB: the index is the project's own data/perfkit.sqlite."""
    return {k: v for k, v in os.environ.items() if k != "PERFKIT_DB"}


def test_runs_are_indexed_and_history_reads_them(tmp_path: Path) -> None:
    runs = tmp_path / "elsewhere" / "runs"
    for _ in range(2):
        done = perfkit_cli(
            "run", str(SUITES / "basic_suite.py"), "--quick", "--workers", "3",
            "--only", "sum_range*", "--out", str(runs), cwd=tmp_path, env=_project_env(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    # The index is the project's (the working directory's data/), never inside --out.
    assert not list((tmp_path / "elsewhere").rglob("*.sqlite"))
    db = tmp_path / "data" / "perfkit.sqlite"
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT benchmark_id, target, median_seconds, ci_low_seconds, ci_high_seconds, "
            "n_workers FROM timings ORDER BY run_id, benchmark_id"
        ).fetchall()
    assert [r[0] for r in rows] == ["sum_range[n=100]", "sum_range[n=200]"] * 2
    assert all(r[1] == "current" and r[3] <= r[2] <= r[4] and r[5] == 3 for r in rows)

    env = {**os.environ, "PERFKIT_DB": str(db)}
    shown = perfkit_cli("history", "sum_range[n=200]", "--runs-dir", str(runs), env=env)
    assert shown.returncode == 0, shown.stderr
    rows_shown = [line for line in shown.stdout.splitlines() if line.startswith("│")]
    assert len(rows_shown) == 2 and all("sum_range[n=200]" in line for line in rows_shown)

    db.unlink()
    rebuilt = perfkit_cli("history", "sum_range*", "--runs-dir", str(runs), "--reindex", env=env)
    assert rebuilt.returncode == 0 and rebuilt.stdout.count("sum_range[n=") == 4

    missing = perfkit_cli("history", "nothing*", "--runs-dir", str(runs), env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"perfkit history: error: no history for 'nothing*' in {db} (try --reindex)"
    )
