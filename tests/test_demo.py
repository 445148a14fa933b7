"""The bundled demo: data generation, the catalogue server, trackmatch in both versions,
the suite under `perfkit run`, and `perfkit demo` end to end (slow)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import perfkit_cli
from helpers.demo_runs import DemoQuick

from perfkit import cli, demo
from perfkit.commands.demo import REPORT_FILES, demo_plan
from perfkit.config import DEFAULT_PLAN
from perfkit.demo import BASELINE_DIR, CURRENT_DIR, SUITE_PATH, datagen
from perfkit.demo.catalogue_server import CatalogueServer
from perfkit.errors import PerfkitError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> datagen.DemoData:
    return datagen.prepare(tmp_path_factory.mktemp("demo-data"))


def _env(data: datagen.DemoData) -> dict[str, str]:
    return {**os.environ, datagen.DATA_DIR_ENV: str(data.directory)}


def test_generation_is_deterministic_and_cached(tmp_path: Path) -> None:
    small = {"catalogue_size": 600, "playlist_sizes": (10, 20), "history_rows": 50}
    first = datagen.prepare(tmp_path / "a", seed=7, **small)
    second = datagen.prepare(tmp_path / "b", seed=7, **small)
    for name in ("catalogue", "library", "truth", "history"):
        assert getattr(first, name).read_bytes() == getattr(second, name).read_bytes()
    catalogue = json.loads(first.catalogue.read_text(encoding="utf-8"))
    assert len(catalogue) == 600
    assert any(not record["title"].isascii() for record in catalogue)  # accents
    assert any(record["mix"].endswith(" Remix") for record in catalogue)
    assert any(len(record["artists"]) > 1 for record in catalogue)  # featured artists
    truth = json.loads(first.truth.read_text())
    assert len(truth) == 30
    assert None in truth.values()  # some library tracks are not in the catalogue
    mtime = first.catalogue.stat().st_mtime_ns
    datagen.prepare(tmp_path / "a", seed=7, **small)
    assert first.catalogue.stat().st_mtime_ns == mtime  # reused, not regenerated
    other = datagen.prepare(tmp_path / "c", seed=8, **small)
    assert other.catalogue.read_bytes() != first.catalogue.read_bytes()


def test_catalogue_server_answers_over_real_http_and_stops(data: datagen.DemoData) -> None:
    with CatalogueServer(data.catalogue) as server:
        assert server.url.startswith("http://127.0.0.1:")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/health")
        health = json.loads(conn.getresponse().read())
        assert health == {"ok": True, "records": datagen.DEFAULT_CATALOGUE_SIZE}
        record = json.loads(data.catalogue.read_text(encoding="utf-8"))[41]
        query = f"{datagen.fold(record['artists'][0])} {record['title']}".replace(" ", "+")
        conn.request("GET", f"/search?q={query}&limit=5")  # same connection: keep-alive
        found = json.loads(conn.getresponse().read())
        assert found["count"] == 5
        assert record["id"] in [r["id"] for r in found["results"]]
        conn.request("GET", "/nowhere")
        assert conn.getresponse().status == 404
        conn.close()
        port = server.port
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()


def test_catalogue_server_exits_when_its_parent_goes_away(data: datagen.DemoData) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit.demo.catalogue_server", "--catalogue", str(data.catalogue)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"PORT ")
        proc.stdin.close()  # what a killed parent leaves behind: EOF
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_catalogue_server_child_imports_the_standard_library_only(data: datagen.DemoData) -> None:
    command = CatalogueServer(data.catalogue).command()
    proc = subprocess.Popen(
        [command[0], "-X", "importtime", *command[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"PORT ")  # it serves
        proc.stdin.close()  # EOF: the child stops
        assert proc.wait(timeout=10) == 0
        stderr = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    imported = [line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines()]
    assert "http.server" in imported and "datagen" in imported
    assert not [name for name in imported if name.startswith(("perfkit", "site"))]


_MATCH_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from trackmatch import export, rekordbox, service
from trackmatch.results import filter_results, load_results
from perfkit.demo.catalogue_server import CatalogueServer
from perfkit.errors import PerfkitError
from perfkit.demo.datagen import prepare
data = prepare()
library = rekordbox.read_library(data.library)
out = {}
with CatalogueServer(data.catalogue) as server, service.Matcher(server.url) as matcher:
    for name in ("Set 10", "Set 50"):
        results = matcher.process_playlist(library[name])
        out[name] = {r.track.track_id: [r.catalogue_id, round(r.score, 6)] for r in results}
export.export_csv(results, Path(sys.argv[2]) / "r.csv")
export.export_json(results, Path(sys.argv[2]) / "r.json")
frame = load_results(data.history)
out["filtered"] = sorted(filter_results(frame, text="muller", min_score=80.0)["track_id"].tolist())
out["rows"] = len(frame)
print(json.dumps(out))
"""


def _script_json(script: str, data: datagen.DemoData, *args: str) -> dict:
    """Run `script` in a fresh interpreter with the demo's environment; its stdout as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _matches(version_dir: Path, data: datagen.DemoData, out: Path) -> dict:
    out.mkdir()
    return _script_json(_MATCH_SCRIPT, data, str(version_dir), str(out))


def test_both_versions_find_the_known_tracks_and_agree(
    data: datagen.DemoData, tmp_path: Path
) -> None:
    truth = json.loads(data.truth.read_text())
    baseline = _matches(BASELINE_DIR, data, tmp_path / "baseline")
    current = _matches(CURRENT_DIR, data, tmp_path / "current")
    assert baseline == current
    for name in ("Set 10", "Set 50"):
        known = {tid: cid for tid, cid in truth.items() if tid in baseline[name] and cid}
        found = {tid: baseline[name][tid][0] for tid in known}
        assert found == known, f"{name}: wrong best match"
    assert baseline["rows"] == datagen.DEFAULT_HISTORY_ROWS
    assert len(baseline["filtered"]) > 10  # "muller" finds "Müller" (accents ignored)
    header = (tmp_path / "current" / "r.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == datagen.RESULT_COLUMNS
    exported = json.loads((tmp_path / "baseline" / "r.json").read_text(encoding="utf-8"))
    assert exported["count"] == 50
    assert exported["matched"] >= len(known)  # every known track of Set 50, maybe more


def test_demo_plan_comes_from_the_demo_perfkit_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, quick = demo_plan(), demo_plan(quick=True)
    assert plan.adaptive and quick.adaptive  # a busy machine gets more rounds, not "inconclusive"
    assert 4 <= quick.min_workers < quick.max_workers < plan.max_workers <= DEFAULT_PLAN.workers
    assert quick.max_timing_seconds is not None
    assert plan.memory_calls < DEFAULT_PLAN.memory_calls
    monkeypatch.setattr(demo, "demo_settings", lambda: {"plan": {"wrokers": 2}})
    with pytest.raises(
        PerfkitError, match=r"perfkit.toml: \[demo.plan\] unknown field\(s\) wrokers"
    ):
        demo_plan()


def test_demo_usage_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--latency", "5parsecs", "--data-dir", str(tmp_path)]) == 2
    assert "bad duration '5parsecs'" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert cli.main(["demo", "--data-dir", str(blocked / "demo")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("perfkit demo: error: cannot write the demo data to")


def test_suite_without_a_trackmatch_target_is_a_clear_error(
    data: datagen.DemoData, tmp_path: Path
) -> None:
    done = perfkit_cli("run", str(SUITE_PATH), "--quick", env=_env(data), cwd=tmp_path)
    assert done.returncode == 2
    assert "needs a target with trackmatch" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_demo_measures_the_monitor_figures_of_both_versions(demo_quick: DemoQuick) -> None:
    run = demo_quick.run()
    assert run.failures.empty
    assert set(run.samples["target"]) == {"baseline", "current"}
    from perfkit.analysis.monitor import monitor_summary

    summary = monitor_summary(run).set_index(["id", "target"])
    miss = summary.loc[("search_cache_miss", "current")]
    hit = summary.loc[("search_cache_hit", "current")]
    assert miss["api_calls_per_call"] == pytest.approx(1.0)
    assert miss["cache_hit_rate"] == 0.0
    assert hit["cache_hit_rate"] == 1.0
    assert 0 < miss["network_share"] <= 1


@pytest.mark.slow
def test_perfkit_demo_quick_writes_the_report(demo_quick: DemoQuick) -> None:
    done = demo_quick.done
    assert done.returncode == 0, done.stderr[-2000:]
    report = (demo_quick.reports / "performance_report.md").read_text(encoding="utf-8")
    assert (demo_quick.reports / "performance_report.html").is_file()
    # The notebooks render while the comparison prints; their lines still come after it.
    steps = ("[3/4]", "[4/4]", "report on", "[5/5] 05_report done", "notebooks in", "finished")
    where = [done.stderr.find(step) for step in steps]
    assert -1 not in where and where == sorted(where), done.stderr[-2000:]
    assert done.stdout.splitlines()[-2:] == [
        str((demo_quick.reports / name).resolve()) for name in REPORT_FILES
    ]
    for scenario in ("process_playlist", "export_csv", "search_cache_hit", "filter_results"):
        assert scenario in report
    for scenario in ("load_ui[n=", "update_results_view[n=", "apply_filter[n="):  # Qt, offscreen
        assert scenario in report
    budget_row = (
        r"\| `apply_filter\[n=2000\]` \| `?current`? \| time \| 100 ?ms \| [^|]+ \| (met|missed) \|"
    )
    assert re.search(budget_row, report), "apply_filter's budget row"
    # The change the demo is built to show, decided by the adaptive plan's rounds (more of
    # them on a busy machine), never left inconclusive by a fixed few.
    assert re.search(r"filter_results\b[^\n]*\bregression\b", done.stdout), done.stdout[-3000:]
    assert not (demo_quick.data_dir / "scratch").exists()


_FOUND_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from perfkit.collect.suite import load_suite
suite = load_suite(sys.argv[2])
first = suite._found(10)
kept = sorted(p.name for p in (suite._data().directory / "found").glob("*.pickle"))
again = suite._found(10)
with suite._catalogue() as url:
    direct = suite._match(url, suite._playlist(10))
print(json.dumps({"kept": kept, "same": first == again == direct, "n": len(first)}))
"""


def test_export_setup_keeps_the_match_results_per_trackmatch_version(
    data: datagen.DemoData,
) -> None:
    kept = []
    for version in (BASELINE_DIR, CURRENT_DIR):
        out = _script_json(_FOUND_SCRIPT, data, str(version), str(SUITE_PATH))
        assert out["same"] and out["n"] == 10  # loaded results equal a fresh match
        kept.append(set(out["kept"]))
    assert len(kept[0]) == 1 and len(kept[1]) == 2  # one file per version of trackmatch
