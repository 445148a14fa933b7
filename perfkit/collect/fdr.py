"""Benjamini–Hochberg adjusted p-values in numpy, for the adaptive rounds and the comparison.

Exactly ``scipy.stats.false_discovery_control(p, method="bh")`` (sort, p·m/rank, running
minimum from the largest, clip; the same arithmetic, so the same bits), without importing
scipy.stats: 0.3-0.45 s on this 2-core box, which the adaptive rounds paid in the parent at
their first look at a suite of two or more benchmarks, while both cores were timing, and
`perfkit run`'s summary paid for nothing else. Here, not in `perfkit.analysis.multiple`, so
that `perfkit.collect.sequential` may use it (collect never imports analysis).
tests/test_many_benchmarks.py checks it against scipy with ties, NaN, 0 and 1.
"""

from __future__ import annotations

import numpy as np


def bh_adjusted(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values of p-values in [0, 1], in their order: what
    ``scipy.stats.false_discovery_control(p, method="bh")`` returns (and, like it, a
    ValueError for a value outside [0, 1] or NaN)."""
    p = np.asarray(p_values, float)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("`ps` must include only numbers between 0 and 1.")
    if p.size <= 1:
        return p.copy()
    order = np.argsort(p)
    q = p[order]
    q *= len(q) / np.arange(1, len(q) + 1, dtype=float)
    np.minimum.accumulate(q[::-1], out=q[::-1])
    adjusted = np.empty_like(q)
    adjusted[order] = q
    return np.clip(adjusted, 0.0, 1.0)
