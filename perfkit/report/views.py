"""One function per notebook cell: take the `ReportData`, return one thing to display.

A view draws through `perfkit.render` (plots, callgraph, icicle) and saves what it draws
under the report's output directory; tables come back as readable DataFrames. Views
hold no statistics: the numbers come from `ReportData` (the analysis modules).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfkit.render import plots
from perfkit.render.format import format_bytes, format_seconds
from perfkit.report.data import ReportData, SavedFigure
from perfkit.report.markdown import md_code
from perfkit.rundir import safe_filename


@dataclass(frozen=True)
class Note:
    """A short markdown message shown instead of a figure or table."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def overview(rep: ReportData) -> pd.DataFrame:
    """Every benchmark: the change in words and its verdict (or the one run's timings)."""
    return rep.overview


def timing_distribution(rep: ReportData) -> SavedFigure:
    fig = plots.timing_distribution(rep.worker_medians, rep.ids)
    return rep.save_figure(fig, "timing_distribution", "Per-worker median time per call")


def ratio(rep: ReportData) -> SavedFigure | Note:
    if rep.table is None:
        return Note("One target only: nothing to compare, so no ratio plot.")
    fig = plots.ratio_plot(rep.table, rep.threshold)
    return rep.save_figure(
        fig, "ratio", f"current / baseline with 95 % CI; shaded: the ±{rep.threshold:.0%} band"
    )


def budgets(rep: ReportData) -> pd.DataFrame | Note:
    """Budgets of the current side: met (upper CI bound under budget) or missed."""
    from perfkit.analysis.budgets import measured_text

    b = rep.budgets
    if b.empty:
        return Note("No budgets declared (`budget=` / `memory_budget=` or perfkit.toml).")
    return pd.DataFrame(
        {
            "benchmark": b["id"],
            "target": b["target"],
            "kind": b["kind"],
            "budget": b["budget_text"],
            "measured": [
                measured_text(k, v) for k, v in zip(b["kind"], b["measured"], strict=True)
            ],
            "": b["mark"],
        }
    )


def save_artifacts(rep: ReportData) -> Note:
    """comparison.json and the tables behind the figures, under ``data/``."""
    paths = [rep.write_comparison_json()]
    paths.append(rep.save_table(rep.timing, "timing"))
    if rep.table is not None:
        paths.append(rep.save_table(rep.table, "comparison"))
    paths.append(rep.save_table(rep.budgets, "budgets"))
    names = ", ".join(md_code(p.name) for p in paths if p is not None)
    return Note(f"Wrote {names} under {md_code(str(rep.data_dir))}.")


def scaling_table(rep: ReportData) -> pd.DataFrame | Note:
    """k per benchmark: baseline → current with the flag, or the one run's fits."""
    change = rep.scaling_change
    if change is not None and not change.empty:
        return pd.DataFrame(
            {
                "benchmark": change["benchmark"],
                "size parameter": change["param"],
                "k baseline": change["k_baseline"].round(3),
                "k current": change["k_current"].round(3),
                "change": change["text"],
                "grew": change["grew"].map({True: "⚠ grew", False: ""}),
            }
        )
    fits = rep.scaling_fits
    if fits.empty:
        return Note("No benchmark has one numeric size parameter with at least 3 sizes.")
    return pd.DataFrame(
        {
            "benchmark": fits["benchmark"],
            "target": fits["series"],
            "k": fits["k"].round(3),
            "95 % CI": [
                f"{lo:.2f}–{hi:.2f}"
                for lo, hi in zip(fits["k_ci_low"], fits["k_ci_high"], strict=True)
            ],
        }
    )


def scaling(rep: ReportData) -> SavedFigure | Note:
    if rep.scaling_fits.empty:
        return Note("Nothing to fit: no size parameter with at least 3 numeric values.")
    rep.save_table(rep.scaling_fits, "scaling")
    fig = plots.scaling_plot(rep.worker_medians, rep.scaling_fits)
    return rep.save_figure(fig, "scaling", "Time against size (log-log) with the fitted exponent k")


@dataclass(frozen=True)
class Focus:
    """The benchmark the call-graph views show, and why."""

    id: str | None
    text: str

    def _repr_markdown_(self) -> str:
        return self.text


def focus(rep: ReportData, benchmark: str | None = None) -> Focus:
    """The chosen benchmark, else the worst regression, else the slowest profiled one."""
    chosen = rep.focus_benchmark(benchmark)
    if chosen is None:
        return Focus(
            None, "No profiles in this run (`perfkit run --profile`): nothing to break down."
        )
    why = (
        "chosen with `benchmark=`"
        if benchmark
        else "the largest slow-down; pick another with `benchmark=`"
    )
    if rep.table is not None:
        row = rep.table[rep.table["id"] == chosen]
        if not row.empty:
            r = row.iloc[0]
            return Focus(
                chosen,
                f"Breaking down {md_code(chosen)}: {r['change_text']}, {r['verdict']} ({why}).",
            )
    return Focus(
        chosen,
        f"Breaking down {md_code(chosen)} ({why if benchmark else 'the slowest profiled benchmark'}).",
    )


def top_functions(rep: ReportData, benchmark: str | None, n: int = 15) -> pd.DataFrame | Note:
    """Most own time per scenario call, in the current (or only) side's profile."""
    if benchmark is None:
        return Note("No profile.")
    top = rep.top_functions(benchmark, n)
    return top.assign(
        **{
            "own time per call": [format_seconds(v) for v in top["own time per call"]],
            "cumulative per call": [format_seconds(v) for v in top["cumulative per call"]],
            "calls per scenario call": top["calls per scenario call"].round(2),
        }
    )


def profile_diff_table(rep: ReportData, benchmark: str | None, n: int = 15) -> pd.DataFrame | Note:
    """Functions whose own time per call changed most, baseline → current."""
    if benchmark is None or not rep.compared:
        return Note("A profile diff needs two profiled sides.")
    diff = rep.profile_diff(benchmark)
    rep.save_table(diff, f"profile_diff_{safe_filename(benchmark)}")
    top = diff.head(n)
    return pd.DataFrame(
        {
            "function": top["function"],
            "where": [f"{f}:{line}" for f, line in zip(top["file"], top["line"], strict=True)],
            "status": top["status"],
            "own baseline": [format_seconds(v) for v in top["baseline_tottime_seconds"]],
            "own current": [format_seconds(v) for v in top["current_tottime_seconds"]],
            "own change": [_signed_seconds(v) for v in top["delta_tottime_seconds"]],
            "calls per call change": top["delta_ncalls"].round(2),
        }
    )


def _signed_seconds(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + format_seconds(abs(value))


def profile_diff(rep: ReportData, benchmark: str | None) -> SavedFigure | Note:
    if benchmark is None or not rep.compared:
        return Note("A profile diff needs two profiled sides.")
    fig = plots.profile_diff_plot(
        rep.profile_diff(benchmark), title=f"{benchmark}: own time per call"
    )
    return rep.save_figure(
        fig,
        f"profile_diff_{benchmark}",
        f"{benchmark}: biggest changes of own time per call",
        benchmark,
    )


def call_graph(rep: ReportData, benchmark: str | None) -> SavedFigure | Note:
    """The current profile's hot call graph, coloured by the change from the baseline."""
    from perfkit.render.callgraph import diff_graph

    if benchmark is None:
        return Note("No profile.")
    base = rep.profile(benchmark, 0) if rep.compared else None
    path = rep.figure_path(f"callgraph_{benchmark}")
    diff_graph(base, rep.profile(benchmark, -1), path)
    caption = (
        f"{benchmark}: call graph, red slower / blue faster than baseline"
        if rep.compared
        else f"{benchmark}: hot call graph"
    )
    return rep.save_image(path, caption, benchmark)


def icicle(rep: ReportData, benchmark: str | None) -> SavedFigure | Note:
    from perfkit.render.icicle import icicle_figure

    if benchmark is None:
        return Note("No profile.")
    label = rep.series[-1]
    fig = icicle_figure(rep.profile(benchmark, -1), title=f"{benchmark} ({label}): icicle")
    return rep.save_figure(
        fig, f"icicle_{benchmark}", f"{benchmark} ({label}): icicle, width is time", benchmark
    )


def memory_table(rep: ReportData) -> pd.DataFrame | Note:
    """Peak RSS, growth per call and the leak verdict per benchmark and target."""
    m = rep.memory
    if m.empty:
        return Note("No memory pass in this run (`perfkit run --memory`).")
    rep.save_table(m.drop(columns=["top_growth_sites", "growth_ci"], errors="ignore"), "memory")
    return pd.DataFrame(
        {
            "benchmark": m["id"],
            "target": m["series"],
            "peak RSS": [format_bytes(v) for v in m["peak_rss_bytes"]],
            "above start": [format_bytes(v) for v in m["peak_above_baseline_bytes"]]
            if "peak_above_baseline_bytes" in m
            else "",
            "Python peak": [format_bytes(v) for v in m["py_peak_bytes"]],
            "growth": m.get("growth_text", ""),
            "leak": m["leak"].map({True: "leak", False: "no"}),
        }
    )


def memory_peaks(rep: ReportData) -> SavedFigure | Note:
    if rep.memory.empty:
        return Note("No memory pass in this run.")
    fig = plots.memory_peaks_plot(rep.memory)
    return rep.save_figure(fig, "memory_peaks", "Peak RSS per benchmark and target")


def memory_growth(rep: ReportData) -> SavedFigure | Note:
    if rep.memory_series.empty:
        return Note("No memory growth series in this run.")
    fig = plots.memory_growth_plot(rep.memory_series, rep.memory)
    return rep.save_figure(fig, "memory_growth", "Python heap after each call: growth lines")


def growth_sites(rep: ReportData, n: int = 5) -> pd.DataFrame | Note:
    """Top allocation sites that grew, for each (benchmark, target) that leaks."""
    m = rep.memory
    if m.empty or not m["leak"].any():
        return Note("No leak: no growing allocation sites to show.")
    rows = []
    for r in m[m["leak"]].itertuples(index=False):
        for site in list(r.top_growth_sites)[:n]:
            rows.append(
                {
                    "benchmark": r.id,
                    "target": r.series,
                    "site": site["site"],
                    "grew by": format_bytes(site["size_bytes"]),
                    "blocks": site["count"],
                }
            )
    return pd.DataFrame(rows)
