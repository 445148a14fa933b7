"""A fake ``perf_counter``: time moves only when a test (or a fake body) says so.

perfkit's timing modules read the clock through a module-level ``_clock``; `install`
swaps it for a `FakeClock` so timing logic is tested deterministically, without sleeps.
"""

from __future__ import annotations

from types import ModuleType

import pytest


class FakeClock:
    """Callable like ``time.perf_counter``; returns `now` until `advance` moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def install(monkeypatch: pytest.MonkeyPatch, module: ModuleType, now: float = 0.0) -> FakeClock:
    """Replace ``module._clock`` with a new `FakeClock` for the rest of the test."""
    if not hasattr(module, "_clock"):
        raise AttributeError(f"{module.__name__} has no _clock to replace")
    fake = FakeClock(now)
    monkeypatch.setattr(module, "_clock", fake)
    return fake
