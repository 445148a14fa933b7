"""p-values of "no change", one per benchmark, for many benchmarks at once.

Yuen's trimmed-mean t-test (20 % trimmed from each end): on the per-round log ratios of an
interleaved run (one-sample, Tukey–McLaughlin), on the per-worker medians of two separate
runs (two-sample, `scipy.stats.ttest_ind(trim=...)`). Trimming makes a disturbed worker
harmless, the t-distribution keeps the far tail honest, which is where a correction for a
thousand tests looks: a bootstrap p-value of a median of 24 workers is not honest there (it
calls about one unchanged benchmark in 300 "p ≈ 0"), a sign test is but loses real 15 %
changes to a few disturbed rounds. Per benchmark only; `perfkit.analysis.multiple` combines.
"""

from __future__ import annotations

import math

import numpy as np

TRIM = 0.2  # share trimmed from each end


def _by_width(rows: list[np.ndarray]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for row, values in enumerate(rows):
        groups.setdefault(len(values), []).append(row)
    return groups


def trimmed_one_sample(log_ratios: list[np.ndarray], trim: float = TRIM) -> np.ndarray:
    """Two-sided p of "centre 0" per row: trimmed mean over winsorized standard error.

    The t tail is scipy.special's `stdtr`, which ``scipy.stats.t.sf`` calls (same bits):
    scipy.special imports in ~0.1 s, scipy.stats in 0.3-0.45 s, and the summary of a fixed
    interleaved run needs nothing else of it."""
    from scipy import special

    p = np.full(len(log_ratios), np.nan)
    for n, rows in _by_width(log_ratios).items():
        g = math.floor(trim * n)
        kept = n - 2 * g
        if kept < 2:
            continue
        x = np.sort(np.stack([np.asarray(log_ratios[r], float) for r in rows]), axis=1)
        centre = x[:, g : n - g].mean(axis=1)
        winsorized = np.clip(x, x[:, [g]], x[:, [n - g - 1]])
        se = winsorized.std(axis=1, ddof=1) / ((kept / n) * math.sqrt(n))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, centre / se, np.where(centre == 0, 0.0, np.inf))
        p[rows] = 2 * special.stdtr(kept - 1, -np.abs(t))  # = scipy.stats.t.sf(|t|, kept - 1)
    return p


def trimmed_two_sample(
    bases: list[np.ndarray], currents: list[np.ndarray], trim: float = TRIM
) -> np.ndarray:
    """Two-sided p of "same trimmed mean" per row, current vs baseline workers (Yuen)."""
    from scipy import stats as sps  # ~0.8 s to import: not at a run's start or end

    p = np.full(len(bases), np.nan)
    groups: dict[tuple[int, int], list[int]] = {}
    for row, (b, c) in enumerate(zip(bases, currents, strict=True)):
        if min(len(b), len(c)) >= 3:
            groups.setdefault((len(b), len(c)), []).append(row)
    for rows in groups.values():
        base = np.log(np.stack([np.asarray(bases[r], float) for r in rows]))
        current = np.log(np.stack([np.asarray(currents[r], float) for r in rows]))
        with np.errstate(divide="ignore", invalid="ignore"):
            result = sps.ttest_ind(current, base, axis=1, equal_var=False, trim=trim)
        p[rows] = np.where(np.isnan(result.pvalue), 1.0, result.pvalue)
    return p
