"""Text of history: the series table and the changes table for the terminal, and the
alert summary as markdown (a pull-request comment) or JSON. Data in, text or tables out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pandas as pd
from rich.markup import escape
from rich.table import Table

from perfkit.analysis.trends import DEFAULT_ALERT_THRESHOLD, Change
from perfkit.render.format import format_change, format_ratio_ci, format_seconds, format_seconds_ci


def short(sha: object) -> str:
    return str(sha)[:10] if isinstance(sha, str) and sha else "–"


def commits_text(change: Change) -> str:
    return f"{short(change.before_sha)}..{short(change.after_sha)}"


def sureness(p_value: float) -> str:
    if p_value < 1e-6:
        return "p < 1e-6"
    return f"p = {p_value:.1g}"


def series_table(title: str, points: pd.DataFrame, changes: Sequence[Change]) -> Table:
    """One series: a row per run with its CI; a change marks the first run after a step."""
    starts = {c.index: c for c in changes}
    table = Table(title=escape(title), title_justify="left")
    for column in ("#", "commit", "when", "run", "median", "95 % CI", "workers", "change"):
        table.add_column(column, justify="right" if column in ("#", "workers") else "left")
    for i, row in enumerate(points.itertuples()):
        change = starts.get(i)
        low, high = row.ci_low_seconds, row.ci_high_seconds
        ci = format_seconds_ci(low, high) if _finite(low) and _finite(high) else "–"
        mark = ""
        if change is not None:
            colour = "red" if change.ratio > 1 else "green"
            mark = f"[{colour}]◆ {format_change(change.ratio)}[/]"
        table.add_row(
            str(i + 1),
            short(row.git_sha),
            str(row.commit_time or row.created or "")[:19],
            str(row.run_id),
            format_seconds(row.median_seconds),
            ci,
            str(row.n_workers),
            mark,
        )
    return table


def changes_table(changes: Sequence[Change], threshold: float = DEFAULT_ALERT_THRESHOLD) -> Table:
    table = Table(title="detected changes", title_justify="left")
    for column in ("benchmark", "series", "commits", "change", "95 % CI", "sure", "runs", "status"):
        table.add_column(column)
    for c in changes:
        table.add_row(
            escape(c.benchmark_id),
            escape(c.series),
            commits_text(c),
            format_change(c.ratio),
            format_ratio_ci(c.ci_low, c.ci_high),
            sureness(c.p_value),
            f"{c.n_before} → {c.n_after}",
            status_text(c, threshold),
        )
    return table


def status_text(change: Change, threshold: float = DEFAULT_ALERT_THRESHOLD) -> str:
    shared = ", shared by the suite" if change.shared else ""
    kind = change.kind(threshold)
    if change.acknowledged:
        return f"{kind}{shared}, acknowledged: {change.acknowledged}"
    if change.is_alert(threshold):
        return f"ALERT: regression at head{shared}"
    return kind + shared + (" (at head)" if change.at_head else "")


def check_markdown(changes: Sequence[Change], threshold: float, n_series: int, where: str) -> str:
    """The PR-comment summary of ``perfkit history --check``."""
    alerts = [c for c in changes if c.is_alert(threshold)]
    acked = [c for c in changes if c.at_head and c.acknowledged]
    lines = ["## perfkit: performance over time", ""]
    if alerts:
        lines.append(
            f"**{len(alerts)} regression(s)** beyond {threshold:.0%} at the head of "
            f"{n_series} series ({where}):"
        )
    else:
        lines.append(f"No new regression beyond {threshold:.0%} in {n_series} series ({where}).")
    rows = alerts + acked
    shared = {commits_text(c): c for c in rows if c.shared}
    for commits, c in shared.items():
        moved = [r for r in changes if r.shared and commits_text(r) == commits]
        lines.append(
            f"- `{commits}`: {len(moved)} benchmark(s) of series {c.series} stepped in the "
            "same run, a change of the whole suite (the interpreter, a shared dependency, "
            "or the machine itself)."
        )
    if rows:
        lines += [
            "",
            "| benchmark | series | between commits | change | 95 % CI | how sure | status |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in rows:
            status = f"acknowledged: {c.acknowledged}" if c.acknowledged else "**regression**"
            status += ", shared by the suite" if c.shared else ""
            lines.append(
                f"| `{c.benchmark_id}` | {c.series} | `{commits_text(c)}` | "
                f"{format_change(c.ratio)} | {format_ratio_ci(c.ci_low, c.ci_high)} | "
                f"{sureness(c.p_value)} | {status} |"
            )
    if alerts:
        lines += [
            "",
            "Accept a change on purpose by adding its commit to `perfkit.toml`:",
            "",
            "```toml",
            "[acknowledged]",
            f'"{short(alerts[0].after_sha)}" = "why this slowdown is accepted"',
            "```",
        ]
    return "\n".join(lines) + "\n"


def check_json(changes: Sequence[Change], threshold: float, n_series: int) -> str:
    alerts = [c for c in changes if c.is_alert(threshold)]
    return (
        json.dumps(
            {
                "threshold": threshold,
                "series": n_series,
                "alerts": [c.to_json(threshold) for c in alerts],
                "changes": [c.to_json(threshold) for c in changes],
            },
            indent=2,
        )
        + "\n"
    )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
