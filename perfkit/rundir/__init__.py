"""The run directory: the contract between collectors and everything else.

This module alone knows file names and columns. Collectors write through
`RunWriter` (incrementally, each file replaced atomically); analysis reads
through `load_run`. Nothing here measures or computes statistics.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.errors import RunDirError

DEFAULT_RUNS_DIR = Path("data") / "runs"

SCHEMA_VERSION = 1

RUN_JSON = "run.json"
SAMPLES_CSV = "samples.csv"
FAILURES_CSV = "failures.csv"
MEMORY_CSV = "memory.csv"
MEMORY_SUMMARY_CSV = "memory_summary.csv"
MEMORY_SITES_CSV = "memory_sites.csv"
PROFILES_CSV = "profiles.csv"
MONITOR_CSV = "monitor.csv"
PROFILES_DIR = "profiles"

COLUMNS: dict[str, list[str]] = {
    SAMPLES_CSV: ["benchmark", "params", "target", "worker", "sample", "loops", "seconds"],
    FAILURES_CSV: ["benchmark", "params", "target", "worker", "kind", "message"],
    MEMORY_CSV: [
        "benchmark",
        "params",
        "target",
        "worker",
        "iteration",
        "rss_bytes",
        "py_current_bytes",
        "py_peak_bytes",
    ],
    MEMORY_SUMMARY_CSV: [
        "benchmark",
        "params",
        "target",
        "worker",
        "baseline_rss_bytes",
        "peak_rss_bytes",
        "py_peak_bytes",
        "calls",
    ],
    MEMORY_SITES_CSV: ["benchmark", "params", "target", "worker", "site", "size_bytes", "count"],
    PROFILES_CSV: ["benchmark", "params", "target", "calls", "seconds", "file"],
    MONITOR_CSV: [
        "benchmark",
        "params",
        "target",
        "worker",
        "name",
        "kind",
        "count",
        "seconds",
        "calls",
        "mode",
    ],
}
INT_COLUMNS = {"worker", "sample", "loops", "iteration", "calls", "count"}
FAILURE_KINDS = ("error", "timeout", "crash")

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+\-\[\]]+")


_UMASK = os.umask(0)
os.umask(_UMASK)


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSS-<4 hex>`` in UTC."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def valid_label(label: str) -> bool:
    return bool(_LABEL.match(label))


def safe_filename(text: str) -> str:
    """A file name for a benchmark id that cannot escape its directory.

    Unsafe runs of characters become ``_``; a short hash of the original keeps
    distinct ids distinct after that replacement.
    """
    cleaned = _UNSAFE.sub("_", text).strip("._") or "benchmark"
    if cleaned == text and not text.startswith("."):
        return cleaned[:150]
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{cleaned[:140]}-{digest}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@dataclass
class RunWriter:
    """Owns one run directory while a collector fills it."""

    path: Path
    meta: dict[str, Any]
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def create(cls, out_dir: Path, meta: dict[str, Any]) -> RunWriter:
        run_id = meta.get("id") or new_run_id()
        path = Path(out_dir) / run_id
        path.mkdir(parents=True, exist_ok=False)
        meta = {"id": run_id, "schema": SCHEMA_VERSION, "status": "running", **meta}
        writer = cls(path=path, meta=meta)
        writer.write_meta()
        for name in (SAMPLES_CSV, FAILURES_CSV):
            writer._flush(name)
        return writer

    def write_meta(self, **updates: Any) -> None:
        self.meta.update(updates)
        atomic_write_json(self.path / RUN_JSON, self.meta)

    def _flush(self, name: str) -> None:
        atomic_write_text(self.path / name, _csv_text(COLUMNS[name], self._rows.get(name, [])))

    def add_rows(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to one of the CSV files and replace it atomically."""
        if name not in COLUMNS:
            raise ValueError(f"unknown run file {name}")
        self._rows.setdefault(name, []).extend(rows)
        self._flush(name)

    def add_failure(
        self, benchmark: str, params: str, target: str, worker: int, kind: str, message: str
    ) -> None:
        message = " ".join(str(message).split())[:500]
        self.add_rows(
            FAILURES_CSV,
            [
                {
                    "benchmark": benchmark,
                    "params": params,
                    "target": target,
                    "worker": worker,
                    "kind": kind,
                    "message": message,
                }
            ],
        )

    def profile_path(self, target: str, full_id: str, worker: int = 0) -> Path:
        """Where one profiling worker's profile of one benchmark of one target goes.

        Worker 0 writes ``<id>.prof`` (as runs with a single profile did); worker k > 0
        writes ``<id>.w<k>.prof`` beside it. profiles.csv lists every file.
        """
        suffix = f".w{worker}.prof" if worker else ".prof"
        path = (
            self.path / PROFILES_DIR / safe_filename(target) / f"{safe_filename(full_id)}{suffix}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def finish(self, status: str) -> None:
        self.write_meta(status=status, finished=datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass
class Run:
    """A run directory read back: metadata and tidy tables."""

    path: Path
    meta: dict[str, Any]
    samples: pd.DataFrame
    failures: pd.DataFrame
    memory: pd.DataFrame
    memory_summary: pd.DataFrame
    memory_sites: pd.DataFrame
    profiles: pd.DataFrame
    monitor: pd.DataFrame

    @property
    def id(self) -> str:
        return str(self.meta.get("id", self.path.name))

    @property
    def targets(self) -> list[str]:
        return list(self.meta.get("targets", {}))

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        """Declared cases by full id (budgets, timeouts), as recorded in run.json."""
        return dict(self.meta.get("cases", {}))

    def profile_files(self, target: str, full_id: str) -> list[tuple[Path, int]]:
        """Every profiling worker's file of one benchmark and target, with its scenario calls."""
        rows = self.profiles
        if rows.empty:
            return []
        ids = [
            f"{b}[{p}]" if p else b for b, p in zip(rows["benchmark"], rows["params"], strict=True)
        ]
        return [
            (self.path / file, max(1, int(calls)))
            for file, label, rid, calls in zip(
                rows["file"], rows["target"], ids, rows["calls"], strict=True
            )
            if label == target and rid == full_id
        ]

    def profile_file(self, target: str, full_id: str) -> Path | None:
        rows = self.profiles
        if rows.empty:
            return None
        ids = [
            f"{b}[{p}]" if p else b for b, p in zip(rows["benchmark"], rows["params"], strict=True)
        ]
        for file, label, rid in zip(rows["file"], rows["target"], ids, strict=True):
            if label == target and rid == full_id:
                return self.path / file
        return None


def _read_csv(path: Path, name: str, required: bool) -> pd.DataFrame:
    columns = COLUMNS[name]
    file = path / name
    if not file.exists():
        if required:
            raise RunDirError(f"{file}: missing (not a complete run directory)")
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in INT_COLUMNS else "object") for c in columns}
        )
    try:
        frame = pd.read_csv(
            file, dtype={"params": str, "benchmark": str, "target": str}, keep_default_na=False
        )
    except pd.errors.EmptyDataError:
        raise RunDirError(f"{file}: empty file, expected header {','.join(columns)}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{file}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RunDirError(f"{file}: missing column(s) {', '.join(missing)}")
    numeric = [c for c in columns if c in INT_COLUMNS or c.endswith(("_bytes", "seconds"))]
    for column in numeric:
        if pd.api.types.is_numeric_dtype(frame[column]) and not frame[column].isna().any():
            continue  # parsed as numbers already: nothing to check (and 240k rows to spare)
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad = converted.isna() & (frame[column].astype(str) != "")
        if bad.any() or (converted.isna().any() and column in ("seconds", "loops")):
            line = int((bad | converted.isna()).to_numpy().argmax()) + 2
            raise RunDirError(
                f"{file}: line {line}: column {column!r} is not a number (truncated file?)"
            )
        frame[column] = converted
    return frame


def resolve_run_path(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Path:
    """A run id, a run directory, or ``latest`` -> the run directory's path."""
    text = str(ref)
    if text == "latest":
        runs = sorted(p for p in Path(runs_dir).glob("*") if (p / RUN_JSON).is_file())
        if not runs:
            raise RunDirError(f"no runs in {runs_dir} (run `perfkit run` first)")
        return max(runs, key=lambda p: p.name)
    for candidate in (Path(text), Path(runs_dir) / text):
        if (candidate / RUN_JSON).is_file():
            return candidate
    raise RunDirError(f"run not found: {text} (not a run directory, nor a run id in {runs_dir})")


def load_run(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Run:
    """Read a run directory (id, path or ``latest``); errors name the file and problem."""
    path = resolve_run_path(ref, runs_dir)
    meta_file = path / RUN_JSON
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{meta_file}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise RunDirError(f"{meta_file}: expected a JSON object")
    return Run(
        path=path,
        meta=meta,
        samples=_read_csv(path, SAMPLES_CSV, required=True),
        failures=_read_csv(path, FAILURES_CSV, required=False),
        memory=_read_csv(path, MEMORY_CSV, required=False),
        memory_summary=_read_csv(path, MEMORY_SUMMARY_CSV, required=False),
        memory_sites=_read_csv(path, MEMORY_SITES_CSV, required=False),
        profiles=_read_csv(path, PROFILES_CSV, required=False),
        monitor=_read_csv(path, MONITOR_CSV, required=False),
    )
