"""Planning the profile and memory passes after timing (perfkit.collect.passes): which
profiling workers a benchmark keeps, and the order the passes start in. Pure: no workers."""

from __future__ import annotations

import math
import random

from perfkit.collect.jobs import Job, plan_jobs, profile_slots, with_profile
from perfkit.collect.passes import TimingSeen, estimate_seconds, plan_passes
from perfkit.collect.targets import Target
from perfkit.config import MeasurePlan
from perfkit.rundir.schema import CaseRecord, StopRecord

PLAN = MeasurePlan(profile_workers=4, profile_min_seconds=0.2, memory_calls=20)
CASES = [CaseRecord(id=name, name=name) for name in ("fast", "slow", "steady", "capped")]
TARGETS = [Target("baseline", "/b", "/b"), Target("current", "/c", "/c")]


def _passes() -> list[Job]:
    jobs = plan_jobs(CASES, TARGETS, PLAN, True, True, random.Random(1), timing=False)
    assert {j.mode for j in jobs} == {"profile", "memory"}
    return jobs


def _seen() -> TimingSeen:
    seen = TimingSeen()
    # (worker wall, per-call seconds): setup = wall - 5 samples x loops x per call
    for case_id, wall, per_call, loops in [
        ("fast", 0.4, 0.001, 20),  # setup 0.3 s
        ("slow", 2.5, 0.2, 1),  # setup 1.5 s, 0.2 s a call
        ("steady", 0.6, 0.01, 2),  # setup 0.5 s
        ("capped", 0.35, 0.002, 10),  # setup 0.25 s
    ]:
        for _ in range(3):
            seen.observe(case_id, wall, {"loops": loops, "samples": [per_call] * 5})
    return seen


def test_unchanged_and_futile_benchmarks_keep_one_profiling_worker_a_side_the_others_all() -> None:
    stops = {
        "fast": StopRecord(6, "changed"),
        "slow": StopRecord(4, "changed"),
        "steady": StopRecord(9, "unchanged"),
        "capped": StopRecord(64, "max-workers"),
        "noisy": StopRecord(16, "futile"),
    }
    cases = [*CASES, CaseRecord(id="noisy", name="noisy")]
    for memory in (True, False):
        passes = plan_jobs(cases, TARGETS, PLAN, True, memory, random.Random(1), timing=False)
        planned = plan_passes(passes, PLAN, _seen(), stops)
        profiles: dict[str, list[tuple[str, int]]] = {}
        for job in planned:
            if job.mode == "profile" or job.profile_worker is not None:  # memory's first
                profiles.setdefault(job.case.id, []).append((job.target.label, job.worker))
        assert sorted(profiles["steady"]) == [("baseline", 0), ("current", 0)]
        assert sorted(profiles["noisy"]) == [("baseline", 0), ("current", 0)]
        for case_id in ("fast", "slow", "capped"):  # changed or undecided: the culprit CI
            assert sorted(profiles[case_id]) == sorted(
                (t.label, w) for t in TARGETS for w in range(PLAN.profile_workers)
            )
        kept = [(j.case.id, j.target.label) for j in planned if j.mode == "memory"]
        assert len(kept) == (len(cases) * len(TARGETS) if memory else 0)  # memory untouched


def test_with_memory_the_first_profile_of_a_side_is_taken_in_its_memory_worker() -> None:
    jobs = _passes()
    memory = [j for j in jobs if j.mode == "memory"]
    assert memory and all(j.profile_worker == 0 and j.worker == 0 for j in memory)
    assert all(j.worker > 0 for j in jobs if j.mode == "profile")
    # Both sides' first profiles share a hash seed (common random numbers), as a round does.
    for case in CASES:
        assert len({j.hash_seed for j in memory if j.case.id == case.id}) == 1
    only_memory = plan_jobs(CASES, TARGETS, PLAN, False, True, random.Random(1), timing=False)
    assert not any(j.profile_worker is not None for j in only_memory)


def test_early_timing_rounds_take_the_other_profiles_and_their_pass_jobs_go() -> None:
    """Round r's timing worker of a side takes that side's r-th profile left after memory's;
    the pass job of a profile taken is dropped, one whose round failed still runs."""
    jobs = plan_jobs(CASES, TARGETS, PLAN, True, True, random.Random(1))
    passes = [j for j in jobs if j.mode != "time"]
    slots = profile_slots(passes)
    assert slots and all(w == list(range(1, PLAN.profile_workers)) for w in slots.values())
    timing = [with_profile(j, slots) for j in jobs if j.mode == "time"]
    for job in timing:
        expected = job.worker + 1 if job.worker + 1 < PLAN.profile_workers else None
        assert job.profile_worker == expected
    first = next(j for j in timing if j.profile_worker == 1)
    taken = {(first.case.id, first.target.label, 1)}
    planned = plan_passes(passes, PLAN, _seen(), None, taken)
    left = {(j.case.id, j.target.label, j.worker) for j in planned if j.mode == "profile"}
    assert not taken & left
    assert len(left) == sum(j.mode == "profile" for j in passes) - 1
    without_memory = profile_slots(plan_jobs(CASES, TARGETS, PLAN, True, False, random.Random(1)))
    assert all(w == list(range(PLAN.profile_workers)) for w in without_memory.values())


def test_the_fixed_plan_keeps_every_profile() -> None:
    passes = _passes()
    assert sorted(plan_passes(passes, PLAN, _seen()), key=passes.index) == passes


def test_passes_start_longest_first_and_unknown_benchmarks_before_them() -> None:
    seen = _seen()
    passes = [*_passes(), Job("memory", CaseRecord(id="never_timed", name="x"), TARGETS[0], 0)]
    planned = plan_passes(passes, PLAN, seen)
    estimates = [estimate_seconds(job, seen, PLAN) for job in planned]
    assert planned[0].case.id == "never_timed" and math.isinf(estimates[0])
    assert estimates[1:] == sorted(estimates[1:], reverse=True)
    # The slow benchmark's memory worker (1.5 s setup, 24 calls at 0.2 s, traced) leads.
    assert (planned[1].mode, planned[1].case.id) == ("memory", "slow")
    assert estimates[1] > 1.5 + 20 * 0.2


def test_estimates_follow_setup_and_time_per_call() -> None:
    seen = _seen()
    assert seen.setup_seconds("fast") == 0.4 - 5 * 20 * 0.001
    assert seen.call_seconds("slow") == 0.2
    assert seen.setup_seconds("nothing") is None
    profile_fast = Job("profile", CASES[0], TARGETS[0], 0)
    profile_slow = Job("profile", CASES[1], TARGETS[0], 0)
    # A fast body profiles for about twice profile_min_seconds (probes and the final loop).
    assert math.isclose(estimate_seconds(profile_fast, seen, PLAN), 0.3 + 0.001 + 0.4)
    assert estimate_seconds(profile_slow, seen, PLAN) > estimate_seconds(profile_fast, seen, PLAN)
    # An empty or failed timing result teaches nothing.
    seen.observe("other", 1.0, {"loops": 1, "samples": []})
    assert seen.call_seconds("other") is None
