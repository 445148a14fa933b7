"""The history store: one row per (run, benchmark, target) with its per-worker medians.

SQLite at ``data/perfkit.sqlite`` by default; any SQLAlchemy URL (``postgresql://…``)
through ``--db``/``PERFKIT_DB``. One SQL layer, SQLAlchemy Core: the same statements
run on both, it owns connection pooling and dialect quirks, and it keeps DDL in one
place for the migrations. The store only indexes what run directories hold (they stay
the source of truth): ``reindex`` rebuilds it from them. It computes no statistics
beyond the per-run summary it is given.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError

from perfkit.errors import HistoryError, PerfkitError
from perfkit.rundir import RUN_JSON, Run, load_run
from perfkit.rundir.schema import RunInfo, TargetInfo

DEFAULT_DB = Path("data") / "perfkit.sqlite"
DB_ENV = "PERFKIT_DB"

metadata = sa.MetaData()

schema_table = sa.Table(
    "perfkit_schema", metadata, sa.Column("version", sa.Integer, nullable=False)
)

machines = sa.Table(
    "machines",
    metadata,
    sa.Column("machine_id", sa.String(16), primary_key=True),
    sa.Column("cpu_model", sa.Text),
    sa.Column("cores", sa.Integer),
    sa.Column("python_implementation", sa.String(32)),
    sa.Column("python_version", sa.String(32)),
    sa.Column("perfkit_version", sa.String(32)),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("created", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("suite", sa.Text),
    sa.Column("path", sa.Text),
    sa.Column("hostname", sa.Text),
    sa.Column("machine_id", sa.String(16)),
)

points = sa.Table(
    "points",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("benchmark_id", sa.String(400), primary_key=True),
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("benchmark", sa.String(200), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("series", sa.String(64), nullable=False),
    sa.Column("machine_id", sa.String(16), nullable=False),
    sa.Column("git_sha", sa.String(40)),
    sa.Column("ref", sa.Text),
    sa.Column("commit_time", sa.String(40)),
    sa.Column("commit_order", sa.Integer),
    sa.Column("created", sa.String(40)),
    sa.Column("median_seconds", sa.Float, nullable=False),
    sa.Column("ci_low_seconds", sa.Float),
    sa.Column("ci_high_seconds", sa.Float),
    sa.Column("n_workers", sa.Integer, nullable=False),
    # One JSON list per point: a series reads one row per run, not one per worker.
    sa.Column("worker_seconds", sa.Text, nullable=False),
    sa.Column("peak_rss_bytes", sa.BigInteger),
    sa.Index("ix_points_series", "benchmark_id", "series", "machine_id"),
    sa.Index("ix_points_benchmark", "benchmark"),
)

_LEGACY_TABLES = ("timings", "runs")  # the unversioned index of perfkit ≤ 0.1 (no per-worker data)


def _migration_1(connection: sa.Connection) -> None:
    """Series store: machines, runs, points with per-worker medians and commit order."""
    inspector = sa.inspect(connection)
    if inspector.has_table("timings"):
        # The old index kept only summaries; it cannot be converted, only rebuilt (--reindex).
        for name in _LEGACY_TABLES:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    for table in (machines, runs, points):
        table.create(connection, checkfirst=True)


MIGRATIONS: list[tuple[int, Any]] = [(1, _migration_1)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class MachineClass:
    """What makes timings comparable: a run on another class is another series."""

    cpu_model: str
    cores: int
    python_implementation: str
    python_version: str
    perfkit_version: str

    @property
    def machine_id(self) -> str:
        key = json.dumps(
            [
                self.cpu_model,
                self.cores,
                self.python_implementation,
                self.python_version,
                self.perfkit_version,
            ]
        )
        return hashlib.sha1(key.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        return (
            f"{self.cpu_model} ×{self.cores} · {self.python_implementation} "
            f"{self.python_version} · perfkit {self.perfkit_version}"
        )

    @classmethod
    def of_run(cls, info: RunInfo) -> MachineClass:
        host, python = info.host, info.python
        return cls(
            cpu_model=str(host.get("cpu_model") or "unknown CPU"),
            cores=int(host.get("cores") or 0),
            python_implementation=str(python.get("implementation") or "?"),
            python_version=str(python.get("version") or "?"),
            perfkit_version=str(info.perfkit_version or "?"),
        )


def default_db() -> Path:
    """The project's index: ``$PERFKIT_DB``, else ``data/perfkit.sqlite`` of the working
    directory, wherever the runs were written (``--out X`` never puts it inside X)."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def resolve_db(db: str | Path | None = None) -> str:
    """A database URL: `db` (URL or file), else ``$PERFKIT_DB``, else ``data/perfkit.sqlite``."""
    # Not through default_db(): a Path would fold the URL's "//" into "/".
    text = str(db) if db not in (None, "") else os.environ.get(DB_ENV) or str(DEFAULT_DB)
    if "://" in text:
        return text.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def describe(url: str) -> str:
    """A URL for messages: the file for SQLite, the URL without its password otherwise."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True).replace("+psycopg", "")


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")  # two runs ending together wait, not fail
    cursor.close()


def _on_sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """An open history store; use as a context manager or call ``close``."""

    def __init__(self, url: str, create: bool = True) -> None:
        self.url = url
        self.where = describe(url)
        path = _sqlite_path(url)
        if path is not None:
            if not path.exists() and not create:
                raise HistoryError(
                    f"no history index at {path} (run `perfkit run` first, or --reindex)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path is not None:
                # pysqlite's own transaction handling defers BEGIN; take the write lock up
                # front instead (SQLAlchemy's documented recipe) so that concurrent runs
                # and migrations serialise instead of failing half-way.
                self.engine: Engine = sa.create_engine(url, connect_args={"isolation_level": None})
                sa.event.listen(self.engine, "connect", _on_sqlite_connect)
                sa.event.listen(self.engine, "begin", _on_sqlite_begin)
            else:
                self.engine = sa.create_engine(url)
        except ImportError as exc:
            raise HistoryError(
                f"cannot open history database {self.where}: {exc.name} is not installed "
                "(pip install 'perfkit[postgres]')"
            ) from None
        except (SQLAlchemyError, ValueError) as exc:
            raise HistoryError(f"cannot open history database {self.where}: {exc}") from None
        self._migrate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def _fail(self, exc: Exception) -> HistoryError:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if isinstance(exc, DatabaseError) and _sqlite_path(self.url) is not None:
            return HistoryError(
                f"{self.where}: not a usable SQLite index ({reason}); "
                "rebuild it from the run directories with `perfkit history --reindex`"
            )
        return HistoryError(f"history database {self.where}: {reason}")

    def _migrate(self) -> None:
        """Bring the schema to `SCHEMA_VERSION`, one migration at a time, under a lock."""
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(7210917)"))
                schema_table.create(connection, checkfirst=True)
                version = connection.execute(sa.select(sa.func.max(schema_table.c.version)))
                current = version.scalar() or 0
                if current > SCHEMA_VERSION:
                    raise HistoryError(
                        f"{self.where} has schema {current}, newer than this perfkit's "
                        f"{SCHEMA_VERSION}: upgrade perfkit or index into another --db"
                    )
                for number, step in MIGRATIONS:
                    if number > current:
                        step(connection)
                        connection.execute(sa.delete(schema_table))
                        connection.execute(sa.insert(schema_table).values(version=number))
        except PerfkitError:
            raise
        except (DatabaseError, OperationalError) as exc:
            raise self._fail(exc) from None

    def schema_version(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.max(schema_table.c.version))).scalar())

    def index_run(self, run: Run) -> int:
        """Add (or replace) one run's points; returns how many points it has."""
        rows, machine = run_points(run)
        run_row = {
            "run_id": run.id,
            "created": run.info.created,
            "status": run.info.status,
            "suite": run.info.suite,
            "path": str(run.path.resolve()),
            "hostname": run.info.host.get("hostname"),
            "machine_id": machine.machine_id,
        }
        try:
            with self.engine.begin() as connection:
                _put_machine(connection, machine)
                connection.execute(sa.delete(points).where(points.c.run_id == run.id))
                connection.execute(sa.delete(runs).where(runs.c.run_id == run.id))
                connection.execute(sa.insert(runs), [run_row])
                if rows:
                    connection.execute(sa.insert(points), rows)
        except (DatabaseError, OperationalError) as exc:
            raise self._fail(exc) from None
        return len(rows)

    def insert_points(self, machine: MachineClass, run_rows: list[dict], rows: list[dict]) -> None:
        """Bulk insert of ready rows (synthetic histories for self-benchmarks)."""
        with self.engine.begin() as connection:
            _put_machine(connection, machine)
            connection.execute(sa.insert(runs), run_rows)
            for start in range(0, len(rows), 5000):
                connection.execute(sa.insert(points), rows[start : start + 5000])

    def clear(self) -> None:
        with self.engine.begin() as connection:
            for table in (points, runs, machines):
                connection.execute(sa.delete(table))

    def reindex(self, runs_dir: Path) -> tuple[int, list[tuple[Path, str]]]:
        """Rebuild from every run directory under `runs_dir`: (runs indexed, skipped with why)."""
        self.clear()
        count, skipped = 0, []
        for path in sorted(p for p in Path(runs_dir).glob("*") if (p / RUN_JSON).is_file()):
            try:
                self.index_run(load_run(path))
            except HistoryError:
                raise
            except Exception as exc:  # one bad run directory must not hide the others
                reason = (
                    str(exc) if isinstance(exc, PerfkitError) else f"{type(exc).__name__}: {exc}"
                )
                skipped.append((path, reason))
                continue
            count += 1
        return count, skipped

    def machines(self) -> pd.DataFrame:
        return self._frame(sa.select(machines))

    def benchmark_ids(self) -> list[str]:
        query = sa.select(points.c.benchmark_id).distinct()
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(query)]

    def points(
        self,
        benchmark_ids: Iterable[str] | None = None,
        series: str | None = None,
        machine_id: str | None = None,
        since: str | None = None,
    ) -> pd.DataFrame:
        """Points (one per run × benchmark × target) with ``worker_seconds`` as float arrays."""
        query = sa.select(points)
        if benchmark_ids is not None:
            ids = list(benchmark_ids)
            if not ids:
                return _empty_points()
            query = query.where(points.c.benchmark_id.in_(ids))
        if series:
            query = query.where(points.c.series == series)
        if machine_id:
            query = query.where(points.c.machine_id.like(f"{machine_id}%"))
        if since:
            query = query.where(
                sa.func.coalesce(points.c.commit_time, points.c.created) >= str(since)
            )
        frame = self._frame(query)
        if frame.empty:
            return _empty_points()
        frame["worker_seconds"] = [
            _floats(json.loads(text)) for text in frame["worker_seconds"].tolist()
        ]
        return frame

    def _frame(self, query: sa.Select) -> pd.DataFrame:
        try:
            with self.engine.connect() as connection:
                result = connection.execute(query)
                return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        except (DatabaseError, OperationalError) as exc:
            raise self._fail(exc) from None


def _floats(values: list[float]) -> Any:
    import numpy as np

    return np.asarray(values, dtype=float)


def _empty_points() -> pd.DataFrame:
    return pd.DataFrame(columns=[c.name for c in points.columns])


def _put_machine(connection: sa.Connection, machine: MachineClass) -> None:
    exists = connection.execute(
        sa.select(machines.c.machine_id).where(machines.c.machine_id == machine.machine_id)
    ).first()
    if exists is None:
        try:
            with connection.begin_nested():
                connection.execute(
                    sa.insert(machines).values(
                        machine_id=machine.machine_id,
                        cpu_model=machine.cpu_model,
                        cores=machine.cores,
                        python_implementation=machine.python_implementation,
                        python_version=machine.python_version,
                        perfkit_version=machine.perfkit_version,
                    )
                )
        except sa.exc.IntegrityError:
            pass  # another run registered the same machine class a moment ago


def run_points(run: Run) -> tuple[list[dict[str, Any]], MachineClass]:
    """The rows one run adds: per (benchmark, target) summary, worker medians, commit facts."""
    from perfkit.analysis.stats import memory_peaks, timing_summary, worker_medians

    machine = MachineClass.of_run(run.info)
    if run.samples.empty:
        return [], machine
    summary = timing_summary(run)
    medians = worker_medians(run.samples)
    by_case = {
        key: group.sort_values("worker")["median_seconds"].to_list()
        for key, group in medians.groupby(["id", "target"], sort=False)
    }
    peaks = {(row.id, row.target): row.peak_rss_bytes for row in memory_peaks(run).itertuples()}
    targets = run.info.targets
    rows = []
    for row in summary.itertuples():
        facts = targets.get(row.target) or TargetInfo()
        peak = peaks.get((row.id, row.target))
        rows.append(
            {
                "run_id": run.id,
                "benchmark_id": row.id,
                "target": row.target,
                "benchmark": row.benchmark,
                "params": row.params or "",
                "series": facts.series or row.target,
                "machine_id": machine.machine_id,
                "git_sha": facts.git_sha,
                "ref": facts.ref,
                "commit_time": facts.commit_time,
                "commit_order": facts.commit_order,
                "created": run.info.created,
                "median_seconds": float(row.median_seconds),
                "ci_low_seconds": _none_if_nan(row.ci_low_seconds),
                "ci_high_seconds": _none_if_nan(row.ci_high_seconds),
                "n_workers": int(row.n_workers),
                "worker_seconds": json.dumps(by_case.get((row.id, row.target), [])),
                "peak_rss_bytes": None if peak is None or pd.isna(peak) else int(peak),
            }
        )
    return rows, machine


def _none_if_nan(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def open_store(db: str | Path | None = None, create: bool = True) -> Store:
    """Open the store named by `db`, else ``$PERFKIT_DB``, else ``data/perfkit.sqlite``."""
    return Store(resolve_db(db), create=create)


def index_run(run: Run, db: str | Path | None = None) -> int:
    """Index one finished run (the scheduler calls this when a run ends)."""
    with open_store(db) as store:
        return store.index_run(run)


def reindex(runs_dir: Path, db: str | Path | None = None) -> int:
    """Rebuild the store from `runs_dir`; unreadable run directories are reported and skipped.

    A SQLite index is built in a new file and swapped in atomically, so a corrupt or
    half-written index is replaced whole and readers never see a partial one.
    """
    url = resolve_db(db)
    path = _sqlite_path(url)
    if path is None:
        with Store(url) as store:
            count, skipped = store.reindex(runs_dir)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            with Store(f"sqlite:///{tmp}") as store:
                count, skipped = store.reindex(runs_dir)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    for where, reason in skipped:
        print(f"perfkit history: warning: skipped {where}: {reason}", file=sys.stderr)
    return count
