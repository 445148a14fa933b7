"""The `perfkit` command line: dispatch to one module per subcommand.

User mistakes (`PerfkitError`) become one line on stderr and exit code 2;
anything else is a bug and keeps its traceback (always with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from perfkit.errors import PerfkitError

COMMANDS = ("run", "compare", "show", "report", "view", "demo", "history")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perfkit", description="Performance review workbench.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for every error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"perfkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"perfkit.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM gets the same orderly stop as Ctrl-C: workers killed, partial run kept.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except PerfkitError as exc:
        if args.debug:
            raise
        print(f"perfkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"perfkit {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
