"""The IPython magics: a real notebook executed by nbclient, and the pieces it relies on."""

from __future__ import annotations

import cProfile
import math
import re
from pathlib import Path

import nbformat
import pytest

from perfkit.analysis.profiles import load_profile
from perfkit.interactive.inprocess import MemoryResult, summarise_groups
from perfkit.interactive.magics import MemoryReport, ProfileReport, TimeReport, compile_statement

CELLS = [
    "%load_ext perfkit",
    "def work(n):\n    return sum(i * i for i in range(n))",
    "%perfkit_time -g 3 -n 2 work(200)",
    "%perfkit_profile -n 5 -t 0.05 work(2000)",
    "%%perfkit_profile -1\nkept = work(300)",
    "print('kept', kept)",
    "grown = []\n%perfkit_memory -n 6 grown.append(bytearray(200_000))",
]


def _outputs(cell: nbformat.NotebookNode, mime: str) -> str:
    return "\n".join(
        str(out.get("data", {}).get(mime, out.get("text", "") if mime == "stream" else ""))
        for out in cell.outputs
    )


@pytest.mark.slow
def test_notebook_shows_the_three_magics(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    _, _, timed, profiled, profiled_once, printed, memory = nb.cells

    text = _outputs(timed, "text/plain")
    assert "median " in text and "(95 % CI " in text and "over 3 groups of 2 samples" in text
    assert "<b>" in _outputs(timed, "text/html")

    text = _outputs(profiled, "text/plain")
    assert "top " in text and "work (" in text and "<genexpr>" in text
    (prof,) = (tmp_path / "perfkit-profiles").glob("*work_2000.prof")
    assert f"open it: snakeviz {prof.relative_to(tmp_path)}" in text
    assert prof.with_suffix(".png").is_file()
    assert "data:image/png;base64," in _outputs(profiled, "text/html")
    assert load_profile(prof).functions["function"].eq("work").any()

    assert "profiled 1 call of the statement" in _outputs(profiled_once, "text/plain")
    assert "kept 8955050" in _outputs(printed, "stream")

    text = _outputs(memory, "text/plain")
    assert text.startswith("peak +") and "leaks ~200 KB per call" in text
    assert "allocation sites that grew" in text
    first_site = text.split("allocation sites that grew:", 1)[1].strip().splitlines()[1]
    assert "<perfkit_memory>:1" in first_site, text  # the user's line, not IPython's


def test_compiled_statement_sees_the_namespace_and_keeps_its_line_numbers() -> None:
    namespace = {"scale": 3, "calls": []}
    body = compile_statement(namespace, "calls.append(scale)\nlocal = 1\n", "<cell>")
    body()
    body()
    assert namespace["calls"] == [3, 3] and "local" not in namespace
    lines = {line for _, _, line in body.__code__.co_lines() if line is not None}
    assert {1, 2} <= lines <= {0, 1, 2, 3}  # the statement keeps its own line numbers
    assert body.__code__.co_filename == "<cell>"


def test_reports_read_as_plain_text_and_html(tmp_path: Path) -> None:
    timing = TimeReport("f()", summarise_groups(10, [[0.001, 0.001], [0.0012, 0.0012]] * 2))
    assert repr(timing).startswith("median 1.1 ms (95 % CI 1–1.2 ms) over 4 groups of 2 samples")
    assert "group medians 1 ms … 1.2 ms" in repr(timing)
    assert "<code>f()</code>" in timing._repr_html_()

    def leaf() -> int:
        return sum(range(100))

    profiler = cProfile.Profile()
    profiler.runcall(lambda: [leaf() for _ in range(50)])
    path = tmp_path / "p.prof"
    profiler.dump_stats(str(path))
    report = ProfileReport("g()", load_profile(path, calls=2), path, 0.01, top=3)
    text = repr(report)
    assert "top 3 functions by tottime" in text and f"snakeviz {path}" in text
    (leaf_row,) = [line for line in text.splitlines() if " leaf (" in line]
    assert re.search(r"\s25\s+leaf \(", leaf_row)  # 50 calls over the 2 statement calls
    assert "<table>" in report._repr_html_() and "<img" not in report._repr_html_()

    memory = MemoryResult(100_000_000, 112_000_000, 10_000_000, 13, (), growth_note="no growth")
    shown = MemoryReport("h()", memory, [{"site": "a.py:3", "size_bytes": 2048, "count": 2}])
    assert repr(shown).splitlines()[0] == (
        "peak +12 MB (RSS 100 MB → 112 MB, Python peak 10 MB) over 13 calls; no growth"
    )
    assert "a.py:3" in repr(shown) and "a.py:3" in shown._repr_html_()
    assert math.isnan(memory.growth_bytes_per_call)
