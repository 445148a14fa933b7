"""Statistics, verdicts, budgets and scaling on synthetic runs of known shape (fixed seeds)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.runs import SHIFTS, sample_rows, shifted_run, write_run

from perfkit.analysis.budgets import check_budgets
from perfkit.analysis.comparison import compare, resolve_sides
from perfkit.analysis.scaling import fit_scaling
from perfkit.analysis.stats import (
    ratio_independent,
    ratio_paired,
    timing_summary,
    verdict,
)
from perfkit.config.project import load_config
from perfkit.errors import PerfkitError
from perfkit.rundir import load_run


@pytest.mark.parametrize("seed", range(12))
def test_known_shifts_in_one_interleaved_run(tmp_path: Path, seed: int) -> None:
    result = compare(shifted_run(tmp_path, seed))
    verdicts = dict(zip(result.table["id"], result.table["verdict"], strict=True))
    assert result.paired
    assert verdicts["grow"] == "regression"
    assert verdicts["same"] in ("unchanged", "inconclusive")
    assert verdicts["shrink"] == "improvement"
    row = result.table.set_index("id").loc["grow"]
    assert row["ci_low"] < 1.15 < row["ci_high"]
    assert row["change_text"].endswith("% slower")


@pytest.mark.parametrize("seed", range(4))
def test_known_shifts_across_two_runs(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    base_rows, cur_rows = [], []
    for name, factor in SHIFTS.items():
        base_rows += sample_rows(rng, name, "", "main", 1e-3, 12)
        cur_rows += sample_rows(rng, name, "", "main", 1e-3 * factor, 12)
    base = write_run(tmp_path, base_rows, ("main",))
    current = write_run(tmp_path, cur_rows, ("main",))
    result = compare(str(base), str(current))
    verdicts = dict(zip(result.table["id"], result.table["verdict"], strict=True))
    assert not result.paired
    assert verdicts == {
        "grow": "regression",
        "same": verdicts["same"],
        "shrink": "improvement",
    }
    assert verdicts["same"] in ("unchanged", "inconclusive")


def test_pairing_by_round_narrows_the_interval() -> None:
    rng = np.random.default_rng(7)
    rounds = np.exp(rng.normal(0, 0.15, 16))  # a very noisy box, shared within a round
    base = pd.Series(1e-3 * rounds * np.exp(rng.normal(0, 0.01, 16)))
    current = pd.Series(1.03e-3 * rounds * np.exp(rng.normal(0, 0.01, 16)))
    paired = ratio_paired(base, current)
    independent = ratio_independent(base.to_numpy(), current.to_numpy())
    assert paired.ci_high - paired.ci_low < (independent.ci_high - independent.ci_low) / 3
    assert paired.ci_low > 1.0
    assert verdict(paired.ratio, paired.ci_low, paired.ci_high, 0.10, 16, 16) == "slower"


@pytest.mark.parametrize(
    ("ratio", "low", "high", "expected"),
    [
        (1.20, 1.12, 1.30, "regression"),
        (1.10, 1.05, 1.15, "regression"),  # exactly at the threshold counts
        (1.06, 1.02, 1.10, "slower"),
        (0.70, 0.65, 0.75, "improvement"),
        (0.95, 0.92, 0.98, "faster"),
        (1.01, 0.97, 1.04, "unchanged"),
        (1.05, 0.95, 1.20, "inconclusive"),
        (math.nan, math.nan, math.nan, "inconclusive"),
    ],
)
def test_verdict_rules(ratio: float, low: float, high: float, expected: str) -> None:
    assert verdict(ratio, low, high, 0.10) == expected


def test_fewer_than_three_workers_is_inconclusive() -> None:
    assert verdict(2.0, 1.9, 2.1, 0.10, n_baseline=2, n_current=10) == "inconclusive"


def test_two_worker_runs_give_inconclusive(tmp_path: Path) -> None:
    result = compare(shifted_run(tmp_path, 1, workers=2))
    assert set(result.table["verdict"]) == {"inconclusive"}


def test_timing_summary_reduces_per_worker(tmp_path: Path) -> None:
    rows = []
    for worker, level in enumerate([1.0, 2.0, 3.0, 4.0, 100.0]):  # one outlier process
        for sample, jitter in enumerate([0.9, 1.0, 1.1]):
            rows.append(
                {
                    "benchmark": "f",
                    "params": "n=1",
                    "target": "main",
                    "worker": worker,
                    "sample": sample,
                    "loops": 1,
                    "seconds": level * jitter,
                }
            )
    run = load_run(write_run(tmp_path, rows, ("main",)))
    row = timing_summary(run).iloc[0]
    assert row["id"] == "f[n=1]"
    assert row["median_seconds"] == pytest.approx(3.0)  # the outlier does not move it
    assert row["min_seconds"] == pytest.approx(0.9)
    assert row["iqr_seconds"] == pytest.approx(2.0)
    assert (row["n_workers"], row["n_samples"]) == (5, 15)
    assert row["ci_low_seconds"] <= 3.0 <= row["ci_high_seconds"]


def test_json_has_the_reviewer_shape(tmp_path: Path) -> None:
    data = compare(shifted_run(tmp_path, 3)).to_json()
    assert {"baseline", "current", "comparison", "summary"} <= set(data)
    assert data["baseline"]["label"] == "baseline"
    entry = data["comparison"]["grow"]
    for key in (
        "baseline_median_seconds",
        "current_median_seconds",
        "ratio",
        "ci_low",
        "ci_high",
        "pct_change",
        "verdict",
        "n_baseline",
        "n_current",
    ):
        assert key in entry
    assert entry["pct_change"] == pytest.approx((entry["ratio"] - 1) * 100)
    summary = data["summary"]
    assert summary["regression"] == 1 and summary["improvement"] == 1
    expected = (1.15 * 1.0 * 0.70) ** (1 / 3)
    assert summary["geometric_mean_ratio"] == pytest.approx(expected, rel=0.05)


def test_refs_labels_and_latest(tmp_path: Path) -> None:
    first = shifted_run(tmp_path, 4)
    rows = sample_rows(np.random.default_rng(0), "grow", "", "main", 1e-3, 6)
    second = write_run(tmp_path, rows, ("main",), run_id="20991231T235959-ffff")
    base, current = resolve_sides(f"{first.name}:current", "latest", runs_dir=tmp_path)
    assert (base.label, current.label, current.run.path) == ("current", "main", second)
    base, current = resolve_sides(str(first), runs_dir=tmp_path)
    assert (base.label, current.label) == ("baseline", "current")
    with pytest.raises(PerfkitError, match="no target 'nope'"):
        resolve_sides(f"{first}:nope", runs_dir=tmp_path)
    with pytest.raises(PerfkitError, match="has one target"):
        resolve_sides(str(second), runs_dir=tmp_path)
    rng = np.random.default_rng(1)
    rows = sample_rows(rng, "grow", "", "old", 1e-3, 4) + sample_rows(
        rng, "grow", "", "new", 1e-3, 4
    )
    two_labels = write_run(tmp_path, rows, ("old", "new"))
    with pytest.raises(PerfkitError, match="say which is the baseline"):
        resolve_sides(str(two_labels), str(second), runs_dir=tmp_path)
    base, current = resolve_sides(str(two_labels), runs_dir=tmp_path)
    assert (base.label, current.label) == ("old", "new")
    with pytest.raises(PerfkitError, match="the same"):
        resolve_sides(str(first), baseline_label="current", current_label="current")


def test_no_common_benchmark(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = write_run(tmp_path, sample_rows(rng, "a", "", "main", 1e-3, 4), ("main",))
    b = write_run(tmp_path, sample_rows(rng, "b", "", "main", 1e-3, 4), ("main",))
    with pytest.raises(PerfkitError, match="no common benchmark"):
        compare(str(a), str(b))


def test_budgets_from_decorator_and_toml(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = sample_rows(rng, "export", "n=100", "main", 1.0, 8)
    rows += sample_rows(rng, "filter", "", "main", 0.2, 8)
    rows += sample_rows(rng, "track", "", "main", 0.5, 8)
    cases = {
        "export[n=100]": {"name": "export", "budget_seconds": 2.0, "memory_budget_bytes": 5e8},
        "filter": {"name": "filter", "budget_seconds": 10.0},
        "track": {"name": "track"},
    }
    suite_dir = tmp_path / "proj"
    suite_dir.mkdir()
    (suite_dir / "perfkit.toml").write_text(
        '[budgets]\nfilter = "100ms"\n"tr*" = {time = "5s", memory = "1GB"}\n', encoding="utf-8"
    )
    memory_rows = [
        {
            "benchmark": "export",
            "params": "n=100",
            "target": "main",
            "worker": 0,
            "baseline_rss_bytes": 1e8,
            "peak_rss_bytes": 6e8,
            "py_peak_bytes": 1e7,
            "calls": 5,
        }
    ]
    path = write_run(
        tmp_path / "runs",
        rows,
        ("main",),
        cases=cases,
        suite=str(suite_dir / "suite.py"),
        memory_rows=memory_rows,
    )
    run = load_run(path)
    table = check_budgets(run).set_index(["id", "kind"])
    upper = timing_summary(run).set_index("id").loc["export[n=100]", "ci_high_seconds"]
    assert table.loc[("export[n=100]", "time"), "met"]
    assert table.loc[("export[n=100]", "time"), "measured"] == upper  # never one timing
    assert table.loc[("export[n=100]", "memory"), "mark"] == "missed"
    assert table.loc[("filter", "time"), "budget_text"] == "100ms"  # toml overrides
    assert table.loc[("filter", "time"), "status"] == "missed"
    assert table.loc[("track", "time"), "met"]
    assert table.loc[("track", "memory"), "status"] == "unmeasured"


def test_bad_budget_entry_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "perfkit.toml"
    config.write_text('[budgets]\nfoo = "5 parsecs"\n', encoding="utf-8")
    with pytest.raises(PerfkitError, match=r"perfkit\.toml: \[budgets\] 'foo'"):
        load_config(config)


def test_scaling_flags_a_growing_exponent(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    rows = []
    for n in (10, 100, 1000):
        rows += sample_rows(rng, "playlist", f"n={n}", "baseline", 1e-5 * n, 6)
        rows += sample_rows(rng, "playlist", f"n={n}", "current", 1e-5 * n**1.3, 6)
        rows += sample_rows(rng, "flat", f"n={n}", "baseline", 1e-5 * n, 6)
        rows += sample_rows(rng, "flat", f"n={n}", "current", 1e-5 * n, 6)
    path = write_run(tmp_path, rows, ("baseline", "current"))
    fits = fit_scaling(load_run(path)).set_index(["benchmark", "target"])
    assert fits.loc[("playlist", "baseline"), "k"] == pytest.approx(1.0, abs=0.03)
    assert (
        fits.loc[("playlist", "current"), "k_ci_low"]
        < 1.3
        < fits.loc[("playlist", "current"), "k_ci_high"]
    )
    flags = compare(path).scaling().set_index("benchmark")
    assert flags.loc["playlist", "grew"]
    assert flags.loc["playlist", "shape_change"] == "worse"
    assert flags.loc["playlist", "flag"].startswith("scales worse: linear → super-linear (k 1.0")
    assert flags.loc["playlist", "flag"].endswith("→ 1.30)")
    assert flags.loc["flat", "flag"] == "" and flags.loc["flat", "shape_change"] == ""
    assert flags.loc["flat", "text"].endswith(", linear")


def test_scaling_tells_super_linear_to_linear_in_words(tmp_path: Path) -> None:
    """The newcomer's case: k 1.28 → 0.97 is a change of complexity, told as such."""
    rng = np.random.default_rng(12)
    rows = []
    for n in (10, 100, 1000):
        rows += sample_rows(rng, "match", f"n={n}", "baseline", 1e-6 * n**1.28, 6)
        rows += sample_rows(rng, "match", f"n={n}", "current", 1e-6 * n**0.97, 6)
        rows += sample_rows(rng, "edge", f"n={n}", "baseline", 1e-6 * n**1.08, 6)
        rows += sample_rows(rng, "edge", f"n={n}", "current", 1e-6 * n**1.12, 6)
    change = compare(write_run(tmp_path, rows, ("baseline", "current"))).scaling()
    change = change.set_index("benchmark")
    assert change.loc["match", "shape_change"] == "better"
    assert not change.loc["match", "grew"]
    assert change.loc["match", "text"].startswith("scales better: super-linear → linear (k 1.2")
    # Crossing the linear band by a hair is not a change of complexity.
    assert change.loc["edge", "shape_change"] == ""


def test_perfkit_compare_is_the_function_after_the_module_import(tmp_path: Path) -> None:
    import perfkit
    import perfkit.analysis.comparison

    assert perfkit.compare(shifted_run(tmp_path, 6)).summary["regression"] == 1


def test_two_workers_give_no_median_ci() -> None:
    from perfkit.analysis.stats import median_ci

    assert all(math.isnan(x) for x in median_ci(np.array([1.0, 1.2])))
    low, high = median_ci(np.array([1.0, 1.1, 1.2, 1.05]))
    assert 1.0 <= low <= high <= 1.2


def test_geometric_mean_is_scipys() -> None:
    """geometric_mean's numpy formula (kept off scipy.stats for the import cost) is
    scipy.stats.gmean's, over the finite positive values only."""
    from scipy import stats as sps

    from perfkit.analysis.stats import geometric_mean

    rng = np.random.default_rng(16)
    for n in (1, 2, 5, 40, 300):
        values = rng.lognormal(0.0, 0.3, n)
        assert geometric_mean(values) == pytest.approx(float(sps.gmean(values)), rel=1e-14)
    assert geometric_mean(np.array([2.0, 8.0, np.nan, 0.0, -1.0, np.inf])) == pytest.approx(4.0)
    assert math.isnan(geometric_mean(np.array([np.nan, 0.0])))
