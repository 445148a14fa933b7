"""The measurement engine end to end: real workers, real run directories, real faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SUITES, TARGETS, perfkit_cli

from perfkit.rundir import load_run


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def test_basic_run_writes_contract_files(tmp_path: Path) -> None:
    marker = tmp_path / "teardown.txt"
    proc = perfkit_cli(
        "run",
        str(SUITES / "basic_suite.py"),
        "--quick",
        "--out",
        str(tmp_path / "runs"),
        env={**os.environ, "PERFKIT_TEARDOWN_MARKER": str(marker)},
    )
    assert proc.returncode == 1, proc.stderr  # one benchmark raises
    run = load_run(run_dir_of(proc))
    assert run.meta["status"] == "complete"
    assert set(run.samples["benchmark"]) == {"sum_range", "with_teardown"}
    assert set(run.samples["params"]) == {"n=100", "n=200", ""}
    assert run.samples.groupby(["benchmark", "params"])["worker"].nunique().min() == 4
    assert (run.samples["seconds"] > 0).all()
    assert list(run.failures["kind"]) == ["error"]
    assert "boom from the body" in run.failures["message"][0]
    assert run.cases["sum_range[n=100]"].name == "sum_range"
    # Teardown ran once per worker (yield-style benchmark).
    assert marker.read_text().count("teardown") == 4
    # stdout is the run directory alone; the summary (medians, failures, next) is on stderr.
    assert proc.stdout.strip().splitlines() == [str(run.path)]
    err = " ".join(proc.stderr.split())
    assert "median time per call" in err and "sum_range[n=200]" in err
    assert "1 failed: raises_in_body @current: error:" in err
    assert f"next: perfkit report {run.id}" in err


def test_faults_are_recorded_and_the_rest_goes_on(tmp_path: Path) -> None:
    proc = perfkit_cli(
        "run", str(SUITES / "faults_suite.py"), "--quick", "--workers", "2", "--out", str(tmp_path)
    )
    assert proc.returncode == 1
    run = load_run(run_dir_of(proc))
    kinds = dict(zip(run.failures["benchmark"], run.failures["kind"], strict=True))
    assert kinds == {
        "raises_in_setup": "error",
        "hangs": "timeout",
        "exits": "crash",
        "segfaults": "crash",
    }
    messages = dict(zip(run.failures["benchmark"], run.failures["message"], strict=True))
    assert (
        "setup could not connect" in messages["raises_in_setup"]
        and "in setup" in messages["raises_in_setup"]
    )
    assert "SIGSEGV" in messages["segfaults"]
    assert "code 3" in messages["exits"]
    # A failing case is not retried in later rounds: one row each.
    assert len(run.failures) == 4
    measured = set(run.samples["benchmark"])
    assert measured == {"fine", "odd_ids"}
    assert run.samples[run.samples["benchmark"] == "odd_ids"]["params"].nunique() == 3


def test_two_targets_interleave_rounds(tmp_path: Path) -> None:
    proc = perfkit_cli(
        "run",
        str(SUITES / "target_suite.py"),
        "--quick",
        "--target",
        f"old={TARGETS / 'v1'}",
        "--target",
        f"new={TARGETS / 'v2'}",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 1, proc.stderr
    run = load_run(run_dir_of(proc))
    assert run.meta["interleaved"] is True
    assert set(run.meta["targets"]) == {"old", "new"}
    work = run.samples[run.samples["benchmark"] == "work"]
    assert work.groupby("target")["worker"].nunique().to_dict() == {"new": 4, "old": 4}
    # `version` fails only where v2 is imported: proof each worker imported its own target.
    assert list(zip(run.failures["benchmark"], run.failures["target"], strict=True)) == [
        ("version", "new")
    ]
    assert "imported v2" in run.failures["message"][0]
    # Two targets end with the verdict table, first target as baseline, and what to type next.
    assert proc.stdout.strip().splitlines() == [str(run.path)]
    err = " ".join(proc.stderr.split())
    assert f"{run.id}: old → new (baseline → current" in err
    assert "1 benchmark(s):" in err and "1 failed: version @new: error:" in err
    assert f"next: perfkit report {run.id} perfkit compare {run.id}" in err


def test_only_selects_by_glob_repeated_and_comma_separated(tmp_path: Path) -> None:
    proc = perfkit_cli(
        "run",
        str(SUITES / "basic_suite.py"),
        "--quick",
        "--workers",
        "2",
        "--only",
        "sum_range[n=2*",
        "--only",
        "nothing*,with_teardown",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    run = load_run(run_dir_of(proc))
    assert set(zip(run.samples["benchmark"], run.samples["params"], strict=True)) == {
        ("sum_range", "n=200"),
        ("with_teardown", ""),
    }
    assert run.meta["options"]["only"] == ["sum_range[n=2*", "nothing*", "with_teardown"]


def test_only_patterns_split_on_commas_outside_brackets() -> None:
    from perfkit.collect.discovery import only_patterns

    assert only_patterns(None) == []
    assert only_patterns("a*") == ["a*"]
    assert only_patterns(["a*, b", "f[x=1,y=2],c"]) == ["a*", "b", "f[x=1,y=2]", "c"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "no/such/suite.py"], "suite not found: no/such/suite.py"),
        (["run", "no_such_module_xyz"], "suite not found: no_such_module_xyz"),
        (["run", "SUITE", "--target", "nolabel"], "bad target 'nolabel'"),
        (["run", "SUITE", "--target", "a=/no/such/dir"], "is not a directory"),
        (
            ["run", "SUITE", "--target", "a=git:no-such-ref-xyz"],
            "unknown git ref 'no-such-ref-xyz'",
        ),
        (["run", "SUITE", "--target", "a=.", "--target", "a=."], "duplicate target label(s): a"),
        (["run", "SUITE", "--only", "nothing*"], "no benchmark matches --only 'nothing*'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    args = [str(SUITES / "basic_suite.py") if a == "SUITE" else a for a in args]
    proc = perfkit_cli(*args, "--out", str(tmp_path), "--quick", cwd=Path(__file__).parent.parent)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert not list(tmp_path.iterdir())  # nothing half-created


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    suite = tmp_path / "broken_suite.py"
    suite.write_text("import perfkit\n\n\ndef oops(:\n    pass\n")
    proc = perfkit_cli("run", str(suite), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2
    assert f"{suite}:4: syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_git_target_is_checked_out_and_cached(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sample_app").mkdir(parents=True)
    source = (TARGETS / "v1" / "sample_app" / "__init__.py").read_text()
    (repo / "sample_app" / "__init__.py").write_text(source)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=repo, check=True)
    (repo / "sample_app" / "__init__.py").write_text(source.replace('"v1"', '"v2"'))
    subprocess.run([*git, "commit", "-qam", "v2"], cwd=repo, check=True)
    args = [
        "run",
        str(SUITES / "target_suite.py"),
        "--quick",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "runs"),
        "--target",
        "old=git:HEAD~1",
        "--target",
        "new=git:HEAD",
    ]
    proc = perfkit_cli(*args, cwd=repo)
    assert proc.returncode == 1, proc.stderr
    run = load_run(run_dir_of(proc))
    old = run.meta["targets"]["old"]
    assert old["git_sha"] and Path(old["path"]).is_dir()
    assert list(zip(run.failures["benchmark"], run.failures["target"], strict=True)) == [
        ("version", "new")
    ]
    cached = Path(old["path"]) / "sample_app" / "__init__.py"
    stamp = cached.stat().st_mtime_ns
    assert perfkit_cli(*args, cwd=repo).returncode == 1
    assert cached.stat().st_mtime_ns == stamp  # reused, not exported again


def test_git_target_from_a_subdirectory_exports_the_whole_commit(tmp_path: Path) -> None:
    from perfkit.collect.targets import checkout

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "top.py").write_text("X = 1\n")
    (repo / "pkg" / "inner.py").write_text("Y = 2\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    tree, sha = checkout("HEAD", repo / "pkg", cache=tmp_path / "cache")
    assert (tree / "top.py").is_file() and (tree / "pkg" / "inner.py").is_file()
    assert tree.name == sha


def test_ctrl_c_keeps_a_valid_partial_run(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perfkit",
            "run",
            str(SUITES / "basic_suite.py"),
            "--workers",
            "50",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    samples = None
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("*/samples.csv"))
        if found and len(found[0].read_text().splitlines()) > 10:
            samples = found[0]
            rows_seen = len(samples.read_text().splitlines()) - 1
            break
        time.sleep(0.1)
    assert samples is not None, "no samples appeared"
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert proc.returncode == 130, err
    run_path = Path(out.strip().splitlines()[-1])
    meta = json.loads((run_path / "run.json").read_text())
    assert meta["status"] == "interrupted"
    run = load_run(run_path)
    assert len(run.samples) >= rows_seen >= 10  # nothing measured before Ctrl-C was lost
    assert "Traceback" not in err


def test_rounds_interleave_targets_and_share_a_hash_seed() -> None:
    import random

    from perfkit.collect.jobs import plan_jobs
    from perfkit.collect.targets import Target
    from perfkit.config import DEFAULT_PLAN
    from perfkit.rundir.schema import CaseRecord

    cases = [CaseRecord(f"c{i}", f"c{i}") for i in range(2)]
    targets = [Target("a", "a", "/a"), Target("b", "b", "/b")]
    jobs = plan_jobs(cases, targets, DEFAULT_PLAN, profile=True, memory=False, rng=random.Random(3))
    timing = [job for job in jobs if job.mode == "time"]
    assert len(timing) == DEFAULT_PLAN.workers * 4
    by_round: dict[int, list] = {}
    for job in timing:
        by_round.setdefault(job.worker, []).append(job)
    for round_jobs in by_round.values():
        assert {(j.case.id, j.target.label) for j in round_jobs} == {
            (c.id, t.label) for c in cases for t in targets
        }
        assert len({j.hash_seed for j in round_jobs}) == 1
    assert len({jobs[0].hash_seed for jobs in by_round.values()}) == len(by_round)
    orders = {tuple(j.target.label for j in r[:2]) for r in by_round.values()}
    assert orders == {("a", "b"), ("b", "a")}  # both orders occur: no target is always first
    profiles = jobs[len(timing) :]
    assert [j.mode for j in profiles] == ["profile"] * 4 * DEFAULT_PLAN.profile_workers
    # profiling workers run in rounds too: every (case, target) once per round
    for worker in range(DEFAULT_PLAN.profile_workers):
        round_jobs = [j for j in profiles if j.worker == worker]
        assert len({(j.case.id, j.target.label) for j in round_jobs}) == 4


def test_worker_env_respects_a_users_hash_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfkit.collect.worker_call import worker_env

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    assert worker_env(42)["PYTHONHASHSEED"] == "42"
    assert worker_env(None) is None
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert worker_env(42) is None


ATEXIT_SUITE = """
import atexit
import os

import perfkit


@perfkit.benchmark
def noop():
    def mark():
        with open(os.environ["PERFKIT_ATEXIT_MARKER"], "a") as handle:
            handle.write("atexit\\n")

    atexit.register(mark)
    return lambda: None
"""


def test_workers_skip_finalization_but_run_atexit_handlers(tmp_path: Path) -> None:
    suite, marker = tmp_path / "atexit_suite.py", tmp_path / "atexit.txt"
    suite.write_text(ATEXIT_SUITE)
    proc = perfkit_cli(
        "run",
        str(suite),
        "--quick",
        "--workers",
        "2",
        "--out",
        str(tmp_path / "runs"),
        env={**os.environ, "PERFKIT_ATEXIT_MARKER": str(marker)},
    )
    assert proc.returncode == 0, proc.stderr
    # Worker processes end with os._exit after their message; the handlers a benchmark
    # registered still ran, once per timing worker.
    assert marker.read_text().count("atexit") == 2
    assert load_run(run_dir_of(proc)).failures.empty
