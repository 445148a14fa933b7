"""The rules of a bisection, pure and without I/O.

* `confirm`: do good and bad really differ? The change must be significant (its CI
  excludes 1) and possibly at least the threshold (CI not inside ±threshold). Nothing is
  worth bisecting when the CI lies inside ±threshold *and* the estimate inside half of it:
  a change the size of the threshold (the case a user bisects: "it got 5 % slower",
  `--threshold 5%`) has its CI's far end below the threshold at some look in about one
  bisection in ten (seen in a selfbench trial on a busy box: +3.4 %, CI 0.978-1.049 at
  36 rounds), and its estimate is rarely below half of it as well.
* `between`: a bisect step measures the candidate, good and bad in the same rounds; per
  round the candidate against the geometric midpoint of that round's good and bad. It is
  *bad* when that ratio's CI lies wholly on bad's side of 1, *good* when wholly on
  good's, else inconclusive. The midpoint (not the threshold) is the boundary, so a 5 %
  step is bisected as surely with a 5 % threshold as with a 2 % one, noise-level changes
  of other commits (far from the midpoint) do not flip a verdict, and the boundary is
  measured with the candidate, not taken from the confirm step's estimate of the bad
  ratio (whose error, at a handful of rounds, is as large as half a 5 % step).
* `classify`: the same against a known bad ratio (candidate measured against good
  alone): the final step's word on the first bad commit against its parent.
* `first`: the first bisect step also measures bad against good (same rounds): it is the
  confirm step folded in. Until that says `differs` the step says nothing else (`same`
  stops the bisection: nothing to bisect).
* `final_check`: the named commit against its parent, measured with good and bad. `bad`
  confirms; `good` contradicts (the two are on one side of the midpoint: a step went the
  wrong way), and is only given once the same rounds also say which side holds the
  mistake (the parent on bad's side, or the named commit on good's) or that neither does.
* `next_rounds`: how many more interleaved rounds an undecided comparison gets: a fixed
  chunk, up to a cap. The one place to switch to a sequential plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perfkit.bisect.records import Estimate

DIFFERS, SAME, INCONCLUSIVE = "differs", "same", "inconclusive"
GOOD, BAD = "good", "bad"


def confirm(estimate: Estimate, threshold: float) -> str:
    """`differs`, `same` (no change beyond the threshold) or `inconclusive`."""
    low, high = estimate.ci_low, estimate.ci_high
    if not (math.isfinite(low) and math.isfinite(high)) or estimate.rounds < MIN_ROUNDS:
        return INCONCLUSIVE
    up, down = 1.0 + threshold, 1.0 / (1.0 + threshold)
    if (low > 1.0 and high >= up) or (high < 1.0 and low <= down):
        return DIFFERS
    half_up, half_down = 1.0 + threshold / 2, 1.0 / (1.0 + threshold / 2)
    if low >= down and high <= up and half_down <= estimate.ratio <= half_up:
        return SAME
    return INCONCLUSIVE


def boundary(bad_ratio: float) -> float:
    """The ratio halfway (geometrically) between good (1) and bad."""
    return math.sqrt(bad_ratio)


def between(midpoint: Estimate | None, bad_ratio: float) -> str:
    """`bad`, `good` or `inconclusive` from candidate / midpoint of good and bad."""
    if midpoint is None:
        return INCONCLUSIVE
    return classify(midpoint, bad_ratio, boundary_ratio=1.0)


def classify(estimate: Estimate, bad_ratio: float, boundary_ratio: float | None = None) -> str:
    """`bad`, `good` or `inconclusive` for a candidate measured against good."""
    low, high = estimate.ci_low, estimate.ci_high
    if not (math.isfinite(low) and math.isfinite(high)) or estimate.rounds < MIN_ROUNDS:
        return INCONCLUSIVE
    mid = boundary(bad_ratio) if boundary_ratio is None else boundary_ratio
    slower = bad_ratio > 1.0
    if low > mid:
        return BAD if slower else GOOD
    if high < mid:
        return GOOD if slower else BAD
    return INCONCLUSIVE


def first(span: Estimate | None, midpoint: Estimate | None, threshold: float) -> str:
    """The first bisect step: `confirm` on bad / good, then `between` on the candidate."""
    word = INCONCLUSIVE if span is None else confirm(span, threshold)
    if word != DIFFERS or span is None:
        return word
    return between(midpoint, span.ratio)


def final_check(
    estimate: Estimate,
    span: Estimate | None,
    parent: Estimate | None,
    candidate: Estimate | None,
) -> str:
    """`bad`, `good` (contradicts, and the sides are decided) or `inconclusive`.

    `parent` / `candidate` are those commits against the midpoint of good and bad in the
    same rounds; None when the commit is good (the parent) or bad (the candidate) itself.
    """
    bad_ratio = math.nan if span is None else span.ratio
    word = classify(estimate, bad_ratio)
    if word != GOOD:
        return word
    p, c = side(parent, GOOD, bad_ratio), side(candidate, BAD, bad_ratio)
    if p == BAD or c == GOOD or (p, c) == (GOOD, BAD):
        return GOOD  # the mistake is located, or neither side holds one (a spread change)
    return INCONCLUSIVE  # contradicts, but which side is wrong? more rounds


def side(midpoint: Estimate | None, known: str, bad_ratio: float) -> str:
    """A commit's side of the midpoint (`between`), `known` when it is good or bad itself."""
    return known if midpoint is None else between(midpoint, bad_ratio)


def contradicts(final: Estimate, span: Estimate | None) -> bool:
    """The named commit against its parent lies on good's side of the midpoint."""
    return classify(final, math.nan if span is None else span.ratio) == GOOD


# A bootstrap CI of the median of n rounds excludes 1 whenever all n rounds point the same
# way, which unchanged code does with chance 2 / 2**n: 12.5 % at 4 rounds (a "differs" on
# a pair without change, seen in a loaded test run), 3.1 % at 6. So no verdict before 6.
MIN_ROUNDS = 6


@dataclass(frozen=True)
class RoundsPlan:
    """Rounds of one comparison: `first` at once, then `more` at a time up to `most`."""

    first: int = 6
    more: int = 6
    most: int = 60

    def next_rounds(self, done: int, decided: bool) -> int:
        """How many rounds to measure next (0: stop, decided or out of rounds)."""
        if decided:
            return 0
        if done < self.first:
            return self.first - done
        return max(0, min(self.more, self.most - done))
