"""Report sections: one display table per section, shown alike in a notebook and in markdown."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from perfkit.report import sections
from perfkit.report.table import DisplayTable, Marked


def test_a_display_table_in_markdown_marks_names_escapes_text_and_aligns():
    frame = pd.DataFrame(
        {
            "Benchmark": ["f[n=1]", "g|h"],
            "Note": ["a <b> *c*", "plain"],
            "Time": ["1 ms", "2 ms"],
            "Sites": [Marked("x.py:1 (+1 KB)", "`x.py:1` (+1 KB)"), Marked("", "")],
            "": ["⚠", ""],
        }
    )
    table = DisplayTable(frame, "llrlc", frozenset({"Benchmark"}), frozenset({"Note"}))
    assert table.markdown().splitlines() == [
        "| Benchmark | Note | Time | Sites | |",
        "|---|---|---:|---|:---:|",
        r"| `f[n=1]` | a \<b\> \*c\* | 1 ms | `x.py:1` (+1 KB) | ⚠ |",
        r"| `g\|h` | plain | 2 ms |  |  |",
    ]
    assert len(table) == 2 and table.frame.loc[0, "Sites"] == "x.py:1 (+1 KB)"
    with pytest.raises(ValueError, match="does not fit"):
        DisplayTable(frame, "lr")


def test_memory_rows_follow_the_benchmark_order_and_name_growing_sites_of_leaks_only():
    row = {"peak_rss_bytes": 3e7, "peak_above_baseline_bytes": math.nan, "py_peak_bytes": 4e3,
           "growth_text": "no growth", "leak": False, "top_growth_sites": []}  # fmt: skip
    leak = {**row, "growth_text": "leaks ~121 KB per call", "leak": True,
            "top_growth_sites": [{"site": "a.py:2", "size_bytes": 8.5e5, "count": 9}]}  # fmt: skip
    memory = pd.DataFrame(
        [
            {**leak, "id": "b", "side": "current", "series": "current"},
            {**row, "id": "b", "side": "baseline", "series": "baseline"},
            {**row, "id": "a", "side": "current", "series": "current"},
        ]
    )
    table = sections.memory_table(memory, ["a", "b"])
    shown = table.frame
    assert list(zip(shown["Benchmark"], shown["Target"], strict=True)) == [
        ("a", "current"), ("b", "baseline"), ("b", "current")]  # fmt: skip
    assert list(shown["Above start"]) == ["–"] * 3 and list(shown["Leak"]) == ["no", "no", "leak"]
    assert shown.loc[2, "Top growing sites"] == "a.py:2 (+850 KB)"
    # what the benchmark added leads; the interpreter-dominated absolute peak comes after
    head = list(shown.columns)
    assert head.index("Above start") < head.index("Python peak") < head.index("Peak RSS")
    assert table.markdown().splitlines()[-1].endswith("| leak | `a.py:2` (+850 KB) |")


def test_an_empty_section_is_falsy_and_still_has_its_columns():
    budgets = pd.DataFrame(columns=["id", "target", "kind", "budget_text", "measured", "mark"])
    table = sections.budgets_table(budgets)
    assert not table and list(table.frame.columns)[:2] == ["Benchmark", "Target"]
