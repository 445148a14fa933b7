"""The hot call graph as Graphviz DOT text (gprof2dot's writer does the quoting).

Reads a `HotGraph` (perfkit.render.hot_graph) and returns text; running `dot` is the caller's job.
"""

from __future__ import annotations

import io
import shutil

from perfkit.render.hot_graph import (
    CULPRIT_COLOUR,
    HotGraph,
    colour_scale,
    luminance,
    node_colour,
    node_label,
)


def _node_ids(graph: HotGraph) -> dict[str, str]:
    return {node.key: f"n{i}" for i, node in enumerate(graph.nodes)}


def to_dot(graph: HotGraph, title: str = "") -> str:
    """The graph as Graphviz DOT text (gprof2dot's writer does the quoting)."""
    from gprof2dot import DotWriter

    buffer = io.StringIO()
    writer = DotWriter(buffer)
    ids = _node_ids(graph)
    scale = colour_scale(graph)
    writer.begin_graph()
    writer.attr("graph", fontname="Arial", ranksep=0.3, nodesep=0.2, label=title, labelloc="t")
    writer.attr("node", fontname="Arial", shape="box", style="filled,rounded", fontsize=9)
    writer.attr("edge", fontname="Arial", fontsize=8)
    for node in graph.nodes:
        rgb = node_colour(node, scale)
        fg = (0.0, 0.0, 0.0) if luminance(rgb) > 0.5 else (1.0, 1.0, 1.0)
        marks = {"penwidth": "3", "color": CULPRIT_COLOUR} if node.culprit else {}
        writer.node(
            ids[node.key],
            label=("culprit: " if node.culprit else "") + node_label(node),
            fillcolor=writer.color(rgb),
            fontcolor=writer.color(fg),
            tooltip=node.key,
            **marks,
        )
    for edge in graph.edges:
        label = f"{edge.cumtime_share:.1%}\n{edge.ncalls_per_call:.3g}×"
        width = 0.5 + 4.0 * min(1.0, edge.cumtime_share)
        marks = {}
        if edge.change:
            label = f"{edge.change}\n{edge.cumtime_share:.1%}"
            marks = {"color": CULPRIT_COLOUR, "fontcolor": CULPRIT_COLOUR, "style": "bold"}
            width = max(width, 2.5)
        writer.edge(
            ids[edge.caller], ids[edge.callee], label=label, penwidth=f"{width:.2f}", **marks
        )
    writer.end_graph()
    return buffer.getvalue()


def have_graphviz() -> bool:
    return shutil.which("dot") is not None
