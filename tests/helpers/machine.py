"""How the suite's two pytest-xdist workers share the machine.

Every test runs holding a shared `flock` on one file per session (`share`, from the
conftest's `pytest_runtest_protocol` wrapper). A fixture whose result is a verdict of a
short timing plan (the demo's quick run, the report room's built run) measures `alone`:
it converts the lock to exclusive for that block, so the other worker waits between two
of its tests instead of timing on the other core. Only those builds wait: the tests
that read them, render notebooks or check files run beside the other worker. A test that
waits for a build of the other worker steps aside (`stepping_aside`) while it waits, or
the two would wait for each other. Without xdist (one process) all three do nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_held: list[IO[str]] = []  # this process's lock file while a test runs


def _path() -> Path | None:
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return None if run_id is None else Path(tempfile.gettempdir()) / f"perfkit-tests-{run_id}.lock"


@contextlib.contextmanager
def share() -> Iterator[None]:
    """Hold the session's lock shared for the block (one test: setup, call, teardown)."""
    path = _path()
    if path is None:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        _held.append(handle)
        try:
            yield
        finally:
            _held.remove(handle)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """The block runs with no test of the other worker running (exclusive, then shared)."""
    if not _held:
        yield
        return
    fcntl.flock(_held[-1], fcntl.LOCK_EX)  # a conversion: our shared lock is dropped first
    try:
        yield
    finally:
        fcntl.flock(_held[-1], fcntl.LOCK_SH)


@contextlib.contextmanager
def stepping_aside() -> Iterator[None]:
    """Drop the shared lock for the block (waiting for the other worker's `alone` build)."""
    if not _held:
        yield
        return
    fcntl.flock(_held[-1], fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(_held[-1], fcntl.LOCK_SH)
