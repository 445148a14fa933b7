"""pytest plugin (entry point ``pytest11``): markers, ``--perf`` and the ``perf`` fixture.

Performance tests (marked ``performance``, or using ``perf``) are skipped unless ``--perf``
is given or ``-m`` selects them. ``perf`` measures in-process (`perfkit.interactive.inprocess`) and
``--perf-save DIR`` writes a run directory. Cheap to import: no pandas, numpy or matplotlib
at start-up; measurement, statistics and the run directory load inside the fixture.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfkit.interactive.inprocess import BudgetCheck, MemoryResult, TimeResult
    from perfkit.rundir import RunWriter

PERF_MARK = "performance"
DEFAULT_BUDGET = "50ms"
SKIP_REASON = "performance test: run with --perf (or select it with -m performance)"
_SELECTS_PERF = re.compile(rf"\b{PERF_MARK}\b")
_EXCLUDES_PERF = re.compile(rf"\bnot\s+{PERF_MARK}\b")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfkit", "perfkit performance tests")
    group.addoption(
        "--perf",
        action="store_true",
        default=False,
        help="run performance tests (marked 'performance' or using the perf fixture)",
    )
    group.addoption(
        "--perf-save",
        metavar="DIR",
        default=None,
        help="write the perf measurements as a perfkit run directory under DIR",
    )
    group.addoption(
        "--perf-label",
        metavar="LABEL",
        default="current",
        help="target label of the saved measurements (default: current)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{PERF_MARK}: a performance test, skipped unless --perf or -m {PERF_MARK}"
    )
    label = config.getoption("perf_label", "current")
    save = config.getoption("perf_save", None)
    if save:
        from perfkit.rundir import valid_label  # pandas: only when saving

        if not valid_label(label):
            raise pytest.UsageError(f"--perf-label {label!r}: use letters, digits and _.+- only")
    config.stash[_RECORDER] = _Recorder(config, Path(save) if save else None, label)


def perf_selected(config: pytest.Config) -> bool:
    """True with ``--perf``, or when ``-m`` names the marker without negating it."""
    if config.getoption("perf", False):
        return True
    expression = config.getoption("markexpr", "") or ""
    return bool(_SELECTS_PERF.search(expression)) and not _EXCLUDES_PERF.search(expression)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the fixture's tests get the marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_perf = "perf" in getattr(item, "fixturenames", ())
        if uses_perf and item.get_closest_marker(PERF_MARK) is None:
            item.add_marker(PERF_MARK)
    if perf_selected(config):
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker(PERF_MARK) is not None:
            item.add_marker(skip)


@dataclass(frozen=True)
class PerfResult:
    """What one ``perf(...)`` call measured, and its budget checks."""

    benchmark: str
    params: str
    time: TimeResult
    memory: MemoryResult | None = None
    checks: tuple[BudgetCheck, ...] = ()

    @property
    def met(self) -> bool:
        return all(check.met for check in self.checks)

    def describe(self) -> str:
        parts = [self.time.describe()]
        if self.memory is not None:
            parts.append(self.memory.describe())
        return "; ".join(parts)


@dataclass
class _Recorder:
    """The session's measurements: for the terminal summary and ``--perf-save``."""

    config: pytest.Config
    save_dir: Path | None
    label: str
    results: list[tuple[str, PerfResult]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)  # case id -> nodeid
    writer: RunWriter | None = None
    index_error: str = ""

    def name_for(self, item: pytest.Item, nth: int) -> tuple[str, str]:
        """(benchmark, params) of a test: its name and its parametrize values as ``k=v``."""
        from perfkit.rundir.ids import case_id, format_params

        name = getattr(item, "originalname", None) or item.name
        cls = getattr(item, "cls", None)
        if cls is not None:
            name = f"{cls.__name__}.{name}"
        callspec = getattr(item, "callspec", None)
        params = format_params(callspec.params) if callspec is not None else ""
        base_nodeid = item.nodeid.split("[", 1)[0]
        if self.owners.setdefault(case_id(name, params), base_nodeid) != base_nodeid:
            name = base_nodeid  # same test name in another module: keep the two apart
            self.owners.setdefault(case_id(name, params), base_nodeid)
        if nth > 1:
            name = f"{name}#{nth}"
        return name, params

    def record(self, item: pytest.Item, result: PerfResult, budgets: dict[str, Any]) -> None:
        self.results.append((item.nodeid, result))
        if self.save_dir is not None:
            self._save(item, result, budgets)

    def _save(self, item: pytest.Item, result: PerfResult, budgets: dict[str, Any]) -> None:
        from perfkit.config.project import case_budgets, project_config
        from perfkit.rundir import MEMORY_CSV, MEMORY_SUMMARY_CSV, SAMPLES_CSV
        from perfkit.rundir.ids import case_id
        from perfkit.rundir.schema import CaseRecord

        writer = self.writer or self._create_writer()
        key = {"benchmark": result.benchmark, "params": result.params, "target": self.label}
        writer.add_rows(SAMPLES_CSV, result.time.rows(**key))
        if result.memory is not None:
            memory = result.memory
            writer.add_rows(MEMORY_CSV, [{**key, "worker": 0, **row} for row in memory.rows])
            summary = {
                "baseline_rss_bytes": memory.baseline_rss_bytes,
                "peak_rss_bytes": memory.peak_rss_bytes,
                "py_peak_bytes": memory.py_peak_bytes,
                "calls": memory.calls,
            }
            writer.add_rows(MEMORY_SUMMARY_CSV, [{**key, "worker": 0, **summary}])
        case = CaseRecord(
            id=case_id(result.benchmark, result.params),
            name=result.benchmark,
            params=result.params,
            budget_seconds=budgets.get("seconds"),
            # perfkit budgets judge a worker's absolute peak RSS; in-process the fixture judges
            # what the calls add, so that budget is kept under its own name.
            memory_budget_bytes=None,
            in_process_memory_budget_bytes=budgets.get("bytes"),
            timeout_seconds=None,
            nodeid=item.nodeid,
        )
        recorded = [b for b in writer.info.budgets or () if b.id != case.id]
        recorded += case_budgets([case], project_config())
        writer.write_meta(cases={**writer.info.cases, case.id: case}, budgets=tuple(recorded))

    def _create_writer(self) -> RunWriter:
        from perfkit import __version__
        from perfkit.collect import interpreters
        from perfkit.collect.host import host_info, python_info
        from perfkit.collect.targets import git_sha_of
        from perfkit.config import DEFAULT_IN_PROCESS
        from perfkit.rundir import RunWriter
        from perfkit.rundir.schema import RunInfo, TargetInfo

        root = self.config.rootpath
        args = " ".join(self.config.invocation_params.args)
        meta = RunInfo(
            id="",
            perfkit_version=__version__,
            suite=f"pytest {args}".strip(),
            options={**asdict(DEFAULT_IN_PROCESS), "in_process": True, "runner": "pytest"},
            interleaved=False,
            host=host_info(),
            python=python_info(),
            targets={
                self.label: TargetInfo(
                    "pytest", str(root), git_sha_of(root), interpreter=interpreters.own()
                )
            },
        )
        self.writer = RunWriter.create(self.save_dir, meta)
        return self.writer

    def finish(self, status: str) -> None:
        if self.writer is None:
            return
        self.writer.finish(status)
        try:
            from perfkit.history.store import default_db, index_run
            from perfkit.rundir import load_run

            index_run(load_run(self.writer.path), default_db())
        except Exception as exc:  # the run directory is the source of truth
            self.index_error = f"{type(exc).__name__}: {exc}"


_RECORDER = pytest.StashKey[_Recorder]()


class PerfFixture:
    """``perf(fn, *args, budget="50ms", memory_budget=None, **kwargs)``: measure and check.

    ``budget=None`` measures without a time check. Fails the test with a message naming
    the budget, the measured median and its CI; returns a `PerfResult` otherwise.
    """

    def __init__(self, item: pytest.Item, recorder: _Recorder) -> None:
        from perfkit.config import DEFAULT_IN_PROCESS

        self.item = item
        self.recorder = recorder
        self.plan = DEFAULT_IN_PROCESS  # replace it in a test to measure more or less
        self.calls = 0

    def __call__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        budget: str | float | None = DEFAULT_BUDGET,
        memory_budget: str | int | None = None,
        **kwargs: Any,
    ) -> PerfResult:
        from perfkit.interactive.inprocess import (
            check_memory_budget,
            check_time_budget,
            memory_in_process,
            time_in_process,
        )
        from perfkit.units import parse_bytes, parse_seconds

        budgets = {"seconds": parse_seconds(budget), "bytes": parse_bytes(memory_budget)}
        self.calls += 1
        benchmark, params = self.recorder.name_for(self.item, self.calls)
        body = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
        timing = time_in_process(body, self.plan)
        memory = memory_in_process(body, self.plan) if memory_budget is not None else None
        checks = []
        if budget is not None:
            checks.append(check_time_budget(timing, budget))
        if memory is not None and memory_budget is not None:
            checks.append(check_memory_budget(memory, memory_budget))
        result = PerfResult(benchmark, params, timing, memory, tuple(checks))
        self.recorder.record(self.item, result, budgets)
        missed = [check.message for check in checks if not check.met]
        if missed:
            pytest.fail("\n".join(missed), pytrace=False)
        return result


@pytest.fixture
def perf(request: pytest.FixtureRequest) -> PerfFixture:
    """Measure a callable with perfkit's engine in this process and check its budgets."""
    return PerfFixture(request.node, request.config.stash[_RECORDER])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = session.config.stash.get(_RECORDER, None)
    if recorder is not None:
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        recorder.finish("interrupted" if interrupted else "complete")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.results:
        return
    terminalreporter.section("perfkit")
    for nodeid, result in recorder.results:
        mark = "" if not result.checks else ("✅ " if result.met else "❌ ")
        budget = ", ".join(f"{c.kind} budget {c.budget_text}" for c in result.checks)
        terminalreporter.write_line(
            f"{mark}{nodeid}: {result.describe()}" + (f" [{budget}]" if budget else "")
        )
    if recorder.writer is not None:
        terminalreporter.write_line(f"perfkit run saved: {recorder.writer.path}")
        terminalreporter.write_line(f"  perfkit show {recorder.writer.path}")
        if recorder.index_error:
            terminalreporter.write_line(f"history index not updated: {recorder.index_error}")
