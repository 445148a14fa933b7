"""Which cases a run measures: ask a worker per target for the suite's cases, then `--only`.

The parent never imports the suite: discovery is a worker request like any other.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from perfkit.collect.supervisor import Workers
from perfkit.collect.targets import Target
from perfkit.collect.worker_call import Outcome, call_worker
from perfkit.errors import SuiteError
from perfkit.rundir.schema import CaseRecord, WorkerRequest

DISCOVER_TIMEOUT_SECONDS = 120.0


def suite_spec(suite: str) -> str:
    """Absolute path of a suite file, or the module name; a missing file is an error here."""
    path = Path(suite)
    if suite.endswith(".py") and not path.is_file():
        raise SuiteError(f"suite not found: {suite}")
    return str(path.resolve()) if path.exists() else suite


def discover(workers: Workers, suite: str, targets: list[Target]) -> list[CaseRecord]:
    """Ask a worker per target for the suite's cases; return their union in order.

    The targets' workers run side by side (nothing is timed yet), one per core."""

    def ask(target: Target) -> Outcome:
        request = WorkerRequest(mode="discover", suite=suite, target_path=target.path)
        return call_worker(workers, request, DISCOVER_TIMEOUT_SECONDS, target.python)

    with ThreadPoolExecutor(max_workers=max(1, min(len(targets), os.cpu_count() or 1))) as pool:
        outcomes = list(pool.map(ask, targets))
    seen: dict[str, CaseRecord] = {}
    for target, outcome in zip(targets, outcomes, strict=True):
        if not outcome.ok:
            where = f"target {target.label}: " if len(targets) > 1 else ""
            raise SuiteError(f"{where}{outcome.message}")
        for case in outcome.cases:
            seen.setdefault(case.id, case)
    return list(seen.values())


def only_patterns(values: str | Sequence[str] | None) -> list[str]:
    """``--only`` as users write it: repeated and/or comma-separated globs, in order."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [p.strip() for v in values for p in _split_commas(v) if p.strip()]


def _split_commas(text: str) -> list[str]:
    """Split on commas outside brackets: ``a*,f[x=1,y=2]`` -> ``a*``, ``f[x=1,y=2]``."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def select(cases: list[CaseRecord], patterns: str | Sequence[str] | None) -> list[CaseRecord]:
    """The cases whose id or name matches any of the globs (all cases when none given)."""
    globs = only_patterns(patterns)
    if not globs:
        return cases
    chosen = [
        c
        for c in cases
        if any(fnmatch.fnmatchcase(c.id, g) or fnmatch.fnmatchcase(c.name, g) for g in globs)
    ]
    if not chosen:
        raise SuiteError(
            f"no benchmark matches --only {','.join(globs)!r} "
            f"(have: {', '.join(c.id for c in cases)})"
        )
    return chosen
