"""Memory analysis: per benchmark and target, baseline and peak RSS, growth per call, leaks.

Reads a run's memory tables (memory.csv, memory_summary.csv, memory_sites.csv) and
returns DataFrames; it never measures (that is `perfkit.collect.memory`) and never plots.

Growth: a Theil-Sen slope (robust to one-off steps such as a dict resize) over the
iterations of the growth series, after `memory_warmup_calls` traced calls, with its
confidence interval. The verdict is driven by the Python heap (tracemalloc's current
size after a full collection): it is byte-exact and free of allocator noise, while RSS
moves in pages and arenas and would call a single arena allocation a leak. A body is
said to leak only when the whole CI lies above `StatsConfig.leak_floor_bytes_per_call`
(16 KiB per call). Memory the body leaks outside Python's allocators (C extensions that
do not report to tracemalloc) shows in `rss_growth_bytes_per_call` only, reported beside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfkit.config import DEFAULT_PLAN, DEFAULT_STATS, StatsConfig
from perfkit.render.format import format_bytes, format_bytes_ci
from perfkit.rundir import Run
from perfkit.rundir.ids import case_id

SUMMARY_COLUMNS = [
    "id",
    "benchmark",
    "params",
    "target",
    "baseline_rss_bytes",
    "peak_rss_bytes",
    "py_peak_bytes",
    "growth_bytes_per_call",
    "growth_ci_low",
    "growth_ci_high",
    "leak",
    "top_growth_sites",
    # Beyond the agreed columns: what helps reading the ones above.
    "growth_ci",  # [low, high] as `perfkit show` JSON gives it (None where unknown)
    "peak_above_baseline_bytes",
    "rss_growth_bytes_per_call",
    "growth_text",
    "calls",
    "n_workers",
]
_KEYS = ["benchmark", "params", "target"]
MIN_POINTS = 3  # a slope through fewer points has no confidence interval


@dataclass(frozen=True)
class Growth:
    """A growth slope in bytes per call with its confidence interval."""

    bytes_per_call: float
    ci_low: float
    ci_high: float
    n_points: int

    @classmethod
    def unknown(cls, n_points: int = 0) -> Growth:
        return cls(math.nan, math.nan, math.nan, n_points)


def _repeat_counts(values: np.ndarray) -> np.ndarray:
    """How often each value that occurs more than once occurs (ties, for Sen's variance)."""
    _, counts = np.unique(values, return_counts=True)
    return counts[counts > 1]


def theil_sen(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(slope, low, high): the median of the pairwise slopes and Sen's (1968, eq. 2.6)
    interval, as ``scipy.stats.theilslopes(y, x, alpha=confidence)`` computes them.

    In numpy because importing scipy.stats took 0.3-1.1 s of every ``--memory`` run's
    summary on this 2-core box, after the last worker, for this one function
    (tests/test_memory.py checks it against scipy, bit for bit)."""
    from perfkit.collect.quantiles import ndtri

    dx = x[:, None] - x
    dy = y[:, None] - y
    slopes = np.sort(dy[dx > 0] / dx[dx > 0])
    slope = float(np.median(slopes))
    z = ndtri((1.0 - confidence) / 2 if confidence > 0.5 else confidence / 2)
    n, nt = len(y), len(slopes)
    ties = [c * (c - 1) * (2 * c + 5) for c in (*_repeat_counts(x), *_repeat_counts(y))]
    variance = (n * (n - 1) * (2 * n + 5) - sum(ties)) / 18.0
    if not variance >= 0:  # ties everywhere: scipy's sqrt gives NaN, and so no interval
        return slope, math.nan, math.nan
    sigma = math.sqrt(variance)
    upper = min(int(np.round((nt - z * sigma) / 2.0)), nt - 1)
    lower = max(int(np.round((nt + z * sigma) / 2.0)) - 1, 0)
    return slope, float(slopes[lower]), float(slopes[upper])


def fit_growth(
    iterations: Any, values: Any, confidence: float = DEFAULT_STATS.confidence
) -> Growth:
    """Theil-Sen slope of `values` over `iterations` with its `confidence` interval."""
    x = np.asarray(iterations, dtype=float)
    y = np.asarray(values, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < MIN_POINTS or len(np.unique(x)) < 2:
        return Growth.unknown(len(x))
    slope, low, high = theil_sen(x, y, confidence)
    return Growth(bytes_per_call=slope, ci_low=low, ci_high=high, n_points=len(x))


def is_leak(growth: Growth, floor_bytes_per_call: float) -> bool:
    """True only when the whole CI of the growth lies above the noise floor."""
    return bool(growth.n_points >= MIN_POINTS and growth.ci_low > floor_bytes_per_call)


def growth_text(growth: Growth, leak: bool, floor_bytes_per_call: float) -> str:
    """``leaks ~195 KB per call (CI 190 KB–200 KB)``, ``no growth`` (CI holds 0), or why
    a growth is not called a leak."""
    if math.isnan(growth.bytes_per_call):
        return f"growth unknown ({growth.n_points} points, need {MIN_POINTS})"
    ci = f"CI {format_bytes_ci(growth.ci_low, growth.ci_high)}"
    if leak:
        return f"leaks ~{format_bytes(growth.bytes_per_call)} per call ({ci})"
    if growth.ci_low <= 0 <= growth.ci_high:
        return "no growth"
    if growth.ci_high < 0:
        return f"shrinks ~{format_bytes(-growth.bytes_per_call)} per call ({ci})"
    where = "below" if growth.ci_high <= floor_bytes_per_call else "not clearly above"
    return (
        f"grows ~{format_bytes(growth.bytes_per_call)} per call, {where} the "
        f"{format_bytes(floor_bytes_per_call)} leak floor ({ci})"
    )


@dataclass(frozen=True)
class GrowthVerdict:
    """A growth slope, whether it is a leak, and the sentence that says so."""

    bytes_per_call: float
    ci_low: float
    ci_high: float
    n_points: int
    leak: bool
    text: str


def growth_fit(
    rows: list[dict[str, Any]],
    warmup_calls: int = DEFAULT_PLAN.memory_warmup_calls,
    config: StatsConfig = DEFAULT_STATS,
) -> GrowthVerdict:
    """Growth and leak verdict of one worker's rows, as the memory pass returns them
    (dicts with ``iteration`` and ``py_current_bytes``); the rule of `memory_summary`."""
    window = [row for row in rows if int(row["iteration"]) >= warmup_calls]
    growth = fit_growth(
        [row["iteration"] for row in window],
        [row["py_current_bytes"] for row in window],
        config.confidence,
    )
    leak = is_leak(growth, config.leak_floor_bytes_per_call)
    return GrowthVerdict(
        bytes_per_call=growth.bytes_per_call,
        ci_low=growth.ci_low,
        ci_high=growth.ci_high,
        n_points=growth.n_points,
        leak=leak,
        text=growth_text(growth, leak, config.leak_floor_bytes_per_call),
    )


def _combine(fits: list[Growth]) -> Growth:
    """One worker: its fit. Several: median slope, the widest CI (conservative)."""
    fits = [f for f in fits if not math.isnan(f.bytes_per_call)]
    if not fits:
        return Growth.unknown()
    if len(fits) == 1:
        return fits[0]
    return Growth(
        bytes_per_call=float(np.median([f.bytes_per_call for f in fits])),
        ci_low=min(f.ci_low for f in fits),
        ci_high=max(f.ci_high for f in fits),
        n_points=sum(f.n_points for f in fits),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _warmup_calls(run: Run) -> int:
    return int(run.info.options.get("memory_warmup_calls", DEFAULT_PLAN.memory_warmup_calls))


def _fits(series: pd.DataFrame, column: str, skip: int, confidence: float) -> Growth:
    window = series[series["iteration"] >= skip]
    return _combine(
        [
            fit_growth(rows["iteration"], rows[column], confidence)
            for _, rows in window.groupby("worker", sort=True)
        ]
    )


def _sites(sites: pd.DataFrame) -> list[dict[str, Any]]:
    """Grown sites of the lowest-numbered worker, largest first."""
    if sites.empty:
        return []
    first = sites[sites["worker"] == sites["worker"].min()]
    first = first.sort_values("size_bytes", ascending=False, kind="stable")
    return [
        {"site": str(site), "size_bytes": int(size), "count": int(count)}
        for site, size, count in zip(
            first["site"], first["size_bytes"], first["count"], strict=True
        )
    ]


def memory_summary(run: Run, config: StatsConfig = DEFAULT_STATS) -> pd.DataFrame:
    """One row per (benchmark id, target) that has a memory result; see SUMMARY_COLUMNS."""
    summary = run.memory_summary
    if summary.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    skip = _warmup_calls(run)
    floor = config.leak_floor_bytes_per_call
    series_by_key = dict(iter(run.memory.groupby(_KEYS, sort=False)))
    sites_by_key = dict(iter(run.memory_sites.groupby(_KEYS, sort=False)))
    empty = run.memory.iloc[0:0]
    rows = []
    for key, group in summary.groupby(_KEYS, sort=False):
        benchmark, params, target = key
        series = series_by_key.get(key, empty)
        growth = _fits(series, "py_current_bytes", skip, config.confidence)
        rss_growth = _fits(series, "rss_bytes", skip, config.confidence)
        leak = is_leak(growth, floor)
        baseline = float(group["baseline_rss_bytes"].median())
        peak = float(group["peak_rss_bytes"].max())
        rows.append(
            {
                "id": case_id(benchmark, params),
                "benchmark": benchmark,
                "params": params,
                "target": target,
                "baseline_rss_bytes": int(baseline),
                "peak_rss_bytes": int(peak),
                "py_peak_bytes": int(group["py_peak_bytes"].max()),
                "growth_bytes_per_call": growth.bytes_per_call,
                "growth_ci_low": growth.ci_low,
                "growth_ci_high": growth.ci_high,
                "leak": leak,
                "top_growth_sites": _sites(sites_by_key.get(key, run.memory_sites.iloc[0:0])),
                "growth_ci": [_finite(growth.ci_low), _finite(growth.ci_high)],
                "peak_above_baseline_bytes": int(peak - baseline),
                "rss_growth_bytes_per_call": rss_growth.bytes_per_call,
                "growth_text": growth_text(growth, leak, floor),
                "calls": int(group["calls"].sum()),
                "n_workers": int(group["worker"].nunique()),
            }
        )
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    frame["leak"] = frame["leak"].astype(bool)
    return frame
