"""Self-benchmark: `perfkit compare` and `perfkit report` on suites of 10, 100 and 1,000 benchmarks.

Makes synthetic interleaved run directories through perfkit's own `RunWriter` (2 targets,
24 workers x 5 samples; one benchmark in ten made 15 % slower, the rest unchanged; noise
shared by a round, per worker, per sample, and the odd disturbed worker), times the real CLI
on them, measures the report's HTML and figures, and counts false significant labels among
the unchanged benchmarks and the recall of the true changes. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZES = (10, 100, 1000)
WORKERS = 24
SAMPLES = 5
SLOWDOWN = 1.15
SIGNIFICANT = {"regression", "improvement", "slower", "faster"}
SLOWER = {"regression", "slower"}
# Measured on this machine before issue 21 (the issue's own table).
BEFORE = {
    10: {"compare": "1.1 s", "report": "–", "html": "–", "figure": "–", "false": "–"},
    100: {"compare": "1.7 s", "report": "15 s", "html": "5.7 MB folder", "figure": "–"},
    1000: {
        "compare": "7.6 s",
        "report": "86 s",
        "html": "11 MB",
        "figure": "900 × 42,140 px",
        "false": "54 / 900 (6.0 %)",
        "recall": "100 / 100",
    },
}
GOALS_1000 = {"compare_seconds": 3.0, "report_seconds": 30.0, "html_bytes": 3_000_000}
MAX_FIGURE_PX = 4000


@dataclass(frozen=True)
class Suite:
    """A synthetic run directory and which of its benchmarks were truly made slower."""

    path: Path
    ids: tuple[str, ...]
    slowed: frozenset[str]


def _case_names(n: int) -> list[tuple[str, str]]:
    """n (benchmark, params) pairs: groups of names with a size parameter, as real suites."""
    per_name = 2 if n <= 10 else 5 if n <= 100 else 10
    return [
        (f"module_{i // 20}.bench_{i}", f"n={10 * (j + 1)}")
        for i in range(n // per_name)
        for j in range(per_name)
    ][:n]


def make_suite(out_dir: Path, n: int, seed: int = 21) -> Suite:
    """One interleaved two-target run of `n` benchmarks, written by `RunWriter`."""
    from perfkit.collect.suite import case_id
    from perfkit.rundir import SAMPLES_CSV, RunWriter

    rng = np.random.default_rng(seed + n)
    cases = _case_names(n)
    ids = [case_id(b, p) for b, p in cases]
    slowed = set(rng.choice(len(cases), size=max(1, n // 10), replace=False).tolist())
    meta = {
        "suite": f"synthetic-{n}",
        "interleaved": True,
        "options": {"workers": WORKERS, "samples": SAMPLES},
        "host": {"hostname": "selfbench", "cpu_model": "synthetic", "cores": 2},
        "python": {"version": "3", "implementation": "CPython"},
        "targets": {
            "baseline": {"spec": "v1", "path": "/v1", "git_sha": None},
            "current": {"spec": "v2", "path": "/v2", "git_sha": None},
        },
        "cases": {
            cid: {"id": cid, "name": b, "params": p} for cid, (b, p) in zip(ids, cases, strict=True)
        },
    }
    writer = RunWriter.create(out_dir, meta)
    base_seconds = np.exp(rng.uniform(np.log(1e-5), np.log(1e-2), len(cases)))
    rows = []
    for k, (bench, params) in enumerate(cases):
        # A round's machine state is shared by both targets of that round (what pairing cancels).
        round_factor = np.exp(rng.normal(0, 0.04, WORKERS))
        for target, factor in (("baseline", 1.0), ("current", SLOWDOWN if k in slowed else 1.0)):
            worker_factor = np.exp(rng.normal(0, 0.03, WORKERS))
            disturbed = rng.random(WORKERS) < 0.04
            worker_factor[disturbed] *= rng.uniform(1.1, 1.5, disturbed.sum())
            seconds = (
                base_seconds[k]
                * factor
                * (round_factor * worker_factor)[:, None]
                * np.exp(rng.normal(0, 0.01, (WORKERS, SAMPLES)))
            )
            rows += [
                {
                    "benchmark": bench,
                    "params": params,
                    "target": target,
                    "worker": w,
                    "sample": s,
                    "loops": 100,
                    "seconds": float(seconds[w, s]),
                }
                for w in range(WORKERS)
                for s in range(SAMPLES)
            ]
    writer.add_rows(SAMPLES_CSV, rows)
    writer.finish("complete")
    return Suite(writer.path, tuple(ids), frozenset(ids[k] for k in slowed))


def _cli(*args: str, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one real `perfkit` subprocess (CPU time tells a slow
    program from a busy machine); its output goes to a log beside it."""
    log = cwd / "cli.log"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "ab") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "perfkit", *args], cwd=cwd, stdout=handle, stderr=handle
        )
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"perfkit {' '.join(args)} exited {done.returncode}; see {log}")
    return seconds, cpu


def label_rates(comparison_json: Path, suite: Suite) -> tuple[int, int, int, int]:
    """(false significant labels, unchanged benchmarks, true changes found, true changes)."""
    verdicts = {
        cid: row["verdict"]
        for cid, row in json.loads(comparison_json.read_text())["comparison"].items()
    }
    unchanged = [c for c in suite.ids if c not in suite.slowed]
    false = sum(verdicts[c] in SIGNIFICANT for c in unchanged)
    found = sum(verdicts[c] in SLOWER for c in suite.slowed)
    return false, len(unchanged), found, len(suite.slowed)


def figure_sizes(report_dir: Path) -> list[tuple[str, int, int]]:
    """(name, width px, height px) of every raster figure under the report directory."""
    from PIL import Image

    sizes = []
    for path in sorted(report_dir.rglob("*.png")):
        with Image.open(path) as image:
            sizes.append((str(path.relative_to(report_dir)), *image.size))
    return sizes


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def measure(n: int, root: Path, report: bool) -> dict[str, str]:
    suite = make_suite(root / f"runs-{n}", n)
    work = root / f"work-{n}"
    work.mkdir()
    compare_s, compare_cpu = _cli("compare", str(suite.path), "--json", "comparison.json", cwd=work)
    false, unchanged, found, changed = label_rates(work / "comparison.json", suite)
    row = {
        "compare": f"{compare_s:.1f} s (CPU {compare_cpu:.1f} s)",
        "false": f"{false} / {unchanged} ({100 * false / unchanged:.1f} %)",
        "recall": f"{found} / {changed}",
    }
    if report:
        out = work / "report"
        report_s, report_cpu = _cli("report", str(suite.path), "--out", str(out), cwd=work)
        htmls = sorted(out.glob("*.html"))
        html_bytes = sum(p.stat().st_size for p in htmls)
        folder_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        sizes = figure_sizes(out)
        largest = max(sizes, key=lambda s: max(s[1], s[2]), default=None)
        row |= {
            "report": f"{report_s:.0f} s (CPU {report_cpu:.0f} s)",
            "html": f"{_mb(html_bytes)} ({_mb(folder_bytes)} folder)",
            "figure": f"{largest[1]:,} × {largest[2]:,} px" if largest else "none",
        }
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench scale")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="suite sizes (default %(default)s)"
    )
    parser.add_argument("--no-report", action="store_true", help="time `compare` only")
    parser.add_argument("--keep", type=Path, help="keep run directories and reports here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="perfkit-scale-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        rows = {n: measure(n, root, report=not args.no_report) for n in sizes}
    columns = [
        ("compare", "`perfkit compare`"),
        ("report", "`perfkit report`"),
        ("html", "report HTML"),
        ("figure", "largest figure"),
        ("false", "false significant labels among unchanged"),
        ("recall", "true 15 % changes found"),
    ]
    print(f"{WORKERS} workers x {SAMPLES} samples, 2 targets, one benchmark in ten 15 % slower")
    print("| benchmarks | | " + " | ".join(title for _, title in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for n, row in rows.items():
        before = BEFORE.get(n, {})
        print(f"| {n:,} | before | " + " | ".join(before.get(k, "?") for k, _ in columns) + " |")
        print(f"| {n:,} | after | " + " | ".join(row.get(k, "–") for k, _ in columns) + " |")
    print(
        f"goals at 1,000: compare ≤ 3 s, report ≤ 30 s, HTML ≤ 3 MB, figures ≤ {MAX_FIGURE_PX:,} px,"
    )
    print("false significant labels ≤ 1 %, all true changes found")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
