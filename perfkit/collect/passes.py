"""The profile and memory passes that follow timing: which workers run, and longest first.

Pure planning over the pass jobs `perfkit.collect.jobs.plan_jobs` made and over what the
timing workers showed; no processes here (`perfkit.collect.measuring` runs the jobs).
- Profiles taken already: the early timing rounds' workers take a profile each after their
  samples (`perfkit.collect.jobs.profile_slots`); the pass job of one runs only where that
  round's profile did not come back (a failed or dropped round).
- Profiles where a culprit is wanted: a benchmark the adaptive plan stopped as unchanged,
  or as futile (no decision in reach by the cap: nothing found to explain, no culprit
  named), keeps one profile a side, the first (its top functions, call graph, icicle,
  `perfkit view`; taken in the memory worker when there is one, `plan_jobs`). The culprit
  CI over `MeasurePlan.profile_workers` workers a side is for the benchmarks that changed or
  stopped undecided at a cap (a change may yet pass the comparison's family step there).
  The fixed plan decides nothing while measuring: it keeps all.
- Longest first: the passes share every core, and a long job started last leaves the other
  cores idle at the end. A job's length is estimated from its benchmark's timing workers
  (their wall time, less their sampling, is the worker's start and the benchmark's setup) and
  its time per call; a benchmark without timing results comes first (nothing known).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from typing import Any

from perfkit.collect.jobs import Job
from perfkit.config import MeasurePlan
from perfkit.rundir.schema import StopRecord

# The adaptive plan's stop reasons after which one profiling worker a side is enough.
ONE_PROFILE_REASONS = ("unchanged", "futile")
# tracemalloc traces every allocation of the growth calls: they run this much slower.
TRACED_SLOWDOWN = 2.0
MIN_GROWTH_CALLS = 5  # perfkit.collect.memory.MIN_GROWTH_CALLS (the worker side stays apart)


class TimingSeen:
    """What a run's timing workers showed of each benchmark: worker wall and time per call."""

    def __init__(self) -> None:
        self._setup: dict[str, list[float]] = defaultdict(list)
        self._call: dict[str, list[float]] = defaultdict(list)

    def observe(self, case_id: str, wall_seconds: float, payload: Mapping[str, Any]) -> None:
        """One timing worker's wall time and its result (loops, samples)."""
        samples = [float(x) for x in payload.get("samples", []) if float(x) > 0]
        if not samples:
            return
        per_call = statistics.median(samples)
        sampling = len(samples) * int(payload.get("loops", 1)) * per_call
        if not payload.get("profile"):  # a profile after the samples is no part of setup
            self._setup[case_id].append(max(0.0, wall_seconds - sampling))
        self._call[case_id].append(per_call)

    def setup_seconds(self, case_id: str) -> float | None:
        walls = self._setup.get(case_id)
        return statistics.median(walls) if walls else None

    def call_seconds(self, case_id: str) -> float | None:
        calls = self._call.get(case_id)
        return statistics.median(calls) if calls else None


def estimate_seconds(job: Job, seen: TimingSeen, plan: MeasurePlan) -> float:
    """A pass job's expected wall time (inf: its benchmark was never timed)."""
    setup, call = seen.setup_seconds(job.case.id), seen.call_seconds(job.case.id)
    if setup is None or call is None:
        return math.inf
    if job.mode == "profile":
        # The first call, the profiled probes and the final loop of >= profile_min_seconds.
        return setup + call + max(2 * plan.profile_min_seconds, 3 * call)
    if job.mode == "memory":
        affordable = int(plan.memory_worker_seconds / call) if call > 0 else plan.memory_calls
        growth = max(min(plan.memory_calls, MIN_GROWTH_CALLS), min(plan.memory_calls, affordable))
        seconds = setup + plan.memory_peak_calls * call + (growth + 1) * call * TRACED_SLOWDOWN
        if job.profile_worker is not None:  # then the side's first profile, on the warm body
            seconds += max(2 * plan.profile_min_seconds, 3 * call)
        return seconds
    return setup


def plan_passes(
    passes: Sequence[Job],
    plan: MeasurePlan,
    seen: TimingSeen,
    stops: Mapping[str, StopRecord] | None = None,
    taken: Set[tuple[str, str, int]] = frozenset(),
) -> list[Job]:
    """The pass jobs to run, longest first; profiles trimmed where timing found no change,
    and those a timing worker already took (`taken`: benchmark, target, profiling worker)."""
    stops = stops or {}
    kept = [
        job
        for job in passes
        if not (
            job.mode == "profile"
            and (
                (job.case.id, job.target.label, job.worker) in taken
                or (
                    job.worker > 0
                    and (stop := stops.get(job.case.id)) is not None
                    and stop.reason in ONE_PROFILE_REASONS
                )
            )
        )
    ]
    # sorted() is stable: jobs of equal estimate keep the plan's order (its rounds).
    return sorted(kept, key=lambda job: -estimate_seconds(job, seen, plan))
