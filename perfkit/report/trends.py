"""Trends: what the history store says over commits, for the ``06_trends`` notebook and
the report's "Trends" section.

Reads the store (never creates one: no history, no section), detects with
`perfkit.analysis.trends`, draws with `perfkit.render.trend_plot`. Thin on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perfkit.analysis.trends import DEFAULT_ALERT_THRESHOLD, Change, all_changes
from perfkit.config.project import load_config, project_config
from perfkit.errors import PerfkitError
from perfkit.render.format import format_change, format_ratio_ci

CHANGE_COLUMNS = [
    "benchmark", "series", "machine", "between commits", "change", "ratio 95 % CI",
    "p-value", "runs before → after", "status",
]  # fmt: skip


@dataclass(frozen=True)
class TrendsView:
    """The series a pattern names, in commit order, and their detected changes."""

    where: str
    pattern: str
    points: pd.DataFrame
    changes: list[Change] = field(default_factory=list)
    threshold: float = DEFAULT_ALERT_THRESHOLD
    problem: str | None = None  # why there is no history, when there is none

    @property
    def series(self) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
        from perfkit.history.query import iter_series

        return list(iter_series(self.points))

    def _repr_markdown_(self) -> str:
        if self.problem:
            return f"**No history:** {self.problem}"
        alerts = sum(1 for c in self.changes if c.is_alert(self.threshold))
        return (
            f"**{len(self.series)} series** for `{self.pattern}` in `{self.where}`: "
            f"{len(self.points)} runs, {len(self.changes)} change(s), "
            f"{alerts} unacknowledged regression(s) at a head (threshold {self.threshold:.0%})."
        )


def open_trends(
    benchmark: str = "*",
    series: str | None = None,
    machine: str | None = None,
    since: str | None = None,
    db: str | None = None,
    threshold: float = DEFAULT_ALERT_THRESHOLD,
    config: str | Path | None = None,
) -> TrendsView:
    """Series and changes of `benchmark` (id, bare name or glob) from the store."""
    from perfkit.history.query import load_series
    from perfkit.history.store import open_store, resolve_db

    acks = (load_config(Path(config)) if config else project_config()).acknowledged
    try:
        with open_store(db, create=False) as store:
            points = load_series(store, benchmark, series, machine, since)
            where = store.where
    except PerfkitError as exc:
        return TrendsView(resolve_db(db), benchmark, pd.DataFrame(), problem=str(exc))
    if points.empty:
        return TrendsView(where, benchmark, points, problem=f"no runs of {benchmark!r} in {where}")
    return TrendsView(where, benchmark, points, all_changes(points, acknowledged=acks), threshold)


def changes_frame(view: TrendsView) -> pd.DataFrame:
    """The table of changes: between which commits, by how much, how sure, status."""
    from perfkit.render.trends import commits_text, status_text

    rows = [
        [
            c.benchmark_id,
            c.series,
            c.machine_id,
            commits_text(c),
            format_change(c.ratio),
            format_ratio_ci(c.ci_low, c.ci_high),
            f"{c.p_value:.1g}",
            f"{c.n_before} → {c.n_after}",
            status_text(c, view.threshold),
        ]
        for c in view.changes
    ]
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def trend_figure(view: TrendsView, out_dir: str | Path | None = None, max_series: int = 12):
    """Each series (the first `max_series`) with per-run CIs and its steps marked; with
    `out_dir`, saved as ``figures/trends.png`` there and shown as that image."""
    from perfkit.render.trend_plot import trend_figure as draw
    from perfkit.report.artifacts import ReportFiles

    figure = draw(view.series[:max_series], view.changes)
    if out_dir is None:
        return figure
    return ReportFiles(Path(out_dir)).save_figure(figure, "trends", f"trends of {view.pattern}")


def trends_rows(benchmark_ids: list[str], db: str | None = None) -> list[dict]:
    """One row per series of the report's benchmarks: runs, latest step, status; [] without history."""
    rows = []
    for benchmark_id in benchmark_ids:
        view = open_trends(benchmark_id, db=db)
        if view.problem:
            continue
        for (bid, name, machine), points in view.series:
            own = [
                c
                for c in view.changes
                if (c.benchmark_id, c.series, c.machine_id) == (bid, name, machine)
            ]
            last = own[-1] if own else None
            rows.append(
                {
                    "benchmark": bid,
                    "series": name,
                    "machine": machine,
                    "runs": len(points),
                    "changes": len(own),
                    "latest": (
                        f"{format_change(last.ratio)} at {(last.after_sha or last.after_run)[:10]}"
                        if last
                        else "no step"
                    ),
                    "alert": bool(last and last.is_alert(view.threshold)),
                }
            )
    return rows
