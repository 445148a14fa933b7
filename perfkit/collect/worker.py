"""The worker: one fresh process runs one pass of one benchmark of one target.

It reads one `WorkerRequest` (a JSON line) on stdin and writes one `WorkerReply` line on
its own copy of stdout (both defined in `perfkit.rundir.messages`; the benchmark's prints
go to stderr), then waits for stdin to close before it exits, so the parent can list what
it leaves behind. Nothing of the parent's state leaks in: the target's path is put first on
sys.path, then the suite is loaded.

A timing request with option ``stream`` (ping-pong) talks more: after calibration a
``{"ready": true, "steps": N}`` line, then for each ``go`` line from the parent one step
(warm-up or sample) and a ``{"step": i}`` line, then the reply as usual.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from dataclasses import replace

from perfkit.rundir.messages import WorkerReply, WorkerRequest

# The interpreter's start and imports so far (CPU), then the wall clock from here: a
# worker's cost up to a ready body (`ready_seconds`), which decides where a profile is
# cheaper taken in a timing worker (`perfkit.collect.passes.ProfileFolding`).
_STARTED_CPU, _STARTED_WALL = time.process_time(), time.perf_counter()

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


PASSES = {
    "time": "perfkit.collect.timing:measure",
    "profile": "perfkit.collect.profiling:profile",
    "memory": "perfkit.collect.memory:measure",
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DEMO_DIR = os.path.join(_HARNESS_DIR, "demo") + os.sep


def _is_harness(filename: str) -> bool:
    """perfkit's own frames (the bundled demo is user code, not harness)."""
    path = os.path.abspath(filename)
    return path.startswith(_HARNESS_DIR) and not path.startswith(_DEMO_DIR)


def _where(exc: BaseException) -> str:
    import traceback  # only a failing benchmark needs it, not every worker start

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_harness(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {os.path.basename(frame.filename)}:{frame.lineno})"


def _set_memory_limit(limit_bytes: int | None) -> None:
    if not limit_bytes:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)  # raising a hard limit is not allowed
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, hard))


def _prepare_path(target_path: str | None, suite: str) -> None:
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", cwd)]
    if target_path:
        sys.path.insert(0, target_path)
    suite_dir = os.path.dirname(os.path.abspath(suite)) if suite.endswith(".py") else None
    if suite_dir and suite_dir not in sys.path:
        sys.path.append(suite_dir)


def _monitor_snapshot() -> list[dict[str, Any]]:
    monitor = sys.modules.get("perfkit.monitor")
    return monitor.snapshot() if monitor is not None else []


def _monitor_reset() -> None:
    monitor = sys.modules.get("perfkit.monitor")
    if monitor is not None:
        monitor.reset()


class StreamGate:
    """The worker's end of ping-pong timing: lines on the control and message channels."""

    def __init__(self, control: Any, channel: Any) -> None:
        self.control = control
        self.channel = channel

    def _send(self, message: dict[str, Any]) -> None:
        self.channel.write(json.dumps(message) + "\n")
        self.channel.flush()

    def ready(self, steps: int) -> None:
        self._send({"ready": True, "steps": steps})

    def go(self) -> None:
        line = self.control.readline()
        if line.strip() != b"go":
            raise RuntimeError("the parent ended the ping-pong before the last step")

    def done(self, step: int) -> None:
        self._send({"step": step})


def handle(request: WorkerRequest, gate: StreamGate | None = None) -> WorkerReply:
    """Serve one request; exceptions of user code become an error reply.

    `gate`: a streamed timing pass (`perfkit.collect.timing.Gate`)."""
    from perfkit.collect.suite import (
        collect_cases,
        find_benchmark,
        instantiate,
        load_suite,
        parse_params_text,
    )

    _prepare_path(request.target_path, request.suite)
    module = load_suite(request.suite)
    if request.mode == "discover":
        return WorkerReply(ok=True, cases=tuple(case.record() for case in collect_cases(module)))

    bench = find_benchmark(module, request.name)
    params = parse_params_text(request.params, bench.params)
    stage = "setup"
    try:
        instance = instantiate(bench, params)
        ready_seconds = _STARTED_CPU + time.perf_counter() - _STARTED_WALL
        stage = "body"
        _monitor_reset()
        module_name, _, func_name = PASSES[request.mode].partition(":")
        run_pass = getattr(importlib.import_module(module_name), func_name)
        extra = (gate,) if gate is not None and request.mode == "time" else ()
        payload = run_pass(instance.body, request.options, *extra)
        payload["monitor"] = _monitor_snapshot()
        if request.mode == "time":
            payload["ready_seconds"] = ready_seconds
            if request.options.get("prof_path"):
                # A profile taken here (`perfkit.collect.passes.ProfileFolding`): after the
                # samples and the monitor's figures, which it would distort; the parent waits
                # for this reply before its round's next sample (`perfkit.collect.pingpong`).
                from perfkit.collect import profiling

                options = {**request.options, "profile_warm": True}
                payload["profile"] = profiling.profile(instance.body, options)
        stage = "teardown"
        instance.teardown()
    except Exception as exc:
        return WorkerReply.failure("error", f"{_one_line(exc)} in {stage}{_where(exc)}")
    return WorkerReply(ok=True, result=payload)


def _leftover_threads() -> list[str]:
    """Non-daemon threads still running: they would keep this process from exiting."""
    import threading

    main = threading.main_thread()
    return [
        t.name for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()
    ]


def _private_fd(fd: int, mode: str) -> Any:
    """A non-inheritable copy of `fd`; the original is then pointed at /dev/null or stderr."""
    return os.fdopen(os.dup(fd), mode, encoding="utf-8" if "b" not in mode else None)


def main() -> None:
    # Control channel: one request line in; its end-of-file, once the parent has our message,
    # lets us exit. Children the benchmark starts inherit neither it nor the message channel.
    control = _private_fd(0, "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    raw = control.readline()
    # Our message goes to a private copy of stdout; user prints go to stderr.
    channel = _private_fd(1, "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        request = WorkerRequest.from_json(json.loads(raw))
        _set_memory_limit(request.memory_limit_bytes)
        stream = request.mode == "time" and bool(request.options.get("stream"))
        reply = handle(request, StreamGate(control, channel) if stream else None)
    except MemoryError:
        reply = WorkerReply.failure("crash", "memory limit reached (MemoryError)")
    except Exception as exc:
        from perfkit.errors import PerfkitError

        if isinstance(exc, PerfkitError):
            reply = WorkerReply.failure("suite", str(exc))
        else:
            reply = WorkerReply.failure("error", _one_line(exc))
    threads = tuple(_leftover_threads())
    reply = replace(reply, threads=threads)
    # One line: the parent reads up to the newline.
    channel.write(json.dumps(reply.to_json()) + "\n")
    channel.close()
    control.read()  # the parent has listed our children; now we may go
    # A left-over non-daemon thread would block a normal exit (and maybe an atexit handler).
    if not threads and not _run_atexit():
        return  # an interpreter without atexit._run_exitfuncs exits the normal way
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter finalization: tearing down every module and object (pandas, Qt) is
    # no part of the measurement and only delays the next worker, which waits for our exit.
    os._exit(0)


def _run_atexit() -> bool:
    """Run the suite's and its libraries' atexit handlers, as a normal exit would; False
    when this interpreter cannot (then nothing ran)."""
    import atexit

    run = getattr(atexit, "_run_exitfuncs", None)
    if run is None:
        return False
    run()
    return True


if __name__ == "__main__":
    main()
