"""`perfkit show`: one run per benchmark and target: timing, budgets, memory, failures.

Reads a run through the analysis functions and prints them (or writes JSON);
computes nothing of its own.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.analysis.stats import SUMMARY_COLUMNS
from perfkit.render.terminal import table_console
from perfkit.rundir import DEFAULT_RUNS_DIR, Run

TIMING_KEYS = SUMMARY_COLUMNS[4:]  # the timing figures of one benchmark and target


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="summarise one run: timings, budgets, memory, failures")
    p.add_argument("run_ref", metavar="RUN", help="run id, run dir, or 'latest'")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the summary as JSON")
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _memory_table(run: Run) -> pd.DataFrame | None:
    """`perfkit.analysis.memory.memory_summary(run)`, or None when that module is not there."""
    try:
        from perfkit.analysis.memory import memory_summary
    except ImportError:
        return None
    table = memory_summary(run)
    return None if table is None or table.empty else table


def show_data(run: Run) -> dict[str, Any]:
    """The JSON shape: {"run": {...}, "benchmarks": {id: {target: {timing, memory, budget,
    failures}}}}; memory and budget are null when not recorded / not declared."""
    from perfkit.analysis.budgets import check_budgets
    from perfkit.analysis.stats import timing_summary, with_ids

    timing = timing_summary(run)
    budgets = check_budgets(run, timing=timing)
    memory = _memory_table(run)
    failures = with_ids(run.failures) if not run.failures.empty else None
    benchmarks: dict[str, dict[str, Any]] = {}

    def entry(cid: str, target: str) -> dict[str, Any]:
        per = benchmarks.setdefault(cid, {})
        return per.setdefault(
            target, {"timing": None, "memory": None, "budget": None, "failures": []}
        )

    for row in timing.to_dict("records"):
        entry(row["id"], row["target"])["timing"] = {k: _clean(row[k]) for k in TIMING_KEYS}
    if memory is not None:
        for row in memory.to_dict("records"):
            skip = {"id", "target", "benchmark", "params"}
            entry(row["id"], row["target"])["memory"] = {
                k: _clean(v) for k, v in row.items() if k not in skip
            }
    for row in budgets.to_dict("records"):
        slot = entry(row["id"], row["target"])
        slot["budget"] = slot["budget"] or {}
        slot["budget"][row["kind"]] = {
            "budget": _clean(row["budget"]),
            "budget_text": row["budget_text"],
            "measured": _clean(row["measured"]),
            "met": bool(row["met"]),
            "mark": row["mark"],
            "status": row["status"],
        }
    if failures is not None:
        for row in failures.to_dict("records"):
            entry(row["id"], row["target"])["failures"].append(
                {"worker": _clean(row["worker"]), "kind": row["kind"], "message": row["message"]}
            )
    info = run.info
    return {
        "run": {
            "id": run.id,
            "path": str(run.path),
            "created": info.created,
            "finished": info.finished,
            "status": info.status,
            "suite": info.suite,
            "interleaved": info.interleaved,
            "targets": {label: t.to_json() for label, t in info.targets.items()},
            "host": info.host,
            "python": info.python,
            "options": info.options,
        },
        "benchmarks": benchmarks,
    }


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from perfkit.render.format import (
        format_bytes,
        format_seconds,
        format_seconds_ci,
        format_share,
    )
    from perfkit.rundir import atomic_write_json, load_run

    loaded = load_run(args.run_ref, args.runs_dir)
    data = show_data(loaded)
    console = table_console()
    info = data["run"]
    table = Table(
        title=escape(f"run {info['id']} ({info['status']}, {info['created']})"),
        title_justify="left",
    )
    order = {label: i for i, label in enumerate(loaded.targets)}
    rows = []
    for cid, per_target in data["benchmarks"].items():
        for target in sorted(per_target, key=lambda label: order.get(label, len(order))):
            slot = per_target[target]
            t = slot["timing"] or {}
            ci = format_seconds_ci(t.get("ci_low_seconds"), t.get("ci_high_seconds"))
            memory = slot["memory"] or {}
            budget = slot["budget"] or {}
            rows.append(
                {
                    "benchmark": cid,
                    "target": target,
                    "median": format_seconds(t.get("median_seconds")),
                    "95% CI": ci,
                    "min": format_seconds(t.get("min_seconds")),
                    "IQR": format_seconds(t.get("iqr_seconds")),
                    "CV": format_share(t.get("cv"), 1),
                    "workers": str(t.get("n_workers", 0)),
                    "samples": str(t.get("n_samples", 0)),
                    # What the benchmark added leads; the absolute peak is context.
                    "memory added": f"+{format_bytes(memory.get('peak_above_baseline_bytes'))}"
                    if memory
                    else "",
                    "Python peak": format_bytes(memory.get("py_peak_bytes")) if memory else "",
                    "peak RSS": format_bytes(memory.get("peak_rss_bytes")) if memory else "",
                    "budget": "  ".join(
                        f"{b['mark']} {kind} < {b['budget_text']}" for kind, b in budget.items()
                    ),
                    "failures": "; ".join(
                        f"{f['kind']}: {f['message']}" for f in slot["failures"][:1]
                    ),
                }
            )
    optional = {
        "memory added",
        "Python peak",
        "peak RSS",
        "budget",
        "failures",
    }  # shown only when some row has one
    columns = [c for c in rows[0] if c not in optional or any(r[c] for r in rows)] if rows else []
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("benchmark", "target", "budget", "failures") else "right",
        )
    for row in rows:
        table.add_row(*(Text(row[c]) for c in columns))
    console.print(table)
    if args.json:
        atomic_write_json(args.json, data)
        console.print(escape(f"wrote {args.json}"))
    return 0
