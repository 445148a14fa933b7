"""What one report is about: the sides (one run target, or baseline and current) and
the analysis tables the notebooks show, computed through the analysis modules.

`ReportData` resolves references once and memoises each analysis table; it computes no
statistics and formats nothing (perfkit.report.sections does), and its `files`
(perfkit.report.artifacts) write figures and small tables under the output directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfkit.analysis.comparison import (
    Comparison,
    Side,
    check_label,
    compare,
    run_metadata,
    split_run_ref,
)
from perfkit.analysis.environment import EnvironmentDiff
from perfkit.analysis.stats import timing_summary, with_ids, worker_medians
from perfkit.config import DEFAULT_REPORTS_DIR, DEFAULT_STATS
from perfkit.errors import ParameterError, PerfkitError, RunDirError
from perfkit.report.artifacts import ReportFiles
from perfkit.rundir import DEFAULT_RUNS_DIR, TargetInfo

# The default focus: significant changes beyond the threshold first, either way.
FOCUS_ORDER = {"regression": 0, "improvement": 0, "slower": 1, "faster": 1}


def resolve_sides(
    run: str | Path,
    current: str | Path | None = None,
    *,
    baseline_label: str | None = None,
    current_label: str | None = None,
    runs_dir: str | Path = DEFAULT_RUNS_DIR,
    threshold: float | None = None,
) -> tuple[list[Side], Comparison | None]:
    """The report's sides: one (a one-target run, or ``RUN:LABEL`` alone) or a comparison.

    A run with two or more targets compares its sides by the rule of
    `perfkit.rundir.refs` (as ``perfkit compare`` does); two references compare run to run.
    """
    runs_dir = Path(runs_dir)
    threshold = DEFAULT_STATS.threshold if threshold is None else threshold
    if current is not None:
        comparison = compare(
            str(run),
            str(current),
            baseline_label=baseline_label,
            current_label=current_label,
            threshold=threshold,
            runs_dir=runs_dir,
        )
        return [comparison.baseline, comparison.current], comparison
    base_run, label = split_run_ref(run, runs_dir)
    if label is not None:
        check_label(base_run, label)
    labels = base_run.targets or sorted(set(base_run.samples["target"]))
    if label is not None and current_label is None:
        return [Side(base_run, label)], None
    if len(labels) < 2:
        if not labels:
            raise RunDirError(f"run {base_run.id} has no targets")
        return [Side(base_run, label or labels[0])], None
    baseline_label = label or baseline_label
    comparison = compare(
        base_run,
        baseline_label=baseline_label,
        current_label=current_label,
        threshold=threshold,
        runs_dir=runs_dir,
    )
    return [comparison.baseline, comparison.current], comparison


@dataclass
class ReportData:
    """The sides of one report, their analysis tables, and where outputs go."""

    sides: list[Side]
    comparison: Comparison | None
    out_dir: Path
    threshold: float = DEFAULT_STATS.threshold
    _profiles: dict[tuple[int, str], Any] = field(default_factory=dict, repr=False)
    _culprits: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def compared(self) -> bool:
        return self.comparison is not None

    @cached_property
    def files(self) -> ReportFiles:
        """Where this report's figures, tables and comparison.json go."""
        return ReportFiles(self.out_dir)

    @cached_property
    def series(self) -> list[str]:
        """A display name per side: its label, or label @ run when both labels are equal."""
        labels = [s.label for s in self.sides]
        if len(set(labels)) == len(labels):
            return labels
        return [f"{s.label} @ {s.run.id}" for s in self.sides]

    @property
    def title(self) -> str:
        refs = [s.ref for s in self.sides]
        return " vs ".join(refs) if self.compared else refs[0]

    def _repr_markdown_(self) -> str:
        refs = [f"`{s.ref}`" for s in self.sides]
        if self.compared:
            return (
                f"Baseline {refs[0]} against current {refs[1]}; a change counts from "
                f"{self.threshold:.0%}. Outputs go to `{self.out_dir}`."
            )
        return f"One target, {refs[0]}. Outputs go to `{self.out_dir}`."

    def _per_side(self, compute) -> pd.DataFrame:
        """Concatenate `compute(side)` rows of every side, tagged with `side` and `series`."""
        frames = []
        for index, (side, name) in enumerate(zip(self.sides, self.series, strict=True)):
            frame = compute(side)
            if frame is None or frame.empty:
                continue
            frame = frame[frame["target"] == side.label].copy()
            frame.insert(0, "series", name)
            frame.insert(0, "side", ("baseline", "current")[index] if self.compared else "run")
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["side", "series", "id", "target"])
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def ids(self) -> list[str]:
        """Benchmark ids in suite order: the comparison's, else the run's."""
        if self.comparison is not None:
            return list(self.comparison.table["id"])
        return list(dict.fromkeys(self.timing["id"]))

    @cached_property
    def timing(self) -> pd.DataFrame:
        """`perfkit.analysis.stats.timing_summary` per side."""
        cache: dict[int, pd.DataFrame] = {}

        def compute(side: Side) -> pd.DataFrame:
            key = id(side.run)
            if key not in cache:
                cache[key] = timing_summary(side.run)
            return cache[key]

        return self._per_side(compute)

    @cached_property
    def worker_medians(self) -> pd.DataFrame:
        """One row per worker: `perfkit.analysis.stats.worker_medians` per side."""
        return self._per_side(lambda side: worker_medians(side.run.samples))

    @property
    def table(self) -> pd.DataFrame | None:
        """`Comparison.table` (None without a comparison)."""
        return None if self.comparison is None else self.comparison.table

    @cached_property
    def budgets(self) -> pd.DataFrame:
        """`perfkit.analysis.budgets.check_budgets` of the current side (the one run alone)."""
        from perfkit.analysis.budgets import check_budgets

        side = self.sides[-1]
        timing = self.timing[self.timing["side"] == ("current" if self.compared else "run")]
        return check_budgets(side.run, side.label, timing=timing.drop(columns=["side", "series"]))

    @cached_property
    def scaling_fits(self) -> pd.DataFrame:
        """`perfkit.analysis.scaling.fit_scaling` per side."""
        from perfkit.analysis.scaling import fit_scaling

        return self._per_side(lambda side: fit_scaling(side.run))

    @cached_property
    def scaling_change(self) -> pd.DataFrame | None:
        """`perfkit.analysis.scaling.compare_scaling` (None without a comparison)."""
        return None if self.comparison is None else self.comparison.scaling()

    @cached_property
    def memory(self) -> pd.DataFrame:
        """`perfkit.analysis.memory.memory_summary` per side (empty without a memory pass)."""
        from perfkit.analysis.memory import memory_summary

        return self._per_side(lambda side: memory_summary(side.run))

    @cached_property
    def memory_series(self) -> pd.DataFrame:
        """The growth series (memory.csv rows) per side, with ids."""
        return self._per_side(
            lambda side: with_ids(side.run.memory) if not side.run.memory.empty else None
        )

    @cached_property
    def monitor(self) -> pd.DataFrame:
        """`perfkit.analysis.monitor.monitor_summary` per side (empty without monitor data)."""
        from perfkit.analysis.monitor import monitor_summary

        return self._per_side(lambda side: monitor_summary(side.run))

    @cached_property
    def failures(self) -> pd.DataFrame:
        return self._per_side(
            lambda side: with_ids(side.run.failures) if not side.run.failures.empty else None
        )

    def profiled_ids(self) -> list[str]:
        """Benchmark ids with a profile on every side, in report order."""
        sets = []
        for side in self.sides:
            rows = side.run.profiles
            rows = rows[rows["target"] == side.label]
            sets.append(set(with_ids(rows)["id"]) if not rows.empty else set())
        common = set.intersection(*sets) if sets else set()
        return [i for i in self.ids if i in common]

    def focus_benchmark(self, benchmark: str | None = None) -> str | None:
        """The benchmark the call-graph views look at: `benchmark`, else the largest
        significant change either way (regressions and improvements first, then slower and
        faster, then the rest; by size within each), else the slowest profiled one."""
        profiled = self.profiled_ids()
        if benchmark is not None:
            if benchmark not in profiled:
                have = ", ".join(profiled) or "none (run `perfkit run --profile`)"
                raise ParameterError(
                    f"benchmark={benchmark!r} has no profile here (profiled: {have})"
                )
            return benchmark
        if not profiled:
            return None
        if self.comparison is not None:
            t = self.comparison.table[self.comparison.table["id"].isin(profiled)]
            t = t[t["ratio"].notna() & (t["ratio"] > 0)]
            if not t.empty:
                rank = t["verdict"].map(FOCUS_ORDER).fillna(len(FOCUS_ORDER))
                size = -np.abs(np.log(t["ratio"].astype(float)))
                order = t.assign(_rank=rank, _size=size).sort_values(["_rank", "_size", "id"])
                return str(order["id"].iloc[0])
        t = self.timing[self.timing["id"].isin(profiled)]
        return str(t.loc[t["median_seconds"].idxmax(), "id"]) if not t.empty else profiled[0]

    def profile(self, benchmark: str, side: int = -1):
        """The `perfkit.analysis.profiles.Profile` of one benchmark on one side (default: current)."""
        from perfkit.analysis.run_profiles import load_run_profile

        index = side % len(self.sides)
        key = (index, benchmark)
        if key not in self._profiles:
            s = self.sides[index]
            self._profiles[key] = load_run_profile(s.run, s.label, benchmark)
        return self._profiles[key]

    def top_functions(self, benchmark: str, n: int = 15, side: int = -1) -> pd.DataFrame:
        """The `n` functions with most own time per scenario call, readable columns."""
        profile = self.profile(benchmark, side)
        top = profile.top(n, by="tottime")
        per_call = profile.calls
        return pd.DataFrame(
            {
                "function": top["function"],
                "where": [f"{f}:{line}" for f, line in zip(top["file"], top["line"], strict=True)],
                "calls per scenario call": top["ncalls"] / per_call,
                "own time per call": top["tottime"] / per_call,
                "cumulative per call": top["cumtime"] / per_call,
            }
        )

    def profile_diff(self, benchmark: str) -> pd.DataFrame:
        """`perfkit.analysis.profiles.diff_profiles` baseline -> current of one benchmark."""
        from perfkit.analysis.profiles import diff_profiles

        if not self.compared:
            raise PerfkitError("a profile diff needs two sides (baseline and current)")
        return diff_profiles(self.profile(benchmark, 0), self.profile(benchmark, 1))

    def culprit_report(self, benchmark: str):
        """`perfkit.analysis.culprits.CulpritReport` of one benchmark, from every profiling
        worker of both sides, directed by the timing verdict (cached)."""
        from perfkit.analysis.culprits import find_culprits
        from perfkit.analysis.run_profiles import load_run_profiles

        if not self.compared:
            raise PerfkitError("culprits need two sides (baseline and current)")
        if benchmark not in self._culprits:
            rows = self.comparison.table[self.comparison.table["id"] == benchmark]
            ratio = float(rows["ratio"].iloc[0]) if len(rows) else None
            base, cur = self.sides[0], self.sides[-1]
            self._culprits[benchmark] = find_culprits(
                load_run_profiles(base.run, base.label, benchmark),
                load_run_profiles(cur.run, cur.label, benchmark),
                timing_ratio=ratio if ratio is not None and np.isfinite(ratio) else None,
                benchmark=benchmark,
            )
        return self._culprits[benchmark]

    def culprits(self, benchmark: str, n: int = 5) -> pd.DataFrame:
        """The named culprits of one benchmark, one row each, biggest change first:
        name, file, line, status, delta_seconds (per scenario call), ci_low, ci_high, why."""
        from perfkit.analysis.culprit_words import reasons_text

        columns = ["name", "file", "line", "status", "delta_seconds", "ci_low", "ci_high", "why"]
        named = self.culprit_report(benchmark).named(n)
        rows = [
            {
                "name": c.name,
                "file": c.file,
                "line": c.line,
                "status": c.status,
                "delta_seconds": c.delta_seconds,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "why": reasons_text(c, code=str),
            }
            for c in named
        ]
        return pd.DataFrame(rows, columns=columns)

    def environment_changes(self) -> EnvironmentDiff | None:
        """Interpreter and packages baseline → current; None without a comparison."""
        return None if self.comparison is None else self.comparison.environment()

    def environment(self) -> list[dict[str, Any]]:
        """Per side: run, target, code version, host, Python and measurement options."""
        rows = []
        for side, name in zip(self.sides, self.series, strict=True):
            run_info = side.run.info
            info = run_metadata(side)
            target = run_info.targets.get(side.label)
            host, python, options = run_info.host, run_info.python, run_info.options
            rows.append(
                {
                    "series": name,
                    "run": side.run.id,
                    "label": side.label,
                    "created": info.get("created"),
                    "status": info.get("status"),
                    "suite": run_info.suite,
                    "target": target.spec if target else None,
                    "git_sha": target.git_sha if target else None,
                    "host": host.get("hostname"),
                    "cpu": host.get("cpu_model"),
                    "cores": host.get("cores"),
                    "memory_bytes": host.get("memory_bytes"),
                    "os": host.get("os"),
                    "python": _python_text(target, python),
                    "interpreter": target.interpreter.executable
                    if target and target.interpreter
                    else python.get("executable"),
                    "env_file": target.interpreter.env_file
                    if target and target.interpreter
                    else None,
                    "perfkit": run_info.perfkit_version,
                    "workers": options.get("workers"),
                    "samples": options.get("samples"),
                    "interleaved": run_info.interleaved,
                }
            )
        return rows


def _python_text(target: TargetInfo | None, run_python: dict[str, Any]) -> str:
    """The target's interpreter as recorded, else (older runs) the run's own Python."""
    if target is not None and target.interpreter is not None:
        parts: tuple[Any, ...] = (target.interpreter.implementation, target.interpreter.version)
    else:
        parts = (run_python.get("implementation"), run_python.get("version"))
    return " ".join(str(x) for x in parts if x)


def open_report(
    run: str | Path = "latest",
    current: str | Path | None = None,
    baseline_label: str | None = None,
    current_label: str | None = None,
    runs_dir: str | Path = DEFAULT_RUNS_DIR,
    out_dir: str | Path = DEFAULT_REPORTS_DIR,
    threshold: float | None = None,
) -> ReportData:
    """Resolve the report's sides (see `resolve_sides`) and where its outputs go."""
    threshold = DEFAULT_STATS.threshold if threshold is None else float(threshold)
    sides, comparison = resolve_sides(
        run,
        current,
        baseline_label=baseline_label,
        current_label=current_label,
        runs_dir=runs_dir,
        threshold=threshold,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return ReportData(sides=sides, comparison=comparison, out_dir=out, threshold=threshold)
