"""The real noise `selfbench changes` resamples: recorded from real perfkit runs, with provenance.

``record(...)`` measures ``_changes_suite.py`` ``runs`` times with ``perfkit run --workers W``
(the fixed plan a backfill uses, default samples), holding the heavy-job lock for the
whole recording (``/tmp/perfkit-heavy.lock`` by default, so no other engineer's timing job
runs meanwhile; a lock taken per run was lost to long jobs for minutes at a time), and writes ``data/selfbench/changes-noise.json``
(tracked in git, so every score can be redone from the same sample): the per-worker medians
of every (benchmark, run), and where they came from — when (UTC), which machine and Python,
which perfkit commit, the plan, and the machine load each run recorded itself (run.json's
``load``: load average, CPU share of other processes, steal). A run perfkit flagged as
loaded is kept and counted, not hidden. ``load(...)`` turns the file into relative pools.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from perfkit.errors import PerfkitError

CACHE = Path("data") / "selfbench"
NOISE_FILE = CACHE / "changes-noise.json"
HEAVY_LOCK = Path("/tmp/perfkit-heavy.lock")
SUITE = Path(__file__).with_name("_changes_suite.py")
FORMAT = 2


@dataclass(frozen=True)
class Noise:
    """Relative worker medians of real runs: one pool per (benchmark, run), in run order."""

    pools: list[np.ndarray]
    provenance: dict = field(default_factory=dict)
    left_out: int = 0  # recorded runs perfkit flagged as loaded, not resampled
    runs: list[list[np.ndarray]] = field(default_factory=list)  # whole runs: one pool a benchmark

    @property
    def benchmarks(self) -> int:
        """Benchmarks each whole run holds."""
        return len(self.runs[0]) if self.runs else 1

    @staticmethod
    def _robust_sd(values: np.ndarray) -> float:
        """1.4826 × MAD: the SD a normal body would have, blind to the outliers."""
        return float(1.4826 * np.median(np.abs(values - np.median(values))))

    @property
    def within_spread(self) -> float:
        """Median over pools of the spread (SD of logs) of one run's worker medians."""
        return float(np.median([np.std(np.log(p), ddof=1) for p in self.pools]))

    @property
    def drift(self) -> float:
        """SD of the log of run medians: how far whole runs move from one another."""
        return float(np.std(np.log([np.median(p) for p in self.pools]), ddof=1))

    def robust(self) -> tuple[float, float]:
        """Within-run spread and drift of the body (MAD-based): the heavy tails aside."""
        within = np.median([self._robust_sd(np.log(p)) for p in self.pools])
        return float(within), self._robust_sd(np.log([np.median(p) for p in self.pools]))

    def describe(self) -> str:
        p = self.provenance
        within, drift = self.robust()
        loads = [r["load"] for r in p.get("runs", []) if r.get("load")]
        load = (
            f", load average {np.mean([r['load_average_mean'] for r in loads]):.2f}, other "
            f"processes {np.mean([r['other_cpu_share_mean'] for r in loads]):.1%} of the CPU, "
            f"{sum(r['high'] for r in loads)} run(s) flagged loaded (left out: {self.left_out})"
            if loads
            else ", load not recorded"
        )
        return (
            f"noise recorded {p.get('started', '?')[:16]} UTC on {p.get('cpu_model', '?')} "
            f"× {p.get('cores', '?')}: {p.get('runs_count', '?')} real runs × "
            f"{p.get('workers', '?')} workers{load}; {len(self.pools)} pools: median "
            f"within-run spread {self.within_spread:.1%}, between-run drift {self.drift:.1%} "
            f"(SD of logs; MAD-based, the tails aside: {within:.1%} and {drift:.1%})"
        )


def _git_sha() -> str | None:
    done = subprocess.run(
        ["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def _plan(workers: int) -> list[str]:
    return ["--workers", str(workers)]


def _one_run(out: str, workers: int, only: tuple[str, ...]) -> Path:
    command = [sys.executable, "-m", "perfkit", "run", str(SUITE), *_plan(workers),
               *(f"--only={name}" for name in only), "--out", out,
               "--db", f"{out}/h.sqlite"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"noise run failed: {done.stderr.strip()[-300:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def record(
    runs: int,
    workers: int,
    lock: Path | None = HEAVY_LOCK,
    path: Path = NOISE_FILE,
    hold_runs: int = 10,
    only: tuple[str, ...] = (),
) -> Noise:
    """Measure the small suite `runs` times for real and write the sample; the lock is held
    for `hold_runs` runs at a time (other engineers' jobs get the machine in between)."""
    from perfkit.analysis.stats import worker_medians
    from perfkit.collect.envs import file_lock
    from perfkit.rundir import load_run
    from perfkit.rundir.writer import atomic_write_json

    if runs < 2 or workers < 2 or hold_runs < 1:
        raise PerfkitError("noise needs at least 2 runs of at least 2 workers")
    pools: dict[str, list[list[float]]] = {}
    per_run, holds = [], []
    print(f"recording real noise: {runs} perfkit runs of {SUITE.name}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="perfkit-noise-") as tmp:
        for first in range(0, runs, hold_runs):
            held = file_lock(lock) if lock else contextlib.nullcontext()
            with held:
                started = datetime.now(UTC).isoformat(timespec="seconds")
                for number in range(first, min(runs, first + hold_runs)):
                    run = load_run(_one_run(tmp, workers, only))
                    for case, group in worker_medians(run.samples).groupby("id"):
                        pools.setdefault(str(case), []).append(group["median_seconds"].tolist())
                    load = run.info.load.to_json() if run.info.load else None
                    per_run.append({"run_id": run.id, "created": run.info.created, "load": load})
                    print(f"  noise run {number + 1}/{runs} recorded", file=sys.stderr)
                finished = datetime.now(UTC).isoformat(timespec="seconds")
            holds.append({"started": started, "finished": finished})
    info = run.info
    data = {
        "format": FORMAT,
        "provenance": {
            "started": holds[0]["started"],
            "finished": holds[-1]["finished"],
            "holds": holds,
            "heavy_lock": str(lock) if lock else None,
            "cpu_model": info.host.get("cpu_model"),
            "cores": info.host.get("cores"),
            "hostname": info.host.get("hostname"),
            "python": info.python.get("version"),
            "perfkit_version": info.perfkit_version,
            "perfkit_commit": _git_sha(),
            "plan": f"perfkit run {SUITE.name} {' '.join(_plan(workers))} (fixed plan, one target)",
            "benchmarks": sorted(pools),
            "runs_count": runs,
            "workers": workers,
            "runs": per_run,
        },
        "pools": pools,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data)
    return from_json(data)


def from_json(data: dict) -> Noise:
    """Pools relative to each benchmark's median run, in run order per benchmark, and the
    same pools as whole runs (every benchmark of one run together); runs perfkit flagged
    as loaded while they measured are left out (the file keeps them)."""
    provenance = data.get("provenance") or {
        "runs_count": data.get("runs"),
        "workers": data.get("workers"),
    }
    loaded = {
        i for i, r in enumerate(provenance.get("runs", [])) if (r.get("load") or {}).get("high")
    }
    per_benchmark = []
    for runs in data["pools"].values():
        kept = [r for i, r in enumerate(runs) if i not in loaded]
        if not kept:
            continue
        centre = float(np.median([np.median(r) for r in kept]))
        per_benchmark.append([np.asarray(r, float) / centre for r in kept])
    whole = [list(run) for run in zip(*per_benchmark, strict=False)]
    if any(len(r) != len(per_benchmark[0]) for r in per_benchmark):
        whole = []  # not every benchmark in every run: no whole runs to resample
    pools = [pool for runs in per_benchmark for pool in runs]
    return Noise(pools=pools, provenance=provenance, left_out=len(loaded), runs=whole)


def load(path: Path = NOISE_FILE) -> Noise | None:
    """The recorded sample, or None when there is none yet."""
    if not path.exists():
        return None
    return from_json(json.loads(path.read_text()))
