"""In-process measurement for the pytest fixture and the notebook magics.

Times a callable inside the calling process: loops calibrated by `perfkit.collect.timing`,
samples taken in consecutive groups ("virtual workers"), the median of group medians with
the bootstrap CI of `perfkit.analysis.stats`; memory through the pass of `perfkit.collect.memory`.
It measures and describes results in plain text; it writes no files and renders no HTML.

Why not worker processes: a fresh process per group costs a second of start-up and
imports per test or notebook cell, and cannot see objects built in the notebook. The price:
groups share one process, so their CI shows drift during the measurement but not what
varies between processes (hash seeds, memory layout, imports) and can be too narrow for
that; use `perfkit run` to compare two versions of the code.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from perfkit.collect.timing import calibrate, time_loops
from perfkit.config import DEFAULT_IN_PROCESS, DEFAULT_STATS, InProcessPlan, StatsConfig
from perfkit.render.format import format_bytes, format_seconds, format_seconds_ci
from perfkit.units import parse_bytes, parse_seconds


def plan_counts(sample_seconds: float, plan: InProcessPlan = DEFAULT_IN_PROCESS) -> tuple[int, int]:
    """(groups, samples per group) that fit in ``plan.max_seconds`` of sampling.

    A slow body first loses samples per group, then groups, but keeps at least
    ``plan.min_groups`` groups of one sample: fewer cannot give a CI.
    """
    if sample_seconds <= 0:
        return plan.groups, plan.samples
    affordable = int(plan.max_seconds / sample_seconds + 1e-9)
    if affordable >= plan.groups * plan.samples:
        return plan.groups, plan.samples
    per_group = affordable // plan.groups
    if per_group >= 1:
        return plan.groups, per_group
    return max(min(plan.min_groups, plan.groups), affordable), 1


def _confidence_text(confidence: float) -> str:
    return f"{confidence * 100:g} % CI"


@dataclass(frozen=True)
class TimeResult:
    """Seconds per call of one body: samples by group, and the median with its CI."""

    loops: int
    groups: tuple[tuple[float, ...], ...]
    median_seconds: float
    ci_low_seconds: float
    ci_high_seconds: float
    confidence: float = DEFAULT_STATS.confidence

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def n_samples(self) -> int:
        return sum(len(group) for group in self.groups)

    @property
    def min_seconds(self) -> float:
        return min(min(group) for group in self.groups)

    def shape_text(self) -> str:
        """``8 groups of 5 samples``, with ``of 50 loops`` when a sample loops more than once."""
        sizes = sorted({len(group) for group in self.groups})
        per = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
        text = f"{self.n_groups} groups of {per} sample{'s' if sizes[-1] != 1 else ''}"
        return text + (f" of {self.loops} loops" if self.loops > 1 else "")

    def describe(self) -> str:
        """``median 62.1 ms (95 % CI 60.8–63.9 ms) over 8 groups of 5 samples``."""
        ci = format_seconds_ci(self.ci_low_seconds, self.ci_high_seconds)
        return (
            f"median {format_seconds(self.median_seconds)} "
            f"({_confidence_text(self.confidence)} {ci}) over {self.shape_text()}"
        )

    def rows(self, benchmark: str, params: str, target: str) -> list[dict[str, Any]]:
        """samples.csv rows (perfkit.rundir), one group per worker number."""
        return [
            {
                "benchmark": benchmark,
                "params": params,
                "target": target,
                "worker": g,
                "sample": s,
                "loops": self.loops,
                "seconds": repr(seconds),
            }
            for g, group in enumerate(self.groups)
            for s, seconds in enumerate(group)
        ]

    def __str__(self) -> str:
        return self.describe()


def summarise_groups(
    loops: int, groups: list[list[float]], stats: StatsConfig = DEFAULT_STATS
) -> TimeResult:
    """Median of group medians and its CI, by `perfkit.analysis.stats.median_ci` (as `perfkit show`)."""
    import numpy as np

    from perfkit.analysis.stats import median_ci

    medians = np.array([np.median(group) for group in groups], dtype=float)
    low, high = median_ci(medians, stats)
    return TimeResult(
        loops=loops,
        groups=tuple(tuple(float(s) for s in group) for group in groups),
        median_seconds=float(np.median(medians)),
        ci_low_seconds=low,
        ci_high_seconds=high,
        confidence=stats.confidence,
    )


def time_in_process(
    body: Callable[[], Any],
    plan: InProcessPlan = DEFAULT_IN_PROCESS,
    stats: StatsConfig = DEFAULT_STATS,
) -> TimeResult:
    """Calibrate, warm up, then take groups of samples of ``body()``; seconds are per call.

    One full collection runs before the first group, and a young-generation one before
    each group: in a notebook or a test session the heap is large, and a full collection
    there costs tens of milliseconds, more than the samples of a fast body.
    """
    loops, per_call, _ = calibrate(body, plan.min_sample_seconds)
    n_groups, n_samples = plan_counts(per_call * loops, plan)
    if (n_groups, n_samples) == (plan.groups, plan.samples):
        # Only for bodies fast enough for the full plan; calibration warmed up the others.
        for _ in range(plan.warmups):
            time_loops(body, loops)
    gc.collect()
    groups: list[list[float]] = []
    for _ in range(n_groups):
        gc.collect(1)
        groups.append([time_loops(body, loops) / loops for _ in range(n_samples)])
    return summarise_groups(loops, groups, stats)


@dataclass(frozen=True)
class BudgetCheck:
    """A budget against a measurement: met or not, and the sentence that says so."""

    kind: str  # time | memory
    budget: float  # seconds or bytes
    budget_text: str
    measured: float  # upper CI bound (time) or peak added memory (memory)
    met: bool
    message: str


def check_time_budget(result: TimeResult, budget: str | float) -> BudgetCheck:
    """Met when the upper CI bound of the median is under the budget (as `perfkit.analysis.budgets`)."""
    seconds = parse_seconds(budget)
    assert seconds is not None
    text = format_seconds(seconds)
    upper = result.ci_high_seconds
    met = math.isfinite(upper) and upper < seconds
    verdict = "met" if met else "missed"
    message = f"perf budget {text} {verdict}: {result.describe()}"
    if not met and result.median_seconds < seconds:
        message += f"; the upper CI bound {format_seconds(upper)} is not under the budget"
    return BudgetCheck("time", seconds, text, upper, met, message)


@dataclass(frozen=True)
class MemoryResult:
    """Memory of repeated calls in this process: peak, and growth per call.

    ``added_peak_bytes`` is what the calls add at their peak: the larger of the RSS peak
    above the RSS before the calls, and the traced Python peak. The process's own
    footprint (interpreter, pytest or the kernel, imported libraries) is not the body's.
    """

    baseline_rss_bytes: int
    peak_rss_bytes: int
    py_peak_bytes: int
    calls: int
    rows: tuple[dict[str, int], ...]
    sites: tuple[dict[str, Any], ...] = ()
    growth_bytes_per_call: float = math.nan
    growth_ci_low: float = math.nan
    growth_ci_high: float = math.nan
    leak: bool = False
    growth_note: str = "growth not measured"  # perfkit.analysis.memory's sentence, e.g. "no growth"

    @property
    def added_peak_bytes(self) -> int:
        return max(self.peak_rss_bytes - self.baseline_rss_bytes, self.py_peak_bytes, 0)

    def describe(self) -> str:
        """Peak and growth in one line: ``peak +12.3 MB (RSS 145 MB → 157 MB, ...); no growth``."""
        return (
            f"peak +{format_bytes(self.added_peak_bytes)} "
            f"(RSS {format_bytes(self.baseline_rss_bytes)} → {format_bytes(self.peak_rss_bytes)}, "
            f"Python peak {format_bytes(self.py_peak_bytes)}) over {self.calls} calls; "
            f"{self.growth_note}"
        )

    def __str__(self) -> str:
        return self.describe()


def _growth(rows: list[dict[str, int]], warmup_calls: int) -> dict[str, Any]:
    """Growth per call, its CI and the leak rule of `perfkit.analysis.memory` (as `perfkit show`)."""
    from perfkit.analysis.memory import growth_fit

    verdict = growth_fit(rows, warmup_calls)
    return {
        "growth_bytes_per_call": float(verdict.bytes_per_call),
        "growth_ci_low": float(verdict.ci_low),
        "growth_ci_high": float(verdict.ci_high),
        "leak": bool(verdict.leak),
        "growth_note": verdict.text,
    }


def memory_in_process(
    body: Callable[[], Any], plan: InProcessPlan = DEFAULT_IN_PROCESS
) -> MemoryResult:
    """Peak and growth of repeated ``body()`` calls, by the memory pass of `perfkit run`."""
    from perfkit.collect.memory import measure
    from perfkit.config import DEFAULT_PLAN

    options = {
        "memory_calls": plan.memory_calls,
        "memory_peak_calls": plan.memory_peak_calls,
        "memory_warmup_calls": DEFAULT_PLAN.memory_warmup_calls,
        "memory_interval_seconds": DEFAULT_PLAN.memory_interval_seconds,
        "memory_worker_seconds": DEFAULT_PLAN.memory_worker_seconds,
    }
    payload = measure(body, options)
    summary = payload["summary"]
    rows = list(payload["rows"])
    return MemoryResult(
        baseline_rss_bytes=int(summary["baseline_rss_bytes"]),
        peak_rss_bytes=int(summary["peak_rss_bytes"]),
        py_peak_bytes=int(summary["py_peak_bytes"]),
        calls=int(summary["calls"]),
        rows=tuple(rows),
        sites=tuple(payload.get("sites") or ()),
        **_growth(rows, DEFAULT_PLAN.memory_warmup_calls),
    )


def check_memory_budget(result: MemoryResult, budget: str | int) -> BudgetCheck:
    """Met when the memory the calls add at their peak is under the budget."""
    nbytes = parse_bytes(budget)
    assert nbytes is not None
    text = format_bytes(nbytes)
    met = result.added_peak_bytes < nbytes
    verdict = "met" if met else "missed"
    message = f"perf memory budget {text} {verdict}: {result.describe()}"
    return BudgetCheck("memory", float(nbytes), text, float(result.added_peak_bytes), met, message)


def quick(plan: InProcessPlan = DEFAULT_IN_PROCESS) -> InProcessPlan:
    """A smaller plan for a first look (about a quarter of the sampling time)."""
    return replace(plan, groups=5, samples=3, max_seconds=plan.max_seconds / 4)
