"""Scaling: fit time ≈ a·nᵏ for benchmarks with one numeric size parameter.

A benchmark qualifies when it has exactly one parameter with at least three
numeric values. The fit is least squares on log-log over per-worker medians (the
independent units); k gets a t-interval (`perfkit.collect.quantiles`: scipy.special's
quantiles, the ones scipy.stats' ``t.ppf`` and ``norm.ppf`` return, without importing
scipy.stats, 0.3-0.45 s on this 2-core box, on the demo's serial comparison step). Reads Runs, writes nothing; `Comparison.scaling()`
calls `compare_scaling` with its two sides (this module never imports the comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfkit.analysis.stats import worker_medians
from perfkit.collect.quantiles import ndtri, stdtrit
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.rundir import Run

MIN_POINTS = 3
LINEAR_BAND = 0.1  # |k - 1| under this reads as linear
GROWTH_MIN = 0.1  # k must grow by at least this much (and significantly) to be flagged

FIT_COLUMNS = [
    "benchmark",
    "param",
    "target",
    "k",
    "k_ci_low",
    "k_ci_high",
    "a",
    "n_points",
    "k_stderr",
    "n_workers",
]
COMPARE_COLUMNS = [
    "benchmark",
    "param",
    "k_baseline",
    "k_baseline_ci_low",
    "k_baseline_ci_high",
    "k_current",
    "k_current_ci_low",
    "k_current_ci_high",
    "grew",
    "shape_change",
    "text",
    "flag",
]
SHAPE_ORDER = {"sub-linear": 0, "linear": 1, "super-linear": 2}


def _numeric_param(params: pd.Series) -> tuple[str, pd.Series] | None:
    """(name, values) when every params text is one ``k=<number>``; else None."""
    names, numbers = set(), {}
    for text in pd.unique(params):  # a text per worker row: parse each distinct one once
        if not text or "," in text or "=" not in text:
            return None
        name, _, value = text.partition("=")
        try:
            number = float(value)
        except ValueError:
            return None
        if not math.isfinite(number) or number <= 0:
            return None
        names.add(name)
        numbers[text] = number
    if len(names) != 1:
        return None
    return names.pop(), params.map(numbers).astype(float)


def shape_word(k: float) -> str:
    """sub-linear, linear or super-linear (a band of ±0.1 around 1 is linear)."""
    if not math.isfinite(k):
        return "unknown"
    if k > 1 + LINEAR_BAND:
        return "super-linear"
    if k < 1 - LINEAR_BAND:
        return "sub-linear"
    return "linear"


@dataclass(frozen=True)
class LineFit:
    slope: float
    intercept: float
    stderr: float  # of the slope


def _line_fit(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Least squares y = slope·x + intercept, as `scipy.stats.linregress` (without its
    per-call overhead, which a suite of a thousand benchmarks pays hundreds of times)."""
    dx = x - x.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ (y - y.mean())) / sxx
    intercept = float(y.mean() - slope * x.mean())
    residual = y - (slope * x + intercept)
    dof = len(x) - 2
    stderr = math.sqrt(float(residual @ residual) / dof / sxx) if dof > 0 else math.nan
    return LineFit(slope, intercept, stderr)


def shape_change(k_baseline: float, k_current: float, significant: bool) -> str:
    """``worse`` / ``better`` when the shape word changed (e.g. super-linear → linear)
    and the change of k is significant; else ``""``."""
    old, new = shape_word(k_baseline), shape_word(k_current)
    if not significant or old == new or old not in SHAPE_ORDER or new not in SHAPE_ORDER:
        return ""
    return "worse" if SHAPE_ORDER[new] > SHAPE_ORDER[old] else "better"


def fit_scaling(run: Run, config: StatsConfig = DEFAULT_STATS) -> pd.DataFrame:
    """Per (benchmark, target) with one numeric parameter of ≥ 3 values: k, its CI, a."""
    medians = worker_medians(run.samples)
    rows = []
    t_quantiles: dict[int, float] = {}
    for (bench, target), group in medians.groupby(["benchmark", "target"], sort=False):
        found = _numeric_param(group["params"])
        if found is None:
            continue
        param, sizes = found
        if sizes.nunique() < MIN_POINTS:
            continue
        x = np.log(sizes.to_numpy(float))
        y = np.log(group["median_seconds"].to_numpy(float))
        fit = _line_fit(x, y)
        dof = len(x) - 2
        if dof > 0 and dof not in t_quantiles:
            t_quantiles[dof] = stdtrit(dof, 0.5 + config.confidence / 2)
        half = t_quantiles[dof] * fit.stderr if dof > 0 else math.nan
        rows.append(
            {
                "benchmark": bench,
                "param": param,
                "target": target,
                "k": float(fit.slope),
                "k_ci_low": float(fit.slope) - half,
                "k_ci_high": float(fit.slope) + half,
                "a": float(math.exp(fit.intercept)),
                "n_points": int(sizes.nunique()),
                "k_stderr": float(fit.stderr),
                "n_workers": len(x),
            }
        )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def compare_scaling(
    baseline_run: Run,
    baseline_label: str,
    current_run: Run,
    current_label: str,
    config: StatsConfig = DEFAULT_STATS,
) -> pd.DataFrame:
    """k baseline → current per benchmark; ``flag`` is set when k grew significantly."""
    fits_b = fit_scaling(baseline_run, config)
    same_run = current_run is baseline_run
    fits_c = fits_b if same_run else fit_scaling(current_run, config)
    fits_b = fits_b[fits_b["target"] == baseline_label]
    fits_c = fits_c[fits_c["target"] == current_label]
    merged = fits_b.merge(fits_c, on=["benchmark", "param"], suffixes=("_b", "_c"))
    rows = []
    if merged.empty:
        return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    z = ndtri(0.5 + config.confidence / 2)
    for r in merged.itertuples(index=False):
        diff = r.k_c - r.k_b
        se = math.hypot(r.k_stderr_b, r.k_stderr_c)
        grew = bool(diff >= GROWTH_MIN and diff - z * se > 0)
        significant = bool(abs(diff) >= GROWTH_MIN and abs(diff) - z * se > 0)
        shape = shape_change(r.k_b, r.k_c, significant)
        # A change of complexity is the headline, in words; otherwise the exponents speak.
        text = (
            f"scales {shape}: {shape_word(r.k_b)} → {shape_word(r.k_c)} "
            f"(k {r.k_b:.2f} → {r.k_c:.2f})"
            if shape
            else f"{r.k_b:.2f} → {r.k_c:.2f}, {shape_word(r.k_c)}"
        )
        rows.append(
            {
                "benchmark": r.benchmark,
                "param": r.param,
                "k_baseline": r.k_b,
                "k_baseline_ci_low": r.k_ci_low_b,
                "k_baseline_ci_high": r.k_ci_high_b,
                "k_current": r.k_c,
                "k_current_ci_low": r.k_ci_low_c,
                "k_current_ci_high": r.k_ci_high_c,
                "grew": grew,
                "shape_change": shape,
                "text": text,
                "flag": text if grew else "",
            }
        )
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
