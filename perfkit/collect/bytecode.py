"""Bytecode of perfkit's own modules, written once so that worker processes need not compile them.

Every worker is a fresh interpreter that imports the worker side of perfkit and the suite.
Where ``PYTHONDONTWRITEBYTECODE`` is set (common in containers) and perfkit is installed
without compiled files (an editable install), every worker compiled those sources again:
20-35 ms of CPU per demo worker on the 2-core box, hundreds of workers a review.
`compile_package` writes the missing or stale ``__pycache__`` files of perfkit's package,
as pip does at install time. It never touches a target's code (the user's setting stands
there) and leaves a read-only installation as it is.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../perfkit


def compile_package(directory: Path = PACKAGE_DIR) -> bool:
    """Compile what is missing or stale under `directory`; False when some could not be."""
    try:
        return bool(compileall.compile_dir(str(directory), quiet=2))
    except OSError:  # read-only or vanished: workers compile in memory, as before
        return False
