"""Shared helpers for tests that drive the real `perfkit` command in subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture
def cli():
    return perfkit_cli
