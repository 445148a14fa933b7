"""Application-side monitoring: counters, timers and `measure_time` for slow operations.

An application under test records into a process-wide, thread-safe registry; a worker
resets it before a pass and collects `snapshot()` into the run's monitor.csv.
`perfkit.analysis.monitor` reads those rows back; nothing here writes a run directory.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

if TYPE_CHECKING:  # a runtime ParamSpec needs Python 3.10; this module runs in workers down to 3.9
    from typing import ParamSpec

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

P = ParamSpec("P") if TYPE_CHECKING else TypeVar("P")
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
