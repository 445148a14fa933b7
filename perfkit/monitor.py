"""Application-side monitoring: counters, timers and `measure_time` for slow operations.

An application under test records into a process-wide, thread-safe registry; a worker
resets it before a pass and collects `snapshot()` into the run's monitor.csv.
`monitor_summary` reads those rows back; nothing here writes a run directory.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    import pandas as pd

    from perfkit.rundir import Run

API_TIMER_PREFIX = "http."  # timers named "http.*" are time spent talking to a remote API
CACHE_HIT = "cache.hit"
CACHE_MISS = "cache.miss"
OPERATION_TIMER_PREFIX = "op."  # timers recorded by measure_time, one per operation name
BODY_TIMER = "body"  # a suite may time each benchmark body call into it (exact calls, seconds)
DEFAULT_SLOW_SECONDS = 1.0

logger = logging.getLogger("perfkit.monitor")
_clock = time.perf_counter
_lock = threading.Lock()
_local = threading.local()
_metrics: dict[str, _Metric] = {}

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound="_Metric")


@dataclass
class _Metric:
    name: str
    count: int = 0
    seconds: float = 0.0
    kind: ClassVar[str] = ""

    def _add(self, count: int, seconds: float) -> None:
        with _lock:
            self.count += count
            self.seconds += seconds


class Counter(_Metric):
    """A named count (cache hits, requests); get one with `counter(name)`."""

    kind = "counter"

    def inc(self, n: int = 1) -> None:
        self._add(n, 0.0)

    @property
    def value(self) -> int:
        return self.count


class Timer(_Metric):
    """A named total of seconds and a count of timed events; get one with `timer(name)`."""

    kind = "timer"

    def add(self, seconds: float) -> None:
        self._add(1, seconds)

    def __enter__(self) -> None:
        _starts().setdefault(self.name, []).append(_clock())

    def __exit__(self, *exc: object) -> None:
        self.add(_clock() - _starts()[self.name].pop())


def _starts() -> dict[str, list[float]]:
    """Start times of open `with` blocks, per thread and key: nesting and threads both work."""
    starts = getattr(_local, "starts", None)
    if starts is None:
        starts = _local.starts = {}
    return starts


def _get(name: str, cls: type[M]) -> M:
    with _lock:
        metric = _metrics.get(name)
        if metric is None:
            metric = _metrics[name] = cls(name=name)
    if not isinstance(metric, cls):
        raise TypeError(f"monitor metric {name!r} is a {metric.kind}, not a {cls.kind}")
    return metric


def counter(name: str) -> Counter:
    """The counter called `name` (created on first use)."""
    return _get(name, Counter)


def timer(name: str) -> Timer:
    """The timer called `name` (created on first use); ``with timer(name): ...`` times a block."""
    return _get(name, Timer)


def reset() -> None:
    """Zero every metric; objects handed out earlier stay valid."""
    with _lock:
        for metric in _metrics.values():
            metric.count = 0
            metric.seconds = 0.0


def snapshot() -> list[dict[str, Any]]:
    """Every metric as ``{name, kind, count, seconds}``, sorted by name."""
    with _lock:
        return [
            {"name": m.name, "kind": m.kind, "count": m.count, "seconds": m.seconds}
            for m in sorted(_metrics.values(), key=lambda m: m.name)
        ]


class _MeasureTime:
    """Decorator and context manager: time an operation, log it when slow."""

    def __init__(self, threshold: float, name: str | None) -> None:
        self.threshold = threshold
        self.name = name

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        name = self.name or func.__qualname__
        threshold = self.threshold

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = _clock()
            try:
                return func(*args, **kwargs)
            finally:
                _record(name, _clock() - start, threshold)

        return wrapper

    def __enter__(self) -> _MeasureTime:
        _starts().setdefault(f"measure_time:{id(self)}", []).append(_clock())
        return self

    def __exit__(self, *exc: object) -> None:
        start = _starts()[f"measure_time:{id(self)}"].pop()
        _record(self.name or "block", _clock() - start, self.threshold)


def _record(name: str, seconds: float, threshold: float) -> None:
    timer(OPERATION_TIMER_PREFIX + name).add(seconds)
    extra = {"function": name, "seconds": seconds, "threshold": threshold}
    if seconds >= threshold:
        logger.warning(
            "slow operation: %s took %.3f s (threshold %.3f s)",
            name,
            seconds,
            threshold,
            extra=extra,
        )
    else:
        logger.debug("%s took %.3f s", name, seconds, extra=extra)


@overload
def measure_time(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def measure_time(
    func: None = None, /, *, threshold: float = DEFAULT_SLOW_SECONDS, name: str | None = None
) -> _MeasureTime: ...
def measure_time(
    func: Callable[P, R] | None = None,
    /,
    *,
    threshold: float = DEFAULT_SLOW_SECONDS,
    name: str | None = None,
) -> Callable[P, R] | _MeasureTime:
    """Time an operation; log it through ``perfkit.monitor`` when it takes ≥ `threshold` s.

    ``@measure_time``, ``@measure_time(threshold=0.5)`` or ``with measure_time(name="export"):``.
    Each timing also lands in the timer ``op.<name>``; the log record carries the extras
    ``function`` and ``seconds``.
    """
    wrap = _MeasureTime(threshold, name)
    return wrap(func) if func is not None else wrap


SUMMARY_COLUMNS = [
    "id",
    "benchmark",
    "params",
    "target",
    "calls",
    "api_calls_per_call",
    "api_seconds_per_call",
    "cache_hits",
    "cache_misses",
    "cache_hit_rate",
    "body_seconds_per_call",
    "network_share",
]


def _timing_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows written by timing workers: profiled or traced calls would skew seconds.

    Falls back to every row when no timing pass recorded any (e.g. a profile-only run).
    """
    timed = rows[rows["mode"] == "time"]
    return timed if not timed.empty else rows


def monitor_summary(run: Run) -> pd.DataFrame:
    """Per (id, target): API calls and seconds per body call, cache hit rate, network share.

    A body call is counted by the ``body`` timer when the suite times its bodies with it
    (exact), else by the pass's ``calls``; network share is API seconds over body seconds
    (the body timer's, else the median of the timing samples). Cases without API calls
    or cache lookups are left out; NaN marks what was not measured.
    """
    import pandas as pd

    from perfkit.suite import case_id

    if run.monitor.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = _timing_rows(run.monitor)
    keys = ["benchmark", "params", "target"]
    timers = rows[rows["kind"] == "timer"]
    api = timers[timers["name"].str.startswith(API_TIMER_PREFIX)].groupby(keys)
    api_count, api_seconds = api["count"].sum(), api["seconds"].sum()
    body = timers[timers["name"] == BODY_TIMER].groupby(keys)
    body_count, body_seconds = body["count"].sum(), body["seconds"].sum()
    # `calls` repeats on every metric row of a worker: count it once per worker.
    pass_calls = rows.drop_duplicates([*keys, "worker"]).groupby(keys)["calls"].sum()
    counters = rows[rows["kind"] == "counter"].groupby([*keys, "name"])["count"].sum()
    medians = _median_seconds_per_call(run)
    nan = float("nan")
    out = []
    for key in pass_calls.index:
        calls = int(body_count.get(key, 0)) or int(pass_calls[key])
        per_call = nan
        if calls and body_count.get(key, 0):
            per_call = float(body_seconds[key]) / calls
        elif key in medians:
            per_call = medians[key]
        hits = int(counters.get((*key, CACHE_HIT), 0))
        misses = int(counters.get((*key, CACHE_MISS), 0))
        if not api_count.get(key, 0) and not hits + misses:
            continue  # neither API calls nor cache lookups: nothing to say about this case
        api_per_call = float(api_seconds.get(key, 0.0)) / calls if calls else nan
        out.append(
            {
                "id": case_id(key[0], key[1]),
                "benchmark": key[0],
                "params": key[1],
                "target": key[2],
                "calls": calls,
                "api_calls_per_call": int(api_count.get(key, 0)) / calls if calls else nan,
                "api_seconds_per_call": api_per_call,
                "cache_hits": hits,
                "cache_misses": misses,
                "cache_hit_rate": hits / (hits + misses) if hits + misses else nan,
                "body_seconds_per_call": per_call,
                "network_share": min(1.0, api_per_call / per_call)
                if calls and per_call > 0
                else nan,
            }
        )
    order = {case: i for i, case in enumerate(run.cases)}
    out.sort(key=lambda row: (order.get(row["id"], len(order)), row["id"]))
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _median_seconds_per_call(run: Run) -> dict[tuple[str, str, str], float]:
    """Median of per-worker medians, per (benchmark, params, target)."""
    from perfkit.stats import worker_medians

    medians = worker_medians(run.samples)
    if medians.empty:
        return {}
    keys = ["benchmark", "params", "target"]
    return medians.groupby(keys)["median_seconds"].median().to_dict()
