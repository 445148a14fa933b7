"""The bisect report: markdown and HTML through the report's templates, and JSON.

Reads a `perfkit.bisect.BisectResult` and writes ``bisect.json``, ``bisect_report.md``
and ``bisect_report.html`` into one directory (atomic writes). Computes nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit.render.format import format_change, format_ratio_ci, format_seconds
from perfkit.report.document import render_html, render_markdown
from perfkit.rundir import atomic_write_text

JSON_NAME = "bisect.json"
MARKDOWN_NAME = "bisect_report.md"
HTML_NAME = "bisect_report.html"


@dataclass(frozen=True)
class BisectReport:
    json: Path
    markdown: Path
    html: Path


def _clean(value: Any) -> Any:
    """JSON without NaN: an unknown number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _change_ci(estimate: Any) -> str:
    if estimate is None:
        return "–"
    return f"{format_change(estimate.ratio)} {format_ratio_ci(estimate.ci_low, estimate.ci_high)}"


def context(result: Any) -> dict[str, Any]:
    final = result.final
    steps = [
        {
            "kind": s.kind,
            "candidate": s.candidate.sha[:10],
            "against": s.against.sha[:10],
            "change": format_change(s.estimate.ratio),
            "ci": format_ratio_ci(s.estimate.ci_low, s.estimate.ci_high),
            "midpoint": _change_ci(s.midpoint),
            "span": _change_ci(s.span),
            "against_midpoint": _change_ci(s.against_midpoint),
            "rounds": s.estimate.rounds,
            "verdict": s.verdict,
            "cost": format_seconds(s.seconds) + (" (cached)" if s.cached else ""),
        }
        for s in result.steps
    ]
    return {
        "r": result,
        "threshold": f"{result.threshold:.0%}",
        "rounds": result.rounds,
        "wall": format_seconds(result.wall_seconds),
        "measuring": format_seconds(sum(s.seconds for s in result.steps)),
        "first_bad": result.first_bad,
        "parent": result.parent,
        "final_change": format_change(final.estimate.ratio) if final else "",
        "final_ratio": f"{final.estimate.ratio:.3f}" if final else "",
        "final_ci": format_ratio_ci(final.estimate.ci_low, final.estimate.ci_high) if final else "",
        "final_rounds": final.estimate.rounds if final else 0,
        "final_verdict": final.verdict if final else "",
        "culprits": result.culprits,
        "notes": result.culprit_notes,
        "steps": steps,
        "json_name": JSON_NAME,
        "recoveries": result.extra.get("recoveries", 0),
    }


def write_bisect_report(result: Any, out_dir: Path) -> BisectReport:
    """Write the three files of `result` into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = BisectReport(out_dir / JSON_NAME, out_dir / MARKDOWN_NAME, out_dir / HTML_NAME)
    atomic_write_text(paths.json, json.dumps(_clean(result.to_json()), indent=2) + "\n")
    markdown = render_markdown(context(result), "bisect_report.md.j2")
    atomic_write_text(paths.markdown, markdown)
    title = f"Bisect: {result.benchmark}"
    atomic_write_text(paths.html, render_html(markdown, out_dir, title))
    return paths
