"""Writing a run directory: atomic file replacement and the `RunWriter` collectors use.

Every file is replaced whole (write a temporary file, rename), so a reader sees the old
or the new content, never half. After each CSV rewrite run.json records the CSV's row
count, size and sha256, so a reader can tell a whole file from a cut one. A CSV's text and
hash grow with its rows (only new rows are formatted and hashed): a long run adds rows
thousands of times. Stdlib only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from perfkit.rundir.ids import safe_filename
from perfkit.rundir.schema import (
    COLUMNS,
    FAILURE_KINDS,
    FAILURES_CSV,
    PROFILES_DIR,
    RUN_JSON,
    SAMPLES_CSV,
    SCHEMA_VERSION,
    CaseRecord,
    FileCheck,
    RunInfo,
    now_iso,
)

_UMASK = os.umask(0)
os.umask(_UMASK)
_CREATE_ATTEMPTS = 20


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSS-<4 hex>`` in UTC."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


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


def csv_text(columns: list[str], rows: list[dict[str, Any]], header: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@dataclass
class _CsvFile:
    """One CSV's text so far, its running hash and row count."""

    chunks: list[str]
    sha256: Any  # hashlib object: updated with each chunk's bytes
    size_bytes: int
    rows: int

    @classmethod
    def start(cls, columns: list[str]) -> _CsvFile:
        header = csv_text(columns, [])
        return cls([header], hashlib.sha256(header.encode("utf-8")), len(header.encode()), 0)

    def add(self, text: str, rows: int) -> None:
        data = text.encode("utf-8")
        self.chunks.append(text)
        self.sha256.update(data)
        self.size_bytes += len(data)
        self.rows += rows

    def check(self) -> FileCheck:
        return FileCheck(rows=self.rows, size_bytes=self.size_bytes, sha256=self.sha256.hexdigest())


def _info(meta: RunInfo | Mapping[str, Any], run_id: str) -> RunInfo:
    if isinstance(meta, RunInfo):
        return replace(meta, id=run_id, schema=SCHEMA_VERSION, status="running")
    data = {"schema": SCHEMA_VERSION, **meta, "id": run_id, "status": "running"}
    info = RunInfo.from_json(data, "run metadata")
    return info if info.created else replace(info, created=now_iso())


@dataclass
class RunWriter:
    """Owns one run directory while a collector fills it."""

    path: Path
    info: RunInfo
    _files: dict[str, _CsvFile] = field(default_factory=dict)

    @classmethod
    def create(cls, out_dir: Path, meta: RunInfo | Mapping[str, Any]) -> RunWriter:
        """A new run directory under `out_dir`, named by a fresh id unless `meta` has one."""
        wanted = meta.id if isinstance(meta, RunInfo) else meta.get("id")
        for _ in range(_CREATE_ATTEMPTS):
            run_id = wanted or new_run_id()
            path = Path(out_dir) / run_id
            try:
                path.mkdir(parents=True, exist_ok=False)
                break
            except FileExistsError:
                if wanted:
                    raise
        else:
            raise FileExistsError(f"{out_dir}: no free run id")
        writer = cls(path=path, info=_info(meta, run_id))
        for name in (SAMPLES_CSV, FAILURES_CSV):
            writer._flush(name, write_meta=False)
        writer.write_meta()
        return writer

    @property
    def meta(self) -> dict[str, Any]:
        """run.json as written (read-only view; change it through the methods)."""
        return self.info.to_json()

    def write_meta(self, **updates: Any) -> None:
        if updates:
            self.info = replace(self.info, **updates)
        atomic_write_json(self.path / RUN_JSON, self.info.to_json())

    def add_case(self, case: CaseRecord) -> None:
        self.write_meta(cases={**self.info.cases, case.id: case})

    def _flush(self, name: str, write_meta: bool = True) -> None:
        file = self._files.setdefault(name, _CsvFile.start(COLUMNS[name]))
        text = "".join(file.chunks)
        atomic_write_text(self.path / name, text)
        file.chunks = [text]
        self.info = replace(self.info, files={**self.info.files, name: file.check()})
        if write_meta:
            self.write_meta()

    def add_rows(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to one of the CSV files and replace it atomically."""
        if name not in COLUMNS:
            raise ValueError(f"unknown run file {name}")
        file = self._files.setdefault(name, _CsvFile.start(COLUMNS[name]))
        file.add(csv_text(COLUMNS[name], rows, header=False), len(rows))
        self._flush(name)

    def add_failure(
        self, benchmark: str, params: str, target: str, worker: int, kind: str, message: str
    ) -> None:
        if kind not in FAILURE_KINDS:
            kind = "error"
        message = " ".join(str(message).split())[:500]
        row = {
            "benchmark": benchmark,
            "params": params,
            "target": target,
            "worker": worker,
            "kind": kind,
            "message": message,
        }
        self.add_rows(FAILURES_CSV, [row])

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
        self.write_meta(status=status, finished=now_iso())
