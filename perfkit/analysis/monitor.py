"""Monitor analysis: the app's counters and timers (monitor.csv) per benchmark and target.

Reads what `perfkit.monitor` recorded in workers; API time and calls per body call, cache
hit rate, network share. Never records and never draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfkit.monitor import API_TIMER_PREFIX, BODY_TIMER, CACHE_HIT, CACHE_MISS

if TYPE_CHECKING:
    import pandas as pd

    from perfkit.rundir import Run

SUMMARY_COLUMNS = [
    "id",
    "benchmark",
    "params",
    "target",
    "calls",
    "api_calls_per_call",
    "api_seconds_per_call",
    "cache_hits",
    "cache_misses",
    "cache_hit_rate",
    "body_seconds_per_call",
    "network_share",
]


def _timing_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows written by timing workers: profiled or traced calls would skew seconds.

    Falls back to every row when no timing pass recorded any (e.g. a profile-only run).
    """
    timed = rows[rows["mode"] == "time"]
    return timed if not timed.empty else rows


def monitor_summary(run: Run) -> pd.DataFrame:
    """Per (id, target): API calls and seconds per body call, cache hit rate, network share.

    A body call is counted by the ``body`` timer when the suite times its bodies with it
    (exact), else by the pass's ``calls``; network share is API seconds over body seconds
    (the body timer's, else the median of the timing samples). Cases without API calls
    or cache lookups are left out; NaN marks what was not measured.
    """
    import pandas as pd

    from perfkit.rundir.ids import case_id

    if run.monitor.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = _timing_rows(run.monitor)
    keys = ["benchmark", "params", "target"]
    timers = rows[rows["kind"] == "timer"]
    api = timers[timers["name"].str.startswith(API_TIMER_PREFIX)].groupby(keys)
    api_count, api_seconds = api["count"].sum(), api["seconds"].sum()
    body = timers[timers["name"] == BODY_TIMER].groupby(keys)
    body_count, body_seconds = body["count"].sum(), body["seconds"].sum()
    # `calls` repeats on every metric row of a worker: count it once per worker.
    pass_calls = rows.drop_duplicates([*keys, "worker"]).groupby(keys)["calls"].sum()
    counters = rows[rows["kind"] == "counter"].groupby([*keys, "name"])["count"].sum()
    medians = _median_seconds_per_call(run)
    nan = float("nan")
    out = []
    for key in pass_calls.index:
        calls = int(body_count.get(key, 0)) or int(pass_calls[key])
        per_call = nan
        if calls and body_count.get(key, 0):
            per_call = float(body_seconds[key]) / calls
        elif key in medians:
            per_call = medians[key]
        hits = int(counters.get((*key, CACHE_HIT), 0))
        misses = int(counters.get((*key, CACHE_MISS), 0))
        if not api_count.get(key, 0) and not hits + misses:
            continue  # neither API calls nor cache lookups: nothing to say about this case
        api_per_call = float(api_seconds.get(key, 0.0)) / calls if calls else nan
        out.append(
            {
                "id": case_id(key[0], key[1]),
                "benchmark": key[0],
                "params": key[1],
                "target": key[2],
                "calls": calls,
                "api_calls_per_call": int(api_count.get(key, 0)) / calls if calls else nan,
                "api_seconds_per_call": api_per_call,
                "cache_hits": hits,
                "cache_misses": misses,
                "cache_hit_rate": hits / (hits + misses) if hits + misses else nan,
                "body_seconds_per_call": per_call,
                "network_share": min(1.0, api_per_call / per_call)
                if calls and per_call > 0
                else nan,
            }
        )
    order = {case: i for i, case in enumerate(run.cases)}
    out.sort(key=lambda row: (order.get(row["id"], len(order)), row["id"]))
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _median_seconds_per_call(run: Run) -> dict[tuple[str, str, str], float]:
    """Median of per-worker medians, per (benchmark, params, target)."""
    from perfkit.analysis.stats import worker_medians

    medians = worker_medians(run.samples)
    if medians.empty:
        return {}
    keys = ["benchmark", "params", "target"]
    return medians.groupby(keys)["median_seconds"].median().to_dict()
