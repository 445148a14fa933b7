"""The memory pass: baseline RSS, peak RSS while the body runs, and the growth series.

Runs only in memory workers (tracemalloc slows allocation, so never in timing workers).
It measures and reports; slopes and the leak verdict belong to `perfkit.analysis.memory`.

Order inside the worker, after setup:
1. baseline: RSS after a full collection, before the first body call, with the
   sampler already loaded (interpreter, perfkit, sampler, the suite's imports and
   setup: what is not the body's);
2. peak: `memory_peak_calls` untraced calls while RSS is sampled (they also warm up);
3. growth: tracemalloc starts, then `memory_calls` calls, each followed by a full
   collection and one row (RSS, traced current, traced peak of that call). Row 0 is
   the state before the first traced call. The allocation sites that grew are the
   difference between a snapshot after `memory_warmup_calls` traced calls and one at
   the end, the same window the slope is fitted on. RSS in these rows includes
   tracemalloc's own tables, which is why the peak is taken before tracing starts;
4. profile (when the request names a ``prof_path``): with tracing stopped, the profiling
   pass (`perfkit.collect.profiling`) of the warm body, its result under ``profile``. The
   run's first profile of each side is taken here, saving a worker start and a setup;
   every memory figure is taken before it.
"""

from __future__ import annotations

import array
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable

from perfkit.collect import option, profiling
from perfkit.collect import rss as memory_sampler

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# Fewer points than this cannot give a slope with a confidence interval worth reading.
MIN_GROWTH_CALLS = 5
TOP_SITES = 10
# Packages of the interactive machinery (IPython, the kernel, its event loop): their sites
# come after the user's code in `top_growth_sites`, whatever their size.
FRAMEWORK_PACKAGES = frozenset(
    {
        "IPython",
        "ipykernel",
        "jupyter_client",
        "jupyter_core",
        "traitlets",
        "zmq",
        "tornado",
        "debugpy",
        "comm",
        "ipywidgets",
        "prompt_toolkit",
        "asyncio",
    }
)


def _call_n(body: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        body()
    return time.perf_counter() - start


def _growth_calls(wanted: int, seconds_per_call: float, worker_seconds: float) -> int:
    """Growth calls affordable in `worker_seconds`, never fewer than MIN_GROWTH_CALLS."""
    if seconds_per_call <= 0:
        return wanted
    affordable = int(worker_seconds / seconds_per_call)
    return max(min(wanted, MIN_GROWTH_CALLS), min(wanted, affordable))


def _harness_files() -> list[str]:
    """Files whose allocations are the harness's, not the body's."""
    files = [tracemalloc.__file__, __file__, memory_sampler.__file__]
    try:  # absent where a target's own environment runs the worker
        import memory_profiler
        import psutil
    except ImportError:
        return files
    return [
        *files,
        memory_profiler.__file__,
        os.path.join(os.path.dirname(psutil.__file__), "*"),
    ]


def site_name(filename: str, lineno: int) -> str:
    """``file:line`` with the file relative to the sys.path entry it is imported from.

    So the same line matches across a baseline and a current checkout.
    """
    best = ""
    for entry in sys.path:
        root = os.path.join(os.path.abspath(entry or os.curdir), "")
        if filename.startswith(root) and len(root) > len(best):
            best = root
    return f"{filename[len(best) :] if best else filename}:{lineno}"


def is_framework_site(site: str) -> bool:
    """True for a ``file:line`` inside IPython, ipykernel and the like (not the user's code)."""
    directories = site.replace("\\", "/").split("/")[:-1]
    return any(part in FRAMEWORK_PACKAGES for part in directories)


def user_first(sites: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user's sites first, then the framework's; each group keeps its order."""
    return sorted(sites, key=lambda s: is_framework_site(str(s["site"])))


def top_growth_sites(
    first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, limit: int = TOP_SITES
) -> list[dict[str, Any]]:
    """Allocation sites whose retained size grew from `first` to `last`: the user's code
    first (`user_first`), largest first within each group."""
    # "<string>" is namedtuple's generated __new__: with one frame per trace it names no
    # real site, and psutil's results (the harness reading RSS) land there.
    patterns = [*_harness_files(), "<unknown>", "<string>"]
    exclude = [tracemalloc.Filter(False, pattern) for pattern in patterns]
    diffs = last.filter_traces(exclude).compare_to(first.filter_traces(exclude), "lineno")
    grown = [d for d in diffs if d.size_diff > 0]
    grown.sort(key=lambda d: d.size_diff, reverse=True)
    sites = [
        {
            "site": site_name(d.traceback[0].filename, d.traceback[0].lineno),
            "size_bytes": d.size_diff,
            "count": d.count_diff,
        }
        for d in grown
    ]
    return user_first(sites)[:limit]


def growth_series(
    body: Callable[[], Any], calls: int, warmup_calls: int
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Call `body` `calls` times under tracemalloc; rows per iteration and grown sites."""
    n = calls + 1
    # Preallocated arrays: recording a row must not itself allocate traced memory.
    rss = array.array("q", [0] * n)
    current = array.array("q", [0] * n)
    peak = array.array("q", [0] * n)
    first_at = min(max(warmup_calls, 0), calls)
    first: tracemalloc.Snapshot | None = None
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start(1)
    try:
        gc.collect()
        # What survives this collection stays out of the next ones: each call's collection
        # then looks at what the calls made, not at every module and cache loaded before
        # (~20 ms a collection with pandas and Qt loaded, against ~0 frozen). Frozen objects
        # all lived before row 0: they add the same bytes to every row, never a slope.
        gc.freeze()
        tracemalloc.reset_peak()
        for i in range(n):
            if i:
                tracemalloc.reset_peak()
                body()
                gc.collect()
            if i == first_at:
                # Taken before this row is read, so the snapshot's own memory is in every
                # row of the fitted window alike and does not bend the slope.
                first = tracemalloc.take_snapshot()
            current[i], peak[i] = tracemalloc.get_traced_memory()
            rss[i] = memory_sampler.current_rss_bytes()
        last = tracemalloc.take_snapshot()
    finally:
        gc.unfreeze()
        if started:
            tracemalloc.stop()
    rows = [
        {
            "iteration": i,
            "rss_bytes": rss[i],
            "py_current_bytes": current[i],
            "py_peak_bytes": peak[i],
        }
        for i in range(n)
    ]
    assert first is not None
    return rows, top_growth_sites(first, last)


def measure(body: Callable[[], Any], options: dict[str, Any]) -> dict[str, Any]:
    """Baseline, peak and growth of one body in this worker (see the module docstring)."""
    wanted_calls = max(1, int(option(options, "memory_calls")))
    peak_calls = max(1, int(option(options, "memory_peak_calls")))
    warmup_calls = int(option(options, "memory_warmup_calls"))
    interval = float(option(options, "memory_interval_seconds"))
    worker_seconds = float(option(options, "memory_worker_seconds"))

    memory_sampler.prepare(interval)
    gc.collect()
    baseline_rss = memory_sampler.current_rss_bytes()
    peak = memory_sampler.peak_rss_during(lambda: _call_n(body, peak_calls), interval)
    calls = _growth_calls(wanted_calls, peak.value / peak_calls, worker_seconds)
    rows, sites = growth_series(body, calls, warmup_calls)
    result: dict[str, Any] = {
        "rows": rows,
        "summary": {
            "baseline_rss_bytes": baseline_rss,
            "peak_rss_bytes": peak.peak_rss_bytes,
            "py_peak_bytes": max(row["py_peak_bytes"] for row in rows),
            "calls": peak_calls + calls,
        },
        "sites": sites,
        "body_calls": peak_calls + calls,
    }
    if options.get("prof_path"):
        result["profile"] = profiling.profile(body, {**options, "profile_warm": True})
        result["body_calls"] += result["profile"]["body_calls"]
    return result
