"""Self-benchmark: the `perfkit report` pipeline's wall time next to N bare papermill runs
of a trivial notebook (imports pandas and matplotlib), N = the pipeline's notebooks.

Both run in this one invocation, alternating by round, on a synthetic two-target run
with real pstats profiles and memory tables (or on ``--run REF``). Goal: ≤ 1.5×.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat

GOAL_RATIO = 1.5
TRIVIAL_SOURCE = (
    'import pandas\nimport matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot\nx'
)


def _work(n: int) -> int:
    return sum(i * i for i in range(n))


def synthetic_run(out_dir: Path) -> Path:
    """A small complete run: 2 targets, a size-parameter benchmark, memory, real profiles."""
    import numpy as np

    from perfkit.rundir import (
        MEMORY_CSV,
        MEMORY_SITES_CSV,
        MEMORY_SUMMARY_CSV,
        PROFILES_CSV,
        SAMPLES_CSV,
        RunWriter,
        case_id,
    )

    rng = np.random.default_rng(7)
    cases = [("work", f"n={n}", n) for n in (100, 200, 400)] + [("build", "", 0)]
    meta = {
        "suite": "synthetic",
        "interleaved": True,
        "options": {"workers": 6, "samples": 3},
        "host": {"hostname": "selfbench", "cpu_model": "?", "cores": 2},
        "python": {"version": "3", "implementation": "CPython"},
        "targets": {
            "baseline": {"spec": "v1", "path": "/v1", "git_sha": None},
            "current": {"spec": "v2", "path": "/v2", "git_sha": None},
        },
        "cases": {
            case_id(b, p): {"id": case_id(b, p), "name": b, "params": p} for b, p, _ in cases
        },
    }
    writer = RunWriter.create(out_dir, meta)
    samples, memory, summary, sites, profiles = [], [], [], [], []
    for target, factor in (("baseline", 1.0), ("current", 1.3)):
        for bench, params, n in cases:
            base = 1e-6 * (n or 300) * factor
            for worker in range(6):
                samples += [
                    dict(
                        benchmark=bench,
                        params=params,
                        target=target,
                        worker=worker,
                        sample=s,
                        loops=100,
                        seconds=base * rng.uniform(0.97, 1.03),
                    )
                    for s in range(3)
                ]
            leak = 50_000 if (bench == "build" and target == "current") else 0
            memory += [
                dict(
                    benchmark=bench,
                    params=params,
                    target=target,
                    worker=0,
                    iteration=i,
                    rss_bytes=30_000_000 + i * leak,
                    py_current_bytes=1000 + i * leak,
                    py_peak_bytes=2000 + i * leak,
                )
                for i in range(10)
            ]
            summary.append(
                dict(
                    benchmark=bench,
                    params=params,
                    target=target,
                    worker=0,
                    baseline_rss_bytes=29_000_000,
                    peak_rss_bytes=31_000_000,
                    py_peak_bytes=2000,
                    calls=13,
                )
            )
            if leak:
                sites.append(
                    dict(
                        benchmark=bench,
                        params=params,
                        target=target,
                        worker=0,
                        site="app.py:3",
                        size_bytes=leak * 9,
                        count=90,
                    )
                )
            path = writer.profile_path(target, case_id(bench, params))
            profiler = cProfile.Profile()
            profiler.runcall(_work, int((n or 300) * factor * 10))
            profiler.dump_stats(str(path))
            profiles.append(
                dict(
                    benchmark=bench,
                    params=params,
                    target=target,
                    calls=1,
                    seconds=0.01,
                    file=str(path.relative_to(writer.path)),
                )
            )
    for name, rows in (
        (SAMPLES_CSV, samples),
        (MEMORY_CSV, memory),
        (MEMORY_SUMMARY_CSV, summary),
        (MEMORY_SITES_CSV, sites),
        (PROFILES_CSV, profiles),
    ):
        writer.add_rows(name, rows)
    writer.finish("complete")
    return writer.path


def code_notebook(path: Path, parameters: str, *code: str) -> Path:
    """A notebook at `path`: a cell tagged ``parameters`` (papermill's), then `code` cells,
    on the ``python3`` kernel."""
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, *(nbformat.v4.new_code_cell(c) for c in code)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def trivial_notebook(path: Path) -> Path:
    return code_notebook(path, "x = 1", TRIVIAL_SOURCE)


def bare_papermill_seconds(notebook: Path, out: Path, times: int) -> float:
    """Wall time of `times` plain papermill runs, one after another."""
    import papermill as pm

    from perfkit.report.pipeline import quiet

    started = time.perf_counter()
    with quiet(), _stderr_to(out.with_suffix(".log")):
        for _ in range(times):
            pm.execute_notebook(
                str(notebook),
                str(out),
                parameters={"x": 2},
                kernel_name="python3",
                progress_bar=False,
            )
    return time.perf_counter() - started


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """The bare kernels inherit our stderr: park their transport warnings in a file."""
    saved = os.dup(2)
    with open(path, "ab") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def pipeline_seconds(run: str, out: Path) -> float:
    from perfkit.report.pipeline import plan_report, run_plan

    started = time.perf_counter()
    run_plan(plan_report(run, out_dir=out))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit.selfbench report")
    parser.add_argument("--run", help="report on this run (default: a synthetic two-target run)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (default 1)")
    args = parser.parse_args(argv)
    from perfkit.report.pipeline import packaged_notebooks

    n = len(packaged_notebooks())
    with tempfile.TemporaryDirectory(prefix="perfkit-selfbench-") as tmp:
        root = Path(tmp)
        run = args.run or str(synthetic_run(root / "runs"))
        notebook = trivial_notebook(root / "trivial.ipynb")
        bare_papermill_seconds(notebook, root / "warm.ipynb", 1)  # page cache, bytecode
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(pipeline_seconds(run, root / "report"))
            theirs.append(bare_papermill_seconds(notebook, root / "bare.ipynb", n))
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    ratio = ours_s / theirs_s
    print(f"perfkit report pipeline vs {n} bare papermill runs (median of {args.rounds} round(s))")
    print(f"  pipeline ({n} notebooks + HTML) : {ours_s:6.2f} s")
    print(f"  {n} x bare papermill (trivial)  : {theirs_s:6.2f} s  ({theirs_s / n:.2f} s each)")
    print(f"  ratio                          : {ratio:6.2f}x")
    print(f"  goal <= {GOAL_RATIO}x: {'met' if ratio <= GOAL_RATIO else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
