"""Planning the profile and memory passes after timing (perfkit.collect.passes): which
profiling workers a benchmark keeps, and the order the passes start in. Pure: no workers."""

from __future__ import annotations

import math
import random

from perfkit.collect.jobs import Job, plan_jobs
from perfkit.collect.passes import ProfileFolding, TimingSeen, estimate_seconds, plan_passes
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


def test_timing_workers_take_profiles_only_where_a_worker_start_costs_more() -> None:
    """PLAN's profile costs 0.4 s (2 x 0.2 s). A benchmark whose workers took 0.6 s to a
    ready body has its side's profiles taken by its timing workers, the next free one each,
    once that is known; one ready in 0.1 s keeps its profiling workers. The pass job of a
    profile taken goes; one handed out that never came back (its round failed) still runs."""
    cases = [CaseRecord(id=name, name=name) for name in ("heavy", "light")]
    jobs = plan_jobs(cases, TARGETS, PLAN, True, True, random.Random(1))
    passes = [j for j in jobs if j.mode != "time"]
    folding = ProfileFolding(passes, PLAN)
    seen = TimingSeen()
    first = [folding.assign(j, seen) for j in jobs if j.mode == "time" and j.worker == 0]
    assert all(j.profile_worker is None for j in first)  # nothing known in the first round
    for case_id, ready in (("heavy", 0.6), ("light", 0.1)):
        seen.observe(case_id, 1.0, {"loops": 10, "samples": [0.001] * 5, "ready_seconds": ready})
    later = [folding.assign(j, seen) for j in jobs if j.mode == "time" and j.worker >= 1]
    taken = {(j.target.label, j.worker): j.profile_worker for j in later if j.case.id == "heavy"}
    for label in ("baseline", "current"):  # memory takes 0; rounds 1-3 take 1-3, then none
        assert [taken[(label, r)] for r in range(1, 5)] == [1, 2, 3, None]
    assert all(j.profile_worker is None for j in later if j.case.id == "light")
    for job in later:
        if job.profile_worker is not None and (job.target.label, job.worker) != ("current", 3):
            folding.came_back(job, {"samples": [0.001], "profile": {"calls": 1}})
    planned = plan_passes(passes, PLAN, seen, None, folding.taken)
    left = {(j.case.id, j.target.label, j.worker) for j in planned if j.mode == "profile"}
    assert {k for k in left if k[0] == "heavy"} == {("heavy", "current", 3)}
    assert {k for k in left if k[0] == "light"} == {
        ("light", t.label, w) for t in TARGETS for w in range(1, PLAN.profile_workers)
    }


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
