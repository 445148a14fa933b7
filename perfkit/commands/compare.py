"""`perfkit compare`: baseline vs current as a table, a JSON file and an exit code.

Exit 0, or 1 with --fail-on-regression / --fail-on-budget when one is found;
bad input raises PerfkitError (the CLI prints one line and exits 2).
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

    from perfkit.analysis.comparison import Comparison

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
    if args.fail_on_regression and comparison.regressions():
        console.print(f"[bold red]regression:[/] {esc(', '.join(comparison.regressions()))}")
        code = 1
    missed = budgets[budgets["status"] == "missed"] if not budgets.empty else budgets
    if args.fail_on_budget and not missed.empty:
        console.print(f"[bold red]budget missed:[/] {esc(', '.join(missed['id'].unique()))}")
        code = 1
    return code


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
    from perfkit.units import format_bytes, format_seconds

    base, cur = comparison.baseline, comparison.current
    how = "paired by round" if comparison.paired else "independent workers"
    title = (
        f"{cur.ref} vs {base.ref}  ({how}, {comparison.config.confidence:.0%} CI, "
        f"threshold {comparison.threshold:.0%})"
    )
    table = Table(title=esc(title), title_justify="left")
    table.add_column("benchmark")
    table.add_column(base.label, justify="right")
    table.add_column(cur.label, justify="right")
    table.add_column("change", justify="right")
    table.add_column("ratio CI", justify="right")
    table.add_column("verdict")
    table.add_column("workers", justify="right")
    if comparison.has_memory:
        table.add_column("peak RSS", justify="right")
    if not budgets.empty:
        table.add_column("budget")
    marks = {}
    for b in budgets.itertuples(index=False):
        marks.setdefault(b.id, []).append(f"{b.mark} {b.kind} < {b.budget_text}")
    shown = shown_rows(comparison.table, show_all)
    for row in shown.to_dict("records"):
        ci = f"{row['ci_low']:.3f}–{row['ci_high']:.3f}" if row["ci_low"] == row["ci_low"] else "–"
        cells = [
            esc(row["id"]),
            format_seconds(row["baseline_median_seconds"]),
            format_seconds(row["current_median_seconds"]),
            row["change_text"],
            ci,
            f"[{VERDICT_STYLES[row['verdict']]}]{row['verdict']}[/]",
            f"{row['n_baseline']}/{row['n_current']}",
        ]
        if comparison.has_memory:
            cells.append(
                f"{format_bytes(row['baseline_peak_rss_bytes'])} → "
                f"{format_bytes(row['current_peak_rss_bytes'])}"
            )
        if not budgets.empty:
            cells.append(esc("  ".join(marks.get(row["id"], []))))
        table.add_row(*cells)
    console.print(table)
    hidden = len(comparison.table) - len(shown)
    if hidden:
        console.print(f"[dim]{hidden} unchanged benchmark(s) not listed (--all lists them)[/]")
    scaling = comparison.scaling()
    for r in scaling.itertuples(index=False):
        if hidden and not r.grew:
            continue
        style = "bold red" if r.grew else "dim"
        console.print(f"[{style}]scaling {esc(f'{r.benchmark} ({r.param})')}: k = {r.text}[/]")
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
