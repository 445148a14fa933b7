"""Timing statistics of one run: per-worker medians, bootstrap CIs, ratios and verdicts.

The worker (process) is the unit of independence: samples are first reduced to
one median per worker, and every CI is a bootstrap over workers. Pure functions
of DataFrames and arrays; this module reads no files and prints nothing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from perfkit.collect.suite import case_id
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.rundir import Run

VERDICTS = ("regression", "improvement", "slower", "faster", "unchanged", "inconclusive")
MIN_WORKERS = 3  # fewer independent workers than this on a side: no verdict
FACTOR_FROM = 1.5  # from 1.5x on a change is written as a factor, below as a percent

SUMMARY_COLUMNS = [
    "id",
    "benchmark",
    "params",
    "target",
    "median_seconds",
    "ci_low_seconds",
    "ci_high_seconds",
    "min_seconds",
    "iqr_seconds",
    "cv",
    "n_workers",
    "n_samples",
]


def with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the full benchmark ``id`` column (``name[k=v]``) to a table keyed by benchmark/params."""
    frame = frame.copy()
    frame["params"] = frame["params"].fillna("").astype(str)
    frame["id"] = [case_id(b, p) for b, p in zip(frame["benchmark"], frame["params"], strict=True)]
    return frame


def worker_medians(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per (id, target, worker): the median of that worker's samples."""
    if samples.empty:
        return pd.DataFrame(
            columns=[
                "id",
                "benchmark",
                "params",
                "target",
                "worker",
                "median_seconds",
                "n_samples",
            ]
        )
    frame = with_ids(samples)
    grouped = frame.groupby(["id", "benchmark", "params", "target", "worker"], sort=False)
    out = grouped["seconds"].agg(median_seconds="median", n_samples="size").reset_index()
    return out


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _bootstrap_ci(
    data: tuple[np.ndarray, ...],
    statistic,
    *,
    paired: bool,
    config: StatsConfig,
) -> tuple[float, float]:
    """Percentile bootstrap CI of `statistic` (percentile: stable for medians of few workers)."""
    if any(len(d) < 2 for d in data):
        return math.nan, math.nan
    if all(np.ptp(d) == 0 for d in data):
        value = float(statistic(*data, axis=-1))
        return value, value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sps.bootstrap(
            data,
            statistic,
            n_resamples=config.bootstrap_resamples,
            paired=paired,
            vectorized=True,
            confidence_level=config.confidence,
            method="percentile",
            rng=_rng(config.seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def median_ci(values: np.ndarray, config: StatsConfig = DEFAULT_STATS) -> tuple[float, float]:
    """CI of the median of per-worker medians, by bootstrap over workers.

    Fewer than `MIN_WORKERS` workers give no CI (NaN): a bootstrap of two values is just
    their range, not a 95 % interval, and budgets must not be judged on it.
    """
    if len(values) < MIN_WORKERS:
        return math.nan, math.nan
    return _bootstrap_ci((np.asarray(values, float),), _median, paired=False, config=config)


def timing_summary(run: Run, config: StatsConfig = DEFAULT_STATS) -> pd.DataFrame:
    """Per (id, target): median of per-worker medians with its CI, min, IQR, CV, counts.

    IQR and CV describe the spread of per-worker medians (the independent units);
    ``min_seconds`` is the fastest single sample.
    """
    medians = worker_medians(run.samples)
    if medians.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    samples = with_ids(run.samples)
    min_by = samples.groupby(["id", "target"])["seconds"].min()
    rows = []
    for (cid, bench, params, target), group in medians.groupby(
        ["id", "benchmark", "params", "target"], sort=False
    ):
        values = group["median_seconds"].to_numpy(float)
        low, high = median_ci(values, config)
        q1, q3 = np.percentile(values, [25, 75])
        mean = float(np.mean(values))
        cv = float(np.std(values, ddof=1) / mean) if len(values) > 1 and mean > 0 else math.nan
        rows.append(
            {
                "id": cid,
                "benchmark": bench,
                "params": params,
                "target": target,
                "median_seconds": float(np.median(values)),
                "ci_low_seconds": low,
                "ci_high_seconds": high,
                "min_seconds": float(min_by[(cid, target)]),
                "iqr_seconds": float(q3 - q1),
                "cv": cv,
                "n_workers": len(values),
                "n_samples": int(group["n_samples"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


@dataclass(frozen=True)
class RatioEstimate:
    """current / baseline with its CI; ``paired`` says whether rounds were matched."""

    ratio: float
    ci_low: float
    ci_high: float
    n_baseline: int
    n_current: int
    paired: bool
    n_pairs: int = 0


def _ratio_of_medians(base: np.ndarray, current: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(current, axis=axis) / np.median(base, axis=axis)


def ratio_independent(
    base: np.ndarray, current: np.ndarray, config: StatsConfig = DEFAULT_STATS
) -> RatioEstimate:
    """Ratio of medians of per-worker medians; CI by resampling each side's workers."""
    base = np.asarray(base, float)
    current = np.asarray(current, float)
    if len(base) == 0 or len(current) == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, len(base), len(current), False)
    ratio = float(_ratio_of_medians(base, current))
    low, high = _bootstrap_ci((base, current), _ratio_of_medians, paired=False, config=config)
    return RatioEstimate(ratio, low, high, len(base), len(current), False)


def _exp_median(log_ratios: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(np.median(log_ratios, axis=axis))


def ratio_paired(
    base: pd.Series, current: pd.Series, config: StatsConfig = DEFAULT_STATS
) -> RatioEstimate:
    """Ratio from rounds of an interleaved run: the median per-round ratio, CI by round bootstrap.

    `base` and `current` are per-worker medians indexed by worker (= round). Pairing
    cancels what a round shares (machine load at that moment) on both sides.
    """
    common = base.index.intersection(current.index)
    logs = np.log(current.loc[common].to_numpy(float) / base.loc[common].to_numpy(float))
    n_b, n_c = len(base), len(current)
    if len(logs) == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, n_b, n_c, True, 0)
    ratio = float(_exp_median(logs))
    low, high = _bootstrap_ci((logs,), _exp_median, paired=False, config=config)
    return RatioEstimate(ratio, low, high, n_b, n_c, True, len(logs))


def verdict(
    ratio: float,
    ci_low: float,
    ci_high: float,
    threshold: float,
    n_baseline: int = MIN_WORKERS,
    n_current: int = MIN_WORKERS,
) -> str:
    """The verdict of DESIGN.md for a ratio current/baseline and its CI.

    Significant changes (CI excludes 1) are regression/improvement when the ratio
    passes the threshold, else slower/faster; a CI inside [1-thr, 1+thr] is
    unchanged; anything else, or fewer than 3 workers on a side, is inconclusive.
    """
    values = (ratio, ci_low, ci_high)
    if min(n_baseline, n_current) < MIN_WORKERS or any(not math.isfinite(v) for v in values):
        return "inconclusive"
    if ci_low > 1.0:
        return "regression" if ratio >= 1.0 + threshold else "slower"
    if ci_high < 1.0:
        return "improvement" if ratio <= 1.0 - threshold else "faster"
    if ci_low >= 1.0 - threshold and ci_high <= 1.0 + threshold:
        return "unchanged"
    return "inconclusive"


def pct_change(ratio: float) -> float:
    """Percent change of current vs baseline: +12.4 means 12.4 % slower."""
    return (ratio - 1.0) * 100.0 if math.isfinite(ratio) else math.nan


def change_text(ratio: float) -> str:
    """Direction in words: "+12.4 % slower", "-8.0 % faster", "2.1× faster".

    Below 1.5× either way the change is a signed percent of the baseline; from 1.5×
    on it is a factor (current/baseline when slower, baseline/current when faster).
    """
    if not math.isfinite(ratio) or ratio <= 0:
        return "–"
    pct = pct_change(ratio)
    if abs(pct) < 0.05:
        return "±0.0 % (same)"
    if ratio >= FACTOR_FROM:
        return f"{ratio:.1f}× slower"
    if ratio <= 1.0 / FACTOR_FROM:
        return f"{1.0 / ratio:.1f}× faster"
    return f"{pct:+.1f} % {'slower' if ratio > 1 else 'faster'}"


def geometric_mean(values: np.ndarray) -> float:
    """Geometric mean of the finite positive values (NaN when there are none)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    return float(sps.gmean(values)) if len(values) else math.nan


def memory_peaks(run: Run) -> pd.DataFrame:
    """Peak RSS per (id, target): from `perfkit.analysis.memory.memory_summary` when that module exists,
    else straight from the run's memory_summary.csv (the largest worker peak)."""
    columns = ["id", "target", "peak_rss_bytes"]
    try:
        from perfkit.analysis.memory import memory_summary
    except ImportError:
        memory_summary = None
    if memory_summary is not None:
        table = memory_summary(run)
        if table is None or table.empty:
            return pd.DataFrame(columns=columns)
        return table[columns].reset_index(drop=True)
    raw = run.memory_summary
    if raw.empty:
        return pd.DataFrame(columns=columns)
    frame = with_ids(raw)
    return frame.groupby(["id", "target"], sort=False)["peak_rss_bytes"].max().reset_index()
