"""The parent side of a run: discover cases, schedule workers, write the run directory.

The parent never imports the suite. Each job is a fresh worker process
(`perfkit.collect.worker`) that answers with one JSON message. With several targets the
timing workers run in rounds, each round every target once in random order.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from perfkit import __version__
from perfkit.collect.host import host_info, python_info
from perfkit.collect.targets import Target
from perfkit.config import DEFAULT_PLAN, MeasurePlan
from perfkit.errors import SuiteError
from perfkit.rundir import (
    MEMORY_CSV,
    MEMORY_SITES_CSV,
    MEMORY_SUMMARY_CSV,
    MONITOR_CSV,
    PROFILES_CSV,
    SAMPLES_CSV,
    RunWriter,
)
from perfkit.units import format_bytes

DISCOVER_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class CaseInfo:
    id: str
    name: str
    params: str
    budget_seconds: float | None
    memory_budget_bytes: int | None
    timeout_seconds: float | None


@dataclass(frozen=True)
class Job:
    mode: str  # time | profile | memory
    case: CaseInfo
    target: Target
    worker: int
    hash_seed: int | None = None


@dataclass
class Outcome:
    ok: bool
    kind: str = ""
    message: str = ""
    payload: dict[str, Any] | None = None


class _Workers:
    """Live worker processes, so that Ctrl-C can kill them all."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.stopping = False

    @contextlib.contextmanager
    def spawn(
        self, args: list[str], env: dict[str, str] | None = None
    ) -> Iterator[subprocess.Popen[bytes]]:
        with self._lock:
            if self.stopping:
                raise KeyboardInterrupt
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # so a timeout can kill the whole process group
                env=env,
            )
            self._procs.add(proc)
        try:
            yield proc
        finally:
            with self._lock:
                self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            self.stopping = True
            for proc in self._procs:
                _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _worker_env(hash_seed: int | None) -> dict[str, str] | None:
    if hash_seed is None or "PYTHONHASHSEED" in os.environ:  # the user's choice wins
        return None
    return {**os.environ, "PYTHONHASHSEED": str(hash_seed)}


def call_worker(workers: _Workers, request: dict[str, Any], timeout: float) -> Outcome:
    """Run one worker process and interpret how it ended."""
    args = [sys.executable, "-m", "perfkit.collect.worker"]
    with workers.spawn(args, _worker_env(request.get("hash_seed"))) as proc:
        try:
            out, err = proc.communicate(json.dumps(request).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return Outcome(False, "timeout", f"no result after {timeout:g} s, worker killed")
    if workers.stopping:
        raise KeyboardInterrupt
    stderr_tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if out.strip():
        try:
            message = json.loads(out)
        except json.JSONDecodeError:
            message = None
        if isinstance(message, dict):
            if message.get("ok"):
                return Outcome(True, payload=message)
            kind, text = str(message.get("kind", "error")), str(message.get("message", ""))
            if text.startswith("MemoryError"):
                # The worker survived its cap long enough to report: still a memory death.
                limit = request.get("memory_limit_bytes")
                cap = f"memory limit {format_bytes(limit)} reached" if limit else "out of memory"
                kind, text = "crash", f"{cap}: {text}"
            return Outcome(False, kind, text)
    if proc.returncode and proc.returncode < 0:
        detail = f"worker killed by {_signal_name(proc.returncode)}"
    else:
        detail = f"worker exited with code {proc.returncode} without a result"
    if "MemoryError" in stderr_tail[0]:
        detail += " (memory limit)"
    if stderr_tail[0]:
        detail += f": {stderr_tail[0][:200]}"
    return Outcome(False, "crash", detail)


def _suite_spec(suite: str) -> str:
    """Absolute path of a suite file, or the module name; a missing file is an error here."""
    path = Path(suite)
    if suite.endswith(".py") and not path.is_file():
        raise SuiteError(f"suite not found: {suite}")
    return str(path.resolve()) if path.exists() else suite


def discover(workers: _Workers, suite: str, targets: list[Target]) -> list[CaseInfo]:
    """Ask a worker per target for the suite's cases; return their union in order."""
    seen: dict[str, CaseInfo] = {}
    for target in targets:
        request = {"mode": "discover", "suite": suite, "target_path": target.path}
        outcome = call_worker(workers, request, DISCOVER_TIMEOUT_SECONDS)
        if not outcome.ok:
            where = f"target {target.label}: " if len(targets) > 1 else ""
            raise SuiteError(f"{where}{outcome.message}")
        for case in (outcome.payload or {}).get("cases", []):
            seen.setdefault(case["id"], CaseInfo(**case))
    return list(seen.values())


def select(cases: list[CaseInfo], pattern: str | None) -> list[CaseInfo]:
    if not pattern:
        return cases
    chosen = [
        c
        for c in cases
        if fnmatch.fnmatchcase(c.id, pattern) or fnmatch.fnmatchcase(c.name, pattern)
    ]
    if not chosen:
        raise SuiteError(
            f"no benchmark matches --only {pattern!r} (have: {', '.join(c.id for c in cases)})"
        )
    return chosen


def plan_jobs(
    cases: list[CaseInfo],
    targets: list[Target],
    plan: MeasurePlan,
    profile: bool,
    memory: bool,
    rng: random.Random,
) -> list[Job]:
    """Timing jobs in rounds (every target once per round, shuffled), then profile and memory jobs."""
    jobs: list[Job] = []
    for round_no in range(plan.workers):
        # Common random numbers: all workers of a round share one hash seed, so string
        # hashing and dict layout vary between rounds but not between the targets compared.
        hash_seed = rng.randrange(1, 2**32)
        for case in cases:
            order = list(targets)
            rng.shuffle(order)
            jobs.extend(Job("time", case, target, round_no, hash_seed) for target in order)
    for mode, wanted in (("profile", profile), ("memory", memory)):
        if wanted:
            jobs.extend(Job(mode, case, target, 0) for case in cases for target in targets)
    return jobs


def _request(job: Job, suite: str, plan: MeasurePlan, writer: RunWriter) -> dict[str, Any]:
    options: dict[str, Any] = asdict(plan)
    if job.mode == "profile":
        options["prof_path"] = str(writer.profile_path(job.target.label, job.case.id))
    return {
        "mode": job.mode,
        "suite": suite,
        "target_path": job.target.path,
        "name": job.case.name,
        "params": job.case.params,
        "options": options,
        "memory_limit_bytes": plan.memory_limit_bytes,
        "hash_seed": job.hash_seed,
    }


def _key(job: Job) -> dict[str, Any]:
    return {
        "benchmark": job.case.name,
        "params": job.case.params,
        "target": job.target.label,
        "worker": job.worker,
    }


def record(writer: RunWriter, job: Job, payload: dict[str, Any]) -> None:
    """Write one worker's successful result into the run directory."""
    key = _key(job)
    if job.mode == "time":
        rows = [
            {**key, "sample": i, "loops": payload["loops"], "seconds": repr(seconds)}
            for i, seconds in enumerate(payload["samples"])
        ]
        writer.add_rows(SAMPLES_CSV, rows)
    elif job.mode == "profile":
        file = Path(payload["prof_path"]).relative_to(writer.path)
        writer.add_rows(
            PROFILES_CSV,
            [
                {k: key[k] for k in ("benchmark", "params", "target")}
                | {"calls": payload["calls"], "seconds": payload["seconds"], "file": str(file)}
            ],
        )
    elif job.mode == "memory":
        writer.add_rows(MEMORY_CSV, [{**key, **row} for row in payload["rows"]])
        writer.add_rows(MEMORY_SUMMARY_CSV, [{**key, **payload["summary"]}])
        if payload.get("sites"):
            writer.add_rows(MEMORY_SITES_CSV, [{**key, **site} for site in payload["sites"]])
    if payload.get("monitor"):
        # Monitor counters cover every body call of the pass, calibration and warm-up included.
        calls = payload.get("body_calls", 0)
        rows = [{**key, **row, "calls": calls, "mode": job.mode} for row in payload["monitor"]]
        writer.add_rows(MONITOR_CSV, rows)


def _index(path: Path, out_dir: Path, console: Console) -> None:
    """Add the run to the SQLite history index; a failure there never fails the run."""
    try:
        from perfkit.history.store import db_for, index_run
        from perfkit.rundir import load_run

        index_run(load_run(path), db_for(out_dir))
    except Exception as exc:  # the run directory is the source of truth
        console.print(f"[yellow]history index not updated: {type(exc).__name__}: {exc}[/]")


@dataclass
class RunResult:
    path: Path
    status: str
    n_failed: int


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def run_suite(
    suite: str,
    targets: list[Target],
    out_dir: Path,
    plan: MeasurePlan = DEFAULT_PLAN,
    processes: int = 1,
    only: str | None = None,
    profile: bool = False,
    memory: bool = False,
    seed: int | None = None,
    console: Console | None = None,
) -> RunResult:
    """Measure a suite on targets; returns where the run directory is and how it ended."""
    console = console or Console(stderr=True)
    suite_spec = _suite_spec(suite)
    workers = _Workers()
    cases = select(discover(workers, suite_spec, targets), only)
    rng = random.Random(seed)
    jobs = plan_jobs(cases, targets, plan, profile, memory, rng)
    meta = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "perfkit_version": __version__,
        "suite": suite_spec,
        "options": {
            **asdict(plan),
            "processes": processes,
            "only": only,
            "profile": profile,
            "memory": memory,
        },
        "interleaved": len(targets) > 1,
        "host": host_info(),
        "python": python_info(),
        "targets": {t.label: t.to_json() for t in targets},
        "cases": {c.id: asdict(c) for c in cases},
    }
    writer = RunWriter.create(out_dir, meta)
    failed: set[tuple[str, str, str]] = set()
    n_failed = 0
    status = "complete"
    with _progress(console) as progress, ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
        task = progress.add_task("measuring", total=len(jobs))
        pending: dict[Future[Outcome], Job] = {}
        queue = list(jobs)
        try:
            while queue or pending:
                while queue and len(pending) < max(1, processes):
                    job = queue.pop(0)
                    if (job.mode, job.case.id, job.target.label) in failed:
                        progress.advance(task)
                        continue
                    timeout = job.case.timeout_seconds or plan.timeout_seconds
                    request = _request(job, suite_spec, plan, writer)
                    progress.update(
                        task, description=f"{job.mode} {job.case.id} @{job.target.label}"
                    )
                    pending[pool.submit(call_worker, workers, request, timeout)] = job
                done, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    outcome = future.result()
                    if outcome.ok and outcome.payload is not None:
                        record(writer, job, outcome.payload)
                    else:
                        # One failure of a case is enough: later rounds would fail the same way.
                        failed.add((job.mode, job.case.id, job.target.label))
                        n_failed += 1
                        kind = (
                            outcome.kind
                            if outcome.kind in ("error", "timeout", "crash")
                            else "error"
                        )
                        k = _key(job)
                        writer.add_failure(
                            k["benchmark"],
                            k["params"],
                            k["target"],
                            job.worker,
                            kind,
                            outcome.message,
                        )
                        console.print(
                            f"[red]{job.mode} {job.case.id} @{job.target.label}: {kind}: {outcome.message}[/]"
                        )
                    progress.advance(task)
        except KeyboardInterrupt:
            status = "interrupted"
            workers.kill_all()
            for future in pending:
                future.cancel()
    writer.finish(status)
    _index(writer.path, out_dir, console)
    return RunResult(path=writer.path, status=status, n_failed=n_failed)
