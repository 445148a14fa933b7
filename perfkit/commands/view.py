"""`perfkit view RUN BENCHMARK`: open one recorded profile in snakeviz, on 127.0.0.1 only.

Finds the profile through the run directory and checks it loads, then runs snakeviz
in server mode as a child process until Ctrl-C. It never changes the run.
"""

from __future__ import annotations

import argparse
import ctypes
import fnmatch
import os
import signal
import socket
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO

from perfkit.errors import PerfkitError, ProfileError
from perfkit.rundir import DEFAULT_RUNS_DIR, Run, case_id, load_run
from perfkit.rundir.refs import pick_sides

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view",
        help="open a benchmark's profile in snakeviz (127.0.0.1)",
        description="Serve one recorded profile with snakeviz on 127.0.0.1 until Ctrl-C. "
        ".prof files are trusted input: pstats reads them with marshal, which is not safe "
        "against maliciously made files.",
    )
    p.add_argument("run_ref", metavar="RUN", help="run id, run dir, or 'latest'")
    p.add_argument("benchmark", metavar="BENCHMARK", help="benchmark id, e.g. 'process[n=10]'")
    p.add_argument(
        "--target",
        metavar="LABEL",
        help="target label (default: the only one, else the current side: 'current' or the "
        "second target)",
    )
    p.add_argument("--port", type=int, help="port to serve on (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _profiled(run: Run) -> list[tuple[str, str]]:
    rows = run.profiles
    return [
        (case_id(b, p), t)
        for b, p, t in zip(rows["benchmark"], rows["params"], rows["target"], strict=True)
    ]


def choose(run: Run, benchmark: str, target: str | None) -> tuple[str, str]:
    """The (full id, target) of the profile meant by the command line, or a one-line error."""
    profiled = _profiled(run)
    if not profiled:
        raise ProfileError(
            f"run {run.id} has no profiles (record them with `perfkit run --profile`)"
        )
    ids = sorted({i for i, _ in profiled})
    matches = [i for i in ids if i == benchmark] or [
        i for i in ids if fnmatch.fnmatchcase(i, benchmark) or i.split("[", 1)[0] == benchmark
    ]
    if not matches:
        raise ProfileError(
            f"run {run.id} has no profile of {benchmark!r} (profiled: {', '.join(ids)})"
        )
    if len(matches) > 1:
        raise ProfileError(f"{benchmark!r} matches {len(matches)} profiles: {', '.join(matches)}")
    full_id = matches[0]
    profiled_for = {t for i, t in profiled if i == full_id}
    labels = [t for t in run.targets if t in profiled_for]
    labels += sorted(profiled_for - set(labels))
    if target is None:
        # The current side, by the same rule as compare and report (perfkit.rundir.refs).
        target = labels[0] if len(labels) == 1 else pick_sides(labels, run_id=run.id)[1]
    elif target not in labels:
        raise ProfileError(
            f"run {run.id} has no profile of {full_id} for target {target!r} (have: {', '.join(labels)})"
        )
    return full_id, target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _dies_with_us() -> Callable[[], None] | None:
    """A preexec_fn that makes the kernel SIGTERM the child when this process dies,
    even by SIGKILL (Linux's PR_SET_PDEATHSIG); None where that does not exist."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # we died before the request took effect
            os._exit(1)

    return preexec


def start_snakeviz(path: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start snakeviz in server mode; return the process and the URL it serves.

    snakeviz lives no longer than this command: Ctrl-C and SIGTERM stop it in order,
    and the kernel ends it if this command is killed outright.
    """
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "snakeviz", "-s", "-H", HOST, "-p", str(port), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_dies_with_us(),  # safe: this command has no threads yet
    )
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # snakeviz prints a banner, then the URL
        seen.append(line.strip())
        if line.startswith("http://"):
            # Keep draining its output, or a full pipe would block the server one day.
            threading.Thread(target=_forward, args=(proc.stdout,), daemon=True).start()
            return proc, line.strip()
    proc.wait()
    detail = next((s for s in reversed(seen) if s), f"exit code {proc.returncode}")
    raise PerfkitError(f"snakeviz did not start for {path}: {detail}")


def _forward(stream: IO[str]) -> None:
    for line in stream:
        if line.strip() and line.strip() != "Bye!":
            print(f"snakeviz: {line.rstrip()}", file=sys.stderr, flush=True)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from perfkit.analysis.run_profiles import load_run_profile

    run_data = load_run(args.run_ref, args.runs_dir)
    full_id, target = choose(run_data, args.benchmark, args.target)
    profile = load_run_profile(run_data, target, full_id)  # a bad file fails here, in one line
    assert profile.path is not None
    port = args.port if args.port is not None else free_port()
    if not 0 < port < 65536:
        raise PerfkitError(f"--port must be between 1 and 65535, got {port}")
    # Being terminated must stop snakeviz too, not leave it serving.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    proc, url = start_snakeviz(profile.path, port)
    try:
        print(f"{full_id} @{target}: {profile.path}", file=sys.stderr)
        print(url, flush=True)
        print("serving on 127.0.0.1; Ctrl-C to stop", file=sys.stderr, flush=True)
        if not args.no_browser:
            webbrowser.open(url, new=2)
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _stop(proc)
        signal.signal(signal.SIGTERM, previous)
    return 0
