"""Pure parts of the model: ids, units, safe file names, run-directory reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.runs import build_run

from perfkit.collect.suite import benchmark, instantiate
from perfkit.errors import PerfkitError, RunDirError
from perfkit.render.format import format_bytes, format_seconds
from perfkit.rundir import (
    SAMPLES_CSV,
    case_id,
    load_run,
    resolve_run_path,
    safe_filename,
    split_case_id,
)
from perfkit.units import parse_bytes, parse_fraction, parse_seconds


def test_case_ids_keep_declared_order() -> None:
    @benchmark(params={"n": [10, 50], "mode": ["a"]})
    def playlist(n, mode):
        return lambda: None

    assert [c.id for c in playlist.cases()] == ["playlist[n=10,mode=a]", "playlist[n=50,mode=a]"]
    assert split_case_id("playlist[n=10,mode=a]") == ("playlist", "n=10,mode=a")
    assert case_id("x", {}) == "x" and split_case_id("x") == ("x", "")


def test_yield_style_runs_teardown() -> None:
    events = []

    @benchmark
    def with_teardown():
        events.append("setup")
        yield lambda: events.append("body")
        events.append("teardown")

    instance = instantiate(with_teardown, {})
    instance.body()
    instance.teardown()
    assert events == ["setup", "body", "teardown"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5.0), ("100ms", 0.1), ("5min", 300.0), ("250us", 250e-6), (2, 2.0)]
)
def test_parse_seconds(text, seconds) -> None:
    assert parse_seconds(text) == pytest.approx(seconds)


def test_parse_bytes_and_fraction() -> None:
    assert parse_bytes("500MB") == 500_000_000
    assert parse_bytes("1GiB") == 1024**3
    assert parse_fraction("10%") == pytest.approx(0.1)
    assert format_seconds(0.0123) == "12.3 ms" and format_bytes(2.5e8) == "250 MB"
    with pytest.raises(PerfkitError, match="unknown unit 'parsecs'"):
        parse_seconds("5parsecs")
    with pytest.raises(PerfkitError, match="bad size"):
        parse_bytes("lots")


@pytest.mark.parametrize(
    "text", ["../../etc/passwd", "a/b", "..", ".", "ünï cödé", "x" * 400, "a\x00b"]
)
def test_safe_filename_stays_inside(text: str, tmp_path: Path) -> None:
    name = safe_filename(text)
    assert "/" not in name and name not in (".", "..") and not name.startswith(".")
    assert len(name) < 200
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert safe_filename("a/b") != safe_filename("a_b")


def _write_run(tmp_path: Path) -> Path:
    row = {"benchmark": "f", "params": "", "target": "current", "worker": 0, "sample": 0}
    return build_run(tmp_path, samples=[{**row, "loops": 1, "seconds": 0.5}])


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = _write_run(tmp_path)
    (path / SAMPLES_CSV).write_text(
        "benchmark,params,target,worker,sample,loops\nf,,current,0,0,1\n"
    )
    with pytest.raises(RunDirError, match=r"samples.csv: missing column\(s\) seconds"):
        load_run(path)


def test_truncated_csv_is_reported(tmp_path: Path) -> None:
    path = _write_run(tmp_path)
    text = (path / SAMPLES_CSV).read_text()
    (path / SAMPLES_CSV).write_text(text + "f,,current,1,0,1,0.4\n")  # a whole newer write
    assert len(load_run(path).samples) == 2
    (path / SAMPLES_CSV).write_text(text + "f,,current,1,0,1,0.4")
    with pytest.raises(RunDirError, match=r"samples.csv: truncated \(its last line"):
        load_run(path)
    (path / SAMPLES_CSV).write_text(text + "f,,current,1,0,\n")
    with pytest.raises(RunDirError, match=r"samples.csv: line 3: column 'loops' is not a number"):
        load_run(path)


def test_resolve_latest_and_missing(tmp_path: Path) -> None:
    first = _write_run(tmp_path)
    assert resolve_run_path("latest", tmp_path) == first
    assert resolve_run_path(first.name, tmp_path) == first
    with pytest.raises(RunDirError, match="run not found: nope"):
        resolve_run_path("nope", tmp_path)
    with pytest.raises(RunDirError, match="no runs in"):
        resolve_run_path("latest", tmp_path / "empty")


def test_slow_bodies_get_fewer_samples_never_zero(fake_clock) -> None:
    from perfkit.collect import timing

    clock = fake_clock(timing)

    def body() -> None:  # 30 ms per call on the fake clock
        clock.advance(0.03)

    options = {"min_sample_seconds": 0.02, "samples": 5, "warmups": 1, "worker_seconds": 0.05}
    payload = timing.measure(body, options)
    assert payload["loops"] == 1 and payload["samples"] == [pytest.approx(0.03)]
    assert payload["body_calls"] == 4  # calibration (first call timed again), warm-up, a sample
    payload = timing.measure(body, {**options, "worker_seconds": 0.01})
    # A first call beyond the worker's time is not repeated: no warm-up either.
    assert len(payload["samples"]) == 1 and payload["body_calls"] == 2
    payload = timing.measure(body, {**options, "worker_seconds": 1.0})
    assert len(payload["samples"]) == 5 and payload["body_calls"] == 8  # affordable: all five


def test_a_slow_first_call_does_not_set_one_loop_per_sample(fake_clock) -> None:
    from perfkit.collect import timing

    clock = fake_clock(timing)
    calls = []

    def body() -> None:  # 150 ms the first time (lazy imports), then 0.2 ms
        clock.advance(0.15 if not calls else 0.0002)
        calls.append(1)

    payload = timing.measure(body, {"min_sample_seconds": 0.02, "samples": 3, "warmups": 1})
    assert payload["loops"] >= 100
    assert payload["samples"] == [pytest.approx(0.0002)] * 3


def test_a_body_still_warming_after_its_first_call_is_not_sampled_one_cold_call_at_a_time(
    fake_clock,
) -> None:
    from perfkit.collect import timing

    clock = fake_clock(timing)
    calls = []

    def body() -> None:  # as Markdown(): 150 ms, then 1.2 ms, then 0.2 ms a call
        clock.advance([0.15, 0.0012][len(calls)] if len(calls) < 2 else 0.0002)
        calls.append(1)

    payload = timing.measure(body, {"min_sample_seconds": 0.001, "samples": 3, "warmups": 1})
    assert payload["loops"] >= 5  # one loop would have sampled a warming body
    assert payload["samples"] == [pytest.approx(0.0002)] * 3


def test_timing_options_left_out_take_the_configured_plan(monkeypatch) -> None:
    import perfkit.collect.timing as timing
    from perfkit.config import DEFAULT_PLAN

    now = [0.0]
    monkeypatch.setattr(timing, "_clock", lambda: now[0])

    def body(step: float) -> None:
        now[0] += step

    fast = timing.measure(lambda: body(0.001), {})  # 1 ms per call on the fake clock
    goal_loops = int(DEFAULT_PLAN.min_sample_seconds / 0.001 * 1.1) + 1
    assert fast["loops"] == goal_loops and len(fast["samples"]) == DEFAULT_PLAN.samples
    slow = timing.measure(lambda: body(0.3), {})  # the worker's time allows only so many
    assert len(slow["samples"]) == int(DEFAULT_PLAN.worker_seconds // 0.3)


def _cycles(n: int) -> None:
    for _ in range(n):
        node: list = []
        node.append(node)  # garbage only a collection frees


def _full_collections() -> int:
    import gc

    return gc.get_stats()[2]["collections"]


@pytest.mark.parametrize("cycles", [0, 50, 20_000])
def test_each_step_leaves_no_garbage_and_collects_fully_only_after_the_collector_ran(
    cycles: int,
) -> None:
    import gc

    from perfkit.collect.timing import collect_garbage

    assert gc.isenabled()
    after = collect_garbage(None)  # the first step: a full collection
    _cycles(cycles)  # one step; 20,000 cycles set the collector off during it, 50 do not
    ran = sum(g["collections"] for g in gc.get_stats()) != after
    full = _full_collections()
    collect_garbage(after)
    assert _full_collections() == full + (1 if ran else 0)
    assert gc.collect() == 0  # nothing the step left is billed to the next one
    assert ran == (cycles == 20_000)


def test_atomic_writes_follow_the_umask_not_mkstemps_0600(tmp_path: Path) -> None:
    import stat

    from perfkit.rundir import _UMASK, atomic_write_text

    target = tmp_path / "shared.txt"
    atomic_write_text(target, "x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_UMASK
