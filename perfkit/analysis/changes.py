"""Change points of one history series: persistent steps, their ratio with a CI, how sure.

A series is a sequence of points ordered by commit; each point carries its workers'
medians. That distribution is what Otava or E-divisive never see: it gives each point
its own variance, so a run with few or noisy workers weighs less, and a step's CI.

Method (pure numpy, no I/O):
1. y_i = log of the point's median; its variance v_i = within-run variance of that
   median (from its workers) + the between-run variance of the series (from successive
   differences, which a step moves only once).
2. Binary segmentation with the weighted Gaussian cost Σ (y − ȳ)² / v and a penalty
   calibrated for ≤ 1 false change per 100 runs; segments have a minimum length (a step
   is persistent, one odd run is not a change).
3. Each boundary is tested against its neighbouring segments: ratio of their weighted
   geometric means with a normal CI, and a p-value; boundaries that fail are merged away.
No library ships a weighted change-point search (ruptures' costs are unweighted and
Otava's E-divisive takes one number per point), so the search itself is here, ~50 lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class DetectorConfig:
    """Knobs of the detector; defaults calibrated by ``python -m perfkit.selfbench changes``."""

    min_segment: int = 3  # runs on each side of a step: a step is persistent
    penalty: float = 9.0  # cost a new change must save, in units of χ²(1)
    max_p_value: float = 0.001  # a boundary less sure than this is merged away
    min_rel_change: float = 0.005  # steps under 0.5 % are not reported


DEFAULT_DETECTOR = DetectorConfig()


@dataclass(frozen=True)
class ChangePoint:
    """A persistent step between point ``index - 1`` and point ``index`` of a series."""

    index: int
    ratio: float  # mean level after / before (> 1 slower)
    ci_low: float
    ci_high: float
    p_value: float
    n_before: int  # points in the segment before
    n_after: int  # points in the segment after

    @property
    def pct_change(self) -> float:
        return (self.ratio - 1.0) * 100.0

    @property
    def direction(self) -> str:
        return "slower" if self.ratio > 1 else "faster"


def point_variances(workers: Sequence[np.ndarray]) -> np.ndarray:
    """Variance of the log median of each point from its workers (NaN with < 2 workers).

    The median of k values has variance ≈ (π/2)·σ²/k for a normal body.
    """
    counts = np.array([len(w) for w in workers], dtype=int)
    out = np.full(len(counts), np.nan)
    if not counts.sum():
        return out
    flat = np.concatenate([np.asarray(w, float) for w in workers])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(flat)
    logs[~np.isfinite(logs)] = np.nan
    owner = np.repeat(np.arange(len(counts)), counts)
    valid = np.isfinite(logs)
    k = np.bincount(owner[valid], minlength=len(counts)).astype(float)
    total = np.bincount(owner[valid], logs[valid], minlength=len(counts))
    squares = np.bincount(owner[valid], logs[valid] ** 2, minlength=len(counts))
    enough = k >= 2
    var = (squares[enough] - total[enough] ** 2 / k[enough]) / (k[enough] - 1)
    out[enough] = (math.pi / 2) * np.maximum(var, 0.0) / k[enough]
    return out


def series_variances(y: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Total variance per point: its within-run variance plus the between-run variance,
    estimated from successive differences (a step moves only one of them)."""
    within = np.asarray(within, float)
    typical = float(np.nanmedian(within)) if np.isfinite(within).any() else 0.0
    within = np.where(np.isfinite(within), within, typical)
    between = 0.0
    if len(y) >= 4:
        # Plain variance, not a robust one: real run-to-run drift on a shared box is
        # heavy-tailed (whole runs 20 % off), and a MAD called it noise-free (32 false
        # changes per 100 runs in `selfbench changes`). A step adds one large difference,
        # which only makes the detector more careful.
        between = max(0.0, float(np.var(np.diff(y))) / 2 - typical)
    total = within + between
    floor = max(float(np.median(total)) * 0.25, 1e-10)  # no point may dominate by luck
    return np.maximum(total, floor)


class _Cost:
    """Weighted Gaussian segment cost in O(1) from cumulative sums."""

    def __init__(self, y: np.ndarray, weights: np.ndarray) -> None:
        self.w = np.concatenate([[0.0], np.cumsum(weights)])
        self.wy = np.concatenate([[0.0], np.cumsum(weights * y)])
        self.wyy = np.concatenate([[0.0], np.cumsum(weights * y * y)])

    def __call__(self, start: np.ndarray, end: np.ndarray | int) -> np.ndarray:
        w = self.w[end] - self.w[start]
        wy = self.wy[end] - self.wy[start]
        wyy = self.wyy[end] - self.wyy[start]
        return wyy - wy * wy / w


def segment(y: np.ndarray, weights: np.ndarray, penalty: float, min_segment: int) -> list[int]:
    """Change indices by binary segmentation: split where the weighted cost drops most,
    while the drop exceeds `penalty` and both sides keep `min_segment` points.

    Each split is one vectorised pass over the segment (cumulative sums), so a series
    of n points with c changes costs O(n·c), not PELT's O(n²) on a flat series.
    """
    cost = _Cost(y, weights)
    changes: list[int] = []
    pending = [(0, len(y))]
    while pending:
        start, end = pending.pop()
        if end - start < 2 * min_segment:
            continue
        splits = np.arange(start + min_segment, end - min_segment + 1)
        whole = cost(np.array([start]), end)[0]
        gains = whole - cost(np.full(len(splits), start), splits) - cost(splits, end)
        k = int(np.argmax(gains))
        if gains[k] <= penalty:
            continue
        changes.append(int(splits[k]))
        pending += [(start, int(splits[k])), (int(splits[k]), end)]
    return sorted(changes)


def _step(y: np.ndarray, weights: np.ndarray, left: slice, right: slice) -> tuple[float, float]:
    """Difference of weighted means (right − left) of log levels and its standard error."""
    wl, wr = weights[left], weights[right]
    mean_l = float(np.sum(wl * y[left]) / np.sum(wl))
    mean_r = float(np.sum(wr * y[right]) / np.sum(wr))
    return mean_r - mean_l, math.sqrt(1 / np.sum(wl) + 1 / np.sum(wr))


def _boundaries(y: np.ndarray, weights: np.ndarray, changes: list[int]) -> list[ChangePoint]:
    edges = [0, *changes, len(y)]
    out = []
    for i, index in enumerate(changes):
        left, right = slice(edges[i], index), slice(index, edges[i + 2])
        delta, se = _step(y, weights, left, right)
        z = delta / se
        out.append(
            ChangePoint(
                index=index,
                ratio=math.exp(delta),
                ci_low=math.exp(delta - Z95 * se),
                ci_high=math.exp(delta + Z95 * se),
                p_value=math.erfc(abs(z) / math.sqrt(2)),
                n_before=index - edges[i],
                n_after=edges[i + 2] - index,
            )
        )
    return out


def detect(
    medians: Sequence[float],
    workers: Sequence[np.ndarray] | None = None,
    config: DetectorConfig = DEFAULT_DETECTOR,
) -> list[ChangePoint]:
    """Change points of a series of per-run medians (seconds), oldest first.

    `workers` holds each point's per-worker medians; without it every point gets the
    same within-run variance (what a one-number-per-point detector sees).
    """
    values = np.asarray(medians, float)
    if len(values) < 2 * config.min_segment or not np.all(values > 0):
        return []
    y = np.log(values)
    within = point_variances(workers) if workers is not None else np.full(len(y), np.nan)
    weights = 1.0 / series_variances(y, within)
    changes = segment(y, weights, config.penalty, config.min_segment)
    while True:
        found = _boundaries(y, weights, changes)
        weak = [
            c
            for c in found
            if c.p_value > config.max_p_value or abs(math.log(c.ratio)) < config.min_rel_change
        ]
        if not weak:
            return found
        weakest = max(weak, key=lambda c: (c.p_value, -abs(math.log(c.ratio))))
        changes = [c for c in changes if c != weakest.index]
