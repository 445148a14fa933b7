"""The rooms' imports, read from the source (every import, lazy and TYPE_CHECKING ones too):
no cycle between modules, and no room imports a room above it.

Data flows one way: collect -> rundir -> analysis -> render -> report, with commands,
interactive and the cli on top. A module that needs an import back up is in the wrong room.
The one exception is a leaf: perfkit.render.format (numbers as text) imports nothing of
perfkit, so analysis may write its verdict sentences with it without reaching up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perfkit"
APPS = ("perfkit.demo.baseline", "perfkit.demo.current")  # the demo's code under test
TOP = {"commands", "interactive", "cli", "__main__"}
LEAVES = {"perfkit.render.format"}  # import nothing of perfkit; every room may use them
FORBIDDEN = {  # room -> rooms it must not import
    "rundir": {"collect", "analysis", "render", "report", *TOP},
    "collect": {"analysis", "render", "report", *TOP},
    "analysis": {"render", "report", *TOP},
    "render": {"report", *TOP},
    "report": TOP,
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not name.startswith(APPS):
            modules[name] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the perfkit modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from package import module` needs the module, not the package's __init__
                wanted = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            else:
                continue
            for target in wanted:
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name and target.startswith("perfkit."):
                    deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""  # "" is the package itself


def test_the_checker_sees_a_cycle_and_the_real_graph():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert "perfkit.analysis.stats" in graph["perfkit.analysis.comparison"]
    assert "perfkit.report.data" in graph["perfkit.report.views"]


def test_no_import_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_room_imports_a_room_above_it(room):
    upward = sorted(
        f"{module} -> {dep}"
        for module, deps in import_graph().items()
        if _room(module) == room
        for dep in deps
        if _room(dep) in FORBIDDEN[room] and dep not in LEAVES
    )
    assert upward == []


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_a_leaf_imports_nothing_of_perfkit(leaf):
    assert import_graph()[leaf] == set()
