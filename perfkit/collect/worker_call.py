"""Worker processes from the parent's side: start one, feed it a request, read how it ended.

Turns a `perfkit.collect.supervisor` ending (reply, exit code, timeout, leftovers) into an
`Outcome`; `call_round` does so for a round's timing workers run in ping-pong
(`perfkit.collect.pingpong`). Knows nothing of plans or the run directory.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perfkit.collect.pingpong import WorkerStart, run_round
from perfkit.collect.shipping import worker_path
from perfkit.collect.supervisor import WorkerEnd, Workers, run_worker
from perfkit.errors import RunDirError
from perfkit.render.format import format_bytes
from perfkit.rundir.schema import CaseRecord, WorkerReply, WorkerRequest

WORKER_MODULE = "perfkit.collect.worker"
# A foreign interpreter drops sys.path[0] (the working directory) first, so the shipped
# modules on PYTHONPATH are what it imports, even when run from a perfkit checkout.
FOREIGN_WORKER = f"import sys; del sys.path[0]; from {WORKER_MODULE} import main; main()"


@dataclass
class Outcome:
    ok: bool
    kind: str = ""
    message: str = ""
    payload: dict[str, Any] | None = None
    leftovers: list[str] = field(default_factory=list)  # processes/threads killed after it
    cases: tuple[CaseRecord, ...] = ()


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def worker_env(hash_seed: int | None, python: str | None = None) -> dict[str, str] | None:
    """The worker's environment, or None when it is exactly the parent's."""
    env = dict(os.environ)
    if hash_seed is not None and "PYTHONHASHSEED" not in os.environ:  # the user's choice wins
        env["PYTHONHASHSEED"] = str(hash_seed)
    if python is not None:
        # A foreign interpreter imports the worker from the shipped stdlib-only modules.
        shipped = str(worker_path())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (shipped, env.get("PYTHONPATH")) if p)
        env.pop("PYTHONHOME", None)
    return env if env != os.environ else None


def call_worker(
    workers: Workers, request: WorkerRequest, timeout: float, python: str | None = None
) -> Outcome:
    """Run one worker process and interpret how it ended.

    `python`: the target's own interpreter (`Target.python`); None runs perfkit's own."""
    args = _worker_args(python)
    env = worker_env(request.hash_seed, python)
    end = run_worker(workers, args, request.to_json(), timeout, env)
    return _outcome(end, request, timeout)


def call_round(
    workers: Workers,
    requests: Sequence[WorkerRequest],
    timeout: float,
    pythons: Sequence[str | None],
    rng: random.Random,
    pin_early: bool = False,
) -> list[Outcome | None]:
    """Run a round's timing requests (one per target) in ping-pong; None: a side voided by
    another side's failure (nothing to record for it). `pin_early`: see `run_round`."""
    starts = []
    for request, python in zip(requests, pythons, strict=True):
        streamed = replace(request, options={**request.options, "stream": True})
        env = worker_env(request.hash_seed, python)
        starts.append(WorkerStart(_worker_args(python), streamed.to_json(), timeout, env))
    ends = run_round(workers, starts, rng, pin_early)
    return [
        None if end is None else _outcome(end, request, timeout)
        for end, request in zip(ends, requests, strict=True)
    ]


def _worker_args(python: str | None) -> list[str]:
    return [python, "-c", FOREIGN_WORKER] if python else [sys.executable, "-m", WORKER_MODULE]


def _outcome(end: WorkerEnd, request: WorkerRequest, timeout: float) -> Outcome:
    leftovers = list(end.leftovers)
    if end.timed_out:
        return Outcome(
            False, "timeout", f"no result after {timeout:g} s, worker killed", leftovers=leftovers
        )
    try:
        reply = WorkerReply.from_json(end.message) if end.message is not None else None
    except RunDirError:
        reply = None
    if reply is not None:
        if reply.ok:
            return Outcome(True, payload=reply.result, leftovers=leftovers, cases=reply.cases)
        kind, text = reply.kind or "error", reply.message
        if text.startswith("MemoryError"):
            # The worker survived its cap long enough to report: still a memory death.
            limit = request.memory_limit_bytes
            cap = f"memory limit {format_bytes(limit)} reached" if limit else "out of memory"
            kind, text = "crash", f"{cap}: {text}"
        return Outcome(False, kind, text, leftovers=leftovers)
    code = end.returncode
    if code is not None and code < 0:
        detail = f"worker killed by {_signal_name(code)}"
    else:
        detail = f"worker exited with code {code} without a result"
    if "MemoryError" in end.stderr_tail:
        detail += " (memory limit)"
    if end.stderr_tail:
        detail += f": {end.stderr_tail[:200]}"
    return Outcome(False, "crash", detail, leftovers=leftovers)
