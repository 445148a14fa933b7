"""The sequential design: the confidence sequence keeps its error rate under optional stopping,
decides clear cases in few rounds, and the adaptive rounds stop each benchmark on its own."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from perfkit.collect.adaptive import AdaptiveRounds
from perfkit.collect.sequential import (
    CHANGED,
    FUTILE,
    MIN_ROUNDS,
    UNCHANGED,
    UNDECIDED,
    clipped,
    confidence_sequence,
    decision,
    decision_chance,
    futility_after,
    round_log_ratio,
)
from perfkit.collect.targets import Target
from perfkit.config import MeasurePlan
from perfkit.rundir.schema import CaseRecord, StopRecord


def _stop(log_ratios: np.ndarray, resolution: float = 0.02) -> tuple[str, int]:
    """Look after every round, stop at the first decision: what the scheduler does."""
    for n in range(1, len(log_ratios) + 1):
        verdict = decision(confidence_sequence(log_ratios[:n]), resolution)
        if verdict != UNDECIDED:
            interval = confidence_sequence(log_ratios[:n])
            direction = "up" if interval.log_low > 0 else "down" if interval.log_high < 0 else ""
            return verdict + direction, n
    return "cap", len(log_ratios)


def _noise(rng: np.random.Generator, size: int, disturbed: float) -> np.ndarray:
    """Per-round log ratios: 1.5 % normal noise, a share of rounds disturbed (sd 20 %)."""
    x = rng.standard_normal(size) * 0.015
    hit = rng.random(size) < disturbed
    x[hit] = rng.standard_normal(hit.sum()) * 0.2
    return x


@pytest.mark.parametrize("disturbed", [0.0, 0.2])
def test_optional_stopping_keeps_false_alarms_near_alpha(disturbed: float) -> None:
    rng = np.random.default_rng(7)
    outcomes = [_stop(_noise(rng, 64, disturbed))[0] for _ in range(600)]
    false_alarms = sum(o.startswith(CHANGED) for o in outcomes) / len(outcomes)
    # 95 % confidence; simulated rate ~4 % (normal) and ~1 % (disturbed). A naive
    # "stop when the fixed-sample 95 % CI excludes 1" gives over 20 % here.
    assert false_alarms <= 0.075


def test_naive_stopping_on_a_fixed_sample_interval_would_not() -> None:
    """The reason for the sequence: the same looks with a fixed-n normal CI alarm far more."""
    rng = np.random.default_rng(7)
    alarms = 0
    for _ in range(600):
        x = _noise(rng, 64, 0.0)
        n = np.arange(1, 65)
        mean = np.cumsum(x) / n
        sd = np.array([x[:k].std(ddof=1) if k > 1 else np.inf for k in n])
        alarms += bool((np.abs(mean) > 1.96 * sd / np.sqrt(n))[MIN_ROUNDS - 1 :].any())
    assert alarms / 600 > 0.15


def test_clear_changes_are_decided_in_few_rounds_and_in_the_right_direction() -> None:
    rng = np.random.default_rng(3)
    ten = [_stop(_noise(rng, 64, 0.0) + math.log(1.10)) for _ in range(200)]
    assert all(o == CHANGED + "up" for o, _ in ten)
    assert np.median([n for _, n in ten]) <= MIN_ROUNDS + 1
    faster = [_stop(_noise(rng, 64, 0.0) + math.log(0.97)) for _ in range(200)]
    assert sum(o == CHANGED + "down" for o, _ in faster) >= 0.95 * len(faster)
    same = [_stop(_noise(rng, 64, 0.0)) for _ in range(200)]
    assert sum(o == UNCHANGED for o, _ in same) >= 0.9 * len(same)
    assert np.median([n for _, n in same]) <= 16


def test_interval_p_value_and_decision_agree() -> None:
    rng = np.random.default_rng(5)
    for shift in (0.0, 0.01, 0.03, -0.05):
        x = rng.standard_normal(12) * 0.02 + shift
        seq = confidence_sequence(x)
        assert seq.log_low <= seq.log_ratio <= seq.log_high
        excludes = seq.log_low > 0 or seq.log_high < 0
        assert (seq.p_value < 0.05) == excludes
        assert seq.ci_low == pytest.approx(math.exp(seq.log_low))


def test_too_few_rounds_decide_nothing() -> None:
    one = confidence_sequence([0.5])
    assert (one.log_low, one.log_high, one.p_value) == (-math.inf, math.inf, 1.0)
    assert decision(confidence_sequence([0.5, 0.5, 0.5]), 0.02) == UNDECIDED
    assert decision(confidence_sequence([0.5, 0.52, 0.48, 0.5]), 0.02) == CHANGED
    assert decision(confidence_sequence([0.001, -0.001, 0.0, 0.0005, -0.0002]), 0.02) == UNCHANGED


def test_a_disturbed_round_is_clipped_to_the_earlier_rounds() -> None:
    x = np.array([0.01, -0.01, 0.0, 0.005, -0.004, 0.002, 0.9, -0.002])
    out = clipped(x)
    assert out[:6].tolist() == x[:6].tolist() and out[7] == x[7]
    assert 0.02 < out[6] < 0.1  # 4 robust deviations above the median of the rounds before
    early = np.array([0.01, -0.01, 0.9])
    assert clipped(early).tolist() == early.tolist()  # too few rounds to tell what is odd


def _rounds(plan: MeasurePlan) -> tuple[AdaptiveRounds, list[CaseRecord]]:
    cases = [CaseRecord(id=name, name=name) for name in ("fast", "same", "noisy")]
    base, cur = Target("baseline", "baseline=a", "/a"), Target("current", "current=b", "/b")
    return AdaptiveRounds(cases, base, cur, plan, random.Random(1), 0.95), cases


def test_adaptive_rounds_stop_each_benchmark_on_its_own() -> None:
    rounds, _ = _rounds(MeasurePlan(max_workers=10, futility_chance=0.0))
    rng = np.random.default_rng(2)
    seen: dict[str, int] = {}
    while slots := rounds.next_round():
        assert {s.round_no for s in slots} == {rounds.round_no}
        assert len({s.hash_seed for s in slots}) == 1  # one hash seed per round
        for slot in slots:
            seen[slot.case.id] = seen.get(slot.case.id, 0) + 1
            scale = {"fast": 2.0, "same": 1.0, "noisy": 1.0}[slot.case.id]
            spread = 0.5 if slot.case.id == "noisy" else 0.005
            value = 1e-3 * (scale if slot.target.label == "current" else 1.0)
            value *= math.exp(rng.standard_normal() * spread)
            rounds.observe(slot.case.id, slot.target.label, slot.round_no, [value] * 3)
            rounds.returned(slot.case.id, slot.round_no)
    stops = rounds.stops
    assert stops["fast"].reason == CHANGED and stops["fast"].rounds == MIN_ROUNDS
    assert stops["same"].reason == UNCHANGED and stops["same"].rounds < 10
    assert stops["noisy"].reason == "max-workers" and stops["noisy"].rounds == 10
    assert seen == {"fast": 2 * MIN_ROUNDS, "same": 2 * stops["same"].rounds, "noisy": 20}


def _answer(rounds: AdaptiveRounds, slots: list, rng: np.random.Generator) -> None:
    for slot in slots:
        spread = 0.5 if slot.case.id == "noisy" else 0.005
        value = 1e-3 * math.exp(rng.standard_normal() * spread)
        rounds.observe(slot.case.id, slot.target.label, slot.round_no, [value] * 3)
        rounds.returned(slot.case.id, slot.round_no)


def test_the_round_cap_counts_the_rounds_still_running() -> None:
    """Two rounds at once (ping-pong, --processes 2): the round running when the cap is
    reached is waited for and kept, so a cap of 10 keeps 10 rounds (it kept 9)."""
    rounds, _ = _rounds(MeasurePlan(max_workers=10, futility_chance=0.0))
    rng = np.random.default_rng(3)
    running = [rounds.next_round(), rounds.next_round()]
    while running:
        _answer(rounds, running.pop(0), rng)
        if slots := rounds.next_round():
            running.append(slots)
        assert "noisy" not in rounds.stops or not running
    assert rounds.stops["noisy"].reason == "max-workers"
    assert rounds.stops["noisy"].rounds == 10 == len(rounds.log_ratios("noisy"))


@pytest.mark.parametrize(("other_cpu", "cap"), [(0.02, 6), (0.5, 12)])
def test_a_busy_machine_raises_the_round_cap(other_cpu: float, cap: int) -> None:
    rounds, _ = _rounds(MeasurePlan(max_workers=6, busy_max_workers=12, futility_chance=0.0))
    rng = np.random.default_rng(4)
    while slots := rounds.next_round():
        _answer(rounds, slots, rng)
        rounds.note_load(other_cpu)  # the scheduler's sample between rounds
    assert rounds.stops["noisy"] == StopRecord(cap, "max-workers")


def test_rounds_that_end_out_of_order_are_judged_in_round_order() -> None:
    """The comparison reads the rounds in round order from the run directory: the rule must
    judge the same sequence (clipping depends on the order)."""
    rounds, _ = _rounds(MeasurePlan())
    first, second = rounds.next_round(), rounds.next_round()
    for slots, value in ((second, 2.0), (first, 1.0)):  # the later round ends first
        for slot in slots:
            factor = value if slot.target.label == "current" else 1.0
            rounds.observe(slot.case.id, slot.target.label, slot.round_no, [1e-3 * factor])
    assert rounds.log_ratios("fast") == [0.0, math.log(2.0)]


def test_a_failed_case_and_the_time_cap_end_rounds() -> None:
    rounds, _ = _rounds(MeasurePlan(max_workers=10, max_timing_seconds=0.0))
    first = rounds.next_round()
    assert first == []  # a zero time cap: nothing more to measure
    assert {s.reason for s in rounds.stops.values()} == {"max-seconds"}
    rounds, _ = _rounds(MeasurePlan(max_workers=10))
    rounds.next_round()
    rounds.fail("fast")
    assert "fast" not in {s.case.id for s in rounds.next_round()}
    assert rounds.stops["fast"].reason == "failed"


def test_load_monitor_records_shares_between_zero_and_one() -> None:
    import time

    from perfkit.collect.load import LoadMonitor

    monitor = LoadMonitor()
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:  # this process's own work is not "other processes"
        pass
    share = monitor.sample()
    time.sleep(0.05)
    monitor.sample()
    record = monitor.record()
    assert 0.0 <= share <= 1.0
    assert record.samples == 2 and record.cores >= 1
    assert 0.0 <= record.other_cpu_share_mean <= record.other_cpu_share_max <= 1.0
    assert record.load_average_max >= record.load_average_mean >= 0.0


def test_disturbed_first_rounds_do_not_hide_a_clear_change() -> None:
    """Two early rounds hit by another process: the mean's deviation stays inflated, the
    signs still see a 5 % slowdown in every other round."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(20) * 0.015 + math.log(1.05)
    x[:2] = [-0.6, -0.5]
    seq = confidence_sequence(x)
    assert seq.log_low > 0 and decision(seq, 0.03) == CHANGED
    assert seq.ratio == pytest.approx(math.exp(float(np.median(x))))
    from perfkit.collect import sequential

    mean_low, _, _ = sequential._mean_sequence(sequential.clipped(x), 0.025, 16)
    assert mean_low < 0  # the mean alone could not tell


def test_ping_pong_rounds_pair_samples_step_by_step() -> None:
    """The machine switched from 3 ms to 2 ms mid-round: adjacent samples see the same speed,
    so the paired median stays at no change while the ratio of medians says -33 %."""
    base = [3.0, 3.0, 3.0, 2.0, 2.0]
    cur = [3.0, 3.0, 2.0, 2.0, 2.0]
    assert round_log_ratio(base, cur, stepwise=True) == pytest.approx(0.0)
    assert round_log_ratio(base, cur, stepwise=False) == pytest.approx(math.log(2 / 3))
    assert math.isnan(round_log_ratio([], cur, stepwise=True))
    assert round_log_ratio([1.0, 1.0], [1.1, 1.1, 5.0], stepwise=True) == pytest.approx(
        math.log(1.1)
    )  # an unpaired sample is left out


def test_stepwise_round_logs_match_the_stopping_rule() -> None:
    import pandas as pd

    from perfkit.analysis.stats import stepwise_round_logs

    rows = []
    for worker, (base, cur) in enumerate([([3.0, 3.0, 2.0], [3.3, 2.0, 2.2]), ([1.0], [1.5])]):
        for target, values in (("a", base), ("b", cur)):
            rows += [("bm", "", target, worker, k, 1, v) for k, v in enumerate(values)]
    rows.append(("bm", "", "a", 2, 0, 1, 1.0))  # a round without its other side
    frame = pd.DataFrame(
        rows, columns=["benchmark", "params", "target", "worker", "sample", "loops", "seconds"]
    )
    logs = stepwise_round_logs(frame, "a", "b")
    assert list(logs["worker"]) == [0, 1]
    assert logs["log_ratio"].tolist() == pytest.approx(
        [round_log_ratio([3.0, 3.0, 2.0], [3.3, 2.0, 2.2], True), math.log(1.5)]
    )


def test_a_running_workers_cpu_is_this_runs_own() -> None:
    """Overlapping ping-pong rounds: a sample between rounds finds workers still running; their
    CPU is the run's, not other processes'."""
    import subprocess
    import sys
    import time

    from perfkit.collect.load import _own_seconds

    spin = "import time\nend = time.perf_counter() + 0.6\nwhile time.perf_counter() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        before = _own_seconds()
        time.sleep(0.4)
        assert child.poll() is None  # still running, not reaped
        assert _own_seconds() - before >= 0.05
    finally:
        child.wait()


def test_the_default_levels_t_quantiles_are_scipys_without_importing_it() -> None:
    """The rounds and the summary read t quantiles at the default level from a table
    (scipy.special costs ~0.1 s of each run's start): bit for bit scipy's, and off the table
    (another level, more rounds) scipy's too."""
    import subprocess
    import sys

    from scipy import special

    from perfkit.collect import quantiles
    from perfkit.config import DEFAULT_STATS

    alpha = (1.0 - DEFAULT_STATS.confidence) / 2  # as confidence_sequence splits it
    assert 1 - alpha / 2 == quantiles.TABLE_Q
    assert quantiles.scipy_table() == quantiles.T_TABLE
    assert quantiles.ndtri(quantiles.TABLE_Q) == float(special.ndtri(quantiles.TABLE_Q))
    for dof, q in [(1, quantiles.TABLE_Q), (127, quantiles.TABLE_Q), (128, quantiles.TABLE_Q),
                   (500, quantiles.TABLE_Q), (9, 0.975), (9, 0.995)]:  # fmt: skip
        assert quantiles.stdtrit(dof, q) == float(special.stdtrit(dof, q))
    assert quantiles.ndtri(0.975) == float(special.ndtri(0.975))
    for q, value in quantiles.NDTRI_TABLE.items():
        assert value == float(special.ndtri(q))
    code = (
        "import sys; from perfkit.collect.sequential import confidence_sequence as c; "
        "c([0.01, -0.02, 0.0] * 40); print('scipy.special' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def _stop_or_give_up(x: np.ndarray, chance: float, resolution: float = 0.03) -> tuple[str, int]:
    """The scheduler's order after each round: a decision, else futility, else on to the cap."""
    cap = len(x)
    for n in range(1, cap + 1):
        interval = confidence_sequence(x[:n])
        verdict = decision(interval, resolution)
        if verdict != UNDECIDED:
            return verdict, n
        if n >= futility_after(cap) and decision_chance(interval, cap, resolution) < chance:
            return FUTILE, n
    return "cap", cap


def test_futility_gives_up_on_noise_the_cap_cannot_resolve() -> None:
    """A 9 % round spread cannot reach ±3 % in 64 rounds: without futility the rounds run to
    the cap; with it they stop at about a third, and no more false alarms."""
    rng = np.random.default_rng(11)
    runs = [rng.standard_normal(64) * 0.09 for _ in range(40)]
    without = [_stop_or_give_up(x, 0.0) for x in runs]
    with_ = [_stop_or_give_up(x, 0.1) for x in runs]
    assert np.median([n for _, n in without]) == 64
    assert np.median([n for _, n in with_]) <= 28
    assert sum(o == FUTILE for o, _ in with_) >= 0.8 * len(runs)
    alarms = sum(o == CHANGED for o, _ in with_)
    assert alarms <= sum(o == CHANGED for o, _ in without)


def test_futility_keeps_the_power_to_see_a_small_change() -> None:
    """A 3 % change at a 3-4.5 % round spread is seen as often with futility as without, and
    quiet unchanged code is never given up on."""
    rng = np.random.default_rng(12)
    for spread in (0.03, 0.045):
        runs = [rng.standard_normal(64) * spread + math.log(1.03) for _ in range(80)]
        seen = [sum(_stop_or_give_up(x, c)[0] == CHANGED for x in runs) for c in (0.0, 0.1)]
        assert seen[1] >= seen[0] - 0.03 * len(runs) and seen[1] >= 0.9 * len(runs)
    quiet = [_stop_or_give_up(rng.standard_normal(64) * 0.015, 0.1)[0] for _ in range(50)]
    assert FUTILE not in quiet


def test_futility_looks_from_half_a_small_cap() -> None:
    """Under the default cap (64, 128 busy) futility starts at round 16; under a small cap
    (the demo's 8) at half of it, never before the rule's first decision."""
    assert [futility_after(cap) for cap in (128, 64, 32, 10, 8, 6)] == [16, 16, 16, 5, 4, 4]
    assert futility_after(8, min_rounds=6) == 6


def test_futility_under_a_small_cap_gives_up_early_and_keeps_the_decisions() -> None:
    """Cap 8: unchanged code too noisy for ±5 % stops after about 4 rounds instead of 8; a
    change the cap can see is seen as often, and no false alarm is added."""
    rng = np.random.default_rng(15)
    noisy = [rng.standard_normal(8) * 0.1 for _ in range(200)]
    without = [_stop_or_give_up(x, 0.0, 0.05) for x in noisy]
    with_ = [_stop_or_give_up(x, 0.1, 0.05) for x in noisy]
    assert np.median([n for _, n in without]) == 8
    assert np.mean([n for _, n in with_]) <= 5
    assert sum(o == CHANGED for o, _ in with_) <= sum(o == CHANGED for o, _ in without)
    for spread, change in ((0.05, 0.1), (0.1, 0.2)):
        runs = [rng.standard_normal(8) * spread + change for _ in range(200)]
        seen = [sum(_stop_or_give_up(x, c, 0.05)[0] == CHANGED for x in runs) for c in (0, 0.1)]
        assert seen[0] >= 0.8 * len(runs)
        assert seen[1] >= seen[0] - 0.03 * len(runs)


def test_decision_chance_reads_the_distance_to_a_decision() -> None:
    rng = np.random.default_rng(13)
    noise = rng.standard_normal(20)

    def chance(rounds: np.ndarray, cap: int) -> float:
        return decision_chance(confidence_sequence(rounds), cap, 0.03)

    assert chance(noise * 0.01 + 0.05, 64) > 0.99  # a change, clearly
    assert chance(noise * 0.01, 64) > 0.99  # unchanged, clearly
    assert chance(noise * 0.2, 64) < 0.1  # far too noisy for ±3 %
    assert chance(noise * 0.2, 20) == 0.0  # at the cap: nothing more to come


def test_the_adaptive_rounds_stop_a_hopeless_benchmark_as_futile() -> None:
    for chance, reason in ((0.1, FUTILE), (0.0, "max-workers")):
        rounds, _ = _rounds(MeasurePlan(max_workers=40, futility_chance=chance))
        rng = np.random.default_rng(14)
        while slots := rounds.next_round():
            _answer(rounds, slots, rng)
        stop = rounds.stops["noisy"]
        assert stop.reason == reason
        assert (stop.rounds < 40) if reason == FUTILE else stop.rounds == 40
        assert stop.rounds >= futility_after(40)


def test_the_adaptive_rounds_give_up_under_a_small_cap_from_half_of_it() -> None:
    """The demo's cap of 8: the hopeless benchmark stops futile from round 4, not at the
    cap (a fixed start at round 16 never looked there)."""
    rounds, _ = _rounds(MeasurePlan(max_workers=8, busy_max_workers=8))
    rng = np.random.default_rng(16)
    while slots := rounds.next_round():
        _answer(rounds, slots, rng)
    stop = rounds.stops["noisy"]
    assert stop.reason == FUTILE and futility_after(8) <= stop.rounds < 8
