"""The adaptive timing plan: rounds go on per benchmark only while its verdict is undecided.

Each round measures every undecided benchmark once on each of the two targets (random order,
one hash seed per round, as the fixed plan). After a round the per-round log ratios of each
benchmark go through the stopping rule of `perfkit.collect.sequential`; a benchmark stops
when decided, when a decision by the cap has become unlikely (futile: too noisy for the
resolution), at `MeasurePlan.max_workers` rounds, or when the timing phase has used
`MeasurePlan.max_timing_seconds`; while other processes keep the machine busy (the load
the scheduler samples between rounds, `note_load`) the cap is `MeasurePlan.busy_max_workers`,
since a busy box's rounds are noisier and more of them beat a verdict cut short. A cap ends a benchmark only once its rounds still running
(ping-pong runs several at once) are back: they count, so a cap of 64 keeps 64 rounds. Knows
nothing of processes or files: the scheduler runs the jobs and reports each one back
(`observe`, then `returned`).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from perfkit.collect.load import HIGH_OTHER_CPU_SHARE
from perfkit.collect.sequential import (
    CHANGED,
    FUTILE,
    UNDECIDED,
    confidence_sequence,
    decision,
    decision_chance,
    family_discoveries,
    futility_after,
    round_log_ratio,
)
from perfkit.collect.targets import Target
from perfkit.config import MeasurePlan
from perfkit.rundir.schema import CaseRecord, StopRecord


@dataclass(frozen=True)
class TimingSlot:
    """One timing worker to run: a benchmark on a target in a round."""

    case: CaseRecord
    target: Target
    round_no: int
    hash_seed: int


class AdaptiveRounds:
    """Hands out timing rounds for the undecided benchmarks and takes their results back."""

    def __init__(
        self,
        cases: list[CaseRecord],
        baseline: Target,
        current: Target,
        plan: MeasurePlan,
        rng: random.Random,
        confidence: float,
        false_discovery_rate: float | None = None,
    ) -> None:
        self.cases = {c.id: c for c in cases}
        self.baseline = baseline
        self.current = current
        self.plan = plan
        self.rng = rng
        self.confidence = confidence
        self.false_discovery_rate = (
            1.0 - confidence if false_discovery_rate is None else false_discovery_rate
        )
        self.round_no = -1
        self.started = time.perf_counter()
        self.samples: dict[str, dict[int, dict[str, list[float]]]] = {c.id: {} for c in cases}
        self.stops: dict[str, StopRecord] = {}
        # Workers handed out and not yet back, per benchmark and round.
        self.running: dict[str, dict[int, int]] = {c.id: {} for c in cases}
        self.handed: dict[str, int] = {c.id: 0 for c in cases}  # rounds handed out
        self.other_cpu: list[float] = []  # other processes' CPU share between rounds

    def note_load(self, other_cpu_share: float) -> None:
        """Other processes' share of the CPU over the interval since the last sample."""
        self.other_cpu.append(other_cpu_share)

    @property
    def cap(self) -> int:
        """Rounds a benchmark may take: more while the machine has been busy so far."""
        shares = self.other_cpu
        busy = bool(shares) and sum(shares) / len(shares) >= HIGH_OTHER_CPU_SHARE
        return (
            max(self.plan.max_workers, self.plan.busy_max_workers)
            if busy
            else self.plan.max_workers
        )

    @property
    def undecided(self) -> list[str]:
        return [cid for cid in self.cases if cid not in self.stops]

    def log_ratios(self, case_id: str) -> list[float]:
        """Per-round log(current / baseline) of the rounds where both sides succeeded
        (`perfkit.collect.sequential.round_log_ratio`; ping-pong rounds pair their samples),
        in round order: rounds at once end out of order, and the comparison, which reads
        them from the run directory, must see the sequence the rule stopped on (clipping
        depends on the order: a 3 % selfbench run stopped "changed" on its arrival order
        and was reported unchanged, CI low 0.99997, in round order)."""
        out = []
        rounds = self.samples[case_id]
        for sides in (rounds[r] for r in sorted(rounds)):
            base, cur = sides.get(self.baseline.label), sides.get(self.current.label)
            if base and cur:
                value = round_log_ratio(base, cur, self.plan.pingpong)
                if math.isfinite(value):
                    out.append(value)
        return out

    def observe(self, case_id: str, target_label: str, round_no: int, samples: list[float]) -> None:
        """A timing worker's samples, in the order taken."""
        if samples:
            self.samples[case_id].setdefault(round_no, {})[target_label] = list(samples)

    def returned(self, case_id: str, round_no: int) -> None:
        """One worker of the round is back (its samples observed, or failed, or voided)."""
        left = self.running[case_id].get(round_no, 0) - 1
        if left > 0:
            self.running[case_id][round_no] = left
        else:
            self.running[case_id].pop(round_no, None)

    def fail(self, case_id: str) -> None:
        """A failed worker ends the case: later rounds would fail alike."""
        self.stops.setdefault(case_id, StopRecord(self._rounds(case_id), "failed"))

    def _rounds(self, case_id: str) -> int:
        return len(self.log_ratios(case_id))

    def _judge(self) -> None:
        # The family's false discovery rate: a change counts as decided only when it would
        # also survive the comparison's multiple-testing step over all benchmarks.
        intervals = {
            cid: confidence_sequence(self.log_ratios(cid), self.confidence) for cid in self.cases
        }
        survives = dict(
            zip(
                intervals,
                family_discoveries(
                    [i.p_value for i in intervals.values()], self.false_discovery_rate
                ),
                strict=True,
            )
        )
        for cid in self.undecided:
            interval = intervals[cid]
            verdict = decision(interval, self.plan.resolution, self.plan.min_workers)
            if verdict == CHANGED and not survives[cid]:
                verdict = UNDECIDED
            rounds = interval.n_rounds  # the rounds of `log_ratios`, all finite
            if verdict != UNDECIDED:
                self.stops[cid] = StopRecord(rounds, verdict)
            elif self.handed[cid] >= self.cap and not self.running[cid]:
                self.stops[cid] = StopRecord(rounds, "max-workers")
            elif (
                rounds >= futility_after(self.cap, self.plan.min_workers)
                and decision_chance(interval, self.cap, self.plan.resolution, self.confidence)
                < self.plan.futility_chance
            ):
                self.stops[cid] = StopRecord(rounds, FUTILE)

    def next_round(self) -> list[TimingSlot]:
        """Judge the rounds so far; the next round's slots. Empty: no benchmark may start a
        round now; timing is over once no round is running either (`undecided` empty)."""
        if self.round_no >= 0:
            self._judge()
        cap = self.plan.max_timing_seconds
        time_up = cap is not None and time.perf_counter() - self.started >= cap
        if time_up:
            for cid in self.undecided:
                if not self.running[cid]:
                    self.stops[cid] = StopRecord(self._rounds(cid), "max-seconds")
        ready = [cid for cid in self.undecided if not time_up and self.handed[cid] < self.cap]
        if not ready:
            return []
        self.round_no += 1
        hash_seed = self.rng.randrange(1, 2**32)
        slots = []
        for cid in ready:
            order = [self.baseline, self.current]
            self.rng.shuffle(order)
            slots.extend(TimingSlot(self.cases[cid], t, self.round_no, hash_seed) for t in order)
            self.handed[cid] += 1
            self.running[cid][self.round_no] = len(order)
        return slots

    def interrupt(self) -> None:
        for cid in self.undecided:
            self.stops[cid] = StopRecord(self._rounds(cid), "interrupted")
