"""The profiling pass: cProfile around a known number of body calls, after warm-up.

It runs in its own worker, or in a memory worker after its figures, or in a timing worker of
an early round after its samples (never before or between them: the profiler's overhead
would pollute them). It writes one standard pstats file, at the path the parent gave.
"""

from __future__ import annotations

import cProfile
import gc
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

from perfkit.collect import option

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_clock = time.perf_counter
MAX_CALLS = 10**7


def _profiled_loop(body: Callable[[], Any], calls: int) -> tuple[cProfile.Profile, float]:
    profiler = cProfile.Profile()
    repeat = itertools.repeat(None, calls)
    gc.collect()
    start = _clock()
    profiler.enable()
    for _ in repeat:
        body()
    profiler.disable()
    return profiler, _clock() - start


def _write_atomically(profiler: cProfile.Profile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        profiler.dump_stats(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def profile(body: Callable[[], Any], options: dict[str, Any]) -> dict[str, Any]:
    """Profile `calls` body calls lasting at least `profile_min_seconds` under the profiler.

    The loop count is found with the profiler on (its overhead decides the cost); the
    shorter probe loops double as warm-up and are discarded, so the written profile
    covers exactly the reported number of calls. With ``profile_warm`` (the memory pass
    ran the body in this worker first) the unprofiled first call is skipped.
    """
    min_seconds = float(option(options, "profile_min_seconds"))
    path = Path(options["prof_path"])
    body_calls = 0
    if not options.get("profile_warm"):
        body()  # first call: imports, caches, lazy set-up are not what we want to see
        body_calls = 1
    calls = 1
    while True:
        profiler, elapsed = _profiled_loop(body, calls)
        body_calls += calls
        if elapsed >= min_seconds or calls >= MAX_CALLS:
            break
        factor = min_seconds / elapsed if elapsed > 0 else 10.0
        calls = min(MAX_CALLS, max(calls * 2, int(calls * factor * 1.1) + 1))
    _write_atomically(profiler, path)
    return {"calls": calls, "body_calls": body_calls, "seconds": elapsed, "prof_path": str(path)}
