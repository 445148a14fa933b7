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
    assert lines[-1].endswith("0 contradicting verdicts): met")
    assert "adaptive / fixed 24 median wall: 0.29" in lines[-1]
    slow = _review("adaptive", 80.0, {"a": "unchanged", "b": "regression", "c": "slower"})
    lines = summarise([fixed, slow])
    assert "contradiction: b: fixed 24 unchanged vs adaptive regression" in "\n".join(lines)
    assert lines[-1].endswith("1 contradicting verdicts): MISSED")
