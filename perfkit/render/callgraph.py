"""Draw a profile's hot call graph, coloured by a diff, to a file.

`diff_graph` picks the writer: Graphviz `dot` (DOT text from perfkit.render.graph_dot) when
`dot` is on PATH, else the matplotlib drawing of perfkit.render.graph_layout. It reads
`Profile` tables and writes only the picture it is asked for.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from perfkit.analysis.profiles import Profile
from perfkit.errors import PerfkitError
from perfkit.render.format import format_seconds
from perfkit.render.graph_dot import have_graphviz, to_dot
from perfkit.render.graph_layout import graph_figure
from perfkit.render.hot_graph import MAX_NODES, NODE_SHARE, HotGraph, hot_graph

IMAGE_FORMATS = ("png", "svg", "pdf")


def diff_graph(
    base_profile: Profile | None,
    current_profile: Profile,
    out_path: str | Path,
    *,
    engine: str = "auto",
    node_share: float = NODE_SHARE,
    max_nodes: int = MAX_NODES,
    culprits: dict[str, dict[str, str]] | None = None,
) -> Path:
    """Draw the current profile's hot call graph, coloured by the change from the baseline.

    Red is slower, blue faster (own time per scenario call, as a share of the baseline
    scenario time). `out_path`'s suffix picks the format: .png, .svg, .pdf, or .dot (the
    DOT text). `engine` is ``auto`` (Graphviz when `dot` is on PATH, else matplotlib),
    ``graphviz`` or ``matplotlib``. Without a baseline, colour shows own time.
    `culprits` (culprit key -> {callee key: change text}) marks culprits and their changed
    call sites.
    """
    out = Path(out_path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in (*IMAGE_FORMATS, "dot"):
        raise PerfkitError(f"{out}: unsupported picture format {fmt!r} (use png, svg, pdf or dot)")
    if engine not in ("auto", "graphviz", "matplotlib"):
        raise PerfkitError(f"unknown call-graph engine {engine!r} (auto, graphviz, matplotlib)")
    graph = hot_graph(
        current_profile,
        base_profile,
        node_share=node_share,
        max_nodes=max_nodes,
        culprits=culprits,
    )
    title = _title(graph, current_profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        out.write_text(to_dot(graph, title), encoding="utf-8")
        return out
    if engine == "graphviz" or (engine == "auto" and have_graphviz()):
        if not have_graphviz():
            raise PerfkitError("Graphviz `dot` is not installed (use engine='matplotlib')")
        done = subprocess.run(
            ["dot", f"-T{fmt}", "-o", str(out)],
            input=to_dot(graph, title).encode(),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()[:1] or ["failed"]
            raise PerfkitError(f"dot could not draw {out}: {message[0]}")
        return out
    fig = graph_figure(graph, title)
    fig.savefig(out, dpi=130)
    return out


def _title(graph: HotGraph, profile: Profile) -> str:
    name = profile.path.stem if profile.path is not None else "profile"
    text = f"{name}: {format_seconds(graph.total_seconds)} per call under the profiler"
    if graph.baseline_total_seconds:
        change = graph.total_seconds / graph.baseline_total_seconds - 1
        text += f" ({change:+.1%} vs baseline; red slower, blue faster)"
    return text
