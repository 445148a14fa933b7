"""How busy the machine was while a run measured: load average, CPU taken by other processes, steal.

The scheduler samples between timing rounds and writes the summary (`LoadRecord`) into
run.json; the report states it beside the verdicts. CPU of other processes is the machine's
busy time minus what this process and its workers (running or waited for) used, as a share
of all cores over the interval. Reads the kernel's counters through psutil; measures nothing
itself.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import psutil

from perfkit.rundir.schema import LoadRecord

# Other processes taking a quarter of the machine, or the hypervisor a twentieth, is enough to
# move a 2-core box's timings by more than the changes perfkit is asked to see.
HIGH_OTHER_CPU_SHARE = 0.25
HIGH_STEAL_SHARE = 0.05


def _busy_and_steal() -> tuple[float, float, float]:
    """Machine-wide (busy, steal, total) CPU seconds since boot."""
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    steal = getattr(times, "steal", 0.0)
    return total - idle - steal, steal, total


def _own_seconds() -> float:
    """CPU seconds of this process, its reaped children and the processes still running under
    it: ping-pong rounds overlap (`--processes 2`), so a sample between rounds finds workers
    running, whose time would otherwise count as other processes' until they are reaped
    (selfbench: 13-22 % "other" against 1 % for the same box one worker at a time)."""
    me = psutil.Process()
    total = _times(me.cpu_times())
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # ended meanwhile: counted once reaped
            total += _times(child.cpu_times())
    return total


def _times(t: Any) -> float:
    return t.user + t.system + t.children_user + t.children_system


class LoadMonitor:
    """Samples the machine's load between timing rounds; `record()` summarises them."""

    def __init__(self) -> None:
        self.cores = psutil.cpu_count() or 1
        self._last = self._read()
        self._other: list[float] = []
        self._steal: list[float] = []
        self._loadavg: list[float] = []

    def _read(self) -> tuple[float, float, float, float]:
        busy, steal, total = _busy_and_steal()
        return busy, steal, total, _own_seconds()

    def sample(self) -> float:
        """Record the interval since the last sample; returns other processes' CPU share."""
        now = self._read()
        busy, steal, total, own = (a - b for a, b in zip(now, self._last, strict=True))
        self._last = now
        self._loadavg.append(os.getloadavg()[0])
        if total <= 0:
            return 0.0
        other = min(1.0, max(0.0, (busy - own) / total))
        self._other.append(other)
        self._steal.append(min(1.0, max(0.0, steal / total)))
        return other

    def record(self) -> LoadRecord:
        other = self._other or [0.0]
        steal = self._steal or [0.0]
        loadavg = self._loadavg or [os.getloadavg()[0]]
        mean_other = sum(other) / len(other)
        mean_steal = sum(steal) / len(steal)
        return LoadRecord(
            cores=self.cores,
            samples=len(self._other),
            load_average_mean=sum(loadavg) / len(loadavg),
            load_average_max=max(loadavg),
            other_cpu_share_mean=mean_other,
            other_cpu_share_max=max(other),
            steal_share_mean=mean_steal,
            high=mean_other >= HIGH_OTHER_CPU_SHARE or mean_steal >= HIGH_STEAL_SHARE,
        )
