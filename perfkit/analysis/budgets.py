"""Budgets: declared limits (decorator, then ``perfkit.toml``) checked against a run.

A time budget is met when the upper CI bound of the median is under it, never on
one timing; a memory budget when the peak RSS is under it. Reads a Run, writes nothing.
"""

from __future__ import annotations

import math

import pandas as pd

from perfkit.analysis.stats import memory_peaks, timing_summary, with_ids
from perfkit.collect.suite import split_case_id
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.config.project import ProjectConfig, project_config
from perfkit.render.format import format_bytes, format_seconds
from perfkit.rundir import Run

COLUMNS = ["id", "target", "kind", "budget", "budget_text", "measured", "met", "mark", "status"]
# Words, not emoji: headless browsers without an emoji font draw ✅/❌ as empty boxes.
MARKS = {"met": "met", "missed": "missed", "unmeasured": "–"}


def declared_budgets(run: Run, config: ProjectConfig | None = None) -> pd.DataFrame:
    """Per case: time and memory budgets (``perfkit.toml`` entries override the decorator)."""
    if config is None:
        config = project_config(run.meta.get("suite"))
    cases = run.cases
    if not run.samples.empty:
        for full_id in with_ids(run.samples)["id"].unique():
            cases.setdefault(str(full_id), {})
    rows = []
    for full_id, case in cases.items():
        name = case.get("name") or split_case_id(full_id)[0]
        seconds = case.get("budget_seconds")
        nbytes = case.get("memory_budget_bytes")
        seconds_text = format_seconds(seconds) if seconds is not None else None
        bytes_text = format_bytes(nbytes) if nbytes is not None else None
        time_rule, memory_rule = config.budget_for(full_id, name)
        if time_rule is not None:
            seconds, seconds_text = time_rule.seconds, time_rule.seconds_text
        if memory_rule is not None:
            nbytes, bytes_text = memory_rule.bytes, memory_rule.bytes_text
        if seconds is not None:
            rows.append(
                {"id": full_id, "kind": "time", "budget": float(seconds), "text": seconds_text}
            )
        if nbytes is not None:
            rows.append(
                {"id": full_id, "kind": "memory", "budget": float(nbytes), "text": bytes_text}
            )
    return pd.DataFrame(rows, columns=["id", "kind", "budget", "text"])


def check_budgets(
    run: Run,
    label: str | None = None,
    *,
    config: ProjectConfig | None = None,
    stats: StatsConfig = DEFAULT_STATS,
    timing: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (id, target, kind) with a budget: the measurement and its mark.

    ``status`` is met, missed, or unmeasured (no CI / no memory pass: neither
    met nor missed; ``met`` is then False and ``mark`` is "–").
    """
    budgets = declared_budgets(run, config)
    if budgets.empty:
        return pd.DataFrame(columns=COLUMNS)
    targets = [label] if label is not None else run.targets
    timing = timing_summary(run, stats) if timing is None else timing
    time_upper = {(r.id, r.target): r.ci_high_seconds for r in timing.itertuples(index=False)}
    peaks = {}
    if (budgets["kind"] == "memory").any():
        peaks = {
            (r.id, r.target): float(r.peak_rss_bytes)
            for r in memory_peaks(run).itertuples(index=False)
        }
    rows = []
    for budget in budgets.itertuples(index=False):
        for target in targets:
            source = time_upper if budget.kind == "time" else peaks
            measured = float(source.get((budget.id, target), math.nan))
            if not math.isfinite(measured):
                status = "unmeasured"
            else:
                status = "met" if measured < budget.budget else "missed"
            rows.append(
                {
                    "id": budget.id,
                    "target": target,
                    "kind": budget.kind,
                    "budget": budget.budget,
                    "budget_text": budget.text,
                    "measured": measured,
                    "met": status == "met",
                    "mark": MARKS[status],
                    "status": status,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def measured_text(kind: str, value: float) -> str:
    """A budget measurement with its unit ("1.2 s", "310 MB")."""
    return format_seconds(value) if kind == "time" else format_bytes(value)
