"""The `perfkit` command line: dispatch to one module per subcommand.

User mistakes (`PerfkitError`) become one line on stderr and exit code 2;
anything else is a bug and keeps its traceback (always with ``--debug``). Every command
module must import: one that needs a missing optional package still gets its subcommand,
which names the extra to install; a missing core package is one line, exit 2.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys

from perfkit import __version__, extras
from perfkit.errors import MissingExtraError, PerfkitError

_BLAS_THREADS = "OPENBLAS_NUM_THREADS"  # numpy's wheels bundle OpenBLAS
COMMANDS = ("run", "compare", "show", "report", "view", "demo", "history", "bisect")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line `argv`, only its subcommand's module is imported
    when it names one (``perfkit run`` need not import the analysis' pandas and scipy: 1-2 s
    of every run's start on a 2-core box)."""
    parser = argparse.ArgumentParser(prog="perfkit", description="Performance review workbench.")
    parser.add_argument("--version", action="version", version=f"perfkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for every error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    first = _command(argv or [])
    for name in (first,) if first in COMMANDS else COMMANDS:
        try:
            module = importlib.import_module(f"perfkit.commands.{name}")
        except ModuleNotFoundError as exc:
            extra = extras.extra_for_module(_top(exc))
            if extra is None:
                raise  # perfkit's own module or a core dependency: never skipped silently
            _add_unavailable(sub, name, extra, _top(exc))
            continue
        module.add_parser(sub)
    return parser


def _add_unavailable(sub: argparse._SubParsersAction, name: str, extra: str, missing: str) -> None:
    """A subcommand whose optional packages are missing: using it says which extra to add."""
    # No option prefix: every argument, -h included, lands in `args` and gets the same line.
    p = sub.add_parser(
        name, help=f"(not installed: needs the '{extra}' extra)", prefix_chars="\0", add_help=False
    )
    p.add_argument("args", nargs="*")

    def unavailable(args: argparse.Namespace) -> int:
        raise MissingExtraError(f"needs {missing}: {extras.install_hint(extra)}")

    p.set_defaults(func=unavailable)


def _top(exc: ModuleNotFoundError) -> str:
    """The top-level package that could not be imported ("" when unknown)."""
    return (exc.name or "").split(".")[0]


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM gets the same orderly stop as Ctrl-C: workers killed, partial run kept.
    raise KeyboardInterrupt


def numpy_without_blas_threads() -> None:
    """Import numpy with its OpenBLAS held to one thread, in perfkit's own process only.

    Loaded, OpenBLAS starts a thread per core, which spins for a while: CPU taken from the
    other core, which `perfkit run`'s history-index child and discovery workers use, and a
    slower start (importing what `perfkit run` imports before discovery on this 2-core box,
    median of 8 each, alternated: 0.49 -> 0.45 s wall, 0.71 -> 0.58 s CPU). Nothing perfkit
    computes itself needs a threaded matrix product. OpenBLAS reads the variable once,
    when loaded, so the environment is given back at once: workers, their targets' code and
    notebook kernels get the user's.
    """
    if "numpy" in sys.modules:
        return
    saved = os.environ.get(_BLAS_THREADS)
    os.environ[_BLAS_THREADS] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if saved is None:
            del os.environ[_BLAS_THREADS]
        else:
            os.environ[_BLAS_THREADS] = saved


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        numpy_without_blas_threads()
        parser = build_parser(argv)
    except ModuleNotFoundError as exc:
        debug = "--debug" in argv
        if _top(exc) in ("", "perfkit") or debug:
            raise  # a bug in perfkit: keep the traceback
        print(
            f"perfkit: error: package {_top(exc)!r} is not installed; reinstall perfkit "
            "(pip install perfkit, or bash .ci/setup in a checkout)",
            file=sys.stderr,
        )
        return 2
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
    code = main()
    if _command(sys.argv[1:]) != "view":  # the Qt window keeps its usual teardown
        # What is alive now lives until the process ends: frozen, the interpreter's
        # collections at exit skip every object pandas, scipy and SQLAlchemy made (0.35-0.45 s
        # of each `perfkit run`'s end on this 2-core box, ~0.05 s frozen). Output is flushed
        # and atexit handlers run as before; garbage cycles still alive are not finalised.
        gc.freeze()
    sys.exit(code)


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line (its first non-option word)."""
    return next((a for a in argv if not a.startswith("-")), None)


if __name__ == "__main__":
    entry()
