"""The run directory: the contract between collectors and everything else.

Rooms: `schema` (file names, columns, typed run.json records, version; it re-exports the
worker messages), `messages` (the worker's request and reply and `CaseRecord`), `ids` (case
ids and file names), `writer` (atomic writes, `RunWriter`), `reader` (`load_run` -> `Run`,
integrity checks; the only pandas user), `refs` (run references and baseline/current
sides). Importing this package imports none of the rooms: each name below loads its room
on first use (``from perfkit.rundir import X`` as before), so a worker process, which needs
only `ids` and `messages`, is not charged for `schema`, `writer` (tempfile, shutil, csv),
`refs` or pandas.
"""

from __future__ import annotations

import importlib

from perfkit.errors import RunDirError

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from perfkit.rundir.ids import (
        case_id,
        format_params,
        safe_filename,
        split_case_id,
        valid_label,
    )
    from perfkit.rundir.reader import Run, load_run
    from perfkit.rundir.refs import DEFAULT_RUNS_DIR, resolve_run_path, run_dirs, split_run_ref
    from perfkit.rundir.schema import (
        COLUMNS,
        FAILURE_KINDS,
        FAILURES_CSV,
        INT_COLUMNS,
        MEMORY_CSV,
        MEMORY_SITES_CSV,
        MEMORY_SUMMARY_CSV,
        MONITOR_CSV,
        PROFILES_CSV,
        PROFILES_DIR,
        RUN_JSON,
        SAMPLES_CSV,
        SCHEMA_VERSION,
        BudgetRecord,
        CaseRecord,
        InterpreterInfo,
        RunInfo,
        TargetInfo,
    )
    from perfkit.rundir.writer import (
        _UMASK,
        RunWriter,
        atomic_write_json,
        atomic_write_text,
        new_run_id,
    )

_ROOMS = {
    "ids": ("case_id", "format_params", "safe_filename", "split_case_id", "valid_label"),
    "reader": ("Run", "load_run"),
    "refs": ("DEFAULT_RUNS_DIR", "resolve_run_path", "run_dirs", "split_run_ref"),
    "schema": (
        "COLUMNS",
        "FAILURE_KINDS",
        "FAILURES_CSV",
        "INT_COLUMNS",
        "MEMORY_CSV",
        "MEMORY_SITES_CSV",
        "MEMORY_SUMMARY_CSV",
        "MONITOR_CSV",
        "PROFILES_CSV",
        "PROFILES_DIR",
        "RUN_JSON",
        "SAMPLES_CSV",
        "SCHEMA_VERSION",
        "BudgetRecord",
        "CaseRecord",
        "InterpreterInfo",
        "RunInfo",
        "TargetInfo",
    ),
    "writer": ("_UMASK", "RunWriter", "atomic_write_json", "atomic_write_text", "new_run_id"),
}
_LAZY = {name: f"perfkit.rundir.{room}" for room, names in _ROOMS.items() for name in names}

__all__ = [
    "COLUMNS",
    "DEFAULT_RUNS_DIR",
    "FAILURES_CSV",
    "FAILURE_KINDS",
    "INT_COLUMNS",
    "MEMORY_CSV",
    "MEMORY_SITES_CSV",
    "MEMORY_SUMMARY_CSV",
    "MONITOR_CSV",
    "PROFILES_CSV",
    "PROFILES_DIR",
    "RUN_JSON",
    "SAMPLES_CSV",
    "SCHEMA_VERSION",
    "_UMASK",
    "BudgetRecord",
    "CaseRecord",
    "InterpreterInfo",
    "Run",
    "RunDirError",
    "RunInfo",
    "RunWriter",
    "TargetInfo",
    "atomic_write_json",
    "atomic_write_text",
    "case_id",
    "format_params",
    "load_run",
    "new_run_id",
    "resolve_run_path",
    "run_dirs",
    "safe_filename",
    "split_case_id",
    "split_run_ref",
    "valid_label",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _ROOMS:  # `perfkit.rundir.writer` before anything imported it
        return importlib.import_module(f"perfkit.rundir.{name}")
    raise AttributeError(f"module 'perfkit.rundir' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_ROOMS})
