"""The state of the machine a run shares across its benchmarks, divided out of each series.

On this 2-core VM a whole run is sometimes slow or fast for every benchmark at once (the
noise sample of 2026-11-27: one run in 24 was 55 % slow in both of its benchmarks, and
the body of the run medians correlates at 0.46 between benchmarks). No single series can
tell that from a step; the other benchmarks of the same run can.

Contract (pure numpy): `levels` is a (runs × benchmarks) matrix of log run medians, NaN
where a benchmark was not measured in a run, rows in series order. For each cell, the
**offset** is the median over the OTHER benchmarks of that run of their residual (log
median minus their own level in that stretch of their series, from the change points the
raw series gave): leave-one-out, so a benchmark's own step never moves its own offset, and
a median, so a minority of benchmarks stepping in the same run does not move it either.
Cells with fewer than `min_others` other benchmarks measured get offset 0 (nothing to
learn from). A change that hits EVERY benchmark in the same run would move the offsets
too: `detect_together` takes the levels from the raw series' settled steps, so such a
change is divided out only while it is young, and found at its run once settled.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from perfkit.analysis.changes import DEFAULT_DETECTOR, ChangePoint, DetectorConfig, detect

SETTLED = 2  # a raw step gives levels (and stands alone) with SETTLED x min_segment runs after it
MIN_OTHERS = 3  # other benchmarks of the run an offset needs (a median of 1–2 is noise)


def segment_levels(y: np.ndarray, changes: Sequence[int]) -> np.ndarray:
    """Each point's level: the median of its segment between change points."""
    out = np.empty(len(y))
    edges = [0, *sorted(changes), len(y)]
    for start, end in itertools.pairwise(edges):
        if end > start:
            out[start:end] = np.median(y[start:end])
    return out


def leave_one_out_offsets(residuals: np.ndarray, min_others: int = MIN_OTHERS) -> np.ndarray:
    """Per cell, the median residual of the other benchmarks of its run (0 when too few)."""
    residuals = np.asarray(residuals, float)
    benchmarks = residuals.shape[1]
    out = np.zeros_like(residuals)
    if benchmarks <= min_others:
        return out
    for b in range(benchmarks):
        others = np.delete(residuals, b, axis=1)
        enough = np.sum(np.isfinite(others), axis=1) >= min_others
        if enough.any():
            out[enough, b] = np.nanmedian(others[enough], axis=1)
    return out


def run_factor(residuals: np.ndarray, min_benchmarks: int = MIN_OTHERS + 1) -> np.ndarray:
    """Per run, the median residual over all its benchmarks (NaN with fewer measured):
    the run's factor, whose series is the suite's common level over time."""
    residuals = np.asarray(residuals, float)
    out = np.full(len(residuals), np.nan)
    enough = np.sum(np.isfinite(residuals), axis=1) >= min_benchmarks
    if enough.any():
        out[enough] = np.nanmedian(residuals[enough], axis=1)
    return out


def shared_changes(
    residuals: np.ndarray, config: DetectorConfig = DEFAULT_DETECTOR
) -> tuple[list[ChangePoint], np.ndarray]:
    """Steps of the run factor series (indices into the runs that have a factor), and each
    run's factor level from them (0 where the factor has no step or no value).

    A point of the factor series is a run; its "workers" are its benchmarks' residuals, so
    a run whose benchmarks disagree weighs less; the between-run variance is the machine's
    drift, heavy tails and all (Huber weights): one odd run is never a step, two or three
    runs all off on the same side beyond the head bar are. A step here moved most
    benchmarks of the suite at once: a global change (the interpreter, a shared dependency).
    """
    factor = run_factor(residuals)
    have = np.flatnonzero(np.isfinite(factor))
    levels = np.zeros(len(factor))
    if len(have) < config.min_segment + 2:
        return [], levels
    runs = np.asarray(residuals, float)[have]
    workers = [np.exp(r[np.isfinite(r)]) for r in runs]
    found = detect(np.exp(factor[have]), workers, config)
    if found:
        levels[have] = segment_levels(factor[have], [c.index for c in found])
    return [replace(c, index=int(have[c.index])) for c in found], levels


def detect_together(
    medians: Sequence[np.ndarray],
    workers: Sequence[Sequence[np.ndarray]] | None,
    units: Sequence[Sequence[Hashable]],
    config: DetectorConfig = DEFAULT_DETECTOR,
) -> list[list[ChangePoint]]:
    """Change points of several benchmarks' series measured in the same runs (see
    `detect_suite`; its per-benchmark lists)."""
    return detect_suite(medians, workers, units, config).benchmarks


@dataclass(frozen=True)
class SuiteChanges:
    """What `detect_suite` found: each benchmark's change points (indices into its own
    series), and the steps of the run factor (indices into `runs`, the run units in
    first-seen order) — changes shared by most benchmarks of the suite."""

    benchmarks: list[list[ChangePoint]]
    shared: list[ChangePoint]
    runs: list[Hashable]


def detect_suite(
    medians: Sequence[np.ndarray],
    workers: Sequence[Sequence[np.ndarray]] | None,
    units: Sequence[Sequence[Hashable]],
    config: DetectorConfig = DEFAULT_DETECTOR,
) -> SuiteChanges:
    """Change points of several benchmarks' series measured in the same runs.

    `units[b][i]` names the run (in a backfill: run and commit) of point i of series b;
    points of different series with the same unit were measured together. Each series is
    searched raw first; its settled steps (``SETTLED`` × ``min_segment`` runs after them)
    give its levels; the other benchmarks' residuals from theirs give its offsets. The
    run factor (the median residual of all benchmarks of a run) is a series too: its steps
    are changes of the whole suite (`shared_changes`). Each benchmark is searched again
    divided by its offsets less the factor's step levels: the run's machine state is
    divided out, a global step is kept, so each benchmark finds it at its run with its
    own ratio (marked ``shared``); those are its changes. With fewer than ``MIN_OTHERS``
    other benchmarks in a run, the raw search stands alone.
    """
    settled = SETTLED * config.min_segment
    logs = [np.log(np.asarray(m, float)) for m in medians]
    raw = [
        detect(m, workers[b] if workers is not None else None, config)
        for b, m in enumerate(medians)
    ]
    keys = {u: i for i, u in enumerate(dict.fromkeys(u for series in units for u in series))}
    rows = [np.array([keys[u] for u in series], dtype=int) for series in units]
    residuals = np.full((len(keys), len(medians)), np.nan)
    for b, (y, found) in enumerate(zip(logs, raw, strict=True)):
        steps = [c.index for c in found if c.n_after >= settled]
        residuals[rows[b], b] = y - segment_levels(y, steps)
    offsets = leave_one_out_offsets(residuals)
    shared, factor_levels = shared_changes(residuals, replace(config, head_z=config.head_z_shared))
    together = replace(config, head_z=config.head_z_together)
    out = []
    for b, (m, found) in enumerate(zip(medians, raw, strict=True)):
        shift = offsets[rows[b], b]
        if not np.any(shift):
            out.append(found)
            continue
        scale = np.exp(factor_levels[rows[b]] - shift)
        scaled = None
        if workers is not None:
            scaled = [np.asarray(w, float) * s for w, s in zip(workers[b], scale, strict=True)]
        found = detect(np.asarray(m, float) * scale, scaled, together)
        out.append(
            [
                replace(c, shared=True)
                if any(abs(int(rows[b][c.index]) - s.index) <= 1 for s in shared)
                else c
                for c in found
            ]
        )
    return SuiteChanges(out, shared, list(keys))
