"""Jobs of a run and what they leave behind: the plan's job list, each job's worker request,
and the rows a finished job writes into the run directory.

Pure planning and recording: no processes are started here.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfkit.collect.adaptive import AdaptiveRounds
from perfkit.collect.targets import Target
from perfkit.collect.worker_call import Outcome
from perfkit.config import MeasurePlan
from perfkit.rundir import (
    MEMORY_CSV,
    MEMORY_SITES_CSV,
    MEMORY_SUMMARY_CSV,
    MONITOR_CSV,
    PROFILES_CSV,
    SAMPLES_CSV,
    RunWriter,
)
from perfkit.rundir.schema import CaseRecord, WorkerRequest


@dataclass(frozen=True)
class Job:
    mode: str  # time | profile | memory
    case: CaseRecord
    target: Target
    worker: int
    hash_seed: int | None = None
    # The profiling worker whose profile this job also takes, once its own figures are in:
    # a memory job its side's first (0), a timing job one of the others where a worker start
    # costs more than the profile (`perfkit.collect.passes.ProfileFolding`). One worker
    # start and setup instead of two.
    profile_worker: int | None = None


def plan_jobs(
    cases: list[CaseRecord],
    targets: list[Target],
    plan: MeasurePlan,
    profile: bool,
    memory: bool,
    rng: random.Random,
    timing: bool = True,
) -> list[Job]:
    """Timing jobs in rounds (every target once per round, shuffled), then profile and memory
    jobs. With both passes, each memory worker takes its side's first profile as well."""
    jobs = _rounds("time", cases, targets, plan.workers if timing else 0, rng)
    first_profiles: dict[tuple[str, str], Job] = {}
    if profile:
        # Several profiling workers per side, in rounds like timing: one profile cannot tell
        # a 3 % change of a function from noise; the spread over workers gives culprits a CI.
        for job in _rounds("profile", cases, targets, plan.profile_workers, rng):
            if memory and job.worker == 0:
                first_profiles[(job.case.id, job.target.label)] = job
            else:
                jobs.append(job)
    if memory:
        for case in cases:
            for target in targets:
                first = first_profiles.get((case.id, target.label))
                # The first profiling round's hash seed: both sides' first profiles share it.
                seed = first.hash_seed if first is not None else None
                worker = 0 if first is not None else None
                jobs.append(Job("memory", case, target, 0, seed, profile_worker=worker))
    return jobs


def _rounds(
    mode: str, cases: list[CaseRecord], targets: list[Target], n: int, rng: random.Random
) -> list[Job]:
    """`n` rounds of `mode` jobs: every case on every target once per round, targets shuffled.

    Common random numbers: all workers of a round share one hash seed, so string hashing and
    dict layout vary between rounds but not between the targets compared.
    """
    jobs: list[Job] = []
    for round_no in range(n):
        hash_seed = rng.randrange(1, 2**32)
        for case in cases:
            order = list(targets)
            rng.shuffle(order)
            jobs.extend(Job(mode, case, target, round_no, hash_seed) for target in order)
    return jobs


def slots_to_jobs(rounds: AdaptiveRounds) -> list[Job]:
    """The adaptive plan's next round as timing jobs (empty: timing is over)."""
    return [Job("time", s.case, s.target, s.round_no, s.hash_seed) for s in rounds.next_round()]


def request_for(job: Job, suite: str, plan: MeasurePlan, writer: RunWriter) -> WorkerRequest:
    """The worker request of a job (one that profiles is told where its .prof file goes)."""
    options: dict[str, Any] = asdict(plan)
    if job.mode == "profile" or job.profile_worker is not None:
        worker = job.worker if job.profile_worker is None else job.profile_worker
        options["prof_path"] = str(writer.profile_path(job.target.label, job.case.id, worker))
    return WorkerRequest(
        mode=job.mode,
        suite=suite,
        target_path=job.target.path,
        name=job.case.name,
        params=job.case.params,
        options=options,
        memory_limit_bytes=plan.memory_limit_bytes,
        hash_seed=job.hash_seed,
    )


def _key(job: Job) -> dict[str, Any]:
    return {
        "benchmark": job.case.name,
        "params": job.case.params,
        "target": job.target.label,
        "worker": job.worker,
    }


def record(writer: RunWriter, job: Job, payload: dict[str, Any]) -> None:
    """Write one worker's successful result into the run directory."""
    key = _key(job)
    if job.mode == "time":
        rows = [
            {**key, "sample": i, "loops": payload["loops"], "seconds": repr(seconds)}
            for i, seconds in enumerate(payload["samples"])
        ]
        writer.add_rows(SAMPLES_CSV, rows)
        if payload.get("profile"):
            _record_profile(writer, key, payload["profile"])
    elif job.mode == "profile":
        _record_profile(writer, key, payload)
    elif job.mode == "memory":
        writer.add_rows(MEMORY_CSV, [{**key, **row} for row in payload["rows"]])
        writer.add_rows(MEMORY_SUMMARY_CSV, [{**key, **payload["summary"]}])
        if payload.get("sites"):
            writer.add_rows(MEMORY_SITES_CSV, [{**key, **site} for site in payload["sites"]])
        if payload.get("profile"):
            _record_profile(writer, key, payload["profile"])
    if payload.get("monitor"):
        # Monitor counters cover every body call of the pass, calibration and warm-up included.
        calls = payload.get("body_calls", 0)
        rows = [{**key, **row, "calls": calls, "mode": job.mode} for row in payload["monitor"]]
        writer.add_rows(MONITOR_CSV, rows)


def _record_profile(writer: RunWriter, key: dict[str, Any], profile: dict[str, Any]) -> None:
    file = Path(profile["prof_path"]).relative_to(writer.path)
    writer.add_rows(
        PROFILES_CSV,
        [
            {k: key[k] for k in ("benchmark", "params", "target")}
            | {"calls": profile["calls"], "seconds": profile["seconds"], "file": str(file)}
        ],
    )


def record_failure(writer: RunWriter, job: Job, outcome: Outcome) -> str:
    """Write a failed job into failures.csv; returns the kind recorded."""
    kind = outcome.kind if outcome.kind in ("error", "timeout", "crash") else "error"
    k = _key(job)
    writer.add_failure(k["benchmark"], k["params"], k["target"], job.worker, kind, outcome.message)
    return kind


class WriteFailed(Exception):
    """Writing the run directory failed (disk full, read-only, no permission)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Turn an OSError from the run directory into `WriteFailed` (a worker's own stays apart)."""
    try:
        yield
    except OSError as exc:
        raise WriteFailed(exc) from exc


def write_error(exc: OSError, path: Path) -> str:
    """One line naming what could not be written."""
    where = exc.filename or path  # a failed write() names no file: say which directory
    return f"cannot write {where}: {exc.strerror or exc}"
