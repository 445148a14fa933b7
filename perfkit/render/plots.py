"""Figures of the report: timings, ratios, scaling, memory and profile diffs.

Each function takes analysis tables (DataFrames from perfkit.analysis.stats, compare, scaling,
memory, profiles) and returns a matplotlib `Figure`; nothing here computes
statistics, reads run directories or uses pyplot's global state.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from perfkit.render.format import format_bytes, format_seconds, format_signed_seconds

VERDICT_COLORS = {
    "regression": "#c0392b",
    "slower": "#e67e22",
    "unchanged": "#7f8c8d",
    "inconclusive": "#9b59b6",
    "faster": "#58d68d",
    "improvement": "#1e8449",
}
SERIES_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
ROW_INCHES = 0.42
WIDTH_INCHES = 9.0
PLOT_ROWS = 40  # benchmarks drawn one per row at most; a larger suite is summarised
SCALING_PANELS = 12  # panels (one per benchmark) of a scaling or memory growth figure at most
MAX_FIGURE_PX = 4000  # long side of a saved figure


def text_label(text: object) -> str:
    """A label drawn as plain text: ``$`` would otherwise start matplotlib mathtext."""
    return str(text).replace("$", r"\$")


def series_colors(names: list[str]) -> dict[str, str]:
    return {name: SERIES_COLORS[i % len(SERIES_COLORS)] for i, name in enumerate(names)}


def _height(rows: int, extra: float = 1.4) -> float:
    return max(2.6, rows * ROW_INCHES + extra)


def _seconds_axis(ax: Axes, axis: str = "x") -> None:
    formatter = FuncFormatter(lambda value, _pos: format_seconds(value) if value > 0 else "")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(formatter)
    target.set_minor_formatter(FuncFormatter(lambda _value, _pos: ""))


RATIO_TICKS = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 5)
WIDE_RATIO_TICKS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2, 5, 10, 20, 100, 1000)


def _bytes_axis(ax: Axes, axis: str = "x") -> None:
    formatter = FuncFormatter(lambda value, _pos: format_bytes(value))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(formatter)


def empty_figure(message: str) -> Figure:
    """A small figure that says why there is nothing to draw."""
    fig = Figure(figsize=(WIDTH_INCHES, 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text_label(message), ha="center", va="center", fontsize=11, color="#555")
    return fig


def timing_distribution(medians: pd.DataFrame, order: list[str] | None = None) -> Figure:
    """Per-worker median time per call, one row per benchmark, one colour per series.

    `medians`: columns id, series, median_seconds (one row per worker; see
    `perfkit.analysis.stats.worker_medians`). The bar marks the median of the workers.
    """
    if medians.empty:
        return empty_figure("no timing samples")
    all_ids = order or list(dict.fromkeys(medians["id"]))
    ids = all_ids[:PLOT_ROWS]  # `order` puts first what a reader should see
    names = list(dict.fromkeys(medians["series"]))
    colors = series_colors(names)
    fig = Figure(
        figsize=(WIDTH_INCHES, _height(len(ids) * max(1, len(names)) * 0.6)), layout="constrained"
    )
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    spread = 0.6 / max(1, len(names))
    for row, cid in enumerate(ids):
        for j, name in enumerate(names):
            values = medians.loc[
                (medians["id"] == cid) & (medians["series"] == name), "median_seconds"
            ].to_numpy(float)
            if values.size == 0:
                continue
            y = row - 0.3 + spread * (j + 0.5)
            jitter = rng.uniform(-spread * 0.25, spread * 0.25, values.size)
            ax.scatter(
                values,
                y + jitter,
                s=18,
                color=colors[name],
                alpha=0.75,
                zorder=3,
                label=text_label(name) if row == 0 or cid == ids[0] else None,
            )
            ax.plot(
                [np.median(values)] * 2,
                [y - spread * 0.4, y + spread * 0.4],
                color=colors[name],
                linewidth=2.5,
                zorder=4,
            )
    ax.set_xscale("log")
    _seconds_axis(ax)
    ax.set_yticks(range(len(ids)), [text_label(i) for i in ids])
    ax.set_ylim(len(ids) - 0.5, -0.5)
    ax.set_xlabel("time per call (each point: one worker's median; bar: median of workers)")
    ax.grid(axis="x", which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper right", fontsize=9)
    title = "Timing distribution per benchmark and target"
    if len(ids) < len(all_ids):
        title += f" (first {len(ids)} of {len(all_ids)})"
    ax.set_title(text_label(title))
    return fig


def ratio_plot(table: pd.DataFrame, threshold: float) -> Figure:
    """current / baseline per benchmark with its CI, the threshold band shaded.

    `table`: `Comparison.table` (id, ratio, ci_low, ci_high, verdict, change_text).
    """
    if table.empty:
        return empty_figure("no benchmark in common")
    if len(table) <= PLOT_ROWS:
        fig = Figure(figsize=(WIDTH_INCHES, _height(len(table))), layout="constrained")
        _ratio_rows(fig.add_subplot(), table, threshold)
        return fig
    from perfkit.analysis.triage import not_unchanged

    shown = not_unchanged(table).head(PLOT_ROWS)
    others = table.drop(index=shown.index)
    fig = Figure(figsize=(WIDTH_INCHES, _height(len(shown)) + 2.6), layout="constrained")
    top, bottom = fig.subplots(
        2, 1, gridspec_kw={"height_ratios": [max(len(shown), 1) * ROW_INCHES + 1.4, 2.2]}
    )
    if shown.empty:
        top.axis("off")
        top.text(0.5, 0.5, "every benchmark unchanged", ha="center", va="center", color="#555")
    else:
        _ratio_rows(top, shown, threshold)
        top.set_title(
            text_label(f"Change per benchmark: {len(shown)} of {len(table)}, biggest first")
        )
    _ratio_histogram(bottom, others, threshold)
    return fig


def _ratio_histogram(ax: Axes, table: pd.DataFrame, threshold: float) -> None:
    """How the ratios of the benchmarks not drawn one by one spread around 1."""
    ratio = table["ratio"].to_numpy(float)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    ax.axvspan(1 - threshold, 1 + threshold, color="#bdc3c7", alpha=0.35, zorder=0)
    ax.axvline(1.0, color="#555", linewidth=1, zorder=1)
    if ratio.size:
        low, high = min(ratio.min(), 1 - threshold), max(ratio.max(), 1 + threshold)
        bins = np.geomspace(low / 1.01, high * 1.01, 60)
        ax.hist(ratio, bins=bins, color=VERDICT_COLORS["unchanged"], zorder=2)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.3g}×"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
        ax.set_xticks([t for t in RATIO_TICKS if low / 1.01 <= t <= high * 1.01])
    ax.set_ylabel("benchmarks")
    ax.set_xlabel("current / baseline")
    ax.set_title(f"The other {len(table)} benchmarks: distribution of the ratio", fontsize=10)


def _ratio_rows(ax: Axes, table: pd.DataFrame, threshold: float) -> None:
    """One row per benchmark: ratio, CI, verdict colour and the change in words."""
    ax.axvspan(
        1 - threshold,
        1 + threshold,
        color="#bdc3c7",
        alpha=0.35,
        zorder=0,
        label=f"±{threshold:.0%} threshold",
    )
    ax.axvline(1.0, color="#555", linewidth=1, zorder=1)
    rows = range(len(table))
    ratio = table["ratio"].to_numpy(float)
    low = table["ci_low"].to_numpy(float)
    high = table["ci_high"].to_numpy(float)
    for y, (r, lo, hi, verdict, change) in enumerate(
        zip(ratio, low, high, table["verdict"], table["change_text"], strict=True)
    ):
        color = VERDICT_COLORS.get(str(verdict), "#333")
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [y, y], color=color, linewidth=3, solid_capstyle="butt", zorder=2)
        if math.isfinite(r):
            ax.plot([r], [y], "o", color=color, markersize=7, zorder=3)
            ax.annotate(
                text_label(f"{change} ({verdict})"),
                (r if not math.isfinite(hi) else max(r, hi), y),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8.5,
                color=color,
            )
    finite = np.concatenate(
        [v[np.isfinite(v)] for v in (ratio, low, high)] + [np.array([1 - threshold, 1 + threshold])]
    )
    lo_x, hi_x = float(finite.min()), float(finite.max())
    ax.set_xscale("log")
    right = hi_x * max(1.6, (hi_x / lo_x) ** 0.35)  # room for the change text
    ax.set_xlim(lo_x / 1.15, right)
    candidates = RATIO_TICKS if hi_x / lo_x < 8 else WIDE_RATIO_TICKS
    ticks = [t for t in candidates if lo_x / 1.15 <= t <= right]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.3g}×"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
    ax.set_yticks(list(rows), [text_label(i) for i in table["id"]])
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlabel("current / baseline (median ratio, 95 % CI)   ← faster · slower →")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    ax.set_title("Change per benchmark")


def scaling_plot(medians: pd.DataFrame, fits: pd.DataFrame) -> Figure:
    """Time against size on log-log, one panel per benchmark, fitted a·nᵏ per series.

    `medians`: id, benchmark, params, series, median_seconds (per worker). `fits`:
    `perfkit.analysis.scaling.fit_scaling` rows with a `series` column.
    """
    if fits.empty:
        return empty_figure("no benchmark with one numeric size parameter (≥ 3 sizes)")
    all_benches = list(dict.fromkeys(fits["benchmark"]))
    benches = all_benches[:SCALING_PANELS]  # callers order the fits, what grew first
    names = list(dict.fromkeys(fits["series"]))
    colors = series_colors(names)
    cols = min(2, len(benches))
    rows = math.ceil(len(benches) / cols)
    fig = Figure(figsize=(WIDTH_INCHES, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, bench in zip(axes, benches, strict=False):
        all_sizes: set[float] = set()
        for fit in fits[fits["benchmark"] == bench].itertuples(index=False):
            points = medians[(medians["benchmark"] == bench) & (medians["series"] == fit.series)]
            sizes = points["params"].str.partition("=")[2].astype(float)
            all_sizes.update(sizes)
            color = colors[fit.series]
            ax.scatter(sizes, points["median_seconds"], s=14, color=color, alpha=0.6)
            grid = np.geomspace(sizes.min(), sizes.max(), 50)
            label = f"{fit.series}: k = {fit.k:.2f} [{fit.k_ci_low:.2f}, {fit.k_ci_high:.2f}]"
            ax.plot(grid, fit.a * grid**fit.k, color=color, linewidth=1.8, label=text_label(label))
        ax.set_xscale("log")
        ax.set_yscale("log")
        _seconds_axis(ax, "y")
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda _value, _pos: ""))
        ax.set_xticks(sorted(all_sizes))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        param = fits.loc[fits["benchmark"] == bench, "param"].iloc[0]
        ax.set_xlabel(text_label(param))
        ax.set_ylabel("time per call")
        ax.set_title(text_label(bench))
        ax.grid(which="both", alpha=0.25)
        ax.legend(fontsize=8.5)
    for ax in axes[len(benches) :]:
        ax.axis("off")
    title = "Scaling: time ≈ a·nᵏ (log-log)"
    if len(benches) < len(all_benches):
        title += f", first {len(benches)} of {len(all_benches)} benchmarks"
    fig.suptitle(title)
    return fig


def memory_peaks_plot(memory: pd.DataFrame) -> Figure:
    """Peak RSS per benchmark and series; a leak is marked next to its bar.

    `memory`: `perfkit.analysis.memory.memory_summary` rows with a `series` column.
    """
    if memory.empty:
        return empty_figure("no memory pass in this run (perfkit run --memory)")
    all_ids = list(dict.fromkeys(memory["id"]))
    # leaks first, then the largest peaks: what a reader of a large suite looks for
    order = memory.assign(_leak=memory.get("leak", False)).groupby("id", sort=False)
    ranked = order.agg(leak=("_leak", "max"), peak=("peak_rss_bytes", "max"))
    ids = (
        all_ids
        if len(all_ids) <= PLOT_ROWS
        else list(ranked.sort_values(["leak", "peak"], ascending=False).index[:PLOT_ROWS])
    )
    names = list(dict.fromkeys(memory["series"]))
    colors = series_colors(names)
    fig = Figure(
        figsize=(WIDTH_INCHES, _height(len(ids) * max(1, len(names)) * 0.55)), layout="constrained"
    )
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(names))
    for j, name in enumerate(names):
        part = memory[memory["series"] == name].set_index("id")
        ys, peaks, leaks = [], [], []
        for row, cid in enumerate(ids):
            if cid in part.index:
                ys.append(row - 0.4 + height * (j + 0.5))
                peaks.append(float(part.at[cid, "peak_rss_bytes"]))
                leaks.append(bool(part.at[cid, "leak"]) if "leak" in part.columns else False)
        ax.barh(ys, peaks, height=height * 0.9, color=colors[name], label=text_label(name))
        for y, peak, leak in zip(ys, peaks, leaks, strict=True):
            ax.annotate(
                format_bytes(peak) + ("  leak" if leak else ""),
                (peak, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color="#c0392b" if leak else "#333",
            )
    _bytes_axis(ax)
    ax.set_yticks(range(len(ids)), [text_label(i) for i in ids])
    ax.set_ylim(len(ids) - 0.5, -0.5)
    ax.set_xlim(0, float(memory["peak_rss_bytes"].max()) * 1.25)
    ax.set_xlabel("peak resident memory (RSS) of the worker")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    title = "Peak memory per benchmark and target"
    if len(ids) < len(all_ids):
        title += f" (leaks and largest {len(ids)} of {len(all_ids)})"
    ax.set_title(text_label(title))
    return fig


def memory_growth_plot(series: pd.DataFrame, memory: pd.DataFrame | None = None) -> Figure:
    """Python heap after each call, one panel per benchmark, one line per series and worker.

    `series`: memory.csv rows (id, series, worker, iteration, py_current_bytes);
    `memory` (optional): summary rows (id, series, leak, growth_bytes_per_call) for titles.
    """
    if series.empty:
        return empty_figure("no memory growth series in this run (perfkit run --memory)")
    ids = list(dict.fromkeys(series["id"]))[:SCALING_PANELS]  # callers put leaks first
    names = list(dict.fromkeys(series["series"]))
    colors = series_colors(names)
    cols = min(3, len(ids))
    rows = math.ceil(len(ids) / cols)
    fig = Figure(figsize=(WIDTH_INCHES, 2.8 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, cid in zip(axes, ids, strict=False):
        part = series[series["id"] == cid]
        for (name, _worker), line in part.groupby(["series", "worker"], sort=False):
            line = line.sort_values("iteration")
            ax.plot(
                line["iteration"],
                line["py_current_bytes"],
                marker=".",
                color=colors[name],
                label=text_label(name),
            )
        title = cid
        if memory is not None and not memory.empty and "leak" in memory.columns:
            leaking = memory[(memory["id"] == cid) & memory["leak"].astype(bool)]
            if not leaking.empty:
                title += "  (leak: " + ", ".join(map(str, leaking["series"])) + ")"
        ax.set_title(
            text_label(title), fontsize=9.5, color="#c0392b" if "(leak" in title else "black"
        )
        _bytes_axis(ax, "y")
        ax.set_xlabel("call", fontsize=8.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=7.5)
    for ax in axes[len(ids) :]:
        ax.axis("off")
    fig.suptitle("Python heap after each call (growth = leak candidate)")
    return fig


def profile_diff_plot(diff: pd.DataFrame, top: int = 12, title: str = "") -> Figure:
    """Biggest changes of own time per scenario call (`perfkit.analysis.profiles.diff_profiles` rows)."""
    if diff.empty:
        return empty_figure("no profile difference")
    rows = diff.head(top).iloc[::-1]
    fig = Figure(figsize=(WIDTH_INCHES, _height(len(rows))), layout="constrained")
    ax = fig.add_subplot()
    delta = rows["delta_tottime_seconds"].to_numpy(float)
    colors = ["#c0392b" if d > 0 else "#1e8449" for d in delta]
    ax.barh(range(len(rows)), delta, color=colors)
    labels = [
        f"{fn}  ({Path(str(file)).name}:{line}){'  new' if status == 'new' else '  gone' if status == 'gone' else ''}"
        for fn, file, line, status in zip(
            rows["function"], rows["file"], rows["line"], rows["status"], strict=True
        )
    ]
    ax.set_yticks(range(len(rows)), [text_label(x) for x in labels], fontsize=8.5)
    ax.axvline(0, color="#555", linewidth=1)
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _p: format_signed_seconds(v) if v else "0")
    )
    ax.set_xlabel("change of own time per scenario call (current − baseline)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(text_label(title or "Profile diff: own time per call"))
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write a figure as PNG (parents created) and return its path.

    The long side stays within `MAX_FIGURE_PX`: a taller figure is written at a lower dpi.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    long_inches = max(fig.get_size_inches())
    fig.savefig(path, format="png", dpi=min(dpi, MAX_FIGURE_PX / long_inches))
    return path
