"""Percentile bootstrap of medians over many benchmarks at once.

For each benchmark (one row of a matrix of per-worker values) this gives exactly what
``scipy.stats.bootstrap(..., method="percentile", vectorized=True, rng=default_rng(seed))``
gives for it alone: the same resampling indices (they depend only on the seed and the
number of workers, so benchmarks with as many workers share them), the same medians, the
same `scipy.stats.quantile` interval (its arithmetic, in numpy: `percentile_bounds`). It is
fast because no resample is materialised: a resample is a vector of counts per worker, and
the median of a resample is read off the cumulative counts in each benchmark's sorted order
(one matrix product per benchmark).

Intervals only: the p-values that many benchmarks are judged on together come from
`perfkit.analysis.change_tests`, the correction for many at once from `perfkit.analysis.multiple`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BootstrapEstimates:
    """Per benchmark (one entry per input row): the statistic and its percentile CI."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def resample_counts(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """How often each of n observations is drawn in each resample, (n_resamples, n).

    Draws the very indices `scipy.stats.bootstrap` draws (``rng.integers(0, n, (B, n))``).
    """
    indices = rng.integers(0, n, (n_resamples, n))
    counts = np.zeros((n_resamples, n))
    np.add.at(counts, (np.arange(n_resamples)[:, None], indices), 1.0)
    return counts


def resampled_medians(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of every resample of every row: values (K, n), counts (B, n) -> (K, B).

    Equal to ``np.median(values[:, indices], axis=-1)`` for the indices behind `counts`.
    Walks each row's values from the smallest up, adding how often each was drawn; the
    m-th smallest of a resample is the value at which m draws have been reached.
    """
    values = np.asarray(values, float)
    k_rows, n = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    small = np.min_scalar_type(n)
    drawn_by_value = np.ascontiguousarray(counts.T, dtype=small)  # (n, B)
    reached = np.zeros((k_rows, counts.shape[0]), dtype=small)  # draws among the j+1 smallest
    low = np.zeros_like(reached)  # j: rank of the lower middle value of each resample
    high = np.zeros_like(reached)
    low_pos, high_pos = (n - 1) // 2, n // 2
    for j in range(n):
        reached += drawn_by_value[order[:, j]]
        low += reached <= low_pos
        high += reached <= high_pos
    a = np.take_along_axis(ordered, low.astype(np.intp), axis=1)
    if low_pos == high_pos:
        return a
    b = np.take_along_axis(ordered, high.astype(np.intp), axis=1)
    return (a + b) / 2  # as np.median: the mean of the two middle values


def _median_rows(values: np.ndarray) -> np.ndarray:
    return np.median(values, axis=-1)


def percentile_bounds(distribution: np.ndarray, alpha: float) -> np.ndarray:
    """The `alpha` and 1 - `alpha` quantiles of each row (K, B) -> (K, 2): exactly
    ``scipy.stats.quantile(distribution, [[alpha, 1 - alpha]], axis=-1)`` (method "linear",
    Hyndman & Fan's type 7; a row with NaN gives NaN), in its own arithmetic, so intervals
    stay equal to `scipy.stats.bootstrap`'s to the last bit (np.quantile differs by ~1e-14).
    Numpy because importing scipy.stats costs 0.3-0.45 s on this 2-core box, and the history
    index of every `perfkit run` needed it for this alone (tests/test_many_benchmarks.py
    compares both with scipy)."""
    y = np.sort(np.asarray(distribution, float), axis=-1)
    n = y.shape[-1]
    p = np.array([alpha, 1 - alpha])
    jg = p * n + (1 - p)
    jp1 = jg // 1
    j = jp1 - 1
    g = np.where(j < 0, 0.0, jg % 1)
    j = np.clip(j, 0.0, n - 1).astype(np.int64)
    jp1 = np.clip(jp1, 0.0, n - 1).astype(np.int64)
    with np.errstate(invalid="ignore"):  # inf * 0, as scipy's
        bounds = (1 - g) * y[:, j] + g * y[:, jp1]
    bounds[np.isnan(y).any(axis=-1)] = np.nan
    return bounds


def _interval(
    estimate: np.ndarray, distribution: np.ndarray, confidence: float, degenerate: np.ndarray
) -> BootstrapEstimates:
    bounds = percentile_bounds(distribution, (1 - confidence) / 2)
    # No spread at all: the estimate is its own interval (as `perfkit.analysis.stats` always did).
    low = np.where(degenerate, estimate, bounds[:, 0])
    high = np.where(degenerate, estimate, bounds[:, 1])
    return BootstrapEstimates(estimate, low, high)


def _no_interval(estimate: np.ndarray) -> BootstrapEstimates:
    """Fewer than two values: an estimate, but no interval."""
    nan = np.full(len(estimate), np.nan)
    return BootstrapEstimates(estimate, nan, nan.copy())


def median_intervals(
    values: np.ndarray, *, confidence: float, n_resamples: int, seed: int
) -> BootstrapEstimates:
    """Median of each row (K, n) with its percentile CI; rows of one width share resamples."""
    values = np.asarray(values, float)
    n = values.shape[1]
    if n < 2:
        return _no_interval(_median_rows(values))
    counts = resample_counts(np.random.default_rng(seed), n, n_resamples)
    estimate = _median_rows(values)
    distribution = resampled_medians(values, counts)
    return _interval(estimate, distribution, confidence, np.ptp(values, axis=1) == 0)


def paired_ratio_intervals(
    log_ratios: np.ndarray, *, confidence: float, n_resamples: int, seed: int
) -> BootstrapEstimates:
    """exp(median of per-round log ratios) per row (K, n pairs), CI by resampling rounds."""
    logs = np.asarray(log_ratios, float)
    n = logs.shape[1]
    estimate = np.exp(_median_rows(logs))
    if n < 2:
        return _no_interval(estimate)
    counts = resample_counts(np.random.default_rng(seed), n, n_resamples)
    distribution = np.exp(resampled_medians(logs, counts))
    return _interval(estimate, distribution, confidence, np.ptp(logs, axis=1) == 0)


def independent_ratio_intervals(
    base: np.ndarray, current: np.ndarray, *, confidence: float, n_resamples: int, seed: int
) -> BootstrapEstimates:
    """median(current) / median(base) per row, each side's workers resampled on their own."""
    base = np.asarray(base, float)
    current = np.asarray(current, float)

    estimate = _median_rows(current) / _median_rows(base)
    if base.shape[1] < 2 or current.shape[1] < 2:
        return _no_interval(estimate)
    rng = np.random.default_rng(seed)
    counts_b = resample_counts(rng, base.shape[1], n_resamples)  # drawn first, as scipy does
    counts_c = resample_counts(rng, current.shape[1], n_resamples)
    distribution = resampled_medians(current, counts_c) / resampled_medians(base, counts_b)
    degenerate = (np.ptp(base, axis=1) == 0) & (np.ptp(current, axis=1) == 0)
    return _interval(estimate, distribution, confidence, degenerate)
