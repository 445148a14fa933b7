"""The parent side of a run: discover cases, schedule workers, write the run directory.

The parent never imports the suite. Each job is a fresh worker process
(`perfkit.collect.worker`) that answers a `WorkerRequest` with one `WorkerReply`. With several targets the
timing workers run in rounds, each round every target once in random order: a fixed number of
rounds, or (adaptive plan, two targets) rounds per benchmark until its verdict is decided
(`perfkit.collect.adaptive`). Profile and memory jobs follow the timing, on all cores when the
plan allows. The machine's load is sampled between rounds (`perfkit.collect.load`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import random
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
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
from perfkit.collect import interpreters
from perfkit.collect.adaptive import AdaptiveRounds
from perfkit.collect.host import host_info, python_info
from perfkit.collect.load import LoadMonitor
from perfkit.collect.shipping import worker_path
from perfkit.collect.supervisor import Interrupted, Workers, run_worker, stop_on_signals
from perfkit.collect.targets import Target
from perfkit.config import DEFAULT_PLAN, DEFAULT_STATS, MeasurePlan
from perfkit.config.project import case_budgets, project_config
from perfkit.errors import RunDirError, SuiteError
from perfkit.render.format import format_bytes
from perfkit.rundir import (
    MEMORY_CSV,
    MEMORY_SITES_CSV,
    MEMORY_SUMMARY_CSV,
    MONITOR_CSV,
    PROFILES_CSV,
    SAMPLES_CSV,
    RunWriter,
    refs,
)
from perfkit.rundir.schema import CaseRecord, RunInfo, WorkerReply, WorkerRequest

DISCOVER_TIMEOUT_SECONDS = 120.0
WORKER_MODULE = "perfkit.collect.worker"
# A foreign interpreter drops sys.path[0] (the working directory) first, so the shipped
# modules on PYTHONPATH are what it imports, even when run from a perfkit checkout.
FOREIGN_WORKER = f"import sys; del sys.path[0]; from {WORKER_MODULE} import main; main()"


@dataclass(frozen=True)
class Job:
    mode: str  # time | profile | memory
    case: CaseRecord
    target: Target
    worker: int
    hash_seed: int | None = None


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


def _worker_env(hash_seed: int | None, python: str | None = None) -> dict[str, str] | None:
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
    args = [python, "-c", FOREIGN_WORKER] if python else [sys.executable, "-m", WORKER_MODULE]
    env = _worker_env(request.hash_seed, python)
    end = run_worker(workers, args, request.to_json(), timeout, env)
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


def _suite_spec(suite: str) -> str:
    """Absolute path of a suite file, or the module name; a missing file is an error here."""
    path = Path(suite)
    if suite.endswith(".py") and not path.is_file():
        raise SuiteError(f"suite not found: {suite}")
    return str(path.resolve()) if path.exists() else suite


def discover(workers: Workers, suite: str, targets: list[Target]) -> list[CaseRecord]:
    """Ask a worker per target for the suite's cases; return their union in order."""
    seen: dict[str, CaseRecord] = {}
    for target in targets:
        request = WorkerRequest(mode="discover", suite=suite, target_path=target.path)
        outcome = call_worker(workers, request, DISCOVER_TIMEOUT_SECONDS, target.python)
        if not outcome.ok:
            where = f"target {target.label}: " if len(targets) > 1 else ""
            raise SuiteError(f"{where}{outcome.message}")
        for case in outcome.cases:
            seen.setdefault(case.id, case)
    return list(seen.values())


def only_patterns(values: str | Sequence[str] | None) -> list[str]:
    """``--only`` as users write it: repeated and/or comma-separated globs, in order."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [p.strip() for v in values for p in _split_commas(v) if p.strip()]


def _split_commas(text: str) -> list[str]:
    """Split on commas outside brackets: ``a*,f[x=1,y=2]`` -> ``a*``, ``f[x=1,y=2]``."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def select(cases: list[CaseRecord], patterns: str | Sequence[str] | None) -> list[CaseRecord]:
    """The cases whose id or name matches any of the globs (all cases when none given)."""
    globs = only_patterns(patterns)
    if not globs:
        return cases
    chosen = [
        c
        for c in cases
        if any(fnmatch.fnmatchcase(c.id, g) or fnmatch.fnmatchcase(c.name, g) for g in globs)
    ]
    if not chosen:
        raise SuiteError(
            f"no benchmark matches --only {','.join(globs)!r} "
            f"(have: {', '.join(c.id for c in cases)})"
        )
    return chosen


def plan_jobs(
    cases: list[CaseRecord],
    targets: list[Target],
    plan: MeasurePlan,
    profile: bool,
    memory: bool,
    rng: random.Random,
    timing: bool = True,
) -> list[Job]:
    """Timing jobs in rounds (every target once per round, shuffled), then profile and memory jobs."""
    jobs: list[Job] = []
    for round_no in range(plan.workers if timing else 0):
        # Common random numbers: all workers of a round share one hash seed, so string
        # hashing and dict layout vary between rounds but not between the targets compared.
        hash_seed = rng.randrange(1, 2**32)
        for case in cases:
            order = list(targets)
            rng.shuffle(order)
            jobs.extend(Job("time", case, target, round_no, hash_seed) for target in order)
    if profile:
        # Several profiling workers per side, in rounds like timing: one profile cannot tell
        # a 3 % change of a function from noise; the spread over workers gives culprits a CI.
        for worker in range(plan.profile_workers):
            hash_seed = rng.randrange(1, 2**32)
            for case in cases:
                order = list(targets)
                rng.shuffle(order)
                jobs.extend(Job("profile", case, target, worker, hash_seed) for target in order)
    if memory:
        jobs.extend(Job("memory", case, target, 0) for case in cases for target in targets)
    return jobs


def _request(job: Job, suite: str, plan: MeasurePlan, writer: RunWriter) -> WorkerRequest:
    options: dict[str, Any] = asdict(plan)
    if job.mode == "profile":
        options["prof_path"] = str(writer.profile_path(job.target.label, job.case.id, job.worker))
    return WorkerRequest(
        mode=job.mode,
        suite=suite,
        target_path=job.target.path,
        name=job.case.name,
        params=job.case.params,
        options=options,
        memory_limit_bytes=plan.memory_limit_bytes,
        hash_seed=job.hash_seed,
    )


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


def _index(path: Path, console: Console, db: str | None = None) -> None:
    """Add the run to the history store; a failure there never fails the run."""
    try:
        from perfkit.history.store import index_run
        from perfkit.rundir import load_run

        index_run(load_run(path), db)
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


def _warn_leftovers(console: Console, job: Job, leftovers: list[str]) -> None:
    console.print(
        f"[yellow]{job.mode} {job.case.id} @{job.target.label}: killed what the worker left "
        f"running: {'; '.join(leftovers)}[/]",
        soft_wrap=True,  # one line, whatever the terminal's width
    )


class _WriteFailed(Exception):
    """Writing the run directory failed (disk full, read-only, no permission)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _WriteFailed(exc) from exc


def _record_failure(writer: RunWriter, job: Job, outcome: Outcome, console: Console) -> None:
    kind = outcome.kind if outcome.kind in ("error", "timeout", "crash") else "error"
    k = _key(job)
    writer.add_failure(k["benchmark"], k["params"], k["target"], job.worker, kind, outcome.message)
    console.print(
        f"[red]{job.mode} {job.case.id} @{job.target.label}: {kind}: {outcome.message}[/]"
    )


def _write_error(exc: OSError, path: Path) -> str:
    where = exc.filename or path  # a failed write() names no file: say which directory
    return f"cannot write {where}: {exc.strerror or exc}"


def run_suite(
    suite: str,
    targets: list[Target],
    out_dir: Path,
    plan: MeasurePlan = DEFAULT_PLAN,
    processes: int = 1,
    only: str | Sequence[str] | None = None,
    profile: bool = False,
    memory: bool = False,
    seed: int | None = None,
    console: Console | None = None,
    db: str | None = None,
) -> RunResult:
    """Measure a suite on targets; returns where the run directory is and how it ended.

    Raises KeyboardInterrupt when stopped before the run directory exists, and
    RunDirError (after marking the run `failed` where it still can) when the run
    directory cannot be written.
    """
    console = console or Console(stderr=True)
    suite_spec = _suite_spec(suite)
    # Absolute: a body that changes directory must not move where results are written.
    out_dir = Path(out_dir).resolve()
    workers = Workers()
    with stop_on_signals(workers):
        try:
            cases = select(discover(workers, suite_spec, targets), only)
        except Interrupted:
            raise KeyboardInterrupt from None
        if workers.stop_requested.is_set():
            raise KeyboardInterrupt
        if not cases:
            raise SuiteError(f"{suite}: no benchmarks (decorate functions with @perfkit.benchmark)")
        rng = random.Random(seed)
        own_python = functools.cache(interpreters.own)  # asked once, if a target runs it
        rounds = _adaptive_rounds(cases, targets, plan, rng, console)
        if rounds is None and plan.adaptive:
            plan = replace(plan, adaptive=False)  # run.json says what was done
        jobs = plan_jobs(cases, targets, plan, profile, memory, rng, timing=rounds is None)
        meta = RunInfo(
            id="",
            perfkit_version=__version__,
            suite=suite_spec,
            options={
                **asdict(plan),
                "processes": processes,
                "only": only_patterns(only) or None,
                "profile": profile,
                "memory": memory,
                "plan": "adaptive" if rounds is not None else "fixed",
                **({"sequential": _sequential_options()} if rounds is not None else {}),
            },
            interleaved=len(targets) > 1,
            host=host_info(),
            python=python_info(),
            targets={t.label: t.info(t.interpreter or own_python()) for t in targets},
            cases={c.id: c for c in cases},
            budgets=case_budgets(cases, project_config(suite_spec)),
        )
        try:
            writer = RunWriter.create(out_dir, meta)
        except OSError as exc:
            raise RunDirError(f"{_write_error(exc, out_dir)} (nothing measured)") from None
        try:
            status, n_failed = _measure(
                workers, writer, jobs, suite_spec, plan, processes, console, rounds
            )
        except _WriteFailed as failure:
            workers.stop()
            message = _write_error(failure.error, writer.path)
            try:
                writer.finish("failed")
                kept = "status 'failed'"
            except OSError:
                kept = "run.json still says 'running'"
            raise RunDirError(
                f"{message}; results written so far are kept in {writer.path} ({kept})"
            ) from None
        try:
            writer.finish(status)
        except OSError as exc:
            raise RunDirError(
                f"{_write_error(exc, writer.path)}; results are kept in {writer.path} "
                "(run.json still says 'running')"
            ) from None
    _index(writer.path, console, db)
    return RunResult(path=writer.path, status=status, n_failed=n_failed)


def _adaptive_rounds(
    cases: list[CaseRecord],
    targets: list[Target],
    plan: MeasurePlan,
    rng: random.Random,
    console: Console,
) -> AdaptiveRounds | None:
    """The adaptive plan's rounds, when the plan asks for it and two targets are compared."""
    if not plan.adaptive:
        return None
    if len(targets) != 2:
        if len(targets) > 2:  # one target has nothing to decide: the fixed plan, silently
            console.print(
                f"[yellow]the adaptive plan compares two targets; measuring {plan.workers} "
                "rounds of all of them (the fixed plan)[/]"
            )
        return None
    labels = [t.label for t in targets]
    base_label, current_label = refs.pick_sides(labels, run_id="this run")
    by_label = {t.label: t for t in targets}
    return AdaptiveRounds(
        cases,
        by_label[base_label],
        by_label[current_label],
        plan,
        rng,
        DEFAULT_STATS.confidence,
        DEFAULT_STATS.false_discovery_rate,
    )


def _sequential_options() -> dict[str, Any]:
    from perfkit.collect.sequential import DESIGN_ROUNDS

    return {
        "method": "asymptotic confidence sequence (normal mixture), per-round log ratios",
        "confidence": DEFAULT_STATS.confidence,
        "design_rounds": DESIGN_ROUNDS,
    }


def _slots_to_jobs(rounds: AdaptiveRounds) -> list[Job]:
    return [Job("time", s.case, s.target, s.round_no, s.hash_seed) for s in rounds.next_round()]


def _describe(job: Job, rounds: AdaptiveRounds | None) -> str:
    text = f"{job.mode} {job.case.id} @{job.target.label}"
    if rounds is None or job.mode != "time":
        return text
    undecided = rounds.undecided
    shown = ", ".join(undecided[:3]) + (f" +{len(undecided) - 3}" if len(undecided) > 3 else "")
    return f"round {job.worker + 1}, {len(undecided)} undecided ({shown}): {text}"


def _measure(
    workers: Workers,
    writer: RunWriter,
    jobs: list[Job],
    suite_spec: str,
    plan: MeasurePlan,
    processes: int,
    console: Console,
    rounds: AdaptiveRounds | None = None,
) -> tuple[str, int]:
    """Run the jobs, writing each result as it arrives; returns (status, failed workers).

    With `rounds` (the adaptive plan) the timing jobs come one round at a time, after the
    previous round's results are in; `jobs` (profile, memory) follow when timing is over.
    """
    failed: set[tuple[str, str, str]] = set()
    warned: set[tuple[str, str, str]] = set()
    n_failed = 0
    monitor = LoadMonitor()
    last_round = -1
    passes = [j for j in jobs if j.mode != "time"]
    queue = [j for j in jobs if j.mode == "time"]
    if rounds is not None:
        queue = _slots_to_jobs(rounds)
    # Profile and memory workers never overlap timing workers, so they may use every core.
    pass_slots = max(processes, monitor.cores if plan.parallel_passes else 1)
    with (
        _progress(console) as progress,
        ThreadPoolExecutor(max_workers=max(1, processes, pass_slots)) as pool,
    ):
        task = progress.add_task("measuring", total=len(queue) + len(passes))
        pending: dict[Future[Outcome], Job] = {}
        try:
            while not workers.stop_requested.is_set():
                if not queue and not pending:
                    more = _slots_to_jobs(rounds) if rounds is not None else []
                    if more:
                        progress.update(task, total=(progress.tasks[0].total or 0) + len(more))
                    elif passes:
                        if last_round >= 0:
                            monitor.sample()  # the last timing round's interval
                        last_round = -2
                    queue, passes = (more, passes) if more else (passes, [])
                    if not queue:
                        break
                timing = bool(queue) and queue[0].mode == "time"
                while queue and len(pending) < max(1, processes if timing else pass_slots):
                    job = queue.pop(0)
                    if job.mode == "time" and job.worker != last_round and last_round > -2:
                        if last_round >= 0:
                            monitor.sample()
                        last_round = job.worker
                    if (job.mode, job.case.id, job.target.label) in failed:
                        progress.advance(task)
                        continue
                    timeout = job.case.timeout_seconds or plan.timeout_seconds
                    with _writing():
                        request = _request(job, suite_spec, plan, writer)
                    progress.update(task, description=_describe(job, rounds))
                    future = pool.submit(call_worker, workers, request, timeout, job.target.python)
                    pending[future] = job
                done, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    try:
                        outcome = future.result()
                    except Interrupted:
                        continue
                    case_key = (job.mode, job.case.id, job.target.label)
                    if outcome.leftovers and case_key not in warned:
                        warned.add(case_key)  # once per case: every worker would say the same
                        _warn_leftovers(console, job, outcome.leftovers)
                    with _writing():
                        if outcome.ok and outcome.payload is not None:
                            record(writer, job, outcome.payload)
                            if rounds is not None and job.mode == "time":
                                rounds.observe(
                                    job.case.id,
                                    job.target.label,
                                    job.worker,
                                    [float(x) for x in outcome.payload.get("samples", [])],
                                )
                        else:
                            # One failure of a case is enough: later rounds would fail alike.
                            failed.add(case_key)
                            n_failed += 1
                            _record_failure(writer, job, outcome, console)
                            if rounds is not None and job.mode == "time":
                                rounds.fail(job.case.id)
                    progress.advance(task)
        finally:
            if workers.stop_requested.is_set() or queue or pending:
                workers.stop()  # also on a write error: no worker outlives the run
            for future in pending:
                future.cancel()
    if last_round >= 0:
        monitor.sample()
    _write_run_facts(writer, monitor, rounds, console)
    return ("interrupted" if workers.stop_requested.is_set() else "complete"), n_failed


def _write_run_facts(
    writer: RunWriter, monitor: LoadMonitor, rounds: AdaptiveRounds | None, console: Console
) -> None:
    """Machine load and (adaptive plan) where each benchmark stopped, into run.json."""
    load = monitor.record()
    updates: dict[str, Any] = {"load": load}
    if rounds is not None:
        rounds.interrupt()  # what is still undecided now was cut short
        updates["stops"] = dict(rounds.stops)
    with _writing():
        writer.write_meta(**updates)
    if load.high:
        console.print(
            f"[yellow]the machine was busy while timing: other processes took "
            f"{load.other_cpu_share_mean:.0%} of its CPU (load average "
            f"{load.load_average_mean:.1f} on {load.cores} cores); verdicts may need more "
            "rounds or a quieter machine[/]"
        )
