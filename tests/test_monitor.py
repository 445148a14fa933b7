"""perfkit.monitor (counters, timers, measure_time logging) and perfkit.analysis.monitor.monitor_summary of a run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.clock import FakeClock
from helpers.runs import build_run

from perfkit import monitor
from perfkit.analysis import monitor as monitor_analysis
from perfkit.rundir import load_run


@pytest.fixture
def clock(fake_clock) -> Iterator[FakeClock]:
    fake = fake_clock(monitor, now=100.0)
    monitor.reset()
    yield fake
    monitor.reset()


def metric(name: str) -> dict:
    return next(m for m in monitor.snapshot() if m["name"] == name)


def test_counter_and_timer_accumulate_and_reset_keeps_objects(clock: FakeClock) -> None:
    hits = monitor.counter("test.hits")
    hits.inc()
    hits.inc(2)
    with monitor.timer("test.io"):
        clock.advance(0.25)
    with monitor.timer("test.io"):
        clock.advance(0.5)
    assert metric("test.hits") == {"name": "test.hits", "kind": "counter", "count": 3, "seconds": 0}
    assert metric("test.io") == {"name": "test.io", "kind": "timer", "count": 2, "seconds": 0.75}
    assert monitor.counter("test.hits") is hits
    monitor.reset()
    assert metric("test.hits")["count"] == 0
    hits.inc()  # an object handed out before reset() still records
    assert metric("test.hits")["count"] == 1
    names = [m["name"] for m in monitor.snapshot()]
    assert names == sorted(names)


def test_nested_use_of_one_timer(clock: FakeClock) -> None:
    io = monitor.timer("test.nested")
    with io:
        clock.advance(1.0)
        with io:
            clock.advance(2.0)
    assert metric("test.nested") == {
        "name": "test.nested",
        "kind": "timer",
        "count": 2,
        "seconds": 5.0,
    }


def test_a_name_is_either_a_counter_or_a_timer() -> None:
    monitor.counter("test.kind")
    with pytest.raises(TypeError, match="is a counter"):
        monitor.timer("test.kind")


def test_measure_time_decorator_logs_slow_calls_with_extras(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    @monitor.measure_time(threshold=1.0)
    def export(seconds: float) -> str:
        clock.advance(seconds)
        return "done"

    caplog.set_level(logging.DEBUG, logger="perfkit.monitor")
    assert export(0.2) == "done"
    assert export(1.5) == "done"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    record = warnings[0]
    assert record.name == "perfkit.monitor"
    assert record.function.endswith("export")
    assert record.seconds == pytest.approx(1.5)
    assert "slow operation" in record.getMessage()
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert [r.seconds for r in debug] == [pytest.approx(0.2)]
    assert export.__name__ == "export"
    op = metric(f"{monitor.OPERATION_TIMER_PREFIX}{record.function}")
    assert op["count"] == 2
    assert op["seconds"] == pytest.approx(1.7)


def test_measure_time_as_context_manager_and_bare_decorator(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="perfkit.monitor")
    with monitor.measure_time(threshold=0.5, name="load view"):
        clock.advance(0.75)

    @monitor.measure_time
    def slow() -> None:
        clock.advance(monitor.DEFAULT_SLOW_SECONDS)

    slow()
    assert [r.function for r in caplog.records] == ["load view", slow.__qualname__]
    assert metric("op.load view")["seconds"] == pytest.approx(0.75)


def test_measure_time_records_when_the_operation_raises(clock: FakeClock) -> None:
    @monitor.measure_time(name="failing")
    def failing() -> None:
        clock.advance(0.1)
        raise ValueError("boom")

    with pytest.raises(ValueError):
        failing()
    assert metric("op.failing")["count"] == 1


def test_counters_and_timers_are_thread_safe() -> None:
    monitor.reset()
    hits = monitor.counter("test.threads")
    io = monitor.timer("test.threads.io")

    def work() -> None:
        for _ in range(5_000):
            hits.inc()
            with io:
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metric("test.threads")["count"] == 40_000
    assert metric("test.threads.io")["count"] == 40_000


def _run(tmp_path: Path, monitor_rows: list[dict], samples: list[dict]) -> Path:
    return build_run(tmp_path, ("baseline", "current"), samples=samples, monitor=monitor_rows)


def _rows(
    target: str,
    worker: int,
    calls: int,
    metrics: dict[str, tuple[str, int, float]],
    mode: str = "time",
):
    key = {"benchmark": "process_playlist", "params": "n=10", "target": target, "mode": mode}
    return [
        {**key, "worker": worker, "name": n, "kind": k, "count": c, "seconds": s, "calls": calls}
        for n, (k, c, s) in metrics.items()
    ]


def test_monitor_summary_with_a_body_timer_is_exact(tmp_path: Path) -> None:
    rows = []
    for worker in (0, 1):
        rows += _rows(
            "current",
            worker,
            calls=3,  # what the pass reported; the body timer knows better
            metrics={
                "body": ("timer", 4, 0.4),
                "http.search": ("timer", 12, 0.3),
                "cache.hit": ("counter", 4, 0.0),
                "cache.miss": ("counter", 12, 0.0),
            },
        )
    # A profile worker's slowed-down figures are left out: only timing passes count.
    rows += _rows("current", 0, 1, {"http.search": ("timer", 1, 9.0)}, mode="profile")
    samples = [
        {"benchmark": "process_playlist", "params": "n=10", "target": "current", "worker": w}
        | {"sample": 0, "loops": 1, "seconds": 0.2}
        for w in (0, 1)
    ]
    summary = monitor_analysis.monitor_summary(load_run(_run(tmp_path, rows, samples)))
    assert len(summary) == 1
    row = summary.iloc[0]
    assert row["id"] == "process_playlist[n=10]"
    assert row["calls"] == 8  # both timing workers; the profile worker is left out
    assert row["api_calls_per_call"] == pytest.approx(3.0)
    assert row["api_seconds_per_call"] == pytest.approx(0.075)
    assert row["body_seconds_per_call"] == pytest.approx(0.1)
    assert row["network_share"] == pytest.approx(0.75)
    assert row["cache_hit_rate"] == pytest.approx(0.25)


def test_monitor_summary_without_body_timer_uses_calls_and_sample_medians(tmp_path: Path) -> None:
    rows = _rows("baseline", 0, 10, {"http.search": ("timer", 30, 0.5)})
    samples = [
        {"benchmark": "process_playlist", "params": "n=10", "target": "baseline", "worker": 0}
        | {"sample": i, "loops": 1, "seconds": seconds}
        for i, seconds in enumerate((0.09, 0.1, 0.2))
    ]
    row = monitor_analysis.monitor_summary(load_run(_run(tmp_path, rows, samples))).iloc[0]
    assert row["api_calls_per_call"] == pytest.approx(3.0)
    assert row["body_seconds_per_call"] == pytest.approx(0.1)
    assert row["network_share"] == pytest.approx(0.5)
    assert row["cache_hit_rate"] != row["cache_hit_rate"]  # no cache counters: NaN


def test_monitor_summary_of_a_run_without_monitor_data(tmp_path: Path) -> None:
    summary = monitor_analysis.monitor_summary(load_run(_run(tmp_path, [], [])))
    assert summary.empty
    assert list(summary.columns) == monitor_analysis.SUMMARY_COLUMNS
