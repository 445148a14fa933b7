"""Change detection on synthetic series of known shape, id matching, acknowledgements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfkit.analysis.changes import detect
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
