"""Budgets: the limits a run recorded (decorator, then ``perfkit.toml``) checked against it.

A time budget is met when the upper CI bound of the median is under it, never on
one timing; a memory budget when the peak RSS is under it. Reads a Run, writes nothing.
"""

from __future__ import annotations

import math

import pandas as pd

from perfkit.analysis.stats import memory_peaks, timing_summary, with_ids
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.config.project import ProjectConfig, case_budgets, project_config
from perfkit.render.format import format_bytes, format_seconds
from perfkit.rundir import Run
from perfkit.rundir.ids import split_case_id
from perfkit.rundir.schema import CaseRecord

COLUMNS = ["id", "target", "kind", "budget", "budget_text", "measured", "met", "mark", "status"]
# Words, not emoji: headless browsers without an emoji font draw ✅/❌ as empty boxes.
MARKS = {"met": "met", "missed": "missed", "unmeasured": "–"}


def budgets_note(run: Run) -> str | None:
    """Why a run's budgets come from today's ``perfkit.toml`` (None when it recorded its own)."""
    if run.info.budgets is not None:
        return None
    return (
        f"run {run.id} recorded no budgets (made by an older perfkit): "
        "judged by the decorators and today's perfkit.toml"
    )


def declared_budgets(run: Run, config: ProjectConfig | None = None) -> pd.DataFrame:
    """Per case: time and memory budgets, as the run recorded them when it was made.

    With an explicit `config`, or for a run that recorded none (see `budgets_note`), the
    budgets are worked out now: a ``perfkit.toml`` entry over the decorator's.
    """
    if config is None and run.info.budgets is not None:
        records = run.info.budgets
    else:
        if config is None:
            config = project_config(run.info.suite)
        cases = run.cases
        if not run.samples.empty:
            for full_id in with_ids(run.samples)["id"].unique():
                name = split_case_id(str(full_id))[0]
                cases.setdefault(str(full_id), CaseRecord(id=str(full_id), name=name))
        records = case_budgets(cases.values(), config)
    rows = [{"id": r.id, "kind": r.kind, "budget": float(r.limit), "text": r.text} for r in records]
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
    note = budgets_note(run) if config is None else None
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
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if note:
        frame.attrs["note"] = note
    return frame


def measured_text(kind: str, value: float) -> str:
    """A budget measurement with its unit ("1.2 s", "310 MB")."""
    return format_seconds(value) if kind == "time" else format_bytes(value)
