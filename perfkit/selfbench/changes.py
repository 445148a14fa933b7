"""Change detection scored: perfkit's detector beside Apache Otava's on the same series.

Series of 100 runs with known steps (2–20 %, up and down, 2–4 per series) and flat
series, whose per-run noise comes from REAL perfkit runs: a small suite is measured
``--runs`` times once (cached in ``data/selfbench/changes-noise.json``); each synthetic
run picks one real run and resamples its workers' medians (so both the spread inside a
run and the drift between runs are real). Both detectors see exactly the same series:
Otava the per-run medians (all it can take), perfkit also the workers behind them.
Otava (PyPI ``apache-otava``) pins numpy 2.2 and scipy < 1.17, so it runs in its own
venv (``data/selfbench/otava-venv``, made on first use) fed by JSON.

Scores: precision, recall and F1 of change points (±1 run), recall by step size; false
alerts per 100 runs of an unchanged benchmark (the series replayed run by run as CI
would see it, counting each new change point); how many runs after a 5 % step lands
it is found. A maintainer's tool, not a test: it spawns perfkit runs the first time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perfkit.analysis.changes import detect

CACHE = Path("data") / "selfbench"
NOISE_FILE = CACHE / "changes-noise.json"
OTAVA_VENV = CACHE / "otava-venv"
OTAVA_REQUIREMENT = "apache-otava==0.8.0"
DRIVER = Path(__file__).with_name("_otava_driver.py")
SUITE = Path(__file__).with_name("_changes_suite.py")
STEP_SIZES = (0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20)
LENGTH = 100
TOLERANCE = 1
CHECK_THRESHOLD = 0.05  # `perfkit history --check`'s default


@dataclass
class Noise:
    """Relative worker medians of real runs: one pool per (benchmark, run)."""

    pools: list[np.ndarray]
    source: dict = field(default_factory=dict)


def record_noise(runs: int, workers: int) -> Noise:
    """Measure the small suite `runs` times for real; keep each run's relative worker medians."""
    from perfkit.analysis.stats import worker_medians
    from perfkit.rundir import load_run

    pools: dict[str, list[list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="perfkit-noise-") as tmp:
        for number in range(runs):
            done = subprocess.run(
                [sys.executable, "-m", "perfkit", "run", str(SUITE), "--quick",
                 "--workers", str(workers), "--out", tmp, "--db", f"{tmp}/h.sqlite"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"noise run {number + 1} failed: {done.stderr.strip()[-300:]}")
            medians = worker_medians(load_run(done.stdout.strip().splitlines()[-1]).samples)
            for case, group in medians.groupby("id"):
                pools.setdefault(str(case), []).append(group["median_seconds"].tolist())
            print(f"  noise run {number + 1}/{runs} recorded", file=sys.stderr)
    data = {"runs": runs, "workers": workers, "pools": pools}
    NOISE_FILE.parent.mkdir(parents=True, exist_ok=True)
    NOISE_FILE.write_text(json.dumps(data))
    return _noise(data)


def _noise(data: dict) -> Noise:
    out = []
    for runs in data["pools"].values():
        centre = float(np.median([np.median(r) for r in runs]))
        out += [np.asarray(r, float) / centre for r in runs]
    return Noise(pools=out, source={k: data[k] for k in ("runs", "workers")})


def load_noise(runs: int, workers: int, refresh: bool) -> Noise:
    if NOISE_FILE.exists() and not refresh:
        return _noise(json.loads(NOISE_FILE.read_text()))
    print(f"recording real noise: {runs} perfkit runs of {SUITE.name}", file=sys.stderr)
    return record_noise(runs, workers)


@dataclass(frozen=True)
class Series:
    medians: np.ndarray
    workers: list[np.ndarray]
    steps: tuple[int, ...]  # indices of the first run after each step
    sizes: tuple[float, ...]


def make_series(noise: Noise, rng: np.random.Generator, levels: np.ndarray) -> Series:
    """One run per level: a real run's workers, resampled, scaled to the level."""
    workers = []
    for level in levels:
        pool = noise.pools[rng.integers(len(noise.pools))]
        workers.append(level * rng.choice(pool, size=len(pool), replace=True))
    steps = tuple(int(i) for i in np.flatnonzero(np.diff(levels)) + 1)
    sizes = tuple(float(levels[i] / levels[i - 1] - 1) for i in steps)
    return Series(np.array([np.median(w) for w in workers]), workers, steps, sizes)


def step_levels(rng: np.random.Generator, length: int = LENGTH) -> np.ndarray:
    count = int(rng.integers(2, 5))
    while True:
        where = np.sort(rng.choice(np.arange(8, length - 8), size=count, replace=False))
        if np.all(np.diff(where) >= 10):
            break
    levels, level, last = np.empty(length), 1.0, 0
    for index in where:
        levels[last:index] = level
        level *= 1 + rng.choice(STEP_SIZES) * rng.choice([-1, 1])
        last = index
    levels[last:] = level
    return levels


def match(found: list[int], truth: tuple[int, ...]) -> int:
    """True positives: found points within ±TOLERANCE of a true step, one to one."""
    free, hits = list(truth), 0
    for index in sorted(found):
        near = [t for t in free if abs(t - index) <= TOLERANCE]
        if near:
            free.remove(min(near, key=lambda t: abs(t - index)))
            hits += 1
    return hits


def perfkit_points(batch: list[tuple[np.ndarray, list[np.ndarray]]]) -> list[list[int]]:
    return [[c.index for c in detect(m, w)] for m, w in batch]


def perfkit_check_alerts(batch: list[tuple[np.ndarray, list[np.ndarray]]]) -> list[list[int]]:
    """What ``perfkit history --check`` would alert on: the last step, a regression ≥ 5 %."""
    out = []
    for m, w in batch:
        found = detect(m, w)
        last = found[-1] if found else None
        alert = last is not None and last.ratio >= 1 + CHECK_THRESHOLD and last.ci_low > 1
        out.append([last.index] if alert else [])
    return out


def ensure_otava() -> Path | None:
    python = OTAVA_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"making {OTAVA_VENV} with {OTAVA_REQUIREMENT} (once)", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(OTAVA_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             OTAVA_REQUIREMENT],
            check=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        print(f"Otava unavailable ({exc}); scoring perfkit alone", file=sys.stderr)
        return None
    return python


def otava_points(python: Path, batch: list[np.ndarray]) -> list[list[int]]:
    payload = json.dumps({"series": [list(map(float, m)) for m in batch]})
    done = subprocess.run(
        [str(python), str(DRIVER)], input=payload, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


@dataclass
class Score:
    tp: int = 0
    found: int = 0
    truth: int = 0
    by_size: dict = field(default_factory=dict)

    def add(self, found: list[int], series: Series) -> None:
        self.tp += match(found, series.steps)
        self.found += len(found)
        self.truth += len(series.steps)
        for step, size in zip(series.steps, series.sizes, strict=True):
            bucket = "2–3 %" if abs(size) < 0.04 else "5–8 %" if abs(size) < 0.09 else "10–20 %"
            hit, total = self.by_size.get(bucket, (0, 0))
            self.by_size[bucket] = (hit + match(found, (step,)), total + 1)

    @property
    def precision(self) -> float:
        return self.tp / self.found if self.found else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.truth if self.truth else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def replay(points_per_prefix: list[list[int]]) -> int:
    """New change points as a series grows run by run (each would be one CI alert)."""
    alerts, known = 0, []
    for found in points_per_prefix:
        alerts += sum(1 for i in found if all(abs(i - k) > TOLERANCE for k in known))
        known = found
    return alerts


def run_detectors(name: str, fn, batches: dict) -> dict:
    started = time.perf_counter()
    out = {key: fn(batch) for key, batch in batches.items()}
    out["seconds"] = time.perf_counter() - started
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench changes")
    parser.add_argument("--series", type=int, default=60, help="series with steps (default 60)")
    parser.add_argument("--flat", type=int, default=30, help="series without steps (default 30)")
    parser.add_argument("--runs", type=int, default=8, help="real runs recorded for noise")
    parser.add_argument("--workers", type=int, default=8, help="workers per real run")
    parser.add_argument("--refresh", action="store_true", help="re-record the real noise")
    parser.add_argument("--no-otava", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    noise = load_noise(args.runs, args.workers, args.refresh)
    spread = np.median([np.std(np.log(p), ddof=1) for p in noise.pools])
    drift = np.std(np.log([np.median(p) for p in noise.pools]), ddof=1)
    rng = np.random.default_rng(args.seed)
    stepped = [make_series(noise, rng, step_levels(rng)) for _ in range(args.series)]
    flat = [make_series(noise, rng, np.ones(LENGTH)) for _ in range(args.flat)]
    late = []  # one 5 % step at run 40, up and down alternately
    for i in range(20):
        levels = np.where(np.arange(50) < 40, 1.0, 1.05 if i % 2 == 0 else 1 / 1.05)
        late.append(make_series(noise, rng, levels))
    prefixes = [(s, n) for s in flat for n in range(10, LENGTH + 1)]
    delays = [(s, 40 + d) for s in late for d in range(1, 11)]

    batches_pk = {
        "stepped": [(s.medians, s.workers) for s in stepped],
        "flat": [(s.medians[:n], s.workers[:n]) for s, n in prefixes],
        "late": [(s.medians[:n], s.workers[:n]) for s, n in delays],
    }
    results = {"perfkit": run_detectors("perfkit", perfkit_points, batches_pk)}
    check_alerts = perfkit_check_alerts(batches_pk["flat"])
    python = None if args.no_otava else ensure_otava()
    if python is not None:
        batches_ot = {key: [m for m, _ in batch] for key, batch in batches_pk.items()}
        results["Otava"] = run_detectors("Otava", lambda b: otava_points(python, b), batches_ot)

    print(
        f"noise from {noise.source['runs']} real runs × {noise.source['workers']} workers, "
        f"{len(noise.pools)} pools: median within-run spread of worker medians "
        f"{spread:.1%}, between-run drift {drift:.1%}\n"
        f"{len(stepped)} series × {LENGTH} runs with {sum(len(s.steps) for s in stepped)} "
        f"steps (±2–20 %), {len(flat)} flat series replayed run by run, "
        f"{len(late)} series with a 5 % step at run 40; match ±{TOLERANCE} run\n"
    )
    print(
        "| detector | precision | recall | F1 | recall 2–3 % | recall 5–8 % | recall 10–20 % "
        "| false alerts / 100 runs | 5 % step found ≤ 3 runs after | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, out in results.items():
        score = Score()
        for found, series in zip(out["stepped"], stepped, strict=True):
            score.add(found, series)
        per_flat: dict[int, list[list[int]]] = {}
        for found, (series, _) in zip(out["flat"], prefixes, strict=True):
            per_flat.setdefault(id(series), []).append(found)
        alerts = sum(replay(v) for v in per_flat.values())
        runs_replayed = len(prefixes)
        found_by = {}
        for found, (series, n) in zip(out["late"], delays, strict=True):
            if id(series) not in found_by and match(found, (40,)):
                found_by[id(series)] = n - 40
        within = sum(1 for d in found_by.values() if d <= 3)
        sizes = {k: f"{h}/{t}" for k, (h, t) in sorted(score.by_size.items())}
        print(
            f"| {name} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | "
            f"{sizes.get('2–3 %', '–')} | {sizes.get('5–8 %', '–')} | {sizes.get('10–20 %', '–')} | "
            f"{100 * alerts / runs_replayed:.2f} ({alerts} in {runs_replayed}) | "
            f"{within}/{len(late)} (median {np.median(list(found_by.values()) or [np.nan]):.0f}) | "
            f"{out['seconds']:.1f} |"
        )
    per_flat = {}
    for found, (series, _) in zip(check_alerts, prefixes, strict=True):
        per_flat.setdefault(id(series), []).append(found)
    alerts = sum(replay(v) for v in per_flat.values())
    print(
        f"\n`perfkit history --check` (a regression step ≥ {CHECK_THRESHOLD:.0%} with its CI "
        f"above 1 at the head) on the flat series replayed run by run: {alerts} alert(s) in "
        f"{len(prefixes)} runs = {100 * alerts / len(prefixes):.2f} per 100 runs"
    )
    return 0
