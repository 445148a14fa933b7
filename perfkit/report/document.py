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
from perfkit.report.data import COMPARISON_JSON, ReportData
from perfkit.report.markdown import markdown_to_html, md_code, md_text
from perfkit.report.recommend import recommendations
from perfkit.rundir import atomic_write_text
from perfkit.units import format_bytes, format_seconds

MARKDOWN_NAME = "performance_report.md"
HTML_NAME = "performance_report.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"
CULPRITS = 5


def _seconds(value: Any) -> str:
    return format_seconds(float(value)) if value is not None else "–"


def _bytes(value: Any) -> str:
    return format_bytes(float(value)) if value is not None else "–"


def _ci(low: float, high: float, digits: int = 3) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{low:.{digits}f}–{high:.{digits}f}"


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
        ("Memory", lambda s: _bytes(s["memory_bytes"]) if s["memory_bytes"] else "–"),
        ("OS", lambda s: s["os"] or "–"),
        ("Python", lambda s: s["python"] or "–"),
        ("perfkit", lambda s: s["perfkit"] or "–"),
        ("Workers × samples", lambda s: f"{s['workers'] or '?'} × {s['samples'] or '?'}"),
        ("Interleaved", lambda s: {True: "yes", False: "no"}.get(s["interleaved"], "–")),
    ]
    return [{"field": name, "values": [md_text(get(s)) for s in sides]} for name, get in fields]


def _regressions(rep: ReportData) -> list[dict[str, Any]]:
    if rep.table is None:
        return []
    figures = rep.figures()
    profiled = set(rep.profiled_ids())
    rows = rep.table[rep.table["verdict"] == "regression"].sort_values("ratio", ascending=False)
    out = []
    for r in rows.itertuples(index=False):
        culprits = []
        if r.id in profiled:
            for c in rep.culprits(r.id, CULPRITS).itertuples(index=False):
                growth = (
                    f"{c.current_ncalls / c.baseline_ncalls:.2g}×"
                    if c.baseline_ncalls > 0
                    else "new"
                )
                culprits.append(
                    {
                        "function": md_code(c.function),
                        "where": md_code(f"{c.file}:{c.line}"),
                        "status": c.status,
                        "baseline": _seconds(c.baseline_tottime_seconds),
                        "current": _seconds(c.current_tottime_seconds),
                        "delta": "+" + _seconds(c.delta_tottime_seconds),
                        "calls": growth,
                    }
                )
        out.append(
            {
                "id": md_code(r.id),
                "raw_id": r.id,
                "change": r.change_text,
                "ci": _ci(r.ci_low, r.ci_high),
                "baseline": _seconds(r.baseline_median_seconds),
                "current": _seconds(r.current_median_seconds),
                "profiled": r.id in profiled,
                "culprits": culprits,
                "figures": [
                    f
                    for f in figures.values()
                    if f["section"] == "profiles" and f.get("benchmark") == r.id
                ],
            }
        )
    return out


def _benchmarks(rep: ReportData) -> list[dict[str, Any]]:
    if rep.table is not None:
        t = rep.table
        rows = []
        for r in t.to_dict("records"):
            memory = ""
            if "memory_ratio" in r and r["memory_ratio"] == r["memory_ratio"]:
                memory = f"{_bytes(r['baseline_peak_rss_bytes'])} → {_bytes(r['current_peak_rss_bytes'])}"
            rows.append(
                {
                    "id": md_code(r["id"]),
                    "baseline": _seconds(r["baseline_median_seconds"]),
                    "current": _seconds(r["current_median_seconds"]),
                    "change": r["change_text"],
                    "ci": _ci(r["ci_low"], r["ci_high"]),
                    "verdict": r["verdict"],
                    "memory": memory,
                }
            )
        return rows
    return [
        {
            "id": md_code(r.id),
            "target": md_code(r.series),
            "median": _seconds(r.median_seconds),
            "ci": f"{_seconds(r.ci_low_seconds)}–{_seconds(r.ci_high_seconds)}"
            if math.isfinite(r.ci_low_seconds)
            else "–",
            "cv": f"{r.cv:.1%}" if math.isfinite(r.cv) else "–",
            "workers": r.n_workers,
        }
        for r in rep.timing.itertuples(index=False)
    ]


def _breakdown(rep: ReportData, regressions: list[dict[str, Any]], n: int = 10) -> dict | None:
    """The call-graph notebook's benchmark when no regression section shows it: its
    top functions (one target) or its profile diff (a comparison)."""
    default = rep.focus_benchmark()
    drawn = [f.get("benchmark") for f in rep.figures().values() if f["section"] == "profiles"]
    focus = next((b for b in drawn if b), default)  # what the call-graph notebook looked at
    if focus is None or any(r["raw_id"] == focus for r in regressions):
        return None
    if not rep.compared:
        top = rep.top_functions(focus, n)
        return {
            "id": md_code(focus),
            "why": "the slowest profiled benchmark" if focus == default else "chosen",
            "compared": False,
            "rows": [
                {
                    "function": md_code(r["function"]),
                    "where": md_code(r["where"]),
                    "calls": f"{r['calls per scenario call']:.3g}",
                    "own": _seconds(r["own time per call"]),
                    "cumulative": _seconds(r["cumulative per call"]),
                }
                for r in top.to_dict("records")
            ],
        }
    row = rep.table[rep.table["id"] == focus].iloc[0]
    diff = rep.profile_diff(focus).head(n)
    return {
        "id": md_code(focus),
        "why": f"{row['change_text']}, {row['verdict']}; "
        + ("the largest slow-down" if focus == default else "chosen"),
        "compared": True,
        "rows": [
            {
                "function": md_code(c.function),
                "where": md_code(f"{c.file}:{c.line}"),
                "baseline": _seconds(c.baseline_tottime_seconds),
                "current": _seconds(c.current_tottime_seconds),
                "delta": ("+" if c.delta_tottime_seconds > 0 else "−")
                + _seconds(abs(c.delta_tottime_seconds)),
                "status": c.status,
            }
            for c in diff.itertuples(index=False)
        ],
    }


def _budgets(rep: ReportData) -> list[dict[str, Any]]:
    from perfkit.analysis.budgets import measured_text

    return [
        {
            "id": md_code(b.id),
            "target": md_code(b.target),
            "kind": b.kind,
            "budget": b.budget_text,
            "measured": measured_text(b.kind, b.measured) if math.isfinite(b.measured) else "–",
            "mark": b.mark,
        }
        for b in rep.budgets.itertuples(index=False)
    ]


def _memory(rep: ReportData) -> list[dict[str, Any]]:
    m = rep.memory
    if not m.empty:
        order = {cid: i for i, cid in enumerate(rep.ids)}
        m = m.assign(_order=m["id"].map(order).fillna(len(order))).sort_values(
            ["_order", "side"], kind="stable"
        )
    rows = []
    for r in m.to_dict("records"):
        sites = [
            f"{md_code(s['site'])} (+{_bytes(s['size_bytes'])})"
            for s in list(r["top_growth_sites"])[:3]
        ]
        rows.append(
            {
                "id": md_code(r["id"]),
                "target": md_code(r["series"]),
                "peak": _bytes(r["peak_rss_bytes"]),
                "above": _bytes(r.get("peak_above_baseline_bytes")),
                "py_peak": _bytes(r["py_peak_bytes"]),
                "growth": md_text(r.get("growth_text", "")),
                "leak": bool(r["leak"]),
                "sites": ", ".join(sites) if r["leak"] else "",
            }
        )
    return rows


def _scaling(rep: ReportData) -> list[dict[str, Any]]:
    change = rep.scaling_change
    if change is not None and not change.empty:
        return [
            {
                "benchmark": md_code(s.benchmark),
                "param": md_code(s.param),
                "baseline": f"{s.k_baseline:.2f} [{_ci(s.k_baseline_ci_low, s.k_baseline_ci_high, 2)}]",
                "current": f"{s.k_current:.2f} [{_ci(s.k_current_ci_low, s.k_current_ci_high, 2)}]",
                "text": s.text,
                "flag": "⚠ grew" if s.grew else "",
            }
            for s in change.itertuples(index=False)
        ]
    return [
        {
            "benchmark": md_code(f.benchmark),
            "param": md_code(f.param),
            "target": md_code(f.series),
            "k": f"{f.k:.2f} [{_ci(f.k_ci_low, f.k_ci_high, 2)}]",
        }
        for f in rep.scaling_fits.itertuples(index=False)
    ]


def _monitor(rep: ReportData) -> list[dict[str, Any]]:
    m = rep.monitor
    return [
        {
            "id": md_code(r.id),
            "target": md_code(r.series),
            "api": _seconds(r.api_seconds_per_call),
            "api_calls": f"{r.api_calls_per_call:,.1f}"
            if math.isfinite(r.api_calls_per_call)
            else "–",
            "hit_rate": f"{r.cache_hit_rate:.0%}" if math.isfinite(r.cache_hit_rate) else "–",
            "network": f"{r.network_share:.0%}" if math.isfinite(r.network_share) else "–",
        }
        for r in m.itertuples(index=False)
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
    if not rep.notebooks_dir.is_dir():
        return []
    return [
        NotebookLink(p.stem, f"notebooks/{p.name}", f"notebooks/{p.stem}.html")
        for p in sorted(rep.notebooks_dir.glob("*.ipynb"))
    ]


def report_context(rep: ReportData) -> dict[str, Any]:
    """Everything the template shows, formatted (markdown-safe) but not laid out."""
    figures = rep.figures()
    regressions = _regressions(rep)
    shown = {f["file"] for r in regressions for f in r["figures"]}
    by_section: dict[str, list[dict[str, str]]] = {}
    for f in figures.values():
        if f["file"] not in shown:
            by_section.setdefault(f["section"], []).append(f)
    return {
        "title": md_text(rep.title),
        "compared": rep.compared,
        "sides": [md_code(s.ref) for s in rep.sides],
        "series": [md_code(s) for s in rep.series],
        "threshold": f"{rep.threshold:.0%}",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "summary": _summary(rep),
        "recommendations": [r.text for r in recommendations(rep)],
        "benchmarks": _benchmarks(rep),
        "budgets": _budgets(rep),
        "regressions": regressions,
        "breakdown": _breakdown(rep, regressions),
        "memory": _memory(rep),
        "scaling": _scaling(rep),
        "monitor": _monitor(rep),
        "environment": environment(rep),
        "trends": _trends(rep),
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


def render_markdown(context: dict[str, Any]) -> str:
    return _environment().get_template("performance_report.md.j2").render(**context)


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
