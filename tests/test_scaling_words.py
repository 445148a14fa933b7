"""A change of complexity (super-linear → linear, or back) is told in words in the
report's summary and recommendations, not only as two exponents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_stats import sample_rows, write_run

from perfkit.report import open_report
from perfkit.report.recommend import recommendations


def _run(tmp_path: Path, k_baseline: float, k_current: float) -> Path:
    rng = np.random.default_rng(21)
    rows = []
    for n in (10, 100, 1000):
        rows += sample_rows(rng, "match", f"n={n}", "baseline", 1e-6 * n**k_baseline, 6)
        rows += sample_rows(rng, "match", f"n={n}", "current", 1e-6 * n**k_current, 6)
    return write_run(tmp_path / "runs", rows, ("baseline", "current"))


def test_super_linear_to_linear_is_a_recommendation_in_words(tmp_path: Path) -> None:
    rep = open_report(_run(tmp_path, 1.28, 0.97), out_dir=tmp_path / "out")
    (advice,) = [r for r in recommendations(rep) if r.kind == "scaling"]
    assert advice.text.startswith("`match` scales better: super-linear → linear (k 1.2")
    assert "a change of complexity" in advice.text


def test_linear_to_super_linear_is_a_recommendation_in_words(tmp_path: Path) -> None:
    rep = open_report(_run(tmp_path, 1.0, 1.3), out_dir=tmp_path / "out")
    (advice,) = [r for r in recommendations(rep) if r.kind == "scaling"]
    assert advice.text.startswith("`match` scales worse: linear → super-linear (k 1.0")
    assert "repeats per item" in advice.text


def test_the_report_summary_leads_with_the_change_of_complexity(tmp_path: Path) -> None:
    from perfkit.report.document import render_markdown, report_context

    rep = open_report(_run(tmp_path, 1.28, 0.97), out_dir=tmp_path / "out")
    markdown = render_markdown(report_context(rep))
    summary = markdown.split("## Summary", 1)[1].split("## Recommendations", 1)[0]
    assert "- **Complexity changed:** `match` scales better: super-linear → linear (k 1.2" in (
        summary
    )
