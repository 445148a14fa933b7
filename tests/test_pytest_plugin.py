"""The pytest plugin in real inner pytest sessions, and the in-process measurement it uses.

Timing goes through a fake clock (the body advances it), so budgets pass or fail
deterministically; the memory test measures for real with loose margins.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace

# numpy, pandas, scipy and perfkit are imported here so that pytester's in-process inner
# sessions find them loaded: it unloads modules first imported by an inner session, and
# numpy cannot be imported twice (the plugin loads these lazily: importing it is not enough).
import numpy  # noqa: F401
import pandas  # noqa: F401
import pytest
import scipy.stats  # noqa: F401

from perfkit.config import DEFAULT_IN_PROCESS
from perfkit.interactive.inprocess import (
    TimeResult,
    check_time_budget,
    plan_counts,
    summarise_groups,
    time_in_process,
)

pytest_plugins = ["pytester"]

FAKE_CLOCK = """
import itertools

import pytest
from helpers.clock import install

import perfkit.collect.timing as timing


@pytest.fixture
def clock(monkeypatch):
    return install(monkeypatch, timing)


def work(clock, seconds):
    durations = itertools.cycle(seconds)

    def body():
        clock.advance(next(durations))

    return body
"""

PERF_TESTS = """
import pytest

from conftest import work


def test_within_budget(perf, clock):
    result = perf(work(clock, [0.020, 0.021, 0.019]), budget="50ms")
    assert result.met and result.time.n_groups == 8


def test_over_budget(perf, clock):
    perf(work(clock, [0.060, 0.062, 0.064, 0.061, 0.063]), budget="50ms")


@pytest.mark.parametrize("n", [10, 100])
def test_sized(perf, clock, n):
    perf(work(clock, [n * 1e-5]), budget="1s")


@pytest.mark.performance
def test_marked_without_fixture():
    pass


@pytest.mark.slow
def test_slow_but_not_performance():
    pass


def test_plain():
    pass
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    # The inner project declares its own `slow`, as a project must: the plugin adds only
    # `performance`.
    pytester.makeini("[pytest]\nmarkers =\n    slow: a slow test\n")
    pytester.makeconftest(FAKE_CLOCK)
    pytester.makepyfile(test_perf=PERF_TESTS)
    return pytester


def test_plain_pytest_skips_performance_tests(inner: pytest.Pytester) -> None:
    result = inner.runpytest("-rs")
    result.assert_outcomes(passed=2, skipped=5)
    result.stdout.fnmatch_lines(["*performance test: run with --perf*"])
    assert "= perfkit =" not in result.stdout.str()


def test_perf_runs_budgets_and_fails_with_budget_median_and_ci(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--perf")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_over_budget*",
            "perf budget 50 ms missed: median 6* ms (95 % CI 6*–6* ms) over 8 groups of 4 samples",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*= perfkit =*", "✅ test_perf.py::test_within_budget: median 20*"]
    )


def test_plugin_registers_only_its_own_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.performance: a performance test*"])
    assert "@pytest.mark.slow" not in result.stdout.str()
    pytester.makepyfile("import pytest\n\n@pytest.mark.slow\ndef test_x():\n    pass\n")
    # In a subprocess: in-process sessions share pytest's cache of known marker names.
    strict = pytester.runpytest_subprocess("--strict-markers")
    strict.stdout.fnmatch_lines(["*'slow' not found in `markers` configuration option*"])


def test_mark_expression_selects_or_deselects_performance_tests(inner: pytest.Pytester) -> None:
    selected = inner.runpytest("-m", "performance")
    selected.assert_outcomes(passed=4, failed=1, deselected=2)
    excluded = inner.runpytest("-m", "not performance")
    excluded.assert_outcomes(passed=2, deselected=5)


def test_perf_save_writes_a_run_that_show_reads(inner: pytest.Pytester) -> None:
    from perfkit.analysis.budgets import check_budgets
    from perfkit.commands.show import show_data
    from perfkit.rundir import load_run

    out = inner.path / "runs"
    result = inner.runpytest("--perf", "--perf-save", str(out), "--perf-label", "pr")
    result.assert_outcomes(passed=6, failed=1)
    (run_dir,) = out.iterdir()
    result.stdout.fnmatch_lines([f"perfkit run saved: {run_dir}"])
    run = load_run(run_dir)
    assert run.meta["status"] == "complete"
    assert run.targets == ["pr"]
    data = show_data(run)
    assert set(data["benchmarks"]) == {
        "test_within_budget",
        "test_over_budget",
        "test_sized[n=10]",
        "test_sized[n=100]",
    }
    sized = data["benchmarks"]["test_sized[n=100]"]["pr"]["timing"]
    assert sized["median_seconds"] == pytest.approx(1e-3)
    assert sized["n_workers"] == 8
    marks = check_budgets(run).set_index("id")["met"].to_dict()
    assert marks == {
        "test_within_budget": True,
        "test_over_budget": False,
        "test_sized[n=10]": True,
        "test_sized[n=100]": True,
    }


def test_saved_names_stay_apart_across_modules_and_calls(pytester: pytest.Pytester) -> None:
    from perfkit.analysis.stats import with_ids
    from perfkit.rundir import load_run

    pytester.makeconftest(FAKE_CLOCK)
    twice = "from conftest import work\n\ndef test_same(perf, clock):\n"
    twice += (
        "    perf(work(clock, [0.01]), budget=None)\n    perf(work(clock, [0.02]), budget=None)\n"
    )
    pytester.makepyfile(test_one=twice, test_two=twice)
    result = pytester.runpytest("--perf", "--perf-save", "runs")
    result.assert_outcomes(passed=2)
    (run_dir,) = (pytester.path / "runs").glob("2*")
    ids = set(with_ids(load_run(run_dir).samples)["id"])
    assert ids == {"test_same", "test_same#2", "test_two.py::test_same", "test_two.py::test_same#2"}


def test_bad_perf_label_is_a_usage_error(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--perf", "--perf-save", "runs", "--perf-label", "a b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-label 'a b'*"])


def test_memory_budget_is_checked_on_what_the_calls_add(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from dataclasses import replace

        import pytest

        def grab():
            return bytearray(30_000_000)

        @pytest.fixture
        def quick_perf(perf):
            perf.plan = replace(perf.plan, max_seconds=0.1, memory_calls=5)
            return perf

        def test_roomy(quick_perf):
            result = quick_perf(grab, budget=None, memory_budget="2GB")
            assert result.memory.py_peak_bytes >= 30_000_000

        def test_tight(quick_perf):
            quick_perf(grab, budget=None, memory_budget="1MB")
        """
    )
    result = pytester.runpytest("--perf")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["perf memory budget 1 MB missed: peak +* MB (RSS *"])


def test_plugin_import_stays_light() -> None:
    code = "import sys, perfkit.interactive.pytest_plugin; print(sorted({'pandas', 'numpy', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_plan_counts_shrink_samples_then_groups() -> None:
    plan = replace(DEFAULT_IN_PROCESS, groups=8, samples=5, min_groups=3, max_seconds=2.0)
    assert plan_counts(0.01, plan) == (8, 5)
    assert plan_counts(0.1, plan) == (8, 2)
    assert plan_counts(0.4, plan) == (5, 1)
    assert plan_counts(5.0, plan) == (3, 1)
    assert plan_counts(0.0, plan) == (8, 5)


def test_time_in_process_with_a_fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import perfkit.collect.timing as timing

    now = [0.0]
    monkeypatch.setattr(timing, "_clock", lambda: now[0])

    def body() -> None:
        now[0] += 1e-4

    result = time_in_process(body)
    assert result.loops >= 100  # calibrated to a sample of at least 10 ms
    assert (result.n_groups, result.n_samples) == (8, 40)
    assert result.median_seconds == pytest.approx(1e-4)
    assert result.describe().startswith("median 100 µs (95 % CI 100–100 µs) over 8 groups of 5")


def test_budget_missed_when_only_the_upper_ci_bound_is_over() -> None:
    groups = [[0.040 + 0.002 * g] * 3 for g in range(8)]
    result = summarise_groups(1, groups)
    assert result.median_seconds < 0.050 < result.ci_high_seconds
    check = check_time_budget(result, "50ms")
    assert not check.met
    assert check.message.startswith("perf budget 50 ms missed: median 47 ms (95 % CI ")
    assert "the upper CI bound" in check.message
    assert check_time_budget(result, 0.1).met


def test_budget_without_a_ci_is_never_met() -> None:
    result = TimeResult(1, ((0.001,),), 0.001, math.nan, math.nan)
    assert not check_time_budget(result, "1s").met
