"""Self-benchmark: what a worker process costs before it measures, next to bare Python.

Every timing, profile and memory worker is a fresh interpreter, so its start-up is paid
hundreds of times a review. Starts, alternately, `--starts` times each: ``python -c pass``,
``python -c "import LIB"`` (the suite's library, from the directory the worker puts first
on sys.path), and a real worker (``python -m perfkit.collect.worker``) asked to time an empty
benchmark of a suite that imports LIB, with one sample. CPU is the child's user + system
time (``wait4``); wall runs from the start to the reply line (to the exit for the anchors).
The worker's cost beyond ``import LIB`` is perfkit's own share of every worker start.
`--before DIR` adds the worker of an older checkout (first on its PYTHONPATH) to the same
alternation. LIB defaults to Python-Markdown 3.4.1, installed as `review` does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from perfkit.collect.bytecode import compile_package
from perfkit.collect.worker_call import WORKER_MODULE
from perfkit.config import DEFAULT_PLAN
from perfkit.errors import PerfkitError
from perfkit.rundir.schema import WorkerRequest
from perfkit.selfbench.review import check_before, install, work_directory

SUITE = """import perfkit
import {library}


@perfkit.benchmark
def empty():
    return lambda: None
"""
# One short sample: the figure is the start-up, not the measurement.
OPTIONS = {**asdict(DEFAULT_PLAN), "samples": 1, "warmups": 0, "min_sample_seconds": 1e-4}


def start(
    args: list[str], env: dict[str, str] | None, request: bytes | None, cwd: Path
) -> tuple[float, float]:
    """CPU and wall seconds of one child: to its reply line when given a request (then its
    stdin closes and it exits), else to its exit. `cwd`: not a checkout of perfkit, whose
    package ``-m`` would import before the one on PYTHONPATH."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    line = b""
    if request is not None:
        proc.stdin.write(request + b"\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        wall = time.perf_counter() - began
    proc.stdin.close()
    proc.stdout.read()
    errors = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if request is None:
        wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    reply = json.loads(line) if line else None
    if proc.returncode != 0 or (request is not None and not (reply or {}).get("ok")):
        said = (reply or {}).get("message") or errors.decode(errors="replace").strip()
        raise PerfkitError(f"{args[-1]} failed: {said.splitlines()[-1] if said else 'no output'}")
    return usage.ru_utime + usage.ru_stime, wall


def kinds(
    library: str, path: Path | None, suite: Path, before: Path | None
) -> dict[str, tuple[list[str], dict[str, str] | None, bytes | None]]:
    """What to start, by name: command line, environment (None: ours) and request."""
    python = sys.executable
    importing = f"import {library}"
    if path is not None:
        importing = f"import sys; sys.path.insert(0, {str(path)!r}); {importing}"
    request = WorkerRequest(
        mode="time",
        suite=str(suite),
        target_path=None if path is None else str(path),
        name="empty",
        options=OPTIONS,
    )
    line = json.dumps(request.to_json()).encode()
    found = {
        "python -c pass": ([python, "-c", "pass"], None, None),
        f"import {library}": ([python, "-c", importing], None, None),
        "worker": ([python, "-m", WORKER_MODULE], None, line),
    }
    if before is not None:
        env = {**os.environ, "PYTHONPATH": str(before.resolve())}
        found["worker (--before)"] = ([python, "-m", WORKER_MODULE], env, line)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench startup")
    parser.add_argument("--starts", type=int, default=20, help="starts of each kind (default 20)")
    parser.add_argument(
        "--library", default="markdown", help="the suite's library (default markdown)"
    )
    parser.add_argument(
        "--path", type=Path, help="directory to import it from (default: Python-Markdown 3.4.1)"
    )
    parser.add_argument("--out", type=Path, help="work directory (markdown installed once)")
    parser.add_argument(
        "--before", type=Path, help="a checkout of an older perfkit: its worker alternates too"
    )
    args = parser.parse_args(argv)
    if args.starts < 1:
        raise PerfkitError("--starts must be at least 1")
    if args.before is not None:
        check_before(args.before)
    path = args.path
    if path is None and args.library == "markdown":
        path = install(work_directory(args.out))[1].resolve()
    # As `perfkit run` does: workers import compiled perfkit, not its sources.
    compile_package()
    if args.before is not None:
        compile_package(args.before.resolve() / "perfkit")
    with tempfile.TemporaryDirectory(prefix="perfkit-startup-") as work:
        suite = Path(work) / "startup_suite.py"
        suite.write_text(SUITE.format(library=args.library), encoding="utf-8")
        todo = kinds(args.library, path, suite, args.before)
        cpu: dict[str, list[float]] = {name: [] for name in todo}
        wall: dict[str, list[float]] = {name: [] for name in todo}
        for i in range(args.starts):
            order = list(todo) if i % 2 == 0 else list(todo)[::-1]
            for name in order:
                seconds = start(*todo[name], cwd=Path(work))
                cpu[name].append(seconds[0])
                wall[name].append(seconds[1])
    print(f"worker start-up, median of {args.starts} starts each, alternating (ms)")
    print(f"  {'':<24} {'CPU':>7} {'wall':>7}")
    for name in todo:
        print(
            f"  {name:<24} {statistics.median(cpu[name]) * 1e3:7.1f} "
            f"{statistics.median(wall[name]) * 1e3:7.1f}"
        )
    anchor = f"import {args.library}"
    print(f"beyond {anchor} (median of paired differences: perfkit's own share)")
    for name in [n for n in todo if n.startswith("worker")]:
        extra_cpu = statistics.median(a - b for a, b in zip(cpu[name], cpu[anchor], strict=True))
        extra_wall = statistics.median(a - b for a, b in zip(wall[name], wall[anchor], strict=True))
        print(f"  {name:<24} {extra_cpu * 1e3:+7.1f} {extra_wall * 1e3:+7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
