"""The run directory's schema: file names, CSV columns, and the typed records of run.json
and of the worker messages, with their JSON forms.

Every record is a frozen dataclass with ``to_json``/``from_json``; ``from_json`` checks
types and raises `RunDirError` with one line naming the file and the field. Stdlib only.
The worker's messages (`WorkerRequest`, `WorkerReply`, the `CaseRecord` they carry) are
defined in `perfkit.rundir.messages`, which a worker imports without this module, and are
re-exported here with the rest of the schema. Schema 1 (perfkit before run.json recorded
budgets and file checks) is migrated in memory on load; a newer schema is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from perfkit.errors import RunDirError
from perfkit.rundir.messages import PASS_MODES as PASS_MODES
from perfkit.rundir.messages import CaseRecord as CaseRecord
from perfkit.rundir.messages import WorkerReply as WorkerReply
from perfkit.rundir.messages import WorkerRequest as WorkerRequest
from perfkit.rundir.messages import _Fields

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)

RUN_JSON = "run.json"
SAMPLES_CSV = "samples.csv"
FAILURES_CSV = "failures.csv"
MEMORY_CSV = "memory.csv"
MEMORY_SUMMARY_CSV = "memory_summary.csv"
MEMORY_SITES_CSV = "memory_sites.csv"
PROFILES_CSV = "profiles.csv"
MONITOR_CSV = "monitor.csv"
PROFILES_DIR = "profiles"

_KEY = ["benchmark", "params", "target"]
COLUMNS: dict[str, list[str]] = {
    SAMPLES_CSV: [*_KEY, "worker", "sample", "loops", "seconds"],
    FAILURES_CSV: [*_KEY, "worker", "kind", "message"],
    MEMORY_CSV: [*_KEY, "worker", "iteration", "rss_bytes", "py_current_bytes", "py_peak_bytes"],
    MEMORY_SUMMARY_CSV: [
        *_KEY,
        "worker",
        "baseline_rss_bytes",
        "peak_rss_bytes",
        "py_peak_bytes",
        "calls",
    ],
    MEMORY_SITES_CSV: [*_KEY, "worker", "site", "size_bytes", "count"],
    PROFILES_CSV: [*_KEY, "calls", "seconds", "file"],
    MONITOR_CSV: [*_KEY, "worker", "name", "kind", "count", "seconds", "calls", "mode"],
}
INT_COLUMNS = {"worker", "sample", "loops", "iteration", "calls", "count"}
FAILURE_KINDS = ("error", "timeout", "crash")
STATUSES = ("running", "complete", "interrupted", "failed")
BUDGET_KINDS = ("time", "memory")


def now_iso() -> str:
    """UTC now with microseconds: runs started in the same second still order by it."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class InterpreterInfo:
    """The interpreter that ran a target's workers and the distributions installed there.

    `env_file` is the requirements file or pyproject.toml perfkit built the environment
    from (``--env``); None when the user named the interpreter or it is perfkit's own."""

    executable: str = ""
    implementation: str = ""
    version: str = ""
    packages: Mapping[str, str] = field(default_factory=dict)  # distribution -> version
    env_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "executable": self.executable,
            "implementation": self.implementation,
            "version": self.version,
            "env_file": self.env_file,
            "packages": dict(sorted(self.packages.items(), key=lambda kv: kv[0].lower())),
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> InterpreterInfo:
        f = _Fields(data, where)
        packages = f.mapping("packages")
        if not all(isinstance(v, str) for v in packages.values()):
            raise RunDirError(f"{where}: 'packages' must map names to version strings")
        return cls(
            executable=f.text("executable", "") or "",
            implementation=f.text("implementation", "") or "",
            version=f.text("version", "") or "",
            packages=packages,
            env_file=f.text("env_file"),
        )


@dataclass(frozen=True)
class TargetInfo:
    """One target of a run: its spec as given, the path workers import from, its commit,
    and the interpreter its workers ran.

    The commit facts (history series, ref, commit time, first-parent order) place the
    target's timings in the history store; runs written without them read as None, as
    does the interpreter in runs made before perfkit recorded it.
    """

    spec: str = ""
    path: str | None = None
    git_sha: str | None = None
    series: str | None = None
    ref: str | None = None
    commit_time: str | None = None
    commit_order: int | None = None
    interpreter: InterpreterInfo | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "spec": self.spec,
            "path": self.path,
            "git_sha": self.git_sha,
            "series": self.series,
            "ref": self.ref,
            "commit_time": self.commit_time,
            "commit_order": self.commit_order,
        }
        if self.interpreter is not None:
            data["interpreter"] = self.interpreter.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> TargetInfo:
        f = _Fields(data, where)
        raw = f.data.get("interpreter")
        return cls(
            spec=f.text("spec", "") or "",
            path=f.text("path"),
            git_sha=f.text("git_sha"),
            series=f.text("series"),
            ref=f.text("ref"),
            commit_time=f.text("commit_time"),
            commit_order=f.integer("commit_order"),
            interpreter=None
            if raw is None
            else InterpreterInfo.from_json(raw, f"{where}: interpreter"),
        )


@dataclass(frozen=True)
class BudgetRecord:
    """A budget a run was measured against, as it applied when the run was made."""

    id: str
    kind: str  # time | memory
    limit: float  # seconds or bytes
    text: str  # as written by the user ("5s", "500MB"), or formatted from the decorator
    source: str  # "decorator", "perfkit.toml" (with its path), "perf fixture"

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any, where: str) -> BudgetRecord:
        f = _Fields(data, where)
        kind, limit = f.text("kind"), f.number("limit")
        if kind not in BUDGET_KINDS or limit is None or not f.text("id"):
            raise RunDirError(f"{where}: a budget needs an id, kind time|memory and a limit")
        return cls(
            id=f.text("id") or "",
            kind=kind,
            limit=limit,
            text=f.text("text") or "",
            source=f.text("source") or "",
        )


@dataclass(frozen=True)
class LoadRecord:
    """How busy the machine was while the timing workers ran (sampled between rounds)."""

    cores: int
    samples: int
    load_average_mean: float
    load_average_max: float
    other_cpu_share_mean: float  # CPU of other processes, share of all cores
    other_cpu_share_max: float
    steal_share_mean: float  # CPU the hypervisor took, share of all cores
    high: bool  # enough to move timings: the report warns

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any, where: str) -> LoadRecord:
        f = _Fields(data, where)
        return cls(
            cores=f.integer("cores", 1) or 1,
            samples=f.integer("samples", 0) or 0,
            load_average_mean=f.number("load_average_mean") or 0.0,
            load_average_max=f.number("load_average_max") or 0.0,
            other_cpu_share_mean=f.number("other_cpu_share_mean") or 0.0,
            other_cpu_share_max=f.number("other_cpu_share_max") or 0.0,
            steal_share_mean=f.number("steal_share_mean") or 0.0,
            high=f.flag("high"),
        )


@dataclass(frozen=True)
class StopRecord:
    """Why an adaptive run stopped timing one benchmark, and after how many rounds."""

    rounds: int
    reason: str  # changed | unchanged | futile | max-workers | max-seconds | failed | interrupted

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Any, where: str) -> StopRecord:
        f = _Fields(data, where)
        return cls(rounds=f.integer("rounds", 0) or 0, reason=f.text("reason", "") or "")


@dataclass(frozen=True)
class FileCheck:
    """What the writer last wrote to one CSV: its data rows, size and sha256.

    A reader compares the file with it: a shorter file or one whose first `size_bytes`
    have another hash is truncated or edited; a longer one that extends it with whole
    lines is a newer write whose run.json update was lost (the writer was killed between).
    """

    rows: int
    size_bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "size_bytes": self.size_bytes, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any, where: str) -> FileCheck:
        f = _Fields(data, where)
        rows, size, digest = f.integer("rows"), f.integer("size_bytes"), f.text("sha256")
        if rows is None or size is None or not digest:
            raise RunDirError(f"{where}: a file check needs rows, size_bytes and sha256")
        return cls(rows=rows, size_bytes=size, sha256=digest)


@dataclass(frozen=True)
class RunInfo:
    """run.json: what was measured, on which code and machine, how it ended.

    ``budgets`` is None for runs made before budgets were recorded (schema 1); analysis
    then falls back to today's perfkit.toml and says so.
    """

    id: str
    created: str = field(default_factory=now_iso)
    status: str = "running"
    schema: int = SCHEMA_VERSION
    finished: str | None = None
    perfkit_version: str | None = None
    suite: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    interleaved: bool = False
    host: dict[str, Any] = field(default_factory=dict)
    python: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    cases: dict[str, CaseRecord] = field(default_factory=dict)
    budgets: tuple[BudgetRecord, ...] | None = ()
    files: dict[str, FileCheck] = field(default_factory=dict)
    load: LoadRecord | None = None  # machine load during timing (None: not recorded)
    stops: dict[str, StopRecord] = field(default_factory=dict)  # adaptive runs, per case id

    @property
    def created_at(self) -> datetime | None:
        """`created` as a datetime (None when it does not parse)."""
        try:
            stamp = datetime.fromisoformat(self.created)
        except ValueError:
            return None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)

    def with_case(self, case: CaseRecord) -> RunInfo:
        return replace(self, cases={**self.cases, case.id: case})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "schema": self.schema,
            "status": self.status,
            "created": self.created,
            "finished": self.finished,
            "perfkit_version": self.perfkit_version,
            "suite": self.suite,
            "options": self.options,
            "interleaved": self.interleaved,
            "host": self.host,
            "python": self.python,
            "targets": {label: t.to_json() for label, t in self.targets.items()},
            "cases": {case_id: c.to_json() for case_id, c in self.cases.items()},
            "budgets": None if self.budgets is None else [b.to_json() for b in self.budgets],
            "files": {name: check.to_json() for name, check in self.files.items()},
            "load": None if self.load is None else self.load.to_json(),
            "stops": {case_id: stop.to_json() for case_id, stop in self.stops.items()},
        }

    @classmethod
    def from_json(cls, data: Any, where: str = RUN_JSON, default_id: str = "") -> RunInfo:
        """Validate and, for schema 1, migrate; `where` names the file in errors."""
        f = _Fields(data, where)
        schema = f.integer("schema", 1)
        assert schema is not None
        if schema not in READABLE_SCHEMAS:
            newer = " (written by a newer perfkit: upgrade)" if schema > SCHEMA_VERSION else ""
            raise RunDirError(
                f"{where}: run directory schema {schema} is not one this perfkit reads "
                f"({', '.join(map(str, READABLE_SCHEMAS))}){newer}"
            )
        status = f.text("status", "running") or "running"
        budgets: tuple[BudgetRecord, ...] | None = None  # schema 1 recorded none
        if schema >= 2 and (raw := f.items("budgets")) is not None:
            budgets = tuple(
                BudgetRecord.from_json(b, f"{where}: budgets[{i}]") for i, b in enumerate(raw)
            )
        return cls(
            id=f.text("id") or default_id,
            created=f.text("created") or "",
            status=status,
            schema=SCHEMA_VERSION,  # migrated in memory
            finished=f.text("finished"),
            perfkit_version=f.text("perfkit_version"),
            suite=f.text("suite"),
            options=f.mapping("options"),
            interleaved=f.flag("interleaved"),
            host=f.mapping("host"),
            python=f.mapping("python"),
            targets={
                str(label): TargetInfo.from_json(t, f"{where}: targets.{label}")
                for label, t in f.mapping("targets").items()
            },
            cases={
                str(case_id): CaseRecord.from_json(c, f"{where}: cases.{case_id}", str(case_id))
                for case_id, c in f.mapping("cases").items()
            },
            budgets=budgets,
            files={
                str(name): FileCheck.from_json(c, f"{where}: files.{name}")
                for name, c in f.mapping("files").items()
            },
            load=None
            if f.data.get("load") is None
            else LoadRecord.from_json(f.data["load"], f"{where}: load"),
            stops={
                str(case_id): StopRecord.from_json(s, f"{where}: stops.{case_id}")
                for case_id, s in f.mapping("stops").items()
            },
        )
