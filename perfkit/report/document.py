"""Rendering ``performance_report.md`` (a jinja2 template in perfkit/report/templates) and its
self-contained HTML twin from the `ReportData` tables and the figures notebooks saved.

Builds plain dicts for the template and writes the two files; computes no statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from perfkit import __version__
from perfkit.analysis import triage
from perfkit.analysis.comparison import (
    INTERVAL_INDEPENDENT,
    INTERVAL_PAIRED,
    INTERVAL_SEQUENTIAL,
)
from perfkit.render.format import format_bytes, format_ratio_ci, format_seconds
from perfkit.report import sections
from perfkit.report.artifacts import COMPARISON_JSON
from perfkit.report.data import ReportData
from perfkit.report.markdown import markdown_to_html, md_code, md_text
from perfkit.report.recommend import recommendations
from perfkit.report.table import DisplayTable
from perfkit.rundir import atomic_write_text

MARKDOWN_NAME = "performance_report.md"
HTML_NAME = "performance_report.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"
CULPRITS = 5  # rows of a culprit table
CULPRIT_LINES = 3  # culprits named in words per regression or improvement
FOLD_FROM = 50  # benchmarks; a larger comparison shows what changed and folds the rest
CHANGE_SECTIONS = 10  # regressions (and improvements) with a section of their own; the rest
# are in the Benchmarks table


def environment(rep: ReportData) -> list[dict[str, str]]:
    """Rows of the environment table: one field, one column per side."""
    sides = rep.environment()
    fields = [
        ("Run", lambda s: s["run"]),
        ("Target", lambda s: f"{s['label']} = {s['target']}" if s["target"] else s["label"]),
        ("Code (git)", lambda s: (s["git_sha"] or "–")[:12]),
        ("Created (UTC)", lambda s: s["created"] or "–"),
        ("Status", lambda s: s["status"] or "–"),
        ("Suite", lambda s: s["suite"] or "–"),
        ("Host", lambda s: s["host"] or "–"),
        ("CPU", lambda s: f"{s['cpu'] or '–'} ({s['cores'] or '?'} cores)"),
        ("Memory", lambda s: format_bytes(s["memory_bytes"]) if s["memory_bytes"] else "–"),
        ("OS", lambda s: s["os"] or "–"),
        ("Python", lambda s: s["python"] or "–"),
        ("Interpreter", lambda s: s["interpreter"] or "–"),
        ("Environment from", lambda s: s["env_file"] or "–"),
        ("perfkit", lambda s: s["perfkit"] or "–"),
        ("Workers × samples", lambda s: f"{s['workers'] or '?'} × {s['samples'] or '?'}"),
        ("Interleaved", lambda s: {True: "yes", False: "no"}.get(s["interleaved"], "–")),
    ]
    return [{"field": name, "values": [md_text(get(s)) for s in sides]} for name, get in fields]


def environment_changes(rep: ReportData) -> dict[str, Any] | None:
    """What differs between the sides' environments: lines in words and a package table."""
    diff = rep.environment_changes()
    if diff is None or diff.same:
        return None
    return {
        "lines": [md_text(line) for line in diff.lines(limit=5)],
        "packages": [
            {
                "name": md_text(p.name),
                "baseline": md_text(p.baseline or "–"),
                "current": md_text(p.current or "–"),
                "change": p.kind,
            }
            for p in diff.packages
        ],
    }


def _changes(rep: ReportData, verdict: str) -> list[dict[str, Any]]:
    """Every benchmark with `verdict` (regression or improvement), biggest change first,
    with its culprits when both sides were profiled."""
    from perfkit.analysis.culprit_words import summary_lines

    if rep.table is None:
        return []
    figures = rep.files.figures()
    profiled = set(rep.profiled_ids())
    biggest_first = verdict != "regression"  # ascending ratio puts the biggest speed-up first
    rows = rep.table[rep.table["verdict"] == verdict].sort_values("ratio", ascending=biggest_first)
    if len(rows) > CHANGE_SECTIONS:  # a large suite: the profiled first, then the biggest
        rows = rows.assign(_unprofiled=~rows["id"].isin(profiled)).sort_values(
            "_unprofiled", kind="stable"
        )
        rows = rows.head(CHANGE_SECTIONS).drop(columns="_unprofiled")
    out = []
    for r in rows.itertuples(index=False):
        report = rep.culprit_report(r.id) if r.id in profiled else None
        out.append(
            {
                "id": md_code(r.id),
                "raw_id": r.id,
                "change": r.change_text,
                "ci": format_ratio_ci(r.ci_low, r.ci_high),
                "baseline": format_seconds(r.baseline_median_seconds),
                "current": format_seconds(r.current_median_seconds),
                "profiled": report is not None,
                "lines": summary_lines(report, CULPRIT_LINES, code=md_code) if report else [],
                "culprits": sections.culprits_table(rep.culprits(r.id, CULPRITS))
                if report is not None
                else None,
                "figures": [
                    f
                    for f in figures.values()
                    if f["section"] == "profiles" and f.get("benchmark") == r.id
                ],
            }
        )
    return out


def _breakdown(rep: ReportData, shown: list[dict[str, Any]], n: int = 10) -> dict | None:
    """The call-graph notebook's benchmark when no regression or improvement shows it: its
    top functions (one target) or its profile diff (a comparison)."""
    default = rep.focus_benchmark()
    drawn = [f.get("benchmark") for f in rep.files.figures().values() if f["section"] == "profiles"]
    focus = next((b for b in drawn if b), default)  # what the call-graph notebook looked at
    if focus is None or any(r["raw_id"] == focus for r in shown):
        return None
    if not rep.compared:
        return {
            "id": md_code(focus),
            "why": "the slowest profiled benchmark" if focus == default else "chosen",
            "table": sections.top_functions_table(rep.top_functions(focus, n)),
        }
    row = rep.table[rep.table["id"] == focus].iloc[0]
    return {
        "id": md_code(focus),
        "why": f"{row['change_text']}, {row['verdict']}; "
        + ("the largest change" if focus == default else "chosen"),
        "table": sections.profile_diff_table(rep.profile_diff(focus), n),
    }


def _large(rep: ReportData) -> bool:
    return rep.table is not None and len(rep.table) > FOLD_FROM


def _benchmarks(rep: ReportData) -> DisplayTable:
    """Every benchmark; in a large comparison only what changed, biggest first, by name."""
    if rep.table is None:
        return sections.timing_table(rep.timing)
    if not _large(rep):
        return sections.comparison_table(rep.table)
    groups = triage.change_groups(rep.table)
    order = [cid for ids in groups["ids"] for cid in ids]
    return sections.comparison_table(rep.table.set_index("id").loc[order].reset_index())


def _folded(rep: ReportData) -> dict[str, Any] | None:
    """The rest of a large comparison: a count per verdict and a compact table."""
    if not _large(rep):
        return None
    rest = triage.rest(rep.table)
    counts = rest["verdict"].value_counts()
    return {
        "summary": f"{len(rest)} other benchmark(s): "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()),
        "table": sections.folded_table(rest),
    }


def _measured(rep: ReportData) -> list[dict[str, str]]:
    """Per distinct run: the timing plan and the machine's load while timing."""
    from perfkit.analysis.measurement import load_text, plan_text

    runs = {side.run.id: side.run for side in rep.sides}
    return [
        {
            "run": md_code(run.id) if len(runs) > 1 else "",
            "plan": md_text(plan_text(run.info)),
            "load": md_text(load_text(run.info) or "not recorded"),
        }
        for run in runs.values()
    ]


def _summary(rep: ReportData) -> dict[str, Any]:
    budgets = rep.budgets
    memory = rep.memory
    summary: dict[str, Any] = {
        "budgets_total": int((budgets["status"] != "unmeasured").sum()) if not budgets.empty else 0,
        "budgets_missed": int((budgets["status"] == "missed").sum()) if not budgets.empty else 0,
        "leaks": int(memory["leak"].sum()) if not memory.empty else 0,
        "memory_measured": len(memory),
        "failures": len(rep.failures),
        "benchmarks": len(rep.ids),
    }
    summary["measured"] = _measured(rep)
    if rep.comparison is not None:
        s = rep.comparison.summary
        summary["verdicts"] = {
            k: s[k]
            for k in ("regression", "improvement", "slower", "faster", "unchanged", "inconclusive")
            if s.get(k)
        }
        gmean = s.get("geometric_mean_ratio")
        summary["gmean"] = (
            f"{gmean:.3f} ({s['geometric_mean_change_text']})"
            if gmean is not None and math.isfinite(gmean)
            else ""
        )
        summary["only_baseline"] = [md_code(i) for i in s.get("only_in_baseline", [])]
        summary["only_current"] = [md_code(i) for i in s.get("only_in_current", [])]
        change = rep.scaling_change
        summary["complexity"] = (
            []
            if change is None or change.empty or "shape_change" not in change
            else [
                f"{md_code(r.benchmark)} {md_text(r.text)} with {md_code(r.param)}"
                for r in change[change["shape_change"] != ""].itertuples(index=False)
            ]
        )
    return summary


@dataclass(frozen=True)
class NotebookLink:
    name: str
    ipynb: str
    html: str


def _trends(rep: ReportData) -> list[dict[str, Any]]:
    """The Trends section: each benchmark's series in the project's history store."""
    from perfkit.analysis.stats import with_ids
    from perfkit.report.trends import trends_rows

    ids: set[str] = set()
    for side in rep.sides:
        if not side.run.samples.empty:
            ids |= set(with_ids(side.run.samples[["benchmark", "params"]].drop_duplicates())["id"])
    rows = trends_rows(sorted(ids)) if ids else []
    return [
        {
            **row,
            "benchmark": md_code(row["benchmark"]),
            "series": md_code(row["series"]),
            "machine": md_code(row["machine"]),
            "latest": md_text(row["latest"]),
        }
        for row in rows
    ]


def _notebooks(rep: ReportData) -> list[NotebookLink]:
    notebooks_dir = rep.files.notebooks_dir
    if not notebooks_dir.is_dir():
        return []
    return [
        NotebookLink(p.stem, f"notebooks/{p.name}", f"notebooks/{p.stem}.html")
        for p in sorted(notebooks_dir.glob("*.ipynb"))
    ]


def _count(rep: ReportData, verdict: str) -> int:
    return 0 if rep.table is None else int((rep.table["verdict"] == verdict).sum())


# The footnote under the benchmarks table: what `Comparison.interval` means, in words.
RATIO_CI_WORDS = {
    INTERVAL_SEQUENTIAL: "the anytime-valid confidence sequence over paired rounds that the "
    "adaptive plan stopped on",
    INTERVAL_PAIRED: "a bootstrap over rounds (each round timed both targets)",
    INTERVAL_INDEPENDENT: "a bootstrap over workers",
}


def ratio_ci_words(rep: ReportData) -> str | None:
    """How the ratio CIs of this report were made (None without a comparison)."""
    if rep.comparison is None:
        return None
    return RATIO_CI_WORDS.get(rep.comparison.interval, rep.comparison.interval)


def report_context(rep: ReportData) -> dict[str, Any]:
    """Everything the template shows, formatted (markdown-safe) but not laid out."""
    figures = rep.files.figures()
    regressions = _changes(rep, "regression")
    improvements = _changes(rep, "improvement")
    shown = {f["file"] for r in (*regressions, *improvements) for f in r["figures"]}
    by_section: dict[str, list[dict[str, str]]] = {}
    for f in figures.values():
        if f["file"] not in shown:
            by_section.setdefault(f["section"], []).append(f)
    return {
        "title": md_text(rep.title),
        "compared": rep.compared,
        "ratio_ci": ratio_ci_words(rep),
        "sides": [md_code(s.ref) for s in rep.sides],
        "series": [md_code(s) for s in rep.series],
        "threshold": f"{rep.threshold:.0%}",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "summary": _summary(rep),
        "recommendations": [r.text for r in recommendations(rep)],
        "benchmarks": _benchmarks(rep),
        "folded": _folded(rep),
        "more_regressions": max(0, _count(rep, "regression") - len(regressions)),
        "more_improvements": max(0, _count(rep, "improvement") - len(improvements)),
        "budgets": sections.budgets_table(rep.budgets),
        "regressions": regressions,
        "improvements": improvements,
        "breakdown": _breakdown(rep, [*regressions, *improvements]),
        "memory": sections.memory_table(rep.memory, rep.ids),
        "scaling": sections.scaling_table(rep.scaling_change, rep.scaling_fits),
        "monitor": sections.monitor_table(rep.monitor),
        "environment": environment(rep),
        "trends": _trends(rep),
        "environment_changes": environment_changes(rep),
        "figures": by_section,
        "all_figures": list(figures.values()),
        "notebooks": _notebooks(rep),
        "comparison_json": COMPARISON_JSON if (rep.out_dir / COMPARISON_JSON).is_file() else None,
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # markdown: values are made safe by md_code / md_text
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["code"] = md_code
    env.filters["text"] = md_text
    env.filters["url"] = lambda path: quote(str(path))
    return env


def render_markdown(context: dict[str, Any], template: str = "performance_report.md.j2") -> str:
    """A markdown template of ``templates/`` (the report's by default) rendered."""
    return _environment().get_template(template).render(**context)


def render_html(markdown: str, base_dir: Path, title: str) -> str:
    """A standalone HTML page of the markdown, figures embedded."""
    body = markdown_to_html(markdown, base_dir)
    template = _environment().get_template("performance_report.html.j2")
    return template.render(body=body, title=jinja2.filters.escape(title))


@dataclass(frozen=True)
class WrittenReport:
    markdown: Path
    html: Path

    recommendations: tuple[str, ...] = ()

    def _repr_markdown_(self) -> str:
        items = "\n".join(f"{i}. {text}" for i, text in enumerate(self.recommendations, 1))
        return (
            f"Wrote `{self.markdown.name}` and `{self.html.name}` in `{self.markdown.parent}`."
            f"\n\n**Recommendations**\n\n{items}\n"
        )


def write_report(rep: ReportData) -> WrittenReport:
    """Write ``performance_report.md`` and ``performance_report.html`` into the out dir."""
    context = report_context(rep)
    markdown = render_markdown(context)
    md_path = rep.out_dir / MARKDOWN_NAME
    html_path = rep.out_dir / HTML_NAME
    atomic_write_text(md_path, markdown)
    atomic_write_text(
        html_path, render_html(markdown, rep.out_dir, f"Performance report: {rep.title}")
    )
    return WrittenReport(md_path, html_path, tuple(context["recommendations"]))
