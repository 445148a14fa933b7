"""The parent side of a run: discover cases, plan the jobs, measure, write the run directory.

The parent never imports the suite. Each job is a fresh worker process
(`perfkit.collect.worker`, started by `perfkit.collect.worker_call`) that answers a
`WorkerRequest` with one `WorkerReply`. With several targets the timing workers run in rounds,
each round every target once in random order: a fixed number of rounds, or (adaptive plan, two
targets) rounds per benchmark until its verdict is decided (`perfkit.collect.adaptive`). Cases
come from `perfkit.collect.discovery`, jobs from `perfkit.collect.jobs`, and
`perfkit.collect.measuring` runs them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from perfkit import __version__
from perfkit.collect import interpreters
from perfkit.collect.adaptive import AdaptiveRounds
from perfkit.collect.discovery import discover, only_patterns, select, suite_spec
from perfkit.collect.host import host_info, python_info
from perfkit.collect.jobs import WriteFailed, plan_jobs, write_error
from perfkit.collect.measuring import measure
from perfkit.collect.supervisor import Interrupted, Workers, stop_on_signals
from perfkit.collect.targets import Target
from perfkit.config import DEFAULT_PLAN, DEFAULT_STATS, MeasurePlan
from perfkit.config.project import case_budgets, project_config
from perfkit.errors import RunDirError, SuiteError
from perfkit.history.indexing import IndexChild, PendingIndex, index_now, start_indexing
from perfkit.rundir import RunWriter, refs
from perfkit.rundir.schema import CaseRecord, RunInfo


@dataclass
class RunResult:
    path: Path
    status: str
    n_failed: int
    indexing: PendingIndex | None = None  # run_suite(index_later=True): still indexing

    def wait_indexed(self, console: Console) -> None:
        """Wait for the history index of this run (``index_later``); says if it failed."""
        if self.indexing is not None:
            _warn_unindexed(self.indexing.wait(), console)
            self.indexing = None


def _warn_unindexed(message: str | None, console: Console) -> None:
    if message:  # a failure there never fails the run: the run directory is the truth
        console.print(f"[yellow]history index not updated: {message}[/]")


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
    index_later: bool = False,
    indexer: IndexChild | None = None,
) -> RunResult:
    """Measure a suite on targets; returns where the run directory is and how it ended.

    The finished run is added to the history store (`db`); with `index_later` that happens
    in a child process while the caller goes on, and `RunResult.wait_indexed` waits for it.
    An `indexer` (`perfkit.history.indexing.fork_indexer`, forked by the caller with the same
    `db` before the run) is that child, ready: it indexes the run directory once written;
    the caller closes it when run_suite raises.

    Raises KeyboardInterrupt when stopped before the run directory exists, and
    RunDirError (after marking the run `failed` where it still can) when the run
    directory cannot be written.
    """
    console = console or Console(stderr=True)
    spec = suite_spec(suite)
    # Absolute: a body that changes directory must not move where results are written.
    out_dir = Path(out_dir).resolve()
    workers = Workers()
    with stop_on_signals(workers):
        try:
            with ThreadPoolExecutor(max_workers=1) as facts:
                # What perfkit's own interpreter is (its distributions, for run.json) is
                # read while the discovery workers start: 0.06-0.08 s of every run's start.
                own = facts.submit(interpreters.own) if _runs_own(targets) else None
                cases = select(discover(workers, spec, targets), only)
        except Interrupted:
            raise KeyboardInterrupt from None
        if workers.stop_requested.is_set():
            raise KeyboardInterrupt
        if not cases:
            raise SuiteError(f"{suite}: no benchmarks (decorate functions with @perfkit.benchmark)")
        rng = random.Random(seed)
        own_python = own.result if own is not None else interpreters.own
        rounds = _adaptive_rounds(cases, targets, plan, rng, console)
        if rounds is None and plan.adaptive:
            plan = replace(plan, adaptive=False)  # run.json says what was done
        jobs = plan_jobs(cases, targets, plan, profile, memory, rng, timing=rounds is None)
        meta = RunInfo(
            id="",
            perfkit_version=__version__,
            suite=spec,
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
            budgets=case_budgets(cases, project_config(spec)),
        )
        try:
            writer = RunWriter.create(out_dir, meta)
        except OSError as exc:
            raise RunDirError(f"{write_error(exc, out_dir)} (nothing measured)") from None
        try:
            status, n_failed = measure(
                workers, writer, jobs, spec, plan, processes, console, rounds
            )
        except WriteFailed as failure:
            workers.stop()
            message = write_error(failure.error, writer.path)
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
                f"{write_error(exc, writer.path)}; results are kept in {writer.path} "
                "(run.json still says 'running')"
            ) from None
    result = RunResult(path=writer.path, status=status, n_failed=n_failed)
    if indexer is not None:
        result.indexing = indexer.index(writer.path)
    elif index_later:
        result.indexing = start_indexing(writer.path, db)
    else:
        _warn_unindexed(index_now(writer.path, db), console)
    return result


def _runs_own(targets: list[Target]) -> bool:
    """Some target's workers run in perfkit's own interpreter."""
    return any(t.interpreter is None for t in targets)


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
