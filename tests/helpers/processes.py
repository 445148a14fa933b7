"""Finding the `sleep MARK` children that fault tests leave behind on purpose."""

from __future__ import annotations

import psutil


def sleepers(mark: str) -> list[psutil.Process]:
    """The live `sleep MARK` processes (a unique MARK names one test's children)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["cmdline"] == ["sleep", mark] and process.info["status"] != "zombie":
            found.append(process)
    return found
