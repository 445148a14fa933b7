"""History at scale: 1,000 runs × 100 benchmarks in a SQLite store, then how fast
`history` of one benchmark answers and how long detection over every series takes.

Synthetic rows (8 worker medians per point, a few steps per series) go straight into
the store through `Store.insert_points`; the reads and detection are the code
`perfkit history` runs. Goals (issue 17): one benchmark < 200 ms, all series < 10 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from perfkit.analysis.trends import all_changes
from perfkit.history.query import load_series
from perfkit.history.store import MachineClass, Store

START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(store: Store, runs: int, benchmarks: int, workers: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    machine = MachineClass("Synthetic CPU", 2, "CPython", "3.11.7", "0.1.0")
    levels = np.ones((benchmarks, runs))
    for b in range(benchmarks):
        for at in rng.choice(np.arange(10, runs - 10), size=3, replace=False):
            levels[b, at:] *= 1 + rng.choice([-1, 1]) * rng.choice([0.05, 0.1, 0.2])
    run_rows, rows = [], []
    for r in range(runs):
        when = START + timedelta(hours=r)
        run_id = f"{when:%Y%m%dT%H%M%S}-{r % 65536:04x}"
        created = when.isoformat(timespec="seconds")
        sha = f"{r:08x}" + "0" * 32
        run_rows.append({"run_id": run_id, "created": created, "status": "complete",
                         "suite": "synthetic", "path": "", "hostname": "h",
                         "machine_id": machine.machine_id})  # fmt: skip
        drift = np.exp(rng.normal(0, 0.01))
        for b in range(benchmarks):
            w = 0.001 * (1 + b) * levels[b, r] * drift * np.exp(rng.normal(0, 0.03, workers))
            median = float(np.median(w))
            rows.append({
                "run_id": run_id, "benchmark_id": f"bench_{b:03d}[n={10 * (b % 7 + 1)}]",
                "target": "current", "benchmark": f"bench_{b:03d}", "params": "",
                "series": "current", "machine_id": machine.machine_id, "git_sha": sha,
                "ref": "main", "commit_time": None, "commit_order": r + 1, "created": created,
                "median_seconds": median, "ci_low_seconds": float(w.min()),
                "ci_high_seconds": float(w.max()), "n_workers": workers,
                "worker_seconds": json.dumps(w.tolist()), "peak_rss_bytes": None,
            })  # fmt: skip
    store.insert_points(machine, run_rows, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench history_scale")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--benchmarks", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="perfkit-scale-") as tmp:
        db = Path(tmp) / "perfkit.sqlite"
        started = time.perf_counter()
        with Store(f"sqlite:///{db}") as store:
            fill(store, args.runs, args.benchmarks, args.workers, seed=1)
        fill_s = time.perf_counter() - started
        one, every, n_changes = [], [], 0
        with Store(f"sqlite:///{db}", create=False) as store:
            for i in range(args.repeat):
                t = time.perf_counter()
                points = load_series(store, f"bench_{(17 * i) % args.benchmarks:03d}")
                all_changes(points)
                one.append(time.perf_counter() - t)
            for _ in range(max(1, args.repeat // 2)):
                t = time.perf_counter()
                points = load_series(store, "*")
                n_changes = len(all_changes(points))
                every.append(time.perf_counter() - t)
        cli = []
        for _ in range(3):
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "perfkit", "history", "bench_042", "--db", str(db)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            cli.append(time.perf_counter() - t)
        size_mb = db.stat().st_size / 1e6
    print(
        f"store: {args.runs} runs × {args.benchmarks} benchmarks × {args.workers} workers "
        f"= {args.runs * args.benchmarks:,} points, SQLite {size_mb:.0f} MB, filled in {fill_s:.1f} s\n"
    )
    print("| measure | median | goal |")
    print("|---|---|---|")
    print(
        f"| history of one benchmark (query + detection, in process) | "
        f"{1000 * statistics.median(one):.0f} ms | < 200 ms |"
    )
    print(
        f"| detection over all {args.benchmarks} series (query + detection) | "
        f"{statistics.median(every):.2f} s ({n_changes} changes) | < 10 s |"
    )
    print(
        f"| `perfkit history bench_042` command, wall (Python start-up and imports included) | "
        f"{statistics.median(cli):.2f} s (exit {done.returncode}) | – |"
    )
    return 0
