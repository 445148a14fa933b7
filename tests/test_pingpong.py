"""Ping-pong rounds (`perfkit.collect.pingpong`): a round's timing workers alive together,
taking their samples in turn. Real worker processes on a small suite whose behaviour each
target's module chooses: alternation, one side failing (error, crash, hang), leftovers,
Ctrl-C, a foreign interpreter, and the CLI switch."""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import psutil
import pytest
from conftest import perfkit_cli
from helpers.processes import sleepers

from perfkit.collect.supervisor import Interrupted, Workers
from perfkit.collect.worker_call import call_round
from perfkit.config import DEFAULT_PLAN
from perfkit.rundir import load_run
from perfkit.rundir.schema import WorkerRequest

SUITE = """
import os, subprocess, time
import perfkit


@perfkit.benchmark()
def side():
    import pp_side

    def body():
        with open(os.environ["PP_LOG"], "a") as log:
            log.write(pp_side.NAME + "\\n")
        if pp_side.MODE == "crash":
            os._exit(3)
        if pp_side.MODE == "hang":
            time.sleep(3600)
        time.sleep(0.002)

    if pp_side.MODE == "setup_error":
        raise RuntimeError("setup broke")
    if pp_side.MODE == "child":
        subprocess.Popen(["sleep", os.environ["PP_MARK"]], start_new_session=True)
    return body
"""

# Ping-pong takes its own counts (3 samples of 1 ms here), not those of a worker alone.
PLAN = replace(
    DEFAULT_PLAN, samples=5, min_sample_seconds=0.02, warmups=1,
    pingpong_samples=3, pingpong_min_sample_seconds=0.001,
)  # fmt: skip


def _targets(tmp_path: Path, **modes: str) -> list[Path]:
    paths = []
    for name, mode in modes.items():
        path = tmp_path / name
        path.mkdir()
        (path / "pp_side.py").write_text(f"NAME = {name!r}\nMODE = {mode!r}\n")
        paths.append(path)
    return paths


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pp_suite.py"
    path.write_text(SUITE)
    monkeypatch.setenv("PP_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("PP_MARK", f"76.{random.randrange(10**6):06d}")
    return path


def _round(suite: Path, targets: list[Path], timeout: float = 60, workers: Workers | None = None,
           pythons: list[str | None] | None = None):  # fmt: skip
    requests = [
        WorkerRequest("time", str(suite), str(t), "side", "", asdict(PLAN), None, 7)
        for t in targets
    ]
    pythons = pythons or [None] * len(targets)
    return call_round(workers or Workers(), requests, timeout, pythons, random.Random(3))


def _calls(suite: Path) -> list[str]:
    return (suite.parent / "calls.log").read_text().split()


def test_samples_of_a_round_alternate_between_its_targets(suite: Path, tmp_path: Path) -> None:
    outcomes = _round(suite, _targets(tmp_path, a="ok", b="ok", c="ok"))
    assert all(o is not None and o.ok for o in outcomes)
    assert [len(o.payload["samples"]) for o in outcomes] == [3, 3, 3]  # type: ignore[union-attr,index]
    calls = _calls(suite)
    # Calibration calls first (at least two each: a 2 ms body outlasts the 1 ms sample at
    # once, so its first call is timed again, and again while a call takes under half the one
    # before), in any order as the workers start together; then 4 steps (1 warm-up, 3
    # samples), each one call of every target before the next step begins.
    calibration = {
        name: o.payload["body_calls"] - 4  # type: ignore[union-attr,index]
        for name, o in zip("abc", outcomes, strict=True)
    }
    assert all(n >= 2 for n in calibration.values())
    first = sum(calibration.values())
    assert sorted(calls[:first]) == sorted(n for n, k in calibration.items() for _ in range(k))
    steps = [calls[i : i + 3] for i in range(first, len(calls), 3)]
    assert len(steps) == 4 and all(sorted(step) == ["a", "b", "c"] for step in steps)
    assert len({tuple(step) for step in steps}) > 1  # a fresh random order per step


def test_a_setup_error_on_one_side_voids_the_other(suite: Path, tmp_path: Path) -> None:
    outcomes = _round(suite, _targets(tmp_path, a="ok", b="setup_error"))
    assert outcomes[0] is None
    assert outcomes[1] is not None and not outcomes[1].ok
    assert outcomes[1].kind == "error" and "setup broke" in outcomes[1].message


def test_a_crash_between_samples_is_a_crash_and_loses_the_pair(suite: Path, tmp_path: Path) -> None:
    outcomes = _round(suite, _targets(tmp_path, a="crash", b="ok"))
    assert outcomes[0] is not None and outcomes[0].kind == "crash"
    assert "code 3" in outcomes[0].message
    assert outcomes[1] is None


def test_a_hanging_side_times_out_on_its_own_budget(suite: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    outcomes = _round(suite, _targets(tmp_path, a="ok", b="hang"), timeout=2)
    assert outcomes[1] is not None and outcomes[1].kind == "timeout"
    assert outcomes[0] is None
    assert time.monotonic() - started < 15


def test_what_a_side_leaves_behind_is_killed_and_named(suite: Path, tmp_path: Path) -> None:
    outcomes = _round(suite, _targets(tmp_path, a="child", b="ok"))
    assert all(o is not None and o.ok for o in outcomes)
    assert any("sleep" in text for text in outcomes[0].leftovers)  # type: ignore[union-attr]
    assert not outcomes[1].leftovers  # type: ignore[union-attr]
    assert not sleepers(os.environ["PP_MARK"])


def test_a_stop_kills_every_worker_of_the_round(suite: Path, tmp_path: Path) -> None:
    workers = Workers()
    timer = threading.Timer(1.5, workers.stop)  # as Ctrl-C does, from the signal handler
    timer.start()
    with pytest.raises(Interrupted):
        _round(suite, _targets(tmp_path, a="ok", b="hang"), workers=workers)
    timer.join()
    alive = [
        child
        for child in psutil.Process().children(recursive=True)
        if child.is_running() and child.status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive


def test_killing_a_late_round_ends_it_without_stopping_the_run(suite: Path, tmp_path: Path) -> None:
    """A round handed out before its benchmark was decided is killed, not waited on."""
    workers = Workers()
    timer = threading.Timer(1.5, workers.kill_live)
    timer.start()
    started = time.monotonic()
    outcomes = _round(suite, _targets(tmp_path, a="ok", b="hang"), workers=workers)
    timer.join()
    assert time.monotonic() - started < 20  # the hanging side's timeout is 60 s
    assert not workers.stop_requested.is_set()
    assert not any(o is not None and o.ok for o in outcomes)  # nothing to record
    again = _round(suite, _targets(tmp_path, c="ok", d="ok"), workers=workers)  # spawns go on
    assert all(o is not None and o.ok for o in again)


def test_a_foreign_interpreter_takes_part(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped worker modules go under ./data/envs
    outcomes = _round(suite, _targets(tmp_path, a="ok", b="ok"), pythons=[None, sys.executable])
    assert all(o is not None and o.ok for o in outcomes)
    assert (tmp_path / "data" / "envs").is_dir()


@pytest.mark.parametrize("flag", [None, "--no-pingpong"])
def test_the_run_records_how_its_rounds_ran(tmp_path: Path, flag: str | None) -> None:
    suite = Path(__file__).parent / "suites" / "target_suite.py"
    targets = Path(__file__).parent / "targets"
    done = perfkit_cli(
        "run", str(suite), "--only", "work*", "--target", f"a={targets / 'v1'}",
        "--target", f"b={targets / 'v2'}", "--workers", "3", "--quick", "--out", str(tmp_path),
        *([flag] if flag else []),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = load_run(Path(done.stdout.strip().splitlines()[-1]))
    assert run.info.options["pingpong"] is (flag is None)  # ping-pong is the default
    assert sorted(set(zip(run.samples["target"], run.samples["worker"], strict=True))) == [
        (t, w) for t in ("a", "b") for w in range(3)
    ]
    if flag is None:  # the comparison pairs a ping-pong round's samples step by step
        from perfkit.analysis.comparison import compare
        from perfkit.analysis.stats import paired_ratios, stepwise_round_logs

        table = compare(run).table.set_index("id")
        logs = stepwise_round_logs(run.samples, "a", "b").sort_values("worker")
        for cid, group in logs.groupby("id"):
            (expected,) = paired_ratios([group["log_ratio"].to_numpy()], [3], [3])
            assert table.at[cid, "ratio"] == pytest.approx(expected.ratio)


def test_rounds_at_once_lease_different_cpus() -> None:
    from perfkit.collect.pingpong import _cpu_lease

    cpus = sorted(os.sched_getaffinity(0))
    rng = random.Random(1)
    with _cpu_lease(rng) as first, _cpu_lease(rng) as second:
        assert first in cpus and second in cpus
        assert (first != second) == (len(cpus) > 1)
    with _cpu_lease(rng) as again:  # released
        assert again in cpus


def test_overlapping_adaptive_rounds_keep_the_rounds_the_rule_stopped_on(tmp_path: Path) -> None:
    from conftest import SUITES

    targets = SUITES / "shift_targets"
    done = perfkit_cli(
        "run", str(SUITES / "shift_suite.py"), "--only", "grow", "--max-workers", "6",
        "--budget-seconds", "0.05", "--pingpong", "--processes", "2",
        "--target", f"baseline={targets / 'baseline'}", "--target", f"current={targets / 'current'}",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = load_run(Path(done.stdout.strip().splitlines()[-1]))
    stop = run.info.stops["grow"]
    assert 4 <= stop.rounds <= 6
    rounds = run.samples.groupby("target")["worker"].nunique()
    assert rounds["baseline"] == rounds["current"] == stop.rounds
