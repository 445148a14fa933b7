"""Measurement passes that run inside a worker process: timing, profiling, memory.

Each pass is a function ``(body, options) -> dict`` returning a JSON-able payload.
Passes never touch the run directory except files whose path the parent gives them.
An option the request leaves out takes `perfkit.config.DEFAULT_PLAN`'s value (`option`).
"""

from __future__ import annotations

# typing is for the type checker only: importing it took ~3 ms of every worker's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def option(options: dict[str, Any], name: str) -> Any:
    """``options[name]``, else the default plan's value of that name.

    The plan is imported only then: `perfkit run` sends every option, and creating the
    plan's dataclasses took ~4 ms of each worker's start-up."""
    if name in options:
        return options[name]
    from perfkit.config import DEFAULT_PLAN

    return getattr(DEFAULT_PLAN, name)
