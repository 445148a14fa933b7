"""How a run was measured, in words: the plan (fixed or adaptive, where benchmarks stopped) and
how busy the machine was. Read from run.json (`RunInfo.stops`, `RunInfo.load`); the report and
`perfkit compare` print these lines beside the verdicts. Pure; prints nothing.
"""

from __future__ import annotations

import statistics

from perfkit.rundir.schema import RunInfo

STOP_WORDS = {
    "changed": "changed",
    "unchanged": "unchanged",
    "futile": "undecidable by the cap",
    "max-workers": "at the round cap",
    "max-seconds": "at the time cap",
    "failed": "failed",
    "interrupted": "interrupted",
}


def load_text(info: RunInfo) -> str | None:
    """One sentence on the machine's load while timing (None: not recorded)."""
    load = info.load
    if load is None:
        return None
    text = (
        f"other processes took {load.other_cpu_share_mean:.0%} of the CPU "
        f"(at most {load.other_cpu_share_max:.0%} between rounds), load average "
        f"{load.load_average_mean:.1f} on {load.cores} cores"
    )
    if load.steal_share_mean >= 0.005:
        text += f", hypervisor steal {load.steal_share_mean:.0%}"
    if load.high:
        text += "; high: timings were disturbed, verdicts needed more rounds or stayed inconclusive"
    return text


def plan_text(info: RunInfo) -> str:
    """One sentence on the timing plan: fixed, or where each benchmark of an adaptive run stopped."""
    options = info.options
    if options.get("plan") != "adaptive" or not info.stops:
        workers = options.get("workers")
        return (
            f"fixed plan, {workers} timing workers per benchmark and target"
            if workers
            else ("fixed plan")
        )
    rounds = [s.rounds for s in info.stops.values()]
    counts: dict[str, int] = {}
    for stop in info.stops.values():
        word = STOP_WORDS.get(stop.reason, stop.reason)
        counts[word] = counts.get(word, 0) + 1
    how = ", ".join(f"{n} {word}" for word, n in counts.items())
    cap, busy_cap = options.get("max_workers", "?"), options.get("busy_max_workers")
    if busy_cap is not None and busy_cap != cap:
        cap = f"{cap} ({busy_cap} on a busy machine)"
    return (
        f"adaptive plan (anytime-valid, {options.get('min_workers', '?')}–{cap} rounds): "
        f"{how}; median {statistics.median(rounds):g} rounds, {sum(rounds)} in all"
    )
