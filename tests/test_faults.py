"""The fault matrix (issue 14): whatever a benchmark or the disk does, the run ends,
says what happened in one line, and keeps what it measured. Real workers, real
processes, real files; each test names the fault it plays."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import SUITES, perfkit_cli
from helpers.processes import sleepers

from perfkit.rundir import load_run

LEFTOVERS = str(SUITES / "leftovers_suite.py")


def _mark() -> str:
    """A `sleep` argument no other process uses, to find our benchmark's children."""
    return f"75.{random.randrange(10**6):06d}"


def _env(mark: str) -> dict[str, str]:
    return {**os.environ, "PERFKIT_TEST_SLEEP": mark}


def _run(*args: str, mark: str = "75", cwd: Path | None = None, timeout: float = 150):
    started = time.monotonic()
    done = perfkit_cli("run", *args, env=_env(mark), cwd=cwd, timeout=timeout)
    return done, time.monotonic() - started


def _run_dir(done: subprocess.CompletedProcess[str]) -> Path:
    return Path(done.stdout.strip().splitlines()[-1])


def test_detached_child_of_a_hanging_body_is_killed_at_the_timeout(tmp_path: Path) -> None:
    mark = _mark()
    done, seconds = _run(
        LEFTOVERS, "--only", "detached_child_then_hang", "--quick", "--out", str(tmp_path),
        mark=mark,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert seconds < 60  # the timeout is 1 s; before, the detached child held the run forever
    run = load_run(_run_dir(done))
    assert list(run.failures["kind"]) == ["timeout"]
    assert f"sleep {mark}" in done.stderr  # named in the warning
    assert not sleepers(mark)


def test_children_and_threads_left_by_setup_do_not_void_results(tmp_path: Path) -> None:
    mark = _mark()
    done, seconds = _run(
        LEFTOVERS, "--only", "*_in_setup", "--quick", "--workers", "2", "--out", str(tmp_path),
        mark=mark,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert seconds < 90  # the default timeout is 300 s: nobody waited for the leftovers
    run = load_run(_run_dir(done))
    assert run.failures.empty
    assert run.samples.groupby("benchmark")["worker"].nunique().to_dict() == {
        "detached_helper_in_setup": 2,
        "helper_child_in_setup": 2,
        "thread_left_in_setup": 2,
    }
    warnings = [line for line in done.stderr.splitlines() if "killed what the worker left" in line]
    assert len(warnings) == 3  # once per case, not once per worker
    assert sum(f"sleep {mark}" in line for line in warnings) == 2
    assert sum("thread 'poller'" in line for line in warnings) == 1
    assert not sleepers(mark)


def test_memory_pass_crashes_are_crashes_promptly(tmp_path: Path) -> None:
    done, seconds = _run(
        LEFTOVERS, "--only", "crash_*", "--memory", "--quick", "--workers", "1",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert seconds < 90  # the default timeout is 300 s: nothing waited for it
    run = load_run(_run_dir(done))
    assert len(run.failures) == 6  # 3 benchmarks x (timing, memory)
    assert set(run.failures["kind"]) == {"crash"}
    messages = run.failures.groupby("benchmark")["message"].apply(set).to_dict()
    assert all("code 3" in m for m in messages["crash_exit"])
    assert all("SIGKILL" in m for m in messages["crash_sigkill"])
    assert all("SIGSEGV" in m for m in messages["crash_segfault"])


@pytest.fixture(scope="module")
def chdir_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A profiled run of a body that changes directory, written to a relative --out."""
    cwd = tmp_path_factory.mktemp("project")
    done, _ = _run(
        LEFTOVERS, "--only", "changes_directory", "--profile", "--profile-workers", "1",
        "--quick", "--workers", "1", "--out", "runs", cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return cwd, _run_dir(done)


def test_chdir_in_a_body_keeps_profiles_inside_the_run(chdir_run: tuple[Path, Path]) -> None:
    cwd, run_path = chdir_run
    assert run_path.is_absolute() and run_path.parent == cwd / "runs"
    run = load_run(run_path)
    assert len(run.profiles) == 1
    assert (run.path / run.profiles["file"][0]).is_file()


def test_snakeviz_does_not_outlive_a_killed_view(chdir_run: tuple[Path, Path]) -> None:
    _, run_path = chdir_run
    view = subprocess.Popen(
        [sys.executable, "-m", "perfkit", "view", str(run_path), "changes_directory",
         "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert view.stdout is not None
        url = view.stdout.readline()
        assert url.startswith("http://127.0.0.1:"), view.stderr.read() if view.stderr else ""
        (snakeviz,) = psutil.Process(view.pid).children()
        view.kill()  # SIGKILL: no handler of ours runs
        view.wait(timeout=10)
        gone, _ = psutil.wait_procs([snakeviz], timeout=10)
        assert gone, "snakeviz still serving after its parent was killed"
    finally:
        view.kill()
        view.communicate()


def _start_run(args: list[str], mark: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perfkit", "run", *args],
        cwd=cwd,
        env=_env(mark),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_sigterm_stops_a_run_held_by_a_detached_child(tmp_path: Path) -> None:
    mark = _mark()
    args = [LEFTOVERS, "--only", "detached_child_then_hang_long", "--quick", "--out", "runs"]
    proc = _start_run(args, mark, tmp_path)
    _wait_for(lambda: bool(sleepers(mark)))
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 15  # before: only SIGKILL stopped it
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    meta = json.loads((tmp_path / _run_dir_from(out) / "run.json").read_text())
    assert meta["status"] == "interrupted"
    assert not sleepers(mark)


def _run_dir_from(stdout: str) -> Path:
    return Path(stdout.strip().splitlines()[-1])


def test_ctrl_c_twice_within_a_millisecond(tmp_path: Path) -> None:
    args = [LEFTOVERS, "--only", "sleeps_a_while", "--workers", "200", "--out", "runs"]
    proc = _start_run(args, "75", tmp_path)

    def measuring() -> bool:
        found = list(tmp_path.glob("runs/*/samples.csv"))
        return bool(found) and len(found[0].read_text().splitlines()) > 3

    _wait_for(measuring)
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.001)  # back to back, two SIGINTs would merge into one pending signal
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "release unlocked lock" not in err
    (run_json,) = tmp_path.glob("runs/*/run.json")
    assert json.loads(run_json.read_text())["status"] == "interrupted"
    assert _run_dir_from(out) == run_json.parent  # and the partial run is named


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([str(SUITES / "empty_suite.py")], "no benchmarks"),
        ([str(SUITES / "basic_suite.py"), "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_nothing_to_measure_is_a_usage_error(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    done = perfkit_cli("run", *args, "--out", str(tmp_path))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr
    assert not list(tmp_path.iterdir())  # no empty run directory left


def test_a_corrupt_index_is_one_line_and_reindex_rebuilds_it(tmp_path: Path) -> None:
    runs, db = tmp_path / "runs", tmp_path / "perfkit.sqlite"
    env = {**os.environ, "PERFKIT_DB": str(db)}
    db.write_bytes(b"this is not a database" * 100)
    done = perfkit_cli(
        "run", LEFTOVERS, "--only", "sleeps_a_while", "--quick", "--workers", "3",
        "--out", str(runs), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # the run directory is the source of truth
    assert "history index not updated" in done.stderr
    bad = runs / "20000101T000000-dead"  # a run directory whose run.json is garbage
    bad.mkdir()
    (bad / "run.json").write_text("{not json")

    shown = perfkit_cli("history", "sleeps_a_while", "--runs-dir", str(runs), env=env)
    assert shown.returncode == 2
    assert shown.stderr.count("\n") == 1 and "Traceback" not in shown.stderr
    assert f"{db}: not a usable SQLite index" in shown.stderr and "--reindex" in shown.stderr

    rebuilt = perfkit_cli(
        "history", "sleeps_a_while", "--runs-dir", str(runs), "--reindex", env=env
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"warning: skipped {bad}" in rebuilt.stderr and "indexed 1 run(s)" in rebuilt.stderr
    rows = [line for line in rebuilt.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 1 and "sleeps_a_while @current" in rebuilt.stdout  # one run, its series


_EXPORT_AND_READ = """
import hashlib, sys, time
from pathlib import Path
from perfkit.collect.targets import checkout
tree, _ = checkout("HEAD", Path(sys.argv[1]), cache=Path(sys.argv[2]))
digests = set()
for _ in range(10):
    digests.add(hashlib.sha256((tree / "big.bin").read_bytes()).hexdigest())
    time.sleep(0.01)
print(" ".join(sorted(digests)))
"""


def test_concurrent_exports_of_one_commit_never_show_a_partial_file(tmp_path: Path) -> None:
    import hashlib

    repo = tmp_path / "repo"
    repo.mkdir()
    content = random.Random(7).randbytes(4 * 2**20)
    (repo / "big.bin").write_bytes(content)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "big"], cwd=repo, check=True)
    expected = hashlib.sha256(content).hexdigest()
    for attempt in range(2):
        cache = tmp_path / f"cache{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _EXPORT_AND_READ, str(repo), str(cache)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.split() == [expected]  # every read saw the whole file
        assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 512 KiB tmpfs (root only): a disk that fills up for real."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> None:
    with contextlib.suppress(OSError), open(disk / "filler", "wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 4096)


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if "error:" in line]


def test_a_full_disk_stops_the_run_in_one_line_and_keeps_what_was_written(
    small_disk: Path,
) -> None:
    args = [LEFTOVERS, "--only", "sleeps_a_while", "--workers", "200", "--out", str(small_disk)]
    proc = _start_run(args, "75", small_disk)

    def measuring() -> bool:
        found = list(small_disk.glob("*/samples.csv"))
        return bool(found) and len(found[0].read_text().splitlines()) > 3

    _wait_for(measuring)
    _fill(small_disk)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    (line,) = _error_lines(err)
    assert "cannot write" in line and "No space left on device" in line
    (run_dir,) = [p for p in small_disk.iterdir() if p.is_dir()]
    assert f"kept in {run_dir}" in line
    assert len(load_run(run_dir).samples) >= 3  # whole files only, none cut short
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_file_size_limit_marks_the_run_failed(tmp_path: Path) -> None:
    import resource

    def limit_file_size() -> None:  # Python ignores SIGXFSZ: writes past it fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    done = subprocess.run(
        [sys.executable, "-m", "perfkit", "run", LEFTOVERS, "--only", "wide_rows",
         "--workers", "60", "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, preexec_fn=limit_file_size,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = _error_lines(done.stderr)
    (run_dir,) = tmp_path.iterdir()
    assert f"cannot write {run_dir}" in line and "File too large" in line
    assert "status 'failed'" in line
    run = load_run(run_dir)
    assert run.meta["status"] == "failed"
    assert len(run.samples) >= 3


def test_a_read_only_output_directory_is_one_line(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = perfkit_cli("run", LEFTOVERS, "--only", "sleeps_a_while", "--quick",
                       "--out", str(small_disk / "runs"))  # fmt: skip
    assert done.returncode == 2
    (line,) = _error_lines(done.stderr)
    assert f"cannot write {small_disk / 'runs'}" in line and "Read-only file system" in line
