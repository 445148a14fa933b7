"""Many benchmarks at once: the vectorised bootstrap equals scipy's per benchmark, the
trimmed t-tests hold their level, and false discovery control keeps unchanged benchmarks
unlabelled while finding the real changes.

Synthetic data of known shape with fixed seeds; the reference is `scipy.stats.bootstrap`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from perfkit.analysis.bootstrap import (
    independent_ratio_intervals,
    median_intervals,
    paired_ratio_intervals,
    percentile_bounds,
    resample_counts,
    resampled_medians,
)
from perfkit.analysis.change_tests import trimmed_one_sample, trimmed_two_sample
from perfkit.analysis.comparison import compare
from perfkit.analysis.multiple import discoveries, q_values
from perfkit.analysis.stats import paired_ratios, verdict
from perfkit.collect.fdr import bh_adjusted
from perfkit.collect.sequential import family_discoveries
from perfkit.config import DEFAULT_STATS
from perfkit.rundir import SAMPLES_CSV, RunWriter

SIGNIFICANT = {"regression", "improvement", "slower", "faster"}
OPTIONS = {"confidence": 0.95, "n_resamples": 2000, "seed": 7}


def _scipy_ci(data: tuple[np.ndarray, ...], statistic) -> tuple[float, float]:
    result = sps.bootstrap(
        data,
        statistic,
        n_resamples=OPTIONS["n_resamples"],
        vectorized=True,
        method="percentile",
        confidence_level=OPTIONS["confidence"],
        rng=np.random.default_rng(OPTIONS["seed"]),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@pytest.mark.parametrize("n", [2, 3, 4, 7, 24])
def test_resampled_medians_equal_numpy_on_the_same_indices(n: int) -> None:
    values = np.random.default_rng(n).lognormal(0, 0.2, (5, n))
    values[0, :2] = values[0, 2 % n]  # ties
    counts = resample_counts(np.random.default_rng(1), n, 300)
    indices = np.random.default_rng(1).integers(0, n, (300, n))
    assert np.array_equal(resampled_medians(values, counts), np.median(values[:, indices], -1))


@pytest.mark.parametrize("n", [3, 5, 12, 24])
def test_each_row_gets_scipys_own_interval(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    logs = rng.normal(0.02, 0.05, (4, n))
    paired = paired_ratio_intervals(logs, **OPTIONS)
    base = rng.lognormal(0, 0.1, (4, n))
    current = rng.lognormal(0.1, 0.1, (4, n + 3))
    independent = independent_ratio_intervals(base, current, **OPTIONS)
    medians = median_intervals(base, **OPTIONS)
    for k in range(4):
        assert (paired.ci_low[k], paired.ci_high[k]) == _scipy_ci(
            (logs[k],), lambda x, axis=-1: np.exp(np.median(x, axis=axis))
        )
        assert (independent.ci_low[k], independent.ci_high[k]) == _scipy_ci(
            (base[k], current[k]),
            lambda b, c, axis=-1: np.median(c, axis=axis) / np.median(b, axis=axis),
        )
        assert (medians.ci_low[k], medians.ci_high[k]) == _scipy_ci(
            (base[k],), lambda x, axis=-1: np.median(x, axis=axis)
        )


def test_percentile_bounds_are_scipys_quantiles() -> None:
    """The numpy percentile step is scipy.stats.quantile's (method "linear") bit for bit,
    with ties, NaN and inf in the resampled statistics."""
    rng = np.random.default_rng(22)
    for trial in range(60):
        rows, width = int(rng.integers(1, 6)), int(rng.choice([1, 2, 3, 99, 2000]))
        distribution = rng.lognormal(-6, 0.3, (rows, width))
        if trial % 3 == 0:
            distribution = np.round(distribution, 5)
        if trial % 4 == 1:
            distribution[0, rng.integers(width)] = np.nan
        if trial % 5 == 2:
            distribution[-1, rng.integers(width)] = np.inf
        alpha = (1 - float(rng.choice([0.9, 0.95, 0.99, 0.999]))) / 2
        with np.errstate(invalid="ignore"):
            expected = sps.quantile(distribution, np.array([[alpha, 1 - alpha]]), axis=-1)
        assert np.array_equal(
            percentile_bounds(distribution, alpha), np.asarray(expected), equal_nan=True
        )


def test_no_spread_is_its_own_interval() -> None:
    est = paired_ratio_intervals(np.array([[0.0] * 5, [0.1] * 5]), **OPTIONS)
    assert list(est.ci_low) == list(est.estimate) == list(est.ci_high)


def test_trimmed_one_sample_matches_the_textbook() -> None:
    rng = np.random.default_rng(4)
    logs = [rng.standard_t(3, n) * 0.05 + 0.01 for n in (5, 12, 24, 24)]
    expected = []
    for x in logs:
        n, g = len(x), int(0.2 * len(x))
        x = np.sort(x)
        w = np.concatenate([[x[g]] * g, x[g : n - g], [x[n - g - 1]] * g])
        t = x[g : n - g].mean() / (w.std(ddof=1) / ((1 - 2 * g / n) * np.sqrt(n)))
        expected.append(2 * sps.t.sf(abs(t), n - 2 * g - 1))
    assert np.allclose(trimmed_one_sample(logs), expected)
    assert trimmed_one_sample([np.zeros(6)])[0] == 1.0


def test_trimmed_two_sample_is_scipys_yuen() -> None:
    rng = np.random.default_rng(5)
    bases = [rng.lognormal(0, 0.1, n) for n in (4, 8, 8)]
    currents = [rng.lognormal(0.1, 0.1, n) for n in (6, 8, 8)]
    expected = [
        sps.ttest_ind(np.log(c), np.log(b), equal_var=False, trim=0.2).pvalue
        for b, c in zip(bases, currents, strict=True)
    ]
    assert np.allclose(trimmed_two_sample(bases, currents), expected)


def test_p_values_hold_their_level_in_the_tail() -> None:
    """Unchanged code, noisy rounds with disturbed workers: p < 0.5 % about 0.5 % of the time."""
    logs = _suite_logs(np.random.default_rng(9), 20_000, 0)
    p = trimmed_one_sample(list(logs))
    assert 0.04 < (p < 0.05).mean() < 0.065
    assert (p < 0.005).mean() < 0.008


def test_benjamini_hochberg_q_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = q_values(p)
    assert np.allclose(q[:4], [0.02, 0.04, 0.04, 0.02]) and np.isnan(q[4])
    assert list(discoveries(p, 0.05)) == [True, True, True, True, False]
    assert list(discoveries(np.array([0.01, 0.5]), 0.05)) == [True, False]
    assert list(discoveries(np.array([0.3]), 0.05)) == [True]  # a lone test: its CI decides


def test_benjamini_hochberg_is_scipys() -> None:
    """q_values' numpy BH (kept off scipy.stats for the import cost) gives what
    scipy.stats.false_discovery_control gives, with ties, NaN, 0 and 1 among the p-values."""
    rng = np.random.default_rng(21)
    for m in (1, 2, 3, 7, 50, 400):
        p = rng.uniform(size=m) ** rng.choice([1.0, 4.0], size=m)
        p = np.where(rng.random(m) < 0.4, np.round(p, 2), p)  # ties
        p[rng.random(m) < 0.2] = 0.05
        p[rng.random(m) < 0.1] = np.nan
        if m > 5:
            p[:2] = [0.0, 1.0]
        tested = np.isfinite(p)
        q = q_values(p)
        assert np.isnan(q[~tested]).all()
        if tested.sum():
            expected = sps.false_discovery_control(p[tested], method="bh")
            assert np.array_equal(q[tested], expected)
            n_tested = int(tested.sum())
            rule = family_discoveries(list(p[tested]), 0.05)  # the adaptive rounds' family step
            assert rule == ([True] * n_tested if n_tested < 2 else list(expected < 0.05))
    for bad in ([0.2, np.nan], [0.2, 1.5], [-0.1]):
        with pytest.raises(ValueError):  # as scipy
            bh_adjusted(np.array(bad))


def _suite_logs(rng: np.random.Generator, m: int, changed: int) -> np.ndarray:
    """Per-round log ratios of m benchmarks, 24 rounds; the first `changed` are 15 % slower.

    Noise as on a shared box: per-worker spread of 3 % on each side and a disturbed
    worker (10-50 % slower) now and then.
    """
    noise = rng.normal(0, 0.03 * np.sqrt(2), (m, 24))
    disturbed = rng.random((m, 24)) < 0.04
    noise[disturbed] += np.log(rng.uniform(1.1, 1.5, disturbed.sum())) * rng.choice(
        [-1, 1], disturbed.sum()
    )
    noise[:changed] += np.log(1.15)
    return noise


def test_false_discovery_control_over_a_thousand_benchmarks() -> None:
    """900 unchanged and 100 truly 15 % slower: with one 95 % CI each, ~5 % of the unchanged
    are labelled; with Benjamini-Hochberg at 5 % at most 1 %, and every true change found."""
    rng = np.random.default_rng(21)
    logs = _suite_logs(rng, 1000, 100)
    estimates = paired_ratios(list(logs), [24] * 1000, [24] * 1000)
    p = np.array([e.p_value for e in estimates])
    significant = discoveries(p, DEFAULT_STATS.false_discovery_rate)

    def labels(flags: list[bool | None]) -> list[str]:
        return [
            verdict(e.ratio, e.ci_low, e.ci_high, 0.10, 24, 24, significant=f)
            for e, f in zip(estimates, flags, strict=True)
        ]

    per_benchmark = labels([None] * 1000)
    controlled = labels(list(significant))
    false_before = sum(v in SIGNIFICANT for v in per_benchmark[100:])
    false_after = sum(v in SIGNIFICANT for v in controlled[100:])
    assert false_before >= 20  # the problem of issue 21 is real in this data
    assert false_after <= 9  # ≤ 1 % of 900
    assert all(v in ("regression", "slower") for v in controlled[:100])


def _run(tmp_path: Path, shifts: list[float], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    writer = RunWriter.create(
        tmp_path,
        {"interleaved": True, "targets": {"baseline": {}, "current": {}}},
    )
    rows = []
    for k, shift in enumerate(shifts):
        round_effect = np.exp(rng.normal(0, 0.05, 12))
        for target, factor in (("baseline", 1.0), ("current", shift)):
            worker = np.exp(rng.normal(0, 0.02, 12)) * round_effect * factor
            rows += [
                {
                    "benchmark": f"b{k}",
                    "params": "",
                    "target": target,
                    "worker": w,
                    "sample": s,
                    "loops": 1,
                    "seconds": 1e-3 * worker[w] * np.exp(rng.normal(0, 0.01)),
                }
                for w in range(12)
                for s in range(3)
            ]
    writer.add_rows(SAMPLES_CSV, rows)
    writer.finish("complete")
    return writer.path


@pytest.mark.parametrize("seed", range(6))
def test_one_benchmark_gets_the_verdict_of_its_own_interval(tmp_path: Path, seed: int) -> None:
    shift = [1.0, 1.01, 1.02, 1.05, 0.98, 1.2][seed]
    comparison = compare(_run(tmp_path, [shift], seed))
    row = comparison.table.iloc[0]
    assert row["verdict"] == verdict(row["ratio"], row["ci_low"], row["ci_high"], 0.10, 12, 12)


def test_comparison_json_carries_p_and_q(tmp_path: Path) -> None:
    comparison = compare(_run(tmp_path, [1.0, 1.3, 1.0], 1))
    data = comparison.to_json()
    assert data["settings"]["multiple_comparisons"] == "benjamini-hochberg"
    assert data["settings"]["false_discovery_rate"] == 0.05
    slowed = data["comparison"]["b1"]
    assert slowed["verdict"] == "regression" and slowed["q_value"] < 0.05
    assert slowed["q_value"] >= slowed["p_value"]


def test_scaling_line_fit_is_linregress() -> None:
    from perfkit.analysis.scaling import _line_fit

    rng = np.random.default_rng(0)
    x = np.log(rng.choice([10, 20, 40, 80], 24).astype(float))
    y = 1.2 * x + rng.normal(0, 0.1, 24)
    ref, fit = sps.linregress(x, y), _line_fit(x, y)
    assert np.allclose(
        [ref.slope, ref.intercept, ref.stderr], [fit.slope, fit.intercept, fit.stderr]
    )


def test_a_large_comparison_lists_what_moved_biggest_first(tmp_path: Path) -> None:
    from perfkit.commands.compare import LIST_ALL_UP_TO, shown_rows

    shifts = [1.0] * LIST_ALL_UP_TO + [1.2, 1.5, 0.6]
    table = compare(_run(tmp_path, shifts, 2)).table
    shown = shown_rows(table)
    # regressions first, biggest first; then improvements
    assert list(shown["id"][:3]) == [f"b{LIST_ALL_UP_TO + i}" for i in (1, 0, 2)]
    assert (shown["verdict"] != "unchanged").all()
    assert len(shown_rows(table, show_all=True)) == len(table)
    assert len(shown_rows(table.head(LIST_ALL_UP_TO))) == LIST_ALL_UP_TO
