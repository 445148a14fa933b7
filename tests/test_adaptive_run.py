"""The adaptive plan end to end: real workers stop per benchmark, run.json says where and how
busy the machine was, and the comparison reports the interval the rule stopped on."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import SUITES, perfkit_cli

from perfkit.rundir import load_run

MAX_ROUNDS = 8


def test_adaptive_run_stops_each_benchmark_and_records_why(tmp_path: Path) -> None:
    targets = SUITES / "shift_targets"
    done = perfkit_cli(
        "run",
        str(SUITES / "shift_suite.py"),
        "--max-workers",
        str(MAX_ROUNDS),
        "--budget-seconds",
        "0.1",
        "--target",
        f"baseline={targets / 'baseline'}",
        "--target",
        f"current={targets / 'current'}",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    run = load_run(done.stdout.strip().splitlines()[-1])
    info = run.info
    assert info.options["plan"] == "adaptive" and info.options["adaptive"] is True
    assert "confidence sequence" in info.options["sequential"]["method"]
    assert set(info.stops) == {"grow", "same", "shrink"}
    workers = run.samples.groupby(["benchmark", "target"])["worker"].nunique()
    for case_id, stop in info.stops.items():
        assert 4 <= stop.rounds <= MAX_ROUNDS
        assert stop.reason in {"changed", "unchanged", "futile", "max-workers"}
        # Each side measured exactly the rounds the rule looked at.
        assert workers[(case_id, "baseline")] == workers[(case_id, "current")] == stop.rounds
    assert info.load is not None and info.load.cores >= 1 and info.load.samples >= 4
    assert 0.0 <= info.load.other_cpu_share_mean <= 1.0
    # -30 % of real work: decided well before the cap unless the machine was busy.
    if not info.load.high:
        assert info.stops["shrink"].reason == "changed"
        assert info.stops["shrink"].rounds < MAX_ROUNDS

    out_json = tmp_path / "comparison.json"
    done = perfkit_cli("compare", str(run.path), "--json", str(out_json))
    assert done.returncode == 0, done.stderr
    data = json.loads(out_json.read_text())
    assert data["settings"]["interval"].startswith("anytime-valid")
    assert data["current"]["plan"] == "adaptive" and data["current"]["load"]["cores"] >= 1
    rows = data["comparison"]
    for case_id, stop in info.stops.items():
        row = rows[case_id]
        assert row["n_baseline"] == stop.rounds
        if stop.reason == "changed":  # the verdict is the one the rule stopped on
            assert row["verdict"] in {"regression", "slower", "improvement", "faster"}
        if stop.reason == "unchanged":
            assert row["verdict"] == "unchanged"
    if info.stops["shrink"].reason == "changed":
        assert rows["shrink"]["verdict"] == "improvement" and rows["shrink"]["ratio"] < 0.9


def test_fixed_plan_is_still_there(tmp_path: Path) -> None:
    targets = SUITES / "shift_targets"
    done = perfkit_cli(
        "run",
        str(SUITES / "shift_suite.py"),
        "--workers",
        "3",
        "--budget-seconds",
        "0.05",
        "--only",
        "same",
        "--target",
        f"baseline={targets / 'baseline'}",
        "--target",
        f"current={targets / 'current'}",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    run = load_run(done.stdout.strip().splitlines()[-1])
    assert run.info.options["plan"] == "fixed" and run.info.stops == {}
    assert run.samples.groupby("target")["worker"].nunique().to_dict() == {
        "baseline": 3,
        "current": 3,
    }
    assert run.info.load is not None  # recorded for every run


def test_adaptive_caps_are_checked() -> None:
    done = perfkit_cli("run", str(SUITES / "shift_suite.py"), "--max-workers", "2")
    assert done.returncode == 2 and "--max-workers must be at least 4" in done.stderr
    done = perfkit_cli("run", str(SUITES / "shift_suite.py"), "--resolution", "150%")
    assert done.returncode == 2 and "--resolution" in done.stderr


def test_the_plan_and_the_load_in_words() -> None:
    from perfkit.analysis.measurement import load_text, plan_text
    from perfkit.rundir.schema import LoadRecord, RunInfo, StopRecord

    fixed = RunInfo(id="r", options={"plan": "fixed", "workers": 24})
    assert plan_text(fixed) == "fixed plan, 24 timing workers per benchmark and target"
    assert load_text(fixed) is None
    stops = {
        "a": StopRecord(4, "changed"),
        "b": StopRecord(9, "unchanged"),
        "c": StopRecord(64, "max-workers"),
    }
    busy = LoadRecord(2, 30, 2.6, 3.1, 0.41, 0.7, 0.0, True)
    adaptive = RunInfo(
        id="r",
        options={"plan": "adaptive", "min_workers": 4, "max_workers": 64},
        stops=stops,
        load=busy,
    )
    assert plan_text(adaptive) == (
        "adaptive plan (anytime-valid, 4–64 rounds): 1 changed, 1 unchanged, 1 at the round "
        "cap; median 9 rounds, 77 in all"
    )
    twice = replace(adaptive, options={**adaptive.options, "busy_max_workers": 128})
    assert plan_text(twice).startswith(
        "adaptive plan (anytime-valid, 4–64 (128 on a busy machine) rounds): 1 changed"
    )
    text = load_text(adaptive)
    assert text is not None
    assert text.startswith("other processes took 41% of the CPU (at most 70% between rounds)")
    assert "high:" in text
