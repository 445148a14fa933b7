"""``python -m perfkit.selfbench NAME [ARGS]``: run the self-benchmark module NAME.

Only dispatches: imports ``perfkit.selfbench.<NAME>`` and calls its ``main(argv)``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import perfkit.selfbench as package
from perfkit.errors import PerfkitError


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m perfkit.selfbench NAME [ARGS]  (NAME: {', '.join(names)})")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(
            f"perfkit.selfbench: unknown self-benchmark {name!r} (have: {', '.join(names)})",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"perfkit.selfbench.{name}")
    try:
        return int(module.main(rest) or 0)
    except PerfkitError as exc:
        print(f"perfkit.selfbench {name}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
