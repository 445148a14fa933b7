"""Change points of one history series: persistent steps, their ratio with a CI, how sure.

A series is a sequence of points ordered by commit; each point carries its workers'
medians. That distribution is what Otava or E-divisive never see: it gives each point
its own variance, so a run with few or noisy workers weighs less, and a step's CI.

Method (pure numpy, no I/O):
1. y_i = log of the point's median; its variance v_i = within-run variance of that
   median (from its workers) + the between-run variance of the series (the body of its
   successive differences, which a step moves only once); a whole run far from its
   neighbours gets the variance its distance implies (Huber), as real drift is heavy-tailed.
2. Binary segmentation with the weighted Gaussian cost Σ (y − ȳ)² / v and a penalty
   calibrated for ≤ 1 false change per 100 runs; segments have a minimum length (a step
   is persistent, one odd run is not a change).
3. Each boundary is tested against its neighbouring segments: ratio of their weighted
   geometric means with a normal CI, and a p-value; boundaries that fail are merged away.
4. Head test (a step that just landed, too young for step 2's minimum segment): the last
   k = 2 or 3 runs against the runs before them back to the last change, with the same
   variances (each run's workers plus the between-run drift, so drift of the machine alone
   cannot make a step). It needs z beyond ``head_z`` (stricter than step 3: it is asked anew
   at every run) and every one of the k runs beyond ``head_each_z`` on the same side, so
   one odd run cannot carry it; k = 1 is never a step. The head change is reported like any
   other; as runs come in, the segmentation takes it over.
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
    penalty: float = 25.0  # cost a new change must save, in units of χ²(1)
    max_p_value: float = 1e-4  # a boundary less sure than this is merged away
    min_rel_change: float = 0.005  # steps under 0.5 % are not reported
    head_runs: tuple[int, ...] = (2, 3)  # young steps tested at the head (runs after them)
    head_z: float = 3.5  # |z| a head step needs (asked at every run: stricter than max_p_value)
    head_each_z: float = 1.0  # and each of its runs alone, on the same side
    # |z| a head step needs in a series divided by its run's offsets (run_factor): the
    # whole runs far off that make `head_z` so strict are divided out there
    head_z_together: float = 3.0
    # |z| a head step of the run factor series (a change of the whole suite) needs
    head_z_shared: float = 3.5
    head_reference: int = 30  # at most this many runs before the head form its reference
    outlier_z: float = 2.0  # > 0: robust drift, and Huber weights for runs this far out


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
    shared: bool = False  # most benchmarks of the suite stepped in the same run

    @property
    def pct_change(self) -> float:
        return (self.ratio - 1.0) * 100.0

    @property
    def direction(self) -> str:
        return "slower" if self.ratio > 1 else "faster"


def kind(ratio: float, ci_low: float, ci_high: float, threshold: float) -> str:
    """``regression``/``improvement`` beyond `threshold` (ratio past it, CI off 1), else
    ``slower``/``faster``: the rule of ``perfkit compare``'s verdicts, for one step."""
    if ratio >= 1 + threshold and ci_low > 1:
        return "regression"
    if ratio <= 1 - threshold and ci_high < 1:
        return "improvement"
    return "slower" if ratio > 1 else "faster"


def point_variances(workers: Sequence[np.ndarray]) -> np.ndarray:
    """Variance of the log median of each point from its workers (NaN with < 2 workers).

    The median of k values has variance 1 / (4 k f²), f the density at the median: for a
    normal body (π/2)·σ²/k. σ is the body's (1.4826 × MAD of the logs), not the SD: a
    worker far off moves the median little, while it inflated the SD (the noise sample of
    2026-11-27: SD 8 % against 4 % MAD), which weighed good runs as noisy ones and cost a
    young step a third of its z.
    """
    counts = np.array([len(w) for w in workers], dtype=int)
    out = np.full(len(counts), np.nan)
    if not len(counts) or not counts.max(initial=0):
        return out
    logs = np.full((len(counts), int(counts.max())), np.nan)  # one row a point, NaN-padded
    for i, values in enumerate(workers):
        with np.errstate(divide="ignore", invalid="ignore"):
            logs[i, : counts[i]] = np.log(np.asarray(values, float))
    logs[~np.isfinite(logs)] = np.nan
    k = np.sum(np.isfinite(logs), axis=1)
    enough = k >= 2
    if not enough.any():
        return out
    body, n = logs[enough], k[enough]
    centre = _row_medians(body, n)
    sd = 1.4826 * _row_medians(np.abs(body - centre[:, None]), n)
    alike = sd == 0.0  # more than half the workers alike: their SD, not nothing
    if alike.any():
        sd[alike] = np.nanstd(body[alike], axis=1, ddof=1)
    out[enough] = (math.pi / 2) * sd**2 / k[enough]
    return out


def _row_medians(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each row's first `counts` finite values (NaN sorts last): np.nanmedian
    row by row, 5x faster on the many short rows a replayed history has."""
    ordered = np.sort(rows, axis=1)
    at = np.arange(len(rows))
    return (ordered[at, (counts - 1) // 2] + ordered[at, counts // 2]) / 2


def _robust_sd(values: np.ndarray) -> float:
    """1.4826 × MAD: the SD of a normal body, blind to the tails."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _rolling_median(y: np.ndarray, half: int) -> np.ndarray:
    """Each point's neighbourhood level: the median of the runs within `half` of it."""
    padded = np.pad(np.asarray(y, float), half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.nanmedian(windows, axis=1)


def series_variances(y: np.ndarray, within: np.ndarray, outlier_z: float = 0.0) -> np.ndarray:
    """Total variance per point: its within-run variance plus the between-run variance,
    estimated from successive differences (a step moves only one of them).

    Real drift is heavy-tailed (on a quiet box, 2026-11-27: the body of whole runs moves
    3.3 %, and one run in 24 was 55 % off). With `outlier_z` > 0 the drift is the body's
    (MAD of the differences) and a run farther than `outlier_z` SDs from its neighbours'
    median gets the variance its distance implies (a Huber weight: it counts like a point
    `outlier_z` SDs out). With 0, the plain variance of the differences: the tails then
    inflate every point's variance and hide real steps (F1 0.36 instead of 0.55 in
    `selfbench changes`); a MAD without the Huber weights made outliers into steps.
    """
    within = np.asarray(within, float)
    typical = float(np.nanmedian(within)) if np.isfinite(within).any() else 0.0
    within = np.where(np.isfinite(within), within, typical)
    between = 0.0
    if len(y) >= 4:
        diffs = np.diff(y)
        spread = _robust_sd(diffs) ** 2 if outlier_z > 0 else float(np.var(diffs))
        between = max(0.0, spread / 2 - typical)
    total = within + between
    floor = max(float(np.median(total)) * 0.25, 1e-10)  # no point may dominate by luck
    total = np.maximum(total, floor)
    if outlier_z > 0 and len(y) >= 5:
        total = np.maximum(total, ((y - _rolling_median(y, 2)) / outlier_z) ** 2)
    return total


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


def _change(y: np.ndarray, weights: np.ndarray, left: slice, right: slice) -> ChangePoint:
    delta, se = _step(y, weights, left, right)
    return ChangePoint(
        index=right.start,
        ratio=math.exp(delta),
        ci_low=math.exp(delta - Z95 * se),
        ci_high=math.exp(delta + Z95 * se),
        p_value=math.erfc(abs(delta / se) / math.sqrt(2)),
        n_before=left.stop - left.start,
        n_after=right.stop - right.start,
    )


def _boundaries(y: np.ndarray, weights: np.ndarray, changes: list[int]) -> list[ChangePoint]:
    edges = [0, *changes, len(y)]
    return [
        _change(y, weights, slice(edges[i], index), slice(index, edges[i + 2]))
        for i, index in enumerate(changes)
    ]


def head_change(
    y: np.ndarray, weights: np.ndarray, since: int, config: DetectorConfig = DEFAULT_DETECTOR
) -> ChangePoint | None:
    """A step in the last k runs (k in ``config.head_runs``) against the runs before them
    back to `since` (the last change), or None; the surest k wins."""
    n, best = len(y), None
    for k in config.head_runs:
        start = max(since, n - k - config.head_reference)
        if k >= n or n - k - start < config.min_segment:
            continue
        left, right = slice(start, n - k), slice(n - k, n)
        delta, se = _step(y, weights, left, right)
        if abs(delta) / se < config.head_z or abs(delta) < config.min_rel_change:
            continue
        level = float(np.sum(weights[left] * y[left]) / np.sum(weights[left]))
        each = (y[right] - level) * np.sign(delta) * np.sqrt(weights[right])
        if np.min(each) < config.head_each_z:
            continue
        found = _change(y, weights, left, right)
        if best is None or found.p_value < best.p_value:
            best = found
    return best


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
    if len(values) < config.min_segment + min(
        config.head_runs, default=config.min_segment
    ) or not np.all(values > 0):
        return []
    y = np.log(values)
    within = point_variances(workers) if workers is not None else np.full(len(y), np.nan)
    weights = 1.0 / series_variances(y, within, config.outlier_z)
    changes = segment(y, weights, config.penalty, config.min_segment)
    while True:
        found = _boundaries(y, weights, changes)
        weak = [
            c
            for c in found
            if c.p_value > config.max_p_value or abs(math.log(c.ratio)) < config.min_rel_change
        ]
        if not weak:
            break
        weakest = max(weak, key=lambda c: (c.p_value, -abs(math.log(c.ratio))))
        changes = [c for c in changes if c != weakest.index]
    since = changes[-1] if changes else 0
    if len(y) - since > max(config.head_runs, default=0):
        head = head_change(y, weights, since, config)
        if head is not None and all(abs(head.index - c) > 1 for c in changes):
            found.append(head)
    return found
