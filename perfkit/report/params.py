"""Notebook parameters: what each notebook declares in its ``parameters`` cell, and the
checking of ``-p NAME=VALUE`` against those declarations before anything runs.

Papermill silently injects unknown names; this module is where they are refused.
It reads notebooks as JSON and never executes them.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

from perfkit.errors import ParameterError, PerfkitError
from perfkit.units import parse_fraction

# Set by `perfkit report` itself from its arguments, never with -p.
SET_BY_COMMAND = {
    "run": "the RUN argument",
    "current": "the CURRENT argument",
    "baseline_label": "RUN:LABEL",
    "current_label": "RUN:LABEL",
    "runs_dir": "--runs-dir",
    "out_dir": "--out",
}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parameters_cell(notebook: dict[str, Any], name: str = "notebook") -> str:
    """The source of the first code cell, which must be tagged ``parameters``."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            raise ParameterError(f"{name}: the first code cell is not tagged 'parameters'")
        source = cell.get("source", "")
        return "".join(source) if isinstance(source, list) else str(source)
    raise ParameterError(f"{name}: no code cell (expected a first cell tagged 'parameters')")


def declared_parameters(path: str | Path) -> dict[str, Any]:
    """Name -> default of every ``name = literal`` in a notebook's parameters cell."""
    path = Path(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path}: not a readable notebook ({exc})") from None
    source = parameters_cell(notebook, path.name)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{path.name}: parameters cell does not parse ({exc.msg})") from None
    declared: dict[str, Any] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            try:
                declared[target.id] = ast.literal_eval(value)
            except ValueError:
                raise ParameterError(
                    f"{path.name}: parameter {target.id!r} needs a literal default"
                ) from None
    return declared


def _threshold(text: str) -> float:
    try:
        value = parse_fraction(text)
    except PerfkitError:
        raise ValueError("expected e.g. 0.1 or 10%") from None
    if not 0 < value < 1:
        raise ValueError("must be between 0 and 1 (e.g. 0.1 or 10%)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("must be a whole number of at least 1") from None
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


# Parameters with a rule beyond "the type of its default".
VALIDATORS = {"threshold": _threshold, "top_n": _positive_int}


def convert(name: str, text: str, default: Any) -> Any:
    """`text` as the type the notebook's default has (or the parameter's own rule)."""
    if name in VALIDATORS:
        return VALIDATORS[name](text)
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ValueError("must be true or false")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
    if default is None and text.strip().lower() in ("none", "null", ""):
        return None
    return text


def check_parameters(assignments: list[str], declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``["NAME=VALUE", ...]`` -> typed values, each checked against the notebooks.

    `declared` maps notebook name -> its declared parameters. A name no notebook
    declares, one the command sets itself, or a bad value raises `ParameterError`
    (one line naming it).
    """
    known: dict[str, Any] = {}
    for params in declared.values():
        for name, default in params.items():
            known.setdefault(name, default)
    allowed = sorted(n for n in known if n not in SET_BY_COMMAND)
    values: dict[str, Any] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"bad parameter {item!r}: expected NAME=VALUE")
        if name in SET_BY_COMMAND:
            raise ParameterError(f"parameter {name!r} is set by {SET_BY_COMMAND[name]}, not -p")
        if name not in known:
            raise ParameterError(
                f"unknown parameter {name!r} (the notebooks declare: {', '.join(allowed)})"
            )
        try:
            values[name] = convert(name, text, known[name])
        except ValueError as exc:
            reason = (
                str(exc)
                if name in VALIDATORS or "must" in str(exc)
                else (f"expected {type(known[name]).__name__}")
            )
            raise ParameterError(f"bad value for parameter {name!r}: {text!r} ({reason})") from None
    return values


def for_notebook(values: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """The subset of `values` one notebook declares (each gets only its own names)."""
    return {k: v for k, v in values.items() if k in declared}
