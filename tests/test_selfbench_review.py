"""selfbench review's reading of two plans' verdicts: what contradicts, its goal line, and
each run's round spread."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers.runs import build_run

from perfkit.selfbench.review import Review, contradicts, round_spread, summarise, timing_evidence


def test_only_verdicts_that_cannot_both_hold_contradict() -> None:
    assert contradicts("slower", "faster") and contradicts("improvement", "regression")
    assert contradicts("unchanged", "regression") and contradicts("improvement", "unchanged")
    # A change under the threshold lies inside the unchanged band; inconclusive says less.
    assert not contradicts("slower", "unchanged") and not contradicts("faster", "unchanged")
    assert not any(contradicts("inconclusive", v) for v in ("regression", "unchanged", "faster"))


def _review(plan: str, wall: float, verdicts: dict[str, str]) -> Review:
    return Review(plan, 0, wall, f"/runs/{plan}", verdicts, {})


def test_the_goal_line_weighs_time_and_contradictions() -> None:
    fixed = _review("fixed 24", 210.0, {"a": "inconclusive", "b": "unchanged", "c": "slower"})
    quick = _review("adaptive", 60.0, {"a": "unchanged", "b": "unchanged", "c": "slower"})
    lines = summarise([fixed, quick])
    assert lines[-1].endswith("0 of its verdicts contradicted): met")
    assert "adaptive / fixed 24 median wall: 0.286" in lines[-1]
    slow = _review("adaptive", 80.0, {"a": "unchanged", "b": "regression", "c": "slower"})
    lines = summarise([fixed, slow])
    assert "contradiction: b: adaptive regression vs fixed 24 unchanged" in "\n".join(lines)
    assert lines[-1].endswith("1 of its verdicts contradicted): MISSED")


def test_a_clash_between_two_anchors_is_not_held_against_the_adaptive_plan() -> None:
    quick = _review("adaptive", 60.0, {"n": "unchanged"})
    fixed = _review("fixed 24", 200.0, {"n": "unchanged"})
    before = _review("before", 240.0, {"n": "regression"})
    lines = summarise([quick, fixed, before])
    assert "contradiction: n: before regression vs fixed 24 unchanged" in "\n".join(lines)
    assert lines[-2].endswith("(goal <= 0.333; 0 of its verdicts contradicted): met")
    assert lines[-1].endswith("1 of its verdicts contradicted): MISSED")  # adaptive vs before


def _run(samples: list[tuple[str, str, int, int, float]], pingpong: bool) -> Any:
    """What `round_spread` reads of a loaded run: its targets, options and samples."""
    frame = pd.DataFrame(samples, columns=["benchmark", "target", "worker", "sample", "seconds"])
    frame = frame.assign(params="", loops=1)
    info = SimpleNamespace(targets={"baseline": {}, "current": {}}, options={"pingpong": pingpong})
    return SimpleNamespace(info=info, samples=frame)


def test_the_round_spread_is_the_median_benchmarks_robust_deviation_of_round_ratios() -> None:
    """Ratios per round of 1.00, 1.02, 0.98, 1.10, 1.01 (one wild round): the robust
    deviation ignores the wild one; a benchmark's spread is read per round, as the rule does."""
    ratios = [1.00, 1.02, 0.98, 1.10, 1.01]
    logs = np.log(ratios)
    expected = 1.4826 * float(np.median(np.abs(logs - np.median(logs))))
    steps = []  # ping-pong: three side-by-side steps a round, all at the round's ratio
    for worker, ratio in enumerate(ratios):
        for k in range(3):
            steps += [("a", "baseline", worker, k, 1.0), ("a", "current", worker, k, ratio)]
    assert round_spread(_run(steps, pingpong=True)) == pytest.approx(expected)
    workers = []  # no ping-pong: each worker's median, paired by round
    for worker, ratio in enumerate(ratios):
        for k, noise in enumerate((0.9, 1.0, 1.3)):  # medians 1.0 and ratio
            workers += [
                ("b", "baseline", worker, k, noise),
                ("b", "current", worker, k, ratio * noise),
            ]
    assert round_spread(_run(workers, pingpong=False)) == pytest.approx(expected)
    assert math.isnan(round_spread(_run(steps[:4], pingpong=True)))  # under three rounds


def _timed_run(out: Path, per_call: dict[str, tuple[int, float]]) -> str:
    """A real run directory: benchmark n on two targets at (loops, seconds per call)."""
    rows = [
        {"benchmark": "n", "params": "", "target": target, "worker": w, "sample": k,
         "loops": loops, "seconds": seconds}
        for target, (loops, seconds) in per_call.items()
        for w in range(3)
        for k in range(4)
    ]  # fmt: skip
    return str(build_run(out, ("baseline", "current"), samples=rows))


def test_a_contradiction_shows_each_plans_loops_and_time_per_call(tmp_path: Path) -> None:
    """Before's cold calls (one loop a sample on one side) beside the adaptive plan's."""
    cold = _timed_run(tmp_path / "b", {"baseline": (161, 140e-6), "current": (1, 240e-6)})
    warm = _timed_run(tmp_path / "a", {"baseline": (8, 150e-6), "current": (8, 149e-6)})
    before = Review("before", 0, 240.0, cold, {"n": "regression"}, {})
    quick = Review("adaptive", 0, 60.0, warm, {"n": "unchanged"}, {})
    assert timing_evidence([quick, before], ["n"])["n"] == [
        "adaptive  loops per sample 8 | 8, per call 150 µs | 149 µs",
        "before    loops per sample 161 | 1, per call 140 µs | 240 µs",
    ]
    text = "\n".join(summarise([quick, before]))
    assert "contradiction: n: adaptive unchanged vs before regression" in text
    assert "before    loops per sample 161 | 1" in text
    gone = Review("before", 1, 240.0, str(tmp_path / "deleted"), {"n": "regression"}, {})
    assert timing_evidence([gone], ["n"]) == {"n": []}  # runs no longer on disk are skipped
