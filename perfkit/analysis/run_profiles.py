"""A run's profiles: every profiling worker's `.prof` of a benchmark, with root and calls.

Knows where a run directory keeps profiles (through perfkit.rundir) and what run.json and
profiles.csv say about them; reads files with perfkit.analysis.profiles. Analyses nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfkit.analysis.culprits import CulpritReport, find_culprits
from perfkit.analysis.profiles import Profile, load_profile
from perfkit.errors import ProfileError


def _run_and_files(run: Any, target: str, full_id: str) -> tuple[Any, list[tuple[Path, int]]]:
    from perfkit.rundir import Run, load_run

    run = run if isinstance(run, Run) else load_run(run)
    files = run.profile_files(target, full_id)
    if not files:
        have = sorted(
            {
                f"{b}[{p}]" if p else b
                for b, p in zip(run.profiles["benchmark"], run.profiles["params"], strict=True)
            }
        )
        hint = f" (profiled: {', '.join(have)})" if have else " (run `perfkit run --profile`)"
        raise ProfileError(f"run {run.id} has no profile of {full_id} for target {target!r}{hint}")
    return run, files


def load_run_profiles(run: Any, target: str, full_id: str) -> list[Profile]:
    """Every profiling worker's profile of one benchmark of one target, with calls and root.

    `run` is a `Run` or anything `load_run` accepts (run id, directory, ``latest``).
    """
    run, files = _run_and_files(run, target, full_id)
    root = run.meta.get("targets", {}).get(target, {}).get("path")
    return [load_profile(file, root=root, calls=calls) for file, calls in files]


def load_run_profile(run: Any, target: str, full_id: str) -> Profile:
    """The first profiling worker's profile of one benchmark of one target in a run."""
    run, files = _run_and_files(run, target, full_id)
    root = run.meta.get("targets", {}).get(target, {}).get("path")
    file, calls = files[0]
    return load_profile(file, root=root, calls=calls)


def run_culprits(
    base: Any,
    current: Any = None,
    *,
    benchmark: str,
    baseline_label: str | None = None,
    current_label: str | None = None,
    timing_ratio: float | None = None,
) -> CulpritReport:
    """Culprits of one benchmark between two sides, from every profiling worker's profile.

    Sides are picked as `perfkit.compare` picks them: ``run``, ``run:LABEL`` or two runs
    (``perfkit.culprits("latest", benchmark="filter_results")``).
    """
    from perfkit.analysis.comparison import resolve_sides

    b, c = resolve_sides(base, current, baseline_label=baseline_label, current_label=current_label)
    return find_culprits(
        load_run_profiles(b.run, b.label, benchmark),
        load_run_profiles(c.run, c.label, benchmark),
        timing_ratio=timing_ratio,
        benchmark=benchmark,
    )


CULPRIT_VERDICTS = ("regression", "improvement", "slower", "faster")  # significant changes


def comparison_culprits(
    comparison: Any, verdicts: tuple[str, ...] = CULPRIT_VERDICTS
) -> dict[str, CulpritReport]:
    """Culprits of every benchmark of a `Comparison` with one of `verdicts` and profiles on
    both sides, biggest change first; benchmarks without profiles are left out."""
    base, cur = comparison.baseline, comparison.current
    table = comparison.table
    rows = table[table["verdict"].isin(verdicts)]
    order = (rows["ratio"].map(lambda r: abs(r - 1))).sort_values(ascending=False).index
    out: dict[str, CulpritReport] = {}
    for i in order:
        full_id, ratio = str(table.at[i, "id"]), float(table.at[i, "ratio"])
        if not base.run.profile_files(base.label, full_id) or not cur.run.profile_files(
            cur.label, full_id
        ):
            continue
        out[full_id] = find_culprits(
            load_run_profiles(base.run, base.label, full_id),
            load_run_profiles(cur.run, cur.label, full_id),
            timing_ratio=ratio,
            benchmark=full_id,
        )
    return out
