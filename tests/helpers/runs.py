"""Build run directories for tests through the real `RunWriter` (one builder for all tests).

`build_run` writes whatever tables a test needs; `sample_rows` makes timing samples of a
known shape (a lognormal effect per worker and per sample); `shifted_run` is one
interleaved baseline/current run with known shifts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from perfkit.rundir import (
    FAILURES_CSV,
    MEMORY_CSV,
    MEMORY_SITES_CSV,
    MEMORY_SUMMARY_CSV,
    MONITOR_CSV,
    PROFILES_CSV,
    SAMPLES_CSV,
    RunWriter,
)
from perfkit.rundir.schema import BudgetRecord

SHIFTS = {"grow": 1.15, "same": 1.0, "shrink": 0.70}
Rows = Iterable[Mapping[str, Any]]


def build_run(
    out: Path,
    targets: Iterable[str] | Mapping[str, Mapping[str, Any]] = ("current",),
    *,
    samples: Rows = (),
    memory: Rows = (),
    memory_summary: Rows = (),
    memory_sites: Rows = (),
    profiles: Rows = (),
    monitor: Rows = (),
    failures: Rows = (),
    cases: Mapping[str, Mapping[str, Any]] | None = None,
    budgets: Iterable[BudgetRecord] | None = None,
    suite: str | None = None,
    options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    status: str | None = "complete",
) -> Path:
    """A run directory under `out` with these targets and tables; returns its path.

    `targets` is labels (spec and path made up) or ``{label: {spec, path, git_sha}}``.
    ``budgets=None`` records none (as schema 1 did); ``status=None`` leaves it running.
    """
    if not isinstance(targets, Mapping):
        targets = {t: {"spec": t, "path": f"/x/{t}", "git_sha": None} for t in targets}
    meta: dict[str, Any] = {
        "targets": dict(targets),
        "interleaved": len(targets) > 1,
        "cases": dict(cases or {}),
        "suite": suite,
        "options": dict(options or {}),
        "budgets": None if budgets is None else [b.to_json() for b in budgets],
    }
    if run_id:
        meta["id"] = run_id
    writer = RunWriter.create(out, meta)
    for name, rows in (
        (SAMPLES_CSV, samples),
        (MEMORY_CSV, memory),
        (MEMORY_SUMMARY_CSV, memory_summary),
        (MEMORY_SITES_CSV, memory_sites),
        (PROFILES_CSV, profiles),
        (MONITOR_CSV, monitor),
        (FAILURES_CSV, failures),
    ):
        rows = [dict(row) for row in rows]
        if rows:
            writer.add_rows(name, rows)
    if status is not None:
        writer.finish(status)
    return writer.path


def sample_rows(
    rng: np.random.Generator,
    benchmark: str,
    params: str,
    target: str,
    seconds: float,
    workers: int,
    samples: int = 5,
    process_sd: float = 0.03,
    sample_sd: float = 0.01,
    round_effects: np.ndarray | None = None,
) -> list[dict]:
    """Samples of one (benchmark, target): a lognormal effect per process and per sample."""
    rows = []
    for w in range(workers):
        level = seconds * math.exp(rng.normal(0, process_sd))
        if round_effects is not None:
            level *= round_effects[w]
        for s in range(samples):
            rows.append(
                {
                    "benchmark": benchmark,
                    "params": params,
                    "target": target,
                    "worker": w,
                    "sample": s,
                    "loops": 10,
                    "seconds": repr(float(level * math.exp(rng.normal(0, sample_sd)))),
                }
            )
    return rows


def write_run(
    out: Path,
    rows: list[dict],
    targets: tuple[str, ...],
    cases: dict | None = None,
    suite: str | None = None,
    memory_rows: list[dict] | None = None,
    run_id: str | None = None,
) -> Path:
    """Samples (and memory summaries) of the given targets: the statistics tests' shape."""
    return build_run(
        out,
        targets,
        samples=rows,
        memory_summary=memory_rows or (),
        cases=cases,
        suite=suite,
        run_id=run_id,
    )


def shifted_run(out: Path, seed: int, workers: int = 12, round_sd: float = 0.04) -> Path:
    """One interleaved run, baseline and current, with the SHIFTS of `current`."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, factor in SHIFTS.items():
        rounds = np.exp(rng.normal(0, round_sd, workers))  # load shared by both in a round
        rows += sample_rows(rng, name, "", "baseline", 1e-3, workers, round_effects=rounds)
        rows += sample_rows(rng, name, "", "current", 1e-3 * factor, workers, round_effects=rounds)
    return write_run(out, rows, ("baseline", "current"))
