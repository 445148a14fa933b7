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
from dataclasses import replace

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


def detect_together(
    medians: Sequence[np.ndarray],
    workers: Sequence[Sequence[np.ndarray]] | None,
    units: Sequence[Sequence[Hashable]],
    config: DetectorConfig = DEFAULT_DETECTOR,
) -> list[list[ChangePoint]]:
    """Change points of several benchmarks' series measured in the same runs.

    `units[b][i]` names the run (in a backfill: run and commit) of point i of series b;
    points of different series with the same unit were measured together. Each series is
    searched raw first; its settled steps (``SETTLED`` × ``min_segment`` runs after them)
    give its levels; the other benchmarks' residuals from theirs give its offsets, and it
    is searched again divided by them: those are its changes. A step of every benchmark at
    once moves the offsets while it is young (it cannot be told from the machine's state
    then); once the raw searches have it as a settled step it is in the levels, the
    offsets no longer absorb it, and the normalised search finds it at its run. With
    fewer than ``MIN_OTHERS`` other benchmarks in a run, the raw search stands alone.
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
    together = replace(config, head_z=config.head_z_together)
    out = []
    for b, (m, found) in enumerate(zip(medians, raw, strict=True)):
        shift = offsets[rows[b], b]
        if not np.any(shift):
            out.append(found)
            continue
        scale = np.exp(-shift)
        scaled = None
        if workers is not None:
            scaled = [np.asarray(w, float) * s for w, s in zip(workers[b], scale, strict=True)]
        out.append(detect(np.asarray(m, float) * scale, scaled, together))
    return out
