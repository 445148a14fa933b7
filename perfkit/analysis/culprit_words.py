"""Culprits in words a developer acts on: one line per culprit, one sentence of accounting.

Reads a `CulpritReport` (perfkit.analysis.culprits) and returns plain strings; names are
wrapped by a `code` function (markdown backticks by default, identity for a terminal).
Computes nothing new: every number comes from the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from perfkit.analysis.culprits import Culprit, CulpritReport, EdgeChange
from perfkit.render.format import format_count, format_seconds, format_signed_seconds


def _backticks(text: str) -> str:
    return f"`{text}`"


Code = Callable[[str], str]


def _pct(before: float, after: float) -> str:
    if before <= 0:
        return "new"
    change = (after / before - 1) * 100
    text = f"{change:+.0f} %" if abs(change) >= 1 else f"{change:+.1f} %"
    return text.replace("-", "−")


def short_name(function: str, file: str = "") -> str:
    """A library function as a developer writes it.

    ``<method 'sub' of 're.Pattern' objects>`` -> ``re.Pattern.sub``; ``<built-in method
    builtins.sorted>`` -> ``builtins.sorted``; ``sub`` in ``<stdlib>/re/__init__.py`` ->
    ``re.sub``. Own-code names stay as they are.
    """
    if function.startswith("<method '") and "' of '" in function:
        name, _, owner = function[len("<method '") :].partition("' of '")
        owner = owner.split("'")[0]
        return f"{owner}.{name}"
    for prefix in ("<built-in method ", "<function "):
        if function.startswith(prefix):
            return function[len(prefix) :].rstrip(">").split(" at 0x")[0]
    if file.startswith(("<stdlib>/", "<site-packages>/")) and file.endswith(".py"):
        module = file.split("/", 1)[1][: -len(".py")].replace("/", ".")
        module = module.removesuffix(".__init__")
        return f"{module}.{function}"
    return function


def edge_text(edge: EdgeChange, caller: str, code: Code = _backticks) -> str:
    """One changed call site: "`re.sub` 1 → 3 per `split` call (+200 %, +600 per scenario call)"."""
    name = code(short_name(edge.function, edge.file))
    per = f"per {code(caller)} call"
    delta = edge.current_calls - edge.baseline_calls
    scenario = f"{'+' if delta >= 0 else '−'}{format_count(abs(delta))} per scenario call"
    cost = f"; {format_signed_seconds(edge.cost_seconds)}" if edge.cost_seconds else ""
    if edge.status == "new":
        return f"new calls to {name}, {format_count(edge.current_per_caller_call)} {per} ({scenario}{cost})"
    if edge.status == "gone":
        return (
            f"no more calls to {name} (were {format_count(edge.baseline_per_caller_call)} {per}"
            f"{cost})"
        )
    if edge.status == "same":
        return (
            f"{name} called as often ({format_count(edge.current_per_caller_call)} {per}) "
            f"but takes {format_signed_seconds(edge.cost_seconds)}"
        )
    b, c = edge.baseline_per_caller_call, edge.current_per_caller_call
    return f"{name} {format_count(b)} → {format_count(c)} {per} ({_pct(b, c)}, {scenario}{cost})"


def reasons_text(c: Culprit, code: Code = _backticks, edges: int = 2) -> str:
    """Why a culprit changed: its changed call sites (biggest first) and its own lines."""
    if c.status == "new":
        return (
            f"a function the baseline did not have (called {format_count(c.current_calls)}× "
            "per scenario call)"
        )
    if c.status == "gone":
        return f"no longer runs (was called {format_count(c.baseline_calls)}× per call)"
    reasons = [e for e in c.edges if e.status != "same" and _matters(e.cost_seconds, c)]
    reasons += [e for e in c.edges if e.status == "same" and _matters(e.cost_seconds, c, 0.25)]
    parts = [edge_text(e, c.name, code) for e in reasons[:edges]]
    if _matters(c.own_delta_seconds, c, 0.25):
        parts.append(f"its own lines {format_signed_seconds(c.own_delta_seconds)}")
    if not parts and c.edges:
        parts.append(edge_text(c.edges[0], c.name, code))
    return "; ".join(parts)


def change_label(edge: EdgeChange) -> str:
    """A call site's change in a few characters, for a picture: ``1 → 3×``, ``new``."""
    if edge.status in ("new", "gone"):
        return edge.status
    b, c = edge.baseline_per_caller_call, edge.current_per_caller_call
    return f"{format_count(b)} → {format_count(c)}×"


def call_graph_marks(report: CulpritReport, n: int = 3) -> dict[str, dict[str, str]]:
    """Named culprits' keys -> their changed call sites (callee key -> `change_label`)."""
    return {
        c.key: {e.callee: change_label(e) for e in c.edges if e.status not in ("same", "gone")}
        for c in report.named(n)
    }


def culprit_text(c: Culprit, code: Code = _backticks, edges: int = 2) -> str:
    """One line: where, how much per scenario call (CI), and the call sites that explain it."""
    where = f"{code(c.name)} ({c.file}:{c.line})"
    size = f"{format_signed_seconds(c.delta_seconds)} per call"
    if c.ci_low != c.ci_high:
        size += f" (CI {format_signed_seconds(c.ci_low)} … {format_signed_seconds(c.ci_high)})"
    if not c.significant:
        size += ", within noise"
    why = reasons_text(c, code, edges)
    if c.status != "changed":
        return f"{where}: {size}, {why}"
    return f"{where}: {size}, from {why}" if why else f"{where}: {size}"


def _matters(seconds: float, c: Culprit, share: float = 0.1) -> bool:
    return abs(seconds) >= share * abs(c.delta_seconds) and seconds * c.delta_seconds > 0


def accounting_text(report: CulpritReport, n: int = 3, code: Code = _backticks) -> str:
    """How much of the change the named culprits explain, and why the rest may not show."""
    base, cur = report.baseline_seconds, report.current_seconds
    profiled = (cur / base - 1) if base > 0 else math.nan
    named = report.named(n)
    explained = sum(c.delta_seconds for c in named)
    delta = cur - base
    words = [
        f"Under the profiler the scenario went {format_seconds(base)} → {format_seconds(cur)} "
        f"per call ({profiled:+.1%}, {report.baseline_workers} vs {report.current_workers} "
        "profiling workers)"
    ]
    if named and delta != 0 and explained * delta > 0:
        share = explained / delta
        words.append(
            f"; the {len(named)} named culprit(s) account for {format_signed_seconds(explained)} "
            f"({share:.0%} of it)."
        )
        against = [c for c in report.culprits if c.significant and c.delta_seconds * delta < 0]
        if share > 1.2 and against:
            offset = sum(c.delta_seconds for c in against)
            words.append(
                f" Other functions moved the other way by {format_signed_seconds(offset)} (first: "
                f"{code(against[0].name)} {format_signed_seconds(against[0].delta_seconds)}): "
                "a function called more often can cost less per call under the profiler."
            )
        elif share < 0.5:
            words.append(
                " The rest is spread thin over many functions, or sits in C code the profiler"
                " cannot see into."
            )
    ratio = report.timing_ratio
    if ratio is not None and math.isfinite(ratio) and ratio > 0 and math.isfinite(profiled):
        timing = ratio - 1
        if timing * profiled < 0:
            words.append(
                f" The timing says {timing:+.1%}, the other way: the profiled difference is"
                " profiler noise; trust the timing for size."
            )
        elif abs(profiled) < abs(timing) / 2:
            words.append(
                f" The timing says {timing:+.1%}: the profiler's per-call overhead inflates"
                " both sides and dilutes the change; trust the timing for size and the"
                " profile for where."
            )
        elif abs(profiled) > 2 * abs(timing):
            words.append(
                f" The timing says only {timing:+.1%}: the change is in call-heavy code,"
                " which the profiler's per-call overhead exaggerates."
            )
    return "".join(words)


def dependency_text(report: CulpritReport, code: Code = _backticks) -> str | None:
    """When own code calls the same things but library code changed: say it is a dependency."""
    if not report.dependency_suspected:
        return None
    top = report.library_changes[0]
    where = f"{code(short_name(top.function, top.file))} in {top.file}"
    calls = (
        f", called {format_count(top.baseline_calls)} → {format_count(top.current_calls)}×"
        if abs(top.current_calls - top.baseline_calls) > 0
        else ""
    )
    return (
        "Your code makes the same calls, as often, on both sides; the change is inside library"
        f" code (first: {where}: {format_seconds(top.baseline_seconds)} → "
        f"{format_seconds(top.current_seconds)} per scenario call{calls}). A dependency changed, not"
        " your code: compare the package versions of the two targets."
    )


def summary_lines(report: CulpritReport, n: int = 3, code: Code = _backticks) -> list[str]:
    """The culprit lines of one scenario, then the accounting (and a dependency note)."""
    lines = [culprit_text(c, code) for c in report.named(n)]
    dependency = dependency_text(report, code)
    if dependency:
        lines.append(dependency)
    lines.append(accounting_text(report, n, code))
    return lines
