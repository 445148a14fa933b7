"""The memory room: growth slopes and the leak verdict on synthetic series, the summary of a
synthetic run directory, the RSS sampler, the in-worker pass, and the done-when scenario
end to end through `perfkit run --memory` (leak, no leak, and a runaway stopped by its cap).
"""

from __future__ import annotations

import collections
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from conftest import SUITES, perfkit_cli
from helpers.runs import build_run

from perfkit.analysis.memory import (
    SUMMARY_COLUMNS,
    fit_growth,
    growth_fit,
    growth_text,
    is_leak,
    memory_summary,
    theil_sen,
)
from perfkit.collect import memory as collect_memory
from perfkit.collect import rss as memory_sampler
from perfkit.config import DEFAULT_STATS
from perfkit.rundir import MEMORY_SITES_CSV, load_run

FLOOR = DEFAULT_STATS.leak_floor_bytes_per_call
KB = 1000


def test_linear_growth_is_a_leak_of_its_slope() -> None:
    rng = np.random.default_rng(1)
    x = np.arange(1, 9)
    y = 5_000_000 + 200 * KB * x + rng.normal(0, 500, len(x))
    growth = fit_growth(x, y)
    assert growth.bytes_per_call == pytest.approx(200 * KB, rel=0.01)
    assert growth.ci_low <= growth.bytes_per_call <= growth.ci_high
    assert is_leak(growth, FLOOR)
    assert growth_text(growth, True, FLOOR).startswith("leaks ~200 KB per call")


def test_flat_noisy_series_is_no_growth() -> None:
    rng = np.random.default_rng(2)
    x = np.arange(1, 21)
    growth = fit_growth(x, 3_000_000 + rng.normal(0, 2 * KB, len(x)))
    assert growth.ci_low < 0 < growth.ci_high
    assert not is_leak(growth, FLOOR)
    assert growth_text(growth, False, FLOOR) == "no growth"


def test_one_off_step_is_not_a_leak() -> None:
    # A dict resize or a cache filled once: one jump in the middle of the window.
    x = np.arange(1, 9)
    y = np.where(x > 4, 1_000_000 + 100 * KB, 1_000_000)
    growth = fit_growth(x, y)
    assert growth.bytes_per_call > 0
    assert growth.ci_low == 0
    assert not is_leak(growth, FLOOR)


def test_steady_growth_below_the_floor_is_not_a_leak() -> None:
    x = np.arange(1, 9)
    growth = fit_growth(x, 4 * KB * x)
    assert growth.ci_low == pytest.approx(4 * KB)
    assert not is_leak(growth, FLOOR)
    assert "below the 16.4 KB leak floor" in growth_text(growth, False, FLOOR)


def test_theil_sen_is_scipys_bit_for_bit() -> None:
    # Random series with and without ties (repeated x, page-sized y steps), three levels.
    from scipy import stats

    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(600):
        n = int(rng.integers(3, 25))
        x = np.arange(n, dtype=float) if trial % 3 else rng.integers(0, 6, n).astype(float)
        if len(np.unique(x)) < 2:
            continue
        if trial % 2:
            y = np.round(rng.normal(0, 1000, n) + rng.choice([0, 50, 3000]) * x)
        else:
            y = rng.integers(0, 4, n) * 4096.0
        for confidence in (0.9, 0.95, 0.99):
            with np.errstate(invalid="ignore"):
                want = stats.theilslopes(y, x, alpha=confidence)
            got = theil_sen(x, y, confidence)
            expected = (want.slope, want.low_slope, want.high_slope)
            assert all(
                a == b or (math.isnan(a) and math.isnan(b))
                for a, b in zip(got, map(float, expected), strict=True)
            ), (x, y, confidence, got, expected)
            checked += 1
    assert checked > 1000


def test_a_growth_fit_at_the_default_level_imports_no_scipy() -> None:
    code = (
        "import sys; from perfkit.analysis.memory import fit_growth; "
        "g = fit_growth([1, 2, 3, 4, 5], [0, 10, 25, 30, 41]); assert g.ci_low < g.ci_high; "
        "print(sorted(m for m in ('scipy.special', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]"]


def test_too_few_points_give_no_verdict() -> None:
    growth = fit_growth([1, 2], [0, 10**9])
    assert math.isnan(growth.bytes_per_call) and growth.n_points == 2
    assert not is_leak(growth, FLOOR)
    assert "unknown" in growth_text(growth, False, FLOOR)


def _write_run(tmp_path: Path) -> Path:
    """A run with memory results only: `grow` leaks 50 KB/call on `current`, not on `baseline`."""
    memory, summary, sites = [], [], []
    for target, per_call in (("baseline", 0), ("current", 50 * KB)):
        key = {"benchmark": "grow", "params": "n=10", "target": target, "worker": 0}
        memory += [
            {
                **key,
                "iteration": i,
                # Iteration 0 is before the first traced call; the jump to 1 is warm-up.
                "py_current_bytes": 0 if i == 0 else 10**7 + per_call * i,
                "py_peak_bytes": 10**7 + per_call * i + 1000,
                "rss_bytes": 40 * 10**6 + per_call * i,
            }
            for i in range(9)
        ]
        summary.append(
            {
                **key,
                "baseline_rss_bytes": 30 * 10**6,
                "peak_rss_bytes": 45 * 10**6,
                "py_peak_bytes": 10**7 + 9 * per_call,
                "calls": 11,
            }
        )
        if per_call:
            sites += [
                {**key, "site": "app/cache.py:12", "size_bytes": 350 * KB, "count": 7},
                {**key, "site": "app/log.py:3", "size_bytes": 900, "count": 9},
            ]
    return build_run(
        tmp_path,
        ("baseline", "current"),
        memory=memory,
        memory_summary=summary,
        memory_sites=sites,
        options={"memory_warmup_calls": 1},
    )


def test_memory_summary_of_a_run(tmp_path: Path) -> None:
    summary = memory_summary(load_run(_write_run(tmp_path)))
    assert list(summary.columns) == SUMMARY_COLUMNS
    rows = summary.set_index("target")
    assert set(summary["id"]) == {"grow[n=10]"}
    current, baseline = rows.loc["current"], rows.loc["baseline"]
    assert current["leak"] and not baseline["leak"]
    assert current["growth_bytes_per_call"] == pytest.approx(50 * KB)
    assert [current["growth_ci_low"], current["growth_ci_high"]] == pytest.approx([50 * KB] * 2)
    assert current["growth_ci"] == pytest.approx([50 * KB] * 2)
    assert baseline["growth_bytes_per_call"] == 0  # the warm-up jump from row 0 is skipped
    assert current["top_growth_sites"][0] == {
        "site": "app/cache.py:12",
        "size_bytes": 350 * KB,
        "count": 7,
    }
    assert baseline["top_growth_sites"] == []
    assert current["peak_above_baseline_bytes"] == 15 * 10**6
    assert summary["leak"].dtype == bool


def test_memory_summary_of_a_run_without_memory(tmp_path: Path) -> None:
    summary = memory_summary(load_run(build_run(tmp_path)))
    assert summary.empty and list(summary.columns) == SUMMARY_COLUMNS


def test_sampler_sees_current_and_peak_rss() -> None:
    now = memory_sampler.current_rss_bytes()
    assert now == pytest.approx(psutil.Process().memory_info().rss, rel=0.2)

    def touch_50_mb() -> int:
        block = bytearray(50 * 10**6)
        block[::4096] = b"x" * len(range(0, len(block), 4096))  # make every page resident
        time.sleep(0.1)  # held long enough for the sampling process to see it, too
        return len(block)

    peak = memory_sampler.peak_rss_during(touch_50_mb)
    assert peak.value == 50 * 10**6
    assert peak.peak_rss_bytes >= now + 40 * 10**6
    assert peak.peak_rss_bytes == max(peak.sampled_rss_bytes, peak.kernel_peak_bytes or 0)


def test_memory_pass_in_process_finds_the_leaking_line() -> None:
    kept: collections.deque[bytes] = collections.deque(maxlen=50)

    def leaky() -> None:
        kept.append(b"y" * 100_000)

    payload = collect_memory.measure(leaky, {"memory_calls": 6, "memory_peak_calls": 2})
    assert [row["iteration"] for row in payload["rows"]] == list(range(7))
    assert payload["body_calls"] == payload["summary"]["calls"] == 8
    growth = growth_fit(payload["rows"], warmup_calls=1)
    assert growth.bytes_per_call == pytest.approx(100_000, rel=0.05)
    # ~100 KB within the 5 % above: under xdist the worker's execnet thread allocates too
    assert growth.leak and growth.n_points == 6
    assert re.match(r"leaks ~(9[5-9]|10[0-5])(\.\d)? KB per call \(CI ", growth.text)
    top = payload["sites"][0]
    assert top["site"].endswith(f"{Path(__file__).name}:{leaky.__code__.co_firstlineno + 1}")
    assert top["count"] == 5 and top["size_bytes"] == pytest.approx(500_000, rel=0.05)
    summary = payload["summary"]
    assert summary["peak_rss_bytes"] >= summary["baseline_rss_bytes"] > 0


def test_a_memory_pass_with_a_prof_path_profiles_the_warm_body_after_its_figures(
    tmp_path: Path,
) -> None:
    import pstats

    calls: list[None] = []

    def body() -> None:
        calls.append(None)
        sum(range(2000))

    prof = tmp_path / "side" / "case.prof"
    options = {
        "memory_calls": 5,
        "memory_peak_calls": 1,
        "prof_path": str(prof),
        "profile_min_seconds": 0.005,
    }
    payload = collect_memory.measure(body, options)
    memory_calls = payload["summary"]["calls"]
    assert memory_calls == 6 and len(payload["rows"]) == 6  # the memory figures are whole
    profile = payload["profile"]
    # After the memory calls, only the profiler's probes and final loop: no unprofiled
    # warm-up call (the body is warm), and the written profile covers exactly its calls.
    assert profile["body_calls"] == len(calls) - memory_calls
    assert payload["body_calls"] == len(calls)
    stats = pstats.Stats(str(prof))
    ran = [v for k, v in stats.stats.items() if k[2] == "body"]  # type: ignore[attr-defined]
    assert ran and ran[0][1] == profile["calls"]


def test_slow_bodies_get_fewer_growth_calls_but_enough_for_a_slope() -> None:
    assert collect_memory._growth_calls(20, 0.001, 60.0) == 20
    assert collect_memory._growth_calls(20, 10.0, 60.0) == 6
    assert collect_memory._growth_calls(20, 100.0, 60.0) == collect_memory.MIN_GROWTH_CALLS
    assert collect_memory._growth_calls(3, 100.0, 60.0) == 3


def test_site_names_are_relative_to_their_import_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", ["/srv/app", "/srv/app/lib"])
    assert collect_memory.site_name("/srv/app/lib/deep/mod.py", 7) == "deep/mod.py:7"
    assert collect_memory.site_name("/elsewhere/x.py", 1) == "/elsewhere/x.py:1"


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_run_memory_reports_leak_no_leak_and_a_capped_runaway(tmp_path: Path) -> None:
    proc = perfkit_cli(
        "run",
        str(SUITES / "memory_suite.py"),
        "--memory",
        "--quick",
        "--workers",
        "1",
        "--memory-limit",
        "300MB",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 1, proc.stderr  # the runaway failed; the rest went on
    run = load_run(Path(proc.stdout.strip().splitlines()[-1]))
    assert run.meta["status"] == "complete"
    # The cap holds in every worker: the timing pass and the memory pass both crash on it.
    assert set(run.failures["benchmark"]) == {"runaway"}
    assert (run.failures["kind"] == "crash").all()
    assert run.failures["message"].str.contains("memory limit").all()

    summary = memory_summary(run).set_index("benchmark")
    assert set(summary.index) == {"leaky", "alloc_and_free"}
    leaky, freed = summary.loc["leaky"], summary.loc["alloc_and_free"]
    assert leaky["leak"] and 150 * KB <= leaky["growth_bytes_per_call"] <= 260 * KB
    leak_line = _line_of(SUITES / "memory_suite.py", "kept.append(")
    assert leaky["top_growth_sites"][0]["site"] == f"memory_suite.py:{leak_line}"
    assert not freed["leak"] and abs(freed["growth_bytes_per_call"]) < FLOOR
    for row in (leaky, freed):
        assert row["peak_rss_bytes"] >= row["baseline_rss_bytes"] > 1_000_000
        assert row["py_peak_bytes"] >= 200 * KB  # each call allocates 200 KB at least once
    assert os.path.exists(run.path / MEMORY_SITES_CSV)
