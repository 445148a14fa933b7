"""Pictures of a profile: the hot call graph coloured by a diff, and an icicle chart.

This module reads `Profile` tables (perfkit.analysis.profiles) and draws; it never loads or
changes run data. The call graph is one pruned model (`hot_graph`) with two renderers:
Graphviz `dot` (DOT text written by gprof2dot's writer) when `dot` is on PATH, and a
layered matplotlib drawing otherwise, so a pip-only install needs no system package.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfkit.analysis.profiles import Profile, diff_profiles
from perfkit.errors import PerfkitError
from perfkit.units import format_seconds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NODE_SHARE = 0.01  # a node's cumulative time is at least this share of the total
MAX_NODES = 25
EDGE_SHARE = 0.002
ALWAYS_SHOW_CHANGED = 3  # the biggest own-time changes are drawn even below NODE_SHARE
MIN_COLOUR_SCALE = 0.05  # changes of a few % of the scenario (noise) stay pale
IMAGE_FORMATS = ("png", "svg", "pdf")


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


@dataclass(frozen=True)
class GraphEdge:
    caller: str
    callee: str
    ncalls_per_call: float
    cumtime_share: float


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
) -> HotGraph:
    """Prune the current profile to its hot part and attach the diff against `base`."""
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
        if math.isnan(cumtime) or cumtime / total >= edge_share
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
        sign = "+" if node.delta_tottime_seconds >= 0 else "−"
        text = f"own {sign}{format_seconds(abs(node.delta_tottime_seconds))}/call"
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
        fg = (0.0, 0.0, 0.0) if _luminance(rgb) > 0.5 else (1.0, 1.0, 1.0)
        writer.node(
            ids[node.key],
            label=node_label(node),
            fillcolor=writer.color(rgb),
            fontcolor=writer.color(fg),
            tooltip=node.key,
        )
    for edge in graph.edges:
        writer.edge(
            ids[edge.caller],
            ids[edge.callee],
            label=f"{edge.cumtime_share:.1%}\n{edge.ncalls_per_call:.3g}×",
            penwidth=f"{0.5 + 4.0 * min(1.0, edge.cumtime_share):.2f}",
        )
    writer.end_graph()
    return buffer.getvalue()


def _luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


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
                color="black" if _luminance(rgb) > 0.5 else "white",
                bbox={"boxstyle": "round,pad=0.35", "fc": rgb, "ec": "0.35", "lw": 0.6},
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
                "color": "0.3",
                "lw": 0.5 + 3.0 * min(1.0, edge.cumtime_share),
                "patchA": a.get_bbox_patch(),
                "patchB": b.get_bbox_patch(),
                "shrinkA": 1,
                "shrinkB": 1,
                "connectionstyle": "arc3,rad=0.35" if upward else "arc3,rad=0.0",
            },
            zorder=2,
        )
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def diff_graph(
    base_profile: Profile | None,
    current_profile: Profile,
    out_path: str | Path,
    *,
    engine: str = "auto",
    node_share: float = NODE_SHARE,
    max_nodes: int = MAX_NODES,
) -> Path:
    """Draw the current profile's hot call graph, coloured by the change from the baseline.

    Red is slower, blue faster (own time per scenario call, as a share of the baseline
    scenario time). `out_path`'s suffix picks the format: .png, .svg, .pdf, or .dot (the
    DOT text). `engine` is ``auto`` (Graphviz when `dot` is on PATH, else matplotlib),
    ``graphviz`` or ``matplotlib``. Without a baseline, colour shows own time.
    """
    out = Path(out_path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in (*IMAGE_FORMATS, "dot"):
        raise PerfkitError(f"{out}: unsupported picture format {fmt!r} (use png, svg, pdf or dot)")
    if engine not in ("auto", "graphviz", "matplotlib"):
        raise PerfkitError(f"unknown call-graph engine {engine!r} (auto, graphviz, matplotlib)")
    graph = hot_graph(current_profile, base_profile, node_share=node_share, max_nodes=max_nodes)
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


def _children(profile: Profile) -> dict[str, list[tuple[str, float]]]:
    cum = dict(zip(profile.functions["key"], profile.functions["cumtime"], strict=True))
    ncalls = dict(zip(profile.functions["key"], profile.functions["ncalls"], strict=True))
    children: dict[str, list[tuple[str, float]]] = {}
    e = profile.edges
    for caller, callee, calls, seconds in zip(
        e["caller"], e["callee"], e["ncalls"], e["cumtime"], strict=True
    ):
        if math.isnan(seconds):  # `profile` module files: share the callee's time by calls
            seconds = cum.get(callee, 0.0) * calls / max(1, ncalls.get(callee, 1))
        children.setdefault(caller, []).append((callee, float(seconds)))
    for items in children.values():
        items.sort(key=lambda item: (-item[1], item[0]))
    return children


def _roots(
    uncalled: list[str], cum: dict[str, float], children: dict[str, list[tuple[str, float]]]
) -> list[str]:
    """Uncalled functions with time, and the function with the most cumulative time.

    A zero-time root (the `profile` module's ``profile:0(profiler)``) hands its place
    to its callees. The biggest function joins even when called: with recursion such
    as ``exec`` -> import -> ``exec`` in `python -m cProfile` files, it is the true root.
    """
    roots: list[str] = []
    seen: set[str] = set()
    pending = list(uncalled)
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        if cum.get(key, 0.0) > 0:
            roots.append(key)
        else:
            pending.extend(callee for callee, _ in children.get(key, []))
    if cum:
        biggest = max(cum, key=lambda k: (cum[k], k in roots))
        if biggest not in roots and cum[biggest] > 0:
            roots.append(biggest)
    return sorted(roots, key=lambda k: (-cum[k], k))


@dataclass(frozen=True)
class IcicleBox:
    key: str
    function: str
    file: str
    depth: int
    start: float  # seconds along the x axis
    seconds: float


def icicle_boxes(
    profile: Profile, *, min_share: float = 0.005, max_depth: int = 16
) -> list[IcicleBox]:
    """Unfold the caller->callee graph into a tree from its roots (what an icicle draws).

    A callee's width is the cumulative time of that edge, scaled down when the parent
    itself was only partly reached on this path (or when recursion made its edges add
    up to more than the parent); cycles stop at the first repeat.
    """
    f = profile.functions
    cum = dict(zip(f["key"], f["cumtime"], strict=True))
    info = {k: (fn, file) for k, fn, file in zip(f["key"], f["function"], f["file"], strict=True)}
    children = _children(profile)
    called = set(profile.edges.loc[profile.edges["caller"] != profile.edges["callee"], "callee"])
    roots = _roots([k for k in cum if k not in called], cum, children)
    total = sum(cum[k] for k in roots) or profile.total_seconds
    min_seconds = total * min_share
    boxes: list[IcicleBox] = []

    def unfold(key: str, start: float, seconds: float, depth: int, path: frozenset[str]) -> None:
        boxes.append(IcicleBox(key, *info[key], depth=depth, start=start, seconds=seconds))
        if depth + 1 >= max_depth or cum.get(key, 0.0) <= 0:
            return
        kids = [(c, s) for c, s in children.get(key, []) if c not in path and c in info]
        reached = sum(s for _, s in kids)
        # Recursion (exec -> import -> exec) counts nested time on several edges;
        # children never get more room than their parent has.
        scale = seconds / max(cum[key], reached)
        x = start
        for callee, edge_seconds in kids:
            width = edge_seconds * scale
            if width >= min_seconds:
                unfold(callee, x, width, depth + 1, path | {callee})
            x += width

    x = 0.0
    for root in roots:
        if cum[root] >= min_seconds:
            unfold(root, x, cum[root], 0, frozenset({root}))
            x += cum[root]
    return boxes


def _file_colour(file: str) -> tuple[float, float, float, float]:
    from matplotlib import colormaps

    return colormaps["tab20"](zlib.crc32(file.encode()) % 20 / 20)


def icicle_figure(
    profile: Profile,
    *,
    min_share: float = 0.005,
    max_depth: int = 16,
    title: str | None = None,
    ax: Any = None,
) -> Figure:
    """A static icicle chart: roots on top, width is time, colour is the source file."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    boxes = icicle_boxes(profile, min_share=min_share, max_depth=max_depth)
    depth = max((b.depth for b in boxes), default=0) + 1
    if ax is None:
        fig = Figure(figsize=(12.0, max(2.5, 0.42 * depth + 1.0)))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    span = max((b.start + b.seconds for b in boxes), default=1.0) or 1.0
    for box in boxes:
        ax.add_patch(
            Rectangle(
                (box.start / span, box.depth),
                box.seconds / span,
                1.0,
                facecolor=_file_colour(box.file),
                edgecolor="white",
                linewidth=0.6,
            )
        )
        share = box.seconds / span
        if share >= 0.04:
            chars = max(3, int(share * 160))
            label = box.function if len(box.function) <= chars else box.function[: chars - 1] + "…"
            ax.text(
                (box.start + box.seconds / 2) / span,
                box.depth + 0.5,
                label,
                ha="center",
                va="center",
                fontsize=7,
                clip_on=True,
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(depth, 0)
    ax.set_yticks([])
    ax.set_xlabel("share of profiled time")
    ax.xaxis.set_major_formatter(_percent_formatter())
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    name = profile.path.stem if profile.path is not None else "profile"
    ax.set_title(
        title
        if title is not None
        else f"{name}: {format_seconds(profile.seconds_per_call)} per call",
        fontsize=9,
    )
    return fig


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)
