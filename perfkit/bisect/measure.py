"""One comparison of commits: interleaved perfkit runs until the rule has its answer.

A comparison of `candidate` against `against` (with good and bad in the same rounds, when
given: each commit once) is one or more ordinary runs of the one
benchmark on those commits (exported once, cached by sha, labelled by short sha), rounds
interleaved and seeded like any `perfkit run`, each indexed into the history store. The
rounds of all its runs are pooled: per round the log of candidate / against (and of the
`Views` against the midpoint of good and bad), the median of the samples paired side by
side in a ping-pong round, or of the worker medians in a round run one worker after
another; their median and bootstrap CI (`perfkit.analysis.stats.paired_ratios`) are the
estimate. More rounds are added while the rule says inconclusive and the rounds plan allows (`perfkit.bisect.decide.RoundsPlan`); each run is a fixed run of exactly the
rounds asked for. The bisection's stop flag (`perfkit.bisect.interrupt`) is checked before
and after every run, so Ctrl-C keeps every finished run. Knows nothing of bisection order.
"""

from __future__ import annotations

import glob
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console

from perfkit.bisect.decide import INCONCLUSIVE, RoundsPlan
from perfkit.bisect.interrupt import Interrupts
from perfkit.bisect.records import CommitRef, Estimate, Step
from perfkit.bisect.state import BisectState, pair_key
from perfkit.collect.commits import Commit, commit_target
from perfkit.collect.targets import Target
from perfkit.config import DEFAULT_STATS, MeasurePlan, default_processes
from perfkit.errors import PerfkitError, RunDirError
from perfkit.render.format import format_change, format_ratio_ci, format_seconds
from perfkit.rundir import Run, load_run


@dataclass(frozen=True)
class Setup:
    """What every comparison of one bisection shares."""

    repo: Path
    suite: str
    case_id: str
    plan: MeasurePlan
    rounds: RoundsPlan
    runs_dir: Path
    db: str | None = None
    series: str = "current"
    seed: int | None = None

    def describe(self) -> str:
        """The plan in one line, as the bisection prints it."""
        plan, rounds = self.plan, self.rounds
        samples = plan.pingpong_samples if plan.pingpong else plan.samples  # as timing takes
        return (
            f"bisect's own rounds (fixed runs, not the adaptive plan): {rounds.first} "
            f"interleaved rounds a step, +{rounds.more} while its CI straddles the boundary, "
            f"at most {rounds.most}; a round is one {plan.worker_seconds:g} s worker "
            f"({samples} samples) per commit, "
            + ("in ping-pong" if plan.pingpong else "one after another")
        )


def round_shape(plan: MeasurePlan) -> dict[str, object]:
    """What makes rounds comparable: measured in ping-pong or one worker after another,
    with the same samples and sampling time (part of the state's key)."""
    return {
        "pingpong": plan.pingpong,
        "samples": plan.samples,
        "warmups": plan.warmups,
        "worker_seconds": plan.worker_seconds,
        "min_sample_seconds": plan.min_sample_seconds,
        "pingpong_samples": plan.pingpong_samples,
        "pingpong_min_sample_seconds": plan.pingpong_min_sample_seconds,
    }


def comparison_key(
    against: Commit, candidate: Commit, good: Commit | None = None, bad: Commit | None = None
) -> str:
    """The state's key of a comparison: ``against..candidate``, with ``/good`` when good is
    measured besides `against` and ``..bad`` when bad is (the keys of earlier versions for
    the comparisons they made)."""
    key = pair_key(against.sha, candidate.sha)
    if good is None or bad is None:
        return key
    return key + ("" if good.sha == against.sha else f"/{good.sha}") + f"..{bad.sha}"


def ref_of(commit: Commit) -> CommitRef:
    return CommitRef(commit.sha, commit.subject, commit.author_time, commit.order)


def round_logs(runs: list[Run], labels: tuple[str, ...], case_id: str) -> list[np.ndarray]:
    """Per round (worker index) of every run that measured all of `labels`: a matrix of log
    seconds, one column a label. A ping-pong round (`perfkit.collect.pingpong`) gives a row
    per sample step (the k-th sample of each label, taken side by side); a round whose
    workers ran one after another gives one row, the log of each worker's median."""
    from perfkit.analysis.stats import stepwise_logs, worker_medians

    rounds: list[np.ndarray] = []
    for run in runs:
        if run.info.options.get("pingpong"):
            steps = stepwise_logs(run.samples, labels)
            steps = steps[steps.index.get_level_values("id") == case_id]
            rounds += [g.to_numpy(float) for _, g in steps.groupby(level="worker", sort=True)]
            continue
        med = worker_medians(run.samples)
        med = med[med["id"] == case_id]
        sides = [
            med[med["target"] == label].set_index("worker")["median_seconds"] for label in labels
        ]
        common = sides[0].index
        for side in sides[1:]:
            common = common.intersection(side.index)
        logs = np.log(np.column_stack([side.loc[common].to_numpy(float) for side in sides]))
        rounds += [row[None, :] for row in logs]
    return rounds


def per_round(rounds: list[np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """Each round's log ratio for a combination of label columns (e.g. {1: 1, 0: -1} is
    label 1 / label 0): the median over the round's rows (sample steps) of the combination,
    so that in a ping-pong round a change of the machine's speed cancels step by step."""
    values = []
    for logs in rounds:
        combo = sum(w * logs[:, col] for col, w in weights.items())
        values.append(float(np.median(combo)))
    return np.asarray(values, float)


def estimate_logs(logs: np.ndarray) -> Estimate:
    """Median and bootstrap CI (`perfkit.analysis.stats.paired_ratios`) of per-round logs."""
    from perfkit.analysis.stats import paired_ratios

    if len(logs) < 2:
        return Estimate(math.nan, math.nan, math.nan, len(logs))
    est = paired_ratios([np.asarray(logs, float)], [len(logs)], [len(logs)], DEFAULT_STATS)[0]
    return Estimate(est.ratio, est.ci_low, est.ci_high, len(logs))


def estimate(runs: list[Run], against: str, candidate: str, case_id: str) -> Estimate:
    """Pooled paired estimate of candidate / against over every round of `runs`."""
    rounds = round_logs(runs, (against, candidate), case_id)
    return estimate_logs(per_round(rounds, {1: 1.0, 0: -1.0}))


@dataclass(frozen=True)
class Labels:
    """Run labels (short shas) of a comparison's commits; good and bad when measured too."""

    against: str
    candidate: str
    good: str | None = None
    bad: str | None = None

    def unique(self) -> tuple[str, ...]:
        names = (self.against, self.candidate, self.good, self.bad)
        return tuple(dict.fromkeys(n for n in names if n is not None))


@dataclass(frozen=True)
class Views:
    """What one comparison's pooled rounds say.

    `estimate` is candidate / against. With good and bad measured in the same rounds:
    `midpoint` is candidate / √(good · bad) per round (no earlier estimate of the bad ratio,
    and its error, places the boundary), `span` is bad / good (the confirm step folded into
    the first bisect step), and `against_midpoint` is against / √(good · bad) (the final
    check's parent, so a contradicting final says which side of it went wrong).
    """

    estimate: Estimate
    midpoint: Estimate | None = None
    span: Estimate | None = None
    against_midpoint: Estimate | None = None


def views(runs: list[Run], labels: Labels, case_id: str) -> Views:
    """The pooled `Views` of every round of `runs` that measured all of `labels`."""
    if labels.good is None or labels.bad is None:
        return Views(estimate(runs, labels.against, labels.candidate, case_id))
    names = labels.unique()
    rounds = round_logs(runs, names, case_id)
    a, c, g, b = (
        names.index(n) for n in (labels.against, labels.candidate, labels.good, labels.bad)
    )

    def ratio(top: int, weights: dict[int, float]) -> Estimate:
        """Label `top` against a combination of labels (weights summing to 1)."""
        combo: dict[int, float] = {top: 1.0}
        for col, w in weights.items():
            combo[col] = combo.get(col, 0.0) - w
        return estimate_logs(per_round(rounds, combo))

    middle = {g: 0.5, b: 0.5} if g != b else {g: 1.0}
    return Views(
        estimate=ratio(c, {a: 1.0}),
        midpoint=ratio(c, middle),
        span=ratio(b, {g: 1.0}),
        against_midpoint=None if labels.against == labels.good else ratio(a, middle),
    )


def run_seconds(run: Run) -> float:
    """Wall time a run took (created -> finished), 0 when it did not finish."""
    from datetime import datetime

    start = run.info.created_at
    if start is None or not run.info.finished:
        return 0.0
    try:
        end = datetime.fromisoformat(run.info.finished)
    except ValueError:
        return 0.0
    if end.tzinfo is None:
        end = end.replace(tzinfo=start.tzinfo)
    return max(0.0, (end - start).total_seconds())


class Measurer:
    """Runs comparisons for one bisection, reusing the runs its state lists."""

    def __init__(
        self, setup: Setup, state: BisectState, console: Console, stop: Interrupts
    ) -> None:
        self.setup = setup
        self.state = state
        self.console = console
        self.stop = stop
        self._targets: dict[str, Target] = {}
        self.steps: list[Step] = []  # every finished comparison, in order (kept on Ctrl-C)

    def target(self, commit: Commit) -> Target:
        if commit.sha not in self._targets:
            self._targets[commit.sha] = commit_target(self.setup.repo, commit, self.setup.series)
        return self._targets[commit.sha]

    def _cached_runs(self, pair: str) -> list[Run]:
        runs = []
        for path in self.state.runs(pair):
            try:
                runs.append(load_run(Path(path)))
            except (PerfkitError, OSError) as exc:
                self.console.print(f"[yellow]bisect: dropping cached run {path}: {exc}[/]")
                self.state.drop_run(pair, path)
        return runs

    def compare(
        self,
        kind: str,
        candidate: Commit,
        against: Commit,
        rule: Callable[[Views], str],
        profile: bool = False,
        good: Commit | None = None,
        bad: Commit | None = None,
    ) -> tuple[Step, list[Run]]:
        """Measure candidate against `against` (and `good` and `bad`, if given, in the same
        rounds; each commit once) until `rule` decides or rounds run out.

        `rule` gets the pooled `Views`. Raises KeyboardInterrupt (after recording the run in
        flight) once Ctrl-C was pressed.
        """
        if good is None or bad is None:
            good = bad = None
        pair = comparison_key(against, candidate, good, bad)
        runs = self._cached_runs(pair)
        labels = Labels(
            against.sha[:10],
            candidate.sha[:10],
            good.sha[:10] if good else None,
            bad.sha[:10] if bad else None,
        )
        commits = list({c.sha: c for c in (against, candidate, good, bad) if c}.values())
        seen = views(runs, labels, self.setup.case_id)
        verdict = rule(seen)
        measured = False
        started = time.monotonic()
        while True:
            need_profile = profile and pair not in self.state.profiled
            n = self.setup.rounds.next_rounds(seen.estimate.rounds, verdict != INCONCLUSIVE)
            if n == 0 and need_profile:
                n = self.setup.rounds.more
            if n == 0:
                break
            self.stop.check()
            try:
                run = self._measure(commits, n, need_profile, pair)
            except PerfkitError:
                self.stop.check()  # a terminal's Ctrl-C also killed a git child: stopped
                raise
            runs.append(run)
            measured = True
            seen = views(runs, labels, self.setup.case_id)
            if run.info.status == "interrupted":
                raise KeyboardInterrupt
            self.stop.check()  # a Ctrl-C that came after the run's last look at its flag
            if seen.estimate.rounds == 0:
                raise PerfkitError(
                    f"no round of {self.setup.case_id} measured on all of "
                    f"{', '.join(labels.unique())} (see the failures of run {run.path})"
                )
            verdict = rule(seen)
        step = Step(
            kind=kind,
            candidate=ref_of(candidate),
            against=ref_of(against),
            estimate=seen.estimate,
            verdict=verdict,
            seconds=sum(run_seconds(r) for r in runs),
            runs=tuple(str(r.path) for r in runs),
            cached=not measured,
            bad=ref_of(bad) if bad else None,
            midpoint=seen.midpoint,
            good=ref_of(good) if good else None,
            span=seen.span,
            against_midpoint=seen.against_midpoint,
        )
        self.steps.append(step)
        self._print(step, time.monotonic() - started)
        return step, runs

    def _measure(self, commits: list[Commit], rounds: int, profile: bool, pair: str) -> Run:
        from perfkit.collect.scheduler import run_suite

        setup = self.setup
        plan = replace(setup.plan, workers=rounds, adaptive=False)
        result = run_suite(
            setup.suite,
            [self.target(c) for c in commits],
            setup.runs_dir,
            plan=plan,
            processes=default_processes(plan, len(commits)),
            only=glob.escape(setup.case_id),
            profile=profile,
            seed=setup.seed,
            console=self.console,
            db=setup.db,
        )
        self.state.add_run(pair, str(result.path), profiled=profile)
        try:
            return load_run(result.path)
        except RunDirError as exc:
            raise PerfkitError(f"cannot read the run just measured: {exc}") from None

    def _print(self, step: Step, elapsed: float) -> None:
        est = step.estimate
        cost = "cached" if step.cached else f"{format_seconds(elapsed)} now"
        parts = [
            f"{step.kind:8} {step.candidate.short} vs {step.against.short}: "
            f"{format_change(est.ratio)}, ratio CI {format_ratio_ci(est.ci_low, est.ci_high)}"
        ]
        for name, value in (
            ("vs the midpoint of good and bad", step.midpoint),
            (f"{step.against.short} vs the midpoint", step.against_midpoint),
            ("bad vs good", step.span),
        ):
            if value is not None:
                parts.append(
                    f"{name} {format_change(value.ratio)}, "
                    f"CI {format_ratio_ci(value.ci_low, value.ci_high)}"
                )
        self.console.print(
            "; ".join(parts) + f" over {est.rounds} rounds → [bold]{step.verdict}[/] "
            f"(runs took {format_seconds(step.seconds)}; {cost})",
            highlight=False,
        )
