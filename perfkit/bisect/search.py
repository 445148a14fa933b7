"""The bisection: halve the first-parent range, check the commit it ends on, explain it.

Steps, each one comparison (`perfkit.bisect.measure`):

1. *bisect*: the middle candidate of the open range, measured with good and bad in the
   same rounds and judged against their midpoint (`decide.between`); `bad` keeps the
   lower half, `good` the upper. ⌈log2 N⌉ steps for N commits in ``good..bad``. The first
   step is also the confirm step (`decide.first`): its rounds measure bad against good, and
   until that differs it says nothing else; `same` stops with status ``no-change``. (With
   one commit in the range there is nothing to halve: a plain *confirm* step.)
2. *final*: the first bad commit against its parent, measured with good and bad in the
   same rounds and with profiles: the ratio the report gives and the culprit analysis
   (`perfkit.analysis.culprits`). If it contradicts (the two on one side of the midpoint:
   a step went the wrong way), its rounds also say which side: the parent on bad's side
   (the step that called it good was wrong) or the named commit on good's side. The
   search then goes back to the range that step dropped, and ends with a new final check
   (at most `MAX_RECOVERIES` times). A mistake in the last step costs one comparison more
   than none: ⌈log2 N⌉ + 2 in all. A contradiction that stays is status ``inconclusive``.

A step still inconclusive when its rounds run out stops the bisection (status
``inconclusive``) rather than guess; Ctrl-C (or SIGTERM) at any time stops it with status
``interrupted`` (one flag for the whole bisection, `perfkit.bisect.interrupt`). Both keep
every measured run in the state, so the same command continues where it stopped.

The plan is bisect's own, chosen deliberately and printed at the start: every run is a
*fixed* run of the rounds `RoundsPlan` asks for (never the collect adaptive plan, whose
rule stops when a ratio is told apart from 1; a step here is judged against the midpoint
between good and bad, so bisect decides itself when to add rounds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from perfkit.bisect.decide import (
    BAD,
    DIFFERS,
    GOOD,
    INCONCLUSIVE,
    SAME,
    RoundsPlan,
    between,
    confirm,
    contradicts,
    final_check,
    first,
    side,
)
from perfkit.bisect.interrupt import Interrupts
from perfkit.bisect.measure import (
    Measurer,
    Setup,
    Views,
    comparison_key,
    ref_of,
    round_shape,
)
from perfkit.bisect.records import BisectResult, CulpritLine, Step
from perfkit.bisect.state import DEFAULT_STATE_DIR, BisectState, state_key
from perfkit.collect.commits import Commit, commit_facts, commit_target, list_commits
from perfkit.collect.git import git
from perfkit.config import MeasurePlan
from perfkit.errors import PerfkitError, TargetError
from perfkit.render.format import format_change, format_ratio_ci
from perfkit.rundir import DEFAULT_RUNS_DIR, Run

# Bisect's own default: shorter workers than `perfkit run` (a step pools many rounds) with
# 15 samples (a worker's median of 5 short samples spread a round's ratio ~2x wider on this
# box: python -m perfkit.selfbench bisect_noise), and the fixed plan, whatever
# DEFAULT_PLAN says: bisect's RoundsPlan schedules the rounds. A round's workers (one per
# commit) run in ping-pong, as `perfkit run`'s do, two rounds at once each on its own CPU
# (`perfkit.config.default_processes`): a round's ratios pair the samples taken side by side.
# Its ping-pong steps stay 15 samples of 20 ms (as measured), not `perfkit run`'s 10 of 1 ms.
BISECT_PLAN = MeasurePlan(
    worker_seconds=0.6, samples=15, profile_workers=3, adaptive=False,
    pingpong_samples=15, pingpong_min_sample_seconds=0.02,
)  # fmt: skip
DEFAULT_ROUNDS = RoundsPlan()


@dataclass(frozen=True)
class BisectOptions:
    suite: str
    benchmark: str
    good: str
    bad: str
    threshold: float = 0.05
    repo: Path = field(default_factory=Path.cwd)
    plan: MeasurePlan = BISECT_PLAN
    rounds: RoundsPlan = DEFAULT_ROUNDS
    runs_dir: Path = DEFAULT_RUNS_DIR
    state_dir: Path = DEFAULT_STATE_DIR
    db: str | None = None
    series: str = "current"
    seed: int | None = None


def _suite_spec(suite: str) -> str:
    path = Path(suite)
    return str(path.resolve()) if path.exists() else suite


def resolve_case(suite: str, benchmark: str, target_path: str) -> str:
    """The one case id `benchmark` (id, name or glob) names in the suite at good."""
    from perfkit.collect.discovery import discover, select
    from perfkit.collect.supervisor import Workers
    from perfkit.collect.targets import Target

    cases = select(discover(Workers(), suite, [Target("good", "", target_path)]), benchmark)
    if len(cases) != 1:
        ids = ", ".join(c.id for c in cases)
        raise PerfkitError(f"{benchmark!r} names {len(cases)} benchmarks ({ids}): name one")
    return cases[0].id


def _range(repo: Path, good: Commit, bad: Commit) -> list[Commit]:
    """Commits of good..bad on bad's first-parent line, oldest first; good must be on it."""
    if good.sha == bad.sha:
        raise PerfkitError("--good and --bad are the same commit")
    commits = list_commits(repo, f"{good.sha}..{bad.sha}")
    try:
        parent = git(["rev-parse", f"{commits[0].sha}^1"], repo)
    except TargetError:
        parent = ""
    if parent != good.sha:
        raise PerfkitError(
            f"--good {good.short} is not on the first-parent history of --bad {bad.short}"
        )
    return commits


def bisect(options: BisectOptions, console: Console | None = None) -> BisectResult:
    """Find the first commit of good..bad with bad's timing of the benchmark.

    Ctrl-C or SIGTERM from here to the end (not only while a run measures) returns the
    result so far with status ``interrupted``.
    """
    console = console or Console(stderr=True)
    with Interrupts() as stop:
        found = _bisect(options, console, stop)
    if stop.requested and found.status != "interrupted":
        # Pressed while the handlers were put back: what was found stands, but say so.
        return replace(found, status="interrupted", message=INTERRUPTED)
    return found


INTERRUPTED = "interrupted: every finished round is kept; run the same command to continue"


def _bisect(options: BisectOptions, console: Console, stop: Interrupts) -> BisectResult:
    started = time.monotonic()
    repo = options.repo
    good, bad = commit_facts(repo, options.good), commit_facts(repo, options.bad)
    commits = _range(repo, good, bad)
    suite = _suite_spec(options.suite)
    key = state_key(suite, options.benchmark, good.sha, bad.sha, round_shape(options.plan))
    state = BisectState.load(options.state_dir / f"{key}.json")
    good_tree = commit_target(repo, good, options.series).path
    case_id = resolve_case(suite, options.benchmark, good_tree)
    setup = Setup(
        repo,
        suite,
        case_id,
        replace(options.plan, adaptive=False),  # bisect's RoundsPlan schedules the rounds
        options.rounds,
        options.runs_dir,
        options.db,
        options.series,
        options.seed,
    )
    measurer = Measurer(setup, state, console, stop)
    console.print(
        f"bisect {case_id}: {len(commits)} commits in {good.short}..{bad.short}, "
        f"at most {_steps(len(commits))} bisect steps",
        highlight=False,
    )
    console.print(f"plan: {setup.describe()}", highlight=False)
    steps = measurer.steps

    def result(status: str, message: str, **more: object) -> BisectResult:
        return BisectResult(
            status=status,
            suite=suite,
            benchmark=case_id,
            threshold=options.threshold,
            good=ref_of(good),
            bad=ref_of(bad),
            n_candidates=len(commits),
            steps=tuple(steps),
            wall_seconds=time.monotonic() - started,
            message=message,
            plan=setup.describe(),
            state_path=str(state.path),
            **more,  # type: ignore[arg-type]
        )

    try:
        return _search(options, measurer, commits, good, bad, case_id, state, result)
    except KeyboardInterrupt:
        return result("interrupted", INTERRUPTED)


# A contradicting final check that locates the mistake sends the search back this many times.
MAX_RECOVERIES = 2


@dataclass(frozen=True)
class Turn:
    """One bisect step's verdict on commits[index], and the open range it was taken in."""

    index: int
    verdict: str
    lo: int
    hi: int


def _search(
    options: BisectOptions,
    measurer: Measurer,
    commits: list[Commit],
    good: Commit,
    bad: Commit,
    case_id: str,
    state: BisectState,
    result: Callable[..., BisectResult],
) -> BisectResult:
    threshold = options.threshold
    if len(commits) == 1:  # nothing to bisect: only the confirm step before the final
        step, _ = measurer.compare("confirm", bad, good, lambda v: confirm(v.estimate, threshold))
        if step.verdict != DIFFERS:
            return _not_differing(step, threshold, result)
    lo, hi = -1, len(commits) - 1  # good is index -1; commits[hi] is known bad
    turns: list[Turn] = []
    recoveries = 0
    while True:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            rule = _first_rule(threshold) if not turns else _step_rule(_span_ratio(measurer))
            step, _ = measurer.compare("bisect", commits[mid], good, rule, good=good, bad=bad)
            if step.verdict in (SAME, INCONCLUSIVE) and not turns:
                return _not_differing(step, threshold, result)
            if step.verdict == INCONCLUSIVE:
                return result("inconclusive", _undecided(step))
            turns.append(Turn(mid, step.verdict, lo, hi))
            lo, hi = (lo, mid) if step.verdict == BAD else (mid, hi)
        first_bad, parent = commits[hi], commits[lo] if lo >= 0 else good
        final, runs = measurer.compare(
            "final",
            first_bad,
            parent,
            _final_rule(first_bad.sha == bad.sha),
            profile=True,
            good=good,
            bad=bad,
        )
        back = _wrong_turn(final, turns, lo, hi, first_bad.sha == bad.sha)
        if back is None or recoveries >= MAX_RECOVERIES:
            break
        recoveries += 1
        measurer.console.print(
            f"final check contradicts: {_side_words(final)}; "
            f"searching commits {back[0] + 2}..{back[1] + 1} of {len(commits)} again",
            highlight=False,
        )
        lo, hi = back
    culprits, notes = explain(
        runs, state.profiled.get(comparison_key(parent, first_bad, good, bad)), final, case_id
    )
    measurer.stop.check()
    status = final_status(final)
    return result(
        status,
        f"first bad commit {first_bad.short}: {first_bad.subject}"
        if status == "found"
        else f"not confirmed: {first_bad.short} ({first_bad.subject}) is not slower than its "
        f"parent {parent.short} ({format_change(final.estimate.ratio)}, "
        f"{format_ratio_ci(final.estimate.ci_low, final.estimate.ci_high)}): a step went the "
        "wrong way or the change is spread over several commits; run again (measured rounds "
        "are kept) or bisect a narrower range",
        first_bad=ref_of(first_bad),
        parent=ref_of(parent),
        final=final,
        culprits=culprits,
        culprit_notes=notes,
        extra={"recoveries": recoveries},
    )


def _first_rule(threshold: float) -> Callable[[Views], str]:
    def rule(views: Views) -> str:
        return first(views.span, views.midpoint, threshold)

    return rule


def _step_rule(bad_ratio: float) -> Callable[[Views], str]:
    def rule(views: Views) -> str:
        return between(views.midpoint, bad_ratio)

    return rule


def _final_rule(candidate_is_bad: bool) -> Callable[[Views], str]:
    """`final_check`; the candidate's side is known (bad) when it is bad itself."""

    def rule(views: Views) -> str:
        own = None if candidate_is_bad else views.midpoint
        return final_check(views.estimate, views.span, views.against_midpoint, own)

    return rule


def _span_ratio(measurer: Measurer) -> float:
    """bad / good as the first bisect step measured it: only the direction is used."""
    first_step = next(s for s in measurer.steps if s.span is not None)
    return first_step.span.ratio  # type: ignore[union-attr]


def _not_differing(
    step: Step, threshold: float, result: Callable[..., BisectResult]
) -> BisectResult:
    if step.verdict == SAME:
        span = step.span or step.estimate  # a plain confirm step measures bad vs good itself
        return result(
            "no-change",
            f"good and bad do not differ by {threshold:.0%}: bad / good {span.ratio:.3f} "
            f"(CI {span.ci_low:.3f}-{span.ci_high:.3f}, {span.rounds} rounds); a smaller "
            "--threshold bisects a smaller change",
        )
    return result("inconclusive", _undecided(step))


def _wrong_turn(
    final: Step, turns: list[Turn], lo: int, hi: int, candidate_is_bad: bool
) -> tuple[int, int] | None:
    """The open range to search again when the final check contradicts and its rounds say
    which bracket is wrong: the parent on bad's side (the step that called it good was
    wrong: the first bad commit is in the range that step dropped, up to the parent), or
    the named commit on good's side (likewise, after it). None: nothing to go back to."""
    if not contradicts(final.estimate, final.span):
        return None
    ratio = final.span.ratio if final.span else math.nan
    if lo >= 0 and side(final.against_midpoint, GOOD, ratio) == BAD:
        turn = next((t for t in reversed(turns) if t.index == lo and t.verdict == GOOD), None)
        return None if turn is None else (turn.lo, lo)
    if not candidate_is_bad and side(final.midpoint, BAD, ratio) == GOOD:
        turn = next((t for t in reversed(turns) if t.index == hi and t.verdict == BAD), None)
        return None if turn is None else (hi, turn.hi)
    return None


def _side_words(final: Step) -> str:
    ratio = final.span.ratio if final.span else math.nan
    if side(final.against_midpoint, GOOD, ratio) == BAD:
        return f"the parent {final.against.short} measures on bad's side"
    return f"{final.candidate.short} measures on good's side"


def final_status(final: Step) -> str:
    """`found`, unless the named commit measured against its parent is on good's side of the
    midpoint (`good`, or a CI there when its sides stayed undecided): then a noisy step sent
    the search down the wrong half (or the change is spread out), and naming the commit
    would be a wrong answer given as found."""
    contradicted = final.verdict == GOOD or contradicts(final.estimate, final.span)
    return "inconclusive" if contradicted else "found"


def _steps(n: int) -> int:
    return max(0, (n - 1).bit_length())


def _undecided(step: Step) -> str:
    return (
        f"{step.kind} step {step.candidate.short} vs {step.against.short} still inconclusive "
        f"after {step.estimate.rounds} rounds: raise --max-rounds and run again (measured "
        "rounds are kept)"
    )


def explain(
    runs: list[Run], profiled: str | None, final: Step, case_id: str
) -> tuple[tuple[CulpritLine, ...], tuple[str, ...]]:
    """Culprit lines of the first bad commit against its parent, from the profiled run."""
    from perfkit.analysis.culprit_words import accounting_text, culprit_text, dependency_text
    from perfkit.analysis.culprits import find_culprits
    from perfkit.analysis.run_profiles import load_run_profiles

    run = next((r for r in runs if str(r.path) == profiled), None)
    if run is None:
        return (), ("no profiles of this comparison (the profiled run is missing)",)
    before, after = final.against.short, final.candidate.short
    report = find_culprits(
        load_run_profiles(run, before, case_id),
        load_run_profiles(run, after, case_id),
        timing_ratio=final.estimate.ratio,
        benchmark=case_id,
    )
    lines = tuple(
        CulpritLine(c.name, c.file, c.line, c.delta_seconds, culprit_text(c))
        for c in report.named(3)
    )
    notes = [accounting_text(report)]
    dependency = dependency_text(report)
    if dependency:
        notes.insert(0, dependency)
    return lines, tuple(notes)
