"""Scores of `selfbench changes`: change points matched to the true steps (±``TOLERANCE``
runs), precision/recall/F1 and recall by step size, new change points of a series replayed
run by run (each one a CI alert), and runs after a step until it is first found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

TOLERANCE = 1
LATE_AT = 40  # the step of the late and common series lands at this run
DELAY_BUCKETS = ("1", "2", "3", "4–5", "6–10", "not in 10")


class Stepped(Protocol):
    """A synthetic series' truth: where its steps land and their sizes."""

    steps: tuple[int, ...]
    sizes: tuple[float, ...]


def match(found: list[int], truth: tuple[int, ...]) -> int:
    """True positives: found points within ±TOLERANCE of a true step, one to one."""
    free, hits = list(truth), 0
    for index in sorted(found):
        near = [t for t in free if abs(t - index) <= TOLERANCE]
        if near:
            free.remove(min(near, key=lambda t: abs(t - index)))
            hits += 1
    return hits


@dataclass
class Score:
    tp: int = 0
    found: int = 0
    truth: int = 0
    by_size: dict = field(default_factory=dict)

    def add(self, found: list[int], series: Stepped) -> None:
        self.tp += match(found, series.steps)
        self.found += len(found)
        self.truth += len(series.steps)
        for step, size in zip(series.steps, series.sizes, strict=True):
            bucket = "2–3 %" if abs(size) < 0.04 else "5–8 %" if abs(size) < 0.09 else "10–20 %"
            hit, total = self.by_size.get(bucket, (0, 0))
            self.by_size[bucket] = (hit + match(found, (step,)), total + 1)

    @property
    def precision(self) -> float:
        return self.tp / self.found if self.found else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.truth if self.truth else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def replay(points_per_prefix: list[list[int]]) -> int:
    """New change points as a series grows run by run (each would be one CI alert)."""
    alerts, known = 0, []
    for found in points_per_prefix:
        alerts += sum(1 for i in found if all(abs(i - k) > TOLERANCE for k in known))
        known = found
    return alerts


def false_alerts(found: list[list[int]], prefixes: list[tuple[Stepped, int]]) -> int:
    per_flat: dict[int, list[list[int]]] = {}
    for points, (series, _) in zip(found, prefixes, strict=True):
        per_flat.setdefault(id(series), []).append(points)
    return sum(replay(v) for v in per_flat.values())


def delays(found: list[list[int]], replays: list[tuple[Stepped, int]]) -> list[int | None]:
    """Per late series: runs after the step until it is first found (None: not in 10)."""
    first: dict[int, int | None] = {}
    for points, (series, n) in zip(found, replays, strict=True):
        first.setdefault(id(series), None)
        if first[id(series)] is None and match(points, (LATE_AT,)):
            first[id(series)] = n - LATE_AT
    return list(first.values())


def delay_cells(found: list[int | None]) -> list[str]:
    """Counts per bucket of DELAY_BUCKETS."""

    def bucket(d: int | None) -> str:
        if d is None:
            return "not in 10"
        return str(d) if d <= 3 else "4–5" if d <= 5 else "6–10"

    counts = Counter(bucket(d) for d in found)
    return [str(counts.get(b, 0)) for b in DELAY_BUCKETS]
