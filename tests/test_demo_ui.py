"""The demo's results window (Qt, offscreen) in both versions of trackmatch, and its three
UI scenarios measured by real perfkit workers.

Each version runs in its own process (both are the package ``trackmatch``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.demo_runs import DemoQuick

from perfkit.collect.discovery import select
from perfkit.demo import BASELINE_DIR, CURRENT_DIR, datagen

pytest.importorskip("PySide6.QtWidgets", reason="the demo's UI needs PySide6-Essentials")

UI_SCENARIOS = {"load_ui", "update_results_view", "apply_filter"}

_WINDOW_SCRIPT = """
import csv, json, sys
sys.path.insert(0, sys.argv[1])
from perfkit.demo import ui_driver
app = ui_driver.application()
from trackmatch.text import fold
from trackmatch.ui import SEARCH_COLUMNS, SEARCH_ROLE, ResultsWindow
with open(sys.argv[2], encoding="utf-8", newline="") as handle:
    rows = list(csv.DictReader(handle))
out = {"platform": app.platformName()}
window = ResultsWindow(rows)
paints = ui_driver.show(window)
out["first_paint"] = paints.count
out["all"] = [window.visible_rows(), window.status.text()]
painted = paints.count
ui_driver.type_text(window.filter_box, "MÜLLER")
paints.wait(painted)
model = window.view.model()
out["filtered"] = [window.visible_rows(), window.status.text()]
out["filtered_keys"] = [model.index(r, 0).data(SEARCH_ROLE) for r in range(model.rowCount())]
out["filtered_artists"] = sorted(model.index(r, 0).data() for r in range(model.rowCount()))
out["expected"] = sum("muller" in fold(" ".join(r[c] for c in SEARCH_COLUMNS)) for r in rows)
window.show_results(rows[:40])  # a new playlist while the filter stays applied
out["new_playlist"] = [window.visible_rows(), window.status.text()]
out["widths"] = [window.view.columnWidth(c) for c in range(model.columnCount())]
from PySide6.QtGui import QStandardItemModel
for _ in range(5):  # more playlists, with events processed as the benchmark does
    window.show_results(rows[:40])
    app.processEvents()
out["models"] = len(window.findChildren(QStandardItemModel))  # replaced models are freed
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView
cell = window.view.visualRect(model.index(0, 1)).center()
QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
QTest.keyClick(window.view, Qt.Key.Key_F2)
app.processEvents()
out["editing"] = window.view.state() == QAbstractItemView.State.EditingState  # read-only
ui_driver.type_text(window.filter_box, "")
window.filter_box.clear()
painted = paints.count
paints.wait(painted, lambda: window.visible_rows() == 40)
out["cleared"] = [window.visible_rows(), model.index(0, 1).data()]
image = window.grab()
image.save(sys.argv[3])
out["size"] = [image.width(), image.height()]
before = sys.getrefcount(None)
for _ in range(5000):  # void calls: PySide6 6.12.0 under Python 3.11 loses a None each
    window.filter_box.selectAll()
    app.processEvents()
out["none_refs_lost"] = before - sys.getrefcount(None)
ui_driver.close(window)
hidden = ResultsWindow(rows[:5])  # never shown: never painted
try:
    ui_driver.view_paints(hidden).wait(0, what="paint", timeout_seconds=0.3)
except TimeoutError as exc:
    out["timeout"] = str(exc)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    small = {"catalogue_size": 600, "playlist_sizes": (10,), "history_rows": 400}
    return datagen.prepare(tmp_path_factory.mktemp("ui-data"), seed=11, **small).history


def _window(version_dir: Path, history: Path, shot: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the driver's default
    done = subprocess.run(
        [sys.executable, "-c", _WINDOW_SCRIPT, str(version_dir), str(history), str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "propagateSizeHints" not in done.stderr  # the offscreen plugin's noise is dropped
    return json.loads(done.stdout)


def test_results_window_filters_and_updates_alike_in_both_versions(
    history: Path, tmp_path: Path
) -> None:
    baseline = _window(BASELINE_DIR, history, tmp_path / "baseline.png")
    current = _window(CURRENT_DIR, history, tmp_path / "current.png")
    assert baseline["platform"] == "offscreen"
    assert baseline["first_paint"] >= 1
    assert baseline["all"] == [400, "400 results"]
    shown, status = baseline["filtered"]
    assert 0 < shown < 400 and shown == baseline["expected"]
    assert status == f"{shown:,} of 400 results match 'MÜLLER'"
    # Case and accents ignored: "MÜLLER" finds Müller and Muller.
    assert all("muller" in key for key in baseline["filtered_keys"])
    assert baseline["new_playlist"][0] < 40
    assert baseline["cleared"][0] == 40
    assert baseline["editing"] is False  # a double click or F2 opens no editor
    assert baseline["models"] == 1  # one model alive after six playlists, not six
    assert baseline["none_refs_lost"] < 100  # else a long benchmark aborts: see pyproject.toml
    assert baseline["timeout"] == "the results view did not paint within 0.3 s"
    for key in (
        "all",
        "filtered",
        "filtered_keys",
        "filtered_artists",
        "new_playlist",
        "cleared",
        "widths",
        "models",
        "editing",
        "timeout",
        "size",
    ):
        assert baseline[key] == current[key], key


def test_screenshot_of_the_results_window_shows_rows(history: Path, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    shot = tmp_path / "results_window.png"
    result = _window(CURRENT_DIR, history, shot)
    image = QImage(str(shot))
    assert [image.width(), image.height()] == result["size"]
    assert image.width() >= 800 and image.height() >= 500
    # Table rows are drawn text: many rows of the image's middle band hold dark pixels.
    x_range = range(60, image.width() - 60, 2)
    inked_rows = sum(
        any(image.pixelColor(x, y).lightness() < 100 for x in x_range)
        for y in range(80, image.height() - 60, 2)
    )
    assert inked_rows > 60, inked_rows


@pytest.mark.slow
def test_ui_scenarios_run_in_perfkit_workers_with_profiles(demo_quick: DemoQuick) -> None:
    run = demo_quick.run()
    assert run.failures.empty, run.failures.to_dict("records")
    ui = run.samples[run.samples["benchmark"].isin(UI_SCENARIOS)]
    measured = set(zip(ui["benchmark"], ui["target"], strict=True))
    assert measured == {(name, t) for name in UI_SCENARIOS for t in ("baseline", "current")}
    assert (ui["seconds"] > 0).all()
    for side in ("baseline", "current"):
        profiles = [p.name for p in (run.path / "profiles" / side).glob("*.prof")]
        assert len([p for p in profiles if p.split("[")[0] in UI_SCENARIOS]) == 3
    # The glob that picks the UI scenarios alone (load_ui[n=…], update_results_view[n=…],
    # apply_filter[n=…]) for a run of just the Qt workers.
    picked = select(list(run.cases.values()), "*[iwr][[]n=*")
    assert {c.name for c in picked} == UI_SCENARIOS and len(picked) == 3
