"""selfbench review's reading of two plans' verdicts: what contradicts, and its goal line."""

from __future__ import annotations

from perfkit.selfbench.review import Review, contradicts, summarise


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
