"""The timing pass: calibrate the loop count, warm up, take samples.

GC policy: the garbage collector stays enabled, as in the application, but garbage left by
setup or by the previous sample is collected before each sample, so that it is not billed to
the next one: a full collection before the first step and after any step in which the
collector ran by itself (it may have moved that step's garbage to older generations), else
a collection of the youngest generation, which holds everything the step allocated (only a
cycle of objects older than the step, dropped by it, waits for the next full one). (A full
collection in a worker that imported perfkit took 1.4-3.5 ms, a young one microseconds: for a
body that allocates little, 22 full collections were ~13 % of a ping-pong round.) A sample
lasts at least `min_sample_seconds`; the loop count is calibrated once per worker.

Ping-pong (a `Gate` given): after calibration the pass says how many steps (warm-ups, then
samples) it will take and takes each one only when the gate lets it, so that the parent can
alternate the steps of the targets of a round and adjacent samples see the same machine.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable

from perfkit.collect import option

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol


_clock = time.perf_counter
WARMING_PROBES = 4  # a probe timed again at most this often while it keeps halving


def _collections() -> int:
    """How many collections of any generation the collector has run so far."""
    return sum(generation["collections"] for generation in gc.get_stats())


def collect_garbage(after: int | None) -> int:
    """Collect the garbage of the step before (module docstring); `after` is what
    `_collections` said after the last call (None: none yet). Returns it for the next call."""
    if after is None or _collections() != after:
        gc.collect()
    else:
        gc.collect(0)
    return _collections()


def time_loops(body: Callable[[], Any], loops: int) -> float:
    """Total seconds of `loops` calls of `body` (the same loop shape as timeit)."""
    repeat = itertools.repeat(None, loops)
    start = _clock()
    for _ in repeat:
        body()
    return _clock() - start


def calibrate(
    body: Callable[[], Any],
    min_sample_seconds: float,
    max_loops: int = 10**8,
    first_call_limit: float = 1.0,
) -> tuple[int, float, int]:
    """Loop count whose sample lasts `min_sample_seconds` (probing upward from 1).

    The first calls of a body often pay once for lazy imports, caches and entry-point
    scans: a probe that lasts a sample (but less than `first_call_limit` seconds) is timed
    again while it is the first one or took under half the probe before it (still warming,
    at most `WARMING_PROBES` times) before its loop count is trusted. (Python-Markdown 3.4's
    ``Markdown(...)`` took ~150 ms the first time and ~0.2 ms after: one loop per sample made
    every sample one cold call, 1.5-2.4x its looped time. Its second call still took over
    1 ms: with 1 ms samples, one retry kept a cold loop count of 1 in a third of the workers,
    samples 2x slow and falling, and a round's spread went from 6 % to 39 %.) Returns the
    loop count, the seconds per call seen at that count, and how many body calls calibration
    made in all.
    """
    loops = 1
    spent = 0
    retried: float | None = None  # the probe just timed again, if it was
    retries = 0
    while True:
        elapsed = time_loops(body, loops)
        spent += loops
        warming = spent == 1 or (retried is not None and elapsed < retried / 2)
        retried = None
        if (
            warming
            and retries < WARMING_PROBES
            and min_sample_seconds <= elapsed < first_call_limit
        ):
            retries += 1
            retried = elapsed
            continue  # the same probe again, now warmer
        if elapsed >= min_sample_seconds or loops >= max_loops:
            return loops, elapsed / loops, spent
        if elapsed <= 0:
            loops *= 10
            continue
        # Jump close to the goal instead of doubling from 1 for fast bodies.
        factor = min_sample_seconds / elapsed
        loops = min(max_loops, max(loops * 2, int(loops * factor * 1.1) + 1))


if TYPE_CHECKING:  # a protocol for the type checker: `measure` only calls its methods

    class Gate(Protocol):
        """The parent's pacing of a ping-pong timing pass (`perfkit.collect.worker` makes
        one)."""

        def ready(self, steps: int) -> None:
            """Calibrated: `steps` warm-ups and samples follow, each one after `go`."""

        def go(self) -> None:
            """Block until the parent lets the next step run."""

        def done(self, step: int) -> None:
            """Step `step` (0-based) is over."""


def measure(
    body: Callable[[], Any], options: dict[str, Any], gate: Gate | None = None
) -> dict[str, Any]:
    """Calibrate, warm up and sample; seconds are per call.

    An option the request leaves out takes `perfkit.config.DEFAULT_PLAN`'s value. With a
    `gate`, every warm-up and sample waits for its `go`, and the ping-pong counts apply
    (``pingpong_samples`` samples of ``pingpong_min_sample_seconds``: more pairs, shorter).
    """
    min_sample = float(option(options, "min_sample_seconds"))
    n_samples = int(option(options, "samples"))
    if gate is not None:
        min_sample = float(options.get("pingpong_min_sample_seconds", min_sample))
        n_samples = int(options.get("pingpong_samples", n_samples))
    n_warmups = int(option(options, "warmups"))
    worker_seconds = float(option(options, "worker_seconds"))
    loops, per_call, calls = calibrate(body, min_sample, first_call_limit=worker_seconds)
    sample_seconds = per_call * loops
    # Slow bodies: fewer samples rather than a run that never ends.
    affordable = int(worker_seconds // sample_seconds) if sample_seconds > 0 else n_samples
    n_samples = max(1, min(n_samples, affordable))
    if sample_seconds > worker_seconds:
        n_warmups = 0  # calibration already ran the body once
    if gate is not None:
        gate.ready(n_warmups + n_samples)
    samples = []
    collected = None
    for step in range(n_warmups + n_samples):
        if gate is not None:
            gate.go()
        collected = collect_garbage(collected)
        seconds = time_loops(body, loops)
        calls += loops
        if step >= n_warmups:
            samples.append(seconds / loops)
        if gate is not None:
            gate.done(step)
    return {"loops": loops, "samples": samples, "body_calls": calls}
