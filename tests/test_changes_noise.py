"""The noise sample of `selfbench changes`: recorded from real perfkit runs with its
provenance, read back, and scored by the selfbench end to end (perfkit alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.selfbench import _changes_noise, changes


@pytest.mark.slow
def test_noise_is_recorded_from_real_runs_with_provenance_and_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "noise.json"
    only = ("dict_counts", "sort_strings")  # two of the suite's six: half the time
    lock = tmp_path / "heavy.lock"
    noise = _changes_noise.record(2, 3, lock=lock, path=path, hold_runs=1, only=only)
    data = json.loads(path.read_text())
    assert sorted(data["pools"]) == ["dict_counts", "sort_strings"]
    assert all(len(runs) == 2 and all(len(w) == 3 for w in runs) for runs in data["pools"].values())
    p = data["provenance"]
    assert p["runs_count"] == 2 and p["workers"] == 3 and p["heavy_lock"].endswith("heavy.lock")
    assert p["started"] <= p["finished"] and p["cores"] and "--workers 3 (fixed plan" in p["plan"]
    assert len(p["holds"]) == 2 and p["benchmarks"] == list(only)
    assert [
        set(r["load"]) >= {"load_average_mean", "other_cpu_share_mean", "high"} for r in p["runs"]
    ] == [True, True]
    # A run perfkit flagged as loaded (this test may share the machine) is kept in the file
    # and left out of the pools: 2 benchmarks x the runs kept.
    flagged = sum(bool(r["load"]["high"]) for r in p["runs"])
    assert noise.left_out == flagged and len(noise.pools) == 2 * (2 - flagged)
    assert "2 real runs × 3 workers" in noise.describe()
    assert _changes_noise.load(tmp_path / "absent.json") is None
    # Score a copy with no run flagged, so the scoring is tested whatever the machine did,
    # and each benchmark three times over: whole runs of six, so the selfbench searches
    # its groups together (run offsets need at least 3 other benchmarks).
    for run in data["provenance"]["runs"]:
        run["load"]["high"] = False
    data["pools"] = {f"{k}{i}": v for i in range(3) for k, v in data["pools"].items()}
    path.write_text(json.dumps(data))
    quiet = _changes_noise.load(path)
    assert len(quiet.pools) == 12 and 0 < quiet.within_spread < 1
    assert quiet.benchmarks == 6 and all(len(run) == 6 for run in quiet.runs)

    argv = ["--noise", str(path), "--no-otava", "--series", "6", "--flat", "6", "--late", "2"]
    argv += ["--common", "1"]
    assert changes.main(argv) == 0
    out = capsys.readouterr().out
    assert "2 real runs × 3 workers" in out
    assert out.count("| perfkit |") == 3  # the scores and the two delay distributions
    assert "`history --check --threshold 5%`" in out and "not in 10" in out
    assert "step of every benchmark of a suite at once (1 suites × 6 benchmarks)" in out
