"""Timing statistics of one run: per-worker medians, bootstrap CIs, ratios and verdicts.

The worker (process) is the unit of independence: samples are first reduced to
one median per worker, and every CI is a bootstrap over workers. Pure functions
of DataFrames and arrays; this module reads no files and prints nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfkit.analysis.bootstrap import (
    BootstrapEstimates,
    independent_ratio_intervals,
    median_intervals,
    paired_ratio_intervals,
)
from perfkit.analysis.change_tests import trimmed_one_sample, trimmed_two_sample
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.rundir import Run
from perfkit.rundir.ids import case_id

VERDICTS = ("regression", "improvement", "slower", "faster", "unchanged", "inconclusive")
MIN_WORKERS = 3  # fewer independent workers than this on a side: no verdict

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
    # One id per distinct (benchmark, params), not per row: a run holds ~100 rows per case.
    bench_codes, benches = pd.factorize(frame["benchmark"].astype(str))
    param_codes, params = pd.factorize(frame["params"])
    codes, pairs = pd.factorize(bench_codes * max(1, len(params)) + param_codes)
    width = max(1, len(params))
    ids = np.array([case_id(benches[c // width], params[c % width]) for c in pairs], dtype=object)
    frame["id"] = ids[codes] if len(frame) else pd.Series(dtype=object)
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
    # benchmark and params follow from the id: carried along, not grouped on (strings are slow)
    grouped = frame.groupby(["id", "target", "worker"], sort=False)
    out = grouped.agg(
        benchmark=("benchmark", "first"),
        params=("params", "first"),
        median_seconds=("seconds", "median"),
        n_samples=("seconds", "size"),
    ).reset_index()
    return out[["id", "benchmark", "params", "target", "worker", "median_seconds", "n_samples"]]


def stepwise_logs(samples: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Ping-pong rounds' sample steps: one row per (id, worker, sample) that every label
    measured (seconds > 0), a column of log seconds per label. Sample k of each target of a
    round was taken side by side (`perfkit.collect.pingpong`)."""
    frame = with_ids(samples) if len(samples) else samples.assign(id=pd.Series(dtype=object))
    keys = ["id", "worker", "sample"]
    sides = [
        frame.loc[frame["target"] == label].set_index(keys)["seconds"].rename(label)
        for label in labels
    ]
    steps = pd.concat(sides, axis=1, join="inner")
    return np.log(steps[(steps > 0).all(axis=1)])


def stepwise_round_logs(samples: pd.DataFrame, baseline: str, current: str) -> pd.DataFrame:
    """Ping-pong rounds: one row per (id, worker) with the median log ratio of the samples
    the two targets took side by side (sample k of each; `perfkit.collect.sequential.
    round_log_ratio`). A round missing on one side drops out."""
    steps = stepwise_logs(samples, (baseline, current))
    ratios = (steps[current] - steps[baseline]).rename("log_ratio")
    return ratios.groupby(level=["id", "worker"], sort=False).median().reset_index()


def median_ci(values: np.ndarray, config: StatsConfig = DEFAULT_STATS) -> tuple[float, float]:
    """CI of the median of per-worker medians, by bootstrap over workers.

    Fewer than `MIN_WORKERS` workers give no CI (NaN): a bootstrap of two values is just
    their range, not a 95 % interval, and budgets must not be judged on it.
    """
    values = np.asarray(values, float)
    if len(values) < MIN_WORKERS:
        return math.nan, math.nan
    est = median_intervals(values[None, :], **_bootstrap_options(config))
    return float(est.ci_low[0]), float(est.ci_high[0])


def _bootstrap_options(config: StatsConfig) -> dict[str, float | int]:
    return {
        "confidence": config.confidence,
        "n_resamples": config.bootstrap_resamples,
        "seed": config.seed,
    }


def _rows_by_width(values: list[np.ndarray]) -> dict[int, list[int]]:
    """Row numbers grouped by length: rows of one length are bootstrapped in one call."""
    groups: dict[int, list[int]] = {}
    for row, v in enumerate(values):
        groups.setdefault(len(v), []).append(row)
    return groups


def median_cis(values: list[np.ndarray], config: StatsConfig = DEFAULT_STATS) -> np.ndarray:
    """`median_ci` of many value sets at once: (len(values), 2) lows and highs."""
    out = np.full((len(values), 2), np.nan)
    for width, rows in _rows_by_width(values).items():
        if width < MIN_WORKERS:
            continue
        est = median_intervals(np.stack([values[r] for r in rows]), **_bootstrap_options(config))
        out[rows, 0], out[rows, 1] = est.ci_low, est.ci_high
    return out


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
    groups = list(medians.groupby(["id", "benchmark", "params", "target"], sort=False))
    cis = median_cis([g["median_seconds"].to_numpy(float) for _, g in groups], config)
    rows = []
    for ((cid, bench, params, target), group), (low, high) in zip(groups, cis, strict=True):
        values = group["median_seconds"].to_numpy(float)
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
                "ci_low_seconds": float(low),
                "ci_high_seconds": float(high),
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
    """current / baseline with its CI; ``paired`` says whether rounds were matched.

    ``p_value`` is a robust test of "no change" for this benchmark alone
    (`perfkit.analysis.change_tests`); `perfkit.analysis.multiple` combines many.
    """

    ratio: float
    ci_low: float
    ci_high: float
    n_baseline: int
    n_current: int
    paired: bool
    n_pairs: int = 0
    p_value: float = math.nan


def _fill(out: np.ndarray, rows: list[int], est: BootstrapEstimates) -> None:
    out[rows] = np.column_stack([est.estimate, est.ci_low, est.ci_high])


def independent_ratios(
    bases: list[np.ndarray], currents: list[np.ndarray], config: StatsConfig = DEFAULT_STATS
) -> list[RatioEstimate]:
    """`ratio_independent` of many benchmarks, bootstrapped together per pair of widths."""
    bases = [np.asarray(b, float) for b in bases]
    currents = [np.asarray(c, float) for c in currents]
    out = np.full((len(bases), 3), np.nan)
    groups: dict[tuple[int, int], list[int]] = {}
    for row, (b, c) in enumerate(zip(bases, currents, strict=True)):
        if len(b) and len(c):
            groups.setdefault((len(b), len(c)), []).append(row)
    for rows in groups.values():
        est = independent_ratio_intervals(
            np.stack([bases[r] for r in rows]),
            np.stack([currents[r] for r in rows]),
            **_bootstrap_options(config),
        )
        _fill(out, rows, est)
    p_values = trimmed_two_sample(bases, currents)
    return [
        RatioEstimate(float(o[0]), float(o[1]), float(o[2]), len(b), len(c), False, p_value=p)
        for o, b, c, p in zip(out, bases, currents, p_values, strict=True)
    ]


def paired_ratios(
    log_ratios: list[np.ndarray],
    n_baseline: list[int],
    n_current: list[int],
    config: StatsConfig = DEFAULT_STATS,
) -> list[RatioEstimate]:
    """`ratio_paired` of many benchmarks from their per-round log ratios (current/baseline),
    bootstrapped together per number of rounds."""
    logs = [np.asarray(lg, float) for lg in log_ratios]
    out = np.full((len(logs), 3), np.nan)
    for width, rows in _rows_by_width(logs).items():
        if width:
            est = paired_ratio_intervals(
                np.stack([logs[r] for r in rows]), **_bootstrap_options(config)
            )
            _fill(out, rows, est)
    p_values = trimmed_one_sample(logs)
    return [
        RatioEstimate(float(o[0]), float(o[1]), float(o[2]), n_b, n_c, True, len(lg), p)
        for o, lg, n_b, n_c, p in zip(out, logs, n_baseline, n_current, p_values, strict=True)
    ]


def ratio_independent(
    base: np.ndarray, current: np.ndarray, config: StatsConfig = DEFAULT_STATS
) -> RatioEstimate:
    """Ratio of medians of per-worker medians; CI by resampling each side's workers."""
    return independent_ratios([base], [current], config)[0]


def ratio_paired(
    base: pd.Series, current: pd.Series, config: StatsConfig = DEFAULT_STATS
) -> RatioEstimate:
    """Ratio from rounds of an interleaved run: the median per-round ratio, CI by round bootstrap.

    `base` and `current` are per-worker medians indexed by worker (= round). Pairing
    cancels what a round shares (machine load at that moment) on both sides.
    """
    common = base.index.intersection(current.index)
    logs = np.log(current.loc[common].to_numpy(float) / base.loc[common].to_numpy(float))
    return paired_ratios([logs], [len(base)], [len(current)], config)[0]


def verdict(
    ratio: float,
    ci_low: float,
    ci_high: float,
    threshold: float,
    n_baseline: int = MIN_WORKERS,
    n_current: int = MIN_WORKERS,
    significant: bool | None = None,
) -> str:
    """The verdict of DESIGN.md for a ratio current/baseline and its CI.

    Significant changes (CI excludes 1) are regression/improvement when the ratio
    passes the threshold, else slower/faster; a CI inside [1-thr, 1+thr] is
    unchanged; anything else, or fewer than 3 workers on a side, is inconclusive.
    `significant` is the multiple-comparison step's word (`perfkit.analysis.multiple`):
    false withholds the significant labels even from a CI that excludes 1.
    """
    values = (ratio, ci_low, ci_high)
    if min(n_baseline, n_current) < MIN_WORKERS or any(not math.isfinite(v) for v in values):
        return "inconclusive"
    allowed = significant is None or bool(significant)
    if ci_low > 1.0 and allowed:
        return "regression" if ratio >= 1.0 + threshold else "slower"
    if ci_high < 1.0 and allowed:
        return "improvement" if ratio <= 1.0 - threshold else "faster"
    if ci_low >= 1.0 - threshold and ci_high <= 1.0 + threshold:
        return "unchanged"
    return "inconclusive"


def pct_change(ratio: float) -> float:
    """Percent change of current vs baseline: +12.4 means 12.4 % slower."""
    return (ratio - 1.0) * 100.0 if math.isfinite(ratio) else math.nan


def geometric_mean(values: np.ndarray) -> float:
    """Geometric mean of the finite positive values (NaN when there are none).

    ``scipy.stats.gmean``'s formula, exp(mean(log x)), in numpy: importing scipy.stats costs
    0.3-0.45 s on this 2-core box and `perfkit run`'s summary needs it for nothing else
    (tests/test_stats.py checks it against scipy)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.mean(np.log(values)))) if len(values) else math.nan


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
