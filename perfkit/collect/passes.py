"""The profile and memory passes that follow timing: which workers run, and longest first.

Pure planning over the pass jobs `perfkit.collect.jobs.plan_jobs` made and over what the
timing workers showed; no processes here (`perfkit.collect.measuring` runs the jobs).
- Profiles taken already: a timing worker takes one of its side's profiles after its
  samples where starting a profiling worker would cost more than the profile itself
  (`ProfileFolding`); the pass job of one runs only where that profile did not come back (a
  failed or dropped round).
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
from dataclasses import replace
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
        self._ready: dict[str, list[float]] = defaultdict(list)

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
        if payload.get("ready_seconds") is not None:
            self._ready[case_id].append(float(payload["ready_seconds"]))

    def ready_seconds(self, case_id: str) -> float | None:
        """What a worker of the benchmark cost up to a ready body (start, imports, setup),
        as its timing workers measured it themselves (`perfkit.collect.worker`)."""
        ready = self._ready.get(case_id)
        return statistics.median(ready) if ready else None

    def setup_seconds(self, case_id: str) -> float | None:
        walls = self._setup.get(case_id)
        return statistics.median(walls) if walls else None

    def call_seconds(self, case_id: str) -> float | None:
        calls = self._call.get(case_id)
        return statistics.median(calls) if calls else None


def profile_seconds(call: float, plan: MeasurePlan) -> float:
    """A profile's own cost on a warm body: the profiled probes and the final loop of at
    least `MeasurePlan.profile_min_seconds` (`perfkit.collect.profiling`)."""
    return max(2 * plan.profile_min_seconds, 3 * call)


class ProfileFolding:
    """Which timing workers also take a profile after their samples, and which came back.

    A timing worker takes the next of its side's profiles still to take where a profiling
    worker of its own would cost more than the profile: its benchmark's worker start,
    imports and setup plus the first call (as its timing workers so far measured them) at
    least the profile's own calls. The saving then at least matches what a profile costs
    that turns out not to be needed (a benchmark stopped unchanged keeps one profile a
    side). On the demo's app (pandas, Qt, a catalogue server: 0.2-0.6 s to a ready body)
    most profiles are taken early; on a light body (markdown: ~0.12 s against a 0.4 s
    profile) none, as taking 3 a side early cost a 10-case review ~15 CPU-s more than the
    profiling workers it saved. A profile whose round fails or is dropped stays with its
    pass job (`plan_passes`)."""

    def __init__(self, passes: Sequence[Job], plan: MeasurePlan) -> None:
        self.plan = plan
        self.free: dict[tuple[str, str], list[int]] = defaultdict(list)
        for job in sorted(passes, key=lambda j: j.worker):
            if job.mode == "profile":
                self.free[(job.case.id, job.target.label)].append(job.worker)
        self.taken: set[tuple[str, str, int]] = set()  # benchmark, target, profiling worker

    def assign(self, job: Job, seen: TimingSeen) -> Job:
        """`job`, taking a profile when that is worth it (see the class)."""
        free = self.free.get((job.case.id, job.target.label))
        if job.mode != "time" or not free or not self.worth_it(job.case.id, seen):
            return job
        return replace(job, profile_worker=free.pop(0))

    def worth_it(self, case_id: str, seen: TimingSeen) -> bool:
        ready, call = seen.ready_seconds(case_id), seen.call_seconds(case_id)
        if ready is None or call is None:  # nothing known yet (its first round)
            return False
        return ready + call >= profile_seconds(call, self.plan)

    def came_back(self, job: Job, payload: Mapping[str, Any]) -> None:
        """A timing worker's result: its profile, if it took one, is taken."""
        if job.profile_worker is not None and payload.get("profile"):
            self.taken.add((job.case.id, job.target.label, job.profile_worker))


def estimate_seconds(job: Job, seen: TimingSeen, plan: MeasurePlan) -> float:
    """A pass job's expected wall time (inf: its benchmark was never timed)."""
    setup, call = seen.setup_seconds(job.case.id), seen.call_seconds(job.case.id)
    if setup is None or call is None:
        return math.inf
    if job.mode == "profile":  # the first call, then the profile
        return setup + call + profile_seconds(call, plan)
    if job.mode == "memory":
        affordable = int(plan.memory_worker_seconds / call) if call > 0 else plan.memory_calls
        growth = max(min(plan.memory_calls, MIN_GROWTH_CALLS), min(plan.memory_calls, affordable))
        seconds = setup + plan.memory_peak_calls * call + (growth + 1) * call * TRACED_SLOWDOWN
        if job.profile_worker is not None:  # then the side's first profile, on the warm body
            seconds += profile_seconds(call, plan)
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
