"""Resident memory (RSS) of this process: now, and at its peak while a function runs.

The one module that touches memory_profiler (unmaintained since 2022), so that it can be
replaced by psutil alone without changing callers. It measures; it decides nothing.
memory_profiler is optional: a worker in a foreign environment (a target's own
interpreter, see `perfkit.collect.shipping`) has neither it nor psutil, and then RSS comes
from ``/proc/self/statm`` and the peak from the kernel's high-water mark (``VmHWM``, reset
before the function) or, where that cannot be reset, ``resource``'s lifetime peak.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _memory_usage() -> Any:
    """memory_profiler's `memory_usage`, or None where it is not installed (a bare target
    environment: /proc and resource only).

    memory_profiler imports IPython for its notebook magics when it can: ~40-70 ms of every
    memory worker's start on this 2-core box, and IPython's modules in the baseline RSS.
    Where IPython is not loaded yet, it is hidden while memory_profiler loads (which then
    defines no magics) and visible again at once, so a suite may still import it."""
    hidden = "IPython" not in sys.modules
    if hidden:
        sys.modules["IPython"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        from memory_profiler import memory_usage
    except ImportError:
        return None
    finally:
        if hidden:
            del sys.modules["IPython"]
    return memory_usage


memory_usage = _memory_usage()

_MIB = 2**20
# Linux keeps the exact high-water mark of RSS (VmHWM); writing "5" to clear_refs resets it.
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
_HWM = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.MULTILINE)
_STATM = Path("/proc/self/statm")


@dataclass(frozen=True)
class PeakRss:
    """Peak RSS while a function ran, and how it was seen."""

    peak_rss_bytes: int  # the larger of the two below
    sampled_rss_bytes: int  # highest sample of memory_profiler's sampling process
    kernel_peak_bytes: int | None  # the kernel's exact high-water mark, where it can be reset
    value: Any = None  # what the function returned


def current_rss_bytes() -> int:
    """RSS of this process now."""
    if memory_usage is not None:
        return round(memory_usage(-1, interval=0)[0] * _MIB)
    try:
        resident_pages = int(_STATM.read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return _lifetime_peak_bytes()  # no /proc: the best figure left is the peak so far
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _lifetime_peak_bytes() -> int:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def prepare(interval_seconds: float = 0.01) -> None:
    """Load the sampling machinery (process start, pipes) now, so a baseline taken next
    already holds it and a peak measured later is the measured function's, not ours."""
    peak_rss_during(lambda: None, interval_seconds)


def _reset_kernel_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _kernel_peak_bytes() -> int | None:
    try:
        match = _HWM.search(_STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def peak_rss_during(func: Callable[[], Any], interval_seconds: float = 0.01) -> PeakRss:
    """Run ``func()`` once while sampling RSS; return the peak and func's return value.

    Sampling (a memory_profiler process polling every `interval_seconds`) misses spikes
    shorter than the interval, so where Linux lets us reset the kernel's exact high-water
    mark first, that mark is read too and the larger value wins.
    """
    kernel = _reset_kernel_peak()
    if memory_usage is None:
        return _peak_without_sampler(func, kernel)
    sampled_mib, value = memory_usage(
        (func, (), {}),
        interval=interval_seconds,
        max_usage=True,
        retval=True,
        max_iterations=1,  # otherwise a fast func is re-run with a finer interval
        include_children=False,
    )
    sampled = round(sampled_mib * _MIB)
    kernel_peak = _kernel_peak_bytes() if kernel else None
    return PeakRss(
        peak_rss_bytes=max(sampled, kernel_peak or 0),
        sampled_rss_bytes=sampled,
        kernel_peak_bytes=kernel_peak,
        value=value,
    )


def _peak_without_sampler(func: Callable[[], Any], kernel: bool) -> PeakRss:
    """No memory_profiler: the kernel's mark reset before `func` (exact), else the lifetime
    peak (an upper bound); `sampled_rss_bytes` is then the RSS seen before and after."""
    before = current_rss_bytes()
    value = func()
    seen = max(before, current_rss_bytes())
    mark = _kernel_peak_bytes() if kernel else None
    if mark is None:
        mark = _lifetime_peak_bytes()
    return PeakRss(
        peak_rss_bytes=max(seen, mark),
        sampled_rss_bytes=seen,
        kernel_peak_bytes=mark if kernel else None,
        value=value,
    )
