"""Typed records of a bisection: commits, estimates, steps, the result, and their JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STEP_KINDS = ("confirm", "bisect", "final")
STATUSES = ("found", "no-change", "inconclusive", "interrupted")


@dataclass(frozen=True)
class CommitRef:
    """One commit as the report names it."""

    sha: str
    subject: str
    author_time: str
    order: int

    @property
    def short(self) -> str:
        return self.sha[:10]


@dataclass(frozen=True)
class Estimate:
    """candidate / against from paired rounds: ratio (median per-round ratio) and 95 % CI."""

    ratio: float
    ci_low: float
    ci_high: float
    rounds: int


@dataclass(frozen=True)
class Step:
    """One comparison of the bisection: what was measured, what it says, what it cost."""

    kind: str  # confirm | bisect | final
    candidate: CommitRef
    against: CommitRef
    estimate: Estimate
    verdict: str  # confirm: differs/same/inconclusive; bisect: good/bad/same/inconclusive;
    # final: bad (confirmed), good (contradicts), inconclusive
    seconds: float  # wall time of the measuring (0 when all of it came from the cache)
    runs: tuple[str, ...]  # run directories, in measuring order
    cached: bool = False  # every round came from an earlier invocation
    bad: CommitRef | None = None  # measured in the same rounds (bisect and final steps)
    midpoint: Estimate | None = None  # candidate / √(good · bad), per round
    good: CommitRef | None = None  # measured in the same rounds (= against in bisect steps)
    span: Estimate | None = None  # bad / good in the same rounds (the folded confirm)
    against_midpoint: Estimate | None = None  # against / √(good · bad): the final's parent


@dataclass(frozen=True)
class CulpritLine:
    """A function the culprit analysis names, with its sentence."""

    name: str
    file: str
    line: int
    delta_seconds: float
    text: str


@dataclass(frozen=True)
class BisectResult:
    """The outcome: status, first bad commit and its parent, every step, the culprits."""

    status: str  # found | no-change | inconclusive | interrupted
    suite: str
    benchmark: str
    threshold: float
    good: CommitRef
    bad: CommitRef
    n_candidates: int
    steps: tuple[Step, ...]
    wall_seconds: float
    message: str
    first_bad: CommitRef | None = None
    parent: CommitRef | None = None
    final: Step | None = None
    culprits: tuple[CulpritLine, ...] = ()
    culprit_notes: tuple[str, ...] = ()  # accounting and dependency sentences
    plan: str = ""  # the rounds plan, as printed at the start
    state_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def comparisons(self) -> int:
        return len(self.steps)

    @property
    def rounds(self) -> int:
        return sum(s.estimate.rounds for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["comparisons"] = self.comparisons
        data["rounds"] = self.rounds
        return data
