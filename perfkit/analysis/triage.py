"""What a reader of a large comparison sees first: significant changes, biggest first.

Pure functions of `Comparison.table` (one row per benchmark, with ``verdict`` and
``ratio``): an order, the split into changed and the rest, and the changed ones grouped
by benchmark name. The terminal table, the figures and the report all use this one
order. Computes no statistics and draws nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNIFICANT = ("regression", "improvement", "slower", "faster")
# reading order of verdicts: what needs action first, what stayed put last
VERDICT_ORDER = ("regression", "improvement", "slower", "faster", "inconclusive", "unchanged")


def by_importance(table: pd.DataFrame) -> pd.DataFrame:
    """All rows, regressions first, then improvements, slower, faster, inconclusive,
    unchanged; within a verdict the biggest change (either way) first."""
    if table.empty:
        return table
    rank = (
        table["verdict"].map({v: i for i, v in enumerate(VERDICT_ORDER)}).fillna(len(VERDICT_ORDER))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.abs(np.log(table["ratio"].astype(float))).fillna(0.0)
    keys = pd.DataFrame({"rank": rank, "size": -size}, index=table.index)
    return table.loc[keys.sort_values(["rank", "size"], kind="stable").index]


def changed(table: pd.DataFrame) -> pd.DataFrame:
    """The significant changes, in reading order."""
    return by_importance(table[table["verdict"].isin(SIGNIFICANT)])


def rest(table: pd.DataFrame) -> pd.DataFrame:
    """Everything that is not a significant change, in reading order."""
    return by_importance(table[~table["verdict"].isin(SIGNIFICANT)])


def not_unchanged(table: pd.DataFrame) -> pd.DataFrame:
    """Significant changes and inconclusive benchmarks, in reading order."""
    return by_importance(table[table["verdict"] != "unchanged"])


def change_groups(table: pd.DataFrame) -> pd.DataFrame:
    """The significant changes grouped by benchmark name (its params folded), biggest first.

    Columns: benchmark, n_changed, n_benchmarks (of that name in the table), verdicts
    (e.g. "3 regression, 1 slower"), ids, min_ratio, max_ratio.
    """
    columns = [
        "benchmark",
        "n_changed",
        "n_benchmarks",
        "verdicts",
        "ids",
        "min_ratio",
        "max_ratio",
    ]
    moved = changed(table)
    if moved.empty:
        return pd.DataFrame(columns=columns)
    sizes = table.groupby("benchmark")["id"].size()
    rows = []
    for name, group in moved.groupby("benchmark", sort=False):
        counts = group["verdict"].value_counts()
        rows.append(
            {
                "benchmark": name,
                "n_changed": len(group),
                "n_benchmarks": int(sizes[name]),
                "verdicts": ", ".join(f"{counts[v]} {v}" for v in SIGNIFICANT if v in counts),
                "ids": list(group["id"]),
                "min_ratio": float(group["ratio"].min()),
                "max_ratio": float(group["ratio"].max()),
            }
        )
    return pd.DataFrame(rows, columns=columns)
