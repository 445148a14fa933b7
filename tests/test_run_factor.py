"""The run's machine state divided out of each benchmark's series: what it finds that a
series alone cannot, and what it must not hide (a change of every benchmark at once)."""

from __future__ import annotations

import numpy as np

from perfkit.analysis.changes import detect
from perfkit.analysis.run_factor import detect_together, leave_one_out_offsets, segment_levels


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
    # The last three runs 40 % slow for every benchmark (the machine, not the code): one
    # series alone takes it for a young step; the group divides it out.
    state = np.ones(40)
    state[-3:] = 1.4
    medians, workers, units = _group(np.ones((40, 6)), state)
    assert any(c.index == 37 for c in detect(medians[0], workers[0]))
    assert detect_together(medians, workers, units) == [[]] * 6


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


def test_a_step_of_every_benchmark_at_once_is_kept_once_it_has_settled() -> None:
    levels = np.ones((50, 6))
    levels[35:] = 1.10
    medians, workers, units = _group(levels, np.ones(50), seed=5)
    found = detect_together(medians, workers, units)
    assert all([c.index for c in f] == [35] for f in found)


def test_fewer_than_four_benchmarks_are_searched_alone() -> None:
    state = np.ones(40)
    state[-3:] = 1.4
    medians, workers, units = _group(np.ones((40, 3)), state)
    alone = [detect(m, w) for m, w in zip(medians, workers, strict=True)]
    assert detect_together(medians, workers, units) == alone
