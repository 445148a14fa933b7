"""One function per notebook cell: take the `ReportData`, return one thing to display.

A view draws through `perfkit.render` (plots, callgraph, icicle) and saves what it draws
under the report's output directory (`ReportData.files`); a table is the section's
`DisplayTable` (perfkit.report.sections, the same as in the markdown report) shown as a
DataFrame. Views hold no statistics: the numbers come from `ReportData`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfkit.analysis.triage import by_importance
from perfkit.render import plots
from perfkit.render.format import format_bytes, format_count
from perfkit.report import sections
from perfkit.report.artifacts import SavedFigure
from perfkit.report.data import ReportData
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
    if rep.table is not None:
        return sections.comparison_table(rep.table).frame
    return sections.timing_table(rep.timing).frame


def timing_distribution(rep: ReportData) -> SavedFigure:
    order = rep.ids
    if rep.table is not None and len(rep.table) > plots.PLOT_ROWS:
        order = list(by_importance(rep.table)["id"])  # the figure shows the first rows only
    fig = plots.timing_distribution(rep.worker_medians, order)
    return rep.files.save_figure(fig, "timing_distribution", "Per-worker median time per call")


def ratio(rep: ReportData) -> SavedFigure | Note:
    if rep.table is None:
        return Note("One target only: nothing to compare, so no ratio plot.")
    fig = plots.ratio_plot(rep.table, rep.threshold)
    return rep.files.save_figure(
        fig, "ratio", f"current / baseline with 95 % CI; shaded: the ±{rep.threshold:.0%} band"
    )


def budgets(rep: ReportData) -> pd.DataFrame | Note:
    """Budgets of the current side: met (upper CI bound under budget) or missed."""
    if rep.budgets.empty:
        return Note("No budgets declared (`budget=` / `memory_budget=` or perfkit.toml).")
    return sections.budgets_table(rep.budgets).frame


def save_artifacts(rep: ReportData) -> Note:
    """comparison.json and the tables behind the figures, under ``data/``."""
    paths = [rep.files.write_comparison_json(rep.comparison)]
    paths.append(rep.files.save_table(rep.timing, "timing"))
    if rep.table is not None:
        paths.append(rep.files.save_table(rep.table, "comparison"))
    paths.append(rep.files.save_table(rep.budgets, "budgets"))
    names = ", ".join(md_code(p.name) for p in paths if p is not None)
    return Note(f"Wrote {names} under {md_code(str(rep.files.data_dir))}.")


def scaling_table(rep: ReportData) -> pd.DataFrame | Note:
    """k per benchmark: baseline → current with the flag, or the one run's fits."""
    table = sections.scaling_table(rep.scaling_change, rep.scaling_fits)
    if not table:
        return Note("No benchmark has one numeric size parameter with at least 3 sizes.")
    return table.frame


def scaling(rep: ReportData) -> SavedFigure | Note:
    if rep.scaling_fits.empty:
        return Note("Nothing to fit: no size parameter with at least 3 numeric values.")
    rep.files.save_table(rep.scaling_fits, "scaling")
    fig = plots.scaling_plot(rep.worker_medians, rep.scaling_fits)
    return rep.files.save_figure(
        fig, "scaling", "Time against size (log-log) with the fitted exponent k"
    )


@dataclass(frozen=True)
class Focus:
    """The benchmark the call-graph views show, and why."""

    id: str | None
    text: str

    def _repr_markdown_(self) -> str:
        return self.text


def focus(rep: ReportData, benchmark: str | None = None) -> Focus:
    """The chosen benchmark, else the largest significant change either way, else the
    slowest profiled one."""
    chosen = rep.focus_benchmark(benchmark)
    if chosen is None:
        return Focus(
            None, "No profiles in this run (`perfkit run --profile`): nothing to break down."
        )
    why = (
        "chosen with `benchmark=`"
        if benchmark
        else "the largest significant change; pick another with `benchmark=`"
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
    return sections.top_functions_table(rep.top_functions(benchmark, n)).frame


class Lines:
    """Sentences shown as a markdown list in a notebook."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {line}" for line in self.lines)


def culprits(rep: ReportData, benchmark: str | None) -> Lines | Note:
    """The own-code functions that changed the benchmark, in words, with the accounting."""
    from perfkit.analysis.culprit_words import summary_lines

    if benchmark is None or not rep.compared:
        return Note("Culprits need two profiled sides.")
    return Lines(summary_lines(rep.culprit_report(benchmark), code=md_code))


def culprits_table(rep: ReportData, benchmark: str | None) -> pd.DataFrame | Note:
    """The culprits as a table: change per call, its CI over profiling workers, and why."""
    if benchmark is None or not rep.compared:
        return Note("Culprits need two profiled sides.")
    return sections.culprits_table(rep.culprits(benchmark)).frame


def profile_diff_table(rep: ReportData, benchmark: str | None, n: int = 15) -> pd.DataFrame | Note:
    """Functions whose own time per call changed most, baseline → current."""
    if benchmark is None or not rep.compared:
        return Note("A profile diff needs two profiled sides.")
    diff = rep.profile_diff(benchmark)
    rep.files.save_table(diff, f"profile_diff_{safe_filename(benchmark)}")
    return sections.profile_diff_table(diff, n).frame


def profile_diff(rep: ReportData, benchmark: str | None) -> SavedFigure | Note:
    if benchmark is None or not rep.compared:
        return Note("A profile diff needs two profiled sides.")
    fig = plots.profile_diff_plot(
        rep.profile_diff(benchmark), title=f"{benchmark}: own time per call"
    )
    return rep.files.save_figure(
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
    from perfkit.analysis.culprit_words import call_graph_marks

    base = rep.profile(benchmark, 0) if rep.compared else None
    path = rep.files.figure_path(f"callgraph_{benchmark}")
    marks = call_graph_marks(rep.culprit_report(benchmark)) if rep.compared else None
    diff_graph(base, rep.profile(benchmark, -1), path, culprits=marks)
    caption = (
        f"{benchmark}: call graph, red slower / blue faster than baseline, culprits and "
        "their changed calls in purple"
        if rep.compared
        else f"{benchmark}: hot call graph"
    )
    return rep.files.save_image(path, caption, benchmark)


def icicle(rep: ReportData, benchmark: str | None) -> SavedFigure | Note:
    from perfkit.render.icicle import icicle_figure

    if benchmark is None:
        return Note("No profile.")
    label = rep.series[-1]
    fig = icicle_figure(rep.profile(benchmark, -1), title=f"{benchmark} ({label}): icicle")
    return rep.files.save_figure(
        fig, f"icicle_{benchmark}", f"{benchmark} ({label}): icicle, width is time", benchmark
    )


def memory_table(rep: ReportData) -> pd.DataFrame | Note:
    """Peak RSS, growth per call and the leak verdict per benchmark and target."""
    m = rep.memory
    if m.empty:
        return Note("No memory pass in this run (`perfkit run --memory`).")
    rep.files.save_table(
        m.drop(columns=["top_growth_sites", "growth_ci"], errors="ignore"), "memory"
    )
    return sections.memory_table(m, rep.ids).frame


def memory_peaks(rep: ReportData) -> SavedFigure | Note:
    if rep.memory.empty:
        return Note("No memory pass in this run.")
    fig = plots.memory_peaks_plot(rep.memory)
    return rep.files.save_figure(fig, "memory_peaks", "Peak RSS per benchmark and target")


def memory_growth(rep: ReportData) -> SavedFigure | Note:
    if rep.memory_series.empty:
        return Note("No memory growth series in this run.")
    fig = plots.memory_growth_plot(rep.memory_series, rep.memory)
    return rep.files.save_figure(fig, "memory_growth", "Python heap after each call: growth lines")


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
                    "Benchmark": r.id,
                    "Target": r.series,
                    "Site": site["site"],
                    "Grew by": format_bytes(site["size_bytes"]),
                    "Blocks": format_count(site["count"]),
                }
            )
    return pd.DataFrame(rows)
