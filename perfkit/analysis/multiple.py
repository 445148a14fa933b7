"""Many benchmarks tested at once: which changes may be called significant.

Takes the per-benchmark p-values (each from its own test, `perfkit.analysis.change_tests`)
and controls the false discovery rate over the family with Benjamini–Hochberg: among the
benchmarks labelled slower, faster, regression or improvement, the expected share of
unchanged ones stays at most the rate, whatever the suite size. A significant label needs
both the benchmark's own CI and this step; a lone benchmark is no family, its CI alone
decides (as before issue 21). Computes nothing per benchmark and changes no interval.

The adjustment is `scipy.stats.false_discovery_control(p, method="bh")`'s algorithm in numpy
(`perfkit.collect.fdr`, shared with the adaptive rounds): importing scipy.stats costs
0.3-0.45 s on this 2-core box, and `perfkit run`'s summary of an adaptive run needed it for
nothing else.
"""

from __future__ import annotations

import numpy as np

from perfkit.collect.fdr import bh_adjusted


def q_values(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values; NaN (no test: too few workers) stays NaN
    and does not count in the family."""
    p = np.asarray(p_values, float)
    q = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        q[tested] = bh_adjusted(np.clip(p[tested], 0.0, 1.0))
    return q


def discoveries(p_values: np.ndarray, rate: float) -> np.ndarray:
    """Which tests may be called significant with the false discovery rate held at `rate`.

    Fewer than two tests: no constraint (all True), the per-benchmark CI decides alone.
    """
    p = np.asarray(p_values, float)
    if np.isfinite(p).sum() < 2:
        return np.ones(p.shape, dtype=bool)
    q = q_values(p)
    return np.isfinite(q) & (q < rate)
