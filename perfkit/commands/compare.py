"""`perfkit compare`: baseline vs current as a table, a JSON file and an exit code.

Orientation is one rule everywhere: baseline first, then current ("baseline → current"
in the title, the baseline column left of the current one, ratios current / baseline).
Benchmarks that failed on a side are rows of the table too. Exit 0, or 1 with
--fail-on-regression / --fail-on-budget when one is found, a benchmark failed on the
current side, or nothing could be compared; bad input raises PerfkitError (the CLI prints one line and exits 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.config import DEFAULT_STATS
from perfkit.render.terminal import table_console
from perfkit.rundir import DEFAULT_RUNS_DIR
from perfkit.units import parse_fraction

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from perfkit.analysis.comparison import Comparison, Side

LIST_ALL_UP_TO = 50  # benchmarks; a larger comparison lists only what did not stay unchanged
VERDICT_STYLES = {
    "regression": "bold red",
    "slower": "yellow",
    "improvement": "bold green",
    "faster": "green",
    "unchanged": "dim",
    "inconclusive": "magenta",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare a baseline with a current version (two runs, or two labels of one run)",
    )
    p.add_argument("base", metavar="BASE", help="run id, run dir, 'latest', or RUN:LABEL")
    p.add_argument(
        "current", metavar="CURRENT", nargs="?", help="run id, run dir, 'latest', or RUN:LABEL"
    )
    p.add_argument("--baseline", metavar="LABEL", help="label of the baseline target")
    p.add_argument(
        "--current", dest="current_label", metavar="LABEL", help="label of the current target"
    )
    p.add_argument(
        "--threshold",
        default=f"{DEFAULT_STATS.threshold:.0%}",
        help="smallest change called a regression/improvement (default %(default)s)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON")
    p.add_argument(
        "--all",
        dest="show_all",
        action="store_true",
        help=f"list every benchmark (default: past {LIST_ALL_UP_TO}, unchanged ones are counted)",
    )
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help=argparse.SUPPRESS)
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when any benchmark regressed"
    )
    p.add_argument(
        "--fail-on-budget", action="store_true", help="exit 1 when the current side misses a budget"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape as esc

    from perfkit.analysis.comparison import compare

    comparison = compare(
        args.base,
        args.current,
        baseline_label=args.baseline,
        current_label=args.current_label,
        threshold=parse_fraction(args.threshold),
        runs_dir=args.runs_dir,
    )
    budgets = comparison.budgets()
    console = table_console()
    render(comparison, budgets, console, show_all=args.show_all)
    if args.json:
        comparison.write_json(args.json)
        console.print(f"wrote {esc(str(args.json))}")
    code = 0
    failed = comparison.summary.get("failed_in_current") or []
    if (args.fail_on_regression or args.fail_on_budget) and (failed or comparison.table.empty):
        what = ", ".join(failed) or "nothing could be compared"
        console.print(f"[bold red]failed:[/] {esc(what)}")
        code = 1
    if args.fail_on_regression and comparison.regressions():
        console.print(f"[bold red]regression:[/] {esc(', '.join(comparison.regressions()))}")
        code = 1
    missed = budgets[budgets["status"] == "missed"] if not budgets.empty else budgets
    if args.fail_on_budget and not missed.empty:
        console.print(f"[bold red]budget missed:[/] {esc(', '.join(missed['id'].unique()))}")
        code = 1
    return code


def column_headings(comparison: Comparison) -> tuple[str, str]:
    """Two distinct headings, role first: ``baseline`` / ``current`` plus the label, or
    the run id when both sides carry the same label (two `pytest --perf-save` runs)."""
    base, cur = comparison.baseline, comparison.current
    distinct = base.label != cur.label
    b, c = (base.label, cur.label) if distinct else (base.run.id, cur.run.id)
    return (
        "baseline" if b == "baseline" else f"baseline\n{b}",
        "current" if c == "current" else f"current\n{c}",
    )


def failed_rows(comparison: Comparison) -> list[tuple[str, bool, bool]]:
    """(id, failed on baseline, failed on current) for failed benchmarks not in the table."""
    s = comparison.summary
    shown = set(comparison.table["id"])
    fb, fc = s.get("failed_in_baseline") or [], s.get("failed_in_current") or []
    ids = [i for i in dict.fromkeys([*fb, *fc]) if i not in shown]
    return [(i, i in fb, i in fc) for i in ids]


def side_median(side: Side, cid: str) -> float:
    """The median time of one benchmark on one side (NaN when it has no samples)."""
    from perfkit.analysis.stats import worker_medians

    medians = worker_medians(side.run.samples)
    chosen = medians[(medians["id"] == cid) & (medians["target"] == side.label)]
    return float(chosen["median_seconds"].median()) if not chosen.empty else float("nan")


def memory_added(side: Side) -> dict[str, float]:
    """Per benchmark id: the peak RSS above the worker's start (what the benchmark added)."""
    from perfkit.analysis.memory import memory_summary

    summary = memory_summary(side.run)
    if summary is None or summary.empty:
        return {}
    mine = summary[summary["target"] == side.label]
    return dict(zip(mine["id"], mine["peak_above_baseline_bytes"].astype(float), strict=True))


def _added_text(value: float | None) -> str:
    from perfkit.render.format import format_bytes

    return "–" if value is None or value != value else f"+{format_bytes(value)}"


def shown_rows(table: pd.DataFrame, show_all: bool = False) -> pd.DataFrame:
    """Every row of a small comparison; of a large one the benchmarks that are not
    unchanged, in `perfkit.analysis.triage` reading order (significant, biggest first)."""
    from perfkit.analysis.triage import not_unchanged

    if show_all or len(table) <= LIST_ALL_UP_TO:
        return table
    return not_unchanged(table)


def render(
    comparison: Comparison, budgets: pd.DataFrame, console: Console, show_all: bool = False
) -> None:
    """The comparison table, then scaling flags, budgets and the summary line."""
    from rich.markup import escape as esc
    from rich.table import Table

    from perfkit.analysis.budgets import measured_text
    from perfkit.analysis.comparison import summary_line
    from perfkit.render.format import format_bytes, format_ratio_ci, format_seconds

    base, cur = comparison.baseline, comparison.current
    how = "paired by round" if comparison.paired else "independent workers"
    sides = (
        f"{base.run.id}: {base.label} → {cur.label}"
        if comparison.paired
        else f"{base.ref} → {cur.ref}"
    )
    title = (
        f"{sides}  (baseline → current, {how}, "
        f"{comparison.config.confidence:.0%} CI, threshold {comparison.threshold:.0%})"
    )
    table = Table(title=esc(title), title_justify="left")
    table.add_column("benchmark")
    base_head, cur_head = column_headings(comparison)
    table.add_column(esc(base_head), justify="right")
    table.add_column(esc(cur_head), justify="right")
    table.add_column("change", justify="right")
    table.add_column("ratio CI", justify="right")
    table.add_column("verdict")
    table.add_column("workers", justify="right")
    if comparison.has_memory:
        # What the benchmark added leads; the absolute peak (mostly Python itself) is context.
        added = {side.label: memory_added(side) for side in (base, cur)}
        table.add_column("memory added", justify="right")
        table.add_column("peak RSS", justify="right", style="dim")
    if not budgets.empty:
        table.add_column("budget")
    marks = {}
    for b in budgets.itertuples(index=False):
        marks.setdefault(b.id, []).append(f"{b.mark} {b.kind} < {b.budget_text}")
    shown = shown_rows(comparison.table, show_all)
    for row in shown.to_dict("records"):
        cells = [
            esc(row["id"]),
            format_seconds(row["baseline_median_seconds"]),
            format_seconds(row["current_median_seconds"]),
            row["change_text"],
            format_ratio_ci(row["ci_low"], row["ci_high"]),
            f"[{VERDICT_STYLES[row['verdict']]}]{row['verdict']}[/]",
            f"{row['n_baseline']}/{row['n_current']}",
        ]
        if comparison.has_memory:
            cells.append(
                f"{_added_text(added[base.label].get(row['id']))} → "
                f"{_added_text(added[cur.label].get(row['id']))}"
            )
            cells.append(
                f"{format_bytes(row['baseline_peak_rss_bytes'])} → "
                f"{format_bytes(row['current_peak_rss_bytes'])}"
            )
        if not budgets.empty:
            cells.append(esc("  ".join(marks.get(row["id"], []))))
        table.add_row(*cells)
    for cid, failed_base, failed_cur in failed_rows(comparison):
        cells = [
            esc(cid),
            "[red]failed[/]" if failed_base else format_seconds(side_median(base, cid)),
            "[red]failed[/]" if failed_cur else format_seconds(side_median(cur, cid)),
            "",
            "",
            "[red]failed[/]",
            "",
        ]
        cells += [""] * (len(table.columns) - len(cells))
        table.add_row(*cells)
    console.print(table)
    hidden = len(comparison.table) - len(shown)
    if hidden:
        console.print(f"[dim]{hidden} unchanged benchmark(s) not listed (--all lists them)[/]")
    scaling = comparison.scaling()
    for r in scaling.itertuples(index=False):
        if hidden and not (r.grew or r.shape_change):
            continue
        style = {"worse": "bold red", "better": "bold green"}.get(
            r.shape_change, "bold red" if r.grew else "dim"
        )
        what = r.text if r.shape_change else f"k = {r.text}"
        console.print(f"[{style}]scaling {esc(f'{r.benchmark} ({r.param})')}: {esc(what)}[/]")
    for line in comparison.environment().lines():
        console.print(f"[bold cyan]environment differs:[/] {esc(line)}", soft_wrap=True)
    if budgets.attrs.get("note"):
        console.print(f"[yellow]{esc(budgets.attrs['note'])}[/]")
    for b in budgets.itertuples(index=False):
        if b.status != "met":
            console.print(
                esc(
                    f"{b.mark} {b.id} @{b.target}: {b.kind} budget {b.budget_text}, "
                    f"measured {measured_text(b.kind, b.measured)} ({b.status})"
                )
            )
    _culprit_lines(comparison, console)
    s = comparison.summary
    for key, text in (
        ("only_in_baseline", f"only in {base.ref}"),
        ("only_in_current", f"only in {cur.ref}"),
        ("failed_in_baseline", f"failed in {base.ref}"),
        ("failed_in_current", f"failed in {cur.ref}"),
    ):
        if s.get(key):
            console.print(f"[yellow]{esc(text)}:[/] {esc(', '.join(s[key]))}")
    console.print(esc(summary_line(comparison)))
    _measurement_lines(comparison, console)


def _measurement_lines(comparison: Comparison, console: Console) -> None:
    """How the runs were measured and how busy the machine was, beside the verdicts."""
    from rich.markup import escape as esc

    from perfkit.analysis.measurement import load_text, plan_text

    runs = [comparison.baseline_run]
    if comparison.current_run is not comparison.baseline_run:
        runs.append(comparison.current_run)
    for run in runs:
        where = f"{run.id}: " if len(runs) > 1 else ""
        console.print(f"[dim]{esc(where + 'measured with the ' + plan_text(run.info))}[/]")
        load = load_text(run.info)
        if load:
            style = "yellow" if run.info.load is not None and run.info.load.high else "dim"
            console.print(f"[{style}]{esc(where + 'machine load while timing: ' + load)}[/]")


def _culprit_lines(comparison: Comparison, console: Console) -> None:
    """One culprit line per significant change (regression, improvement, slower, faster)
    whose run has profiles."""
    from rich.markup import escape as esc

    from perfkit.analysis.culprit_words import culprit_text
    from perfkit.analysis.run_profiles import comparison_culprits
    from perfkit.errors import PerfkitError

    try:
        reports = comparison_culprits(comparison)
    except PerfkitError as exc:  # a broken .prof must not hide the verdicts above
        console.print(f"[yellow]culprits unavailable: {esc(str(exc))}[/]")
        return
    for full_id, report in reports.items():
        named = report.named(1)
        what = culprit_text(named[0], code=str) if named else "no own-code function stands out"
        console.print(f"[bold]culprit[/] {esc(full_id)}: {esc(what)}")
