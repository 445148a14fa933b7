"""Which benchmarks a pattern names, and the series they form, read from the store.

An exact id wins; else a bare name finds every parameter set of that benchmark; else
the pattern is a glob over ids and names. Numeric parameters sort as numbers. A series
is one benchmark × series target × machine class, ordered by commit (first-parent
order, then commit time, then when the run was made). Reads only; no statistics.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

import pandas as pd

from perfkit.history.store import Store

SERIES_KEY = ["benchmark_id", "series", "machine_id"]
_ID = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<params>.*)\])?$")


def split_id(benchmark_id: str) -> tuple[str, str]:
    """``name[k=v,...]`` -> (name, ``k=v,...``)."""
    match = _ID.match(benchmark_id)
    if not match:
        return benchmark_id, ""
    return match["name"], match["params"] or ""


def id_sort_key(benchmark_id: str) -> tuple:
    """Sort ids by name, then each parameter value, numbers as numbers."""
    name, params = split_id(benchmark_id)
    parts = []
    for pair in params.split(",") if params else []:
        key, _, value = pair.partition("=")
        try:
            parts.append((key, 0, float(value), ""))
        except ValueError:
            parts.append((key, 1, 0.0, value))
    return (name, tuple(parts))


def match_ids(pattern: str, ids: Iterable[str]) -> list[str]:
    """Ids named by `pattern`: the exact id, else a bare name's ids, else a glob; sorted."""
    ids = set(ids)
    if pattern in ids:
        return [pattern]
    by_name = [i for i in ids if split_id(i)[0] == pattern]
    if not by_name:
        by_name = [
            i
            for i in ids
            if fnmatch.fnmatchcase(i, pattern) or fnmatch.fnmatchcase(split_id(i)[0], pattern)
        ]
    return sorted(by_name, key=id_sort_key)


def order_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Points of each series in commit order (runs without git facts by creation time)."""
    if frame.empty:
        return frame
    frame = frame.copy()
    frame["_id_key"] = [id_sort_key(i) for i in frame["benchmark_id"]]
    frame["_order"] = pd.to_numeric(frame["commit_order"], errors="coerce")
    frame = frame.sort_values(
        ["_id_key", "series", "machine_id", "_order", "commit_time", "created", "run_id"],
        na_position="last",
        kind="stable",
    )
    return frame.drop(columns=["_id_key", "_order"]).reset_index(drop=True)


def load_series(
    store: Store,
    pattern: str = "*",
    series: str | None = None,
    machine: str | None = None,
    since: str | None = None,
) -> pd.DataFrame:
    """Every point of the series whose benchmark `pattern` names, in series order."""
    ids = match_ids(pattern, store.benchmark_ids())
    return order_points(store.points(ids, series=series, machine_id=machine, since=since))


def iter_series(frame: pd.DataFrame) -> Iterable[tuple[tuple[str, str, str], pd.DataFrame]]:
    """(key, points) per series of an ordered points table, keeping its order."""
    if frame.empty:
        return
    for key, group in frame.groupby(SERIES_KEY, sort=False):
        yield (str(key[0]), str(key[1]), str(key[2])), group.reset_index(drop=True)
