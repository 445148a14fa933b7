"""The hot call graph of a profile: a pruned model and how its nodes look.

`hot_graph` reads `Profile` tables (perfkit.analysis.profiles) and keeps the hot part of the
call graph with each node's change against a baseline; `node_label` and `node_colour` are the
one look both writers share (`graph_dot` for Graphviz, `graph_layout` for matplotlib). Nothing
here loads run data or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from perfkit.analysis.profiles import Profile, diff_profiles
from perfkit.errors import PerfkitError
from perfkit.render.format import format_signed_seconds

NODE_SHARE = 0.01  # a node's cumulative time is at least this share of the total
MAX_NODES = 25
EDGE_SHARE = 0.002
ALWAYS_SHOW_CHANGED = 3  # the biggest own-time changes are drawn even below NODE_SHARE
CULPRIT_COLOUR = "#7b2cbf"  # culprits and their changed call sites: neither red nor blue
MIN_COLOUR_SCALE = 0.05  # changes of a few % of the scenario (noise) stay pale


@dataclass(frozen=True)
class GraphNode:
    key: str
    function: str
    file: str
    line: int
    cumtime_share: float  # of the current profile's total
    tottime_share: float
    cumtime_seconds: float  # per scenario call
    tottime_seconds: float
    delta_tottime_seconds: float | None  # per scenario call; None without a baseline
    change_share: float | None  # delta / baseline scenario seconds
    status: str  # changed | new | "" (no baseline)
    culprit: bool = False  # a named culprit (perfkit.analysis.culprits)


@dataclass(frozen=True)
class GraphEdge:
    caller: str
    callee: str
    ncalls_per_call: float
    cumtime_share: float
    change: str = ""  # a culprit's changed call site: "1 → 3×", "new"


@dataclass(frozen=True)
class HotGraph:
    """The hot part of a call graph, with per-node change against a baseline."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    total_seconds: float  # current, per scenario call
    baseline_total_seconds: float | None

    @property
    def has_baseline(self) -> bool:
        return self.baseline_total_seconds is not None


def hot_graph(
    current: Profile,
    base: Profile | None = None,
    *,
    node_share: float = NODE_SHARE,
    max_nodes: int = MAX_NODES,
    edge_share: float = EDGE_SHARE,
    culprits: dict[str, dict[str, str]] | None = None,
) -> HotGraph:
    """Prune the current profile to its hot part and attach the diff against `base`.

    `culprits` maps a culprit's key to its changed call sites (callee key -> change text):
    those nodes and edges are always drawn, and marked.
    """
    culprits = culprits or {}
    f = current.functions
    total = current.total_seconds
    if total <= 0:
        raise PerfkitError(f"{current.path or 'profile'}: no time recorded, nothing to draw")
    cum_share = f["cumtime"] / total
    ranked = f.assign(_share=cum_share).sort_values(
        ["_share", "key"], ascending=[False, True], kind="stable"
    )
    chosen = list(ranked.loc[ranked["_share"] >= node_share, "key"].head(max_nodes))
    diff = None
    if base is not None:
        diff = diff_profiles(base, current)
        diff = diff[diff["status"] != "gone"].set_index("key")  # the picture is of current
        changed = diff.head(ALWAYS_SHOW_CHANGED).index
        chosen += [k for k in changed if k not in chosen]
    present = set(f["key"])
    marked = [k for k in culprits if k in present]
    marked += [c for k in marked for c in culprits[k] if c in present]
    chosen += [k for k in dict.fromkeys(marked) if k not in chosen]
    keep = set(chosen)
    rows = f.set_index("key").loc[chosen]
    base_total = base.seconds_per_call if base is not None else None
    nodes = []
    for key, row in rows.iterrows():
        delta = share = None
        status = ""
        if diff is not None and base_total is not None and key in diff.index:
            delta = float(diff.at[key, "delta_tottime_seconds"])
            share = delta / base_total if base_total > 0 else 0.0
            status = str(diff.at[key, "status"])
        nodes.append(
            GraphNode(
                key=str(key),
                function=str(row["function"]),
                file=str(row["file"]),
                line=int(row["line"]),
                cumtime_share=float(row["cumtime"]) / total,
                tottime_share=float(row["tottime"]) / total,
                cumtime_seconds=float(row["cumtime"]) / current.calls,
                tottime_seconds=float(row["tottime"]) / current.calls,
                delta_tottime_seconds=delta,
                change_share=share,
                status=status,
                culprit=key in culprits,
            )
        )
    e = current.edges
    e = e[e["caller"].isin(keep) & e["callee"].isin(keep) & (e["caller"] != e["callee"])]
    edges = [
        GraphEdge(
            caller=str(caller),
            callee=str(callee),
            ncalls_per_call=float(ncalls) / current.calls,
            cumtime_share=float(cumtime) / total if not math.isnan(cumtime) else 0.0,
        )
        for caller, callee, ncalls, cumtime in zip(
            e["caller"], e["callee"], e["ncalls"], e["cumtime"], strict=True
        )
        if math.isnan(cumtime)
        or cumtime / total >= edge_share
        or callee in culprits.get(caller, {})
    ]
    edges = [
        replace(edge, change=culprits[edge.caller][edge.callee])
        if edge.callee in culprits.get(edge.caller, {})
        else edge
        for edge in edges
    ]
    return HotGraph(
        nodes=nodes,
        edges=edges,
        total_seconds=current.seconds_per_call,
        baseline_total_seconds=base_total,
    )


def node_label(node: GraphNode) -> str:
    where = f"{node.file}:{node.line}" if node.file != "~" else "built-in"
    lines = [
        node.function if len(node.function) <= 40 else node.function[:39] + "…",
        where if len(where) <= 44 else "…" + where[-43:],
        f"cum {node.cumtime_share:.1%} · own {node.tottime_share:.1%}",
    ]
    if node.delta_tottime_seconds is not None:
        text = f"own {format_signed_seconds(node.delta_tottime_seconds)}/call"
        if node.status == "new":
            text += " (new)"
        elif node.change_share is not None:
            text += f" ({node.change_share:+.1%})"
        lines.append(text)
    return "\n".join(lines)


def node_colour(node: GraphNode, scale: float) -> tuple[float, float, float]:
    """Red for slower, blue for faster, pale for small changes; orange by own time without a diff."""
    from matplotlib import colormaps

    if node.change_share is None:
        rgba = colormaps["Oranges"](0.1 + 0.7 * min(1.0, node.tottime_share / 0.3))
    else:
        rgba = colormaps["RdBu_r"](0.5 + 0.5 * max(-1.0, min(1.0, node.change_share / scale)))
    return (float(rgba[0]), float(rgba[1]), float(rgba[2]))


def colour_scale(graph: HotGraph) -> float:
    shares = [abs(n.change_share) for n in graph.nodes if n.change_share is not None]
    return max([MIN_COLOUR_SCALE, *shares])


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b
