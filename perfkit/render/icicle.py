"""An icicle chart of a profile: roots on top, width is time, colour is the source file.

`icicle_boxes` unfolds the caller->callee edges of a `Profile` (perfkit.analysis.profiles)
into a tree; `icicle_figure` draws it. Nothing here loads run data or writes files.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perfkit.analysis.profiles import Profile
from perfkit.render.format import format_seconds

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
