"""The measuring loop: run a run's jobs on worker processes, write each result as it arrives.

Timing jobs run `processes` at a time (the adaptive plan hands them out a round at a time);
with `MeasurePlan.pingpong` a benchmark's timing jobs of one round (one per target) run as one
unit, their workers alive together and sampling in turn (`perfkit.collect.pingpong`), and up
to `processes` such rounds run at once, each pinned to its own CPU (the adaptive plan then
hands out a round while others still run, and drops one that ends after its benchmark was
decided). A timing worker may also take one of its side's profiles after its samples, where
a profiling worker of its own would cost more (`perfkit.collect.passes.ProfileFolding`).
Profile and memory jobs follow, on every core when the plan allows, as
`perfkit.collect.passes` plans them from what timing showed (longest first; fewer profiles
where nothing changed, none already taken). The machine's load is sampled between timing
rounds and written into run.json with where each benchmark stopped.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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

from perfkit.collect.adaptive import AdaptiveRounds
from perfkit.collect.jobs import (
    Job,
    record,
    record_failure,
    request_for,
    slots_to_jobs,
    writing,
)
from perfkit.collect.load import LoadMonitor
from perfkit.collect.passes import ProfileFolding, TimingSeen, plan_passes
from perfkit.collect.supervisor import Interrupted, Workers
from perfkit.collect.worker_call import Outcome, call_round, call_worker
from perfkit.config import MeasurePlan
from perfkit.rundir import RunWriter
from perfkit.rundir.schema import WorkerRequest

PINGPONG_MAX = 4  # workers alive together in ping-pong (a backfill's round has many targets)


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


def _describe(group: list[Job], rounds: AdaptiveRounds | None) -> str:
    job = group[0]
    text = f"{job.mode} {job.case.id} @{' <-> '.join(j.target.label for j in group)}"
    if rounds is None or job.mode != "time":
        return text
    undecided = rounds.undecided
    shown = ", ".join(undecided[:3]) + (f" +{len(undecided) - 3}" if len(undecided) > 3 else "")
    return f"round {job.worker + 1}, {len(undecided)} undecided ({shown}): {text}"


def measure(
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
    Raises `perfkit.collect.jobs.WriteFailed` when the run directory cannot be written.
    """
    failed: set[tuple[str, str, str]] = set()
    warned: set[tuple[str, str, str]] = set()
    n_failed = 0
    monitor = LoadMonitor()
    seen = TimingSeen()
    last_round = -1
    passes = [j for j in jobs if j.mode != "time"]
    folding = ProfileFolding(passes, plan)  # the profiles timing workers take
    queue = [j for j in jobs if j.mode == "time"]
    if rounds is not None:
        queue = slots_to_jobs(rounds)
    # Profile and memory workers never overlap timing workers, so they may use every core.
    pass_slots = max(processes, monitor.cores if plan.parallel_passes else 1)
    with (
        _progress(console) as progress,
        ThreadPoolExecutor(max_workers=max(1, processes, pass_slots)) as pool,
    ):
        task = progress.add_task("measuring", total=len(queue) + len(passes))
        pending: dict[Future[list[Outcome | None]], list[Job]] = {}
        started: dict[Future[list[Outcome | None]], float] = {}
        timing_over = rounds is None
        overlap = processes if plan.pingpong else 1
        try:
            while not workers.stop_requested.is_set():
                if not queue and not timing_over and (not pending or overlap > len(pending)):
                    # Ping-pong with --processes N: up to N rounds at once, each on its own
                    # CPU; the next one is handed out on the rounds whose results are in.
                    queue = slots_to_jobs(rounds) if rounds is not None else []
                    progress.update(task, total=(progress.tasks[0].total or 0) + len(queue))
                    timing_over = not queue and not pending
                    if not timing_over and _only_late_rounds(pending, rounds, plan):
                        workers.kill_live()  # their results would be dropped: not waited on
                if not queue and not pending:
                    if passes:
                        if last_round >= 0:
                            monitor.sample()  # the last timing round's interval
                        last_round = -2
                        stops = rounds.stops if rounds else None
                        planned = plan_passes(passes, plan, seen, stops, folding.taken)
                        dropped = len(passes) - len(planned)
                        if dropped:
                            progress.update(task, total=(progress.tasks[0].total or 0) - dropped)
                        passes = planned
                    queue, passes = passes, []
                    if not queue:
                        break
                timing = bool(queue) and queue[0].mode == "time"
                while queue and len(pending) < max(1, processes if timing else pass_slots):
                    job = folding.assign(queue.pop(0), seen)
                    if job.mode == "time" and job.worker != last_round and last_round > -2:
                        if last_round >= 0:
                            other = monitor.sample()
                            if rounds is not None:
                                rounds.note_load(other)  # a busy box: a larger round cap
                        last_round = job.worker
                    group = [job]
                    if job.mode == "time" and plan.pingpong:
                        while queue and len(group) < PINGPONG_MAX and _same_round(queue[0], job):
                            group.append(folding.assign(queue.pop(0), seen))
                    for skipped in [j for j in group if _key(j) in failed]:
                        group.remove(skipped)
                        _returned(rounds, skipped)
                        progress.advance(task)
                    if not group:
                        continue
                    timeout = job.case.timeout_seconds or plan.timeout_seconds
                    with writing():
                        requests = [request_for(j, suite_spec, plan, writer) for j in group]
                    progress.update(task, description=_describe(group, rounds))
                    future = pool.submit(_call, workers, group, requests, timeout, processes > 1)
                    pending[future], started[future] = group, time.perf_counter()
                done, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    group = pending.pop(future)
                    wall_seconds = time.perf_counter() - started.pop(future)
                    try:
                        outcomes = future.result()
                    except Interrupted:
                        continue
                    finally:
                        for job in group:  # judged at the next hand-out, after its samples below
                            _returned(rounds, job)
                    late = _decided_before(group, rounds, plan)
                    for job, outcome in zip(group, outcomes, strict=True):
                        if outcome is None or late:  # its round's other side failed, or the
                            # benchmark was decided while this round ran: nothing recorded
                            progress.advance(task)
                            continue
                        n_failed += _settle(writer, job, outcome, failed, warned, rounds, console)
                        if job.mode == "time" and outcome.ok and outcome.payload:
                            folding.came_back(job, outcome.payload)
                            # A ping-pong round's wall is its sides' together: a share each.
                            seen.observe(job.case.id, wall_seconds / len(group), outcome.payload)
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


def _decided_before(group: list[Job], rounds: AdaptiveRounds | None, plan: MeasurePlan) -> bool:
    """A ping-pong round that ended after its benchmark was decided on the rounds before it
    (rounds overlap): dropped, so the run holds exactly the rounds the rule stopped on."""
    job = group[0]
    return (
        rounds is not None and plan.pingpong and job.mode == "time" and job.case.id in rounds.stops
    )


def _returned(rounds: AdaptiveRounds | None, job: Job) -> None:
    if rounds is not None and job.mode == "time":
        rounds.returned(job.case.id, job.worker)


def _only_late_rounds(
    pending: dict[Future[list[Outcome | None]], list[Job]],
    rounds: AdaptiveRounds | None,
    plan: MeasurePlan,
) -> bool:
    """Every benchmark is decided and what still runs are rounds handed out before that
    (ping-pong rounds at once): nothing they measure will be recorded. Passes start only
    after them, so these rounds' workers are all the run's live workers."""
    return (
        rounds is not None
        and not rounds.undecided
        and bool(pending)
        and all(_decided_before(group, rounds, plan) for group in pending.values())
    )


def _key(job: Job) -> tuple[str, str, str]:
    return (job.mode, job.case.id, job.target.label)


def _same_round(job: Job, first: Job) -> bool:
    """`job` is another target's timing job of `first`'s benchmark and round."""
    return (
        job.mode == "time"
        and job.case.id == first.case.id
        and job.worker == first.worker
        and job.target.label != first.target.label
    )


def _call(
    workers: Workers,
    group: list[Job],
    requests: list[WorkerRequest],
    timeout: float,
    pin_early: bool = False,
) -> list[Outcome | None]:
    """One worker, or a round's timing workers together (ping-pong; `pin_early`: other
    rounds run at the same time, see `perfkit.collect.pingpong.run_round`)."""
    if len(group) == 1:
        return [call_worker(workers, requests[0], timeout, group[0].target.python)]
    order = random.Random(f"{group[0].hash_seed}:{group[0].case.id}")  # reproducible
    pythons = [j.target.python for j in group]
    return call_round(workers, requests, timeout, pythons, order, pin_early)


def _settle(
    writer: RunWriter,
    job: Job,
    outcome: Outcome,
    failed: set[tuple[str, str, str]],
    warned: set[tuple[str, str, str]],
    rounds: AdaptiveRounds | None,
    console: Console,
) -> int:
    """Write one job's result or failure; returns how many workers failed (0 or 1)."""
    case_key = _key(job)
    if outcome.leftovers and case_key not in warned:
        warned.add(case_key)  # once per case: every worker would say the same
        _warn_leftovers(console, job, outcome.leftovers)
    with writing():
        if outcome.ok and outcome.payload is not None:
            record(writer, job, outcome.payload)
            if rounds is not None and job.mode == "time":
                rounds.observe(
                    job.case.id,
                    job.target.label,
                    job.worker,
                    [float(x) for x in outcome.payload.get("samples", [])],
                )
            return 0
        # One failure of a case is enough: later rounds would fail alike.
        failed.add(case_key)
        kind = record_failure(writer, job, outcome)
    console.print(
        f"[red]{job.mode} {job.case.id} @{job.target.label}: {kind}: {outcome.message}[/]"
    )
    if rounds is not None and job.mode == "time":
        rounds.fail(job.case.id)
    return 1


def _write_run_facts(
    writer: RunWriter, monitor: LoadMonitor, rounds: AdaptiveRounds | None, console: Console
) -> None:
    """Machine load and (adaptive plan) where each benchmark stopped, into run.json."""
    load = monitor.record()
    updates: dict[str, Any] = {"load": load}
    if rounds is not None:
        rounds.interrupt()  # what is still undecided now was cut short
        updates["stops"] = dict(rounds.stops)
    with writing():
        writer.write_meta(**updates)
    if load.high:
        console.print(
            f"[yellow]the machine was busy while timing: other processes took "
            f"{load.other_cpu_share_mean:.0%} of its CPU (load average "
            f"{load.load_average_mean:.1f} on {load.cores} cores); verdicts may need more "
            "rounds or a quieter machine[/]"
        )
