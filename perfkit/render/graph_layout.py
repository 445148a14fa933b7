"""The hot call graph drawn with matplotlib alone, so a pip-only install needs no Graphviz.

A layered layout (cycles broken by DFS, layers by longest path, order by barycentres) of a
`HotGraph` (perfkit.render.hot_graph); returns a Figure and writes nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from perfkit.render.hot_graph import (
    CULPRIT_COLOUR,
    HotGraph,
    colour_scale,
    luminance,
    node_colour,
    node_label,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _layers(graph: HotGraph) -> list[list[str]]:
    """Layered layout: break cycles by DFS, layer by longest path, order by barycentres."""
    keys = [n.key for n in graph.nodes]
    weight = {n.key: n.cumtime_share for n in graph.nodes}
    children: dict[str, list[str]] = {k: [] for k in keys}
    parents: dict[str, list[str]] = {k: [] for k in keys}
    for edge in graph.edges:
        children[edge.caller].append(edge.callee)
        parents[edge.callee].append(edge.caller)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    roots = sorted((k for k in keys if not parents[k]), key=lambda k: -weight[k])
    for start in roots + sorted(keys, key=lambda k: -weight[k]):
        if start in state:
            continue
        stack = [(start, iter(children[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            child = next(it, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(children[child])))
    layer: dict[str, int] = {}

    def depth(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key not in layer:
            ups = [p for p in parents[key] if (p, key) not in back and p not in seen]
            layer[key] = 1 + max((depth(p, seen | {key}) for p in ups), default=-1)
        return layer[key]

    for key in keys:
        depth(key)
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for key in sorted(keys, key=lambda k: -weight[k]):
        rows[layer[key]].append(key)
    for _ in range(4):
        for sweep in (range(1, len(rows)), range(len(rows) - 2, -1, -1)):
            for i in sweep:
                ref = rows[i - 1] if sweep.step == 1 else rows[i + 1]
                pos = {k: j for j, k in enumerate(ref)}
                links = parents if sweep.step == 1 else children

                def centre(key: str, pos: dict[str, int] = pos, links: Any = links) -> float:
                    near = [pos[k] for k in links[key] if k in pos]
                    return sum(near) / len(near) if near else math.inf

                current = {k: j for j, k in enumerate(rows[i])}
                rows[i].sort(key=lambda k, c=current: (min(centre(k), 1e9), c[k]))
    return rows


def graph_figure(graph: HotGraph, title: str = "") -> Figure:
    """The hot call graph drawn with matplotlib alone (no Graphviz needed)."""
    from matplotlib.figure import Figure

    rows = _layers(graph) if graph.nodes else [[]]
    width = max(len(r) for r in rows) or 1
    fig = Figure(figsize=(max(6.0, 2.7 * width), max(3.0, 1.25 * len(rows) + 0.8)))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.92 if title else 0.98))
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.axis("off")
    scale = colour_scale(graph)
    by_key = {n.key: n for n in graph.nodes}
    boxes: dict[str, Any] = {}
    for depth, row in enumerate(rows):
        offset = (width - len(row)) / 2
        for j, key in enumerate(row):
            node = by_key[key]
            rgb = node_colour(node, scale)
            boxes[key] = ax.text(
                offset + j,
                -depth,
                node_label(node),
                ha="center",
                va="center",
                fontsize=6.5,
                color="black" if luminance(rgb) > 0.5 else "white",
                bbox={
                    "boxstyle": "round,pad=0.35",
                    "fc": rgb,
                    "ec": CULPRIT_COLOUR if node.culprit else "0.35",
                    "lw": 2.0 if node.culprit else 0.6,
                },
                zorder=3,
            )
    for edge in graph.edges:
        a, b = boxes[edge.caller], boxes[edge.callee]
        upward = a.get_position()[1] <= b.get_position()[1]
        ax.annotate(
            "",
            xy=b.get_position(),
            xytext=a.get_position(),
            arrowprops={
                "arrowstyle": "-|>",
                "mutation_scale": 12,
                "color": CULPRIT_COLOUR if edge.change else "0.3",
                "lw": max(2.0 if edge.change else 0.0, 0.5 + 3.0 * min(1.0, edge.cumtime_share)),
                "patchA": a.get_bbox_patch(),
                "patchB": b.get_bbox_patch(),
                "shrinkA": 1,
                "shrinkB": 1,
                "connectionstyle": "arc3,rad=0.35" if upward else "arc3,rad=0.0",
            },
            zorder=2,
        )
        if edge.change:
            (x0, y0), (x1, y1) = a.get_position(), b.get_position()
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                edge.change,
                fontsize=6,
                color=CULPRIT_COLOUR,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
                zorder=4,
            )
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
