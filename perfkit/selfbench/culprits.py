"""Culprit accuracy: does perfkit name the function an edit changed, first?

For each edit of tests/culprit_corpus (realistic commits to a small text-matching library:
an extra regex pass, a dropped cache, a linear scan...), one real interleaved `perfkit run`
of baseline vs edited code on the scenario the edit touches (timing workers and several
profiling workers a side), then the timing verdict, perfkit's first-named culprit, and the
old ranking beside it (the largest own-time change of ONE profile a side, as the report
used to do). Goal: the edited function named first in at least 90 % of the edits.
Needs a source checkout (the corpus lives under tests/). A maintainer's tool, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

GOAL_SHARE = 0.9
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "culprit_corpus"


@dataclass(frozen=True)
class Outcome:
    edit: str
    scenario: str
    function: str
    pct_change: float
    verdict: str
    named: str
    named_text: str
    old: str
    seconds: float

    @property
    def hit(self) -> bool:
        return self.named == self.function

    @property
    def old_hit(self) -> bool:
        return self.old == self.function


def _edits_module() -> Any:
    path = CORPUS / "edits.py"
    if not path.is_file():
        raise SystemExit(f"perfkit.selfbench culprits: needs a source checkout ({path} missing)")
    spec = importlib.util.spec_from_file_location("culprit_corpus_edits", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def old_first(base: Any, current: Any, slower: bool) -> str:
    """The old report's pick: the largest own-time change in one profile per side."""
    from perfkit.analysis.profiles import diff_profiles

    diff = diff_profiles(base, current)
    rows = diff[diff["delta_tottime_seconds"] > 0] if slower else diff
    if not slower:
        rows = rows.sort_values("delta_tottime_seconds", kind="stable")
    return str(rows.iloc[0]["function"]) if len(rows) else "–"


def trial(edit: Any, edits: Any, plan: Any, out: Path, seed: int) -> Outcome:
    from rich.console import Console

    from perfkit.analysis.comparison import compare
    from perfkit.analysis.culprit_words import culprit_text
    from perfkit.analysis.run_profiles import load_run_profiles, run_culprits
    from perfkit.collect.scheduler import run_suite
    from perfkit.collect.targets import parse_target

    start = time.perf_counter()
    edited = edits.apply(edit, out / f"{edit.name}-code")
    targets = [parse_target(f"baseline={edits.BASE}"), parse_target(f"current={edited}")]
    result = run_suite(
        str(CORPUS / "suite.py"),
        targets,
        out / "runs",
        plan=plan,
        only=edit.scenario,
        profile=True,
        seed=seed,
        console=Console(quiet=True),
    )
    comparison = compare(result.path, runs_dir=out / "runs")
    row = comparison.table.iloc[0]
    ratio = float(row["ratio"])
    report = run_culprits(result.path, benchmark=edit.scenario, timing_ratio=ratio)
    named = report.named(1)
    slower = ratio >= 1
    old = old_first(
        load_run_profiles(result.path, "baseline", edit.scenario)[0],
        load_run_profiles(result.path, "current", edit.scenario)[0],
        slower,
    )
    return Outcome(
        edit=edit.name,
        scenario=edit.scenario,
        function=edit.function,
        pct_change=(ratio - 1) * 100,
        verdict=str(row["verdict"]),
        named=named[0].function if named else "–",
        named_text=culprit_text(named[0], code=str) if named else "no significant culprit",
        old=old,
        seconds=time.perf_counter() - start,
    )


def _table(outcomes: list[Outcome]) -> str:
    head = "| edit | scenario | timing | edited function | perfkit names first | | old ranking (own-time Δ, 1 profile) | |"
    rule = "|---|---|---|---|---|---|---|---|"
    rows = [
        f"| {o.edit} | {o.scenario} | {o.pct_change:+.1f} % {o.verdict} | `{o.function}` | "
        f"`{o.named}` | {'✓' if o.hit else '✗'} | `{o.old}` | {'✓' if o.old_hit else '✗'} |"
        for o in outcomes
    ]
    return "\n".join([head, rule, *rows])


def main(argv: list[str] | None = None) -> int:
    from perfkit.config import DEFAULT_PLAN

    edits = _edits_module()
    names = [e.name for e in edits.EDITS]
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench culprits")
    parser.add_argument("--only", nargs="*", choices=names, help="edits to try (default all)")
    parser.add_argument("--workers", type=int, default=10, help="timing workers a side")
    parser.add_argument("--profile-workers", type=int, default=DEFAULT_PLAN.profile_workers)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print each culprit line")
    args = parser.parse_args(argv)
    plan = replace(
        DEFAULT_PLAN,
        workers=args.workers,
        samples=3,
        worker_seconds=0.3,
        min_sample_seconds=0.01,
        profile_workers=args.profile_workers,
    )
    chosen = [e for e in edits.EDITS if not args.only or e.name in args.only]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="perfkit-culprits-") as tmp:
        for i, edit in enumerate(chosen):
            outcome = trial(edit, edits, plan, Path(tmp), args.seed + i)
            outcomes.append(outcome)
            print(
                f"{edit.name}: {outcome.pct_change:+.1f} % {outcome.verdict}; first culprit "
                f"{outcome.named} ({'right' if outcome.hit else 'WRONG'}), old {outcome.old}"
                f" [{outcome.seconds:.0f} s]",
                flush=True,
            )
            if args.verbose:
                print(f"    {outcome.named_text}", flush=True)
    hits = sum(o.hit for o in outcomes)
    old_hits = sum(o.old_hit for o in outcomes)
    n = len(outcomes)
    print()
    print(f"{n} edits, {args.workers} timing and {args.profile_workers} profiling workers a side")
    print(_table(outcomes))
    print()
    print(f"edited function named first: perfkit {hits}/{n}, old ranking {old_hits}/{n}")
    met = n > 0 and hits >= math.ceil(GOAL_SHARE * n)
    print(f"goal >= {GOAL_SHARE:.0%}: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
