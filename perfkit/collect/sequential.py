"""The sequential design of an adaptive run: when a benchmark's verdict is decided.

Owns the anytime-valid confidence sequence on per-round log ratios (current / baseline,
one per interleaved round) and the stopping rule the scheduler applies after every round.
`perfkit.analysis.comparison` reports the same interval for a run measured this way, so the
verdict in the report is the one the rule stopped on. Numpy and scipy only (scipy.stats,
slow to import, only for a family of benchmarks); prints nothing, reads no files.

Two anytime-valid sequences, each at half the error, intersected. (1) The two-sided
normal-mixture (Robbins) boundary with a plug-in deviation over the mean per-round log ratio:
the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas (2024,
"Time-uniform central limit theory and asymptotic confidence sequences"), each round first
clipped to `CLIP_DEVIATIONS` robust deviations around the median of the rounds before it
(predictable), with a Student-t widening for few rounds; tight on clean noise, it decides a
clear change in a few rounds. (2) A sign sequence for the median: at the true median the
signs are fair coin flips whatever the noise, and the same boundary over their +-1 walk is
exact; rounds disturbed by other processes do not move it. Both hold at every round at once,
so looking after each round and stopping when it looks decided keeps the false-alarm rate.
No decision before `MIN_ROUNDS`. Simulated (tests/test_sequential.py): looking after every
one of 64 rounds and stopping at the first decision calls unchanged code changed in about 4 %
of runs for normal noise and 1 % when a fifth of the rounds are disturbed, at 95 %.
Futility (`decision_chance`): from `futility_after` rounds on (`FUTILITY_AFTER`, or half a
smaller cap), a benchmark whose predictive chance of any decision by the cap is under the
plan's `futility_chance` stops undecided ("futile"): a round spread of 9 % cannot reach ±3 %
in 64 rounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.collect.fdr import bh_adjusted
from perfkit.collect.quantiles import ndtri, stdtrit

MIN_ROUNDS = 4  # fewer rounds: the plug-in deviation is too unreliable to stop on
CLIP_DEVIATIONS = 4.0  # a round further than this from the earlier rounds' median is clipped
CLIP_AFTER = 6  # rounds seen before clipping starts (a MAD of fewer is too often tiny)
DESIGN_ROUNDS = 16  # the mixture is tuned to be tightest around this many rounds
# Stop for futility only from this many rounds on (or half the cap, when that is fewer:
# `futility_after`): a deviation of fewer is too unsure to give up on
# (`MeasurePlan.futility_chance`, README).
FUTILITY_AFTER = 16
UNDECIDED = ""
CHANGED = "changed"
UNCHANGED = "unchanged"
FUTILE = "futile"


@dataclass(frozen=True)
class SequenceInterval:
    """Mean per-round log ratio with its anytime-valid interval, after `n_rounds` rounds.

    ``p_value`` is the anytime-valid p of "no change" (1 / the mixture martingale at 0),
    consistent with the interval: below 1 - confidence exactly when the interval excludes 0.
    ``clipped_mean`` and ``clipped_sd`` are what the mean sequence stands on (the rounds after
    clipping; NaN under two rounds): `decision_chance` reads them rather than clip again.
    """

    log_ratio: float
    log_low: float
    log_high: float
    n_rounds: int
    p_value: float
    clipped_mean: float = math.nan
    clipped_sd: float = math.nan

    @property
    def ratio(self) -> float:
        return math.exp(self.log_ratio) if math.isfinite(self.log_ratio) else math.nan

    @property
    def ci_low(self) -> float:
        return math.exp(self.log_low) if not math.isnan(self.log_low) else math.nan

    @property
    def ci_high(self) -> float:
        return math.exp(self.log_high) if not math.isnan(self.log_high) else math.nan


def _rho_squared(confidence: float, design_rounds: int) -> float:
    """Mixture width that makes the boundary tightest at `design_rounds` (WS et al., eq. 16)."""
    alpha = 1.0 - confidence
    return (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / design_rounds


def clipped(log_ratios: np.ndarray | list[float]) -> np.ndarray:
    """Each round's log ratio clipped around the median of the rounds before it (in order)."""
    x = np.asarray(log_ratios, float)
    out = x.copy()
    for i in range(CLIP_AFTER, len(x)):
        before = x[:i]
        centre = float(np.median(before))
        scale = 1.4826 * float(np.median(np.abs(before - centre)))
        if scale > 0:
            reach = CLIP_DEVIATIONS * scale
            out[i] = min(max(x[i], centre - reach), centre + reach)
    return out


def _half_width(n: int, sd: float, alpha: float, design_rounds: int) -> float:
    """Half-width of the normal-mixture boundary over a mean of `n` rounds of deviation `sd`."""
    rho2 = _rho_squared(1 - alpha, design_rounds)
    spread = n * rho2 + 1
    return sd * math.sqrt(2 * spread / (n * n * rho2) * math.log(math.sqrt(spread) / alpha))


def _t_widening(n: int, alpha: float) -> float:
    """Student-t over normal quantile at level alpha for `n` rounds: a deviation estimated
    from few rounds is often too small. One formula for the boundary and its prediction."""
    return float(stdtrit(n - 1, 1 - alpha / 2) / ndtri(1 - alpha / 2))


def _mean_sequence(x: np.ndarray, alpha: float, design_rounds: int) -> tuple[float, float, float]:
    """(low, high, e-value at 0) of the clipped mean at level alpha."""
    n = len(x)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) * _t_widening(n, alpha)
    rho2 = _rho_squared(1 - alpha, design_rounds)
    spread = n * rho2 + 1
    if sd == 0:
        return mean, mean, (math.inf if mean != 0 else 1.0)
    half = _half_width(n, sd, alpha, design_rounds)
    z_sum = n * mean / sd
    log_e = rho2 * z_sum * z_sum / (2 * spread) - 0.5 * math.log(spread)
    return mean - half, mean + half, math.exp(min(log_e, 700.0))


def _sign_sequence(x: np.ndarray, alpha: float, design_rounds: int) -> tuple[float, float, float]:
    """(low, high, e-value at 0) of the median, from signs alone: at the true median the
    signs of x - median are fair coin flips whatever the noise, so the normal-mixture boundary
    of a +-1 walk (sub-Gaussian, exact) bounds their sum at every round at once."""
    n = len(x)
    rho2 = _rho_squared(1 - alpha, design_rounds)
    spread = n * rho2 + 1
    bound = math.sqrt(2 * spread / rho2 * math.log(math.sqrt(spread) / alpha))
    # theta is inside when |#(x > theta) - #(x <= theta)| = |n - 2 k| < bound, k = #(x <= theta)
    k_low = math.floor((n - bound) / 2) + 1
    k_high = math.ceil((n + bound) / 2) - 1
    ordered = np.sort(x)
    low = float(ordered[k_low - 1]) if k_low >= 1 else -math.inf
    high = float(ordered[k_high]) if k_high + 1 <= n else math.inf
    walk = float(np.sum(x > 0) - np.sum(x < 0))
    log_e = rho2 * walk * walk / (2 * spread) - 0.5 * math.log(spread)
    return low, high, math.exp(min(log_e, 700.0))


def confidence_sequence(
    log_ratios: np.ndarray | list[float],
    confidence: float = 0.95,
    design_rounds: int = DESIGN_ROUNDS,
) -> SequenceInterval:
    """The anytime-valid interval of the per-round log ratio's centre, rounds in order.

    Two sequences at half the error each, intersected: the clipped mean (tight on clean
    noise, decides large changes in a few rounds) and the sign sequence of the median (exact
    and unmoved by disturbed rounds). Under noise symmetric about the change both cover it,
    so the intersection keeps the confidence. The estimate is the median, held inside.
    """
    x = np.asarray(log_ratios, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        centre = float(x[0]) if n else math.nan
        return SequenceInterval(centre, -math.inf, math.inf, n, 1.0)
    alpha = (1.0 - confidence) / 2
    kept = clipped(x)
    mean_low, mean_high, mean_e = _mean_sequence(kept, alpha, design_rounds)
    sign_low, sign_high, sign_e = _sign_sequence(x, alpha, design_rounds)
    low, high = max(mean_low, sign_low), min(mean_high, sign_high)
    if low > high:  # the two disagree: only possible when one missed; stay undecided
        low, high = min(mean_low, sign_low), max(mean_high, sign_high)
    centre = min(max(float(np.median(x)), low), high)
    # p < 1 - confidence exactly when one sequence excludes 0 (Bonferroni over the two).
    p = min(1.0, 1.0 / (max(mean_e, sign_e) * alpha / (1.0 - confidence)))
    return SequenceInterval(centre, low, high, n, p, float(kept.mean()), float(kept.std(ddof=1)))


def round_log_ratio(baseline: Sequence[float], current: Sequence[float], stepwise: bool) -> float:
    """One round's log(current / baseline) from its two workers' samples (NaN: none).

    `stepwise` (ping-pong rounds, `perfkit.collect.pingpong`): the median of the log ratios
    of the samples taken side by side (the k-th of each side, adjacent in time, in random
    order), so that a change of the machine's speed between samples cancels in every pair.
    Otherwise the log ratio of the two workers' medians. (Selfbench's 2 ms loop on this box
    runs at ~1.9 ms or ~3.1 ms for seconds at a time: a switch inside a round moved the
    ratio of medians by up to 30 %, the paired median by a few %: per-round SD at 0 %
    9.6 / 10.0 / 7.7 % -> 3.0 / 5.6 / 3.5 % over three runs of 53, 64 and 39 rounds.)
    """
    if stepwise:
        pairs = [
            math.log(c / b) for b, c in zip(baseline, current, strict=False) if b > 0 and c > 0
        ]
        return float(np.median(pairs)) if pairs else math.nan
    if not len(baseline) or not len(current):
        return math.nan
    base, cur = float(np.median(baseline)), float(np.median(current))
    return math.log(cur / base) if base > 0 and cur > 0 else math.nan


def family_discoveries(p_values: list[float], rate: float) -> list[bool]:
    """Benjamini-Hochberg on anytime p-values (1 / e-value): e-BH, whose false discovery rate
    holds under any dependence and at the rounds each benchmark stopped. The rule of
    `perfkit.analysis.multiple.discoveries` (a lone benchmark: no constraint)."""
    p = np.clip(np.asarray(p_values, float), 0.0, 1.0)
    if len(p) < 2:
        return [True] * len(p)
    q = bh_adjusted(p)  # scipy.stats.false_discovery_control(p, method="bh"), same bits
    return [bool(v < rate) for v in q]


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def decision_chance(
    interval: SequenceInterval,
    cap: int,
    resolution: float,
    confidence: float = 0.95,
    design_rounds: int = DESIGN_ROUNDS,
) -> float:
    """The predictive probability that the clipped-mean sequence decides by round `cap`,
    from `interval` (`confidence_sequence` of the rounds so far, at `confidence`).

    Bayesian predictive power (flat prior): the mean at the cap is normal around today's
    mean, with the variance of the rounds still to come plus that of today's estimate; the
    boundary at the cap uses today's deviation. "Changed" is reached when the mean at the
    cap lies beyond the boundary's half-width, "unchanged" when it lies within
    ±(resolution - half-width). Used only to stop for futility: stopping early without a
    decision never adds a false alarm, it only gives up a decision.
    """
    n = interval.n_rounds
    if n >= cap:
        return 0.0
    if n < 2:
        return 1.0
    sd, mean = interval.clipped_sd, interval.clipped_mean
    if sd == 0:
        return 1.0
    alpha = (1.0 - confidence) / 2
    half = _half_width(cap, sd * _t_widening(cap, alpha), alpha, design_rounds)
    left = (cap - n) / cap
    spread = math.sqrt(sd * sd * (cap - n) / (cap * cap) + sd * sd / n * left * left)
    changed = (1 - _normal_cdf((half - mean) / spread)) + _normal_cdf((-half - mean) / spread)
    band = math.log1p(resolution) - half
    unchanged = (
        _normal_cdf((band - mean) / spread) - _normal_cdf((-band - mean) / spread)
        if band > 0
        else 0.0
    )
    return changed + unchanged


def futility_after(cap: int, min_rounds: int = MIN_ROUNDS) -> int:
    """The round from which a benchmark may stop for futility under a cap of `cap` rounds.

    `FUTILITY_AFTER`, or half the cap where that is fewer, never before `min_rounds`: under
    a cap of 8 (the demo's) a fixed 16 never looked, and its undecidable benchmarks ran all
    8 rounds. Simulated (normal noise, cap 8, from round 4): decisions lost at most 1.5 points
    of 100 in any cell, the same false alarms, rounds of undecidable ones 7.9 -> 4.2-4.5."""
    return max(min_rounds, min(FUTILITY_AFTER, cap // 2))


def decision(interval: SequenceInterval, resolution: float, min_rounds: int = MIN_ROUNDS) -> str:
    """`CHANGED` (the interval excludes no change: direction known), `UNCHANGED` (it lies
    within ±`resolution` of no change) or `UNDECIDED` (measure another round).

    The resolution is the smallest change worth telling apart from none; it should be
    below the smallest change the team wants flagged as slower.
    """
    if interval.n_rounds < min_rounds:
        return UNDECIDED
    if interval.log_low > 0 or interval.log_high < 0:
        return CHANGED
    bound = math.log1p(resolution)
    if interval.log_low >= -bound and interval.log_high <= bound:
        return UNCHANGED
    return UNDECIDED
