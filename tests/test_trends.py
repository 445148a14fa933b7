"""Trends views over a real store: the notebook's calls, the 06_trends notebook under
papermill, and the rows of the report's Trends section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import papermill
import pytest

from perfkit.history.store import MachineClass, Store
from perfkit.report.pipeline import PACKAGE_NOTEBOOKS, packaged_notebooks
from perfkit.report.trends import changes_frame, open_trends, trend_figure, trends_rows

SHAS = [f"{i:04x}" + "c0ffee" * 6 for i in range(30)]


def _fill(db: Path, step_at: int = 15, ratio: float = 1.15) -> Path:
    rng = np.random.default_rng(7)
    machine = MachineClass("Test CPU", 2, "CPython", "3.11.7", "0.1.0")
    run_rows, rows = [], []
    for i, sha in enumerate(SHAS):
        run_id = f"20260101T0000{i:02d}-{i:04x}"
        run_rows.append({"run_id": run_id, "created": f"2026-01-01T00:00:{i:02d}+00:00",
                         "status": "complete", "suite": "s", "path": "", "hostname": "h",
                         "machine_id": machine.machine_id})  # fmt: skip
        level = 0.001 * (ratio if i >= step_at else 1.0)
        workers = level * np.exp(rng.normal(0, 0.01, 5))
        rows.append({"run_id": run_id, "benchmark_id": "parse[n=10]", "target": "current",
                     "benchmark": "parse", "params": "n=10", "series": "current",
                     "machine_id": machine.machine_id, "git_sha": sha, "ref": "main",
                     "commit_time": f"2026-01-01T00:00:{i:02d}+00:00", "commit_order": i + 1,
                     "created": f"2026-01-01T00:00:{i:02d}+00:00",
                     "median_seconds": float(np.median(workers)),
                     "ci_low_seconds": float(workers.min()), "ci_high_seconds": float(workers.max()),
                     "n_workers": 5, "worker_seconds": json.dumps(workers.tolist()),
                     "peak_rss_bytes": None})  # fmt: skip
    with Store(f"sqlite:///{db.resolve()}") as store:
        store.insert_points(machine, run_rows, rows)
    return db


def test_trends_view_table_figure_and_report_rows(tmp_path: Path) -> None:
    db = _fill(tmp_path / "perfkit.sqlite")
    view = open_trends("parse", db=str(db))
    assert view.problem is None and len(view.series) == 1 and len(view.changes) == 1
    assert "1 series" in view._repr_markdown_() and "1 unacknowledged" in view._repr_markdown_()
    table = changes_frame(view)
    assert table.loc[0, "between commits"] == f"{SHAS[14][:10]}..{SHAS[15][:10]}"
    assert table.loc[0, "status"] == "ALERT: regression at head"
    figure = trend_figure(view)
    (ax,) = figure.axes
    assert [t.get_text().split()[0] for t in ax.texts] == [SHAS[15][:8]]  # the step, marked

    rows = trends_rows(["parse[n=10]", "absent"], db=str(db))
    assert len(rows) == 1 and rows[0]["runs"] == 30 and rows[0]["alert"]
    assert rows[0]["latest"].endswith(SHAS[15][:10])

    elsewhere = str(tmp_path / "elsewhere" / "perfkit.sqlite")
    empty = open_trends("parse", db=elsewhere)
    assert empty.problem and "no history index" in empty.problem
    assert trends_rows(["parse[n=10]"], db=elsewhere) == []


def test_trends_notebook_is_a_view_outside_the_report_pipeline() -> None:
    names = [p.name for p in packaged_notebooks()]
    assert "06_trends.ipynb" not in names and "05_report.ipynb" in names


@pytest.mark.slow
def test_trends_notebook_runs_under_papermill(tmp_path: Path) -> None:
    db = _fill(tmp_path / "perfkit.sqlite")
    out = tmp_path / "06_trends.ipynb"
    papermill.execute_notebook(
        str(PACKAGE_NOTEBOOKS / "06_trends.ipynb"),
        str(out),
        parameters={"benchmark": "parse*", "db": str(db), "out_dir": str(tmp_path)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    text = out.read_text()
    assert '"output_type": "error"' not in text
    assert "1 series" in text and "image/png" in text and SHAS[15][:10] in text
