"""Where command output goes: the rich consoles of the CLI, configured in one place."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160


def table_console(stderr: bool = False) -> Console:
    """A console for tables (stdout, or stderr): in logs and pipes, wide rows rather than
    wrapped cells."""
    # emoji=False: a label such as "new" must not turn ":new:" into an emoji.
    console = Console(highlight=False, emoji=False, stderr=stderr)
    if not console.is_terminal:
        width = max(console.width, PIPE_WIDTH)
        console = Console(highlight=False, emoji=False, stderr=stderr, width=width)
    return console
