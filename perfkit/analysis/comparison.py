"""Comparing a baseline with a current version: per benchmark ratio, CI and verdict.

Owns the two sides as runs (two runs, or two labels of one interleaved run; the rule for
picking them is `perfkit.rundir.refs`) and the reviewer's JSON shape. Statistics come from `perfkit.analysis.stats`; nothing here prints.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfkit.analysis.environment import EnvironmentDiff, environment_diff
from perfkit.analysis.multiple import discoveries, q_values
from perfkit.analysis.stats import (
    MIN_WORKERS,
    VERDICTS,
    RatioEstimate,
    geometric_mean,
    independent_ratios,
    memory_peaks,
    paired_ratios,
    pct_change,
    stepwise_round_logs,
    verdict,
    with_ids,
    worker_medians,
)
from perfkit.collect.sequential import confidence_sequence
from perfkit.config import DEFAULT_STATS, StatsConfig
from perfkit.errors import PerfkitError
from perfkit.render.format import format_change
from perfkit.rundir import (
    DEFAULT_RUNS_DIR,
    Run,
    atomic_write_json,
    load_run,
    refs,
)

TABLE_COLUMNS = [
    "id",
    "benchmark",
    "params",
    "baseline_median_seconds",
    "current_median_seconds",
    "ratio",
    "ci_low",
    "ci_high",
    "pct_change",
    "p_value",
    "q_value",
    "verdict",
    "n_baseline",
    "n_current",
    "change_text",
]
MEMORY_COLUMNS = [
    "baseline_peak_rss_bytes",
    "current_peak_rss_bytes",
    "memory_ratio",
    "memory_verdict",
]
JSON_KEYS = TABLE_COLUMNS[3:]  # per benchmark in comparison.json: everything but the id parts


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a run and one of its target labels."""

    run: Run
    label: str

    @property
    def ref(self) -> str:
        return f"{self.run.id}:{self.label}"


def _labels(run: Run) -> list[str]:
    labels = list(run.targets)
    if not run.samples.empty:
        labels += [t for t in run.samples["target"].astype(str).unique() if t not in labels]
    return labels


def split_run_ref(ref: str | Path | Run, runs_dir: Path) -> tuple[Run, str | None]:
    """``RUN`` or ``RUN:LABEL`` (RUN: id, directory or ``latest``) -> (Run, label)."""
    if isinstance(ref, Run):
        return ref, None
    path, label = refs.split_run_ref(ref, runs_dir)
    return load_run(path), label


def check_label(run: Run, label: str) -> str:
    return refs.check_label(_labels(run), label, run.id)


def resolve_sides(
    base: str | Path | Run,
    current: str | Path | Run | None = None,
    *,
    baseline_label: str | None = None,
    current_label: str | None = None,
    runs_dir: Path = DEFAULT_RUNS_DIR,
) -> tuple[Side, Side]:
    """Pick the baseline and current sides, by the rule of `perfkit.rundir.refs`."""
    base_run, base_ref_label = split_run_ref(base, runs_dir)
    if base_ref_label and baseline_label and base_ref_label != baseline_label:
        raise PerfkitError(
            f"baseline label given twice: {base_ref_label!r} and --baseline {baseline_label!r}"
        )
    baseline_label = base_ref_label or baseline_label
    if current is None:
        baseline_label, current_label = refs.pick_sides(
            _labels(base_run), baseline_label, current_label, run_id=base_run.id
        )
        return Side(base_run, baseline_label), Side(base_run, current_label)
    current_run, cur_ref_label = split_run_ref(current, runs_dir)
    if cur_ref_label and current_label and cur_ref_label != current_label:
        raise PerfkitError(
            f"current label given twice: {cur_ref_label!r} and --current {current_label!r}"
        )
    current_label = cur_ref_label or current_label
    baseline_label = baseline_label or refs.pick_label(_labels(base_run), "baseline", base_run.id)
    current_label = current_label or refs.pick_label(
        _labels(current_run), "current", current_run.id
    )
    check_label(base_run, baseline_label)
    check_label(current_run, current_label)
    if _same_run(base_run, current_run) and baseline_label == current_label:
        raise PerfkitError(
            f"baseline and current are the same: {base_run.id}:{baseline_label} (pick two labels)"
        )
    return Side(base_run, baseline_label), Side(current_run, current_label)


def _same_run(a: Run, b: Run) -> bool:
    return a is b or Path(a.path).resolve() == Path(b.path).resolve()


def run_metadata(side: Side) -> dict[str, Any]:
    """What a reviewer needs to know about one side: which run, which code, which machine."""
    info = side.run.info
    target = info.targets.get(side.label)
    return {
        "run_id": side.run.id,
        "label": side.label,
        "path": str(side.run.path),
        "created": info.created,
        "status": info.status,
        "suite": info.suite,
        "target": target.to_json() if target is not None else None,
        "host": info.host.get("hostname"),
        "cpu": info.host.get("cpu_model") or info.host.get("cpu"),
        "python": info.python.get("version"),
        "interleaved": info.interleaved,
        "plan": info.options.get("plan", "fixed"),
        "load": None if info.load is None else info.load.to_json(),
    }


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# What `Comparison.interval` (and comparison.json's settings.interval) says was used.
INTERVAL_SEQUENTIAL = "anytime-valid confidence sequence (adaptive plan)"
INTERVAL_PAIRED = "bootstrap over rounds (paired)"
INTERVAL_INDEPENDENT = "bootstrap over workers"


@dataclass
class Comparison:
    """Baseline vs current, one row per common benchmark in `table`."""

    baseline_run: Run
    current_run: Run
    baseline_label: str
    current_label: str
    threshold: float
    paired: bool
    table: pd.DataFrame
    summary: dict[str, Any]
    config: StatsConfig = field(default=DEFAULT_STATS)
    # budgets and scaling are asked for by the table, the JSON and the report: compute once
    _derived: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def baseline(self) -> Side:
        return Side(self.baseline_run, self.baseline_label)

    @property
    def current(self) -> Side:
        return Side(self.current_run, self.current_label)

    @property
    def has_memory(self) -> bool:
        return "memory_ratio" in self.table.columns

    @property
    def interval(self) -> str:
        """How the ratio CIs were made: `INTERVAL_SEQUENTIAL`, `_PAIRED` or `_INDEPENDENT`."""
        if not self.paired:
            return INTERVAL_INDEPENDENT
        return INTERVAL_SEQUENTIAL if _is_adaptive(self.baseline_run) else INTERVAL_PAIRED

    def regressions(self) -> list[str]:
        return list(self.table.loc[self.table["verdict"] == "regression", "id"])

    def budgets(self) -> pd.DataFrame:
        """Budget checks of the current side (see `perfkit.analysis.budgets.check_budgets`)."""
        from perfkit.analysis.budgets import check_budgets

        if "budgets" not in self._derived:
            self._derived["budgets"] = check_budgets(
                self.current_run, self.current_label, stats=self.config
            )
        return self._derived["budgets"].copy()

    def scaling(self) -> pd.DataFrame:
        """k baseline → current (see `perfkit.analysis.scaling.compare_scaling`)."""
        from perfkit.analysis.scaling import compare_scaling

        if "scaling" not in self._derived:
            self._derived["scaling"] = compare_scaling(
                self.baseline_run,
                self.baseline_label,
                self.current_run,
                self.current_label,
                self.config,
            )
        return self._derived["scaling"].copy()

    def environment(self) -> EnvironmentDiff:
        """Interpreter and packages baseline → current (`perfkit.analysis.environment`)."""
        base, cur = self.baseline_run.info, self.current_run.info
        return environment_diff(
            base.targets.get(self.baseline_label),
            cur.targets.get(self.current_label),
            base.python,
            cur.python,
        )

    def to_json(self) -> dict[str, Any]:
        """The reviewer's shape: baseline, current, comparison (by id), summary."""
        keys = JSON_KEYS + (MEMORY_COLUMNS if self.has_memory else [])
        comparison = {
            row["id"]: {key: _clean(row[key]) for key in keys}
            for row in self.table.to_dict("records")
        }
        budgets = self.budgets()
        scaling = self.scaling()
        return {
            "baseline": run_metadata(self.baseline),
            "current": run_metadata(self.current),
            "settings": {
                "threshold": self.threshold,
                "confidence": self.config.confidence,
                "bootstrap_resamples": self.config.bootstrap_resamples,
                "false_discovery_rate": self.config.false_discovery_rate,
                "multiple_comparisons": "benjamini-hochberg",
                "paired_by_round": self.paired,
                "interval": self.interval,
            },
            "comparison": comparison,
            "summary": {k: _clean(v) for k, v in self.summary.items()},
            "budgets": [
                {k: _clean(v) for k, v in row.items()} for row in budgets.to_dict("records")
            ],
            "scaling": [
                {k: _clean(v) for k, v in row.items()} for row in scaling.to_dict("records")
            ],
            "environment": self.environment().to_json(),
        }

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        data = self.to_json()
        json.dumps(data, allow_nan=False)  # fail here, not in a reviewer's parser
        atomic_write_json(path, data)
        return path


def _side_medians(side: Side) -> pd.DataFrame:
    medians = worker_medians(side.run.samples)
    return medians[medians["target"] == side.label]


def _memory_columns(table: pd.DataFrame, base: Side, current: Side, threshold: float) -> None:
    peaks_b = memory_peaks(base.run)
    peaks_c = memory_peaks(current.run)
    peaks_b = peaks_b[peaks_b["target"] == base.label].set_index("id")["peak_rss_bytes"]
    peaks_c = peaks_c[peaks_c["target"] == current.label].set_index("id")["peak_rss_bytes"]
    if peaks_b.empty or peaks_c.empty:
        return
    b = table["id"].map(peaks_b).astype(float)
    c = table["id"].map(peaks_c).astype(float)
    ratio = c / b
    table["baseline_peak_rss_bytes"] = b
    table["current_peak_rss_bytes"] = c
    table["memory_ratio"] = ratio
    # One memory worker per side: no CI, the threshold alone decides.
    table["memory_verdict"] = [
        "inconclusive"
        if not math.isfinite(r)
        else "regression"
        if r >= 1 + threshold
        else "improvement"
        if r <= 1 - threshold
        else "unchanged"
        for r in ratio
    ]


def compare(
    base: str | Path | Run,
    current: str | Path | Run | None = None,
    *,
    baseline_label: str | None = None,
    current_label: str | None = None,
    threshold: float | None = None,
    config: StatsConfig = DEFAULT_STATS,
    runs_dir: Path = DEFAULT_RUNS_DIR,
) -> Comparison:
    """Compare current with baseline, benchmark by benchmark.

    `base`/`current` are Run objects or references: a run id, a run directory,
    ``latest``, or ``RUN:LABEL``. Without `current`, two labels of the one run
    are compared (by default ``baseline`` and ``current``) and workers are paired
    by round. The threshold defaults to `StatsConfig.threshold`.
    """
    threshold = config.threshold if threshold is None else float(threshold)
    if not 0 <= threshold < 1:
        raise PerfkitError(f"threshold must be between 0 % and 100 %, got {threshold:.0%}")
    base_side, current_side = resolve_sides(
        base,
        current,
        baseline_label=baseline_label,
        current_label=current_label,
        runs_dir=runs_dir,
    )
    paired = _same_run(base_side.run, current_side.run)
    med_b = _side_medians(base_side)
    med_c = _side_medians(current_side)
    ids_b = list(dict.fromkeys(med_b["id"]))
    ids_c = set(med_c["id"])
    common = [i for i in ids_b if i in ids_c]
    if not common and not (_failed_ids(base_side) or _failed_ids(current_side)):
        # Nothing measured and nothing failed: a wrong pair, not a result. When a side
        # failed, the (empty) table goes on so the failures are shown, not a usage error.
        raise PerfkitError(
            f"no common benchmark with samples: {base_side.ref} has "
            f"{', '.join(ids_b) or 'none'}; {current_side.ref} has "
            f"{', '.join(sorted(ids_c)) or 'none'}"
        )
    by_id_b = {cid: g["median_seconds"].to_numpy(float) for cid, g in med_b.groupby("id")}
    by_id_c = {cid: g["median_seconds"].to_numpy(float) for cid, g in med_c.groupby("id")}
    if paired:
        # Rounds are matched by worker number; a round missing on one side drops out.
        if base_side.run.info.options.get("pingpong"):
            # Ping-pong rounds pair their samples step by step, as the stopping rule did.
            rounds = stepwise_round_logs(base_side.run.samples, base_side.label, current_side.label)
        else:
            rounds = med_b.merge(med_c, on=["id", "worker"], suffixes=("_b", "_c"))
            rounds["log_ratio"] = np.log(rounds["median_seconds_c"] / rounds["median_seconds_b"])
        rounds = rounds.sort_values("worker", kind="stable")  # in round order
        logs = {cid: g.to_numpy(float) for cid, g in rounds.groupby("id")["log_ratio"]}
        estimate = sequential_ratios if _is_adaptive(base_side.run) else paired_ratios
        estimates = estimate(
            [logs.get(cid, np.empty(0)) for cid in common],
            [len(by_id_b[cid]) for cid in common],
            [len(by_id_c[cid]) for cid in common],
            config,
        )
        n_independent = [est.n_pairs for est in estimates]
    else:
        estimates = independent_ratios(
            [by_id_b[cid] for cid in common], [by_id_c[cid] for cid in common], config
        )
        n_independent = [min(est.n_baseline, est.n_current) for est in estimates]
    names = med_b.drop_duplicates("id").set_index("id")[["benchmark", "params"]]
    # Each benchmark is tested alone; the family of tests then decides what is significant.
    p_values = np.array(
        [
            est.p_value if n >= MIN_WORKERS else np.nan
            for est, n in zip(estimates, n_independent, strict=True)
        ]
    )
    q = q_values(p_values)
    significant = discoveries(p_values, config.false_discovery_rate)
    rows = []
    for k, (cid, est) in enumerate(zip(common, estimates, strict=True)):
        rows.append(
            {
                "id": cid,
                "benchmark": names.at[cid, "benchmark"],
                "params": names.at[cid, "params"],
                "baseline_median_seconds": float(np.median(by_id_b[cid])),
                "current_median_seconds": float(np.median(by_id_c[cid])),
                "ratio": est.ratio,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "pct_change": pct_change(est.ratio),
                "p_value": float(p_values[k]),
                "q_value": float(q[k]),
                "verdict": verdict(
                    est.ratio,
                    est.ci_low,
                    est.ci_high,
                    threshold,
                    n_independent[k],
                    n_independent[k],
                    significant=bool(significant[k]),
                ),
                "n_baseline": est.n_baseline,
                "n_current": est.n_current,
                "change_text": format_change(est.ratio),
            }
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    _memory_columns(table, base_side, current_side, threshold)
    summary = _summary(table, base_side, current_side, ids_b, ids_c)
    return Comparison(
        baseline_run=base_side.run,
        current_run=current_side.run,
        baseline_label=base_side.label,
        current_label=current_side.label,
        threshold=threshold,
        paired=paired,
        table=table,
        summary=summary,
        config=config,
    )


def _is_adaptive(run: Run) -> bool:
    """Measured by the adaptive plan: its verdicts must come from the interval it stopped on."""
    return run.info.options.get("plan") == "adaptive"


def sequential_ratios(
    log_ratios: list[np.ndarray],
    n_baseline: list[int],
    n_current: list[int],
    config: StatsConfig = DEFAULT_STATS,
) -> list[RatioEstimate]:
    """Ratios of an adaptive run: the anytime-valid interval the stopping rule used
    (`perfkit.collect.sequential`), its centre and its anytime p-value."""
    out = []
    for logs, n_b, n_c in zip(log_ratios, n_baseline, n_current, strict=True):
        seq = confidence_sequence(logs, config.confidence)
        out.append(
            RatioEstimate(
                seq.ratio, seq.ci_low, seq.ci_high, n_b, n_c, True, seq.n_rounds, seq.p_value
            )
        )
    return out


def _failed_ids(side: Side) -> list[str]:
    failures = side.run.failures
    if failures.empty:
        return []
    failures = with_ids(failures)
    return list(dict.fromkeys(failures.loc[failures["target"] == side.label, "id"]))


def _summary(
    table: pd.DataFrame, base: Side, current: Side, ids_b: list[str], ids_c: set[str]
) -> dict[str, Any]:
    counts = table["verdict"].value_counts()
    gmean = geometric_mean(table["ratio"].to_numpy(float))
    return {
        **{name: int(counts.get(name, 0)) for name in VERDICTS},
        "n_benchmarks": len(table),
        "geometric_mean_ratio": gmean,
        "geometric_mean_change_text": format_change(gmean),
        "only_in_baseline": [i for i in ids_b if i not in ids_c],
        "only_in_current": sorted(i for i in ids_c if i not in set(ids_b)),
        "failed_in_baseline": _failed_ids(base),
        "failed_in_current": _failed_ids(current),
    }


def summary_line(comparison: Comparison) -> str:
    """One line: counts per verdict and the geometric-mean change."""
    s = comparison.summary
    parts = [f"{s[name]} {name}" for name in VERDICTS if s.get(name)]
    gmean = s["geometric_mean_ratio"]
    tail = (
        f"; geometric mean ratio {gmean:.3f} ({s['geometric_mean_change_text']})"
        if math.isfinite(gmean)
        else ""
    )
    return f"{s['n_benchmarks']} benchmark(s): {', '.join(parts) or 'nothing compared'}{tail}"
