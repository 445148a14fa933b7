"""Change detection on synthetic series of known shape, id matching, acknowledgements."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfkit.analysis.changes import DEFAULT_DETECTOR, detect, head_change, point_variances
from perfkit.analysis.trends import alerts, all_changes
from perfkit.config.project import load_config
from perfkit.errors import PerfkitError
from perfkit.history.query import id_sort_key, match_ids


def _series(levels: list[float], lengths: list[int], seed: int = 0, k: int = 6):
    rng = np.random.default_rng(seed)
    workers = []
    for level, n in zip(levels, lengths, strict=True):
        for _ in range(n):
            run = level * np.exp(rng.normal(0, 0.01))
            workers.append(run * np.exp(rng.normal(0, 0.03, k)))
    return [float(np.median(w)) for w in workers], workers


def test_steps_up_and_down_are_found_where_they_are_with_their_size() -> None:
    medians, workers = _series([1.0, 1.10, 0.88], [20, 12, 15])
    found = detect(medians, workers)
    assert [c.index for c in found] == [20, 32]
    first, second = found
    assert first.ci_low < 1.10 < first.ci_high and first.ci_low > 1
    assert second.ci_low < 0.8 < second.ci_high and second.ci_high < 1
    assert first.p_value < 1e-6 and first.n_before == 20 and first.n_after == 12


def test_a_flat_series_has_no_change_and_one_odd_run_is_not_a_step() -> None:
    total = 0
    for seed in range(20):
        medians, workers = _series([1.0], [60], seed=seed)
        total += len(detect(medians, workers))
    assert total <= 3  # 1,200 runs: the goal allows 12 (1 per 100 runs)
    medians, workers = _series([1.0], [40], seed=3)
    medians[25] *= 1.3
    workers[25] = workers[25] * 1.3
    assert detect(medians, workers) == []


def test_whole_runs_far_off_neither_make_a_step_nor_hide_one() -> None:
    # Real drift has heavy tails (a whole run 55 % slower on a quiet box, 2026-11-27):
    # such runs get the variance their distance implies instead of inflating everyone's,
    # so a 4 % step between them is still found (the plain-variance detector lost it).
    for seed in range(5):
        medians, workers = _series([1.0, 1.04], [30, 30], seed=seed)
        for odd in (12, 45):
            medians[odd] *= 1.5
            workers[odd] = workers[odd] * 1.5
        assert [c.index for c in detect(medians, workers)] == [30]
        plain = replace(DEFAULT_DETECTOR, outlier_z=0.0, penalty=9.0, max_p_value=1e-3)
        assert detect(medians, workers, plain) == []


def test_noisy_runs_weigh_less_than_tight_ones() -> None:
    # A 4 % step seen through points whose workers agree is found; the same medians
    # with wildly spread workers are not evidence enough.
    medians = [1.0] * 15 + [1.04] * 15
    rng = np.random.default_rng(5)
    medians = [m * np.exp(rng.normal(0, 0.004)) for m in medians]
    tight = [m * np.exp(rng.normal(0, 0.004, 8)) for m in medians]
    loose = [m * np.exp(rng.normal(0, 0.4, 8)) for m in medians]
    assert [c.index for c in detect(medians, tight)] == [15]
    assert detect(medians, loose) == []


def test_a_far_off_worker_barely_moves_a_points_variance() -> None:
    # The median's variance follows the body of its workers (MAD), not their SD: two
    # workers 50 % off in 24 move a median little, and must not weigh the run as noisy.
    rng = np.random.default_rng(2)
    body = np.exp(rng.normal(0, 0.04, 24))
    tails = body.copy()
    tails[:2] *= 1.5
    plain, tailed, short = point_variances([body, tails, body[:1]])
    assert tailed < 1.5 * plain and np.isnan(short)
    assert 0.5 < plain / (np.pi / 2 * 0.04**2 / 24) < 2
    assert point_variances([np.ones(5)])[0] == 0.0  # all alike: no spread at all


def test_a_young_step_is_found_two_runs_after_it_lands_and_one_odd_run_is_not() -> None:
    # 8 % at the head of a series: too young for the segmentation (3 runs a side), the
    # head test names it after 2 runs (±1 run, as the selfbench scores), significant.
    for seed in range(5):
        medians, workers = _series([1.0, 1.08], [30, 2], seed=seed, k=12)
        (step,) = detect(medians, workers)
        assert step.index in (29, 30) and step.n_after == 32 - step.index and step.ci_low > 1
        medians, workers = _series([1.0, 1 / 1.08], [30, 3], seed=seed, k=12)
        (step,) = detect(medians, workers)
        assert step.index in (29, 30, 31) and step.direction == "faster" and step.ci_high < 1
    # One run 15 % off, as the last run or as the last but one before a typical run: no step.
    medians, workers = _series([1.0], [32], seed=13)
    typical = int(np.argmin(np.abs(np.log(medians[:30]) - np.mean(np.log(medians[:30])))))
    medians[31], workers[31] = medians[typical], workers[typical]
    for where in (31, 30):
        odd_m, odd_w = list(medians), list(workers)
        odd_m[where] *= 1.15
        odd_w[where] = workers[where] * 1.15
        assert detect(odd_m, odd_w) == [], where


def test_the_head_test_wants_every_young_run_on_the_same_side() -> None:
    y = np.random.default_rng(3).normal(0, 0.01, 32)
    weights = np.full(32, 1 / 0.01**2)
    y[30], y[31] = 0.10, 0.0  # one run 10 sigma off, then a typical one: mean z ≈ 7
    assert head_change(y, weights, 0) is None
    assert head_change(y, weights, 0, replace(DEFAULT_DETECTOR, head_each_z=-np.inf)) is not None
    y[31] = 0.05  # both off: a step
    step = head_change(y, weights, 0)
    assert step is not None and step.index == 30 and step.n_after == 2 and step.ratio > 1.05


def test_head_steps_replayed_run_by_run_stay_under_one_false_alert_per_100_runs() -> None:
    # What `history --check` sees: a flat series growing by one run at a time.
    new = runs = 0
    for seed in range(6):
        medians, workers = _series([1.0], [80], seed=100 + seed)
        known: list[int] = []
        for n in range(10, 81):
            found = [c.index for c in detect(medians[:n], workers[:n])]
            new += sum(1 for i in found if all(abs(i - k) > 1 for k in known))
            known, runs = found, runs + 1
    assert new <= runs / 100, (new, runs)


def test_ids_match_with_or_without_params_and_sort_numerically() -> None:
    ids = ["play[n=100]", "play[n=10]", "play[n=50]", "other", "play_all"]
    assert match_ids("play", ids) == ["play[n=10]", "play[n=50]", "play[n=100]"]
    assert match_ids("play[n=50]", ids) == ["play[n=50]"]
    assert match_ids("play*", ids) == ["play[n=10]", "play[n=50]", "play[n=100]", "play_all"]
    assert sorted(["a[n=9]", "a[n=10]"], key=id_sort_key) == ["a[n=9]", "a[n=10]"]


def _points(medians, workers, shas) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "benchmark_id": "parse[n=10]",
            "series": "current",
            "machine_id": "m1",
            "run_id": [f"r{i}" for i in range(len(medians))],
            "git_sha": shas,
            "commit_time": None,
            "created": "2026-01-01",
            "median_seconds": medians,
            "worker_seconds": workers,
        }
    )


def test_alert_at_head_unless_acknowledged(tmp_path: Path) -> None:
    medians, workers = _series([1.0, 1.12], [15, 5])
    shas = [f"{i:02d}" + "ab" * 19 for i in range(20)]
    points = _points(medians, workers, shas)
    changes = all_changes(points)
    assert len(changes) == 1 and changes[0].after_sha == shas[15] and changes[0].at_head
    assert changes[0].before_sha == shas[14]
    assert alerts(changes) == changes and alerts(changes, threshold=0.2) == []

    toml = tmp_path / "perfkit.toml"
    toml.write_text(
        f'[acknowledged]\n"{shas[15][:9]}" = {{ reason = "new check", benchmarks = ["parse"] }}\n'
    )
    acked = all_changes(points, acknowledged=load_config(toml).acknowledged)
    assert acked[0].acknowledged == "new check" and alerts(acked) == []

    toml.write_text(
        f'[acknowledged]\n"{shas[15][:9]}" = {{ reason = "x", benchmarks = ["other*"] }}\n'
    )
    assert alerts(all_changes(points, acknowledged=load_config(toml).acknowledged))


@pytest.mark.parametrize(
    "text, message",
    [
        ('[acknowledged]\n"abc" = "too short"\n', "at least 7 hex"),
        ('[acknowledged]\n"abcdef12" = ""\n', "non-empty reason"),
        ('[acknowledged]\n"abcdef12" = { why = "x" }\n', "unknown key"),
    ],
)
def test_bad_acknowledgements_are_named(tmp_path: Path, text: str, message: str) -> None:
    toml = tmp_path / "perfkit.toml"
    toml.write_text(text)
    with pytest.raises(PerfkitError, match=message):
        load_config(toml)
