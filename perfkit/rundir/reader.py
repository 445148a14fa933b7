"""Reading a run directory back: `load_run` -> `Run` (typed metadata and tidy tables).

Every file is checked before it is used: run.json against the schema (types, version,
migration of schema 1), each CSV for a complete last line and against the row count,
size and sha256 that run.json recorded for it. Anything cut or malformed is one
`RunDirError` naming the file; nothing half-read reaches analysis.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.errors import RunDirError
from perfkit.rundir.ids import case_id
from perfkit.rundir.refs import DEFAULT_RUNS_DIR, resolve_run_path
from perfkit.rundir.schema import (
    COLUMNS,
    FAILURES_CSV,
    INT_COLUMNS,
    MEMORY_CSV,
    MEMORY_SITES_CSV,
    MEMORY_SUMMARY_CSV,
    MONITOR_CSV,
    PROFILES_CSV,
    RUN_JSON,
    SAMPLES_CSV,
    CaseRecord,
    FileCheck,
    RunInfo,
)


@dataclass
class Run:
    """A run directory read back: metadata and tidy tables."""

    path: Path
    info: RunInfo
    samples: pd.DataFrame
    failures: pd.DataFrame
    memory: pd.DataFrame
    memory_summary: pd.DataFrame
    memory_sites: pd.DataFrame
    profiles: pd.DataFrame
    monitor: pd.DataFrame

    @property
    def meta(self) -> dict[str, Any]:
        """run.json as a plain dict (migrated to the current schema)."""
        return self.info.to_json()

    @property
    def id(self) -> str:
        return self.info.id or self.path.name

    @property
    def targets(self) -> list[str]:
        return list(self.info.targets)

    @property
    def cases(self) -> dict[str, CaseRecord]:
        """Declared cases by full id (decorator budgets, timeouts), as recorded in run.json."""
        return dict(self.info.cases)

    def profile_files(self, target: str, full_id: str) -> list[tuple[Path, int]]:
        """Every profiling worker's file of one benchmark and target, with its scenario calls."""
        rows = self.profiles
        return [
            (self.path / file, max(1, int(calls)))
            for bench, params, label, file, calls in zip(
                rows["benchmark"],
                rows["params"],
                rows["target"],
                rows["file"],
                rows["calls"],
                strict=True,
            )
            if label == target and case_id(bench, params) == full_id
        ]

    def profile_file(self, target: str, full_id: str) -> Path | None:
        rows = self.profiles
        for bench, params, label, file in zip(
            rows["benchmark"], rows["params"], rows["target"], rows["file"], strict=True
        ):
            if label == target and case_id(bench, params) == full_id:
                return self.path / file
        return None


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c in INT_COLUMNS else "object") for c in columns}
    )


def check_whole(file: Path, data: bytes, check: FileCheck | None) -> None:
    """Raise unless `data` is what the writer last wrote (or a whole newer write of it)."""
    if data and not data.endswith(b"\n"):
        raise RunDirError(f"{file}: truncated (its last line is incomplete)")
    if check is None:
        return  # schema 1 recorded no checks: the complete last line is all we can tell
    if len(data) < check.size_bytes:
        raise RunDirError(
            f"{file}: truncated ({len(data)} of the {check.size_bytes} bytes "
            f"and {check.rows} rows that run.json records)"
        )
    if hashlib.sha256(data[: check.size_bytes]).hexdigest() != check.sha256:
        raise RunDirError(f"{file}: changed since perfkit wrote it (sha256 differs from run.json)")


def _read_csv(path: Path, name: str, info: RunInfo, required: bool) -> pd.DataFrame:
    columns = COLUMNS[name]
    file = path / name
    check = info.files.get(name)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        if required or check is not None:
            raise RunDirError(f"{file}: missing (not a complete run directory)") from None
        return _empty(columns)
    except OSError as exc:
        raise RunDirError(f"{file}: cannot read ({exc.strerror})") from None
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype={"params": str, "benchmark": str, "target": str},
            keep_default_na=False,
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
    # Last: a file cut inside a number still parses ("7.68874" of "7.68874e-08").
    check_whole(file, data, check)
    return frame


def read_info(path: Path) -> RunInfo:
    """run.json of a run directory, validated and migrated."""
    meta_file = path / RUN_JSON
    try:
        data = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{meta_file}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise RunDirError(f"{meta_file}: cannot read ({exc.strerror})") from None
    return RunInfo.from_json(data, str(meta_file), default_id=path.name)


def load_run(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Run:
    """Read a run directory (id, path or ``latest``); errors name the file and problem."""
    path = resolve_run_path(ref, runs_dir)
    info = read_info(path)
    return Run(
        path=path,
        info=info,
        samples=_read_csv(path, SAMPLES_CSV, info, required=True),
        failures=_read_csv(path, FAILURES_CSV, info, required=False),
        memory=_read_csv(path, MEMORY_CSV, info, required=False),
        memory_summary=_read_csv(path, MEMORY_SUMMARY_CSV, info, required=False),
        memory_sites=_read_csv(path, MEMORY_SITES_CSV, info, required=False),
        profiles=_read_csv(path, PROFILES_CSV, info, required=False),
        monitor=_read_csv(path, MONITOR_CSV, info, required=False),
    )
