"""The report says which interval its ratio CIs are: the adaptive plan's confidence sequence,
a bootstrap over paired rounds (fixed interleaved plan), or over workers (two runs); and
comparison.json's ``settings.interval`` says the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.runs import build_run, sample_rows

from perfkit.analysis.comparison import (
    INTERVAL_INDEPENDENT,
    INTERVAL_PAIRED,
    INTERVAL_SEQUENTIAL,
    compare,
)
from perfkit.report import open_report
from perfkit.report.document import render_markdown, report_context


def _rows(target: str, seconds: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return sample_rows(rng, "match", "", target, seconds, 6)


def _footnote(*refs: str, out: Path) -> str:
    markdown = render_markdown(report_context(open_report(*refs, out_dir=out)))
    (line,) = [ln for ln in markdown.splitlines() if ln.startswith("Times are per call")]
    return line


@pytest.mark.parametrize(
    ("plan", "interval", "words"),
    [
        ("adaptive", INTERVAL_SEQUENTIAL, "its CI the anytime-valid confidence sequence over"),
        ("fixed", INTERVAL_PAIRED, "its CI a bootstrap over rounds (each round timed both"),
    ],
)
def test_one_interleaved_run_names_its_interval(
    tmp_path: Path, plan: str, interval: str, words: str
) -> None:
    run = build_run(
        tmp_path / "runs",
        ("baseline", "current"),
        samples=_rows("baseline", 1e-3, 1) + _rows("current", 1.2e-3, 2),
        options={"plan": plan},
    )
    assert compare(str(run)).to_json()["settings"]["interval"] == interval
    line = _footnote(str(run), out=tmp_path / "out")
    assert words in line
    assert "over workers" not in line


def test_two_runs_are_a_bootstrap_over_workers(tmp_path: Path) -> None:
    base = build_run(tmp_path / "a", ("baseline",), samples=_rows("baseline", 1e-3, 3))
    current = build_run(tmp_path / "b", ("current",), samples=_rows("current", 1e-3, 4))
    assert compare(str(base), str(current)).interval == INTERVAL_INDEPENDENT
    assert "its CI a bootstrap over workers." in _footnote(
        str(base), str(current), out=tmp_path / "out"
    )
