"""Shared test helpers: the real `perfkit` command in subprocesses, the fake clock
(`helpers.clock`) as a fixture, and how the suite is split over two pytest-xdist workers.

The suite runs on two processes (`-n 2 --dist loadfile` in pyproject.toml): a test file runs
on one worker, so its module fixtures are built once, and the `demo_quick` run is shared by
the workers through a file lock. Files with `slow` tests are handed out first, so the
longest files do not end up last on one worker while the other idles. Every test holds the
machine shared; the few fixtures whose results are verdicts of a short plan build them
alone (`helpers.machine`), so a busy neighbour cannot turn their known change into
"inconclusive".
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from helpers.clock import FakeClock, install
from helpers.demo_runs import DemoQuick, shared_demo_quick
from helpers.machine import share

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "tests" / "suites"
TARGETS = ROOT / "tests" / "targets"


def perfkit_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m perfkit ARGS`` for real and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "perfkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with slow tests first (xdist hands out whole files in this order)."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items[:] = sorted(items, key=lambda item: item.path not in slow_files)  # stable


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Setup, call and teardown of one test under the machine share (see the module doc)."""
    with share():
        return (yield)


@pytest.fixture(scope="session")
def demo_quick(tmp_path_factory: pytest.TempPathFactory) -> DemoQuick:
    """`perfkit demo --quick`, run once per session (by whichever worker needs it first)."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # shared by the workers of this session
    return shared_demo_quick(root / "demo-quick")


@pytest.fixture
def cli():
    return perfkit_cli


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[ModuleType], FakeClock]:
    """``clock = fake_clock(module)`` replaces ``module._clock`` with a `FakeClock`."""
    return functools.partial(install, monkeypatch)


@pytest.fixture(autouse=True, scope="session")
def _private_history_index(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs made by tests are indexed in a throw-away index, not the project's."""
    os.environ.setdefault("PERFKIT_DB", str(tmp_path_factory.mktemp("index") / "perfkit.sqlite"))
