"""Qualified names of own-code functions (``UnescapeTreeprocessor.run``, not ``run``).

cProfile records a code object's bare name, file and first line. For a file under the
target's root, the source says which class a method belongs to; this module reads it
(with `ast`, never importing the target) and maps (file, first line) to the qualified
name. Missing or unparsable files give the bare name back.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=256)
def _names(path: str) -> dict[int, str]:
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    out: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                out[child.lineno] = name
                for decorator in child.decorator_list:  # co_firstlineno may be a decorator's
                    out.setdefault(decorator.lineno, name)
                visit(child, f"{name}.<locals>.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def qualified_name(root: str | None, file: str, line: int, function: str) -> str:
    """``Class.method`` for a method defined at `file`:`line` under `root`, else `function`."""
    if root is None or file.startswith(("<", "/", "~")):
        return function
    name = _names(str(Path(root) / file)).get(line)
    if name is None or name.rsplit(".", 1)[-1] != function:
        return function
    return name.replace(".<locals>", "")


def defines(root: str, file: str, name: str) -> bool:
    """Whether `file` under `root` defines `name` (``Class.method`` or a bare function)."""
    names = {n.replace(".<locals>", "") for n in _names(str(Path(root) / file)).values()}
    return name in names
