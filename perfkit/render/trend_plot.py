"""The trends figure: each series' per-run medians with their CIs, steps marked by commit.

Data in (an ordered points table and detected changes), a matplotlib `Figure` out;
no statistics, no pyplot state.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from perfkit.analysis.trends import Change
from perfkit.render.format import format_change
from perfkit.render.plots import _seconds_axis, text_label

WIDTH_INCHES = 9.0
PANEL_INCHES = 2.4


def trend_figure(
    series: Sequence[tuple[tuple[str, str, str], pd.DataFrame]],
    changes: Sequence[Change],
) -> Figure:
    """One panel per series: median and 95 % CI per run in commit order; a dashed line
    and the after-commit at every detected step, the segments' levels drawn flat."""
    panels = max(1, len(series))
    fig = Figure(figsize=(WIDTH_INCHES, PANEL_INCHES * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    if not series:
        axes[0].text(0.5, 0.5, "no history", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    for ax, ((benchmark_id, name, machine), points) in zip(axes, series, strict=False):
        x = np.arange(len(points))
        median = points["median_seconds"].to_numpy(float)
        low = pd.to_numeric(points["ci_low_seconds"], errors="coerce").to_numpy(float)
        high = pd.to_numeric(points["ci_high_seconds"], errors="coerce").to_numpy(float)
        errors = np.vstack([np.nan_to_num(median - low), np.nan_to_num(high - median)])
        ax.errorbar(x, median, yerr=np.maximum(errors, 0), fmt="o", ms=3, lw=0.8,
                    color="#1f77b4", ecolor="#9ecae1", capsize=0)  # fmt: skip
        own = [c for c in changes if (c.benchmark_id, c.series, c.machine_id) == (
            benchmark_id, name, machine)]  # fmt: skip
        edges = [0, *[c.index for c in own], len(points)]
        for start, end in itertools.pairwise(edges):
            level = float(np.exp(np.mean(np.log(median[start:end]))))
            ax.hlines(level, start - 0.4, end - 0.6, color="#555555", lw=1.2)
        for c in own:
            colour = "#c0392b" if c.ratio > 1 else "#1e8449"
            ax.axvline(c.index - 0.5, color=colour, ls="--", lw=1)
            label = f"{(c.after_sha or '')[:8]} {format_change(c.ratio)}"
            ax.annotate(text_label(label), (c.index - 0.5, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize=7, color=colour)  # fmt: skip
        ax.set_title(text_label(f"{benchmark_id} @{name} · {machine}"), loc="left", fontsize=9)
        _seconds_axis(ax, "y")
        ax.set_xlim(-0.8, len(points) - 0.2)
        ax.set_xlabel("run, in commit order", fontsize=8)
    return fig
