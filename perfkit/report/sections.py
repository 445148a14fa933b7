"""One function per report section: analysis tables in, the `DisplayTable` a reader sees out.

The notebook views (perfkit.report.views) and the markdown report (perfkit.report.document)
both show these tables, so a section reads the same in both. Every number is formatted by
perfkit.render.format; nothing here computes statistics or writes files.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from perfkit.analysis.budgets import measured_text
from perfkit.render.format import (
    MISSING,
    format_bytes,
    format_count,
    format_estimate_ci,
    format_ratio_ci,
    format_seconds,
    format_seconds_ci,
    format_share,
    format_signed_seconds,
)
from perfkit.report.markdown import md_code
from perfkit.report.table import DisplayTable, Marked

GROWTH_SITES = 3  # growing allocation sites named per leak in the memory table


def _table(
    rows: list[dict[str, Any]], columns: list[str], align: str, **kinds: Any
) -> DisplayTable:
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return DisplayTable(
        frame, align, frozenset(kinds.get("code", ())), frozenset(kinds.get("text", ()))
    )


def comparison_table(table: pd.DataFrame) -> DisplayTable:
    """Every benchmark compared: medians, the change in words, the ratio's CI, the verdict."""
    memory = "memory_ratio" in table.columns
    rows = [
        {
            "Benchmark": r["id"],
            "Baseline": format_seconds(r["baseline_median_seconds"]),
            "Current": format_seconds(r["current_median_seconds"]),
            "Change": r["change_text"],
            "Ratio 95 % CI": format_ratio_ci(r["ci_low"], r["ci_high"]),
            "Verdict": r["verdict"],
            "Peak RSS": f"{format_bytes(r['baseline_peak_rss_bytes'])} → "
            f"{format_bytes(r['current_peak_rss_bytes'])}"
            if memory and r["memory_ratio"] == r["memory_ratio"]
            else MISSING,
        }
        for r in table.to_dict("records")
    ]
    columns = ["Benchmark", "Baseline", "Current", "Change", "Ratio 95 % CI", "Verdict", "Peak RSS"]
    return _table(rows, columns, "lrrllll", code=["Benchmark"])


def folded_table(table: pd.DataFrame) -> DisplayTable:
    """The benchmarks a large report folds away: change, ratio CI and verdict, one line each."""
    rows = [
        {
            "Benchmark": r["id"],
            "Change": r["change_text"],
            "Ratio 95 % CI": format_ratio_ci(r["ci_low"], r["ci_high"]),
            "Verdict": r["verdict"],
        }
        for r in table.to_dict("records")
    ]
    return _table(
        rows, ["Benchmark", "Change", "Ratio 95 % CI", "Verdict"], "lrll", code=["Benchmark"]
    )


def timing_table(timing: pd.DataFrame) -> DisplayTable:
    """One run's timings: median, its CI, spread and workers per benchmark and target.

    `timing`: `perfkit.analysis.stats.timing_summary` rows with a ``series`` column.
    """
    rows = [
        {
            "Benchmark": r.id,
            "Target": r.series,
            "Median": format_seconds(r.median_seconds),
            "95 % CI": format_seconds_ci(r.ci_low_seconds, r.ci_high_seconds),
            "CV": format_share(r.cv, 1),
            "Workers": str(r.n_workers),
        }
        for r in timing.itertuples(index=False)
    ]
    columns = ["Benchmark", "Target", "Median", "95 % CI", "CV", "Workers"]
    return _table(rows, columns, "llrlrr", code=["Benchmark", "Target"])


def budgets_table(budgets: pd.DataFrame) -> DisplayTable:
    """`perfkit.analysis.budgets.check_budgets` rows: budget, measured, met."""
    rows = [
        {
            "Benchmark": b.id,
            "Target": b.target,
            "Kind": b.kind,
            "Budget": b.budget_text,
            "Measured": measured_text(b.kind, b.measured) if math.isfinite(b.measured) else MISSING,
            "Met": b.mark,
        }
        for b in budgets.itertuples(index=False)
    ]
    columns = ["Benchmark", "Target", "Kind", "Budget", "Measured", "Met"]
    return _table(rows, columns, "lllrrc", code=["Benchmark", "Target"])


def culprits_table(culprits: pd.DataFrame) -> DisplayTable:
    """Own-code culprits (`ReportData.culprits`): change per scenario call, its CI over
    profiling workers, and the changed call sites that explain it."""
    rows = [
        {
            "Function": c.name,
            "Where": f"{c.file}:{c.line}",
            "Change per call": format_signed_seconds(c.delta_seconds),
            "95 % CI": f"{format_signed_seconds(c.ci_low)} … {format_signed_seconds(c.ci_high)}"
            if c.ci_low != c.ci_high
            else MISSING,
            "Why": c.why or MISSING,
        }
        for c in culprits.itertuples(index=False)
    ]
    columns = ["Function", "Where", "Change per call", "95 % CI", "Why"]
    return _table(rows, columns, "llrrl", code=["Function", "Where"], text=["Why"])


def profile_diff_table(diff: pd.DataFrame, n: int) -> DisplayTable:
    """The `n` biggest changes of own time per call, baseline → current."""
    rows = [
        {
            "Function": c.function,
            "Where": f"{c.file}:{c.line}",
            "Own time, baseline": format_seconds(c.baseline_tottime_seconds),
            "Own time, current": format_seconds(c.current_tottime_seconds),
            "Change": format_signed_seconds(c.delta_tottime_seconds),
            "Status": c.status,
        }
        for c in diff.head(n).itertuples(index=False)
    ]
    columns = ["Function", "Where", "Own time, baseline", "Own time, current", "Change", "Status"]
    return _table(rows, columns, "llrrrl", code=["Function", "Where"])


def top_functions_table(top: pd.DataFrame) -> DisplayTable:
    """`ReportData.top_functions` rows: calls, own and cumulative time per scenario call."""
    rows = [
        {
            "Function": r["function"],
            "Where": r["where"],
            "Calls": format_count(r["calls per scenario call"]),
            "Own time": format_seconds(r["own time per call"]),
            "Cumulative": format_seconds(r["cumulative per call"]),
        }
        for r in top.to_dict("records")
    ]
    columns = ["Function", "Where", "Calls", "Own time", "Cumulative"]
    return _table(rows, columns, "llrrr", code=["Function", "Where"])


def _sites(row: dict[str, Any]) -> Marked:
    if not row["leak"]:
        return Marked("", "")
    sites = list(row["top_growth_sites"])[:GROWTH_SITES]
    grew = [f"+{format_bytes(s['size_bytes'])}" for s in sites]
    return Marked(
        ", ".join(f"{s['site']} ({g})" for s, g in zip(sites, grew, strict=True)),
        ", ".join(f"{md_code(s['site'])} ({g})" for s, g in zip(sites, grew, strict=True)),
    )


def memory_table(memory: pd.DataFrame, ids: list[str]) -> DisplayTable:
    """Memory added above the worker's start, Python peak, peak RSS, growth and the leak
    verdict per benchmark (in `ids` order) and side.

    `memory`: `perfkit.analysis.memory.memory_summary` rows with ``side`` and ``series``.
    """
    if not memory.empty:
        order = {cid: i for i, cid in enumerate(ids)}
        memory = memory.assign(_order=memory["id"].map(order).fillna(len(order))).sort_values(
            ["_order", "side"], kind="stable"
        )
    rows = [
        {
            "Benchmark": r["id"],
            "Target": r["series"],
            "Above start": format_bytes(r.get("peak_above_baseline_bytes")),
            "Python peak": format_bytes(r["py_peak_bytes"]),
            "Peak RSS": format_bytes(r["peak_rss_bytes"]),
            "Growth": r.get("growth_text", ""),
            "Leak": "leak" if r["leak"] else "no",
            "Top growing sites": _sites(r),
        }
        for r in memory.to_dict("records")
    ]
    # What the benchmark added leads; the absolute peak (mostly the interpreter) is context.
    columns = ["Benchmark", "Target", "Above start", "Python peak", "Peak RSS", "Growth", "Leak",
               "Top growing sites"]  # fmt: skip
    return _table(rows, columns, "llrrrlcl", code=["Benchmark", "Target"], text=["Growth"])


def scaling_table(change: pd.DataFrame | None, fits: pd.DataFrame) -> DisplayTable:
    """k baseline → current with the flag when k grew, else each side's fitted k.

    `change`: `Comparison.scaling()` (None for one side); `fits`: `fit_scaling` rows
    with a ``series`` column.
    """
    if change is not None and not change.empty:
        rows = [
            {
                "Benchmark": s.benchmark,
                "Size": s.param,
                "k baseline [95 % CI]": format_estimate_ci(
                    s.k_baseline, s.k_baseline_ci_low, s.k_baseline_ci_high
                ),
                "k current [95 % CI]": format_estimate_ci(
                    s.k_current, s.k_current_ci_low, s.k_current_ci_high
                ),
                "Change": s.text,
                "": "⚠ grew" if s.grew else "",
            }
            for s in change.itertuples(index=False)
        ]
        columns = ["Benchmark", "Size", "k baseline [95 % CI]", "k current [95 % CI]", "Change", ""]
        return _table(rows, columns, "llrrll", code=["Benchmark", "Size"])
    rows = [
        {
            "Benchmark": f.benchmark,
            "Size": f.param,
            "Target": f.series,
            "k [95 % CI]": format_estimate_ci(f.k, f.k_ci_low, f.k_ci_high),
        }
        for f in fits.itertuples(index=False)
    ]
    return _table(rows, ["Benchmark", "Size", "Target", "k [95 % CI]"], "lllr",
                  code=["Benchmark", "Size", "Target"])  # fmt: skip


def monitor_table(monitor: pd.DataFrame, target: str = "series") -> DisplayTable:
    """The application's own figures (perfkit.monitor): API time and calls, cache, network.

    `monitor`: `perfkit.analysis.monitor.monitor_summary` rows; `target` names the column
    that tells the targets apart (``series`` in a report, ``target`` for one run).
    """
    rows = [
        {
            "Benchmark": r["id"],
            "Target": r[target],
            "API time per call": format_seconds(r["api_seconds_per_call"]),
            "API calls per call": format_count(r["api_calls_per_call"]),
            "Cache hit rate": format_share(r["cache_hit_rate"]),
            "Network share": format_share(r["network_share"]),
        }
        for r in monitor.to_dict("records")
    ]
    columns = ["Benchmark", "Target", "API time per call", "API calls per call", "Cache hit rate",
               "Network share"]  # fmt: skip
    return _table(rows, columns, "llrrrr", code=["Benchmark", "Target"])
