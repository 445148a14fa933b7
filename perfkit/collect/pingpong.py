"""Ping-pong timing: the timing workers of one round alive together, one step at a time.

Every worker of the round loads its target, runs setup and calibrates (they start at once);
then the parent lets them take their warm-ups and samples in turn, in a fresh random order
each step, so that adjacent samples of the targets see the same machine state and its drift
over seconds cancels in their ratio. Protocol on the worker's side: `perfkit.collect.worker`
(option ``stream``). Each worker keeps its own timeout, counted over the time the parent
waited for it; whatever it leaves behind is killed and named as after a single worker
(`perfkit.collect.supervisor`). One side that fails (error, crash, timeout) voids the round
for the others still running: they are killed and their result is None.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from perfkit.collect.supervisor import (
    DRAIN_SECONDS,
    SNAPSHOT_SECONDS,
    Interrupted,
    Live,
    Reader,
    WorkerEnd,
    Workers,
    after_message,
    kill_all,
    last_stderr_line,
    parse_message,
    reap,
    snapshot,
)


@dataclass(frozen=True)
class WorkerStart:
    """One side of a round: how to start its worker and what to ask it."""

    args: list[str]
    request: dict[str, Any]  # a timing request with option ``stream``
    timeout: float
    env: dict[str, str] | None = None


@dataclass
class _Side:
    live: Live
    reader: Reader
    timeout: float
    waited: float = 0.0  # seconds the parent waited for this worker
    steps: int | None = None  # announced in its ready line
    taken: int = 0
    end: WorkerEnd | None = None
    next_snapshot: float = 0.0

    @property
    def running(self) -> bool:
        return self.end is None

    def send_go(self) -> None:
        with contextlib.suppress(OSError):  # a dead worker: the wait that follows says so
            stdin = self.live.proc.stdin
            assert stdin is not None
            stdin.write(b"go\n")
            stdin.flush()


def run_round(
    workers: Workers, starts: Sequence[WorkerStart], rng: random.Random, pin_early: bool = False
) -> list[WorkerEnd | None]:
    """Run a round's streaming timing workers in lockstep; each one's end, in `starts` order.

    The round's workers share one CPU, leased for the round: other rounds running at the
    same time get other CPUs while there are free ones. `pin_early`: pinned from their start
    (other rounds sample meanwhile: start-up and calibration stay off their CPUs); else only
    for the samples (start-up and calibration spread over the CPUs).
    None: that worker was killed because another one of its round failed. Raises
    `Interrupted` (every worker killed) when the run is stopping.
    """
    with contextlib.ExitStack() as stack:
        cpu = stack.enter_context(_cpu_lease(rng))
        sides: list[_Side] = []
        for start in starts:
            live = stack.enter_context(workers.spawn(start.args, start.env))
            if pin_early:
                _pin(live, cpu)
            reader = Reader(live.proc)
            stack.callback(_close, live, reader)
            side = _Side(live, reader, start.timeout)
            sides.append(side)
            with contextlib.suppress(OSError):
                assert live.proc.stdin is not None
                live.proc.stdin.write(json.dumps(start.request).encode() + b"\n")
                live.proc.stdin.flush()
        try:
            _run(workers, sides, cpu, rng)
            if workers.stop_requested.is_set():  # a worker the stop killed looks crashed
                raise Interrupted
        except Interrupted:
            for side in sides:
                if side.running:
                    kill_all(side.live)
                    reap(side.live.proc)
            raise
        return [side.end for side in sides]


def _run(workers: Workers, sides: list[_Side], cpu: int | None, rng: random.Random) -> None:
    while any(s.running and s.steps is None for s in sides) and not _failed(sides):
        _wait(workers, [s for s in sides if s.running and s.steps is None], sides)
    if _failed(sides):
        return _void(sides)
    for side in sides:  # (again, when pinned early: a no-op)
        _pin(side.live, cpu)
    while True:
        turn = [s for s in sides if s.running and s.steps is not None and s.taken < s.steps]
        if not turn:
            break
        rng.shuffle(turn)
        for side in turn:
            side.send_go()
            taken = side.taken
            while side.running and side.taken == taken:
                _wait(workers, [side], sides)
            if side.running and side.taken == side.steps:
                while side.running:  # its reply now, before the next sample of another side
                    _wait(workers, [side], sides)
            if _failed(sides):
                return _void(sides)
    for side in sides:
        while side.running:  # a worker that announced no step
            _wait(workers, [side], sides)


# One CPU per round: alternating alone left the two sides on different CPUs of a box whose
# CPUs are disturbed differently (per-round log-ratio SD 9.9 % / 13.6 % at 0 / +3 %; pinned
# 3.5 % / 2.75 %, one after another 10.2 % / 17.8 %: 32 rounds each, selfbench's 2 ms loop).
_leased: set[int] = set()
_lease_lock = threading.Lock()


@contextlib.contextmanager
def _cpu_lease(rng: random.Random) -> Iterator[int | None]:
    """A CPU for one round (random among those no other round of this process holds; any
    when all are held); None where affinity is not supported (alternate unpinned)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        yield None
        return
    with _lease_lock:
        free = [c for c in cpus if c not in _leased] or cpus
        cpu = rng.choice(free)
        held = cpu not in _leased
        _leased.add(cpu)
    try:
        yield cpu
    finally:
        if held:
            with _lease_lock:
                _leased.discard(cpu)


def _pin(live: Live, cpu: int | None) -> None:
    if cpu is not None:
        with contextlib.suppress(OSError):  # already gone: its wait says so
            os.sched_setaffinity(live.proc.pid, {cpu})


def _failed(sides: list[_Side]) -> bool:
    return any(s.end is not None and not (s.end.message or {}).get("ok") for s in sides)


def _void(sides: list[_Side]) -> None:
    for side in sides:
        if side.running:
            kill_all(side.live)
            reap(side.live.proc)
    # Their results stay None: the round's pair is lost with its failed side.


def _wait(workers: Workers, waiting: list[_Side], sides: list[_Side]) -> None:
    """Read until one of `waiting` sends a line or ends; the others' pipes are drained.

    The time spent counts against every waited side's timeout."""
    started = time.monotonic()
    try:
        _wait_once(workers, waiting, sides, started)
    finally:
        elapsed = time.monotonic() - started
        for side in waiting:
            side.waited += elapsed


def _wait_once(workers: Workers, waiting: list[_Side], sides: list[_Side], started: float) -> None:
    died_at: dict[int, float] = {}
    while True:
        if workers.stop_requested.is_set():
            raise Interrupted
        now = time.monotonic()
        for side in sides:
            if side.running and now >= side.next_snapshot:
                snapshot(side.live)
                side.next_snapshot = now + SNAPSHOT_SECONDS
        for side in sides:
            if side.running and side not in waiting:
                side.reader.poll(0)
        open_pipes = [s.reader.poll(0.05 / len(waiting)) for s in waiting]
        elapsed = time.monotonic() - started
        for side, still_open in zip(waiting, open_pipes, strict=True):
            if _take(side):
                return
            proc = side.live.proc
            key = id(side)
            if key not in died_at and proc.poll() is not None:
                died_at[key] = time.monotonic()  # drain briefly: a child may hold the pipes
            if key in died_at and (
                not still_open or time.monotonic() - died_at[key] > DRAIN_SECONDS
            ):
                leftovers = kill_all(side.live)
                message = parse_message(bytes(side.reader.out))
                side.end = WorkerEnd(message, proc.returncode, last_stderr_line(side.reader),
                                     False, tuple(leftovers))  # fmt: skip
                return
            if side.waited + elapsed >= side.timeout:
                snapshot(side.live)
                leftovers = kill_all(side.live)
                reap(proc)
                side.end = WorkerEnd(None, proc.returncode, last_stderr_line(side.reader), True,
                                     tuple(leftovers))  # fmt: skip
                return


def _take(side: _Side) -> bool:
    """Handle one line of the side's, if one is there: ready, a step, or its reply."""
    line = side.reader.take_line()
    if line is None:
        return False
    message = parse_message(line)
    if message is not None and message.get("ready") is True and side.steps is None:
        side.steps = int(message.get("steps", 0))
    elif message is not None and "step" in message and "ok" not in message:
        side.taken += 1
    else:
        side.end = after_message(side.live, side.reader, message)
    return True


def _close(live: Live, reader: Reader) -> None:
    reader.close()
    for stream in (live.proc.stdin, live.proc.stdout, live.proc.stderr):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
