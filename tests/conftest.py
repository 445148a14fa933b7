"""Shared test helpers: the real `perfkit` command in subprocesses, and the fake clock
(`helpers.clock`) as a fixture."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from helpers.clock import FakeClock, install
from helpers.demo_runs import DemoQuick
from helpers.demo_runs import demo_quick as run_demo_quick

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


@pytest.fixture(scope="session")
def demo_quick(tmp_path_factory: pytest.TempPathFactory) -> DemoQuick:
    """`perfkit demo --quick`, run once per session for the slow tests that check it."""
    return run_demo_quick(tmp_path_factory.mktemp("demo-quick"))


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
