"""Where command output goes: the rich consoles of the CLI, configured in one place."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160


def table_console() -> Console:
    """A stdout console for tables: in logs and pipes, wide rows rather than wrapped cells."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, PIPE_WIDTH))
    return console
