"""Change detection scored: perfkit's detector beside Apache Otava's on the same series.

Series of 100 runs with known steps (2–20 %, up and down, 2–4 per series) and flat
series, whose per-run noise comes from REAL perfkit runs (``_changes_noise``: recorded
on a quiet box under the heavy-job lock with its provenance, tracked in git at
``data/selfbench/changes-noise.json``; ``--refresh`` records it anew). Series come in
groups of as many benchmarks as the sample has (six): synthetic run t of a group picks
ONE real run for all its benchmarks (whole runs: what the machine did to that run is in
every benchmark of it, as in a real suite) and resamples each benchmark's workers'
medians from it (so the spread inside a run, the drift between runs and what runs share
are real; the resampling adds the spread of a median once more, so the synthetic runs
are noisier than the real ones). perfkit searches a group together (run offsets,
``analysis.run_factor``); Otava sees each series' per-run medians (all it can take) —
exactly the same series. Otava (PyPI ``apache-otava``) pins numpy 2.2 and scipy < 1.17,
so it runs in its own venv (``data/selfbench/otava-venv``, made on first use) fed by JSON.

Scores: precision, recall and F1 of change points (±1 run), recall by step size; false
alerts per 100 runs of an unchanged benchmark (the series replayed run by run as CI would
see it, counting each new change point); for series whose one 5 % step lands at run 40
(the group's other benchmarks flat), replayed run by run, after how many runs the step is
first found (its distribution): by each detector, and by ``perfkit history --check`` (a
regression at the head beyond the threshold: the up steps only); and the same for a 10 %
step of every benchmark of a group at once. A maintainer's tool, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from perfkit.analysis.changes import DEFAULT_DETECTOR, ChangePoint, DetectorConfig, kind
from perfkit.analysis.run_factor import detect_together
from perfkit.selfbench import _changes_noise
from perfkit.selfbench._changes_noise import CACHE, HEAVY_LOCK, NOISE_FILE, Noise
from perfkit.selfbench._changes_score import (
    DELAY_BUCKETS,
    LATE_AT,
    TOLERANCE,
    Score,
    delay_cells,
    delays,
    false_alerts,
)

OTAVA_VENV = CACHE / "otava-venv"
OTAVA_REQUIREMENT = "apache-otava==0.8.0"
DRIVER = Path(__file__).with_name("_otava_driver.py")
STEP_SIZES = (0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20)
LENGTH = 100
LATE_LENGTH, LATE_SIZE = 50, 0.05
COMMON_SIZE = 0.10  # a step of every benchmark of a group at once, at run LATE_AT


def load_noise(args: argparse.Namespace) -> Noise:
    noise = None if args.refresh else _changes_noise.load(args.noise)
    if noise is None:
        noise = _changes_noise.record(args.runs, args.workers, args.lock, args.noise)
    return noise


@dataclass(frozen=True)
class Series:
    medians: np.ndarray
    workers: list[np.ndarray]
    steps: tuple[int, ...]  # indices of the first run after each step
    sizes: tuple[float, ...]


def make_series(noise: Noise, rng: np.random.Generator, levels: np.ndarray) -> Series:
    """One run per level: a real run's workers, resampled, scaled to the level."""
    return make_group(noise, rng, [levels])[0]


def make_group(noise: Noise, rng: np.random.Generator, levels: list[np.ndarray]) -> list[Series]:
    """Series of benchmarks measured in the same runs: synthetic run t of every series
    resamples the workers of the same real run (benchmark b: the real run's benchmark b,
    modulo those recorded), so whatever a real run shared across its benchmarks they
    share too. Without whole runs in the sample, each point picks its own pool."""
    length = len(levels[0])
    picks = rng.integers(len(noise.runs) if noise.runs else len(noise.pools), size=length)
    out = []
    for b, series_levels in enumerate(levels):
        workers = []
        for t, level in enumerate(series_levels):
            if noise.runs:
                pool = noise.runs[picks[t]][b % noise.benchmarks]
            else:
                pool = noise.pools[rng.integers(len(noise.pools))]
            workers.append(level * rng.choice(pool, size=len(pool), replace=True))
        steps = tuple(int(i) for i in np.flatnonzero(np.diff(series_levels)) + 1)
        sizes = tuple(float(series_levels[i] / series_levels[i - 1] - 1) for i in steps)
        out.append(Series(np.array([np.median(w) for w in workers]), workers, steps, sizes))
    return out


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


Group = list[tuple[np.ndarray, list[np.ndarray]]]  # series measured in the same runs


def perfkit_changes(
    groups: list[Group], config: DetectorConfig = DEFAULT_DETECTOR
) -> list[list[ChangePoint]]:
    """perfkit's change points of every series of every group (flattened, group by group)."""
    out: list[list[ChangePoint]] = []
    for group in groups:
        units = [range(len(m)) for m, _ in group]
        out += detect_together([m for m, _ in group], [w for _, w in group], units, config)
    return out


def indices(found: list[list[ChangePoint]]) -> list[list[int]]:
    return [[c.index for c in changes] for changes in found]


def check_alerts(found: list[list[ChangePoint]], threshold: float) -> list[list[int]]:
    """What ``perfkit history --check --threshold T`` alerts on: the last step, a regression."""
    out = []
    for changes in found:
        last = changes[-1] if changes else None
        alert = last and kind(last.ratio, last.ci_low, last.ci_high, threshold) == "regression"
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
    # -I: the driver's own directory (selfbench/, whose bisect.py shadows the standard
    # library's) is not put on sys.path
    done = subprocess.run(
        [str(python), "-I", str(DRIVER)], input=payload, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def run_detectors(fn, batches: dict) -> dict:
    started = time.perf_counter()
    out = {key: fn(batch) for key, batch in batches.items()}
    out["seconds"] = time.perf_counter() - started
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench changes")
    parser.add_argument("--series", type=int, default=60, help="series with steps (default 60)")
    parser.add_argument("--flat", type=int, default=60, help="series without steps (default 60)")
    parser.add_argument("--late", type=int, default=40, help="series with a 5 %% step at run 40")
    parser.add_argument(
        "--common", type=int, default=6, help="groups whose every benchmark steps 10 %% at run 40"
    )
    parser.add_argument("--runs", type=int, default=24, help="real runs recorded for noise")
    parser.add_argument("--workers", type=int, default=24, help="workers per real run")
    parser.add_argument("--refresh", action="store_true", help="re-record the real noise")
    parser.add_argument(
        "--noise", type=Path, default=NOISE_FILE, help=f"the noise sample (default {NOISE_FILE})"
    )
    parser.add_argument(
        "--lock", type=Path, default=HEAVY_LOCK, help="flock held while recording noise"
    )
    parser.add_argument(
        "--thresholds", default="5,3", help="--check thresholds scored, in %% (default 5,3)"
    )
    parser.add_argument(
        "--head-z",
        type=float,
        default=DEFAULT_DETECTOR.head_z_together,
        help="head bar |z| on series divided by their run offsets "
        f"(default {DEFAULT_DETECTOR.head_z_together:g}): its trade-off, scored",
    )
    parser.add_argument("--no-otava", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    noise = load_noise(args)
    config = replace(DEFAULT_DETECTOR, head_z_together=args.head_z)
    rng = np.random.default_rng(args.seed)
    size = noise.benchmarks  # a group: the benchmarks of one suite, measured in the same runs
    stepped_groups = [
        make_group(noise, rng, [step_levels(rng) for _ in range(size)])
        for _ in range(-(-args.series // size))
    ]
    flat_groups = [
        make_group(noise, rng, [np.ones(LENGTH)] * size) for _ in range(-(-args.flat // size))
    ]
    late_groups = []  # one 5 % step at run 40 (up and down alternately); the others flat
    for i in range(args.late):
        after = 1 + LATE_SIZE if i % 2 == 0 else 1 / (1 + LATE_SIZE)
        step = np.where(np.arange(LATE_LENGTH) < LATE_AT, 1.0, after)
        late_groups.append(make_group(noise, rng, [step] + [np.ones(LATE_LENGTH)] * (size - 1)))
    common_groups = []  # every benchmark steps at run 40 (up and down alternately)
    for i in range(args.common):
        after = 1 + COMMON_SIZE if i % 2 == 0 else 1 / (1 + COMMON_SIZE)
        step = np.where(np.arange(LATE_LENGTH) < LATE_AT, 1.0, after)
        common_groups.append(make_group(noise, rng, [step] * size))
    stepped = [s for g in stepped_groups for s in g]
    flat = [s for g in flat_groups for s in g]
    late = [g[0] for g in late_groups]
    prefixes = [(s, n) for g in flat_groups for n in range(10, LENGTH + 1) for s in g]
    replays = [(g[0], LATE_AT + d) for g in late_groups for d in range(1, 11)]
    common = [(s, LATE_AT + d) for g in common_groups for d in range(1, 11) for s in g]

    def cut(group: list[Series], n: int) -> Group:
        return [(s.medians[:n], s.workers[:n]) for s in group]

    groups_pk = {
        "stepped": [cut(g, LENGTH) for g in stepped_groups],
        "flat": [cut(g, n) for g in flat_groups for n in range(10, LENGTH + 1)],
        "late": [cut(g, LATE_AT + d) for g in late_groups for d in range(1, 11)],
        "common": [cut(g, LATE_AT + d) for g in common_groups for d in range(1, 11)],
    }

    def perfkit_run(key: str) -> list[list[ChangePoint]]:
        found = perfkit_changes(groups_pk[key], config)
        return found[::size] if key == "late" else found  # late: the stepped series only

    started = time.perf_counter()
    changes_pk = {key: perfkit_run(key) for key in groups_pk}
    results = {"perfkit": {key: indices(found) for key, found in changes_pk.items()}}
    results["perfkit"]["seconds"] = time.perf_counter() - started
    python = None if args.no_otava else ensure_otava()
    if python is not None:
        batches_ot = {
            "stepped": [s.medians for s in stepped],
            "flat": [s.medians[:n] for s, n in prefixes],
            "late": [s.medians[:n] for s, n in replays],
            "common": [s.medians[:n] for s, n in common],
        }
        results["Otava"] = run_detectors(lambda b: otava_points(python, b), batches_ot)

    print(
        f"{noise.describe()}\n"
        f"{len(stepped)} series × {LENGTH} runs with {sum(len(s.steps) for s in stepped)} "
        f"steps (±2–20 %), {len(flat)} flat series replayed run by run ({len(prefixes)} runs), "
        f"{len(late)} series with a {LATE_SIZE:.0%} step at run {LATE_AT} (up and down "
        f"alternately) replayed run by run; match ±{TOLERANCE} run; perfkit's head bar "
        f"|z| ≥ {args.head_z:g} on series divided by their run offsets; seed {args.seed}\n"
    )
    print(
        "| detector | precision | recall | F1 | recall 2–3 % | recall 5–8 % | recall 10–20 % "
        "| false alerts / 100 runs | 5 % step found ≤ 3 runs after "
        f"| {COMMON_SIZE:.0%} step of every benchmark found ≤ 3 runs after | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    found_after = {}
    for name, out in results.items():
        score = Score()
        for points, series in zip(out["stepped"], stepped, strict=True):
            score.add(points, series)
        alerts = false_alerts(out["flat"], prefixes)
        found_after[name] = delays(out["late"], replays)
        within = sum(1 for d in found_after[name] if d is not None and d <= 3)
        shared = delays(out["common"], common)
        within_shared = sum(1 for d in shared if d is not None and d <= 3)
        sizes = {k: f"{h}/{t}" for k, (h, t) in sorted(score.by_size.items())}
        print(
            f"| {name} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | "
            f"{sizes.get('2–3 %', '–')} | {sizes.get('5–8 %', '–')} | {sizes.get('10–20 %', '–')} | "
            f"{100 * alerts / len(prefixes):.2f} ({alerts} in {len(prefixes)}) | "
            f"{within}/{len(late)} | {within_shared}/{len(shared)} | {out['seconds']:.1f} |"
        )
    ups = [i for i, (s, _) in enumerate(replays) if s.sizes[0] > 0]
    up = [replays[i] for i in ups]
    for pct in (float(t) for t in args.thresholds.split(",")):
        threshold = pct / 100
        name = f"`history --check --threshold {pct:g}%`"
        alerts = false_alerts(check_alerts(changes_pk["flat"], threshold), prefixes)
        late_alerts = check_alerts([changes_pk["late"][i] for i in ups], threshold)
        found_after[name] = delays(late_alerts, up)
        within = sum(1 for d in found_after[name] if d is not None and d <= 3)
        print(
            f"| {name} | | | | | | | {100 * alerts / len(prefixes):.2f} ({alerts} in "
            f"{len(prefixes)}) | {within}/{len(found_after[name])} (up steps) | | |"
        )
    print(f"\nruns after the {LATE_SIZE:.0%} step until it is first found (series count):\n")
    print(f"| detector | {' | '.join(DELAY_BUCKETS)} |")
    print("|---|" + "---|" * len(DELAY_BUCKETS))
    for name, found in found_after.items():
        print(f"| {name} | {' | '.join(delay_cells(found))} |")
    if common:
        print(
            f"\nruns after a {COMMON_SIZE:.0%} step of every benchmark of a suite at once "
            f"({len(common_groups)} suites × {size} benchmarks) until it is first found:\n"
        )
        print(f"| detector | {' | '.join(DELAY_BUCKETS)} |")
        print("|---|" + "---|" * len(DELAY_BUCKETS))
        for name, out in results.items():
            print(f"| {name} | {' | '.join(delay_cells(delays(out['common'], common)))} |")
        marked = [[c.index for c in f if c.shared] for f in changes_pk["common"]]
        print(f"| perfkit, marked shared | {' | '.join(delay_cells(delays(marked, common)))} |")
    wrong = sum(c.shared for key in ("stepped", "flat", "late") for f in changes_pk[key] for c in f)
    total = sum(len(f) for key in ("stepped", "flat", "late") for f in changes_pk[key])
    print(
        f"\nperfkit's change points marked shared where no step was shared (stepped, flat and "
        f"{LATE_SIZE:.0%}-step series, every replayed run): {wrong} of {total}"
    )
    return 0
