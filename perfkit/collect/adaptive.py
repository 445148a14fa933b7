"""The adaptive timing plan: rounds go on per benchmark only while its verdict is undecided.

Each round measures every undecided benchmark once on each of the two targets (random order,
one hash seed per round, as the fixed plan). After a round the per-round log ratios of each
benchmark go through the stopping rule of `perfkit.collect.sequential`; a benchmark stops
when decided, at `MeasurePlan.max_workers` rounds, or when the timing phase has used
`MeasurePlan.max_timing_seconds`. Knows nothing of processes or files: the scheduler runs
the jobs and reports each result back.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from perfkit.collect.sequential import (
    CHANGED,
    UNDECIDED,
    confidence_sequence,
    decision,
    family_discoveries,
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

    @property
    def undecided(self) -> list[str]:
        return [cid for cid in self.cases if cid not in self.stops]

    def log_ratios(self, case_id: str) -> list[float]:
        """Per-round log(current / baseline) of the rounds where both sides succeeded
        (`perfkit.collect.sequential.round_log_ratio`; ping-pong rounds pair their samples)."""
        out = []
        for sides in self.samples[case_id].values():
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
            logs = self.log_ratios(cid)
            if verdict != UNDECIDED:
                self.stops[cid] = StopRecord(len(logs), verdict)
            elif self.round_no + 1 >= self.plan.max_workers:
                self.stops[cid] = StopRecord(len(logs), "max-workers")

    def next_round(self) -> list[TimingSlot]:
        """Judge the rounds so far; the next round's slots (empty: timing is over)."""
        if self.round_no >= 0:
            self._judge()
        cap = self.plan.max_timing_seconds
        if cap is not None and time.perf_counter() - self.started >= cap:
            for cid in self.undecided:
                self.stops[cid] = StopRecord(self._rounds(cid), "max-seconds")
        if not self.undecided:
            return []
        self.round_no += 1
        hash_seed = self.rng.randrange(1, 2**32)
        slots = []
        for cid in self.undecided:
            order = [self.baseline, self.current]
            self.rng.shuffle(order)
            slots.extend(TimingSlot(self.cases[cid], t, self.round_no, hash_seed) for t in order)
        return slots

    def interrupt(self) -> None:
        for cid in self.undecided:
            self.stops[cid] = StopRecord(self._rounds(cid), "interrupted")
