"""Defaults in one place: measurement plan, statistics and verdict thresholds."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_REPORTS_DIR = Path("reports")  # where `perfkit report` and the notebooks' views write
# Measured on 2 CPUs only (README, "How it measures"); more pairs may contend for memory.
PINGPONG_ROUNDS_AT_ONCE = 2


@dataclass(frozen=True)
class MeasurePlan:
    """How much to measure. Each worker is one fresh process (the unit of independence)."""

    workers: int = 24  # timing workers per benchmark x target (rounds when interleaved)
    samples: int = 5  # samples per worker
    warmups: int = 1  # warm-up samples per worker, discarded
    min_sample_seconds: float = 0.02  # a sample lasts at least this long (loops calibrated)
    worker_seconds: float = 1.0  # sampling time a worker may spend; slow bodies get fewer samples
    timeout_seconds: float = 300.0  # a worker is killed past this (a benchmark's own timeout wins)
    memory_limit_bytes: int | None = 4 * 1000**3  # address-space cap of memory/profile workers
    # Body calls of a memory worker's growth series (traced: the pass's largest cost). With
    # 10, the slope CIs of the md10 review's 20 series ended at most 1.5 KB per call above
    # zero, far under the 16 KiB leak floor; 20 calls bought nothing a verdict needed.
    memory_calls: int = 10
    memory_peak_calls: int = 3  # untraced calls sampled for peak RSS before the growth series
    memory_warmup_calls: int = 1  # traced calls before the growth window (skipped by the fit)
    memory_interval_seconds: float = 0.01  # RSS sampling interval while the body runs
    memory_worker_seconds: float = 60.0  # a slow body gets fewer growth calls (at least 5)
    profile_min_seconds: float = 0.2  # a profile covers at least this much body time
    profile_workers: int = 4  # profiling workers per benchmark x target (culprits get a CI)
    # Adaptive plan (perfkit.collect.sequential): rounds go on per benchmark while undecided.
    adaptive: bool = False  # False: exactly `workers` rounds (the fixed plan)
    min_workers: int = 4  # rounds before a benchmark may stop
    max_workers: int = 64  # cap of rounds per benchmark
    # Cap while other processes take a quarter of the CPU or more (perfkit.collect.load): a
    # busy box's rounds are noisier, and more rounds beat a verdict cut short (README).
    busy_max_workers: int = 128
    max_timing_seconds: float | None = None  # cap of the whole timing phase (None: no cap)
    resolution: float = 0.03  # smallest change told apart from none: stop "unchanged" within it
    # Stop a benchmark undecided ("futile") once its predictive chance of a decision by the
    # cap is under this (perfkit.collect.sequential.decision_chance; 0: measure to the cap).
    # Simulated (README): unchanged code at a 9 % round spread stops after ~21 rounds, not
    # 62; a 3 % change at a 3-4.5 % spread is seen about as often (99/97 % against 100/98 %).
    futility_chance: float = 0.1
    # Profile and memory workers on every core: they run after all timing, so no timing
    # worker runs beside them (call counts are exact, memory is per process).
    parallel_passes: bool = True
    # Ping-pong (perfkit.collect.pingpong): a round's timing workers of a benchmark (one per
    # target, at most 4 together) are alive at once, on one CPU, and take their samples in
    # turn; a round's ratio pairs adjacent samples. One target: nothing to alternate.
    pingpong: bool = True
    # A ping-pong step: more, shorter samples. Selfbench's 2 ms loop changes speed within
    # 20 ms here, so adjacent 20 ms samples hardly cancel it; the round's median over more
    # pairs does, and shorter samples pay for them (24 rounds at 0 %: per-round SD 4.5 % in
    # 8.0-9.1 s with 5 x 20 ms, 2.9-3.8 % in 6.6-6.9 s with 10 x 5 ms; README). What is left
    # is the worker's own speed (a whole round 16-36 % off, its pairs steady): only more
    # workers average it out, so a step is as short as a timer reads well, 1 ms (10 x 1 ms:
    # the same spread of a round as 10 x 5 ms, 20 x 1 ms or 30 x 1 ms, in 0.22 s of a CPU
    # instead of 0.35 s; README).
    pingpong_samples: int = 10
    pingpong_min_sample_seconds: float = 0.001

    def quick(self) -> MeasurePlan:
        """Less precision, much less time: for a first look."""
        return replace(
            self,
            workers=4,
            samples=3,
            min_sample_seconds=0.01,
            pingpong_samples=6,
            worker_seconds=0.3,
            memory_calls=8,
            profile_workers=2,
            profile_min_seconds=0.1,
        )

    def sequential(self) -> MeasurePlan:
        """The adaptive plan: each benchmark measured until its verdict is decided."""
        return replace(self, adaptive=True)


@dataclass(frozen=True)
class StatsConfig:
    threshold: float = 0.10  # a change smaller than this is not a regression/improvement
    confidence: float = 0.95
    # Share of significant labels (slower/faster/regression/improvement) allowed to be wrong
    # over all benchmarks of a comparison (Benjamini-Hochberg). Equal to 1 - confidence, one
    # benchmark alone gets exactly the verdict of its own CI.
    false_discovery_rate: float = 0.05
    bootstrap_resamples: int = 5000
    seed: int = 12345
    # Python-heap growth per call whose CI lies wholly above this is a leak. Below it, growth
    # is what caches, free lists, interning and dict resizes do in a short window.
    leak_floor_bytes_per_call: int = 16 * 1024


@dataclass(frozen=True)
class InProcessPlan:
    """How much the pytest fixture and the notebook magics measure inside their own process.

    No worker processes: samples come in consecutive groups ("virtual workers"), and the
    CI of the median is a bootstrap over group medians, as over workers in `perfkit run`.
    """

    groups: int = 8  # virtual workers
    samples: int = 5  # samples per group
    warmups: int = 1  # warm-up samples before the first group, discarded
    min_groups: int = 3  # a slow body still gets this many groups of one sample
    min_sample_seconds: float = 0.01  # a sample lasts at least this long (loops calibrated)
    max_seconds: float = 2.0  # sampling time; slow bodies get fewer samples, then fewer groups
    memory_calls: int = 10  # growth-series calls of an in-process memory measurement
    memory_peak_calls: int = 3  # calls sampled for peak RSS before the growth series


DEFAULT_PLAN = MeasurePlan()
DEFAULT_STATS = StatsConfig()
DEFAULT_IN_PROCESS = InProcessPlan()


def default_processes(plan: MeasurePlan, n_targets: int) -> int:
    """Ping-pong rounds (two targets or more) run `PINGPONG_ROUNDS_AT_ONCE` at a time, each
    pinned to its own CPU, where the box lets this process use that many CPUs: a round's
    ratio pairs adjacent samples on one CPU, so what the CPUs share cancels in it (selfbench
    detect, 2-core box: an unchanged 2 ms loop decided in 7.7 s and 3.6 s against 15.8 s one
    round at a time). Any other timing worker runs alone."""
    if not plan.pingpong or n_targets < 2:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity: rounds could not be kept apart
        return 1
    return max(1, min(PINGPONG_ROUNDS_AT_ONCE, cpus))
