"""What `perfkit run` says when it ends: verdicts or medians, failures, the next command.

Reads the finished run directory (never the scheduler's state) and prints on the given
console, which `perfkit run` points at stderr: stdout stays the run directory alone, so
``run=$(perfkit run ... | tail -n 1)`` keeps working. Two targets get `perfkit compare`'s
verdict table (baseline = the first target, or the one labelled ``baseline``); one target,
or three and more, the per-benchmark medians per target.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.errors import PerfkitError
from perfkit.rundir import load_run

if TYPE_CHECKING:
    from rich.console import Console

    from perfkit.rundir import Run

MAX_FAILURES_LISTED = 10


def print_run_summary(path: Path, console: Console) -> None:
    """Print the end-of-run summary of the run directory at `path` on `console`."""
    from rich.markup import escape as esc

    run = load_run(path)
    labels = list(run.targets)
    if len(labels) == 2 and not run.samples.empty:
        _verdicts(run, labels, console)
    elif not run.samples.empty:
        _medians(run, labels, console)
    _failures(run, console)
    console.print(f"next: [bold]perfkit report {esc(run.id)}[/]", highlight=False)
    if len(labels) == 2:
        console.print(f"      perfkit compare {esc(run.id)}", highlight=False)


def _verdicts(run: Run, labels: list[str], console: Console) -> None:
    from perfkit.analysis.comparison import compare
    from perfkit.commands.compare import render

    base = "baseline" if "baseline" in labels else labels[0]
    cur = next(label for label in labels if label != base)
    try:
        comparison = compare(run, baseline_label=base, current_label=cur)
    except PerfkitError:
        _medians(run, labels, console)  # nothing in common to compare: medians say enough
        return
    render(comparison, comparison.budgets(), console)


def _medians(run: Run, labels: list[str], console: Console) -> None:
    from rich.markup import escape as esc
    from rich.table import Table

    from perfkit.analysis.stats import worker_medians
    from perfkit.render.format import format_seconds

    medians = worker_medians(run.samples)
    per_case = medians.groupby(["id", "target"], sort=False)["median_seconds"].median()
    table = Table(title=esc(f"{run.id}: median time per call"), title_justify="left")
    table.add_column("benchmark")
    for label in labels:
        table.add_column(esc(label), justify="right")
    for cid in dict.fromkeys(medians["id"]):
        cells = [esc(cid)]
        for label in labels:
            value = per_case.get((cid, label))
            cells.append("–" if value is None else format_seconds(float(value)))
        table.add_row(*cells)
    console.print(table)


def _failures(run: Run, console: Console) -> None:
    from rich.markup import escape as esc

    from perfkit.analysis.stats import with_ids

    if run.failures.empty:
        return
    failures = with_ids(run.failures).drop_duplicates(["id", "target", "kind"])
    console.print(f"[bold red]{len(failures)} failed:[/]")
    for row in failures.head(MAX_FAILURES_LISTED).itertuples(index=False):
        console.print(esc(f"  {row.id} @{row.target}: {row.kind}: {row.message}"), highlight=False)
    if len(failures) > MAX_FAILURES_LISTED:
        console.print(f"  … and {len(failures) - MAX_FAILURES_LISTED} more in failures.csv")
