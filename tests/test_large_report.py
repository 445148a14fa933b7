"""A report on a suite of hundreds of benchmarks leads with what changed and folds the rest.

The run is the synthetic one of ``python -m perfkit.selfbench scale`` (written by RunWriter):
200 benchmarks, one in ten 15 % slower.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from perfkit.render import plots
from perfkit.report import open_report, views
from perfkit.report.document import CHANGE_SECTIONS, write_report
from perfkit.report.recommend import GROUPS_NAMED, recommendations
from perfkit.selfbench.scale import make_suite


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("large")
    suite = make_suite(root / "runs", 200)
    rep = open_report(str(suite.path), out_dir=root / "report")
    views.ratio(rep)
    views.timing_distribution(rep)
    return suite, rep, write_report(rep)


def test_the_report_leads_with_what_changed_and_folds_the_rest(large) -> None:
    suite, rep, written = large
    md = written.markdown.read_text(encoding="utf-8")
    benchmarks = md.split("## Benchmarks", 1)[1].split("## Budgets", 1)[0]
    shown, folded = benchmarks.split("<details>", 1)
    changed = [line for line in shown.splitlines() if line.startswith("| `")]
    assert (
        len(changed)
        == (rep.table["verdict"].isin(["regression", "slower", "faster", "improvement"])).sum()
    )
    assert all(cid in shown for cid in suite.slowed)
    assert "<summary>" in folded and "</details>" in folded
    assert sum(line.startswith("| `") for line in folded.splitlines()) == 200 - len(changed)
    html = written.html.read_text(encoding="utf-8")
    assert "<details>" in html and "&lt;details&gt;" not in html


def test_regressions_get_grouped_recommendations_and_few_sections(large) -> None:
    _suite, rep, written = large
    advice = [r for r in recommendations(rep) if r.kind == "regression"]
    assert len(advice) <= GROUPS_NAMED + 1
    assert "more regression(s)" in advice[-1].text
    md = written.markdown.read_text(encoding="utf-8")
    section = md.split("## Regressions and their culprits", 1)[1].split("## Profiles", 1)[0]
    assert section.count("\n### ") == CHANGE_SECTIONS
    assert "more regression(s), without a section of their own" in section


def test_figures_of_a_large_report_stay_within_the_cap(large) -> None:
    _suite, rep, _written = large
    for path in rep.files.figures_dir.glob("*.png"):
        with Image.open(path) as image:
            assert max(image.size) <= plots.MAX_FIGURE_PX, path.name


def test_a_small_comparison_is_reported_as_before(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "runs", 10)
    rep = open_report(str(suite.path), out_dir=tmp_path / "report")
    md = write_report(rep).markdown.read_text(encoding="utf-8")
    assert "<details>" not in md and "What changed" not in md
    assert sum(line.startswith("| `") for line in md.split("## Budgets")[0].splitlines()) == 10
