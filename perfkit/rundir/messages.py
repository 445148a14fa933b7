"""The records a worker process reads and writes: `WorkerRequest`, `WorkerReply` and the
`CaseRecord` a discovery reply carries, with the typed JSON field reads they need.

Part of the run directory's schema (`perfkit.rundir.schema` re-exports every name and owns
the rest), kept apart because every worker imports it: the other records of run.json cost
a worker's start-up ~10 ms of dataclass creation and need none of it. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from perfkit.errors import RunDirError

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PASS_MODES = ("time", "profile", "memory")


class _Fields:
    """Typed reads from one JSON object; errors name the file and the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise RunDirError(f"{where}: expected a JSON object, got {_shown(data)}")
        self.data = data
        self.where = where

    def _bad(self, key: str, wanted: str) -> RunDirError:
        return RunDirError(f"{self.where}: {key!r} must be {wanted}, got {_shown(self.data[key])}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self._bad(key, "a number")
        return None if value is None else float(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._bad(key, "an integer")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object")
        return dict(value)

    def items(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, list):
            raise self._bad(key, "a list")
        return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class CaseRecord:
    """One benchmark case as declared: id, name, params text, decorator budgets, timeout.

    The in-process runners (pytest plugin) add the node id and their own memory budget,
    which judges what the calls add rather than a worker's peak RSS.
    """

    id: str
    name: str
    params: str = ""
    budget_seconds: float | None = None
    memory_budget_bytes: int | None = None
    timeout_seconds: float | None = None
    in_process_memory_budget_bytes: int | None = None
    nodeid: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for optional in ("in_process_memory_budget_bytes", "nodeid"):
            if data[optional] is None:
                del data[optional]
        return data

    @classmethod
    def from_json(cls, data: Any, where: str, default_id: str = "") -> CaseRecord:
        f = _Fields(data, where)
        case_id = f.text("id") or default_id
        if not case_id:
            raise RunDirError(f"{where}: a case needs an 'id'")
        return cls(
            id=case_id,
            name=f.text("name") or case_id.partition("[")[0],
            params=f.text("params", "") or "",
            budget_seconds=f.number("budget_seconds"),
            memory_budget_bytes=f.integer("memory_budget_bytes"),
            timeout_seconds=f.number("timeout_seconds"),
            in_process_memory_budget_bytes=f.integer("in_process_memory_budget_bytes"),
            nodeid=f.text("nodeid"),
        )


@dataclass(frozen=True)
class WorkerRequest:
    """Parent -> worker, one JSON object on stdin: discover cases, or run one pass."""

    mode: str  # discover | time | profile | memory
    suite: str
    target_path: str | None = None
    name: str = ""
    params: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    memory_limit_bytes: int | None = None
    hash_seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any, where: str = "worker request") -> WorkerRequest:
        f = _Fields(data, where)
        mode = f.text("mode")
        if mode not in ("discover", *PASS_MODES):
            raise RunDirError(f"{where}: unknown mode {mode!r}")
        return cls(
            mode=mode,
            suite=f.text("suite") or "",
            target_path=f.text("target_path"),
            name=f.text("name", "") or "",
            params=f.text("params", "") or "",
            options=f.mapping("options"),
            memory_limit_bytes=f.integer("memory_limit_bytes"),
            hash_seed=f.integer("hash_seed"),
        )


@dataclass(frozen=True)
class WorkerReply:
    """Worker -> parent, one JSON object on the worker's private stdout.

    ``ok`` with ``cases`` (discover) or ``result`` (a pass's payload: samples and loops,
    profile path and calls, memory rows; plus monitor counters); otherwise ``kind``
    (error, crash, suite) and a one-line ``message``. ``threads`` names non-daemon
    threads the benchmark left running (the parent warns about them).
    """

    ok: bool
    kind: str = ""
    message: str = ""
    cases: tuple[CaseRecord, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)
    threads: tuple[str, ...] = ()  # non-daemon threads still running when the reply was sent

    @classmethod
    def failure(cls, kind: str, message: str) -> WorkerReply:
        return cls(ok=False, kind=kind, message=message)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "message": self.message,
            "cases": [c.to_json() for c in self.cases],
            "result": self.result,
            "threads": list(self.threads),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "worker reply") -> WorkerReply:
        f = _Fields(data, where)
        return cls(
            ok=f.flag("ok"),
            kind=f.text("kind", "") or "",
            message=f.text("message", "") or "",
            cases=tuple(
                CaseRecord.from_json(c, f"{where}: cases[{i}]")
                for i, c in enumerate(f.items("cases") or [])
            ),
            result=f.mapping("result"),
            threads=tuple(str(t) for t in f.items("threads") or []),
        )
