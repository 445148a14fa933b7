"""Worker processes from the parent's side: start one, hand it a request, get its message.

Owns process lifetimes, nothing about what is measured. A worker's message counts as
soon as its line arrives: the parent then stops reading, lists the worker's descendants,
lets the worker exit (closing its stdin) and kills whatever is left, naming it. Nothing a
benchmark leaves behind (a detached child, a forked sampler holding a pipe, a non-daemon
thread) can make the parent wait past the worker's timeout plus a short grace.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

EXIT_GRACE_SECONDS = 3.0  # a worker that sent its message has this long to exit on its own
DRAIN_SECONDS = 0.5  # after a worker died: how long to collect what it had already written
SNAPSHOT_SECONDS = 1.0  # how often a running worker's descendants are listed (/proc, cheap)
STDERR_TAIL_BYTES = 64 * 1024


class Interrupted(Exception):
    """The run is stopping (Ctrl-C, SIGTERM): the worker was killed, its result is void."""


@dataclass(frozen=True)
class WorkerEnd:
    """How one worker process ended, as the parent saw it."""

    message: dict[str, Any] | None  # the worker's JSON message, if one arrived whole
    returncode: int | None  # None: still alive when it was killed after its message
    stderr_tail: str
    timed_out: bool = False
    leftovers: tuple[str, ...] = ()  # processes and threads killed after it, by name


@dataclass
class Live:
    proc: subprocess.Popen[bytes]
    descendants: dict[int, psutil.Process] = field(default_factory=dict)


class Workers:
    """Live worker processes and their descendants, so that a stop can kill them all."""

    def __init__(self) -> None:
        self._live: dict[int, Live] = {}
        self._lock = threading.Lock()
        self.stop_requested = threading.Event()

    @contextlib.contextmanager
    def spawn(self, args: list[str], env: dict[str, str] | None = None) -> Iterator[Live]:
        with self._lock:
            if self.stop_requested.is_set():
                raise Interrupted
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: one killpg ends the worker
                env=env,
            )
            live = Live(proc)
            self._live[proc.pid] = live
        try:
            yield live
        finally:
            with self._lock:
                self._live.pop(proc.pid, None)

    def kill_live(self) -> None:
        """Kill every live worker with its descendants; the run goes on (new spawns work)."""
        with self._lock:
            lives = list(self._live.values())
        for live in lives:
            kill_all(live)

    def stop(self) -> None:
        """Kill every live worker with its descendants; later spawns raise Interrupted."""
        self.stop_requested.set()
        self.kill_live()


_stop_signals = 0  # Ctrl-C/SIGTERM received by any `stop_on_signals` block of this process


def stop_signals() -> int:
    """How many Ctrl-C/SIGTERM `stop_on_signals` blocks have received in this process.

    A caller that runs several runs in a row (bisect) compares it before and after each:
    a signal that lands after a run's last look at its stop flag (while run.json is
    written, or pending until the handlers are restored) ends that run `complete`, and
    only this count still tells the caller that Ctrl-C was pressed.
    """
    return _stop_signals


@contextlib.contextmanager
def stop_on_signals(workers: Workers) -> Iterator[None]:
    """Ctrl-C and SIGTERM only ask the run to stop; the loop then stops it in order.

    No exception is thrown into the middle of bookkeeping, so a second Ctrl-C a
    millisecond after the first cannot break a lock or leave run.json `running`.
    Every such signal is also counted (`stop_signals`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: object) -> None:
        global _stop_signals
        _stop_signals += 1
        workers.stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _child_pids(pid: int) -> list[int] | None:
    """Children of `pid` from /proc (cheap: no scan of every process); None if unsupported."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    pids: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                pids.extend(int(p) for p in handle.read().split())
        except FileNotFoundError:
            continue  # that thread ended meanwhile
        except OSError:
            return None
    return pids


def snapshot(live: Live) -> None:
    """Remember the worker's descendants now: once it exits they are orphans and untraceable."""
    todo = _child_pids(live.proc.pid)
    if todo is None:  # no /proc/PID/task/TID/children here: let psutil scan
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(live.proc.pid).children(recursive=True):
                live.descendants.setdefault(child.pid, child)
        return
    while todo:
        pid = todo.pop()
        if pid not in live.descendants:
            with contextlib.suppress(psutil.Error):
                live.descendants[pid] = psutil.Process(pid)
        todo.extend(_child_pids(pid) or [])


def _describe(process: psutil.Process) -> str:
    try:
        cmdline = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        cmdline = "?"
    return f"pid {process.pid} ({cmdline[:80]})"


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if process.pid != os.getpid() and os.getpgid(process.pid) == pgid:
                members.append(process)
    return members


def _survivors(live: Live) -> list[psutil.Process]:
    """Processes started by the worker that still run: its process group and known descendants."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(live.proc.pid, 0)  # raises when nobody is left in the group
        found.update((p.pid, p) for p in _group_members(live.proc.pid))
    for pid, process in live.descendants.items():
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.setdefault(pid, process)
    found.pop(live.proc.pid, None)
    return list(found.values())


def kill_all(live: Live) -> list[str]:
    """SIGKILL the worker's group and every known descendant; name the others killed."""
    # Frozen first, the group cannot start new children between the listing and the kill.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(live.proc.pid, signal.SIGSTOP)
    if live.proc.poll() is None:
        snapshot(live)
    survivors = _survivors(live)
    names = [_describe(p) for p in survivors]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(live.proc.pid, signal.SIGKILL)
    for process in survivors:
        with contextlib.suppress(psutil.Error):
            process.kill()  # is_running() inside guards against a reused pid
    _wait_dead(survivors)
    return names


DEATH_WAIT_SECONDS = 1.0  # SIGKILL is delivered asynchronously; normally done in < 10 ms


def _wait_dead(processes: list[psutil.Process]) -> None:
    """Return once every process is gone or a zombie (dead, its parent not yet told), so
    nothing killed still runs when the caller goes on (at most `DEATH_WAIT_SECONDS`)."""

    def alive(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    deadline = time.monotonic() + DEATH_WAIT_SECONDS
    while any(alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.005)


class Reader:
    """Non-blocking reads of the worker's stdout (the message) and stderr (a bounded tail)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.selector = selectors.DefaultSelector()
        for stream in (proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
            self.selector.register(stream, selectors.EVENT_READ)
        self.stdout = proc.stdout
        self.out = bytearray()
        self.err = bytearray()

    def message_line(self) -> bytes | None:
        end = self.out.find(b"\n")
        return bytes(self.out[:end]) if end >= 0 else None

    def take_line(self) -> bytes | None:
        """The first whole line, removed (a streaming worker sends several)."""
        line = self.message_line()
        if line is not None:
            del self.out[: len(line) + 1]
        return line

    def poll(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False once both pipes are closed."""
        if not self.selector.get_map():
            time.sleep(timeout)
            return False
        for key, _ in self.selector.select(timeout):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                self.selector.unregister(key.fileobj)
            elif key.fileobj is self.stdout:
                self.out += chunk
            else:
                self.err += chunk
                del self.err[:-STDERR_TAIL_BYTES]
        return bool(self.selector.get_map())

    def close(self) -> None:
        self.selector.close()


def parse_message(line: bytes | None) -> dict[str, Any] | None:
    if line is None:
        return None
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None


def close_stdin(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        assert proc.stdin is not None
        proc.stdin.close()


def run_worker(
    workers: Workers, args: list[str], request: dict[str, Any], timeout: float,
    env: dict[str, str] | None = None,
) -> WorkerEnd:  # fmt: skip
    """Run one worker on `request`; return once its message arrived, it died, or time ran out."""
    with workers.spawn(args, env) as live:
        proc = live.proc
        reader = Reader(proc)
        try:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
            return _follow(workers, live, reader, timeout)
        finally:
            reader.close()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()


def _follow(workers: Workers, live: Live, reader: Reader, timeout: float) -> WorkerEnd:
    proc = live.proc
    deadline = time.monotonic() + timeout
    died_at: float | None = None
    next_snapshot = 0.0
    while True:
        if workers.stop_requested.is_set():
            kill_all(live)
            reap(proc)
            raise Interrupted
        now = time.monotonic()
        if now >= next_snapshot and died_at is None:
            snapshot(live)
            next_snapshot = now + SNAPSHOT_SECONDS
        open_pipes = reader.poll(0.05)
        line = reader.message_line()
        if line is not None:
            return after_message(live, reader, parse_message(line))
        if died_at is None and proc.poll() is not None:
            died_at = time.monotonic()  # drain briefly: a forked child may hold the pipes
        if died_at is not None and (not open_pipes or time.monotonic() - died_at > DRAIN_SECONDS):
            leftovers = kill_all(live)
            message = parse_message(bytes(reader.out))
            return WorkerEnd(message, proc.returncode, last_stderr_line(reader), False,
                             tuple(leftovers))  # fmt: skip
        if time.monotonic() >= deadline:
            snapshot(live)
            leftovers = kill_all(live)
            reap(proc)
            return WorkerEnd(
                None, proc.returncode, last_stderr_line(reader), True, tuple(leftovers)
            )


def after_message(live: Live, reader: Reader, message: dict[str, Any] | None) -> WorkerEnd:
    """The message is in: list descendants, let the worker exit, kill what stays behind."""
    proc = live.proc
    snapshot(live)
    close_stdin(proc)  # the worker waits for this before it exits
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=EXIT_GRACE_SECONDS)
    returncode = proc.poll()
    leftovers = kill_all(live)
    if returncode is None:
        leftovers.insert(
            0,
            f"pid {proc.pid} (the worker, still running {EXIT_GRACE_SECONDS:g} s after its result)",
        )
        reap(proc)
    threads = (message or {}).get("threads") or []
    leftovers += [f"thread {name!r}" for name in threads]
    return WorkerEnd(message, returncode, last_stderr_line(reader), False, tuple(leftovers))


def reap(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=EXIT_GRACE_SECONDS)  # SIGKILLed: normally immediate


def last_stderr_line(reader: Reader) -> str:
    lines = reader.err.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""
