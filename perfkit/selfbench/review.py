"""Self-benchmark: a 10-case review of a real library with profile and memory, the adaptive
plan beside the fixed 24 workers a side of before issue 16, in one run.

The workload is Python-Markdown 3.3.7 -> 3.4.1, ten cases (`_review_suite.py`), both
releases installed with `pip install --no-deps --target` into the work directory on first
use (a package registry must be reachable then). Each trial runs `perfkit run --profile
--memory` once per plan, back to back, the order alternating between trials so that the
machine's drift hits both plans alike. Prints each run's wall time as a user sees it (the
whole command), the adaptive plan's median against the fixed plan's, and whether the
verdicts agree. `--before DIR` adds the tool itself as it was (a checkout of an older
perfkit, run with its own defaults): the fixed plan of today's code has since gained profile
and memory passes on both cores, so it is faster than the review the issue timed. Two
verdicts on a benchmark contradict when one is a significant change and the other a change
the opposite way, or "unchanged" beside a change past the threshold; "inconclusive"
contradicts nothing (it says less). Under each contradiction come every plan's loop count per
sample and time per call on each side, the facts that tell which plan measured wrong (perfkit
before its warm calibration timed Markdown 3.4's first calls). Each run's round spread (the
median over its benchmarks of the robust deviation of the per-round log ratios) is shown
beside its wall: the adaptive plan's rounds grow with its square, the fixed plan's do not,
so a pair's ratio moves with the box. `--suite/--baseline/--current` review another suite
the same way.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.errors import PerfkitError
from perfkit.rundir.writer import atomic_write_json
from perfkit.selfbench.detect import holding

if TYPE_CHECKING:
    from perfkit.rundir.reader import Run

RELEASES = ("3.3.7", "3.4.1")
SUITE = Path(__file__).with_name("_review_suite.py")
PLANS = {
    "adaptive": [],  # perfkit run's default with two targets
    "fixed 24": ["--workers", "24", "--no-pingpong"],  # the plan when issue 16 was filed
    "before": [],  # `--before DIR`: the perfkit checked out there, its own default plan
}
UP, DOWN = {"regression", "slower"}, {"improvement", "faster"}
GOAL_SHARE = 1 / 3  # issue 16: the review in at most a third of the fixed plan's time


@dataclass(frozen=True)
class Review:
    """One `perfkit run` of the review: its plan, wall time and verdict per benchmark."""

    plan: str
    trial: int
    wall_seconds: float
    run_dir: str
    verdicts: dict[str, str]
    stops: dict[str, str]  # adaptive plan: why each benchmark stopped ("changed@12")
    spread: float = math.nan  # median robust deviation of a benchmark's round log ratios


def work_directory(out: Path | None) -> Path:
    """`--out`, else the one under TMPDIR that `review` and `startup` share (the releases are
    installed there once); created."""
    work = out or Path(os.environ.get("TMPDIR", "/tmp")) / "perfkit-selfbench-review"
    work.mkdir(parents=True, exist_ok=True)
    return work


def check_before(before: Path) -> None:
    """`--before` must be a checkout holding a perfkit package (PerfkitError: exit 2)."""
    if not (before / "perfkit" / "__init__.py").is_file():
        raise PerfkitError(f"--before {before}: no perfkit package there")


def install(work: Path) -> tuple[Path, Path]:
    """Both releases, each in its own directory (kept: a second run installs nothing)."""
    dirs = []
    for release in RELEASES:
        target = work / f"markdown-{release}"
        if not (target / "markdown").is_dir():
            done = subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                 str(target), f"markdown=={release}"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise PerfkitError(f"cannot install markdown=={release}: {last}")
        dirs.append(target)
    return dirs[0], dirs[1]


def review(
    plan: str,
    trial: int,
    suite: Path,
    base: Path,
    current: Path,
    out: Path,
    seed: int,
    before: Path | None = None,
) -> Review:
    """One whole `perfkit run` with profile and memory, timed from the outside; plan
    "before" runs the perfkit of the checkout `before` (from that directory and first on
    its PYTHONPATH, so its workers too) with that version's defaults."""
    from perfkit.analysis.comparison import compare
    from perfkit.rundir import load_run

    runs = out.resolve() / "runs" / plan.replace(" ", "")
    cmd = [sys.executable, "-m", "perfkit", "run", str(suite.resolve()), "--profile", "--memory"]
    cmd += ["--target", f"baseline={base.resolve()}", "--target", f"current={current.resolve()}"]
    cmd += ["--out", str(runs), "--seed", str(seed), *PLANS[plan]]
    env = cwd = None
    if plan == "before":
        assert before is not None
        # Run from the checkout itself: ``python -m`` puts the working directory ahead of
        # PYTHONPATH, so started from today's checkout, today's perfkit (and workers) ran.
        cwd = before.resolve()
        env = {**os.environ, "PYTHONPATH": str(cwd)}
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: a regression, a verdict like any other
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PerfkitError(f"perfkit run ({plan}) failed: {last}")
    dirs = [line for line in done.stdout.splitlines() if line and Path(line).is_dir()]
    if not dirs:
        raise PerfkitError(f"perfkit run named no run directory: {done.stdout.strip()[-300:]}")
    run_dir = dirs[0]
    run = load_run(run_dir)
    table = compare(run).table
    stops = run.info.stops or {}
    return Review(
        plan,
        trial,
        wall,
        run_dir,
        {str(r["id"]): str(r["verdict"]) for _, r in table.iterrows()},
        {k: f"{s.reason}@{s.rounds}" for k, s in stops.items()},
        round_spread(run),
    )


def _kept_run(review: Review) -> Run | None:
    """The review's run directory, loaded; None once it is no longer on disk."""
    if not Path(review.run_dir, "run.json").is_file():
        return None
    from perfkit.rundir import load_run

    return load_run(review.run_dir)


def _with_spread(review: Review) -> Review:
    """A review saved before the spread was recorded: read it from its run, if still there."""
    run = None if not math.isnan(review.spread) else _kept_run(review)
    return review if run is None else replace(review, spread=round_spread(run))


def round_spread(run: Run) -> float:
    """Median over the benchmarks of the robust deviation (1.4826 MAD) of the per-round log
    ratios, current / baseline: ping-pong rounds pair their steps, other rounds compare the
    two workers' medians (as the comparison does). NaN without two targets' rounds."""
    import numpy as np

    from perfkit.analysis.stats import stepwise_round_logs, worker_medians

    labels = [t for t in run.info.targets if t in ("baseline", "current")]
    if len(labels) != 2 or run.samples.empty:
        return math.nan
    if run.info.options.get("pingpong"):
        logs = stepwise_round_logs(run.samples, "baseline", "current")
    else:
        medians = worker_medians(run.samples).pivot_table(
            index=["id", "worker"], columns="target", values="median_seconds"
        )
        logs = np.log(medians["current"] / medians["baseline"]).rename("log_ratio")
        logs = logs.dropna().reset_index()
    deviations = [
        1.4826 * float(np.median(np.abs(x - np.median(x))))
        for _, x in logs.groupby("id")["log_ratio"]
        if len(x) >= 3
    ]
    return float(np.median(deviations)) if deviations else math.nan


def contradicts(a: str, b: str) -> bool:
    """Verdicts that cannot both be right (see the module's docstring)."""
    pairs = {(a, b), (b, a)}
    return any(
        (x in UP and y in DOWN) or (x == "unchanged" and y in {"regression", "improvement"})
        for x, y in pairs
    )


def timing_evidence(reviews: list[Review], bids: list[str]) -> dict[str, list[str]]:
    """Per benchmark in `bids` and plan, the loop count each side's samples were taken at
    and the time per call: what to read before believing either side of a contradiction (a
    side sampled one cold call at a time is slow for it; README, "calibration"). Each run is
    read once for all of them; runs no longer on disk are skipped."""
    from perfkit.analysis.stats import with_ids
    from perfkit.render.format import format_seconds

    sides = ("baseline", "current")
    # (bid, plan, side) -> one (loops, seconds per call) median pair per run
    figures: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for review in reviews:
        run = _kept_run(review)
        if run is None or run.samples.empty:
            continue
        samples = with_ids(run.samples)
        mine = samples[samples["id"].isin(bids) & samples["target"].isin(sides)]
        for (bid, target), rows in mine.groupby(["id", "target"]):
            figures.setdefault((str(bid), review.plan, str(target)), []).append(
                (float(rows["loops"].median()), float(rows["seconds"].median()))
            )
    out: dict[str, list[str]] = {}
    for bid in bids:
        lines = out.setdefault(bid, [])
        for plan in PLANS:
            seen = [figures.get((bid, plan, side), []) for side in sides]
            if not all(seen):
                continue
            loops = " | ".join(f"{statistics.median(f[0] for f in side):g}" for side in seen)
            per_call = " | ".join(
                format_seconds(statistics.median(f[1] for f in side)) for side in seen
            )
            lines.append(f"{plan:<9} loops per sample {loops}, per call {per_call}")
    return out


def summarise(reviews: list[Review]) -> list[str]:
    """The table's lines, then the verdicts side by side and the goal."""
    lines = [
        f"{'plan':<10} {'runs':>4} {'median wall':>12} {'walls (s)':<28} "
        f"{'round spread (%)':<28} decided verdicts"
    ]
    walls: dict[str, float] = {}
    for plan in PLANS:
        mine = [r for r in reviews if r.plan == plan]
        if not mine:
            continue
        walls[plan] = statistics.median(r.wall_seconds for r in mine)
        decided = [sum(v != "inconclusive" for v in r.verdicts.values()) for r in mine]
        shown = " ".join(f"{r.wall_seconds:.1f}" for r in mine)
        spreads = " ".join(f"{100 * r.spread:.1f}" for r in mine)
        lines.append(
            f"{plan:<10} {len(mine):>4} {walls[plan]:>10.1f} s {shown:<28} {spreads:<28} "
            f"{'/'.join(map(str, decided))} of {len(mine[0].verdicts)}"
        )
    ids = sorted({k for r in reviews for k in r.verdicts})
    lines += ["", "verdicts by run (adaptive: why and after how many rounds it stopped)"]
    for bid in ids:
        cells = [
            r.verdicts.get(bid, "-") + (f" ({r.stops[bid]})" if bid in r.stops else "")
            for r in reviews
        ]
        lines.append(f"  {bid:<16} " + " | ".join(cells))
    clashes = [  # each pair of runs of different plans, in a stable order of the plans
        (
            bid,
            *min((a.plan, a.verdicts[bid]), (b.plan, b.verdicts[bid])),
            *max((a.plan, a.verdicts[bid]), (b.plan, b.verdicts[bid])),
        )
        for i, a in enumerate(reviews)
        for b in reviews[i + 1 :]
        for bid in ids
        if a.plan != b.plan
        and bid in a.verdicts
        and bid in b.verdicts
        and contradicts(a.verdicts[bid], b.verdicts[bid])
    ]
    lines.append("")
    for (bid, pa, va, pb, vb), n in Counter(clashes).items():
        lines.append(
            f"  contradiction: {bid}: {pa} {va} vs {pb} {vb}" + (f" ({n}x)" if n > 1 else "")
        )
    evidence = timing_evidence(reviews, sorted({c[0] for c in clashes}))
    for bid, shown in evidence.items():
        lines.append(f"    {bid}, medians over each plan's runs (baseline | current):")
        lines += [f"      {line}" for line in shown]
    for anchor in ("fixed 24", "before"):
        if {"adaptive", anchor} <= walls.keys():
            share = walls["adaptive"] / walls[anchor]
            against = [c for c in clashes if {c[1], c[3]} == {"adaptive", anchor}]
            met = share <= GOAL_SHARE and not against
            lines.append(
                f"adaptive / {anchor} median wall: {share:.3f} (goal <= {GOAL_SHARE:.3f}; "
                f"{len(against)} of its verdicts contradicted): {'met' if met else 'MISSED'}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench review")
    parser.add_argument("--trials", type=int, default=2, help="runs of each plan (default 2)")
    parser.add_argument(
        "--plans", default="adaptive,fixed 24", help="adaptive, fixed 24 (default both)"
    )
    parser.add_argument("--out", type=Path, help="work directory (kept; releases installed once)")
    parser.add_argument("--suite", type=Path, default=SUITE, help="another suite to review")
    parser.add_argument("--baseline", type=Path, help="with --suite: the baseline's directory")
    parser.add_argument("--current", type=Path, help="with --suite: the current's directory")
    parser.add_argument("--seed", type=int, default=1, help="first run's --seed (then +1 each)")
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of perfkit as it was (e.g. `git worktree add DIR bf68c35^`, the day "
        "issue 16 was filed): adds plan 'before', that version with its defaults",
    )
    parser.add_argument("--json", type=Path, help="also write the runs as JSON")
    parser.add_argument(
        "--lock", type=Path, help="flock this file around each trial (e.g. the heavy lock)"
    )
    parser.add_argument(
        "--show",
        type=Path,
        metavar="JSON",
        help="print the table of an earlier --json; run nothing",
    )
    args = parser.parse_args(argv)
    if args.show is not None:
        try:
            earlier = [Review(**r) for r in json.loads(args.show.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError) as exc:
            raise PerfkitError(f"--show {args.show}: not a review JSON ({exc})") from None
        print("\n".join(summarise([_with_spread(r) for r in earlier])))
        return 0
    plans = [p.strip() for p in args.plans.split(",") if p.strip() and p.strip() != "before"]
    if args.before is not None:
        check_before(args.before)
        plans.append("before")
    unknown = [p for p in plans if p not in PLANS]
    if unknown or not plans or args.trials < 1:
        raise PerfkitError("--plans takes adaptive and fixed 24; --trials at least 1")
    if (args.baseline is None) != (args.current is None):
        raise PerfkitError("--baseline and --current go together")
    out = work_directory(args.out)
    if args.baseline is not None:
        base, current = args.baseline, args.current
    else:
        base, current = install(out)
    reviews: list[Review] = []
    seed = args.seed
    for trial in range(args.trials):
        order = plans if trial % 2 == 0 else plans[::-1]
        with holding(args.lock):
            for plan in order:
                done = review(plan, trial, args.suite, base, current, out, seed, args.before)
                seed += 1
                reviews.append(done)
                print(
                    f"trial {trial} {plan}: {done.wall_seconds:.1f} s, {done.run_dir}", flush=True
                )
    print()
    print("\n".join(summarise(reviews)))
    if args.json is not None:
        try:
            atomic_write_json(args.json, [asdict(r) for r in reviews])
        except OSError as exc:  # the table above holds the same
            raise PerfkitError(f"--json {args.json}: {exc.strerror or exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
