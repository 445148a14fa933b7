"""pytest plugin (entry point ``pytest11``): the ``performance``/``slow`` markers and ``--perf``.

Must stay cheap to import: no pandas/matplotlib at import time.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfkit")
    group.addoption("--perf", action="store_true", default=False, help="run performance tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "performance: a perfkit performance test (needs --perf)")
    config.addinivalue_line("markers", "slow: a slow test")
