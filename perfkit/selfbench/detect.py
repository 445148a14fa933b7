"""Detection power: perfkit vs pyperf on known slowdowns of a ~2 ms pure-Python workload.

For each true slowdown (default 0, 3, 5, 10 %: extra loop iterations, never sleeps)
and each trial, one comparison by each perfkit plan (`perfkit run` with two interleaved
targets, then `compare`; a fixed number of workers or the adaptive plan, each with a round's
workers one after another, or in ping-pong, ``-pp``, the default) and one by pyperf
(`Runner` script per version, default settings, then `python -m pyperf compare_to`).
`--load-trials N` adds N trials per slowdown of the perfkit plans under a competing CPU load
that this tool starts itself (one busy process per core, killed after the block). Prints
detection rate, false alarms at 0 %, median and mean wall seconds per comparison, rounds the
adaptive plan used, and the machine load perfkit recorded. `--append FILE` adds this
invocation's trials to those FILE holds (written by an earlier `--json`/`--append`) and
tables them all, so a long measurement can be split into short holds of a shared machine.
Spawns hundreds of processes: a maintainer's tool, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from perfkit.collect.envs import file_lock
from perfkit.extras import require

WORK_MODULE = '''"""Self-benchmark workload: {iterations} iterations ({label})."""

ITERATIONS = {iterations}


def work():
    counts = {{}}
    for i in range(ITERATIONS):
        key = i % 64
        counts[key] = counts.get(key, 0) + i
    return len(counts)
'''

SUITE = '''"""Self-benchmark suite: the workload of whichever target is first on sys.path."""

import perfkit


@perfkit.benchmark()
def work():
    from selfbench_work import work

    return work
'''

PYPERF_SCRIPT = """import sys

sys.path.insert(0, {path!r})

import pyperf
from selfbench_work import work

runner = pyperf.Runner()
runner.bench_func("work", work)
"""

TARGET_SECONDS = 0.002
SIGNIFICANT_PERFKIT = {"regression", "slower", "improvement", "faster"}


@dataclass
class Trial:
    tool: str
    slowdown_pct: float
    trial: int
    significant: bool
    slower: bool
    ratio: float
    outcome: str  # perfkit verdict, or pyperf's "significant"/"not significant"
    wall_seconds: float
    rounds: int = 0  # timing rounds perfkit measured (0 for pyperf)
    other_cpu_share: float = float("nan")  # CPU other processes took (perfkit's record)


def calibrate_iterations(target_seconds: float = TARGET_SECONDS) -> int:
    """Iterations of the workload loop that take about `target_seconds` here."""
    namespace: dict[str, object] = {}
    exec(WORK_MODULE.format(iterations=10_000, label="calibration"), namespace)
    work = namespace["work"]
    best = min(_time_once(work) for _ in range(20))
    return max(1000, int(10_000 * target_seconds / best))


def _time_once(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def write_fixture(root: Path, iterations: int, slowdowns: list[float]) -> dict[str, Path]:
    """Target dirs (``base`` and one per slowdown), the perfkit suite and pyperf scripts."""
    dirs = {"base": root / "targets" / "base"}
    for pct in slowdowns:
        dirs[f"{pct:g}"] = root / "targets" / f"plus{pct:g}"
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        pct = 0.0 if name == "base" else float(name)
        n = round(iterations * (1 + pct / 100))
        (path / "selfbench_work.py").write_text(
            WORK_MODULE.format(iterations=n, label=f"+{pct:g} % work"), encoding="utf-8"
        )
        (root / f"pyperf_{path.name}.py").write_text(
            PYPERF_SCRIPT.format(path=str(path)), encoding="utf-8"
        )
    (root / "suite.py").write_text(SUITE, encoding="utf-8")
    return dirs


@dataclass(frozen=True)
class PerfkitResult:
    verdict: str
    ratio: float
    wall_seconds: float
    rounds: int
    other_cpu_share: float


def perfkit_trial(
    root: Path,
    base: Path,
    current: Path,
    seed: int,
    workers: int | None,
    pingpong: bool | None = False,
    processes: int = 1,
    samples: int | None = None,
) -> PerfkitResult:
    """One perfkit comparison (`workers` None: the adaptive plan)."""
    from perfkit.analysis.comparison import compare
    from perfkit.rundir import load_run

    cmd = [sys.executable, "-m", "perfkit", "run", str(root / "suite.py")]
    cmd += ["--target", f"baseline={base}", "--target", f"current={current}"]
    cmd += ["--out", str(root / "runs"), "--seed", str(seed)]
    if workers:
        cmd += ["--workers", str(workers)]
    if pingpong is not None:  # None: perfkit run's default
        cmd.append("--pingpong" if pingpong else "--no-pingpong")
    if processes > 1:
        cmd += ["--processes", str(processes)]
    if samples is not None:
        cmd += ["--samples", str(samples)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"perfkit run failed: {done.stderr.strip()[-500:]}")
    run_dir = done.stdout.strip().splitlines()[-1]
    row = compare(run_dir).table.iloc[0]
    wall = time.perf_counter() - start
    load = load_run(run_dir).info.load
    return PerfkitResult(
        str(row["verdict"]),
        float(row["ratio"]),
        wall,
        int(row["n_baseline"]),
        load.other_cpu_share_mean if load is not None else float("nan"),
    )


def _spin(deadline: float) -> None:
    while time.time() < deadline:
        pass


@contextlib.contextmanager
def competing_load(seconds: float) -> Iterator[int]:
    """One busy process per core, each ending by itself after `seconds` at the latest."""
    cores = os.cpu_count() or 1
    deadline = time.time() + seconds
    procs = [
        multiprocessing.Process(target=_spin, args=(deadline,), daemon=True) for _ in range(cores)
    ]
    for proc in procs:
        proc.start()
    try:
        yield cores
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=5)


_INVOCATION = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
_PYPERF_RATIO = re.compile(r"([0-9.]+)x (slower|faster)")


def pyperf_trial(root: Path, base: Path, current: Path, tag: str) -> tuple[bool, float, float]:
    """One pyperf comparison (default settings); returns (significant, ratio, wall seconds).

    Its result files are named for this invocation too: pyperf refuses to overwrite one, and
    `--append` runs share `--out` with trial numbers starting at 0 again."""
    out = root / "pyperf"
    out.mkdir(exist_ok=True)
    files = []
    start = time.perf_counter()
    for side, path in (("base", base), ("current", current)):
        result = out / f"{tag}-{_INVOCATION}-{side}.json"
        script = root / f"pyperf_{path.name}.py"
        done = subprocess.run(
            [sys.executable, str(script), "--quiet", "-o", str(result)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pyperf failed: {done.stderr.strip()[-500:]}")
        files.append(str(result))
    done = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    text = done.stdout
    significant = "not significant" not in text.lower()
    match = _PYPERF_RATIO.search(text)
    ratio = 1.0
    if match:
        factor = float(match.group(1))
        ratio = factor if match.group(2) == "slower" else 1.0 / factor
    return significant, ratio, wall


def summarise(trials: list[Trial]) -> list[dict[str, object]]:
    """One row per (tool, slowdown): detections or false alarms, ratios, wall time."""
    rows = []
    tools = list(dict.fromkeys(t.tool for t in trials))
    keys = sorted(
        {(t.tool, t.slowdown_pct) for t in trials}, key=lambda k: (tools.index(k[0]), k[1])
    )
    for tool, pct in keys:
        group = [t for t in trials if t.tool == tool and t.slowdown_pct == pct]
        hits = (
            sum(t.significant for t in group)
            if pct == 0
            else sum(t.significant and t.slower for t in group)
        )
        outcomes: dict[str, int] = {}
        for t in group:
            outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
        rows.append(
            {
                "tool": tool,
                "slowdown_pct": pct,
                "trials": len(group),
                "detected" if pct else "false_alarms": hits,
                "rate": hits / len(group),
                "median_ratio": statistics.median(t.ratio for t in group),
                "wall_seconds_per_comparison": statistics.mean(t.wall_seconds for t in group),
                "median_wall_seconds": statistics.median(t.wall_seconds for t in group),
                "median_rounds": statistics.median(t.rounds for t in group),
                "median_other_cpu_share": _median_finite([t.other_cpu_share for t in group]),
                "outcomes": outcomes,
            }
        )
    return rows


def _median_finite(values: list[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


def format_table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| tool | true slowdown | trials | detected (false alarms at 0 %) | median ratio | "
        "median wall s | mean wall s | median rounds | other CPU | outcomes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hits = r.get("detected", r.get("false_alarms"))
        what = f"{hits}/{r['trials']}" + (
            " false alarms" if r["slowdown_pct"] == 0 else " detected"
        )
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        other = r["median_other_cpu_share"]
        other_text = f"{other:.0%}" if other == other else "–"
        rounds = f"{r['median_rounds']:g}" if r["median_rounds"] else "–"
        lines.append(
            f"| {r['tool']} | {r['slowdown_pct']:g} % | {r['trials']} | {what} | "
            f"{r['median_ratio']:.3f} | {r['median_wall_seconds']:.1f} | "
            f"{r['wall_seconds_per_comparison']:.1f} | {rounds} | {other_text} | {outcomes} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Tool:
    name: str
    trials: int
    workers: int | None = None  # perfkit --workers; None: the MeasurePlan default
    pyperf: bool = False
    pingpong: bool | None = False  # perfkit --pingpong / --no-pingpong; None: its default
    processes: int = 1  # perfkit --processes (ping-pong: rounds at once, one CPU each)
    samples: int | None = None  # perfkit --samples (None: its default)


def parse_perfkit_spec(spec: str, default_trials: int) -> Tool:
    """``adaptive``, ``24``, ``adaptive:4`` or ``24:10`` (plan[:trials]), a round's workers
    one after another (``--no-pingpong``); ``default`` is `perfkit run` without options.
    A plan ending in ``-pp`` runs a round's workers in ping-pong (``--pingpong``), e.g.
    ``24-pp:10``; ``-ppN``: N such rounds at once (``--processes N``), e.g.
    ``adaptive-pp2``; ``/sN`` after the plan: N samples per worker (``--samples N``), e.g.
    ``adaptive-pp2/s10:4``."""
    plan_text, _, trials_text = spec.partition(":")
    trials = int(trials_text) if trials_text else default_trials
    plan_text, _, samples_text = plan_text.partition("/s")
    tool = _plan_tool(plan_text, trials)
    if samples_text:
        samples = int(samples_text)
        tool = replace(tool, name=f"{tool.name[:-1]}, {samples} samples)", samples=samples)
    return tool


def _plan_tool(plan_text: str, trials: int) -> Tool:
    if plan_text == "default":
        return Tool("perfkit (default: adaptive, ping-pong)", trials, pingpong=None)
    match = re.fullmatch(r"(.+?)-pp(\d*)", plan_text)
    workers_text = match.group(1) if match else plan_text
    pingpong = match is not None
    processes = int(match.group(2) or 1) if match else 1
    rounds = "ping-pong" if pingpong else "one after another"
    if processes > 1:
        rounds += f", {processes} rounds at once"
    if workers_text == "adaptive":
        name = f"perfkit (adaptive, {rounds})"
        return Tool(name, trials, pingpong=pingpong, processes=processes)
    workers = int(workers_text)
    name = f"perfkit ({workers} workers, fixed, {rounds})"
    return Tool(name, trials, workers, pingpong=pingpong, processes=processes)


def run_trial(
    tool: Tool, root: Path, dirs: dict[str, Path], pct: float, trial: int, seed: int
) -> Trial:
    current = dirs[f"{pct:g}"]
    if tool.pyperf:
        significant, ratio, wall = pyperf_trial(root, dirs["base"], current, f"t{trial}-p{pct:g}")
        outcome = "significant" if significant else "not significant"
        return Trial(
            tool.name, pct, trial, significant, significant and ratio > 1, ratio, outcome, wall
        )
    result = perfkit_trial(
        root, dirs["base"], current, seed, tool.workers, tool.pingpong, tool.processes,
        tool.samples,
    )  # fmt: skip
    return Trial(
        tool.name,
        pct,
        trial,
        result.verdict in SIGNIFICANT_PERFKIT,
        result.verdict in ("regression", "slower"),
        result.ratio,
        result.verdict,
        result.wall_seconds,
        result.rounds,
        result.other_cpu_share,
    )


@contextlib.contextmanager
def holding(lock: Path | None) -> Iterator[None]:
    """Hold `lock` (flock) for one block of trials, so a shared machine's other heavy jobs
    can run between blocks instead of waiting for the whole measurement."""
    with contextlib.nullcontext() if lock is None else file_lock(lock):
        yield


def _trials_under_load(
    tools: list[Tool],
    root: Path,
    dirs: dict[str, Path],
    slowdowns: list[float],
    rng: random.Random,
    lock: Path | None = None,
) -> list[Trial]:
    """The perfkit plans again, with every core kept busy by another process."""
    trials: list[Trial] = []
    # Bounded: the busy processes end by themselves even if this one is killed.
    for trial in range(max(t.trials for t in tools)):
        order = list(slowdowns)
        rng.shuffle(order)
        with holding(lock), competing_load(seconds=900) as cores:
            print(f"competing load: {cores} busy processes", flush=True)
            for pct in order:
                active = list(tools)
                rng.shuffle(active)
                for tool in active:
                    record = run_trial(tool, root, dirs, pct, trial, rng.randrange(2**31))
                    trials.append(record)
                    _print_trial(record, pct, trial)
    return trials


def _print_trial(record: Trial, pct: float, trial: int) -> None:
    print(
        f"{record.tool} +{pct:g} % trial {trial}: {record.outcome} ratio {record.ratio:.3f} "
        f"({record.wall_seconds:.1f} s, {record.rounds} rounds)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench detect", description=__doc__)
    parser.add_argument("--trials", type=int, default=10, help="perfkit trials per slowdown")
    parser.add_argument(
        "--perfkit",
        action="append",
        metavar="PLAN[:TRIALS]",
        help="a perfkit plan: 'default' (perfkit run without options), 'adaptive' or a fixed "
        "worker count with a round's workers one after another, '-pp' appended for ping-pong "
        "('-pp2': two rounds at once), optionally with its own trial count; repeatable "
        "(default: default, 24, adaptive, 24-pp)",
    )
    parser.add_argument(
        "--load-trials",
        type=int,
        default=0,
        help="trials per slowdown of each perfkit plan under a competing CPU load (one busy "
        "process per core, started and ended by this tool)",
    )
    parser.add_argument(
        "--load-slowdowns",
        default="0,3",
        help="slowdowns measured under load, comma-separated (default 0,3)",
    )
    parser.add_argument(
        "--pyperf-trials",
        type=int,
        default=3,
        help="pyperf trials per slowdown (default 3: its default run takes 3-4x as long as perfkit's)",
    )
    parser.add_argument(
        "--slowdowns", default="0,3,5,10", help="true slowdowns in percent, comma-separated"
    )
    parser.add_argument("--out", type=Path, help="working directory (kept; default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write trials and table as JSON")
    parser.add_argument(
        "--append",
        type=Path,
        metavar="FILE",
        help="add these trials to FILE's (an earlier --json/--append; created if missing), "
        "table them all and write FILE back",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of trial order and interleaving")
    parser.add_argument(
        "--lock",
        type=Path,
        help="flock this file around each trial's block (e.g. /tmp/perfkit-heavy.lock), so "
        "other heavy jobs on a shared machine can run between blocks",
    )
    args = parser.parse_args(argv)

    if args.pyperf_trials > 0:
        require("selfbench", "the pyperf comparison (--pyperf-trials 0 to skip it)")
    slowdowns = [float(x) for x in args.slowdowns.split(",") if x.strip()]
    specs = args.perfkit or ["default", "24", "adaptive", "24-pp"]
    tools = [parse_perfkit_spec(spec, args.trials) for spec in specs]
    perfkit_tools = list(tools)
    tools.append(Tool("pyperf (default settings)", args.pyperf_trials, pyperf=True))
    root = args.out or Path(tempfile.mkdtemp(prefix="perfkit-detect-"))
    root.mkdir(parents=True, exist_ok=True)
    iterations = calibrate_iterations()
    dirs = write_fixture(root, iterations, slowdowns)
    print(f"workdir {root}; workload {iterations} iterations (~2 ms)", flush=True)
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    started = time.perf_counter()
    for trial in range(max(t.trials for t in tools)):
        order = list(slowdowns)
        rng.shuffle(order)
        with holding(args.lock):  # one trial of every slowdown and tool per hold
            for pct in order:
                active = [t for t in tools if trial < t.trials]
                rng.shuffle(active)  # no tool always runs first
                for tool in active:
                    record = run_trial(tool, root, dirs, pct, trial, rng.randrange(2**31))
                    trials.append(record)
                    _print_trial(record, pct, trial)
    if args.load_trials > 0:
        loaded = [
            replace(t, name=f"{t.name} under load", trials=args.load_trials) for t in perfkit_tools
        ]
        load_slowdowns = [float(x) for x in args.load_slowdowns.split(",") if x.strip()]
        trials += _trials_under_load(loaded, root, dirs, load_slowdowns, rng, args.lock)
    if args.append is not None and args.append.exists():
        earlier = json.loads(args.append.read_text(encoding="utf-8"))
        trials = [Trial(**t) for t in earlier["trials"]] + trials
    rows = summarise(trials)
    print()
    print(format_table(rows))
    print(f"\ntotal wall {time.perf_counter() - started:.0f} s; workdir {root}")
    for path in {args.json, args.append} - {None}:
        _write_json(
            path, {"iterations": iterations, "rows": rows, "trials": [asdict(t) for t in trials]}
        )
    return 0


def _write_json(path: Path, data: dict[str, object]) -> None:
    """Whole or not at all: a hold killed while writing keeps the earlier file."""
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(part, path)


if __name__ == "__main__":
    sys.exit(main())
