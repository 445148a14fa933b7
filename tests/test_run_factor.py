"""The run's machine state divided out of each benchmark's series: what it finds that a
series alone cannot, and what it must not hide (a change of every benchmark at once)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.analysis.changes import detect
from perfkit.analysis.run_factor import (
    detect_suite,
    detect_together,
    leave_one_out_offsets,
    segment_levels,
)
from perfkit.analysis.trends import alerts, all_changes
from perfkit.render.trends import check_markdown


def _group(levels: np.ndarray, state: np.ndarray, seed: int = 0, k: int = 12):
    """Series (columns of `levels`) measured in the same runs: run t of every benchmark
    is `state[t]` off, plus each benchmark's own run noise and its workers' spread."""
    rng = np.random.default_rng(seed)
    medians, workers = [], []
    for b in range(levels.shape[1]):
        ws = []
        for t in range(levels.shape[0]):
            run = levels[t, b] * state[t] * np.exp(rng.normal(0, 0.01))
            ws.append(run * np.exp(rng.normal(0, 0.03, k)))
        workers.append(ws)
        medians.append(np.array([np.median(w) for w in ws]))
    return medians, workers, [range(levels.shape[0])] * levels.shape[1]


def test_offsets_are_the_other_benchmarks_median_residual_of_the_run() -> None:
    residuals = np.array([[0.1, 0.1, 0.1, 0.1, 0.9], [0.0, np.nan, 0.0, 0.0, 0.0]])
    offsets = leave_one_out_offsets(residuals)
    assert np.allclose(offsets[0], 0.1)  # the odd benchmark out moves nobody's median
    assert np.allclose(offsets[1], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert not leave_one_out_offsets(residuals[:, :3]).any()  # 2 others: nothing learnt
    assert (
        list(segment_levels(np.array([1.0, 3.0, 2.0, 5.0, 7.0, 6.0]), [3])) == [2.0] * 3 + [6.0] * 3
    )


def test_whole_runs_off_for_every_benchmark_are_not_a_step() -> None:
    # Whole runs 40 % slow for every benchmark, one at a time (the machine, not the code),
    # the last one at the head: no step, neither per benchmark nor shared.
    state = np.ones(40)
    state[[12, 25, 36, 39]] = 1.4
    medians, workers, units = _group(np.ones((40, 6)), state)
    found = detect_suite(medians, workers, units)
    assert found.benchmarks == [[]] * 6 and found.shared == []


def test_the_last_runs_off_for_every_benchmark_are_a_young_shared_step() -> None:
    # Three runs in a row 12 % slow for every benchmark: a change of the whole suite (the
    # interpreter, a shared dependency) is found at its run in every benchmark, marked
    # shared, and reported once as the run factor's step. (Three runs are all a young
    # step has: the machine staying off that long looks the same, and is reported so.)
    state = np.ones(40)
    state[37:] = 1.12
    medians, workers, units = _group(np.ones((40, 6)), state, seed=2)
    found = detect_suite(medians, workers, units)
    assert [s.index for s in found.shared] == [37] and 1.08 < found.shared[0].ratio < 1.16
    assert all([(c.index, c.shared) for c in f] == [(37, True)] for f in found.benchmarks)
    assert found.runs == list(range(40))


def test_a_step_of_one_benchmark_is_found_through_shared_drift() -> None:
    # Drift shared by the run (SD 5 %) hides an 8 % step of one benchmark, 6 runs old,
    # from its own series; divided out, the step is found at its run, the others stay flat.
    rng = np.random.default_rng(1)
    state = np.exp(rng.normal(0, 0.05, 60))
    levels = np.ones((60, 6))
    levels[54:, 2] = 1.08
    medians, workers, units = _group(levels, state, seed=1)
    assert detect(medians[2], workers[2]) == []
    found = detect_together(medians, workers, units)
    assert [c.index for c in found[2]] == [54] and 1.04 < found[2][0].ratio < 1.12
    assert all(f == [] for b, f in enumerate(found) if b != 2)


def test_a_step_of_every_benchmark_at_once_is_found_young_and_kept_once_settled() -> None:
    levels = np.ones((50, 6))
    levels[35:] = 1.10
    medians, workers, units = _group(levels, np.ones(50), seed=5)
    young = detect_suite([m[:38] for m in medians], [w[:38] for w in workers], [range(38)] * 6)
    assert [s.index for s in young.shared] == [35]
    assert all([(c.index, c.shared) for c in f] == [(35, True)] for f in young.benchmarks)
    found = detect_together(medians, workers, units)
    assert all([c.index for c in f] == [35] for f in found)


def test_fewer_than_four_benchmarks_are_searched_alone() -> None:
    state = np.ones(40)
    state[-3:] = 1.4
    medians, workers, units = _group(np.ones((40, 3)), state)
    alone = [detect(m, w) for m, w in zip(medians, workers, strict=True)]
    assert detect_together(medians, workers, units) == alone


def test_a_young_shared_step_alerts_in_every_benchmark_and_is_named_once() -> None:
    state = np.ones(30)
    state[27:] = 1.12
    medians, workers, _ = _group(np.ones((30, 6)), state, seed=3)
    shas = [f"{i:02d}" + "cd" * 19 for i in range(30)]
    points = pd.concat(
        pd.DataFrame(
            {
                "benchmark_id": f"b{b}",
                "series": "current",
                "machine_id": "m1",
                "run_id": [f"r{i}" for i in range(30)],
                "git_sha": shas,
                "commit_time": None,
                "created": "2026-01-01",
                "median_seconds": medians[b],
                "worker_seconds": workers[b],
            }
        )
        for b in range(6)
    )
    changes = all_changes(points)
    assert [(c.benchmark_id, c.after_sha, c.shared) for c in alerts(changes)] == [
        (f"b{b}", shas[27], True) for b in range(6)
    ]
    text = check_markdown(changes, 0.05, 6, "test.sqlite")
    assert text.count(f"`{shas[26][:10]}..{shas[27][:10]}`: 6 benchmark(s)") == 1
    assert text.count("**regression**, shared by the suite") == 6
